/*
 * offline.h - what `ezk download` does: read the declarative list
 * (offline/versions.yml), decide what the chosen config needs, and fetch it
 * into $EZK_HOME in the layout the roles read:
 *
 *     bin/kube-apiserver ... kubectl etcd etcdctl crictl helm calicoctl ...
 *     bin/kube-ovn/install.sh            kube-ovn's installer (CLUSTER_NETWORK kube-ovn)
 *     bin/containerd-bin/{containerd,containerd-shim-runc-v2,ctr,runc}
 *     bin/cni-bin/<plugins>
 *     images/<name>_<tag>.tar            OCI image-layout archives (oci.h)
 *     packages/<os>/<pkg>.deb            the hosts' OS packages
 *     download.json                      what was fetched: versions, arch,
 *                                        os, every binary's source and sha256,
 *                                        every image's digest (bundle.h reads it);
 *                                        written only by a run without failures
 *     down/                              the cache: archives and checksum files
 *                                        as their URLs name them, image blobs
 *                                        (down/blobs/sha256/<hex>); not bundled
 *
 * Variables, lowest precedence first: versions.yml < the cluster's hosts
 * [all:vars] and config.yml (o->cluster) < o->extra (-e). They resolve as
 * a cluster's variables do (cluster.h: templates, filters, loop checks) on
 * the deploy node ("localhost"). The lists binaries, images and packages
 * are read from versions.yml itself, and their templates also see {{ item }}
 * (binaries' files), {{ url }} (in sha256) and {{ arch }} / {{ os }}
 * (this machine's when empty).
 *
 * Binaries are checked against the checksum file their project publishes
 * (fetched once into down/), before they appear: download.h's resume and
 * verify contract. A file whose project publishes none (an entry without
 * sha256, dest only: kube-ovn's install.sh) is fetched once into down/ as
 * its URL names it (a release tag's file) and written to dest when dest
 * differs; its sha256 is recorded like the others'. An archive's members
 * are written only when their content changed. Images: oci.h's pull. Packages: apt-get on this
 * machine, which must run the hosts' OS (packages/debian_12 on Debian 12):
 * the dependency closure of the list as a fresh host lacks it (apt asked
 * with an empty dpkg status), less the packages every host of that OS has
 * (the required and essential ones and what they depend on: debootstrap's
 * minbase, as dpkg-query and apt-cache depends --installed show them on
 * this machine of the same OS) unless the list names them, fetched with
 * `apt-get download` (apt checks them
 * against the signed archive); .deb files of an older run not in the
 * closure are removed.
 *
 * Everything already present and whole is left alone without a request
 * (a second run fetches nothing; a run after an interruption fetches only
 * what is missing, resuming partial files). A failure of one item does not
 * stop the others; the run then ends with -2 and every failure printed.
 */
#ifndef EZK_OFFLINE_H
#define EZK_OFFLINE_H

struct value;
struct progress;

struct offline_opts {
	const char *home;
	const char *versions; /* path of versions.yml */
	const char *cluster;  /* take its settings too, or NULL */
	struct value *extra;  /* -e (a map), or NULL */
	int binaries, images, packages;
	struct progress *prog;
};

struct offline_result {
	int fetched, present, failed; /* files and images */
	int packages;		      /* .deb files in packages/<os> */
	long long bytes;	      /* moved over the network (this run) */
	double seconds;
};

/* 0 ok; -1 bad input (versions.yml, a template, -e): exit 2; -2 some item
 * could not be fetched (each said on stderr): exit 1. */
int offline_download(const struct offline_opts *o, struct offline_result *r);

/* The hex of name in a checksum file's text: a line "<hex> [*]<path>"
 * whose path's last part is name, or a text that is one bare hex digest.
 * 0 found, -1 not (message). For sha256sum files, SHA256SUMS, *.sha256. */
int checksum_lookup(const char *text, const char *name, char hex[65]);

#endif

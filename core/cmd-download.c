/*
 * cmd-download.c - `ezk download`: on a machine with internet access (no
 * docker needed), fetch what an install without internet needs into
 * $EZK_HOME: binaries from their projects' release locations checked
 * against their published checksums, images with ezk's own registry
 * client, the hosts' OS packages with apt (core/offline.h). What is
 * already there is not fetched again; an interrupted run resumes.
 * kubeasz's `ezdown -D` (and -P, -X) without docker.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "bundle.h"
#include "cluster.h"
#include "cmd.h"
#include "err.h"
#include "fsutil.h"
#include "offline.h"
#include "progress.h"
#include "value.h"
#include "workspace.h"

extern const struct cmd cmd_download;

static const struct opt options[] = {
    OPT('k', 'k', "k8s", "K8S_VER", "the Kubernetes version (-e K8S_VER=...)"),
    OPT('c', 'c', "cluster", "CLUSTER",
	"take that cluster's settings (CLUSTER_NETWORK, versions in its config.yml) over "
	"versions.yml's"),
    OPT('e', 'e', "extra-vars", "VARS",
	"override any setting of versions.yml: versions (etcd_ver=...), arch, os, sources and "
	"registries (URL bases: a mirror), REGISTRY_MIRROR, packages (k=v or @file.yml)"),
    OPT(1001, 0, "versions", "FILE", "another list than offline/versions.yml"),
    OPT(1002, 0, "no-binaries", NULL, "skip the binaries"),
    OPT(1003, 0, "no-images", NULL, "skip the images"),
    OPT(1004, 0, "no-packages", NULL, "skip the OS packages"),
    OPT('o', 'o', "bundle", "FILE", "then write the bundle (ezk bundle create FILE)"),
    OPT('q', 'q', "quiet", NULL, "plain progress lines even on a terminal"),
    OPT_END,
};

struct args {
	struct offline_opts *o;
	struct value *extra;
	const char *bundle;
	char *versions;
	int quiet;
};

static int got(void *ud, int id, const char *value)
{
	struct args *a = ud;
	switch (id) {
	case 'k': value_map_set(a->extra, "K8S_VER", value_str(value)); break;
	case 'c': a->o->cluster = value; break;
	case 'e': return vars_parse_extra(value, a->extra);
	case 1001:
		free(a->versions);
		a->versions = xstrdup(value);
		break;
	case 1002: a->o->binaries = 0; break;
	case 1003: a->o->images = 0; break;
	case 1004: a->o->packages = 0; break;
	case 'o': a->bundle = value; break;
	case 'q': a->quiet = 1; break;
	}
	return 0;
}

static int run(int argc, char **argv, const struct ezk_globals *g)
{
	struct offline_opts o = {.home = g->home, .binaries = 1, .images = 1, .packages = 1};
	struct args a = {&o, value_map(), NULL, NULL, 0};
	int first = cmd_parse(&cmd_download, argc, argv, got, &a);
	struct value *extra = a.extra;
	const char *bundle = a.bundle;
	char *versions = a.versions;
	int quiet = a.quiet;
	if (first < 0) {
		value_unref(extra);
		free(versions);
		return EZK_USAGE;
	}
	if (first < argc) {
		value_unref(extra);
		free(versions);
		return cmd_usage(&cmd_download, "unexpected argument '%s'", argv[first]);
	}
	if (!versions)
		versions = path_join(workspace_data_dir(), "offline/versions.yml");
	o.versions = versions;
	o.extra = extra;
	struct progress *p = progress_new(stderr, quiet ? 0 : -1);
	o.prog = p;
	struct offline_result r;
	int rc = offline_download(&o, &r);
	if (rc == -1) {
		fprintf(stderr, "ezk: %s\n", ezk_err_msg());
	} else {
		char b[32], rate[32];
		human_bytes((double)r.bytes, b, sizeof b);
		human_bytes(r.seconds > 0 ? (double)r.bytes / r.seconds : 0, rate, sizeof rate);
		printf("download: %d fetched, %d already there, %d failed; %s in %.1f s (%s/s)%s\n",
		       r.fetched, r.present, r.failed, b, r.seconds, rate, r.packages ? "" : "");
		if (r.packages)
			printf("packages: %d .deb files in %s/packages\n", r.packages, g->home);
		printf("in %s (bin/, images/, packages/; download.json lists them)\n", g->home);
	}
	if (rc == 0 && bundle) {
		struct bundle_opts bo = {.compress = "none", .prog = quiet ? NULL : p};
		struct bundle_summary s;
		int br = bundle_create(g->home, bundle, &bo, &s);
		if (br == 0)
			printf("bundle %s: %lld files, sha256 %s\n", bundle, s.files, s.sha256);
		else
			rc = cmd_error(br == -1 ? EZK_USAGE : EZK_FAILED);
		bundle_summary_free(&s);
	}
	progress_free(p);
	value_unref(extra);
	free(versions);
	if (rc > 0)
		return rc; /* the bundle's exit status, already reported */
	return rc == 0 ? EZK_OK : rc == -1 ? EZK_USAGE : EZK_FAILED;
}

const struct cmd cmd_download = {
    .name = "download",
    .args = "[-k K8S_VER] [-c cluster] [-e k=v] [--no-binaries|--no-images|--no-packages] "
	    "[-o bundle]",
    .summary = "fetch binaries, images and OS packages for an install without internet",
    .help = "Fetches into $EZK_HOME what offline/versions.yml lists for the chosen config:\n"
	    "bin/ (Kubernetes, etcd, containerd, runc, CNI plugins, crictl, helm, calicoctl\n"
	    "or cilium with its Helm chart in bin/charts/ and hubble, kube-ovn's\n"
	    "install.sh), images/ (OCI archives: pause, the network plugin, coredns,\n"
	    "nodelocaldns, metrics-server, dashboard) and packages/<os>/ (.deb files with\n"
	    "their dependencies). No docker needed. Binaries are checked against their\n"
	    "projects' checksum files and image blobs against their digests before they\n"
	    "appear; what is already there is not fetched again, and a run after an\n"
	    "interruption resumes partial files.\n",
    .examples = "Exit 0 when everything is in place; 1 when something could not be fetched\n"
		"(each said, the rest is still fetched); 2 for bad settings.\n\n"
		"Examples:\n"
		"  ezk download -o ezk-bundle.tar\n"
		"  ezk download -c prod -e REGISTRY_MIRROR=mirror.example.org\n",
    .options = options,
    .run = run,
};

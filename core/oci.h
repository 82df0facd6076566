/*
 * oci.h - images: ezk's own client of the registry v2 API (the OCI
 * distribution spec), and OCI image-layout tar archives, the form in which
 * images travel in a bundle and are imported into containerd.
 *
 * References are read as docker reads them:
 *
 *     calico/cni:v3.32.1          -> docker.io / calico/cni : v3.32.1
 *     busybox                     -> docker.io / library/busybox : latest
 *     registry.k8s.io/pause:3.10  -> registry.k8s.io / pause : 3.10
 *     127.0.0.1:5000/x@sha256:... -> 127.0.0.1:5000 / x, by digest
 *
 * Pulling one image for one platform:
 *
 *     struct oci_client *c = oci_client_new(dl, &opts);
 *     struct oci_pulled got;
 *     rc = oci_pull(c, "calico/cni:v3.32.1",
 *                   "easzlab.io.local:5000/easzlab/cni:v3.32.1",   // name in containerd
 *                   "images/cni_v3.32.1.tar", &got);
 *     // rc 1: the archive was already there and whole (no request made)
 *     oci_pulled_free(&got);
 *     oci_client_free(c);
 *
 * What oci_pull does:
 * - GET /v2/<repo>/manifests/<tag> with Accept for the OCI index, the OCI
 *   manifest, Docker's manifest list v2 and Docker's manifest v2. A 401
 *   with "WWW-Authenticate: Bearer realm=..,service=..,scope=.." fetches an
 *   anonymous token from the realm (Docker Hub, registry.k8s.io, quay.io
 *   and docker-registry's token auth all work this way) and asks again; the
 *   token is kept per repository and fetched anew when it expires (401).
 * - A manifest list / index is resolved to opts.os/opts.arch (and
 *   opts.variant when set), then that manifest fetched by digest.
 * - Every manifest's sha256 is checked: against the digest asked for, and
 *   against Docker-Content-Digest when the registry sends one.
 * - The config and layers go to opts.store/sha256/<hex> through
 *   dl_file(): checked against their digest and size, resumed with ranges
 *   after an interruption, shared between images (a base layer is fetched
 *   once).
 * - The archive is written atomically: oci-layout, index.json with one
 *   manifest annotated io.containerd.image.name = name and
 *   org.opencontainers.image.ref.name = its tag (what `ctr images import`
 *   and skopeo's oci-archive: read), then the blobs. The manifest's bytes
 *   are the registry's, so the digest containerd shows is the upstream one.
 * - A docker.io image whose pull fails is tried once more through
 *   opts.docker_mirror (ezdown's REGISTRY_MIRROR), same repository path.
 *
 * Endpoints: opts.registries maps a registry name ("docker.io") to the URL
 * of its API ("https://registry-1.docker.io"; plain http is allowed, the
 * tests use it); a registry not in the map is "https://<name>".
 */
#ifndef EZK_OCI_H
#define EZK_OCI_H

#include "digest.h"

struct dl;
struct value;

struct oci_ref {
	char *registry; /* "docker.io" */
	char *repo;	/* "library/busybox" */
	char *tag;	/* "latest" unless given; NULL when only a digest is */
	char *digest;	/* "sha256:..." or NULL */
};

/* Parse (and normalise, as above). -1 with a message naming s. */
int oci_ref_parse(const char *s, struct oci_ref *r);
void oci_ref_free(struct oci_ref *r);
/* "docker.io/library/busybox:latest" (and "@sha256:.." when set). */
char *oci_ref_str(const struct oci_ref *r);
/* images/<last path part>_<tag>.tar as kubeasz names its archives:
 * "easzlab.io.local:5000/easzlab/pause:3.10" -> "pause_3.10.tar". */
char *oci_archive_name(const char *name);

struct oci_opts {
	const struct value *registries; /* map name -> API URL; may be NULL */
	const char *docker_mirror;	/* API URL, or NULL/"" for none */
	const char *os;			/* "linux" */
	const char *arch;		/* "amd64", "arm64", ... */
	const char *variant;		/* "v8", or NULL */
	const char *store;		/* blob directory: <store>/sha256/<hex> */
};

struct oci_pulled {
	char digest[72];  /* the platform manifest's "sha256:..." */
	char *media_type; /* its media type */
	char *platform;	  /* "linux/amd64" */
	long long size;	  /* config + layers, bytes */
	int from_mirror;  /* 1 when it came through the mirror */
	int from_list;	  /* 1 when resolved from a manifest list / index */
};

struct oci_client;
struct oci_client *oci_client_new(struct dl *dl, const struct oci_opts *o);
void oci_client_free(struct oci_client *c);
int oci_pull(struct oci_client *c, const char *ref, const char *name, const char *out_tar,
	     struct oci_pulled *got);
void oci_pulled_free(struct oci_pulled *p);

/* What an image archive holds, read back from its tar. */
struct oci_archive_info {
	char *name;	 /* io.containerd.image.name */
	char *tag;	 /* org.opencontainers.image.ref.name */
	char *source;	 /* io.ezk.image.source (the upstream reference), or NULL */
	char digest[72]; /* the manifest's digest */
	char *platform;	 /* "linux/amd64", or NULL when unknown */
	long long size;	 /* the archive's bytes */
};

/* Read path's index.json (it must hold exactly one image manifest). With
 * verify, also hash every blob and check that the manifest, its config and
 * every layer are present with their digests and sizes. -1 with
 * "path: what is wrong". */
int oci_archive_read(const char *path, int verify, struct oci_archive_info *info);
void oci_archive_info_free(struct oci_archive_info *info);

/* The platform this machine runs, as OCI names it ("amd64", "arm64"). */
const char *oci_host_arch(void);

#endif

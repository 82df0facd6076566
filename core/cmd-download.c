/*
 * cmd-download.c - `ezk download`: on a machine with internet access (no
 * docker needed), fetch what an install without internet needs into
 * $EZK_HOME: binaries from their projects' release locations checked
 * against their published checksums, images with ezk's own registry
 * client, the hosts' OS packages with apt (core/offline.h). What is
 * already there is not fetched again; an interrupted run resumes.
 * kubeasz's `ezdown -D` (and -P, -X) without docker.
 */
#include <getopt.h>
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

static int run(int argc, char **argv, const struct ezk_globals *g)
{
	static const struct option opts[] = {{"k8s", required_argument, NULL, 'k'},
					     {"cluster", required_argument, NULL, 'c'},
					     {"extra-vars", required_argument, NULL, 'e'},
					     {"versions", required_argument, NULL, 1001},
					     {"no-binaries", no_argument, NULL, 1002},
					     {"no-images", no_argument, NULL, 1003},
					     {"no-packages", no_argument, NULL, 1004},
					     {"bundle", required_argument, NULL, 'o'},
					     {"quiet", no_argument, NULL, 'q'},
					     {0}};
	struct offline_opts o = {.home = g->home, .binaries = 1, .images = 1, .packages = 1};
	struct value *extra = value_map();
	const char *bundle = NULL;
	char *versions = NULL;
	int quiet = 0, c;
	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, "k:c:e:o:q", opts, NULL)) != -1) {
		switch (c) {
		case 'k': value_map_set(extra, "K8S_VER", value_str(optarg)); continue;
		case 'c': o.cluster = optarg; continue;
		case 'e':
			if (vars_parse_extra(optarg, extra) < 0) {
				value_unref(extra);
				return cmd_error(EZK_USAGE);
			}
			continue;
		case 1001:
			free(versions);
			versions = xstrdup(optarg);
			continue;
		case 1002: o.binaries = 0; continue;
		case 1003: o.images = 0; continue;
		case 1004: o.packages = 0; continue;
		case 'o': bundle = optarg; continue;
		case 'q': quiet = 1; continue;
		}
		value_unref(extra);
		free(versions);
		return cmd_usage(&cmd_download, "unknown option '%s'", argv[optind - 1]);
	}
	if (optind < argc) {
		value_unref(extra);
		free(versions);
		return cmd_usage(&cmd_download, "unexpected argument '%s'", argv[optind]);
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
	    "or cilium), images/ (OCI archives: pause, the network plugin, coredns,\n"
	    "nodelocaldns, metrics-server, dashboard) and packages/<os>/ (.deb files with\n"
	    "their dependencies). No docker needed. Binaries are checked against their\n"
	    "projects' checksum files and image blobs against their digests before they\n"
	    "appear; what is already there is not fetched again, and a run after an\n"
	    "interruption resumes partial files.\n\n"
	    "Options:\n"
	    "  -k K8S_VER         the Kubernetes version (-e K8S_VER=...)\n"
	    "  -c CLUSTER         take that cluster's settings (CLUSTER_NETWORK, versions in\n"
	    "                     its config.yml) over versions.yml's\n"
	    "  -e k=v, -e @f.yml  override any setting of versions.yml: versions (etcd_ver=...),\n"
	    "                     arch, os, sources and registries (URL bases: a mirror),\n"
	    "                     REGISTRY_MIRROR, packages\n"
	    "  --versions FILE    another list than offline/versions.yml\n"
	    "  --no-binaries, --no-images, --no-packages   skip that part\n"
	    "  -o FILE            then write the bundle (ezk bundle create FILE)\n"
	    "  -q                 plain progress lines even on a terminal\n\n"
	    "Exit 0 when everything is in place; 1 when something could not be fetched\n"
	    "(each said, the rest is still fetched); 2 for bad settings.\n",
    .opts = "-k -c -e --versions --no-binaries --no-images --no-packages -o --quiet",
    .run = run,
};

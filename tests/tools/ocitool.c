/*
 * ocitool - drives core/oci.c and core/download.c from the shell tests,
 * without the rest of `ezk download`.
 *
 * usage: ocitool pull REF NAME OUT.tar STORE ARCH [REGISTRY=URL ...] [mirror=URL]
 *            prints "digest platform from_list from_mirror" (or "skipped ...")
 *        ocitool read ARCHIVE.tar [--verify]
 *            prints "name tag digest platform source"
 *        ocitool fetch URL DEST [SHA256]
 *            prints "fetched" or "skipped"
 * Exit 0 on success; 1 with the error on stderr.
 */
#include <stdio.h>
#include <string.h>

#include "download.h"
#include "err.h"
#include "oci.h"
#include "progress.h"
#include "value.h"

int main(int argc, char **argv)
{
	if (argc >= 7 && !strcmp(argv[1], "pull")) {
		struct value *regs = value_map();
		const char *mirror = NULL;
		for (int i = 7; i < argc; i++) {
			char *eq = strchr(argv[i], '=');
			if (!eq)
				continue;
			*eq = '\0';
			if (!strcmp(argv[i], "mirror"))
				mirror = eq + 1;
			else
				value_map_set(regs, argv[i], value_str(eq + 1));
		}
		struct progress *p = progress_new(stderr, 0);
		struct dl *d = dl_new(p);
		struct oci_opts o = {.registries = regs,
				     .docker_mirror = mirror,
				     .arch = argv[6],
				     .store = argv[5]};
		struct oci_client *c = oci_client_new(d, &o);
		struct oci_pulled got;
		int rc = oci_pull(c, argv[2], argv[3], argv[4], &got);
		if (rc >= 0)
			printf("%s%s %s %d %d\n", rc == 1 ? "skipped " : "", got.digest,
			       got.platform ? got.platform : "-", got.from_list, got.from_mirror);
		else
			fprintf(stderr, "%s\n", ezk_err_msg());
		oci_pulled_free(&got);
		oci_client_free(c);
		dl_free(d);
		progress_free(p);
		value_unref(regs);
		return rc < 0;
	}
	if (argc >= 3 && !strcmp(argv[1], "read")) {
		struct oci_archive_info in;
		int verify = argc > 3 && !strcmp(argv[3], "--verify");
		if (oci_archive_read(argv[2], verify, &in) < 0) {
			fprintf(stderr, "%s\n", ezk_err_msg());
			return 1;
		}
		printf("%s %s %s %s %s\n", in.name, in.tag ? in.tag : "-", in.digest,
		       in.platform ? in.platform : "-", in.source ? in.source : "-");
		oci_archive_info_free(&in);
		return 0;
	}
	if (argc >= 4 && !strcmp(argv[1], "fetch")) {
		struct progress *p = progress_new(stderr, 0);
		struct dl *d = dl_new(p);
		int rc = dl_file(d, argv[2], NULL, argv[3], argc > 4 ? argv[4] : NULL, -1, 0644,
				 argv[3]);
		if (rc < 0)
			fprintf(stderr, "%s\n", ezk_err_msg());
		else
			printf("%s\n", rc == 1 ? "skipped" : "fetched");
		dl_free(d);
		progress_free(p);
		return rc < 0;
	}
	fprintf(stderr, "usage: ocitool pull|read|fetch ...\n");
	return 2;
}

/*
 * cmd-bundle.c - `ezk bundle create|verify|import FILE`: one file that
 * carries $EZK_HOME's bin/, images/ and packages/ to a site without
 * internet, checked end to end (core/bundle.h has the format and the
 * checks). A bad bundle is exit 2 with a message naming the file; a
 * failure of this machine (disk full) is exit 1.
 */
#include <stdio.h>
#include <string.h>

#include "bundle.h"
#include "cmd.h"
#include "err.h"
#include "progress.h"
#include "value.h"

extern const struct cmd cmd_bundle;

static void summary(const char *verb, const char *file, const struct bundle_summary *s)
{
	char b[32], r[32];
	human_bytes((double)s->bytes, b, sizeof b);
	human_bytes(s->seconds > 0 ? (double)s->file_size / s->seconds : 0, r, sizeof r);
	printf("%s %s: %lld files (%lld images, %lld packages), %s in %.1f s (%s/s)\n", verb, file,
	       s->files, s->images, s->packages, b, s->seconds, r);
	const struct value *m = s->manifest;
	const struct value *arch = m ? value_map_get(m, "arch") : NULL;
	if (arch && arch->type == V_STR)
		printf("arch %s", arch->u.str.s);
	const struct value *os = m ? value_map_get(m, "os") : NULL;
	for (size_t i = 0; os && i < value_len(os); i++)
		printf("%s%s", i ? "," : ", os ", value_list_get(os, i)->u.str.s);
	printf("\n%s  %s\n", s->sha256, file);
}

static const struct opt options[] = {
    OPT('z', 'z', "compress", "none|zstd|gzip",
	"create: compress the payload (default none: images are compressed already)"),
    OPT('q', 'q', "quiet", NULL, "no progress display"),
    OPT_END,
};

struct args {
	const char *compress;
	int quiet;
};

static int got(void *ud, int id, const char *value)
{
	struct args *a = ud;
	if (id == 'z')
		a->compress = value;
	else
		a->quiet = 1;
	return 0;
}

static int run(int argc, char **argv, const struct ezk_globals *g)
{
	struct args a = {"none", 0};
	int optind = cmd_parse(&cmd_bundle, argc, argv, got, &a);
	if (optind < 0)
		return EZK_USAGE;
	const char *compress = a.compress;
	int quiet = a.quiet;
	if (argc - optind != 2)
		return cmd_usage(&cmd_bundle, argc - optind < 1	  ? "create, verify or import?"
					      : argc - optind < 2 ? "which bundle file?"
								  : "too many arguments");
	const char *verb = argv[optind], *file = argv[optind + 1];
	struct progress *p = quiet ? NULL : progress_new(stderr, -1);
	struct bundle_summary s;
	int rc;
	if (!strcmp(verb, "create")) {
		struct bundle_opts o = {.compress = compress, .prog = p};
		rc = bundle_create(g->home, file, &o, &s);
		if (rc == 0)
			summary("created", file, &s);
	} else if (!strcmp(verb, "verify")) {
		rc = bundle_verify(file, p, &s);
		if (rc == 0)
			summary("verified", file, &s);
	} else if (!strcmp(verb, "import")) {
		rc = bundle_import(file, g->home, p, &s);
		if (rc == 0) {
			summary("imported", file, &s);
			printf("into %s (bin/, images/, packages/; the manifest is bundle.json)\n",
			       g->home);
		}
	} else {
		progress_free(p);
		return cmd_usage(&cmd_bundle, "unknown action '%s' (create, verify or import)",
				 verb);
	}
	progress_free(p);
	bundle_summary_free(&s);
	if (rc < 0)
		return cmd_error(rc == -1 ? EZK_USAGE : EZK_FAILED);
	return EZK_OK;
}

const struct cmd cmd_bundle = {
    .name = "bundle",
    .args = "create|verify|import <file> [--compress none|zstd|gzip] [-q]",
    .summary = "pack $EZK_HOME's binaries, images and packages into one checked file, or unpack it",
    .help = "  create FILE   pack bin/, images/ and packages/ of $EZK_HOME (what 'ezk download'\n"
	    "                or scripts/bin-from-debian.sh put there) with a manifest: every\n"
	    "                file's sha256 and size, every image's name, tag and digest, the\n"
	    "                versions, the target OS and architecture\n"
	    "  verify FILE   check every byte of it (on either side of the air gap)\n"
	    "  import FILE   verify, then unpack into $EZK_HOME in the same layout; a bad\n"
	    "                bundle changes nothing\n\n"
	    "Each prints the counts, the rate and the bundle's sha256 (as sha256sum prints\n"
	    "it: carry it beside the file to check that nobody swapped the file).\n"
	    "Exit 2 when the file is not a whole, unchanged ezk bundle (the message names\n"
	    "the file and what is wrong); exit 1 when this machine failed (disk full).\n",
    .options = options,
    .run = run,
};

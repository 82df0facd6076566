/*
 * bundle.h - one file that carries an install to a site without internet,
 * and proves its own integrity.
 *
 *     ezk bundle create FILE    (bundle_create: $EZK_HOME's bin/ images/ packages/)
 *     ezk bundle verify FILE    (bundle_verify)
 *     ezk bundle import FILE    (bundle_import: into $EZK_HOME, same layout)
 *
 * The format (version 1): a tar stream (POSIX pax; compressed with zstd or
 * gzip, or not at all) followed by a 512-byte footer:
 *
 *     <tar payload>  bin/... images/... packages/... then ezk-bundle.json
 *     <footer>       "ezk-bundle 1\npayload <bytes>\nsha256 <hex of the payload>\n"
 *                    "manifest-sha256 <hex>\ncompression <none|zstd|gzip>\n",
 *                    NUL-padded to 512 bytes
 *
 * An uncompressed bundle is a tar file that GNU tar lists and extracts as
 * it is (tar stops at its end-of-archive blocks, before the footer).
 *
 * ezk-bundle.json, the manifest, is the last member (so creating a bundle
 * reads every file once, hashing it as it goes into the archive):
 *
 *     {"format": "ezk-bundle/1", "created": "2026-12-05T10:00:00Z",
 *      "ezk": "0.1.0", "arch": "amd64", "os": ["debian_12"],
 *      "versions": {"K8S_VER": "v1.36.3", "etcd_ver": "v3.6.5", ...},
 *      "files": [{"path": "bin/etcd", "size": 23456789,
 *                 "sha256": "...", "mode": "0755"}, ...],
 *      "images": [{"file": "images/pause_3.10.tar",
 *                  "name": "easzlab.io.local:5000/easzlab/pause:3.10",
 *                  "tag": "3.10", "digest": "sha256:...",
 *                  "platform": "linux/amd64", "source": "docker.io/..."}],
 *      "packages": [{"file": "packages/debian_12/jq_1.6-2.1_amd64.deb",
 *                    "os": "debian_12", "name": "jq", "version": "1.6-2.1",
 *                    "arch": "amd64"}],
 *      "bytes": 1234567890}
 *
 * versions, arch and os come from $EZK_HOME/download.json, which
 * `ezk download` writes (absent for a home that scripts/bin-from-debian.sh
 * filled: then versions is empty, arch is the images' or this machine's).
 *
 * What verify proves, in this order, each failure naming FILE:
 * - the footer is there ("not an ezk bundle" for a foreign file, one whose
 *   beginning is an ezk bundle and whose footer is gone is "truncated");
 * - the payload's length is what the footer says (truncated or grown);
 * - every member is a regular file under bin/, images/ or packages/ (no
 *   .., no links, no devices, no duplicates), and its sha256 and size are
 *   the manifest's; no member is missing or extra;
 * - the sha256 of every payload byte (tar headers and padding included) is
 *   the footer's, and the manifest's is the footer's manifest-sha256.
 * So any flipped byte of the file, the footer's included, fails verify.
 *
 * bundle_import does the same checks while it unpacks into a staging
 * directory inside home ($EZK_HOME/.import-XXXXXX); only when all of them
 * pass are the files renamed into place (each one fsynced first), and the
 * manifest is kept as $EZK_HOME/bundle.json (what the roles read to know
 * the images' digests and the files' sha256). A refused bundle leaves
 * home exactly as it was. Files of home the bundle does not carry are left
 * alone.
 *
 * Return values: 0 ok; -1 the bundle (or home's content for create) is bad
 * (exit 2); -2 a local failure: disk full, permissions (exit 1). The
 * message is in ezk_err_msg().
 */
#ifndef EZK_BUNDLE_H
#define EZK_BUNDLE_H

#include "digest.h"

struct progress;
struct value;

#define BUNDLE_FOOTER 512

struct bundle_opts {
	const char *compress;  /* "none" (default), "zstd" or "gzip" */
	struct progress *prog; /* may be NULL */
};

struct bundle_summary {
	long long files, images, packages, bytes; /* bytes: of the members */
	long long file_size;			  /* the bundle file's */
	char sha256[SHA256_HEX];		  /* of the whole file (sha256sum's) */
	double seconds;
	struct value *manifest; /* the manifest (new reference), or NULL */
};

int bundle_create(const char *home, const char *file, const struct bundle_opts *o,
		  struct bundle_summary *s);
int bundle_verify(const char *file, struct progress *prog, struct bundle_summary *s);
int bundle_import(const char *file, const char *home, struct progress *prog,
		  struct bundle_summary *s);
void bundle_summary_free(struct bundle_summary *s);

#endif

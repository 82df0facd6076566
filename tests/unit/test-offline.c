/*
 * test-offline.c - the parsers of the offline code: checksum files as
 * projects publish them, image references as docker reads them, archive
 * names as kubeasz makes them, digests, byte counts.
 */
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "err.h"
#include "oci.h"
#include "offline.h"
#include "progress.h"
#include "tap.h"

#define H1 "4e26b3de2eb936cb3d160d294a9c920db8746e3153d3ed147b786ada4f607530"
#define H2 "ec2de14b048fba33bdcf8cb05884b5b4d1171fabbfab4051b398332ca8934cdb"

static void ref(const char *s, const char *want)
{
	struct oci_ref r;
	char what[256];
	snprintf(what, sizeof what, "reference %s", s);
	if (oci_ref_parse(s, &r) < 0) {
		is_str(ezk_err_msg(), want, what);
		return;
	}
	char *got = oci_ref_str(&r);
	is_str(got, want, what);
	free(got);
	oci_ref_free(&r);
}

int main(void)
{
	char hex[65];
	/* sha256sum's lines, SHA256SUMS of a release, a bare digest */
	ok(checksum_lookup(H1 "  etcd-v3.6.5-linux-amd64.tar.gz\n",
			   "etcd-v3.6.5-linux-amd64.tar.gz", hex) == 0 &&
	       !strcmp(hex, H1),
	   "a sha256sum line");
	ok(checksum_lookup(H2 "  etcd-arm64.tar.gz\n" H1 "  etcd-amd64.tar.gz\n",
			   "etcd-amd64.tar.gz", hex) == 0 &&
	       !strcmp(hex, H1),
	   "the right line of several");
	ok(checksum_lookup(H1 " *bin/runc.amd64\n", "runc.amd64", hex) == 0 && !strcmp(hex, H1),
	   "binary mode (*) and a path");
	ok(checksum_lookup(H1 "\n", "kube-apiserver", hex) == 0 && !strcmp(hex, H1),
	   "a file that is only the digest (dl.k8s.io's .sha256)");
	ok(checksum_lookup(H1, "kube-apiserver", hex) == 0, "... without a newline");
	ok(checksum_lookup(H2 "  other\n", "etcd.tar.gz", hex) < 0,
	   "no line for the file: an error");
	ok(strstr(ezk_err_msg(), "etcd.tar.gz") != NULL, "... naming it");
	ok(checksum_lookup("<html>404</html>\n", "x", hex) < 0, "an HTML page is no checksum file");
	ok(checksum_lookup(H1 "\n" H2 "\n", "x", hex) < 0, "two bare digests name nothing");
	ok(checksum_lookup("4E26B3DE2EB936CB3D160D294A9C920DB8746E3153D3ED147B786ADA4F607530  x\n",
			   "x", hex) == 0 &&
	       !strcmp(hex, H1),
	   "upper-case hex is read as lower case");

	ref("busybox", "docker.io/library/busybox:latest");
	ref("calico/cni:v3.32.1", "docker.io/calico/cni:v3.32.1");
	ref("docker.io/calico/cni:v3.32.1", "docker.io/calico/cni:v3.32.1");
	ref("index.docker.io/library/alpine:3", "docker.io/library/alpine:3");
	ref("registry.k8s.io/pause:3.10", "registry.k8s.io/pause:3.10");
	ref("127.0.0.1:5000/easzlab/pause:3.10", "127.0.0.1:5000/easzlab/pause:3.10");
	ref("localhost/x/y", "localhost/x/y:latest");
	ref("quay.io/cilium/cilium@sha256:" H1, "quay.io/cilium/cilium@sha256:" H1);
	ref("ghcr.io/flannel-io/flannel:v0.27.4@sha256:" H1,
	    "ghcr.io/flannel-io/flannel:v0.27.4@sha256:" H1);
	ref("Calico/cni",
	    "image 'Calico/cni': not a valid reference ([registry/]repository[:tag][@digest])");
	ref("calico/cni:bad tag", "image 'calico/cni:bad tag': not a valid reference "
				  "([registry/]repository[:tag][@digest])");
	ref("x@sha256:abc", "image 'x@sha256:abc': the digest is not sha256:<64 hex digits>");
	ref("a/../b",
	    "image 'a/../b': not a valid reference ([registry/]repository[:tag][@digest])");

	char *n = oci_archive_name("easzlab.io.local:5000/easzlab/pause:3.10");
	is_str(n, "pause_3.10.tar", "archive name: the last part, ':' as '_'");
	free(n);
	n = oci_archive_name("easzlab.io.local:5000/easzlab/busybox");
	is_str(n, "busybox_latest.tar", "archive name: latest when untagged");
	free(n);

	ok(digest_parse("sha256:" H1) != NULL, "a sha256 digest");
	ok(digest_parse("sha512:" H1) == NULL, "other algorithms are refused");
	ok(digest_parse("sha256:../../etc/passwd") == NULL, "a digest cannot be a path");
	sha256_buf("", 0, hex);
	is_str(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	       "sha256 of nothing");

	char b[32];
	human_bytes(512, b, sizeof b);
	is_str(b, "512 B", "bytes");
	human_bytes(12345678, b, sizeof b);
	is_str(b, "12.3 MB", "megabytes");
	return tap_done();
}

/*
 * sshmany - one upload or many commands on many hosts at once, one session
 * each (the bench rows of make bench, and the e2e tests).
 *
 *   sshmany cmds KEY KNOWN_HOSTS N ADDR...
 *       connect to every ADDR at once (one session each), run `true` N
 *       times on each; prints "ms=<wall time> connect_ms=<slowest connect>"
 *   sshmany upload KEY KNOWN_HOSTS FILE DEST ADDR...
 *       upload FILE to DEST on every ADDR at once; prints
 *       "ms=<wall> prepare_ms=<local sha256> sent=<hosts that got data>"
 *   sshmany tree KEY KNOWN_HOSTS DIR DEST ADDR...
 *       every regular file under DIR to the same path under DEST, on every
 *       ADDR at once, one session per host and the files one after another
 *       in it (as a setup step's copies); prints the same, sent = the files
 *       that were sent (over all hosts), bytes=<the tree's size>
 */
#include <dirent.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "pool.h"
#include "ssh.h"

struct job {
	struct ssh_conf conf;
	const char *key;
	char **addrs;
	int n;
	int reps;
	struct ssh_file file;
	const char *dest;
	struct ssh_file *files; /* tree: every file under dir */
	char **rel;		/* ... its path under dir */
	size_t nfiles;
	int failed;
	int sent;
	double connect_ms[1024];
};

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static struct ssh_host *open_host(struct job *j, size_t i)
{
	struct ssh_target t = {
	    .name = j->addrs[i], .addr = j->addrs[i], .user = "root", .key_file = j->key};
	struct ssh_host *h = ssh_host_new(&j->conf, &t);
	double t0 = now_ms();
	if (ssh_host_connect(h) < 0) {
		fprintf(stderr, "sshmany: %s\n", ezk_err_msg());
		__atomic_add_fetch(&j->failed, 1, __ATOMIC_SEQ_CST);
		ssh_host_free(h);
		return NULL;
	}
	j->connect_ms[i] = now_ms() - t0;
	return h;
}

static void cmds(size_t i, void *ud)
{
	struct job *j = ud;
	struct ssh_host *h = open_host(j, i);
	if (!h)
		return;
	struct ssh_cmd c = {.script = "true"};
	struct ssh_result r = SSH_RESULT_INIT;
	for (int k = 0; k < j->reps; k++) {
		if (ssh_exec(h, &c, &r) < 0 || r.status != 0) {
			fprintf(stderr, "sshmany: %s: failed\n", j->addrs[i]);
			__atomic_add_fetch(&j->failed, 1, __ATOMIC_SEQ_CST);
			break;
		}
	}
	ssh_result_free(&r);
	ssh_host_free(h);
}

static void upload(size_t i, void *ud)
{
	struct job *j = ud;
	struct ssh_host *h = open_host(j, i);
	if (!h)
		return;
	bool changed, sent;
	struct ssh_upload_opts o = {.mode = 0644, .mkdir = true};
	if (ssh_upload(h, &j->file, j->dest, &o, &changed, &sent) < 0) {
		fprintf(stderr, "sshmany: %s\n", ezk_err_msg());
		__atomic_add_fetch(&j->failed, 1, __ATOMIC_SEQ_CST);
	} else if (sent) {
		__atomic_add_fetch(&j->sent, 1, __ATOMIC_SEQ_CST);
	}
	ssh_host_free(h);
}

static void tree(size_t i, void *ud)
{
	struct job *j = ud;
	struct ssh_host *h = open_host(j, i);
	if (!h)
		return;
	for (size_t k = 0; k < j->nfiles; k++) {
		bool changed, sent;
		struct ssh_upload_opts o = {.mode = 0644, .mkdir = true};
		char dest[4096];
		snprintf(dest, sizeof dest, "%s/%s", j->dest, j->rel[k]);
		if (ssh_upload(h, &j->files[k], dest, &o, &changed, &sent) < 0) {
			fprintf(stderr, "sshmany: %s: %s\n", j->addrs[i], ezk_err_msg());
			__atomic_add_fetch(&j->failed, 1, __ATOMIC_SEQ_CST);
			break;
		}
		if (sent)
			__atomic_add_fetch(&j->sent, 1, __ATOMIC_SEQ_CST);
	}
	ssh_host_free(h);
}

/* every regular file under root/sub, into j->files and j->rel */
static void walk(struct job *j, const char *root, const char *sub)
{
	char dir[4096];
	snprintf(dir, sizeof dir, "%s%s%s", root, *sub ? "/" : "", sub);
	DIR *d = opendir(dir);
	if (!d)
		return;
	for (struct dirent *de; (de = readdir(d));) {
		if (de->d_name[0] == '.')
			continue;
		char rel[4096], path[8192];
		snprintf(rel, sizeof rel, "%s%s%s", sub, *sub ? "/" : "", de->d_name);
		snprintf(path, sizeof path, "%s/%s", root, rel);
		struct stat st;
		if (lstat(path, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			walk(j, root, rel);
		} else if (S_ISREG(st.st_mode)) {
			j->files = realloc(j->files, (j->nfiles + 1) * sizeof *j->files);
			j->rel = realloc(j->rel, (j->nfiles + 1) * sizeof *j->rel);
			memset(&j->files[j->nfiles], 0, sizeof *j->files);
			j->files[j->nfiles].path = strdup(path);
			j->rel[j->nfiles++] = strdup(rel);
		}
	}
	closedir(d);
}

int main(int argc, char **argv)
{
	static struct job j;
	struct ssh_conf conf = SSH_CONF_INIT;
	if (argc < 6)
		goto usage;
	conf.known_hosts = argv[3];
	conf.no_agent = conf.no_default_keys = true;
	j.conf = conf;
	j.key = argv[2];
	double t0;
	if (!strcmp(argv[1], "cmds")) {
		j.reps = atoi(argv[4]);
		j.addrs = argv + 5;
		j.n = argc - 5;
		t0 = now_ms();
		pool_run((size_t)j.n, j.n, cmds, &j);
	} else if (!strcmp(argv[1], "upload") && argc >= 7) {
		j.file.path = argv[4];
		j.dest = argv[5];
		j.addrs = argv + 6;
		j.n = argc - 6;
		t0 = now_ms();
		if (ssh_file_prepare(&j.file) < 0) {
			fprintf(stderr, "sshmany: %s\n", ezk_err_msg());
			return 1;
		}
		printf("prepare_ms=%.0f ", now_ms() - t0);
		pool_run((size_t)j.n, j.n, upload, &j);
	} else if (!strcmp(argv[1], "tree") && argc >= 7) {
		walk(&j, argv[4], "");
		j.dest = argv[5];
		j.addrs = argv + 6;
		j.n = argc - 6;
		t0 = now_ms();
		size_t bytes = 0;
		for (size_t k = 0; k < j.nfiles; k++) {
			if (ssh_file_prepare(&j.files[k]) < 0) {
				fprintf(stderr, "sshmany: %s\n", ezk_err_msg());
				return 1;
			}
			bytes += j.files[k].len;
		}
		printf("files=%zu bytes=%zu prepare_ms=%.0f ", j.nfiles, bytes, now_ms() - t0);
		pool_run((size_t)j.n, j.n, tree, &j);
		for (size_t k = 0; k < j.nfiles; k++) {
			free((char *)j.files[k].path);
			free(j.rel[k]);
		}
		free(j.files);
		free(j.rel);
	} else {
		goto usage;
	}
	double ms = now_ms() - t0, worst = 0;
	for (int i = 0; i < j.n; i++)
		if (j.connect_ms[i] > worst)
			worst = j.connect_ms[i];
	printf("ms=%.0f connect_ms=%.0f sent=%d failed=%d\n", ms, worst, j.sent, j.failed);
	return j.failed ? 1 : 0;
usage:
	fprintf(stderr, "usage: sshmany cmds KEY KNOWN_HOSTS N ADDR... | upload KEY KNOWN_HOSTS "
			"FILE DEST ADDR... | tree KEY KNOWN_HOSTS DIR DEST ADDR...\n");
	return 2;
}

/*
 * journal.c - the run's files in clusters/<c>/logs/: its log, and the journal
 * of every step's outcome per host, which --resume reads. engine-int.h.
 *
 * Both are written as the run goes, each line with one write(2) on a file
 * opened O_APPEND (0600 whatever the umask): a run killed by SIGKILL leaves
 * every line it had finished, and two writers never interleave within one.
 *
 * A journal line: run <TAB> step <TAB> host <TAB> status <TAB> inputs
 *     run     the run's id (time and pid: unique per run)
 *     host    a host, or "*" for the step as a whole
 *     status  per host: ok, failed, unreachable, interrupted; for "*":
 *             started (written when the step begins), done, incomplete,
 *             interrupted
 *     inputs  sha256 of what the step was run with: hosts, config.yml,
 *             -e, --limit, -t and --skip-tags (journal_inputs)
 * Old journals (four fields, no inputs) are read as "inputs unknown".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cluster.h"
#include "digest.h"
#include "engine-int.h"
#include "err.h"
#include "fsutil.h"
#include "value.h"

void journal_write(int fd, const char *s, size_t n)
{
	while (fd >= 0 && n > 0) {
		ssize_t w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

static int open_private(const char *path, int flags)
{
	int fd = open(path, flags | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd >= 0)
		fchmod(fd, 0600);
	return fd;
}

/* The hash of a file's bytes into h; a missing file hashes as "-". */
static void hash_file(struct sha256 *h, const char *path)
{
	char *data = NULL;
	size_t len = 0;
	if (path && file_read(path, &data, &len) == 0) {
		sha256_update(h, "f", 1);
		sha256_update(h, data, len);
	} else {
		sha256_update(h, "-", 1);
	}
	sha256_update(h, "", 1);
	free(data);
}

static void hash_str(struct sha256 *h, const char *s)
{
	if (s)
		sha256_update(h, s, strlen(s));
	sha256_update(h, "", 1);
}

/* What a step is run with, as one hash: a step done with other inputs is
 * not done for --resume. */
static void journal_inputs(struct engine *e)
{
	struct sha256 h;
	sha256_init(&h);
	hash_file(&h, e->c->hosts_path);
	hash_file(&h, e->c->config_path);
	struct buf x = BUF_INIT;
	value_to_json(e->c->extra, &x, 0, 1);
	hash_str(&h, x.s);
	buf_free(&x);
	hash_str(&h, e->o.limit);
	hash_str(&h, e->o.tags);
	hash_str(&h, e->o.skip_tags);
	sha256_final(&h, e->inputs);
}

int journal_open(struct engine *e)
{
	snprintf(e->run_id, sizeof e->run_id, "%ld-%ld", (long)time(NULL), (long)getpid());
	journal_inputs(e);
	if (!e->c->dir)
		return 0;
	char *dir = path_join(e->c->dir, "logs");
	if (mkdir_p(dir, 0700) < 0) {
		free(dir);
		return -1;
	}
	time_t t = time(NULL);
	struct tm tm;
	localtime_r(&t, &tm);
	char name[160], stamp[32];
	strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
	/* a new file each run: a second run in the same second gets "-2" */
	const char *cmd = e->o.command ? e->o.command : "setup";
	for (int n = 1; n < 100 && e->log_fd < 0; n++) {
		if (n == 1)
			snprintf(name, sizeof name, "%s-%s-%.40s.log", stamp, cmd, e->o.steps);
		else
			snprintf(name, sizeof name, "%s-%s-%.40s-%d.log", stamp, cmd, e->o.steps,
				 n);
		for (char *p = name; *p; p++)
			if (*p == '/' || *p == ' ' || (unsigned char)*p < 0x20)
				*p = '_';
		free(e->log_path);
		e->log_path = path_join(dir, name);
		e->log_fd = open_private(e->log_path, O_CREAT | O_EXCL | O_APPEND);
		if (e->log_fd < 0 && errno != EEXIST)
			break;
	}
	int log_errno = errno;
	char *j = path_join(dir, "journal");
	e->journal_fd = open_private(j, O_CREAT | O_APPEND);
	int rc = 0;
	if (e->log_fd < 0)
		rc = ezk_fail("%s: %s", e->log_path, strerror(log_errno));
	else if (e->journal_fd < 0)
		rc = ezk_fail("%s: %s", j, strerror(errno));
	free(j);
	free(dir);
	return rc;
}

static void journal_line(struct engine *e, const char *step, const char *host, const char *st)
{
	struct buf b = BUF_INIT;
	buf_printf(&b, "%s\t%s\t%s\t%s\t%s\n", e->run_id, step, host, st, e->inputs);
	journal_write(e->journal_fd, b.s, b.len);
	buf_free(&b);
}

void journal_step_start(struct engine *e, const struct step *s)
{
	if (e->journal_fd < 0 || e->o.check)
		return;
	journal_line(e, s->id, "*", "started");
}

void journal_step(struct engine *e, const struct step *s, const char *outcome)
{
	if (e->journal_fd < 0 || e->o.check)
		return;
	for (size_t i = 0; i < engine_nruns(e); i++) {
		struct hostrun *h = &e->hosts[i];
		if (h->in_play)
			journal_line(e, s->id, h->name,
				     h->interrupted	       ? "interrupted"
				     : h->state == HOST_OK     ? "ok"
				     : h->state == HOST_FAILED ? "failed"
							       : "unreachable");
	}
	journal_line(e, s->id, "*", outcome);
	/* what the steps before it did is undone (99 clean): --resume reads
	 * only what comes after this line */
	if (!strcmp(outcome, "done") && s->resets)
		journal_line(e, "*", "*", "reset");
	fsync(e->journal_fd);
}

/* --resume: a selected step is skipped when the journal's last word on it
 * (from any run) is "done" with the inputs of this run: the same hosts,
 * config.yml, -e, --limit and tags. The first step that is not skipped
 * starts the run; every step after it runs. Entries before the last "reset"
 * (a step that undid the others, 99 clean, was done) do not count. A step begun and killed (its
 * last word "started"), interrupted, incomplete or done with other inputs
 * (an edit to the inventory since, a -l run on some hosts) runs again. */
size_t journal_resume(struct engine *e, const char **why)
{
	*why = "no earlier run";
	if (!e->c->dir)
		return 0;
	char *path = path_join(e->c->dir, "logs/journal");
	char *data = NULL;
	size_t len = 0;
	int rc = file_read(path, &data, &len);
	free(path);
	if (rc < 0)
		return 0;
	char *from = data;
	for (char *p = strstr(data, "\t*\t*\treset\t"); p; p = strstr(p + 1, "\t*\t*\treset\t")) {
		char *nl = strchr(p, '\n');
		from = nl ? nl + 1 : p + strlen(p);
	}
	size_t k = 0;
	for (; k < e->nrun; k++) {
		const char *id = e->steps[e->run_steps[k]].id;
		size_t idl = strlen(id);
		const char *last = NULL, *last_in = NULL;
		size_t last_len = 0, in_len = 0;
		for (char *line = from; line && *line;) {
			char *nl = strchr(line, '\n');
			size_t ll = nl ? (size_t)(nl - line) : strlen(line);
			char *f[5] = {line};
			size_t nf = 1;
			for (size_t i = 0; i < ll && nf < 5; i++)
				if (line[i] == '\t')
					f[nf++] = line + i + 1;
			if (nf >= 4 && (size_t)(f[2] - f[1] - 1) == idl &&
			    !strncmp(f[1], id, idl) && f[2][0] == '*' && f[2][1] == '\t') {
				last = f[3];
				last_len = (nf >= 5 ? (size_t)(f[4] - f[3] - 1)
						    : ll - (size_t)(f[3] - line));
				last_in = nf >= 5 ? f[4] : NULL;
				in_len = nf >= 5 ? ll - (size_t)(f[4] - line) : 0;
			}
			line = nl ? nl + 1 : NULL;
		}
		if (!last) {
			*why = "the journal has no record of it";
			break;
		}
		if (last_len != 4 || strncmp(last, "done", 4) != 0) {
			*why = "its last run did not finish it";
			break;
		}
		if (!last_in || in_len != strlen(e->inputs) ||
		    strncmp(last_in, e->inputs, in_len)) {
			*why = "hosts, config.yml, -e, --limit or tags changed since it was done";
			break;
		}
	}
	free(data);
	return k;
}

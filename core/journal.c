/*
 * journal.c - the run's files in clusters/<c>/logs/: its log, and the journal
 * of every step's outcome per host, which --resume reads. engine-int.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cluster.h"
#include "engine-int.h"
#include "err.h"
#include "fsutil.h"

int journal_open(struct engine *e)
{
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
	char name[128], stamp[32];
	strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
	snprintf(name, sizeof name, "%s-%s-%.40s.log", stamp, e->o.command ? e->o.command : "setup",
		 e->o.steps);
	for (char *p = name; *p; p++)
		if (*p == '/' || *p == ' ')
			*p = '_';
	e->log_path = path_join(dir, name);
	e->log = fopen(e->log_path, "we");
	char *j = path_join(dir, "journal");
	e->journal = fopen(j, "ae");
	free(j);
	free(dir);
	if (!e->log || !e->journal)
		return ezk_fail("%s: %s", e->log_path, strerror(errno));
	chmod(e->log_path, 0600);
	return 0;
}

void journal_step(struct engine *e, const char *run, const struct step *s, bool done)
{
	if (!e->journal || e->o.check)
		return;
	for (size_t i = 0; i < engine_nruns(e); i++) {
		struct hostrun *h = &e->hosts[i];
		if (h->in_play)
			fprintf(e->journal, "%s\t%s\t%s\t%s\n", run, s->id, h->name,
				h->state == HOST_OK	  ? "ok"
				: h->state == HOST_FAILED ? "failed"
							  : "unreachable");
	}
	fprintf(e->journal, "%s\t%s\t*\t%s\n", run, s->id, done ? "done" : "incomplete");
	fflush(e->journal);
	fsync(fileno(e->journal));
}

/* --resume: the steps whose last journal entry says "done" are skipped,
 * up to the first one that is not. */
size_t journal_resume(struct engine *e)
{
	if (!e->c->dir)
		return 0;
	char *path = path_join(e->c->dir, "logs/journal");
	char *data = NULL;
	size_t len = 0;
	int rc = file_read(path, &data, &len);
	free(path);
	if (rc < 0)
		return 0;
	size_t k = 0;
	for (; k < e->nrun; k++) {
		const char *id = e->steps[e->run_steps[k]].id;
		const char *last = NULL;
		for (char *line = data; line && *line;) {
			char *nl = strchr(line, '\n');
			if (nl)
				*nl = 0;
			char *f1 = strchr(line, '\t'), *f2 = f1 ? strchr(f1 + 1, '\t') : NULL,
			     *f3 = f2 ? strchr(f2 + 1, '\t') : NULL;
			if (f3 && (size_t)(f2 - f1 - 1) == strlen(id) &&
			    !strncmp(f1 + 1, id, strlen(id)) && f2[1] == '*')
				last = f3 + 1;
			if (nl)
				*nl = '\n';
			line = nl ? nl + 1 : NULL;
		}
		if (!last || strncmp(last, "done", 4) != 0)
			break;
	}
	free(data);
	return k;
}

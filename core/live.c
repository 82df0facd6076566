/*
 * live.c - a task's result as the run shows it: a line on the terminal (with
 * the live view of the hosts of the play), a --json event, a line in the
 * log. engine-int.h.
 */
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "engine-int.h"
#include "report.h"

const char *host_role(struct hostrun *h)
{
	return h->role ? h->role->name : "-";
}

/* ---- the live display (a terminal, no --json, no -v) ----
 * Below the lines that stay (changed, failed), one line per host of the
 * current play: its role, its task now and its counts; with more than 20
 * hosts, one line for all. Redrawn at most 10 times a second. Caller holds
 * e->lock. */

bool live_on(const struct engine *e)
{
	return e->tty && !e->o.json && !e->o.verbose;
}

void live_clear(struct engine *e)
{
	if (e->live_lines > 0)
		printf("\033[%dA\033[J", e->live_lines);
	e->live_lines = 0;
}

static void live_draw(struct engine *e, bool force)
{
	double t = clock_ms();
	if (!force && t - e->live_drawn < 100)
		return;
	e->live_drawn = t;
	live_clear(e);
	size_t n = 0, done = 0;
	int ok = 0, ch = 0, fl = 0;
	for (size_t i = 0; i < engine_nruns(e); i++) {
		struct hostrun *h = &e->hosts[i];
		if (!h->in_play)
			continue;
		n++;
		done += h->current[0] == 0;
		ok += h->ok, ch += h->changed, fl += h->failed + h->unreachable;
	}
	if (n == 0)
		return;
	if (n > 20) {
		printf("  %zu/%zu hosts idle · ok %d changed %d failed %d\n", done, n, ok, ch, fl);
		e->live_lines = 1;
	} else {
		for (size_t i = 0; i < engine_nruns(e); i++) {
			struct hostrun *h = &e->hosts[i];
			if (!h->in_play)
				continue;
			printf("  %-15.15s ok %-3d changed %-3d failed %-2d %s %.50s\n", h->name,
			       h->ok, h->changed, h->failed + h->unreachable,
			       h->current[0] ? host_role(h) : "", h->current);
			e->live_lines++;
		}
	}
	fflush(stdout);
}

void engine_task_begin(struct hostrun *h, const char *task)
{
	snprintf(h->current, sizeof h->current, "%s", task);
	if (h->e->stats && h->ssh)
		ssh_host_stats(h->ssh, &h->cmds0, &h->procs0);
	if (live_on(h->e)) {
		pthread_mutex_lock(&h->e->lock);
		live_draw(h->e, false);
		pthread_mutex_unlock(&h->e->lock);
	}
}

void engine_task(struct hostrun *h, const char *task, const char *module, const char *status,
		 const char *msg, const char *diff, double ms)
{
	struct engine *e = h->e;
	if (!strcmp(status, "ok"))
		h->ok++;
	else if (!strcmp(status, "changed"))
		h->changed++;
	else if (!strcmp(status, "failed"))
		h->failed++;
	else if (!strcmp(status, "skipped"))
		h->skipped++;
	/* a module's "warning: ..." is shown even when the task is ok */
	bool warning = msg && strstr(msg, "warning:");
	struct buf line = BUF_INIT;
	if (e->o.json) {
		json_event_begin(&line, "task");
		json_field_str(&line, "step", h->step_id);
		json_field_str(&line, "role", host_role(h));
		json_field_str(&line, "task", task);
		json_field_str(&line, "host", h->name);
		json_field_str(&line, "status", status);
		json_field_str(&line, "msg", msg ? msg : "");
		json_field_int(&line, "ms", (long long)ms);
		if (e->stats && h->ssh) {
			unsigned long cmds;
			long procs;
			ssh_host_stats(h->ssh, &cmds, &procs);
			json_field_str(&line, "module", module);
			json_field_int(&line, "cmds", (long long)(cmds - h->cmds0));
			json_field_int(&line, "procs",
				       procs >= 0 && h->procs0 >= 0 ? procs - h->procs0 : -1);
			h->cmds0 = cmds;
			h->procs0 = procs;
		}
		if (diff && e->o.diff)
			json_field_str(&line, "diff", diff);
		buf_puts(&line, "}\n");
	} else {
		/* one line a task: a value with a newline cannot forge the next */
		buf_printf(&line, "[%s %s] %-15s %-8s ", h->step_id, host_role(h), h->name, status);
		buf_put_printable(&line, task, false);
		if (msg && *msg && (strcmp(status, "ok") || warning)) {
			buf_puts(&line, ": ");
			buf_put_printable(&line, msg, false);
		}
		buf_printf(&line, " (%.0f ms)\n", ms);
		if (diff && *diff && e->o.diff) {
			buf_put_printable(&line, diff, true);
			if (diff[strlen(diff) - 1] != '\n')
				buf_putc(&line, '\n');
		}
	}
	redact(e, &line);
	pthread_mutex_lock(&e->lock);
	journal_write(e->log_fd, line.s, line.len);
	h->current[0] = 0;
	/* On a terminal, the ok and skipped lines would drown what matters. */
	bool show = !live_on(e) || warning || (strcmp(status, "ok") && strcmp(status, "skipped"));
	if (show) {
		if (live_on(e))
			live_clear(e);
		fputs(line.s, stdout);
	}
	if (live_on(e))
		live_draw(e, show);
	fflush(stdout);
	/* the slowest tasks, for the recap */
	for (int i = 0; i < 5; i++) {
		if (!e->slowest[i].task || ms > e->slowest[i].ms) {
			free(e->slowest[4].task);
			memmove(&e->slowest[i + 1], &e->slowest[i],
				(size_t)(4 - i) * sizeof e->slowest[0]);
			struct buf t = BUF_INIT;
			buf_printf(&t, "[%s %s] ", h->step_id, host_role(h));
			buf_put_printable(&t, task, false);
			redact(e, &t);
			e->slowest[i].task = buf_detach(&t);
			e->slowest[i].ms = ms;
			e->slowest[i].host = h->name;
			break;
		}
	}
	pthread_mutex_unlock(&e->lock);
	buf_free(&line);
}

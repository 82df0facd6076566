/*
 * recap.c - the recap at the end of a run: a table per host (or the --json
 * recap event), the slowest tasks, why hosts failed. engine-int.h.
 */
#include <signal.h>
#include <string.h>

#include "engine-int.h"
#include "report.h"

void recap_print(struct engine *e, double total)
{
	size_t nh = engine_nruns(e);
	if (live_on(e))
		live_clear(e);
	if (e->o.json) {
		struct buf b = BUF_INIT, hosts = BUF_INIT;
		buf_putc(&hosts, '{');
		for (size_t i = 0; i < nh; i++) {
			struct hostrun *h = &e->hosts[i];
			if (i)
				buf_putc(&hosts, ',');
			buf_json_str(&hosts, h->name, strlen(h->name));
			buf_printf(&hosts,
				   ":{\"ok\":%d,\"changed\":%d,\"failed\":%d,\"skipped\":%d,"
				   "\"unreachable\":%d}",
				   h->ok, h->changed, h->failed, h->skipped, h->unreachable);
		}
		buf_putc(&hosts, '}');
		json_event_begin(&b, "recap");
		json_field_raw(&b, "hosts", hosts.s);
		json_field_int(&b, "ms", (long long)total);
		if (atomic_load(&e->stop))
			json_field_str(&b, "interrupted",
				       atomic_load(&e->stop) == SIGINT ? "SIGINT" : "SIGTERM");
		json_event_emit(&b, stdout);
		buf_free(&b);
		buf_free(&hosts);
		return;
	}
	struct table t = TABLE_INIT;
	table_row(&t, (const char *[]){"HOST", "OK", "CHANGED", "FAILED", "SKIPPED", "UNREACHABLE",
				       "TIME", NULL});
	for (size_t i = 0; i < nh; i++) {
		struct hostrun *h = &e->hosts[i];
		char c[5][16], tm[32];
		snprintf(c[0], 16, "%d", h->ok);
		snprintf(c[1], 16, "%d", h->changed);
		snprintf(c[2], 16, "%d", h->failed);
		snprintf(c[3], 16, "%d", h->skipped);
		snprintf(c[4], 16, "%d", h->unreachable);
		snprintf(tm, sizeof tm, "%.1fs", h->ms / 1000);
		table_row(&t, (const char *[]){h->name, c[0], c[1], c[2], c[3], c[4], tm, NULL});
	}
	printf("\nRECAP\n");
	table_print(&t, stdout);
	table_free(&t);
	if (e->slowest[0].task) {
		printf("slowest tasks:\n");
		for (int i = 0; i < 5 && e->slowest[i].task; i++)
			printf("  %6.0f ms  %s on %s\n", e->slowest[i].ms, e->slowest[i].task,
			       e->slowest[i].host);
	}
	for (size_t i = 0; i < nh; i++)
		if (e->hosts[i].state != HOST_OK) {
			struct buf m = BUF_INIT;
			buf_printf(&m, "%s %s: ", e->hosts[i].name,
				   e->hosts[i].state == HOST_FAILED ? "failed" : "unreachable");
			buf_put_printable(&m, e->hosts[i].msg, false);
			buf_putc(&m, '\n');
			redact(e, &m);
			fputs(m.s, stdout);
			buf_free(&m);
		}
	for (size_t i = 0; i < nh; i++)
		if (e->hosts[i].state == HOST_OK && e->hosts[i].interrupted)
			printf("%s interrupted: stopped before its next task\n", e->hosts[i].name);
	if (atomic_load(&e->stop))
		printf("interrupted by %s: no task started after it; --resume goes on from the "
		       "first step not done\n",
		       atomic_load(&e->stop) == SIGINT ? "SIGINT" : "SIGTERM");
	printf("%.1f s%s; log: %s\n", total / 1000,
	       e->o.check ? " (check mode: nothing changed)" : "", e->log_path ? e->log_path : "-");
	fflush(stdout);
}

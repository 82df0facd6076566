/*
 * cmd-ping.c - `ezk ping <c>`: reach every host in parallel and run one
 * probe on each: OS, architecture, kernel, cgroup version, memory, clock
 * skew against this machine, and sudo where the host becomes. A table, or
 * --json `host` events; exit 1 when any host failed or was unreachable.
 *
 * One session per host, three round trips: a bare `true` (the latency
 * column), the probe, and `id -un` under sudo when the host becomes.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster.h"
#include "cmd.h"
#include "err.h"
#include "facts.h"
#include "pool.h"
#include "report.h"
#include "ssh.h"
#include "targets.h"
#include "value.h"

extern const struct cmd cmd_ping;

enum { ST_OK, ST_FAILED, ST_UNREACHABLE };
static const char *const status_name[] = {"ok", "failed", "unreachable"};

struct ping {
	int status;
	char *msg;
	char *os, *arch, *kernel, *cgroup;
	long mem_mb;
	double latency_ms, skew_ms;
	const char *user;
};

struct run {
	struct targets *ts;
	struct ping *res;
	bool json;
	double t0;
};

static double wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* a string fact, malloc'd, or NULL */
static char *fact(const struct value *f, const char *key)
{
	const struct value *v = value_map_get(f, key);
	return v && v->type == V_STR && v->u.str.len ? xstrdup(v->u.str.s) : NULL;
}

static char *first_line(const char *s)
{
	while (*s == '\n' || *s == ' ')
		s++;
	const char *e = strchr(s, '\n');
	return xstrndup(s, e ? (size_t)(e - s) : strlen(s));
}

static void emit(struct run *run, size_t i)
{
	struct ping *p = &run->res[i];
	const char *name = run->ts->t[i].name;
	struct buf b = BUF_INIT;
	json_event_begin(&b, "host");
	json_field_str(&b, "host", name);
	json_field_str(&b, "status", status_name[p->status]);
	json_field_str(&b, "msg", p->msg ? p->msg : "");
	json_field_str(&b, "user", p->user);
	if (p->os) {
		json_field_str(&b, "os", p->os);
		json_field_str(&b, "arch", p->arch);
		json_field_str(&b, "kernel", p->kernel);
		json_field_str(&b, "cgroup", p->cgroup);
		json_field_int(&b, "mem_mb", p->mem_mb);
		json_field_num(&b, "latency_ms", p->latency_ms);
		json_field_num(&b, "skew_ms", p->skew_ms);
	}
	json_event_emit(&b, stdout);
	buf_free(&b);
}

static void ping_one(size_t i, void *ud)
{
	struct run *run = ud;
	struct ping *p = &run->res[i];
	struct ssh_host *h = ssh_host_new(&run->ts->conf, &run->ts->t[i]);
	struct ssh_result r = SSH_RESULT_INIT;
	if (ssh_host_connect(h) < 0) {
		p->status = ST_UNREACHABLE;
		p->msg = xstrdup(msg_for_host(ezk_err_msg(), run->ts->t[i].name));
		goto out;
	}
	if (ssh_host_hostkey_note(h)) {
		if (run->json) {
			struct buf b = BUF_INIT;
			json_event_begin(&b, "hostkey");
			json_field_str(&b, "host", run->ts->t[i].name);
			json_field_str(&b, "msg", ssh_host_hostkey_note(h));
			json_event_emit(&b, stdout);
			buf_free(&b);
		} else {
			fprintf(stderr, "ezk: %s\n", ssh_host_hostkey_note(h));
		}
	}
	struct ssh_cmd t = {.script = "true", .no_become = true};
	if (ssh_exec(h, &t, &r) < 0) {
		p->status = ST_UNREACHABLE;
		p->msg = xstrdup(msg_for_host(ezk_err_msg(), run->ts->t[i].name));
		goto out;
	}
	p->latency_ms = r.ms;
	struct ssh_cmd pr = {.script = "ezk_facts 1",
			     .lib = facts_lib,
			     .lib_name = "ezk_facts",
			     .read_only = true,
			     .no_become = true,
			     .timeout_ms = 30000};
	double before = wall_ms();
	if (ssh_exec(h, &pr, &r) < 0) {
		p->status = ST_UNREACHABLE;
		p->msg = xstrdup(msg_for_host(ezk_err_msg(), run->ts->t[i].name));
		goto out;
	}
	double after = wall_ms();
	if (r.status != 0) {
		p->status = ST_FAILED;
		char *l = first_line(buf_cstr(&r.err));
		struct buf m = BUF_INIT;
		buf_printf(&m, "probe exited %d: %s", r.status, l);
		free(l);
		p->msg = buf_detach(&m);
		goto out;
	}
	struct value *f = facts_parse(buf_cstr(&r.out));
	p->os = fact(f, "os_name");
	p->arch = fact(f, "arch");
	p->kernel = fact(f, "kernel");
	p->cgroup = fact(f, "cgroup");
	const struct value *mem = value_map_get(f, "mem_mb"), *tm = value_map_get(f, "time_ns");
	p->mem_mb = mem && mem->type == V_INT ? (long)mem->u.i : 0;
	p->skew_ms = tm && tm->type == V_INT && tm->u.i > 0
			 ? (double)tm->u.i / 1e6 - (before + after) / 2
			 : NAN;
	value_unref(f);
	if (run->ts->t[i].become) {
		struct ssh_cmd id = {.script = "id -un", .become = true, .timeout_ms = 30000};
		if (ssh_exec(h, &id, &r) < 0) {
			p->status = ST_FAILED;
			p->msg = xstrdup(msg_for_host(ezk_err_msg(), run->ts->t[i].name));
			goto out;
		}
		const char *want = run->ts->t[i].become_user ? run->ts->t[i].become_user : "root";
		char *got = first_line(buf_cstr(&r.out));
		if (r.status != 0 || strcmp(got, want) != 0) {
			struct buf m = BUF_INIT;
			buf_printf(&m, "sudo to %s did not work: %s", want,
				   r.status ? buf_cstr(&r.err) : got);
			p->status = ST_FAILED;
			p->msg = buf_detach(&m);
			free(got);
			goto out;
		}
		free(got);
	}
	p->status = ST_OK;
	if (fabs(p->skew_ms) > 2000) {
		struct buf m = BUF_INIT;
		buf_printf(&m, "clock off by %.1f s", p->skew_ms / 1000);
		p->msg = buf_detach(&m);
	}
out:
	p->user = xstrdup(ssh_host_user(h));
	ssh_result_free(&r);
	ssh_host_free(h);
	if (run->json)
		emit(run, i);
}

static const char *fmt(char *b, size_t n, const char *f, double v)
{
	if (isnan(v))
		return "-";
	snprintf(b, n, f, v);
	return b;
}

static int run_ping(int argc, char **argv, const struct ezk_globals *g)
{
	struct run_opts o;
	int rc = EZK_OK, optind = cmd_parse_run(&cmd_ping, argc, argv, &o);
	if (optind < 0)
		return EZK_USAGE;
	if (argc - optind != 1) {
		run_opts_free(&o);
		return cmd_usage(&cmd_ping, "which cluster?");
	}
	struct cluster *cl;
	if (cluster_open(g->home, argv[optind], o.extra, &cl) < 0) {
		run_opts_free(&o);
		return cmd_error(EZK_USAGE);
	}
	struct targets *ts;
	if (targets_open(cl, &o, g->home, &ts) < 0) {
		cluster_close(cl);
		run_opts_free(&o);
		return cmd_error(EZK_USAGE);
	}
	struct run run = {.ts = ts, .res = xcalloc(ts->n, sizeof *run.res), .json = o.json};
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pool_run(ts->n, o.forks, ping_one, &run);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double total = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;

	size_t counts[3] = {0};
	struct table t = TABLE_INIT;
	table_row(&t, (const char *[]){"HOST", "USER", "OS", "ARCH", "KERNEL", "CGROUP", "MEM",
				       "LATENCY", "SKEW", "RESULT", NULL});
	struct buf recap = BUF_INIT;
	buf_putc(&recap, '{');
	for (size_t i = 0; i < ts->n; i++) {
		struct ping *p = &run.res[i];
		counts[p->status]++;
		char lat[32], skew[32], mem[32], res[1024];
		snprintf(mem, sizeof mem, "%ldM", p->mem_mb);
		snprintf(res, sizeof res, "%s%s%s", status_name[p->status], p->msg ? ": " : "",
			 p->msg ? p->msg : "");
		table_row(&t, (const char *[]){
				  ts->t[i].name, p->user ? p->user : "-", p->os ? p->os : "-",
				  p->arch ? p->arch : "-", p->kernel ? p->kernel : "-",
				  p->cgroup ? p->cgroup : "-", p->os ? mem : "-",
				  p->os ? fmt(lat, sizeof lat, "%.1fms", p->latency_ms) : "-",
				  p->os ? fmt(skew, sizeof skew, "%+.0fms", p->skew_ms) : "-", res,
				  NULL});
		if (i)
			buf_putc(&recap, ',');
		buf_json_str(&recap, ts->t[i].name, strlen(ts->t[i].name));
		buf_printf(&recap, ":{\"ok\":%d,\"failed\":%d,\"unreachable\":%d}",
			   p->status == ST_OK, p->status == ST_FAILED, p->status == ST_UNREACHABLE);
	}
	buf_putc(&recap, '}');
	if (o.json) {
		struct buf b = BUF_INIT;
		json_event_begin(&b, "recap");
		json_field_raw(&b, "hosts", buf_cstr(&recap));
		json_field_int(&b, "ms", (long long)total);
		json_event_emit(&b, stdout);
		buf_free(&b);
	} else {
		table_print(&t, stdout);
		printf("%zu ok, %zu failed, %zu unreachable (%.1f s)\n", counts[ST_OK],
		       counts[ST_FAILED], counts[ST_UNREACHABLE], total / 1000);
	}
	buf_free(&recap);
	table_free(&t);
	if (counts[ST_FAILED] || counts[ST_UNREACHABLE])
		rc = EZK_FAILED;
	for (size_t i = 0; i < ts->n; i++) {
		struct ping *p = &run.res[i];
		free(p->msg);
		free(p->os);
		free(p->arch);
		free(p->kernel);
		free(p->cgroup);
		free((char *)p->user);
	}
	free(run.res);
	targets_free(ts);
	cluster_close(cl);
	run_opts_free(&o);
	return rc;
}

const struct cmd cmd_ping = {
    .name = "ping",
    .args = "<cluster> [-l limit] [--json]",
    .summary = "reach every host and show what it runs",
    .help = "Connects to every host of the cluster in parallel (one SSH session each) and runs\n"
	    "one probe: OS, architecture, kernel, cgroup version, memory, the round trip of a\n"
	    "command (LATENCY) and the host's clock against this one (SKEW). Where a host\n"
	    "becomes (ansible_become, -b), sudo is tried too. A host key seen for the first\n"
	    "time is pinned in $EZK_HOME/known_hosts; a changed one is refused.\n"
	    "Exit status 1 if any host failed or was unreachable.\n",
    .examples = "Examples:\n"
		"  ezk ping prod\n"
		"  ezk ping prod -l kube_node --json\n",
    .complete = "cluster",
    .options = run_options,
    .run = run_ping,
};

/*
 * engine.c - a run of `ezk setup`: open (steps, roles, the roles' checks),
 * the scheduler (steps one after another, plays as barriers, a play's
 * hosts in parallel batches, any_errors_fatal), close. See engine.h; the
 * other parts are listed in engine-int.h.
 */
#include <lauxlib.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "check.h"
#include "cluster.h"
#include "engine-int.h"
#include "err.h"
#include "fsutil.h"
#include "imgsrv.h"
#include "inventory.h"
#include "pool.h"
#include "report.h"
#include "targets.h"

/* The hosts of the run: the targets, and the deploy node once a play ran
 * on localhost. */
size_t engine_nruns(const struct engine *e)
{
	return e->ts->n + (e->local_used ? 1 : 0);
}

/* ---- tags ---- */

bool engine_tag_selected(struct engine *e, const char *const *tags, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(tags[i], "always"))
			return true;
		for (size_t k = 0; k < e->nskip; k++)
			if (!strcmp(tags[i], e->skip_tags[k]))
				return false;
	}
	if (!e->ntags)
		return true;
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < e->ntags; k++)
			if (!strcmp(tags[i], e->tags[k]))
				return true;
	return false;
}

/* ---- the roles' checks, before any host is touched ---- */

struct check_count {
	struct engine *e;
	int errors;
	struct value *seen; /* messages said already: a check per host says one once */
};

static void check_said(void *ud, bool error, const char *file, int line, const char *msg)
{
	struct check_count *cc = ud;
	struct buf b = BUF_INIT;
	check_format(&b, error, file, line, msg);
	if (value_map_get(cc->seen, b.s)) {
		buf_free(&b);
		return;
	}
	value_map_set(cc->seen, b.s, value_bool(1));
	engine_log(cc->e, NULL, "check: %s", b.s);
	if (cc->e->o.json) {
		struct buf ev = BUF_INIT;
		json_event_begin(&ev, "check");
		json_field_str(&ev, "level", error ? "error" : "warning");
		json_field_str(&ev, "msg", b.s);
		json_event_emit(&ev, stdout);
		buf_free(&ev);
	} else {
		fprintf(stderr, "%s\n", b.s);
	}
	cc->errors += error;
	buf_free(&b);
}

/* The check.lua of every role the selected steps run (roles/etcd/check.lua
 * for step 02): an error stops the run before it starts, as `ezk check`
 * would have said. */
static int run_checks(struct engine *e)
{
	char **names = xcalloc(e->nroles + 1, sizeof *names);
	for (size_t i = 0; i < e->nroles; i++)
		names[i] = e->roles[i].name;
	size_t n = 0;
	char **files = check_files(e->path, e->npath, names, e->nroles, &n);
	free(names);
	struct check_count cc = {e, 0, value_map()};
	struct check_say to = {check_said, &cc};
	int rc = check_run(e->c, files, n, &to);
	strv_free(files, n);
	value_unref(cc.seen);
	if (rc < 0 || cc.errors)
		return ezk_fail("%d error%s in the roles' checks: nothing was run ('ezk check' "
				"lists them all)",
				cc.errors, cc.errors == 1 ? "" : "s");
	return 0;
}

int engine_open(struct cluster *c, struct targets *ts, const struct engine_opts *o,
		struct engine **out)
{
	struct engine *e = xcalloc(1, sizeof *e);
	*out = NULL;
	e->c = c;
	e->ts = ts;
	e->o = *o;
	e->log_fd = e->journal_fd = -1;
	const char *st = getenv("EZK_STATS");
	e->stats = st && *st && strcmp(st, "0") != 0;
	pthread_mutex_init(&e->lock, NULL);
	pthread_mutex_init(&e->hash_lock, NULL);
	pthread_mutex_init(&e->pre_lock, NULL);
	pthread_cond_init(&e->pre_done, NULL);
	pthread_mutexattr_t ra;
	pthread_mutexattr_init(&ra);
	pthread_mutexattr_settype(&ra, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&e->once_lock, &ra);
	pthread_mutexattr_destroy(&ra);
	e->path = split_list(o->roles_path, ':', &e->npath);
	e->tags = split_list(o->tags, ',', &e->ntags);
	e->skip_tags = split_list(o->skip_tags, ',', &e->nskip);
	e->tty = isatty(STDOUT_FILENO);
	if (steps_load(e) < 0 || steps_select(e) < 0 || lib_load(e) < 0)
		goto fail;
	engine_stat_load(e);
	for (size_t k = 0; k < e->nrun; k++) {
		struct step *s = &e->steps[e->run_steps[k]];
		for (size_t p = 0; p < s->nplays; p++)
			for (size_t r = 0; r < s->plays[p].nroles; r++)
				if (role_load(e, s->plays[p].roles[r]) < 0)
					goto fail;
	}
	e->hosts = xcalloc(ts->n + 1, sizeof *e->hosts);
	for (size_t i = 0; i < ts->n; i++) {
		e->hosts[i].e = e;
		e->hosts[i].idx = i;
		e->hosts[i].inv = ts->host[i];
		e->hosts[i].name = ts->t[i].name;
	}
	/* The last slot is the deploy node, for plays on "localhost". */
	e->hosts[ts->n].e = e;
	e->hosts[ts->n].idx = ts->n;
	e->hosts[ts->n].inv = inventory_nhosts(c->inv);
	e->hosts[ts->n].name = "localhost";
	secrets_collect(e);
	if (journal_open(e) < 0 || run_checks(e) < 0)
		goto fail;
	*out = e;
	return 0;
fail:
	engine_close(e);
	return -1;
}

void engine_close(struct engine *e)
{
	if (!e)
		return;
	engine_stat_save(e);
	for (size_t i = 0; e->hosts && i <= e->ts->n; i++) {
		struct hostrun *h = &e->hosts[i];
		if (h->L)
			lua_close(h->L);
		ssh_host_free(h->ssh);
		free(h->msg);
		free(h->pre_err);
	}
	free(e->hosts);
	for (size_t i = 0; i < e->nsteps; i++) {
		struct step *s = &e->steps[i];
		for (size_t p = 0; p < s->nplays; p++) {
			for (size_t r = 0; r < s->plays[p].nroles; r++)
				free(s->plays[p].roles[r]);
			free(s->plays[p].roles);
			free(s->plays[p].hosts);
			free(s->plays[p].pattern);
		}
		free(s->plays);
		strv_free(s->steps, s->nsteps);
		free(s->confirm);
		free(s->id);
		free(s->alias);
		free(s->command);
	}
	free(e->steps);
	free(e->run_steps);
	for (size_t i = 0; i < e->nroles; i++) {
		chunk_free(&e->roles[i].main);
		free(e->roles[i].name);
		free(e->roles[i].dir);
		free(e->roles[i].folder);
	}
	free(e->roles);
	for (size_t i = 0; i < e->nlib; i++)
		chunk_free(&e->lib[i]);
	free(e->lib);
	for (size_t i = 0; i < e->npath; i++)
		free(e->path[i]);
	free(e->path);
	for (size_t i = 0; i < e->ntags; i++)
		free(e->tags[i]);
	free(e->tags);
	for (size_t i = 0; i < e->nskip; i++)
		free(e->skip_tags[i]);
	free(e->skip_tags);
	for (int i = 0; i < 5; i++)
		free(e->slowest[i].task);
	if (e->log_fd >= 0)
		close(e->log_fd);
	if (e->journal_fd >= 0)
		close(e->journal_fd);
	free(e->log_path);
	free(e->secrets);
	engine_sums_save(e);
	for (size_t i = 0; i < e->nsums; i++)
		free(e->sums[i].path);
	free(e->sums);
	for (size_t i = 0; i < e->nonces; i++) {
		free(e->onces[i].key);
		free(e->onces[i].val);
	}
	free(e->onces);
	for (size_t i = 0; i < e->nimgsrvs; i++) {
		imgsrv_stop(e->imgsrvs[i].s);
		free(e->imgsrvs[i].addr);
	}
	free(e->imgsrvs);
	pthread_mutex_destroy(&e->lock);
	pthread_mutex_destroy(&e->hash_lock);
	pthread_mutex_destroy(&e->pre_lock);
	pthread_cond_destroy(&e->pre_done);
	pthread_mutex_destroy(&e->once_lock);
	free(e);
}

/* ---- running ---- */

struct batch {
	struct engine *e;
	const struct play *play;
	size_t *hosts; /* indexes into e->hosts */
	size_t n;
};

static void host_fail(struct hostrun *h, enum host_state st, const char *msg)
{
	h->state = st;
	if (st == HOST_UNREACHABLE)
		h->unreachable = 1;
	if (msg && msg != h->msg) {
		free(h->msg);
		h->msg = xstrdup(msg);
	}
}

static int host_open(struct engine *e, struct hostrun *h)
{
	bool local = h->idx == e->ts->n;
	if (!h->ssh) {
		h->ssh = local ? ssh_host_new_local(&e->ts->conf, "localhost")
			       : ssh_host_new(&e->ts->conf, &e->ts->t[h->idx]);
		if (!local)
			engine_stat_seed(e, h->ssh);
	}
	if (e->stats)
		ssh_host_count_procs(h->ssh, true);
	return ssh_host_connect(h->ssh);
}

/* Connect (once per run: the session stays for later plays). A host the
 * run connected early (preconnect) is ready, or says now why it is not. */
static int host_connect(struct engine *e, struct hostrun *h)
{
	double t0 = clock_ms();
	pthread_mutex_lock(&e->pre_lock);
	while (h->pre_pending)
		pthread_cond_wait(&e->pre_done, &e->pre_lock);
	pthread_mutex_unlock(&e->pre_lock);
	if (h->pre_err) {
		host_fail(h, HOST_UNREACHABLE, h->pre_err);
		engine_task(h, "connect", "ssh", "unreachable", h->pre_err, NULL, h->pre_ms);
		h->ms += h->pre_ms;
		free(h->pre_err);
		h->pre_err = NULL;
		return -1;
	}
	if (host_open(e, h) < 0) {
		const char *m = msg_for_host(ezk_err_msg(), h->name);
		host_fail(h, HOST_UNREACHABLE, m);
		engine_task(h, "connect", "ssh", "unreachable", m, NULL, clock_ms() - t0);
		h->ms += clock_ms() - t0;
		return -1;
	}
	return 0;
}

/* ---- preconnect ----
 * A run's first plays are often on the deploy node (step 01's certificates
 * and kubeconfigs, 02's etcd certificate): while they run, the hosts the
 * run's later plays select are connected in the background, so their SSH
 * handshakes (a fork and exec of sshd, key exchange, authentication: most
 * of a rerun's time on a host) overlap the local work. Nothing is reported
 * then: a host that cannot be reached says so when its first play starts,
 * as before, and a host no play reaches is not reported at all. A host's
 * play waits for its own early connect to end (pre_pending, pre_lock), so
 * a host is never touched by two threads at once, and a host that is slow
 * to refuse holds up only the plays it is in. */

struct preconnect {
	struct engine *e;
	size_t *hosts; /* indexes into e->hosts */
	size_t n;
};

static void preconnect_host(size_t i, void *ud)
{
	struct preconnect *p = ud;
	struct engine *e = p->e;
	struct hostrun *h = &e->hosts[p->hosts[i]];
	double t0 = clock_ms();
	if (!atomic_load(&e->stop) && host_open(e, h) < 0) {
		h->pre_err = xstrdup(msg_for_host(ezk_err_msg(), h->name));
		h->pre_ms = clock_ms() - t0;
	}
	pthread_mutex_lock(&e->pre_lock);
	h->pre_pending = false;
	pthread_cond_broadcast(&e->pre_done);
	pthread_mutex_unlock(&e->pre_lock);
}

static void *preconnect_main(void *ud)
{
	struct preconnect *p = ud;
	pool_run(p->n, p->e->o.forks, preconnect_host, p);
	free(p->hosts);
	free(p);
	return NULL;
}

/* the remote hosts some play of the steps from `first` on selects */
static void preconnect_start(struct engine *e, size_t first)
{
	size_t nh = e->ts->n;
	bool *want = xcalloc(nh + 1, sizeof(bool));
	size_t n = 0;
	for (size_t k = first; k < e->nrun; k++) {
		const struct step *s = &e->steps[e->run_steps[k]];
		for (size_t p = 0; p < s->nplays; p++) {
			const struct play *pl = &s->plays[p];
			const char *pattern = pl->pattern ? pl->pattern : pl->hosts;
			size_t *sel, nsel;
			if (!strcmp(pattern, "localhost") &&
			    inventory_host_find(e->c->inv, "localhost") < 0)
				continue;
			if (targets_select_play(e->c, pattern, &sel, &nsel) < 0)
				continue;
			for (size_t i = 0; i < nh; i++)
				for (size_t j = 0; j < nsel && !want[i]; j++)
					if (sel[j] == e->hosts[i].inv)
						want[i] = true, n++;
			free(sel);
		}
	}
	struct preconnect *p = xcalloc(1, sizeof *p);
	p->e = e;
	p->hosts = xcalloc(n + 1, sizeof(size_t));
	for (size_t i = 0; i < nh; i++)
		if (want[i] && e->hosts[i].state == HOST_OK && !e->hosts[i].ssh)
			p->hosts[p->n++] = i;
	free(want);
	for (size_t i = 0; i < p->n; i++)
		e->hosts[p->hosts[i]].pre_pending = true;
	if (p->n < 1 || pthread_create(&e->pre_thread, NULL, preconnect_main, p) != 0) {
		/* (no thread: each host connects at its first play) */
		for (size_t i = 0; i < p->n; i++)
			e->hosts[p->hosts[i]].pre_pending = false;
		free(p->hosts);
		free(p);
		return;
	}
	e->pre_running = true;
}

static void preconnect_join(struct engine *e)
{
	if (!e->pre_running)
		return;
	pthread_join(e->pre_thread, NULL);
	e->pre_running = false;
}

/* any_errors_fatal plays connect every host of the batch first: one that
 * cannot be reached stops the play before any host has changed. */
static void connect_host(size_t i, void *ud)
{
	struct batch *b = ud;
	host_connect(b->e, &b->e->hosts[b->hosts[i]]);
}

static void play_host(size_t i, void *ud)
{
	struct batch *b = ud;
	struct engine *e = b->e;
	struct hostrun *h = &e->hosts[b->hosts[i]];
	bool local = h->idx == e->ts->n;
	if (atomic_load(&e->stop)) {
		h->interrupted = true;
		return;
	}
	if (host_connect(e, h) < 0)
		return;
	double t0 = clock_ms();
	if (ssh_host_hostkey_note(h->ssh))
		engine_log(e, h->name, "%s", ssh_host_hostkey_note(h->ssh));
	if (!h->said_session && ssh_host_reused(h->ssh)) {
		h->said_session = true;
		engine_log(e, h->name,
			   "the session ezk's agent kept from an earlier run (--persist)");
	}
	if (!h->L && !(h->L = luahost_new(h))) {
		host_fail(h, HOST_FAILED, h->msg ? h->msg : "cannot start Lua");
		engine_task(h, "lua library", "lua", "failed", h->msg, NULL, 0);
		goto out;
	}
	h->become = b->play->become_set ? b->play->become : !local && e->ts->t[h->idx].become;
	for (size_t r = 0; r < b->play->nroles && h->state == HOST_OK && !h->interrupted; r++) {
		const struct role *role = role_find(e, b->play->roles[r]);
		if (atomic_load(&e->stop)) {
			h->interrupted = true;
			break;
		}
		if (luahost_run_role(h, role) < 0) {
			if (h->interrupted) {
				/* stopped before a task by SIGINT/SIGTERM: not a failure */
			} else if (h->state == HOST_UNREACHABLE) {
				h->unreachable = 1;
				engine_task(h, "connection", "ssh", "unreachable",
					    msg_for_host(h->msg, h->name), NULL, 0);
			} else {
				h->state = HOST_FAILED;
			}
		}
	}
out:
	/* the fsyncs of the play's uploads' directories (ssh.h): its changes
	 * are durable when the play ends for this host */
	if (!local && ssh_host_connected(h->ssh) && ssh_host_sync_dirs(h->ssh) < 0)
		ezk_err_clear(); /* a lost host: its next play says so */
	h->ms += clock_ms() - t0;
}

/* ---- SIGINT and SIGTERM ----
 * During a run both are blocked in every thread, and one thread waits for
 * them: the first sets e->stop (no task starts after it: each host stops
 * before its next task, the running ones end or time out), the run writes
 * its recap, journal and log, and the command exits 128 + the signal. A
 * second one exits at once (every line written so far is on disk). Child
 * processes start with the signals unblocked again. */

static void child_unblock(void)
{
	sigset_t set;
	sigemptyset(&set);
	pthread_sigmask(SIG_SETMASK, &set, NULL);
}

static void atfork_once(void)
{
	pthread_atfork(NULL, NULL, child_unblock);
}

static void stop_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
}

static const char *sig_name(int sig)
{
	return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "a signal";
}

static void *sig_thread(void *arg)
{
	struct engine *e = arg;
	sigset_t set;
	stop_signals(&set);
	for (;;) {
		int sig = 0;
		if (sigwait(&set, &sig) != 0)
			continue;
		if (atomic_load(&e->ended))
			return NULL; /* (woken by engine_run, or a signal after the run) */
		if (atomic_load(&e->stop)) {
			engine_log(e, NULL, "%s again: exiting now, tasks still running",
				   sig_name(sig));
			static const char m[] = "ezk: interrupted again: exiting now\n";
			journal_write(STDERR_FILENO, m, sizeof m - 1);
			_exit(128 + sig);
		}
		atomic_store(&e->stop, sig);
		engine_log(e, NULL,
			   "%s: stopping: no task starts now; the running ones finish (again to "
			   "exit at once)",
			   sig_name(sig));
		if (!e->o.json) {
			char m[200];
			int n = snprintf(m, sizeof m,
					 "ezk: %s: stopping: no new task starts; waiting for the "
					 "running ones (%s again exits at once)\n",
					 sig_name(sig), sig == SIGINT ? "Ctrl-C" : "the signal");
			journal_write(STDERR_FILENO, m, (size_t)n);
		}
	}
	return NULL;
}

int engine_stopped(struct engine *e)
{
	return atomic_load(&e->stop);
}

int engine_complete(struct engine *e)
{
	return !e->o.check && !atomic_load(&e->stop) && !e->ntags && !e->nskip &&
	       e->ts->n == inventory_nhosts(e->c->inv);
}

static int run_steps(struct engine *e);

int engine_run(struct engine *e)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, atfork_once);
	sigset_t set, old;
	stop_signals(&set);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	pthread_t st;
	bool have_st = pthread_create(&st, NULL, sig_thread, e) == 0;
	int rc = run_steps(e);
	if (have_st) {
		/* no pthread_cancel: wake it with a signal it waits for */
		atomic_store(&e->ended, 1);
		pthread_kill(st, SIGINT);
		pthread_join(st, NULL);
	}
	/* (the signals stay blocked: one that comes now, while the caller
	 * records the run, is not lost half-way; the caller exits soon) */
	if (atomic_load(&e->stop))
		rc = 128 + atomic_load(&e->stop);
	return rc;
}

static int run_steps(struct engine *e)
{
	double t0 = clock_ms();
	size_t first = 0;
	if (e->o.resume) {
		const char *why = "";
		first = journal_resume(e, &why);
		if (first == e->nrun)
			engine_log(
			    e, NULL,
			    "--resume: every step was done with these hosts, config.yml, -e, "
			    "--limit and tags; running none");
		else
			engine_log(e, NULL, "--resume: starting at step %s (%s)",
				   e->steps[e->run_steps[first]].id, why);
		if (!e->o.json) {
			if (first == e->nrun)
				printf(
				    "resume: every step was done with this inventory and config\n");
			else
				printf("resume: starting at step %s: %s\n",
				       e->steps[e->run_steps[first]].id, why);
		}
	}
	bool fatal = false, nohosts = false;
	size_t k = first;
	preconnect_start(e, first);
	for (; k < e->nrun && !fatal && !atomic_load(&e->stop); k++) {
		const struct step *s = &e->steps[e->run_steps[k]];
		if (s->nplays == 0) {
			engine_log(e, NULL, "step %s %s: no plays yet, nothing to do", s->id,
				   s->alias ? s->alias : "");
			if (!e->o.json)
				printf("step %s %s: no plays yet, nothing to do\n", s->id,
				       s->alias ? s->alias : "");
			continue;
		}
		journal_step_start(e, s);
		bool cut = false;
		for (size_t i = 0; i < engine_nruns(e); i++) {
			e->hosts[i].in_play = false;
			e->hosts[i].step_id = s->id;
		}
		for (size_t p = 0; p < s->nplays && !fatal; p++) {
			if (atomic_load(&e->stop)) {
				cut = true;
				break;
			}
			const struct play *pl = &s->plays[p];
			const char *pattern = pl->pattern ? pl->pattern : pl->hosts;
			size_t *sel, nsel;
			if (!strcmp(pattern, "localhost") &&
			    inventory_host_find(e->c->inv, "localhost") < 0) {
				struct hostrun *lh = &e->hosts[e->ts->n];
				e->local_used = true;
				lh->step_id = s->id;
				if (lh->state == HOST_OK) {
					lh->in_play = true;
					struct batch lb = {
					    .e = e, .play = pl, .hosts = &lh->idx, .n = 1};
					pool_run(1, 1, play_host, &lb);
					/* the deploy node is the play's only host:
					 * no host left (what follows needs what it
					 * made: certificates, kubeconfigs) */
					if (lh->state != HOST_OK)
						fatal = nohosts = true;
				}
				continue;
			}
			if (targets_select_play(e->c, pattern, &sel, &nsel) < 0) {
				/* a pattern naming an empty group selects no hosts */
				nsel = 0;
				sel = NULL;
			}
			struct batch b = {
			    .e = e, .play = pl, .hosts = xcalloc(e->ts->n + 1, sizeof(size_t))};
			for (size_t i = 0; i < engine_nruns(e); i++) {
				struct hostrun *h = &e->hosts[i];
				bool in = false;
				for (size_t j = 0; j < nsel && !in; j++)
					in = sel[j] == h->inv;
				if (in && h->state == HOST_OK) {
					b.hosts[b.n++] = i;
					h->in_play = true;
				} else if (in && pl->any_errors_fatal) {
					/* every host of such a play, or none: one
					 * that failed earlier stops it too */
					h->in_play = true;
					engine_log(
					    e, h->name,
					    "left the run earlier: the play (any_errors_fatal) "
					    "does not start");
					fatal = true;
				}
				if (in && pl->run_once && b.n)
					break;
			}
			free(sel);
			size_t per = b.n;
			if (pl->serial)
				per = (size_t)pl->serial;
			else if (pl->serial_percent)
				per = (b.n * (size_t)pl->serial_percent + 99) / 100;
			if (per < 1)
				per = 1;
			for (size_t off = 0; off < b.n && !fatal; off += per) {
				/* (fatal already: a host of the play left the run earlier) */
				if (atomic_load(&e->stop)) {
					cut = true;
					break;
				}
				struct batch part = b;
				part.hosts = b.hosts + off;
				part.n = b.n - off < per ? b.n - off : per;
				if (pl->any_errors_fatal) {
					pool_run(part.n, e->o.forks, connect_host, &part);
					for (size_t i = 0; i < part.n; i++)
						if (e->hosts[part.hosts[i]].state != HOST_OK)
							fatal = true;
					if (fatal)
						break;
				}
				pool_run(part.n, e->o.forks, play_host, &part);
				if (pl->any_errors_fatal)
					for (size_t i = 0; i < part.n; i++)
						if (e->hosts[part.hosts[i]].state != HOST_OK)
							fatal = true;
			}
			/* Every host of the play failed: no host is left to
			 * go on with, and the run stops (Ansible's "NO MORE
			 * HOSTS LEFT"): later plays on other hosts would only
			 * fail on what this one did not make. */
			if (b.n && !fatal && !cut) {
				bool left = false;
				for (size_t i = 0; i < b.n && !left; i++)
					left = e->hosts[b.hosts[i]].state == HOST_OK ||
					       e->hosts[b.hosts[i]].interrupted;
				if (!left)
					fatal = nohosts = true;
			}
			free(b.hosts);
		}
		bool done = true;
		for (size_t i = 0; i < engine_nruns(e); i++) {
			if (e->hosts[i].in_play && e->hosts[i].state != HOST_OK)
				done = false;
			if (e->hosts[i].in_play && e->hosts[i].interrupted)
				cut = true;
		}
		journal_step(e, s, cut ? "interrupted" : done && !fatal ? "done" : "incomplete");
		if (fatal) {
			const char *why =
			    nohosts
				? "every host of a play failed or is unreachable (no hosts left)"
				: "a host of a play with any_errors_fatal failed or is unreachable";
			engine_log(e, NULL, "step %s: %s: the run stops", s->id, why);
			if (!e->o.json) {
				if (live_on(e))
					live_clear(e);
				printf("step %s %s: stopped: %s; no later play runs\n", s->id,
				       s->alias ? s->alias : "", why);
			}
		}
	}
	preconnect_join(e);
	int sig = atomic_load(&e->stop);
	if (sig) {
		struct buf left = BUF_INIT;
		for (; k < e->nrun; k++)
			buf_printf(&left, " %s", e->steps[e->run_steps[k]].id);
		engine_log(e, NULL, "interrupted by %s; steps not started:%s", sig_name(sig),
			   left.len ? left.s : " none");
		buf_free(&left);
	}
	if (fatal && !nohosts)
		for (size_t i = 0; i < engine_nruns(e); i++)
			if (e->hosts[i].state == HOST_OK && e->hosts[i].in_play)
				host_fail(&e->hosts[i], HOST_FAILED, "stopped: any_errors_fatal");
	double total = clock_ms() - t0;
	recap_print(e, total);
	int ok = 0, changed = 0, failed = 0, unreachable = 0;
	for (size_t i = 0; i < engine_nruns(e); i++) {
		ok += e->hosts[i].ok;
		changed += e->hosts[i].changed;
		failed += e->hosts[i].state == HOST_FAILED;
		unreachable += e->hosts[i].state == HOST_UNREACHABLE;
	}
	snprintf(e->summary, sizeof e->summary,
		 "%zu hosts: ok=%d changed=%d failed=%d unreachable=%d%s%s%s", engine_nruns(e), ok,
		 changed, failed, unreachable,
		 nohosts ? " (stopped: no hosts left)"
		 : fatal ? " (stopped: any_errors_fatal)"
			 : "",
		 sig ? " (interrupted by " : "", sig ? sig_name(sig) : "");
	if (sig)
		strncat(e->summary, ")", sizeof e->summary - strlen(e->summary) - 1);
	engine_log(e, NULL, "recap: %s", e->summary);
	return failed || unreachable ? EZK_FAILED : EZK_OK;
}

const char *engine_summary(struct engine *e)
{
	return e->summary;
}

int engine_changed(const struct engine *e)
{
	int n = 0;
	for (size_t i = 0; i < engine_nruns(e); i++)
		n += e->hosts[i].changed;
	return n;
}

const char *engine_confirm(const struct engine *e)
{
	for (size_t k = 0; k < e->nrun; k++)
		if (e->steps[e->run_steps[k]].confirm)
			return e->steps[e->run_steps[k]].confirm;
	return NULL;
}

/* lifecycle.c - the day-2 commands' run around a step (lifecycle.h). */
#include "lifecycle.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "check.h"
#include "cluster.h"
#include "err.h"
#include "fsutil.h"
#include "history.h"
#include "hostsedit.h"
#include "inventory.h"
#include "lock.h"
#include "value.h"

const struct opt lifecycle_options[] = {
    OPT('v', 'v', "verbose", NULL, "commands and their output too (secrets redacted)"),
    OPT_GROUP(conn_options),
    OPT_END,
};

struct parse_ud {
	struct lifecycle *lc;
	int (*got)(void *ud, int id, const char *value);
	void *ud;
};

static int got_opt(void *ud, int id, const char *value)
{
	struct parse_ud *p = ud;
	int r = p->got ? p->got(p->ud, id, value) : 0;
	if (r != 0)
		return r < 0 ? -1 : 0;
	if (id == 'v') {
		p->lc->verbose++;
		return 0;
	}
	return run_opts_parse(&p->lc->ro, id, value) < 0 ? -1 : 0;
}

int lifecycle_parse(struct lifecycle *lc, const struct cmd *c, int argc, char **argv,
		    const struct ezk_globals *g, int (*got)(void *ud, int id, const char *value),
		    void *ud)
{
	memset(lc, 0, sizeof *lc);
	lc->cmd = c;
	lc->g = g;
	lc->lock_fd = -1;
	run_opts_init(&lc->ro);
	struct parse_ud p = {lc, got, ud};
	int k = cmd_parse(c, argc, argv, got_opt, &p);
	if (k < 0)
		run_opts_free(&lc->ro);
	return k;
}

int lifecycle_refuse(struct lifecycle *lc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "ezk: %s: ", lc->cmd->name);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("; nothing was changed\n", stderr);
	return EZK_USAGE;
}

int lifecycle_open(struct lifecycle *lc, const char *cluster, bool allow_edits)
{
	if (cluster_open(lc->g->home, cluster, lc->ro.extra, &lc->cl) < 0)
		return -1;
	/* one run per cluster, setup's lock (lock.h): held until the process
	 * ends, when the kernel drops it */
	struct cluster_lock *lk = NULL;
	if (cluster_lock(lc->cl->dir, lc->cmd->name, &lk, NULL) != 0)
		return -1;
	/* one command at a time edits a cluster's hosts */
	char *lock = path_join(lc->cl->dir, "hosts.ezk-tmp-lock");
	lc->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	free(lock);
	if (lc->lock_fd < 0 || flock(lc->lock_fd, LOCK_EX | LOCK_NB) < 0)
		return ezk_fail("%s: another ezk command is changing this cluster now (%s)",
				lc->cl->dir, strerror(errno));
	if (file_read(lc->cl->hosts_path, &lc->hosts, &lc->hosts_len) < 0)
		return -1;
	char *applied = NULL;
	int a = history_applied(lc->cl->dir, &applied);
	free(applied);
	if (a != 0)
		return ezk_fail(
		    "no setup of cluster %s has succeeded yet ('ezk log %s'): %s works on "
		    "a cluster that 'ezk setup %s all' made",
		    cluster, cluster, lc->cmd->name, cluster);
	struct buf d = BUF_INIT;
	int changed = 0;
	if (history_diff(lc->cl->dir, &d, &changed) < 0) {
		buf_free(&d);
		return -1;
	}
	buf_free(&d);
	lc->pending = changed;
	if (changed && !allow_edits)
		return ezk_fail(
		    "hosts or config.yml have edits that no setup applied ('ezk diff "
		    "%s'): %s would apply them to the hosts it touches only; apply them "
		    "first ('ezk setup %s all'), or undo them",
		    cluster, lc->cmd->name, cluster);
	return 0;
}

/* ---- checks of the inventory the run uses ---- */

struct findings {
	int errors;
};

static void said(void *ud, bool error, const char *file, int line, const char *msg)
{
	struct findings *f = ud;
	struct buf b = BUF_INIT;
	check_format(&b, error, file, line, msg);
	fprintf(stderr, "%s\n", b.s);
	buf_free(&b);
	f->errors += error;
}

static void var_said(void *ud, const char *msg)
{
	said(ud, true, NULL, 0, msg);
}

/* Every variable of every host evaluates, and roles/check.lua finds no
 * error (the step's roles' checks run in engine_open). */
static int check_inventory(struct cluster *c, const char *roles_path)
{
	struct findings f = {0};
	for (size_t h = 0; h < inventory_nhosts(c->inv); h++) {
		struct value *all;
		vars_resolve_all(c, h, &all, var_said, &f);
		value_unref(all);
	}
	size_t nd = 0;
	char **dirs = split_list(roles_path, ':', &nd);
	for (size_t d = 0; d < nd; d++) {
		char *file = path_join(dirs[d], "check.lua");
		if (file_exists(file)) {
			struct check_say to = {said, &f};
			check_run(c, &file, 1, &to);
			free(file);
			break;
		}
		free(file);
	}
	strv_free(dirs, nd);
	return f.errors;
}

/* ---- the run ---- */

static void record(struct lifecycle *lc, const char *msg, bool applied)
{
	char *id = NULL;
	int c = history_record(lc->cl->dir, msg, &id);
	if (c >= 0 && applied)
		c = history_mark_applied(lc->cl->dir, id);
	if (c < 0)
		fprintf(stderr, "ezk: warning: history not recorded: %s\n", ezk_err_msg());
	free(id);
}

int lifecycle_run(struct lifecycle *lc, const struct lifecycle_op *op)
{
	const char *name = lc->cmd->name;
	struct value *extra = value_copy(lc->ro.extra);
	for (size_t i = 0; op->vars && i < value_len(op->vars); i++)
		value_map_set(extra, value_map_key(op->vars, i),
			      value_ref(value_map_val(op->vars, i)));
	char *tmp = NULL;
	struct cluster *c = NULL;
	int rc;
	if (op->run_hosts) {
		struct buf t = BUF_INIT;
		buf_printf(&t, "%s.ezk-tmp-%s", lc->cl->hosts_path, name);
		tmp = buf_detach(&t);
		struct stat st;
		mode_t mode = stat(lc->cl->hosts_path, &st) == 0 ? st.st_mode & 07777 : 0644;
		rc = file_write_atomic(tmp, op->run_hosts, strlen(op->run_hosts), mode);
		if (rc == 0)
			rc = cluster_load(tmp, lc->cl->config_path, extra, &c);
	} else {
		rc = cluster_open(lc->g->home, lc->cl->name, extra, &c);
	}
	value_unref(extra);
	if (rc < 0) {
		rc = lifecycle_refuse(lc, "%s", ezk_err_msg());
		goto out;
	}
	if (!c->name) {
		c->name = xstrdup(lc->cl->name);
		c->dir = xstrdup(lc->cl->dir);
	}
	char *path = engine_roles_path();
	int errors = check_inventory(c, path);
	if (errors) {
		free(path);
		rc = lifecycle_refuse(
		    lc, "%s refused: %d error%s in the inventory it would run with%s%s", op->what,
		    errors, errors == 1 ? "" : "s", tmp ? " " : "",
		    tmp ? "(with its edit of hosts)" : "");
		goto out;
	}
	struct engine_opts eo = {0};
	eo.steps = op->steps;
	eo.command = name;
	eo.roles_path = path;
	eo.forks = lc->ro.forks;
	eo.json = lc->ro.json;
	eo.verbose = lc->verbose;
	struct targets *ts = NULL;
	struct engine *e = NULL;
	if (targets_open(c, &lc->ro, lc->g->home, &ts) < 0 || engine_open(c, ts, &eo, &e) < 0) {
		rc = lifecycle_refuse(lc, "%s refused: %s", op->what, ezk_err_msg());
	} else {
		rc = engine_run(e);
		struct buf msg = BUF_INIT;
		if (rc == EZK_OK && op->new_hosts && tmp && !strcmp(op->new_hosts, op->run_hosts)) {
			if (rename(tmp, lc->cl->hosts_path) < 0) {
				rc = EZK_FAILED;
				fprintf(stderr, "ezk: %s: %s: %s\n", name, lc->cl->hosts_path,
					strerror(errno));
			} else {
				free(tmp);
				tmp = NULL;
				dir_sync(lc->cl->dir);
			}
		} else if (rc == EZK_OK && op->new_hosts) {
			struct stat st;
			mode_t mode =
			    stat(lc->cl->hosts_path, &st) == 0 ? st.st_mode & 07777 : 0644;
			if (file_write_atomic(lc->cl->hosts_path, op->new_hosts,
					      strlen(op->new_hosts), mode) < 0) {
				rc = EZK_FAILED;
				fprintf(stderr, "ezk: %s: %s\n", name, ezk_err_msg());
			}
		}
		if (rc == EZK_OK) {
			buf_printf(&msg, "%s: %s", op->what, engine_summary(e));
			record(lc, msg.s, !lc->pending);
			fprintf(stderr, "ezk: %s: done%s%s%s\n", op->what,
				op->new_hosts ? "; hosts updated" : "", op->done_note ? "; " : "",
				op->done_note ? op->done_note : "");
			if (lc->pending)
				fprintf(stderr,
					"ezk: %s: the edits no setup applied before it are still "
					"unapplied ('ezk diff %s')\n",
					name, lc->cl->name);
		} else {
			buf_printf(&msg, "%s failed: %s%s", op->what, engine_summary(e),
				   op->new_hosts ? " (hosts unchanged)" : "");
			record(lc, msg.s, false);
			if (engine_changed(e) == 0)
				fprintf(stderr, "ezk: %s failed%s: nothing was changed\n", op->what,
					op->new_hosts ? " (hosts unchanged)" : "");
			else
				fprintf(stderr,
					"ezk: %s failed%s: the hosts that failed are above; what "
					"succeeded stays, and running '%s' again finishes it\n",
					op->what, op->new_hosts ? " (hosts unchanged)" : "", name);
		}
		buf_free(&msg);
	}
	engine_close(e);
	targets_free(ts);
	free(path);
out:
	cluster_close(c);
	if (tmp)
		unlink(tmp);
	free(tmp);
	return rc;
}

int lifecycle_done(struct lifecycle *lc, int rc)
{
	cluster_close(lc->cl);
	lc->cl = NULL;
	free(lc->hosts);
	lc->hosts = NULL;
	if (lc->lock_fd >= 0)
		close(lc->lock_fd);
	lc->lock_fd = -1;
	run_opts_free(&lc->ro);
	return rc;
}

/* shlex reads a word with blanks or quotes only when it is quoted */
static void put_word(struct buf *out, const char *s)
{
	if (*s && !strpbrk(s, " \t\"'\\#;")) {
		buf_puts(out, s);
		return;
	}
	buf_putc(out, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			buf_puts(out, "'\"'\"'");
		else
			buf_putc(out, *s);
	}
	buf_putc(out, '\'');
}

static bool secret_name(const char *k, size_t n)
{
	for (const char *const *s = secret_var_names; *s; s++)
		if (strlen(*s) == n && !memcmp(*s, k, n))
			return true;
	return false;
}

int lifecycle_add(struct lifecycle *lc, int argc, char **argv, const char *group, const char *steps)
{
	const char *name = lc->cmd->name;
	struct buf text = BUF_INIT, line = BUF_INIT, what = BUF_INIT;
	struct value *hosts = value_list();
	buf_put(&text, lc->hosts, lc->hosts_len);
	int rc = EZK_OK;
	for (int i = 0; i < argc && rc == EZK_OK;) {
		const char *host = argv[i++];
		if (strchr(host, '=')) {
			rc = cmd_usage(lc->cmd, "'%s': a host variable comes after its host", host);
			break;
		}
		buf_reset(&line);
		buf_puts(&line, host);
		for (; i < argc && strchr(argv[i], '='); i++) {
			const char *eq = strchr(argv[i], '=');
			if (eq == argv[i] || secret_name(argv[i], (size_t)(eq - argv[i]))) {
				rc = eq == argv[i]
					 ? cmd_usage(lc->cmd, "'%s': no variable name", argv[i])
					 : lifecycle_refuse(lc,
							    "%.*s: a password is never given "
							    "in a command line; put it in "
							    "hosts, or use -k/-K",
							    (int)(eq - argv[i]), argv[i]);
				break;
			}
			buf_putc(&line, ' ');
			buf_put(&line, argv[i], (size_t)(eq - argv[i]) + 1);
			put_word(&line, eq + 1);
		}
		if (rc != EZK_OK)
			break;
		struct buf next = BUF_INIT;
		if (hosts_edit_add(text.s, text.len, group, line.s, lc->cl->hosts_path, &next) <
		    0) {
			buf_free(&next);
			rc = lifecycle_refuse(lc, "%s", ezk_err_msg());
			break;
		}
		buf_free(&text);
		text = next;
		value_list_push(hosts, value_str(host));
		buf_printf(&what, "%s%s", value_len(hosts) > 1 ? " " : "", host);
	}
	if (rc == EZK_OK && !value_len(hosts))
		rc = cmd_usage(lc->cmd, "which host?");
	if (rc == EZK_OK) {
		struct buf w = BUF_INIT;
		buf_printf(&w, "%s %s", name, what.s);
		struct value *vars = value_map();
		value_map_set(vars, "NODE_TO_ADD", value_ref(hosts));
		struct lifecycle_op op = {.steps = steps,
					  .vars = vars,
					  .run_hosts = text.s,
					  .new_hosts = text.s,
					  .what = w.s};
		rc = lifecycle_run(lc, &op);
		value_unref(vars);
		buf_free(&w);
	}
	value_unref(hosts);
	buf_free(&text);
	buf_free(&line);
	buf_free(&what);
	return rc;
}

int lifecycle_del(struct lifecycle *lc, const char *host, const char *const *groups,
		  const char *steps)
{
	struct buf text = BUF_INIT, removed = BUF_INIT;
	buf_put(&text, lc->hosts, lc->hosts_len);
	int rc = EZK_OK;
	for (size_t i = 0; groups[i] && rc == EZK_OK; i++) {
		if (i > 0 && !lifecycle_in_group(lc, host, groups[i]))
			continue;
		struct buf next = BUF_INIT;
		if (hosts_edit_remove(text.s, text.len, groups[i], host, lc->cl->hosts_path, &next,
				      &removed) < 0) {
			buf_free(&next);
			rc = lifecycle_refuse(lc, "%s", ezk_err_msg());
			break;
		}
		buf_free(&text);
		text = next;
	}
	if (rc == EZK_OK) {
		struct buf run = BUF_INIT, w = BUF_INIT;
		buf_put(&run, text.s, text.len);
		struct inventory *after = inventory_parse(text.s, text.len, lc->cl->hosts_path);
		if (after && inventory_host_find(after, host) < 0) {
			/* the run still reaches it: to drain, stop and clean it */
			if (run.len && run.s[run.len - 1] != '\n')
				buf_putc(&run, '\n');
			buf_printf(&run,
				   "\n# ezk %s: leaving the cluster (only while it runs)\n"
				   "[ezk_leaving]\n%s",
				   lc->cmd->name, removed.s);
		}
		inventory_free(after);
		buf_printf(&w, "%s %s", lc->cmd->name, host);
		struct value *vars = value_map(), *hosts = value_list();
		value_list_push(hosts, value_str(host));
		value_map_set(vars, "NODE_TO_DEL", hosts);
		struct lifecycle_op op = {.steps = steps,
					  .vars = vars,
					  .run_hosts = run.s,
					  .new_hosts = text.s,
					  .what = w.s};
		rc = lifecycle_run(lc, &op);
		value_unref(vars);
		buf_free(&run);
		buf_free(&w);
	}
	buf_free(&text);
	buf_free(&removed);
	return rc;
}

bool lifecycle_in_group(struct lifecycle *lc, const char *host, const char *group)
{
	long h = inventory_host_find(lc->cl->inv, host);
	if (h < 0)
		return false;
	struct value *names = inventory_group_names(lc->cl->inv, (size_t)h);
	bool in = false;
	for (size_t i = 0; i < value_len(names) && !in; i++)
		in = !strcmp(value_list_get(names, i)->u.str.s, group);
	value_unref(names);
	return in;
}

size_t lifecycle_group_size(struct lifecycle *lc, const char *group)
{
	long g = inventory_group_find(lc->cl->inv, group);
	if (g < 0)
		return 0;
	struct value *l = inventory_group_hosts_value(lc->cl->inv, (size_t)g);
	size_t n = value_len(l);
	value_unref(l);
	return n;
}

/*
 * engine.c - steps, plays, hosts in parallel, the report and the journal.
 * See engine.h; the Lua side is luahost.c and roles/lib/.
 */
#include <dirent.h>
#include <errno.h>
#include <lauxlib.h>
#include <lualib.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "check.h"
#include "cluster.h"
#include "cmd.h"
#include "engine-int.h"
#include "err.h"
#include "fsutil.h"
#include "inventory.h"
#include "pool.h"
#include "report.h"
#include "targets.h"
#include "value.h"
#include "workspace.h"
#include "yamlio.h"

/* The hosts of the run: the targets, and the deploy node once a play ran
 * on localhost. */
static size_t nruns(const struct engine *e)
{
	return e->ts->n + (e->local_used ? 1 : 0);
}

char *engine_roles_path(void)
{
	const char *env = getenv("EZK_ROLES");
	if (env && *env)
		return xstrdup(env);
	return path_join(workspace_data_dir(), "roles");
}

/* ---- files on the roles path ---- */

static char *find_on_path(struct engine *e, const char *rel, bool dir)
{
	for (size_t i = 0; i < e->npath; i++) {
		char *p = path_join(e->path[i], rel);
		if (dir ? dir_exists(p) : file_exists(p))
			return p;
		free(p);
	}
	return NULL;
}

static int dump_writer(lua_State *L, const void *p, size_t sz, void *ud)
{
	(void)L;
	buf_put(ud, p, sz);
	return 0;
}

/* Compile a Lua file into bytecode (in a scratch state). */
static int compile(const char *path, struct chunk *c)
{
	lua_State *L = luaL_newstate();
	c->name = xmalloc(strlen(path) + 2);
	sprintf(c->name, "@%s", path);
	char *src;
	size_t len;
	if (file_read(path, &src, &len) < 0) {
		lua_close(L);
		return -1;
	}
	int rc = luaL_loadbufferx(L, src, len, c->name, "t");
	free(src);
	if (rc != LUA_OK) {
		ezk_fail("%s", lua_tostring(L, -1));
		lua_close(L);
		return -1;
	}
	c->code = (struct buf)BUF_INIT;
	lua_dump(L, dump_writer, &c->code, 0);
	lua_close(L);
	return 0;
}

static void chunk_free(struct chunk *c)
{
	free(c->name);
	buf_free(&c->code);
}

/* ---- steps.lua ---- */

static char *field_str(lua_State *L, int t, const char *k)
{
	lua_getfield(L, t, k);
	char *s = lua_type(L, -1) == LUA_TSTRING || lua_type(L, -1) == LUA_TNUMBER
		      ? xstrdup(lua_tostring(L, -1))
		      : NULL;
	lua_pop(L, 1);
	return s;
}

static int load_play(lua_State *L, int t, struct play *p, const char *file, const char *sid,
		     size_t pi)
{
	p->hosts = field_str(L, t, "hosts");
	if (!p->hosts)
		return ezk_fail("%s: step %s, play %zu: no hosts", file, sid, pi + 1);
	lua_getfield(L, t, "roles");
	if (!lua_istable(L, -1)) {
		lua_pop(L, 1);
		return ezk_fail("%s: step %s, play %zu: no roles", file, sid, pi + 1);
	}
	p->nroles = (size_t)lua_rawlen(L, -1);
	p->roles = xcalloc(p->nroles + 1, sizeof *p->roles);
	for (size_t i = 0; i < p->nroles; i++) {
		lua_rawgeti(L, -1, (lua_Integer)i + 1);
		p->roles[i] = xstrdup(lua_isstring(L, -1) ? lua_tostring(L, -1) : "?");
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	lua_getfield(L, t, "any_errors_fatal");
	p->any_errors_fatal = lua_toboolean(L, -1);
	lua_pop(L, 1);
	lua_getfield(L, t, "run_once");
	p->run_once = lua_toboolean(L, -1);
	lua_pop(L, 1);
	lua_getfield(L, t, "become");
	p->become_set = !lua_isnil(L, -1);
	p->become = lua_toboolean(L, -1);
	lua_pop(L, 1);
	char *serial = field_str(L, t, "serial");
	if (serial) {
		char *end;
		long n = strtol(serial, &end, 10);
		if (n < 1 || (*end && strcmp(end, "%") != 0)) {
			free(serial);
			return ezk_fail("%s: step %s, play %zu: serial must be a count or N%%",
					file, sid, pi + 1);
		}
		if (*end == '%')
			p->serial_percent = (int)n;
		else
			p->serial = (int)n;
		free(serial);
	}
	return 0;
}

static int load_steps(struct engine *e)
{
	char *file = find_on_path(e, "steps.lua", false);
	if (!file)
		return ezk_fail("no steps.lua on the roles path (%s)", e->o.roles_path);
	lua_State *L = luaL_newstate();
	luaL_openlibs(L);
	int rc = -1;
	if (luaL_dofile(L, file) != LUA_OK) {
		ezk_fail("%s", lua_tostring(L, -1));
		goto out;
	}
	if (!lua_istable(L, -1)) {
		ezk_fail("%s: must return a table of steps", file);
		goto out;
	}
	e->nsteps = (size_t)lua_rawlen(L, -1);
	e->steps = xcalloc(e->nsteps + 1, sizeof *e->steps);
	for (size_t i = 0; i < e->nsteps; i++) {
		lua_rawgeti(L, -1, (lua_Integer)i + 1);
		struct step *s = &e->steps[i];
		s->id = field_str(L, -1, "id");
		s->alias = field_str(L, -1, "alias");
		if (!s->id) {
			lua_pop(L, 1);
			ezk_fail("%s: step %zu has no id", file, i + 1);
			goto out;
		}
		lua_getfield(L, -1, "steps");
		s->nsteps = lua_istable(L, -1) ? (size_t)lua_rawlen(L, -1) : 0;
		s->steps = xcalloc(s->nsteps + 1, sizeof *s->steps);
		for (size_t j = 0; j < s->nsteps; j++) {
			lua_rawgeti(L, -1, (lua_Integer)j + 1);
			s->steps[j] = xstrdup(lua_isstring(L, -1) ? lua_tostring(L, -1) : "?");
			lua_pop(L, 1);
		}
		lua_pop(L, 1);
		lua_getfield(L, -1, "plays");
		s->nplays = lua_istable(L, -1) ? (size_t)lua_rawlen(L, -1) : 0;
		s->plays = xcalloc(s->nplays + 1, sizeof *s->plays);
		for (size_t j = 0; j < s->nplays; j++) {
			lua_rawgeti(L, -1, (lua_Integer)j + 1);
			int bad = !lua_istable(L, -1)
				      ? ezk_fail("%s: step %s, play %zu is not a "
						 "table",
						 file, s->id, j + 1)
				      : load_play(L, lua_gettop(L), &s->plays[j], file, s->id, j);
			lua_pop(L, 1);
			if (bad) {
				lua_pop(L, 2);
				goto out;
			}
		}
		lua_pop(L, 2);
	}
	rc = 0;
out:
	lua_close(L);
	free(file);
	return rc;
}

static long step_index(struct engine *e, const char *name)
{
	for (size_t i = 0; i < e->nsteps; i++)
		if (!strcmp(e->steps[i].id, name) ||
		    (e->steps[i].alias && !strcmp(e->steps[i].alias, name)))
			return (long)i;
	return -1;
}

/* Step i, or the steps it is made of (steps.lua: `steps = {...}`), once
 * each in the order asked. */
static int add_run_step(struct engine *e, size_t i, int depth)
{
	const struct step *s = &e->steps[i];
	if (depth > 8)
		return ezk_fail("step %s: steps made of steps, more than 8 deep", s->id);
	for (size_t j = 0; j < s->nsteps; j++) {
		long k = step_index(e, s->steps[j]);
		if (k < 0)
			return ezk_fail("step %s: no step '%s' (steps.lua)", s->id, s->steps[j]);
		if (add_run_step(e, (size_t)k, depth + 1) < 0)
			return -1;
	}
	if (s->nsteps)
		return 0;
	for (size_t k = 0; k < e->nrun; k++)
		if (e->run_steps[k] == i)
			return 0;
	e->run_steps[e->nrun++] = i;
	return 0;
}

/* "02", "etcd", "01-03", "01,03", "all": ids and aliases of steps.lua, a
 * step made of others standing for them. */
static int select_steps(struct engine *e)
{
	e->run_steps = xcalloc(e->nsteps + 1, sizeof *e->run_steps);
	char *spec = xstrdup(e->o.steps), *save = NULL;
	int rc = 0;
	for (char *tok = strtok_r(spec, ",", &save); tok && rc == 0;
	     tok = strtok_r(NULL, ",", &save)) {
		char *dash = strchr(tok, '-');
		long i = step_index(e, tok);
		if (i >= 0) {
			rc = add_run_step(e, (size_t)i, 0);
		} else if (dash && dash != tok) {
			*dash = 0;
			long a = step_index(e, tok), b = step_index(e, dash + 1);
			if (a < 0 || b < 0 || a > b) {
				rc = ezk_fail("no steps %s-%s", tok, dash + 1);
				break;
			}
			for (long k = a; k <= b && rc == 0; k++)
				rc = add_run_step(e, (size_t)k, 0);
		} else {
			struct buf b = BUF_INIT;
			for (size_t k = 0; k < e->nsteps; k++)
				buf_printf(&b, "%s%s%s%s", k ? ", " : "", e->steps[k].id,
					   e->steps[k].alias ? " " : "",
					   e->steps[k].alias ? e->steps[k].alias : "");
			rc = ezk_fail("no step '%s'; the steps are: %s", tok, buf_cstr(&b));
			buf_free(&b);
		}
	}
	free(spec);
	if (rc == 0 && e->nrun == 0)
		rc = ezk_fail("no steps selected by '%s'", e->o.steps);
	return rc;
}

/* ---- roles and the library ---- */

static struct role *role_find(struct engine *e, const char *name)
{
	for (size_t i = 0; i < e->nroles; i++)
		if (!strcmp(e->roles[i].name, name))
			return &e->roles[i];
	return NULL;
}

static int load_role(struct engine *e, const char *name)
{
	if (role_find(e, name))
		return 0;
	/* "etcd" runs roles/etcd/main.lua; "etcd/start" runs roles/etcd/start.lua
	 * (one role's later phase, in another play: Ansible's tasks_from) */
	const char *slash = strchr(name, '/');
	char *folder = slash ? xstrndup(name, (size_t)(slash - name)) : xstrdup(name);
	const char *entry = slash ? slash + 1 : "main";
	if (!*folder || !*entry || strchr(entry, '/') || !strcmp(folder, "..") ||
	    !strcmp(entry, "..") || !strcmp(folder, ".")) {
		free(folder);
		return ezk_fail("bad role name '%s': a folder, or folder/entry", name);
	}
	bool defaults_loaded = false;
	for (size_t i = 0; i < e->nroles; i++)
		if (!strcmp(e->roles[i].folder, folder))
			defaults_loaded = true;
	char *dir = find_on_path(e, folder, true);
	if (!dir) {
		free(folder);
		return ezk_fail("no role '%s' on the roles path (%s)", name, e->o.roles_path);
	}
	e->roles = xrealloc(e->roles, (e->nroles + 1) * sizeof *e->roles);
	struct role *r = &e->roles[e->nroles];
	memset(r, 0, sizeof *r);
	r->name = xstrdup(name);
	r->folder = folder;
	r->dir = dir;
	struct buf file = BUF_INIT;
	buf_printf(&file, "%s.lua", entry);
	char *main = path_join(dir, file.s);
	buf_free(&file);
	int rc = compile(main, &r->main);
	free(main);
	if (rc < 0) {
		chunk_free(&r->main);
		free(r->name);
		free(r->folder);
		free(r->dir);
		return -1;
	}
	e->nroles++;
	if (defaults_loaded)
		return 0;
	/* defaults.yml: the lowest precedence, shared by every host (and by
	 * every entry of the role) */
	char *defs = path_join(dir, "defaults.yml");
	if (file_exists(defs)) {
		struct value *m = yaml_load_file(defs);
		if (!m) {
			free(defs);
			return -1;
		}
		if (m && m->type == V_MAP) {
			if (cluster_add_defaults(e->c, m) < 0) {
				value_unref(m);
				free(defs);
				return -1;
			}
		} else if (m && m->type != V_NULL) {
			value_unref(m);
			ezk_fail("%s: must be a map of variables", defs);
			free(defs);
			return -1;
		}
		value_unref(m);
	}
	free(defs);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	/* task.lua first: the others build on it */
	if (!strcmp(x, "task.lua") != !strcmp(y, "task.lua"))
		return !strcmp(x, "task.lua") ? -1 : 1;
	return strcmp(x, y);
}

static int load_lib(struct engine *e)
{
	char *dir = find_on_path(e, "lib", true);
	if (!dir)
		return ezk_fail("no lib/ on the roles path (%s)", e->o.roles_path);
	DIR *d = opendir(dir);
	if (!d) {
		ezk_fail("%s: %s", dir, strerror(errno));
		free(dir);
		return -1;
	}
	char **names = NULL;
	size_t n = 0;
	for (struct dirent *de; (de = readdir(d));) {
		size_t l = strlen(de->d_name);
		if (l > 4 && !strcmp(de->d_name + l - 4, ".lua")) {
			names = xrealloc(names, (n + 1) * sizeof *names);
			names[n++] = xstrdup(de->d_name);
		}
	}
	closedir(d);
	qsort(names, n, sizeof *names, cmp_str);
	e->lib = xcalloc(n + 1, sizeof *e->lib);
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		char *p = path_join(dir, names[i]);
		if (rc == 0 && compile(p, &e->lib[e->nlib]) == 0)
			e->nlib++;
		else
			rc = -1;
		free(p);
		free(names[i]);
	}
	free(names);
	free(dir);
	return rc;
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

/* ---- the run's log, with secrets redacted ---- */

static void add_secret(struct engine *e, const char *pw)
{
	if (!pw || strlen(pw) < 3) /* shorter would blank out ordinary text */
		return;
	for (size_t i = 0; i < e->nsecrets; i++)
		if (!strcmp(e->secrets[i], pw))
			return;
	e->secrets = xrealloc(e->secrets, (e->nsecrets + 1) * sizeof *e->secrets);
	e->secrets[e->nsecrets++] = pw;
}

/* Once per run: the passwords of -k/-K and of every host, without repeats
 * (an [all:vars] password would otherwise be searched for once per host in
 * every line). They stay owned by the targets. */
static void collect_secrets(struct engine *e)
{
	add_secret(e, e->ts->password);
	add_secret(e, e->ts->become_password);
	for (size_t i = 0; i < e->ts->n; i++) {
		add_secret(e, e->ts->t[i].password);
		add_secret(e, e->ts->t[i].become_password);
	}
}

static void redact(struct engine *e, struct buf *b)
{
	for (size_t k = 0; b->s && k < e->nsecrets; k++) {
		size_t sl = strlen(e->secrets[k]);
		for (char *p; (p = strstr(b->s, e->secrets[k]));)
			memset(p, '*', sl);
	}
}

int engine_file_prepare(struct engine *e, struct ssh_file *f)
{
	struct stat st;
	if (stat(f->path, &st) < 0)
		return ezk_fail("%s: %s", f->path, strerror(errno));
	long long mt = (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
	pthread_mutex_lock(&e->lock);
	for (size_t i = 0; i < e->nsums; i++) {
		struct file_sum *s = &e->sums[i];
		if (!strcmp(s->path, f->path) && s->size == (long long)st.st_size &&
		    s->mtime_ns == mt) {
			f->len = (size_t)s->size;
			memcpy(f->sha256, s->sha256, sizeof f->sha256);
			pthread_mutex_unlock(&e->lock);
			return 0;
		}
	}
	pthread_mutex_unlock(&e->lock);
	/* Hash outside the lock; two hosts may both hash a file the first time. */
	if (ssh_file_prepare(f) < 0)
		return -1;
	pthread_mutex_lock(&e->lock);
	e->sums = xrealloc(e->sums, (e->nsums + 1) * sizeof *e->sums);
	struct file_sum *s = &e->sums[e->nsums++];
	s->path = xstrdup(f->path);
	s->size = (long long)f->len;
	s->mtime_ns = mt;
	memcpy(s->sha256, f->sha256, sizeof s->sha256);
	pthread_mutex_unlock(&e->lock);
	return 0;
}

void engine_log(struct engine *e, const char *host, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	time_t t = time(NULL);
	struct tm tm;
	localtime_r(&t, &tm);
	char ts[32];
	strftime(ts, sizeof ts, "%H:%M:%S", &tm);
	buf_printf(&b, "%s %s ", ts, host ? host : "-");
	va_list ap;
	va_start(ap, fmt);
	char *msg = NULL;
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	buf_puts(&b, msg ? msg : "?");
	free(msg);
	buf_putc(&b, '\n');
	redact(e, &b);
	pthread_mutex_lock(&e->lock);
	if (e->log)
		fputs(b.s, e->log);
	if (e->o.verbose && !e->o.json)
		fputs(b.s, stderr);
	pthread_mutex_unlock(&e->lock);
	buf_free(&b);
}

static const char *step_role(struct hostrun *h)
{
	return h->role ? h->role->name : "-";
}

/* ---- the live display (a terminal, no --json, no -v) ----
 * Below the lines that stay (changed, failed), one line per host of the
 * current play: its role, its task now and its counts; with more than 20
 * hosts, one line for all. Redrawn at most 10 times a second. Caller holds
 * e->lock. */

static bool live(const struct engine *e)
{
	return e->tty && !e->o.json && !e->o.verbose;
}

static void live_clear(struct engine *e)
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
	for (size_t i = 0; i < nruns(e); i++) {
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
		for (size_t i = 0; i < nruns(e); i++) {
			struct hostrun *h = &e->hosts[i];
			if (!h->in_play)
				continue;
			printf("  %-15.15s ok %-3d changed %-3d failed %-2d %s %.50s\n", h->name,
			       h->ok, h->changed, h->failed + h->unreachable,
			       h->current[0] ? step_role(h) : "", h->current);
			e->live_lines++;
		}
	}
	fflush(stdout);
}

void engine_task_begin(struct hostrun *h, const char *task)
{
	snprintf(h->current, sizeof h->current, "%s", task);
	if (live(h->e)) {
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
		json_field_str(&line, "role", step_role(h));
		json_field_str(&line, "task", task);
		json_field_str(&line, "host", h->name);
		json_field_str(&line, "status", status);
		json_field_str(&line, "msg", msg ? msg : "");
		json_field_int(&line, "ms", (long long)ms);
		if (diff && e->o.diff)
			json_field_str(&line, "diff", diff);
		buf_puts(&line, "}\n");
	} else {
		buf_printf(&line, "[%s %s] %-15s %-8s %s", h->step_id, step_role(h), h->name,
			   status, task);
		if (msg && *msg && (strcmp(status, "ok") || warning))
			buf_printf(&line, ": %s", msg);
		buf_printf(&line, " (%.0f ms)\n", ms);
		if (diff && *diff && e->o.diff)
			buf_printf(&line, "%s%s", diff, diff[strlen(diff) - 1] == '\n' ? "" : "\n");
	}
	redact(e, &line);
	pthread_mutex_lock(&e->lock);
	if (e->log)
		fprintf(e->log, "%s", line.s);
	h->current[0] = 0;
	/* On a terminal, the ok and skipped lines would drown what matters. */
	bool show = !live(e) || warning || (strcmp(status, "ok") && strcmp(status, "skipped"));
	if (show) {
		if (live(e))
			live_clear(e);
		fputs(line.s, stdout);
	}
	if (live(e))
		live_draw(e, show);
	fflush(stdout);
	/* the slowest tasks, for the recap */
	for (int i = 0; i < 5; i++) {
		if (!e->slowest[i].task || ms > e->slowest[i].ms) {
			free(e->slowest[4].task);
			memmove(&e->slowest[i + 1], &e->slowest[i],
				(size_t)(4 - i) * sizeof e->slowest[0]);
			struct buf t = BUF_INIT;
			buf_printf(&t, "[%s %s] %s", h->step_id, step_role(h), task);
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

/* ---- open ---- */

static int open_log(struct engine *e)
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
	snprintf(name, sizeof name, "%s-setup-%.40s.log", stamp, e->o.steps);
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

/* ---- the roles' checks, before any host is touched ---- */

struct check_count {
	struct engine *e;
	int errors;
};

static void check_said(void *ud, bool error, const char *file, int line, const char *msg)
{
	struct check_count *cc = ud;
	struct buf b = BUF_INIT;
	check_format(&b, error, file, line, msg);
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
	struct check_count cc = {e, 0};
	struct check_say to = {check_said, &cc};
	int rc = check_run(e->c, files, n, &to);
	strv_free(files, n);
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
	pthread_mutex_init(&e->lock, NULL);
	pthread_mutexattr_t ra;
	pthread_mutexattr_init(&ra);
	pthread_mutexattr_settype(&ra, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&e->once_lock, &ra);
	pthread_mutexattr_destroy(&ra);
	e->path = split_list(o->roles_path, ':', &e->npath);
	e->tags = split_list(o->tags, ',', &e->ntags);
	e->skip_tags = split_list(o->skip_tags, ',', &e->nskip);
	e->tty = isatty(STDOUT_FILENO);
	if (load_steps(e) < 0 || select_steps(e) < 0 || load_lib(e) < 0)
		goto fail;
	for (size_t k = 0; k < e->nrun; k++) {
		struct step *s = &e->steps[e->run_steps[k]];
		for (size_t p = 0; p < s->nplays; p++)
			for (size_t r = 0; r < s->plays[p].nroles; r++)
				if (load_role(e, s->plays[p].roles[r]) < 0)
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
	collect_secrets(e);
	if (open_log(e) < 0 || run_checks(e) < 0)
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
	for (size_t i = 0; e->hosts && i <= e->ts->n; i++) {
		struct hostrun *h = &e->hosts[i];
		if (h->L)
			lua_close(h->L);
		ssh_host_free(h->ssh);
		free(h->msg);
	}
	free(e->hosts);
	for (size_t i = 0; i < e->nsteps; i++) {
		struct step *s = &e->steps[i];
		for (size_t p = 0; p < s->nplays; p++) {
			for (size_t r = 0; r < s->plays[p].nroles; r++)
				free(s->plays[p].roles[r]);
			free(s->plays[p].roles);
			free(s->plays[p].hosts);
		}
		free(s->plays);
		strv_free(s->steps, s->nsteps);
		free(s->id);
		free(s->alias);
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
	if (e->log)
		fclose(e->log);
	if (e->journal)
		fclose(e->journal);
	free(e->log_path);
	free(e->secrets);
	for (size_t i = 0; i < e->nsums; i++)
		free(e->sums[i].path);
	free(e->sums);
	for (size_t i = 0; i < e->nonces; i++) {
		free(e->onces[i].key);
		free(e->onces[i].val);
	}
	free(e->onces);
	pthread_mutex_destroy(&e->lock);
	pthread_mutex_destroy(&e->once_lock);
	free(e);
}

/* ---- ezk.once ---- */

/* under e->lock: a copy of key's value, or NULL */
static char *once_copy(struct engine *e, const char *key, size_t *len)
{
	for (size_t i = 0; i < e->nonces; i++)
		if (!strcmp(e->onces[i].key, key)) {
			*len = e->onces[i].len;
			return xstrndup(e->onces[i].val, e->onces[i].len);
		}
	return NULL;
}

char *engine_once_get(struct engine *e, const char *key, size_t *len)
{
	pthread_mutex_lock(&e->lock);
	char *v = once_copy(e, key, len);
	pthread_mutex_unlock(&e->lock);
	return v;
}

char *engine_once_put(struct engine *e, const char *key, const char *val, size_t len,
		      size_t *out_len)
{
	pthread_mutex_lock(&e->lock);
	char *v = once_copy(e, key, out_len);
	if (!v) {
		e->onces = xrealloc(e->onces, (e->nonces + 1) * sizeof *e->onces);
		struct once_val *o = &e->onces[e->nonces++];
		o->key = xstrdup(key);
		o->val = xstrndup(val, len);
		o->len = len;
		*out_len = len;
		v = xstrndup(val, len);
	}
	pthread_mutex_unlock(&e->lock);
	return v;
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

/* Connect (once per run: the session stays for later plays). */
static int host_connect(struct engine *e, struct hostrun *h)
{
	double t0 = clock_ms();
	bool local = h->idx == e->ts->n;
	if (!h->ssh)
		h->ssh = local ? ssh_host_new_local(&e->ts->conf, "localhost")
			       : ssh_host_new(&e->ts->conf, &e->ts->t[h->idx]);
	if (ssh_host_connect(h->ssh) < 0) {
		const char *m = msg_for_host(ezk_err_msg(), h->name);
		host_fail(h, HOST_UNREACHABLE, m);
		engine_task(h, "connect", "ssh", "unreachable", m, NULL, clock_ms() - t0);
		h->ms += clock_ms() - t0;
		return -1;
	}
	return 0;
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
	if (host_connect(e, h) < 0)
		return;
	double t0 = clock_ms();
	if (ssh_host_hostkey_note(h->ssh))
		engine_log(e, h->name, "%s", ssh_host_hostkey_note(h->ssh));
	if (!h->L && !(h->L = luahost_new(h))) {
		host_fail(h, HOST_FAILED, h->msg ? h->msg : "cannot start Lua");
		engine_task(h, "lua library", "lua", "failed", h->msg, NULL, 0);
		goto out;
	}
	h->become = b->play->become_set ? b->play->become : !local && e->ts->t[h->idx].become;
	for (size_t r = 0; r < b->play->nroles && h->state == HOST_OK; r++) {
		const struct role *role = role_find(e, b->play->roles[r]);
		if (luahost_run_role(h, role) < 0) {
			if (h->state == HOST_UNREACHABLE) {
				h->unreachable = 1;
				engine_task(h, "connection", "ssh", "unreachable",
					    msg_for_host(h->msg, h->name), NULL, 0);
			} else {
				h->state = HOST_FAILED;
			}
		}
	}
out:
	h->ms += clock_ms() - t0;
}

static void journal(struct engine *e, const char *run, const struct step *s, bool done)
{
	if (!e->journal || e->o.check)
		return;
	for (size_t i = 0; i < nruns(e); i++) {
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
static size_t resume_from(struct engine *e)
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

static void recap(struct engine *e, double total)
{
	size_t nh = nruns(e);
	if (live(e))
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
			buf_printf(&m, "%s %s: %s\n", e->hosts[i].name,
				   e->hosts[i].state == HOST_FAILED ? "failed" : "unreachable",
				   e->hosts[i].msg ? e->hosts[i].msg : "");
			redact(e, &m);
			fputs(m.s, stdout);
			buf_free(&m);
		}
	printf("%.1f s%s; log: %s\n", total / 1000,
	       e->o.check ? " (check mode: nothing changed)" : "", e->log_path ? e->log_path : "-");
	fflush(stdout);
}

int engine_run(struct engine *e)
{
	double t0 = clock_ms();
	char run[32];
	snprintf(run, sizeof run, "%ld", (long)time(NULL));
	size_t first = e->o.resume ? resume_from(e) : 0;
	if (e->o.resume) {
		if (first == e->nrun)
			engine_log(e, NULL, "--resume: every step already done; running none");
		else
			engine_log(e, NULL, "--resume: starting at step %s",
				   e->steps[e->run_steps[first]].id);
		if (!e->o.json)
			printf(first == e->nrun ? "resume: every step is done\n"
						: "resume: starting at step %s\n",
			       first < e->nrun ? e->steps[e->run_steps[first]].id : "");
	}
	bool fatal = false;
	for (size_t k = first; k < e->nrun && !fatal; k++) {
		const struct step *s = &e->steps[e->run_steps[k]];
		if (s->nplays == 0) {
			engine_log(e, NULL, "step %s %s: no plays yet, nothing to do", s->id,
				   s->alias ? s->alias : "");
			if (!e->o.json)
				printf("step %s %s: no plays yet, nothing to do\n", s->id,
				       s->alias ? s->alias : "");
			continue;
		}
		for (size_t i = 0; i < nruns(e); i++) {
			e->hosts[i].in_play = false;
			e->hosts[i].step_id = s->id;
		}
		for (size_t p = 0; p < s->nplays && !fatal; p++) {
			const struct play *pl = &s->plays[p];
			size_t *sel, nsel;
			if (!strcmp(pl->hosts, "localhost") &&
			    inventory_host_find(e->c->inv, "localhost") < 0) {
				struct hostrun *lh = &e->hosts[e->ts->n];
				e->local_used = true;
				lh->step_id = s->id;
				if (lh->state == HOST_OK) {
					lh->in_play = true;
					struct batch lb = {
					    .e = e, .play = pl, .hosts = &lh->idx, .n = 1};
					pool_run(1, 1, play_host, &lb);
					if (pl->any_errors_fatal && lh->state != HOST_OK)
						fatal = true;
				}
				continue;
			}
			if (targets_select_play(e->c, pl->hosts, &sel, &nsel) < 0) {
				/* a pattern naming an empty group selects no hosts */
				nsel = 0;
				sel = NULL;
			}
			struct batch b = {
			    .e = e, .play = pl, .hosts = xcalloc(e->ts->n + 1, sizeof(size_t))};
			for (size_t i = 0; i < nruns(e); i++) {
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
			free(b.hosts);
		}
		bool done = true;
		for (size_t i = 0; i < nruns(e); i++)
			if (e->hosts[i].in_play && e->hosts[i].state != HOST_OK)
				done = false;
		journal(e, run, s, done && !fatal);
		if (fatal) {
			engine_log(e, NULL,
				   "step %s: a host failed in a play with any_errors_fatal: "
				   "the run stops",
				   s->id);
			if (!e->o.json) {
				if (live(e))
					live_clear(e);
				printf(
				    "step %s %s: stopped: a host of a play with any_errors_fatal "
				    "failed or is unreachable; no later play runs\n",
				    s->id, s->alias ? s->alias : "");
			}
		}
	}
	if (fatal)
		for (size_t i = 0; i < nruns(e); i++)
			if (e->hosts[i].state == HOST_OK && e->hosts[i].in_play)
				host_fail(&e->hosts[i], HOST_FAILED, "stopped: any_errors_fatal");
	double total = clock_ms() - t0;
	recap(e, total);
	int ok = 0, changed = 0, failed = 0, unreachable = 0;
	for (size_t i = 0; i < nruns(e); i++) {
		ok += e->hosts[i].ok;
		changed += e->hosts[i].changed;
		failed += e->hosts[i].state == HOST_FAILED;
		unreachable += e->hosts[i].state == HOST_UNREACHABLE;
	}
	snprintf(e->summary, sizeof e->summary,
		 "%zu hosts: ok=%d changed=%d failed=%d unreachable=%d%s", nruns(e), ok, changed,
		 failed, unreachable, fatal ? " (stopped: any_errors_fatal)" : "");
	engine_log(e, NULL, "recap: %s", e->summary);
	return failed || unreachable ? EZK_FAILED : EZK_OK;
}

const char *engine_summary(struct engine *e)
{
	return e->summary;
}

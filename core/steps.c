/*
 * steps.c - roles/steps.lua: the steps, their plays, and which steps a run
 * selects ("02", "01-03", "01,03", "etcd", "all"). engine-int.h.
 */
#include <lauxlib.h>
#include <lualib.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "engine-int.h"
#include "err.h"
#include "inventory.h"
#include "tmpl/template.h"

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

int steps_load(struct engine *e)
{
	char *file = roles_find(e, "steps.lua", false);
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
		s->command = field_str(L, -1, "command");
		if (!s->id) {
			lua_pop(L, 1);
			ezk_fail("%s: step %zu has no id", file, i + 1);
			goto out;
		}
		/* an id or alias named twice would run whichever comes first */
		for (size_t k = 0; k < i; k++) {
			const struct step *o = &e->steps[k];
			const char *dup = !strcmp(o->id, s->id)			 ? s->id
					  : s->alias && !strcmp(o->id, s->alias) ? s->alias
					  : o->alias && !strcmp(o->alias, s->id) ? s->id
					  : o->alias && s->alias && !strcmp(o->alias, s->alias)
					      ? s->alias
					      : NULL;
			if (dup) {
				lua_pop(L, 1);
				ezk_fail("%s: steps %zu and %zu are both named '%s'", file, k + 1,
					 i + 1, dup);
				goto out;
			}
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

/* A step that steps.lua gives to a command (`command = "add-node"`) needs
 * what that command prepares (the hosts it adds, the inventory it edits):
 * it runs under that command only. */
static int command_ok(struct engine *e, const struct step *s)
{
	const char *mine = e->o.command;
	if (!s->command)
		return 0;
	if (mine && !strcmp(mine, s->command))
		return 0;
	return ezk_fail("step %s%s%s is run by 'ezk %s', not by %s", s->id, s->alias ? " " : "",
			s->alias ? s->alias : "", s->command, mine ? mine : "setup");
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
	if (command_ok(e, s) < 0)
		return -1;
	for (size_t k = 0; k < e->nrun; k++)
		if (e->run_steps[k] == i)
			return 0;
	e->run_steps[e->nrun++] = i;
	return 0;
}

/* Variables of the deploy node (config.yml, -e): what a play's hosts
 * pattern may name, as kubeasz's "{{ NODE_TO_ADD }}". */
static int deploy_lookup(void *ud, const char *name, size_t len, struct value **out)
{
	struct engine *e = ud;
	char *n = xstrndup(name, len);
	int rc = vars_get(e->c, inventory_nhosts(e->c->inv), n, out);
	free(n);
	return rc;
}

/* Render the {{ templates }} in the hosts of the selected steps' plays,
 * once, before any host is touched. */
static int render_patterns(struct engine *e)
{
	for (size_t k = 0; k < e->nrun; k++) {
		struct step *s = &e->steps[e->run_steps[k]];
		for (size_t p = 0; p < s->nplays; p++) {
			struct play *pl = &s->plays[p];
			if (!strstr(pl->hosts, "{{") || pl->pattern)
				continue;
			struct tmpl *t = tmpl_compile(pl->hosts, strlen(pl->hosts), "steps.lua", 0);
			struct buf out = BUF_INIT;
			struct tmpl_env env = {deploy_lookup, e};
			int rc = t ? tmpl_render(t, &env, &out) : -1;
			tmpl_free(t);
			if (rc < 0) {
				buf_free(&out);
				return ezk_fail_prefix("step %s, play %zu: hosts '%s'", s->id,
						       p + 1, pl->hosts);
			}
			pl->pattern = xstrdup(buf_cstr(&out));
			buf_free(&out);
		}
	}
	return 0;
}

/* "02", "etcd", "01-03", "01,03", "all": ids and aliases of steps.lua, a
 * step made of others standing for them. */
int steps_select(struct engine *e)
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
	if (rc == 0)
		rc = render_patterns(e);
	return rc;
}

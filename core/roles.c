/*
 * roles.c - roles and the module library on the roles path: found, compiled to
 * bytecode once per run (every host state loads the bytecode), their
 * defaults.yml added to the cluster's variables. engine-int.h.
 */
#include <dirent.h>
#include <errno.h>
#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "engine-int.h"
#include "err.h"
#include "fsutil.h"
#include "value.h"
#include "workspace.h"
#include "yamlio.h"

char *engine_roles_path(void)
{
	const char *env = getenv("EZK_ROLES");
	if (env && *env)
		return xstrdup(env);
	return path_join(workspace_data_dir(), "roles");
}

/* ---- files on the roles path ---- */

char *roles_find(struct engine *e, const char *rel, bool dir)
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

void chunk_free(struct chunk *c)
{
	free(c->name);
	buf_free(&c->code);
}

/* ---- roles and the library ---- */

struct role *role_find(struct engine *e, const char *name)
{
	for (size_t i = 0; i < e->nroles; i++)
		if (!strcmp(e->roles[i].name, name))
			return &e->roles[i];
	return NULL;
}

int role_load(struct engine *e, const char *name)
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
	char *dir = roles_find(e, folder, true);
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

int lib_load(struct engine *e)
{
	char *dir = roles_find(e, "lib", true);
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

/*
 * luahost.c - the host API Lua modules see as `ezk` (roles/lib/README.md).
 *
 * One lua_State per host worker, made once per run. The state's registry
 * holds the struct hostrun it belongs to; every ezk.* function finds its
 * host there, so no Lua code can reach another host's session.
 */
#include <errno.h>
#include <lauxlib.h>
#include <lualib.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "clock.h"
#include "cluster.h"
#include "engine-int.h"
#include "imgsrv.h"
#include "err.h"
#include "facts.h"
#include "fsutil.h"
#include "luadeploy.h"
#include "luanet.h"
#include "quote.h"
#include "luarx.h"
#include "luavalue.h"
#include "pki.h"
#include "targets.h"
#include "tmpl/template.h"
#include "value.h"

static const char HOST_KEY[] = "ezk.host";

static struct hostrun *host_of(lua_State *L)
{
	lua_getfield(L, LUA_REGISTRYINDEX, HOST_KEY);
	struct hostrun *h = lua_touserdata(L, -1);
	lua_pop(L, 1);
	return h;
}

/* ---- helpers ---- */

static const char *opt_str(lua_State *L, int t, const char *k)
{
	lua_getfield(L, t, k);
	const char *s = lua_isstring(L, -1) ? lua_tostring(L, -1) : NULL;
	lua_pop(L, 1); /* the string stays alive in the table */
	return s;
}

static bool opt_bool(lua_State *L, int t, const char *k, bool dflt)
{
	lua_getfield(L, t, k);
	bool b = lua_isnil(L, -1) ? dflt : lua_toboolean(L, -1);
	lua_pop(L, 1);
	return b;
}

static int opt_mode(lua_State *L, int t, const char *k)
{
	lua_getfield(L, t, k);
	int m = -1;
	if (lua_isinteger(L, -1)) /* 0644 in Lua is decimal 644: read its digits as octal */
		m = (int)strtol(lua_tostring(L, -1), NULL, 8);
	else if (lua_isstring(L, -1))
		m = (int)strtol(lua_tostring(L, -1), NULL, 8);
	lua_pop(L, 1);
	return m;
}

/* The host is gone: mark it and raise (the role's pcall ends here). */
static int lost(lua_State *L, struct hostrun *h)
{
	h->state = HOST_UNREACHABLE;
	return luaL_error(L, "host unreachable: %s", ezk_err_msg());
}

/* ---- ezk.* ---- */

/* ezk.exec(script, {stdin | stdin_file, env, cwd, timeout, become})
 * stdin_file: a regular file of the deploy node streamed as the command's
 * stdin, never held in memory nor written on the host (ssh.h: in_path), so
 * a command such as `ctr images import -` takes an archive straight from
 * the deploy node; a file missing here is the role's error, not a lost host. */
static int l_exec(lua_State *L)
{
	struct hostrun *h = host_of(L);
	const char *script = luaL_checkstring(L, 1);
	struct ssh_cmd cmd = {.script = script, .become = h->become, .no_become = !h->become};
	const char *env[64] = {0};
	struct buf envbuf[64];
	int nenv = 0;
	if (lua_istable(L, 2)) {
		size_t inlen = 0;
		lua_getfield(L, 2, "stdin");
		if (lua_isstring(L, -1)) {
			cmd.in = lua_tolstring(L, -1, &inlen);
			cmd.in_len = inlen;
		}
		lua_pop(L, 1);
		const char *inf = opt_str(L, 2, "stdin_file");
		if (inf && cmd.in)
			return luaL_error(L, "exec: stdin and stdin_file are exclusive");
		if (inf) {
			struct stat st;
			if (stat(inf, &st) < 0)
				return luaL_error(L, "exec: stdin_file %s: %s", inf,
						  strerror(errno));
			if (!S_ISREG(st.st_mode))
				return luaL_error(L, "exec: stdin_file %s: not a regular file",
						  inf);
			cmd.in_path = inf;
			cmd.in_len = (size_t)st.st_size;
		}
		cmd.cwd = opt_str(L, 2, "cwd");
		/* lib: shell functions the script calls, sent once per session
		 * under lib_name (ssh.h: struct ssh_cmd) */
		cmd.lib = opt_str(L, 2, "lib");
		cmd.lib_name = opt_str(L, 2, "lib_name");
		if (!cmd.lib_name)
			cmd.lib = NULL;
		/* the stat cache (ssh.h): read_only, or the path whose stat
		 * the lib reads with ezk_sc_get */
		cmd.stat_path = opt_str(L, 2, "stat_path");
		lua_getfield(L, 2, "read_only");
		cmd.read_only = lua_toboolean(L, -1);
		lua_pop(L, 1);
		lua_getfield(L, 2, "timeout");
		if (lua_isnumber(L, -1))
			cmd.timeout_ms = (int)(lua_tonumber(L, -1) * 1000);
		lua_pop(L, 1);
		lua_getfield(L, 2, "become");
		if (!lua_isnil(L, -1)) {
			cmd.become = lua_toboolean(L, -1);
			cmd.no_become = !cmd.become;
		}
		lua_pop(L, 1);
		lua_getfield(L, 2, "env");
		if (lua_istable(L, -1)) {
			lua_pushnil(L);
			while (lua_next(L, -2) && nenv < 63) {
				if (lua_type(L, -2) == LUA_TSTRING && lua_isstring(L, -1)) {
					envbuf[nenv] = (struct buf)BUF_INIT;
					buf_printf(&envbuf[nenv], "%s=%s", lua_tostring(L, -2),
						   lua_tostring(L, -1));
					env[nenv] = envbuf[nenv].s;
					nenv++;
				}
				lua_pop(L, 1);
			}
		}
		lua_pop(L, 1);
	}
	cmd.env = env;
	if (h->e->o.verbose)
		engine_log(h->e, h->name, "exec%s: %s", cmd.become ? " (become)" : "", script);
	struct ssh_result r = SSH_RESULT_INIT;
	int rc = ssh_exec(h->ssh, &cmd, &r);
	for (int i = 0; i < nenv; i++)
		buf_free(&envbuf[i]);
	if (rc < 0) {
		ssh_result_free(&r);
		return lost(L, h);
	}
	if (h->e->o.verbose)
		engine_log(h->e, h->name, "rc=%d stdout=%.2000s stderr=%.2000s", r.status,
			   buf_cstr(&r.out), buf_cstr(&r.err));
	lua_createtable(L, 0, 4);
	lua_pushinteger(L, r.status);
	lua_setfield(L, -2, "rc");
	lua_pushlstring(L, r.out.s ? r.out.s : "", r.out.len);
	lua_setfield(L, -2, "stdout");
	lua_pushlstring(L, r.err.s ? r.err.s : "", r.err.len);
	lua_setfield(L, -2, "stderr");
	lua_pushboolean(L, r.timed_out);
	lua_setfield(L, -2, "timed_out");
	ssh_result_free(&r);
	return 1;
}

/* ezk.upload{dest, content | src, mode, owner, group, mkdir, check, known}
 * -> changed (known: {size, mode} of dest as the module just read it) */
static int l_upload(lua_State *L)
{
	struct hostrun *h = host_of(L);
	luaL_checktype(L, 1, LUA_TTABLE);
	const char *dest = opt_str(L, 1, "dest");
	if (!dest)
		return luaL_error(L, "upload: dest is required");
	struct ssh_file f = {0};
	lua_getfield(L, 1, "content");
	if (lua_isstring(L, -1)) {
		f.data = lua_tolstring(L, -1, &f.len);
	}
	lua_pop(L, 1); /* the table keeps the string alive */
	f.path = f.data ? NULL : opt_str(L, 1, "src");
	if (!f.data && !f.path)
		return luaL_error(L, "upload: content or src is required");
	struct ssh_upload_opts o = {.mode = opt_mode(L, 1, "mode"),
				    .owner = opt_str(L, 1, "owner"),
				    .group = opt_str(L, 1, "group"),
				    .become = opt_bool(L, 1, "become", h->become),
				    .mkdir = opt_bool(L, 1, "mkdir", false),
				    .dry_run = opt_bool(L, 1, "check", false)};
	lua_getfield(L, 1, "known"); /* {size, mode}: dest as just read */
	if (lua_istable(L, -1)) {
		lua_getfield(L, -1, "size");
		lua_getfield(L, -2, "mode");
		if (lua_isinteger(L, -2) && lua_isinteger(L, -1) && lua_tointeger(L, -2) >= 0) {
			o.known = true;
			o.known_size = (unsigned long long)lua_tointeger(L, -2);
			o.known_mode = (int)lua_tointeger(L, -1);
		}
		lua_pop(L, 2);
	}
	lua_pop(L, 1);
	if ((f.path ? engine_file_prepare(h->e, &f) : ssh_file_prepare(&f)) < 0)
		return luaL_error(L, "%s", ezk_err_msg());
	bool changed = false, sent = false;
	if (ssh_upload(h->ssh, &f, dest, &o, &changed, &sent) < 0) {
		if (!ssh_host_connected(h->ssh))
			return lost(L, h);
		lua_pushnil(L);
		lua_pushstring(L, ezk_err_msg());
		return 2;
	}
	lua_pushboolean(L, changed);
	return 1;
}

/* ezk.fs{ {OP, PATH[, TO | MODE]}, ... } -> results, or nil: file
 * operations through the host's SFTP server, no process on the host
 * (ssh.h, ssh_fs). OP: "lstat", "read", "readlink", "mkdir" (MODE),
 * "chmod" (MODE), "symlink" (PATH the link, TO its target), "rename" (PATH
 * over TO). Each result: {status = 0 | the server's code (2: no such file)
 * | -1 (not done), msg, kind = "file" | "directory" | "link" | "other",
 * mode (number), uid, gid, size, mtime, data, target}. nil (and why): no
 * SFTP for this host (the deploy node, a target that becomes, EZK_SFTP=0,
 * no server) or a file too big to read so: the caller uses the shell. */
static int l_fs(lua_State *L)
{
	struct hostrun *h = host_of(L);
	luaL_checktype(L, 1, LUA_TTABLE);
	static const char *const names[] = {"lstat", "read",	"readlink", "mkdir",
					    "chmod", "symlink", "rename",   NULL};
	lua_Integer n = luaL_len(L, 1);
	if (n < 1 || n > 4096)
		return luaL_error(L, "fs: 1 to 4096 operations");
	if (h->become) {
		lua_pushnil(L);
		lua_pushliteral(L, "the target becomes another user");
		return 2;
	}
	struct ssh_fs_req *q = xcalloc((size_t)n, sizeof *q);
	for (lua_Integer i = 1; i <= n; i++) {
		lua_geti(L, 1, i);
		if (!lua_istable(L, -1)) {
			free(q);
			return luaL_error(L, "fs: operation %d is not a table", (int)i);
		}
		lua_geti(L, -1, 1);
		int op = luaL_checkoption(L, -1, NULL, names);
		lua_pop(L, 1);
		lua_geti(L, -1, 2);
		const char *path = lua_tostring(L, -1); /* kept alive by the table */
		lua_pop(L, 1);
		lua_geti(L, -1, 3);
		const char *to = lua_isstring(L, -1) ? lua_tostring(L, -1) : NULL;
		lua_pop(L, 1);
		lua_pop(L, 1);
		if (!path || path[0] != '/' ||
		    ((op == SSH_FS_SYMLINK || op == SSH_FS_RENAME) && !to) ||
		    ((op == SSH_FS_MKDIR || op == SSH_FS_CHMOD) && (!to || !*to))) {
			free(q);
			return luaL_error(L, "fs: operation %d: an absolute path %s", (int)i,
					  op == SSH_FS_MKDIR || op == SSH_FS_CHMOD ? "and a mode"
					  : op == SSH_FS_SYMLINK || op == SSH_FS_RENAME
					      ? "and a second one"
					      : "");
		}
		q[i - 1].op = (enum ssh_fs_op)op;
		q[i - 1].path = path;
		if (op == SSH_FS_MKDIR || op == SSH_FS_CHMOD)
			q[i - 1].mode = (unsigned)strtoul(to, NULL, 8) & 07777;
		else
			q[i - 1].to = to;
	}
	struct ssh_fs_res *res = xcalloc((size_t)n, sizeof *res);
	int rc = ssh_fs(h->ssh, q, (size_t)n, res);
	if (h->e->o.verbose)
		engine_log(h->e, h->name, "sftp: %d operation%s from %s%s: %s", (int)n,
			   n > 1 ? "s" : "", names[q[0].op], n > 1 ? ", ..." : "", q[0].path);
	free(q);
	if (rc < 0) {
		free(res);
		return lost(L, h);
	}
	if (rc == 1) {
		free(res);
		lua_pushnil(L);
		lua_pushliteral(L, "no SFTP");
		return 2;
	}
	static const char kinds[] = "fdlo";
	static const char *const kind_names[] = {"file", "directory", "link", "other"};
	lua_createtable(L, (int)n, 0);
	for (lua_Integer i = 0; i < n; i++) {
		struct ssh_fs_res *r = &res[i];
		lua_createtable(L, 0, 8);
		lua_pushinteger(L, r->status);
		lua_setfield(L, -2, "status");
		if (r->msg) {
			lua_pushstring(L, r->msg);
			lua_setfield(L, -2, "msg");
		}
		const char *k = r->kind ? strchr(kinds, r->kind) : NULL;
		if (k) {
			lua_pushstring(L, kind_names[k - kinds]);
			lua_setfield(L, -2, "kind");
			lua_pushinteger(L, r->mode);
			lua_setfield(L, -2, "mode");
			lua_pushinteger(L, (lua_Integer)r->uid);
			lua_setfield(L, -2, "uid");
			lua_pushinteger(L, (lua_Integer)r->gid);
			lua_setfield(L, -2, "gid");
			lua_pushinteger(L, (lua_Integer)r->size);
			lua_setfield(L, -2, "size");
			lua_pushinteger(L, r->mtime);
			lua_setfield(L, -2, "mtime");
		}
		if (r->data) {
			lua_pushlstring(L, r->data, r->len);
			lua_setfield(L, -2, "data");
		}
		if (r->target) {
			lua_pushstring(L, r->target);
			lua_setfield(L, -2, "target");
		}
		lua_seti(L, -2, i + 1);
	}
	ssh_fs_res_free(res, (size_t)n);
	free(res);
	return 1;
}

/* ezk.fetch(remote, local) */
static int l_fetch(lua_State *L)
{
	struct hostrun *h = host_of(L);
	const char *remote = luaL_checkstring(L, 1), *local = luaL_checkstring(L, 2);
	bool missing = false;
	char *parent = xstrdup(local), *slash = strrchr(parent, '/');
	if (slash && slash != parent) {
		*slash = 0;
		if (mkdir_p(parent, 0755) < 0) {
			free(parent);
			lua_pushnil(L);
			lua_pushstring(L, ezk_err_msg());
			return 2;
		}
	}
	free(parent);
	if (ssh_fetch(h->ssh, remote, local, -1, h->become, &missing) < 0) {
		if (!missing && !ssh_host_connected(h->ssh))
			return lost(L, h);
		lua_pushnil(L);
		lua_pushstring(L, ezk_err_msg());
		return 2;
	}
	lua_pushboolean(L, 1);
	return 1;
}

static int l_read_local(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	char *data;
	size_t len;
	if (file_read(path, &data, &len) < 0) {
		lua_pushnil(L);
		lua_pushstring(L, ezk_err_msg());
		return 2;
	}
	lua_pushlstring(L, data, len);
	free(data);
	return 1;
}

/* ezk.stat_local(path): nil, or {type = "file" | "directory" | "other",
 * size, mode = "0644"} of a path on the deploy node, links followed: how
 * roles ask whether a file of the deploy node is there (ezk.read_local
 * reads it) */
static int l_stat_local(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	struct stat st;
	if (stat(path, &st) < 0) {
		lua_pushnil(L);
		return 1;
	}
	lua_createtable(L, 0, 3);
	lua_pushstring(L, S_ISREG(st.st_mode)	? "file"
			  : S_ISDIR(st.st_mode) ? "directory"
						: "other");
	lua_setfield(L, -2, "type");
	lua_pushinteger(L, (lua_Integer)st.st_size);
	lua_setfield(L, -2, "size");
	char mode[8];
	snprintf(mode, sizeof mode, "%04o", (unsigned)(st.st_mode & 07777));
	lua_pushstring(L, mode);
	lua_setfield(L, -2, "mode");
	return 1;
}

/* ezk.facts(): the host's facts (facts.h), probed once per run */
static int l_facts(lua_State *L)
{
	struct hostrun *h = host_of(L);
	if (lua_getfield(L, LUA_REGISTRYINDEX, "ezk.facts") == LUA_TTABLE)
		return 1;
	lua_pop(L, 1);
	/* the shell runs it itself: reads of /proc, /sys and os-release, no
	 * command that could hang (so no timeout, which would need a subshell) */
	struct ssh_cmd cmd = {.script = "ezk_facts",
			      .lib = facts_lib,
			      .lib_name = "ezk_facts",
			      .read_only = true,
			      .no_become = true};
	struct ssh_result r = SSH_RESULT_INIT;
	if (ssh_exec(h->ssh, &cmd, &r) < 0) {
		ssh_result_free(&r);
		return lost(L, h);
	}
	struct value *f = facts_parse(buf_cstr(&r.out));
	ssh_result_free(&r);
	luav_push(L, f);
	value_unref(f);
	lua_pushvalue(L, -1);
	lua_setfield(L, LUA_REGISTRYINDEX, "ezk.facts");
	return 1;
}

/* ezk.sha256_file(path): hex, or nil and a message (read in chunks) */
static int l_sha256_file(lua_State *L)
{
	struct ssh_file f = {.path = luaL_checkstring(L, 1)};
	if (engine_file_prepare(host_of(L)->e, &f) < 0) {
		lua_pushnil(L);
		lua_pushstring(L, ezk_err_msg());
		return 2;
	}
	lua_pushstring(L, f.sha256);
	return 1;
}

static int l_sha256(lua_State *L)
{
	size_t n;
	const char *s = luaL_checklstring(L, 1, &n);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	EVP_Digest(s, n, md, &mdlen, EVP_sha256(), NULL);
	char hex[2 * EVP_MAX_MD_SIZE + 1];
	for (unsigned i = 0; i < mdlen; i++)
		sprintf(hex + 2 * i, "%02x", md[i]);
	lua_pushstring(L, hex);
	return 1;
}

struct tmpl_lookup {
	struct hostrun *h;
	struct value *extra;
};

static int tmpl_lookup_cb(void *ud, const char *name, size_t len, struct value **out)
{
	struct tmpl_lookup *t = ud;
	if (t->extra) {
		struct value *v = value_map_getn(t->extra, name, len);
		if (v) {
			*out = value_ref(v);
			return 0;
		}
	}
	char *n = xstrndup(name, len);
	int rc = vars_get(t->h->e->c, t->h->inv, n, out);
	free(n);
	return rc;
}

/* ezk.template(text, extra, name) */
static int l_template(lua_State *L)
{
	struct hostrun *h = host_of(L);
	size_t n;
	const char *text = luaL_checklstring(L, 1, &n);
	const char *name = luaL_optstring(L, 3, "<template>");
	struct tmpl_lookup tl = {.h = h, .extra = lua_istable(L, 2) ? luav_get(L, 2) : NULL};
	struct tmpl *t = tmpl_compile_ex(text, n, name, 1, 1);
	struct buf out = BUF_INIT;
	int rc = -1;
	if (t) {
		struct tmpl_env env = {tmpl_lookup_cb, &tl};
		rc = tmpl_render(t, &env, &out);
	}
	tmpl_free(t);
	value_unref(tl.extra);
	if (rc < 0) {
		buf_free(&out);
		lua_pushnil(L);
		lua_pushstring(L, ezk_err_msg());
		return 2;
	}
	lua_pushlstring(L, out.s ? out.s : "", out.len);
	buf_free(&out);
	return 1;
}

/* ezk.var(name) */
static int l_var(lua_State *L)
{
	struct hostrun *h = host_of(L);
	const char *name = luaL_checkstring(L, 1);
	struct value *v = NULL;
	int rc = vars_get(h->e->c, h->inv, name, &v);
	if (rc < 0)
		return luaL_error(L, "%s", ezk_err_msg());
	if (rc > 0) {
		lua_pushnil(L);
		return 1;
	}
	luav_push(L, v);
	value_unref(v);
	return 1;
}

static int l_log(lua_State *L)
{
	struct hostrun *h = host_of(L);
	engine_log(h->e, h->name, "%s", luaL_checkstring(L, 1));
	return 0;
}

static int l_clock(lua_State *L)
{
	lua_pushnumber(L, clock_ms());
	return 1;
}

/* ezk._task(title, module, status, msg, diff, ms) */
static int l_task(lua_State *L)
{
	struct hostrun *h = host_of(L);
	engine_task(h, luaL_checkstring(L, 1), luaL_checkstring(L, 2), luaL_checkstring(L, 3),
		    luaL_optstring(L, 4, NULL), luaL_optstring(L, 5, NULL),
		    luaL_optnumber(L, 6, 0));
	return 0;
}

static int l_begin(lua_State *L)
{
	struct hostrun *h = host_of(L);
	if (atomic_load(&h->e->stop)) {
		/* SIGINT/SIGTERM: this task does not start; the host stops here
		 * (not a failure: the journal says "interrupted") */
		h->interrupted = true;
		lua_newtable(L);
		lua_pushboolean(L, 1);
		lua_setfield(L, -2, "ezk_failed");
		lua_pushstring(L, "interrupted before this task");
		lua_setfield(L, -2, "msg");
		return lua_error(L);
	}
	engine_task_begin(h, luaL_checkstring(L, 1));
	return 0;
}

/* ezk._tagged(tags): whether a task with these tags runs under -t/--skip-tags */
static int l_tagged(lua_State *L)
{
	struct hostrun *h = host_of(L);
	const char *tags[32];
	size_t n = 0;
	if (lua_isstring(L, 1)) {
		tags[n++] = lua_tostring(L, 1);
	} else if (lua_istable(L, 1)) {
		lua_Unsigned len = lua_rawlen(L, 1);
		for (lua_Unsigned i = 1; i <= len && n < 32; i++) {
			lua_rawgeti(L, 1, (lua_Integer)i);
			if (lua_isstring(L, -1))
				tags[n++] = lua_tostring(L, -1);
			lua_pop(L, 1); /* kept alive by the table */
		}
	}
	lua_pushboolean(L, engine_tag_selected(h->e, tags, n));
	return 1;
}

/* ezk.once(key, fn): the string fn() returns, computed by the first host
 * that asks this run (the others wait for it); every other host gets that
 * same string (work that is the same for all hosts, done once). */
static int l_once(lua_State *L)
{
	struct hostrun *h = host_of(L);
	const char *key = luaL_checkstring(L, 1);
	luaL_checktype(L, 2, LUA_TFUNCTION);
	size_t len = 0;
	/* one host computes, the others wait for its value (recursive: fn may
	 * itself call ezk.once); fn runs protected, so an error unlocks */
	pthread_mutex_lock(&h->e->once_lock);
	char *v = engine_once_get(h->e, key, &len);
	if (!v) {
		lua_pushvalue(L, 2);
		if (lua_pcall(L, 0, 1, 0) != LUA_OK) {
			pthread_mutex_unlock(&h->e->once_lock);
			return lua_error(L);
		}
		size_t n;
		const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &n) : NULL;
		if (!s) {
			pthread_mutex_unlock(&h->e->once_lock);
			return luaL_error(L, "ezk.once('%s'): the function must return a string",
					  key);
		}
		v = engine_once_put(h->e, key, s, n, &len);
		lua_pop(L, 1);
	}
	pthread_mutex_unlock(&h->e->once_lock);
	lua_pushlstring(L, v, len);
	free(v);
	return 1;
}

/* ezk.image_server({archive, ...}): "addr:port" of the read-only registry
 * (imgsrv.h) serving those OCI archives' images on the deploy node's
 * address of this host's session, started by the first host that asks and
 * kept until the run ends (one per address); nil and why when this host
 * could not reach it (a jump host, the deploy node itself) or an archive
 * cannot be served. */
static int l_image_server(lua_State *L)
{
	struct hostrun *h = host_of(L);
	luaL_checktype(L, 1, LUA_TTABLE);
	char addr[64];
	if (ssh_host_local_addr(h->ssh, addr, sizeof addr) < 0) {
		lua_pushnil(L);
		lua_pushstring(L, ezk_err_msg());
		return 2;
	}
	struct engine *e = h->e;
	struct imgsrv *s = NULL;
	pthread_mutex_lock(&e->lock);
	for (size_t i = 0; i < e->nimgsrvs && !s; i++)
		if (!strcmp(e->imgsrvs[i].addr, addr))
			s = e->imgsrvs[i].s;
	if (!s && (s = imgsrv_start(addr))) {
		e->imgsrvs = xrealloc(e->imgsrvs, (e->nimgsrvs + 1) * sizeof *e->imgsrvs);
		e->imgsrvs[e->nimgsrvs].addr = xstrdup(addr);
		e->imgsrvs[e->nimgsrvs++].s = s;
	}
	pthread_mutex_unlock(&e->lock);
	if (!s) {
		lua_pushnil(L);
		lua_pushstring(L, ezk_err_msg());
		return 2;
	}
	lua_Integer n = luaL_len(L, 1);
	for (lua_Integer i = 1; i <= n; i++) {
		lua_geti(L, 1, i);
		const char *path = lua_tostring(L, -1);
		if (!path)
			return luaL_error(L, "ezk.image_server: archive %d is not a string",
					  (int)i);
		if (imgsrv_add(s, path) < 0) {
			lua_pushnil(L);
			lua_pushstring(L, ezk_err_msg());
			return 2;
		}
		lua_pop(L, 1);
	}
	if (strchr(addr, ':'))
		lua_pushfstring(L, "[%s]:%d", addr, imgsrv_port(s));
	else
		lua_pushfstring(L, "%s:%d", addr, imgsrv_port(s));
	return 1;
}

static const luaL_Reg ezk_funcs[] = {{"exec", l_exec},
				     {"image_server", l_image_server},
				     {"upload", l_upload},
				     {"fetch", l_fetch},
				     {"fs", l_fs},
				     {"read_local", l_read_local},
				     {"stat_local", l_stat_local},
				     {"facts", l_facts},
				     {"sha256", l_sha256},
				     {"sha256_file", l_sha256_file},
				     {"template", l_template},
				     {"var", l_var},
				     {"log", l_log},
				     {"clock", l_clock},
				     {"_task", l_task},
				     {"_tagged", l_tagged},
				     {"_begin", l_begin},
				     {"once", l_once},
				     {NULL, NULL}};

lua_State *luahost_new(struct hostrun *h)
{
	lua_State *L = luaL_newstate();
	if (!L)
		return NULL;
	luaL_openlibs(L);
	lua_pushlightuserdata(L, h);
	lua_setfield(L, LUA_REGISTRYINDEX, HOST_KEY);
	luaL_newlib(L, ezk_funcs);
	luapki_open(L);
	luadeploy_open(L);
	luanet_open(L);
	luaquote_open(L);
	luarx_open(L);
	lua_pushstring(L, h->name);
	lua_setfield(L, -2, "host");
	lua_pushboolean(L, h->e->o.check);
	lua_setfield(L, -2, "check");
	lua_pushboolean(L, h->e->o.diff);
	lua_setfield(L, -2, "diff");
	lua_pushinteger(L, h->e->o.verbose);
	lua_setfield(L, -2, "verbose");
	/* the cluster's folder on the deploy node (ssl/, kubeconfigs) and the
	 * workspace (bin/, images/): whatever base_dir/cluster_dir a kubeasz
	 * hosts file says, these are where ezk keeps them */
	if (h->e->c->dir) {
		lua_pushstring(L, h->e->c->dir);
		lua_setfield(L, -2, "cluster_dir");
		const char *d = h->e->c->dir, *end = d + strlen(d);
		while (end > d && end[-1] == '/')
			end--;
		const char *s1 = memrchr(d, '/', (size_t)(end - d));
		const char *s2 = s1 && s1 > d ? memrchr(d, '/', (size_t)(s1 - d)) : NULL;
		if (s2) {
			lua_pushlstring(L, d, (size_t)(s2 - d));
			lua_setfield(L, -2, "home");
		}
	}
	lua_setglobal(L, "ezk");
	for (size_t i = 0; i < h->e->nlib; i++) {
		const struct chunk *c = &h->e->lib[i];
		if (luaL_loadbufferx(L, c->code.s, c->code.len, c->name, "b") != LUA_OK ||
		    lua_pcall(L, 0, 0, 0) != LUA_OK) {
			free(h->msg);
			h->msg = xstrdup(lua_tostring(L, -1));
			lua_close(L);
			return NULL;
		}
	}
	return L;
}

/* Message handler: keep the message, and name the role line that led to it
 * when the error was raised inside the library. */
static int msgh(lua_State *L)
{
	if (lua_istable(L, 1))
		return 1; /* a task failure: {ezk_failed = true, msg = ...} */
	const char *msg = lua_tostring(L, 1);
	if (!msg)
		msg = "(error object is not a string)";
	struct hostrun *h = host_of(L);
	lua_Debug ar;
	for (int lvl = 1; lua_getstack(L, lvl, &ar); lvl++) {
		lua_getinfo(L, "Sl", &ar);
		if (h->role && strcmp(ar.source, h->role->main.name) == 0 && ar.currentline > 0) {
			char where[4200];
			snprintf(where, sizeof where, "%s:%d: ", ar.source + 1, ar.currentline);
			if (strncmp(msg, where, strlen(where)) != 0) {
				lua_pushfstring(L, "%s%s", where, msg);
				return 1;
			}
			break;
		}
	}
	lua_pushstring(L, msg);
	return 1;
}

static int call(struct hostrun *h, const char *what)
{
	lua_State *L = h->L;
	int base = lua_gettop(L);
	lua_pushcfunction(L, msgh);
	lua_insert(L, base);
	int rc = lua_pcall(L, 0, 0, base);
	lua_remove(L, base);
	if (rc == LUA_OK)
		return 0;
	free(h->msg);
	if (lua_istable(L, -1)) {
		lua_getfield(L, -1, "msg");
		h->msg = xstrdup(lua_isstring(L, -1) ? lua_tostring(L, -1) : "task failed");
		lua_pop(L, 1);
	} else {
		const char *m = lua_tostring(L, -1);
		h->msg = xstrdup(m ? m : what);
		if (h->state == HOST_OK)
			engine_task(h, "lua error", "lua", "failed", h->msg, NULL, 0);
	}
	lua_pop(L, 1);
	return -1;
}

int luahost_run_role(struct hostrun *h, const struct role *r)
{
	lua_State *L = h->L;
	h->role = r;
	lua_getglobal(L, "ezk");
	lua_pushstring(L, r->dir);
	lua_setfield(L, -2, "role_dir");
	/* task.lua: forget the last role's handlers */
	lua_getfield(L, -1, "_role_begin");
	lua_remove(L, -2);
	if (!lua_isfunction(L, -1))
		lua_pop(L, 1);
	else if (call(h, "role begin") < 0)
		return -1;
	if (luaL_loadbufferx(L, r->main.code.s, r->main.code.len, r->main.name, "b") != LUA_OK) {
		free(h->msg);
		h->msg = xstrdup(lua_tostring(L, -1));
		lua_pop(L, 1);
		return -1;
	}
	if (call(h, "role") < 0)
		return -1;
	/* task.lua: the notified handlers, then the on_role_end hooks */
	lua_getglobal(L, "ezk");
	lua_getfield(L, -1, "_role_end");
	lua_remove(L, -2);
	if (lua_isfunction(L, -1))
		return call(h, "handlers");
	lua_pop(L, 1);
	return 0;
}

/*
 * luadeploy.c - the deploy node as roles see it: what is in $EZK_HOME (the
 * binaries and image archives a step pushes) and programs run there.
 *
 *     ezk.list_local(dir)    -> the names in dir, sorted (no . or ..), or
 *                               nil, message
 *     ezk.exec_local(argv, {timeout = s})
 *                            -> {rc, stdout, stderr, timed_out}: a program
 *                               run on the deploy node, without a shell
 *                               (argv = {"/path/prog", "arg", ...}); rc 127
 *                               when it cannot be run
 *
 * A role runs on its host; these are the only ways it looks at the deploy
 * node besides ezk.read_local (a file's content) and ezk.stat_local (whether it
 * is there: luahost.c), so that what a role reads there is one API, not
 * Lua's io library.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <lauxlib.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "engine-int.h"
#include "luadeploy.h"

extern char **environ;

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int l_list_local(lua_State *L)
{
	const char *dir = luaL_checkstring(L, 1);
	DIR *d = opendir(dir);
	if (!d) {
		lua_pushnil(L);
		lua_pushfstring(L, "%s: %s", dir, strerror(errno));
		return 2;
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			names = xrealloc(names, cap * sizeof *names);
		}
		names[n++] = xstrdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof *names, cmp_str);
	lua_createtable(L, (int)n, 0);
	for (size_t i = 0; i < n; i++) {
		lua_pushstring(L, names[i]);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
		free(names[i]);
	}
	free(names);
	return 1;
}

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* At most this much of each stream is kept (the rest is read and dropped). */
#define OUT_MAX (4u << 20)

static int l_exec_local(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	double timeout = 60;
	if (lua_istable(L, 2)) {
		lua_getfield(L, 2, "timeout");
		if (lua_isnumber(L, -1))
			timeout = lua_tonumber(L, -1);
		lua_pop(L, 1);
	}
	lua_Integer argc = luaL_len(L, 1);
	if (argc < 1 || argc > 4096)
		return luaL_error(L, "exec_local: argv must list the program and its arguments");
	char **argv = xcalloc((size_t)argc + 1, sizeof *argv);
	for (lua_Integer i = 1; i <= argc; i++) {
		lua_rawgeti(L, 1, i);
		const char *s = lua_tostring(L, -1);
		if (!s) {
			free(argv);
			return luaL_error(L, "exec_local: argv[%d] is not a string", (int)i);
		}
		argv[i - 1] = (char *)s; /* the table keeps it alive */
		lua_pop(L, 1);
	}
	int out[2] = {-1, -1}, err[2] = {-1, -1};
	struct buf o = BUF_INIT, e = BUF_INIT;
	int rc = 127, timed_out = 0;
	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
		buf_printf(&e, "exec_local: pipe: %s", strerror(errno));
		goto done;
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, err[1], 2);
	/* the run blocks SIGINT and SIGTERM in its threads (engine.c): the
	 * program starts with them unblocked */
	posix_spawnattr_t sa;
	posix_spawnattr_init(&sa);
	sigset_t none;
	sigemptyset(&none);
	posix_spawnattr_setsigmask(&sa, &none);
	posix_spawnattr_setflags(&sa, POSIX_SPAWN_SETSIGMASK);
	pid_t pid;
	/* a bare name ("rm") is looked up in PATH, as a shell would */
	int se = strchr(argv[0], '/') ? posix_spawn(&pid, argv[0], &fa, &sa, argv, environ)
				      : posix_spawnp(&pid, argv[0], &fa, &sa, argv, environ);
	posix_spawnattr_destroy(&sa);
	posix_spawn_file_actions_destroy(&fa);
	close(out[1]);
	close(err[1]);
	out[1] = err[1] = -1;
	if (se != 0) {
		buf_printf(&e, "%s: %s", argv[0], strerror(se));
		goto done;
	}
	struct pollfd p[2] = {{.fd = out[0], .events = POLLIN}, {.fd = err[0], .events = POLLIN}};
	double end = mono_s() + timeout;
	int open = 2;
	while (open > 0) {
		int ms = (int)((end - mono_s()) * 1000);
		if (ms <= 0) {
			timed_out = 1;
			kill(pid, SIGKILL);
			break;
		}
		if (poll(p, 2, ms) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < 2; i++) {
			if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			char tmp[8192];
			ssize_t r = read(p[i].fd, tmp, sizeof tmp);
			if (r <= 0) {
				p[i].fd = -1;
				open--;
				continue;
			}
			struct buf *b = i == 0 ? &o : &e;
			if (b->len + (size_t)r <= OUT_MAX)
				buf_put(b, tmp, (size_t)r);
		}
	}
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
done:
	for (int i = 0; i < 2; i++) {
		if (out[i] >= 0)
			close(out[i]);
		if (err[i] >= 0)
			close(err[i]);
	}
	free(argv);
	lua_createtable(L, 0, 4);
	lua_pushinteger(L, rc);
	lua_setfield(L, -2, "rc");
	lua_pushlstring(L, o.s ? o.s : "", o.len);
	lua_setfield(L, -2, "stdout");
	lua_pushlstring(L, e.s ? e.s : "", e.len);
	lua_setfield(L, -2, "stderr");
	lua_pushboolean(L, timed_out);
	lua_setfield(L, -2, "timed_out");
	buf_free(&o);
	buf_free(&e);
	return 1;
}

void luadeploy_open(lua_State *L)
{
	static const luaL_Reg f[] = {
	    {"list_local", l_list_local}, {"exec_local", l_exec_local}, {NULL, NULL}};
	luaL_setfuncs(L, f, 0);
}

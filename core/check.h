/*
 * check.h - the checks `ezk check` and `ezk setup` run before any host is
 * touched: Lua files the roles ship (mechanism here, knowledge there, as
 * neovim's :checkhealth runs each plugin's health.lua).
 *
 *     struct check_say say = {my_print, ud};
 *     int rc = check_run(cluster, files, nfiles, &say);  // 0, or -1: a file broke
 *
 * Which files: roles/check.lua (the cluster as a whole: groups, node names,
 * the networks) and roles/<role>/check.lua (a role's own: the etcd group's
 * size), found on the roles path by check_files(). Each runs in a Lua state
 * of its own that sees Lua's standard library and one table, `ezk`:
 *
 *     ezk.hosts                   the inventory's hosts, in order
 *     ezk.groups                  group name -> list of hosts
 *     ezk.hosts_file, ezk.config_file
 *     ezk.var(host, name)         value, where | nil (not set) | nil, nil, msg
 *                                 (host: a name, or nil for the deploy node)
 *     ezk.config()                config.yml's entries as written: a list of
 *                                 {key, value, where}
 *     ezk.host_at(host)           where: the host's line in the hosts file
 *     ezk.error(where, msg)       where: {file, line} (from the calls above;
 *     ezk.warning(where, msg)     line 0: the file as a whole), or nil: msg
 *                                 says where itself ("file:line: ...")
 *     ezk.quote(format, s)        s quoted for a unit, TOML, YAML or a config
 *                                 word, or nil, why (core/quote.h)
 *     ezk.lib_dir                 the roles tree's lib/ (its checks/ holds
 *                                 helpers: dofile(ezk.lib_dir ..
 *                                 "/checks/written.lua"))
 *     ezk.net(s)                  "10.68.0.0/16" or an address -> a net, or
 *                                 nil, why; net:contains(x), net:overlaps(n),
 *                                 net:host(i), net.family (4 or 6), net.bits,
 *                                 tostring(net) (core/luanet.c, as roles have it)
 *
 * A Lua error in a check file is reported as an error with its file:line.
 */
#ifndef EZK_CHECK_H
#define EZK_CHECK_H

#include <stdbool.h>
#include <stddef.h>

struct cluster;

struct check_say {
	/* one finding: file may be NULL; line 0 when there is none */
	void (*say)(void *ud, bool error, const char *file, int line, const char *msg);
	void *ud;
};

/* Run the check files (paths) in order; findings go to say. Returns 0, or
 * -1 when a file could not run (that was said as an error too). */
int check_run(struct cluster *c, char *const *files, size_t n, const struct check_say *say);

/* One finding as `ezk check` prints it: "file:line: error: msg" (a msg
 * that starts with its own "file:line: " keeps it first). */
struct buf;
void check_format(struct buf *b, bool error, const char *file, int line, const char *msg);

/* The check files on a roles search path (dirs, in order): the first
 * dir's check.lua, then every role folder's check.lua, a name taken from
 * the first dir that has it; sorted by role. Only the roles named in
 * `roles` (n_roles of them) when roles is not NULL, without the cluster
 * file. A new list of malloc'd paths (*n of them). */
char **check_files(char *const *dirs, size_t ndirs, char *const *roles, size_t n_roles, size_t *n);

#endif

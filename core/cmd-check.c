/*
 * cmd-check.c - `ezk check <cluster>`: find mistakes in hosts and config.yml
 * before anything touches a host. Errors exit 2; warnings alone exit 0.
 *
 * Here: every variable of every host evaluates (no undefined variable, no
 * reference loop). The rest is the roles' knowledge: roles/check.lua (the
 * cluster: groups, node names, networks, CLUSTER_NETWORK ...) and each
 * roles/<role>/check.lua (the etcd group's size ...), run by check.c.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "check.h"
#include "cluster.h"
#include "cmd.h"
#include "engine.h"
#include "err.h"
#include "fsutil.h"
#include "history.h"
#include "inventory.h"
#include "value.h"
#include "workspace.h"
#include "yamlio.h"

extern const struct cmd cmd_check;

struct report {
	int errors, warnings;
	struct value *seen; /* messages already printed */
};

static void say(struct report *r, int is_err, const char *file, int line, const char *fmt, ...)
    EZK_PRINTF(5, 6);

static void say(struct report *r, int is_err, const char *file, int line, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	char msg[2048];
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	check_format(&b, is_err, file, line, msg);
	if (!value_map_get(r->seen, b.s)) {
		value_map_set(r->seen, b.s, value_bool(1));
		fprintf(stderr, "%s\n", b.s);
		if (is_err)
			r->errors++;
		else
			r->warnings++;
	}
	buf_free(&b);
}

static void warn_cb(void *ud, const char *msg)
{
	say(ud, 1, NULL, 0, "%s", msg);
}

static void say_cb(void *ud, bool error, const char *file, int line, const char *msg)
{
	say(ud, error, file, line, "%s", msg);
}

static const struct opt options[] = {
    OPT('e', 'e', "extra-vars", "VARS", "k=v, @file.yml or JSON, over config.yml"),
    OPT_END,
};

static int got(void *ud, int id, const char *value)
{
	(void)id; /* -e */
	return vars_parse_extra(value, ud);
}

static int run(int argc, char **argv, const struct ezk_globals *g)
{
	struct value *extra = value_map();
	int optind = cmd_parse(&cmd_check, argc, argv, got, extra);
	if (optind < 0) {
		value_unref(extra);
		return EZK_USAGE;
	}
	if (argc - optind != 1) {
		value_unref(extra);
		return cmd_usage(&cmd_check, "which cluster?");
	}
	struct cluster *cl;
	int rc = cluster_open(g->home, argv[optind], extra, &cl);
	value_unref(extra);
	if (rc < 0)
		return cmd_error(EZK_USAGE);

	struct report r = {0, 0, value_map()};
	for (size_t h = 0; h < inventory_nhosts(cl->inv); h++) {
		struct value *all;
		vars_resolve_all(cl, h, &all, warn_cb, &r);
		value_unref(all);
	}
	/* a config.yml cut short parses without a word: the keys of ezk's
	 * template that it lacks say so */
	char *tpl = path_join(workspace_data_dir(), "inventories/config.yml");
	struct value *tv = cl->config_path ? yaml_load_file(tpl) : NULL;
	free(tpl);
	if (tv && tv->type == V_MAP && cl->config && cl->config->type == V_MAP) {
		struct buf miss = BUF_INIT;
		size_t n = 0;
		for (size_t i = 0; i < value_len(tv); i++)
			if (!value_map_get(cl->config, value_map_key(tv, i))) {
				if (n < 5)
					buf_printf(&miss, "%s%s", n ? ", " : "",
						   value_map_key(tv, i));
				n++;
			}
		if (n)
			say(&r, 0, cl->config_path, 0,
			    "%zu of the template's %zu settings are missing (%s%s): was the file "
			    "cut "
			    "short? Their roles' defaults apply",
			    n, value_len(tv), miss.s, n > 5 ? ", ..." : "");
		buf_free(&miss);
	}
	value_unref(tv);
	/* a password in a file others can read */
	for (int f = 0; f < 2 && cl->dir; f++) {
		const char *name = f ? "config.yml" : "hosts";
		char *p = path_join(cl->dir, name);
		struct stat st;
		if (stat(p, &st) == 0 && (st.st_mode & 044) &&
		    history_file_has_secrets(cl->dir, name))
			say(&r, 0, p, 0,
			    "holds a password and is readable by %s (mode %04o): chmod 600 %s",
			    (st.st_mode & 004) ? "every user" : "its group",
			    (unsigned)(st.st_mode & 07777), p);
		free(p);
	}
	char *path = engine_roles_path();
	size_t ndirs = 0, nfiles = 0;
	char **dirs = split_list(path, ':', &ndirs);
	char **files = check_files(dirs, ndirs, NULL, 0, &nfiles);
	struct check_say to = {say_cb, &r};
	check_run(cl, files, nfiles, &to);
	strv_free(files, nfiles);
	strv_free(dirs, ndirs);
	free(path);
	printf("%s: %zu hosts, %d error%s, %d warning%s\n", argv[optind], inventory_nhosts(cl->inv),
	       r.errors, r.errors == 1 ? "" : "s", r.warnings, r.warnings == 1 ? "" : "s");
	value_unref(r.seen);
	cluster_close(cl);
	return r.errors ? EZK_USAGE : EZK_OK;
}

const struct cmd cmd_check = {
    .name = "check",
    .args = "<cluster> [-e k=v]",
    .summary = "check hosts and config.yml for mistakes before touching any host",
    .help = "Reports 'file:line: error: ...' and 'file:line: warning: ...' on stderr and a\n"
	    "summary on stdout. Exit 2 when there are errors, 0 otherwise.\n\n"
	    "Checks: every variable evaluates (no undefined variable, no reference loop);\n"
	    "then roles/check.lua and every role's check.lua: [etcd] has members (an odd\n"
	    "number); [kube_master] has hosts; every host is in a group; node names\n"
	    "(K8S_NODENAME) are valid and unique; SERVICE_CIDR and CLUSTER_CIDR are\n"
	    "networks that overlap neither each other nor a host's address;\n"
	    "CLUSTER_NETWORK and CONTAINER_RUNTIME are supported values.\n",
    .complete = "cluster",
    .options = options,
    .run = run,
};

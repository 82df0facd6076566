/*
 * cluster.h - a cluster loaded for work: its inventory, its config.yml,
 * the -e overrides, and every host's variables resolved on demand.
 *
 *     struct cluster *c;
 *     if (cluster_open(home, "prod", extra, &c) < 0)     // file:line message
 *         return cmd_error(EZK_USAGE);
 *     long h = inventory_host_find(c->inv, "10.0.0.1");
 *     struct value *v;
 *     if (vars_get(c, h, "K8S_NODENAME", &v) == 0) { ...; value_unref(v); }
 *     cluster_close(c);
 *
 * Precedence (lowest first), as Ansible runs kubeasz's playbooks with
 * `-e @config.yml`:
 *     role defaults < [all:vars] < [group:vars] (children over parents,
 *     then by ansible_group_priority and name) < host vars
 *     < config.yml < -e on the command line
 * Magic variables (inventory_hostname, inventory_hostname_short, groups,
 * group_names, hostvars) cannot be overridden.
 *
 * Values are templated lazily, the way Ansible does: a variable is
 * evaluated when something asks for it, in the context of the host asking,
 * with trim_blocks on as in Ansible's templar.
 * Every template in the inventory, config.yml and -e is compiled once at
 * load, so a syntax error anywhere stops the load with file:line. A value
 * that refers to itself, directly or through others, is a "reference
 * loop" error, not a hang.
 *
 * Resolution takes the cluster's lock, so host workers may call vars_get()
 * concurrently (hostvars[...] may cross from one host to another).
 */
#ifndef EZK_CLUSTER_H
#define EZK_CLUSTER_H

#include <stddef.h>

struct value;
struct inventory;

struct cluster {
	char *name;	   /* NULL when loaded from bare paths */
	char *dir;	   /* clusters/<name> */
	char *hosts_path;  /* its inventory */
	char *config_path; /* its config.yml */
	struct inventory *inv;
	struct value *config;	/* map from config.yml */
	struct value *extra;	/* map from -e */
	struct value *defaults; /* role defaults (map; empty until roles load) */
	struct value *groups;	/* the `groups` magic variable */
	struct cluster_priv *priv;
};

/* Open clusters/<name> under home. extra (a map, may be NULL) is -e; the
 * cluster takes its own reference. */
int cluster_open(const char *home, const char *name, struct value *extra, struct cluster **out);
/* Load from paths (config_path may be NULL: no config.yml; hosts_path NULL:
 * an empty inventory). Both must be regular files (file_read_input). */
int cluster_load(const char *hosts_path, const char *config_path, struct value *extra,
		 struct cluster **out);
void cluster_close(struct cluster *c);

/* Add role defaults (a map, e.g. from roles/x/defaults.yml): the lowest
 * precedence; a name already defaulted keeps its first value. Templates in
 * it are compiled now (-1 with file:line on a syntax error). Call before
 * hosts resolve variables. */
int cluster_add_defaults(struct cluster *c, const struct value *map);

/* Host index inventory_nhosts(c->inv) is the implicit localhost (the
 * deploy node, as Ansible has it when the inventory does not name it):
 * its variables are [all:vars], config.yml, -e and role defaults, with
 * inventory_hostname "localhost" and no groups. */

/* One resolved variable of host `host` (index in c->inv): 0 and a new
 * reference, 1 when undefined (nothing set), -1 on error (message set). */
int vars_get(struct cluster *c, size_t host, const char *name, struct value **out);
/* Every variable of a host, unevaluated, merged by precedence (new map). */
struct value *vars_merged(struct cluster *c, size_t host);
/* Every variable of a host, evaluated: *out is a new map (keys sorted) of
 * every one that evaluates, also when some do not (as Ansible, which fails
 * only what uses one). Returns -1 when some did not: each is reported
 * through warn(ud, msg) if warn is given (file:line first), and the first
 * message is set. */
int vars_resolve_all(struct cluster *c, size_t host, struct value **out,
		     void (*warn)(void *ud, const char *msg), void *ud);
/* Forget the memoised values of a host (to bound memory on big runs). */
void vars_forget(struct cluster *c, size_t host);

/* Parse one -e argument into map `into`: "k=v k2='v 2'" (strings),
 * "@file.yml" (YAML/JSON map) or "{...}" (inline YAML/JSON map). */
int vars_parse_extra(const char *arg, struct value *into);

#endif

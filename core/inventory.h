/*
 * inventory.h - Ansible INI inventories, read exactly as Ansible 2.14 reads
 * them (`ansible-inventory -i FILE --list` is the reference).
 *
 *     struct inventory *inv = inventory_load("clusters/k8s-01/hosts");
 *     if (!inv)
 *         die("%s", ezk_err_msg());          // "hosts:12: ..."
 *     for (size_t i = 0; i < inventory_nhosts(inv); i++) {
 *         const size_t *gs;
 *         size_t n = inventory_host_groups(inv, i, &gs);
 *         // merge inventory_group_vars(inv, gs[0..n-1]) in that order,
 *         // then inventory_host_vars(inv, i) on top
 *     }
 *     inventory_free(inv);
 *
 * The file, as kubeasz writes it:
 *
 *     192.168.1.9                  # before any header: group "ungrouped"
 *     [kube_master]                # hosts of a group
 *     192.168.1.1 k8s_nodename='master-01'
 *     node[01:03] ansible_user=ops # node01 node02 node03
 *     10.0.0.1:2222                # sets ansible_port=2222
 *     [k8s:children]               # groups inside a group
 *     kube_master
 *     [all:vars]                   # variables of a group
 *     SECURE_PORT="6443"           # the whole rest of the line is the value
 *
 * The rules Ansible follows and ezk copies:
 * - Lines whose first non-blank character is # or ; are comments. A host
 *   line is split like a POSIX shell word list (Python's shlex): quotes,
 *   backslashes, and an unquoted # starts a comment. A [g:vars] line is
 *   split at its first '=' and the rest of the line, stripped, is the value
 *   (a trailing "; note" stays part of it).
 * - Each value then goes through Python's ast.literal_eval (pyliteral.h);
 *   when that fails it stays the raw string. So `x=6443` is an int,
 *   `x="6443"` (in [vars]) the string 6443, `k8s_nodename='m1'` on a host
 *   line the string m1 (shlex already removed the quotes).
 * - Groups "all" and "ungrouped" always exist; every group without a parent
 *   is a child of "all"; "ungrouped" keeps the hosts that are in no other
 *   group. A host named on several lines is one host; later variables win.
 * - [g:vars] of a group never declared by [g] or [g:children], and a child
 *   group never declared, are errors (as in Ansible).
 * - Ranges: node[01:03] (zero padding kept), [1:9:2] (a step), [a:c],
 *   several in one name.
 * - A host named like a group gives its line's variables to the group
 *   (Ansible looks names up among groups first, and only warns).
 *
 * Where ezk is stricter than Ansible (each is an error, never a silent
 * difference): an empty range such as [05:01] (Ansible defines no host),
 * a pattern making more than 100000 names, group names with characters
 * other than letters, digits, '_' and '-', a port above 65535, NUL bytes,
 * invalid UTF-8, and range syntax Ansible only half-reads (']' before
 * '[', bounds like +1). A UTF-8 byte order mark is skipped. Values
 * Ansible cannot print (sets, complex numbers) stay raw strings; see
 * pyliteral.h for the other literal gaps.
 *
 * Variable precedence is the caller's business; this file only keeps each
 * host's and group's own variables, and gives the order in which Ansible
 * merges group variables for a host: its groups (ancestors and "all"
 * included) sorted by (depth, ansible_group_priority, name), lowest first.
 * "all" has depth 0 and a child one more than its deepest parent.
 * ansible_group_priority itself is not kept among a group's variables
 * (Ansible does not keep it either); see inventory_group_priority().
 *
 * Every variable value carries the file and line it came from. All
 * returned strings and borrowed values live as long as the inventory.
 * Errors: NULL (or -1) and "path:line: message" in ezk_err_msg().
 */
#ifndef EZK_INVENTORY_H
#define EZK_INVENTORY_H

#include <stddef.h>

#include "value.h"

struct inventory;

/* Most names made by one host pattern such as node[1:100000]. (The fuzz
 * build sets both limits lower: it looks for memory errors, and 100000
 * hosts from a 20-byte input cost it seconds an input.) */
#ifndef INVENTORY_MAX_RANGE
#define INVENTORY_MAX_RANGE 100000
#endif
/* Most hosts in one inventory: far above any cluster (Kubernetes supports
 * 5000 nodes), low enough that every command stays a question of seconds.
 * A larger inventory is refused at the line that goes over. */
#ifndef INVENTORY_MAX_HOSTS
#define INVENTORY_MAX_HOSTS 100000
#endif

struct inventory *inventory_load(const char *path);
/* Parse text; path is only used in messages and value sources. */
struct inventory *inventory_parse(const char *text, size_t len, const char *path);
/* The same, and where each variable assignment's value lies in text
 * (span.h), appended to *spans in file order: on a host line the bytes after
 * the token's first '=' to the token's end (quotes and escapes as written),
 * on a [g:vars] line the rest of the line after '=', stripped. Nothing is
 * appended when the text does not parse. */
struct var_spans;
struct inventory *inventory_parse_spans(const char *text, size_t len, const char *path,
					struct var_spans *spans);
void inventory_free(struct inventory *inv);

/* The path given to inventory_load/parse. */
const char *inventory_path(const struct inventory *inv);

/* Hosts, in the order they first appear. */
size_t inventory_nhosts(const struct inventory *inv);
const char *inventory_host(const struct inventory *inv, size_t i);
long inventory_host_find(const struct inventory *inv, const char *name); /* -1 if none */
/* The host's own variables (a borrowed map): from its host lines, with
 * ansible_port from a name:port pattern. */
struct value *inventory_host_vars(const struct inventory *inv, size_t i);
int inventory_host_line(const struct inventory *inv, size_t i); /* where first seen */

/* Groups, in the order Ansible creates them: "all" (index 0),
 * "ungrouped" (1), then by first header. */
size_t inventory_ngroups(const struct inventory *inv);
const char *inventory_group(const struct inventory *inv, size_t g);
long inventory_group_find(const struct inventory *inv, const char *name);  /* -1 if none */
struct value *inventory_group_vars(const struct inventory *inv, size_t g); /* borrowed map */
int inventory_group_line(const struct inventory *inv, size_t g);	   /* 0 for all/ungrouped */
int inventory_group_depth(const struct inventory *inv, size_t g);
long inventory_group_priority(const struct inventory *inv, size_t g); /* default 1 */

/* Direct members: host indices / child group indices / parent group
 * indices, in the order they were added. Return the count. */
size_t inventory_group_hosts(const struct inventory *inv, size_t g, const size_t **hosts);
size_t inventory_group_children(const struct inventory *inv, size_t g, const size_t **children);
size_t inventory_group_parents(const struct inventory *inv, size_t g, const size_t **parents);

/* Every group host i belongs to ("all" and ancestors included), in
 * Ansible's variable precedence order, lowest first. */
size_t inventory_host_groups(const struct inventory *inv, size_t host, const size_t **groups);

/* New values. */
/* All hosts of group g, children's included, in Ansible's order (direct
 * hosts first, then breadth-first through the children): a list of
 * strings. */
struct value *inventory_group_hosts_value(const struct inventory *inv, size_t g);
/* The magic `groups` variable: every group (empty ones too) -> that list. */
struct value *inventory_groups_value(const struct inventory *inv);
/* The magic `group_names` of a host: its groups except "all", sorted
 * (Ansible keeps "ungrouped" in it). */
struct value *inventory_group_names(const struct inventory *inv, size_t host);
/* Host i's inventory variables merged: group vars in precedence order,
 * then its own. Values are shared, not copied; templates not evaluated. */
struct value *inventory_host_merged_vars(const struct inventory *inv, size_t host);
/* What `ansible-inventory --list` prints:
 *   {"_meta": {"hostvars": {host: merged vars}},
 *    "all": {"children": [...]}, "g": {"hosts": [...], "children": [...]}}
 * Empty groups, empty "hosts"/"children" keys and hosts without variables
 * are left out as Ansible does. Print it with sort_keys to compare. */
struct value *inventory_list_value(const struct inventory *inv);

#endif

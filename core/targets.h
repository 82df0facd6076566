/*
 * targets.h - which hosts a command acts on, and how to reach each one.
 *
 * Every command that acts on hosts (ping, keys push, setup, ...) takes the
 * same options, as Ansible's do:
 *   -l/--limit PATTERN   hosts or groups: "kube_node", "10.0.0.1,etcd",
 *                        "all:!kube_master", "kube_node:&etcd", "10.0.0.*",
 *                        "~regex"; a pattern matching nothing is an error
 *   -f/--forks N         hosts worked on at once (default 50)
 *   -u/--user USER       login user for hosts without ansible_user
 *   --key/--private-key FILE, -k/--ask-pass, -b/--become, --become-user U,
 *   -K/--ask-become-pass, --jump [user@]host[:port], -T/--timeout SECONDS
 *   (connect), --host-key-checking accept-new|strict|off, --json, -e k=v
 *
 *     struct run_opts o;
 *     run_opts_init(&o);
 *     run_opts_parse(&o, 'l', "kube_node");           // 1 taken, 0 not ours, -1 bad
 *     (the CLI's table of these options is cmd.c's run_options)
 *     struct targets *ts;
 *     if (targets_open(cl, &o, home, &ts) < 0) ...;  // select + read variables
 *     ... ssh_host_new(&ts->conf, &ts->t[i]) for i < ts->n ...
 *     targets_free(ts);
 *
 * Per host, from its variables (inventory, config.yml, -e; Ansible's names):
 * ansible_host, ansible_port, ansible_user, ansible_ssh_private_key_file,
 * ansible_ssh_pass / ansible_password, ansible_become, ansible_become_user,
 * ansible_become_password / ansible_become_pass, ansible_become_method
 * (sudo only), ansible_ssh_common_args / ansible_ssh_extra_args (-J host,
 * -o ProxyJump=..., -o ProxyCommand=...). A command-line option is a
 * default: a host's own variable wins, as in Ansible.
 *
 * Passwords asked with -k/-K are read from the terminal with echo off, or
 * when stdin is not a terminal, one line each from stdin (so scripts can
 * pipe them in); never from argv or the environment.
 */
#ifndef EZK_TARGETS_H
#define EZK_TARGETS_H

#include <stdbool.h>
#include <stddef.h>

#include "ssh.h"

struct cluster;
struct value;

struct run_opts {
	const char *limit;
	int forks;
	bool json;
	const char *user, *key_file, *jump, *become_user;
	bool ask_pass, ask_become_pass, become;
	int timeout_s;
	int persist_s; /* --persist / EZK_PERSIST: sessions kept (ssh.h) */
	enum ssh_hostkey_mode hostkey;
	struct value *extra; /* -e, a map (owned) */
};

/* The ids of the run options without a letter (the others are their
 * letter: l f u k K b T e); the CLI's table of them is cmd.c's run_options. */
enum {
	RUN_OPT_JSON = 1001,
	RUN_OPT_KEY,
	RUN_OPT_BECOME_USER,
	RUN_OPT_JUMP,
	RUN_OPT_HOSTKEY,
	RUN_OPT_PERSIST
};

void run_opts_init(struct run_opts *o);
void run_opts_free(struct run_opts *o);
/* Option id c with its value: 1 one of ours; 0 not ours; -1 a bad value
 * (message set). */
int run_opts_parse(struct run_opts *o, int c, const char *arg);
/* The hosts of the cluster a pattern selects, in inventory order. */
int targets_select(struct cluster *c, const char *pattern, size_t **hosts, size_t *n);
/* The same for a play's hosts: a part that matches nothing (an empty group)
 * selects nothing instead of being an error, and so may the whole pattern
 * (*n == 0, return 0). */
int targets_select_play(struct cluster *c, const char *pattern, size_t **hosts, size_t *n);

struct targets {
	size_t n;
	size_t *host;	      /* inventory index of each target */
	struct ssh_target *t; /* how to reach each */
	struct ssh_conf conf; /* shared */
	char *known_hosts;
	char *password, *become_password; /* asked once (-k, -K); wiped on free */
	char **owned;
	size_t nowned;
};

/* Select the hosts of o->limit (all when NULL), read their connection
 * variables, ask for passwords if -k/-K. Errors: -1 with file:line. */
int targets_open(struct cluster *c, const struct run_opts *o, const char *home,
		 struct targets **out);
void targets_free(struct targets *ts);

/* The variables that hold passwords (ansible_ssh_pass, ansible_become_pass,
 * ...), NULL-terminated: never printed, logged or committed. */
extern const char *const secret_var_names[];
/* A copy of v (a map, or any value) with every secret variable's value, at
 * any depth, replaced by "********". */
struct value *value_redact_secrets(const struct value *v);

/* Read a secret: from the terminal with echo off (prompt on it), else one
 * line from stdin. NULL at end of input. */
char *secret_read(const char *prompt);

#endif

/* test-cluster.c - variables of hosts: precedence, lazy templates, loops,
 * cross-host references, and concurrent resolution from host workers. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "cluster.h"
#include "err.h"
#include "fsutil.h"
#include "inventory.h"
#include "tap.h"
#include "value.h"

static char dir[] = "/tmp/ezk-test-cluster.XXXXXX";

static struct cluster *load(const char *hosts, const char *config)
{
	char hp[256], cp[256];
	snprintf(hp, sizeof hp, "%s/hosts", dir);
	snprintf(cp, sizeof cp, "%s/config.yml", dir);
	file_write_atomic(hp, hosts, strlen(hosts), 0644);
	file_write_atomic(cp, config, strlen(config), 0644);
	struct cluster *c = NULL;
	if (cluster_load(hp, cp, NULL, &c) < 0)
		printf("# load: %s\n", ezk_err_msg());
	return c;
}

/* The resolved variable as str(), or "ERR: message" / "UNDEF". */
static const char *get(struct cluster *c, const char *host, const char *name)
{
	static struct buf b;
	buf_reset(&b);
	struct value *v;
	long h = inventory_host_find(c->inv, host);
	int rc = h < 0 ? -1 : vars_get(c, (size_t)h, name, &v);
	if (rc < 0)
		buf_printf(&b, "ERR: %s", h < 0 ? "no host" : ezk_err_msg());
	else if (rc == 1)
		buf_puts(&b, "UNDEF");
	else {
		value_to_str(v, &b);
		value_unref(v);
	}
	return buf_cstr(&b);
}

struct job {
	struct cluster *c;
	size_t first, n;
	int ok;
};

static void *resolve_range(void *arg)
{
	struct job *j = arg;
	j->ok = 1;
	for (int round = 0; round < 20; round++)
		for (size_t h = j->first; h < j->first + j->n; h++) {
			struct value *v;
			if (vars_get(j->c, h, "label", &v) != 0) {
				j->ok = 0;
				continue;
			}
			char want[64];
			snprintf(want, sizeof want, "n%zu-of-%s", h, "kube_node");
			if (strcmp(v->u.str.s, want) != 0)
				j->ok = 0;
			value_unref(v);
		}
	return NULL;
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	struct cluster *c = load("[kube_master]\nm1.example.com k8s_nodename=''\n"
				 "[kube_node]\nn1 ansible_host=198.18.0.2\n"
				 "[all:vars]\nbase=/srv\npath=\"{{ base }}/x\"\n"
				 "a=\"{{ hostvars['n1'].b }}\"\n",
				 "b: \"{{ hostvars['m1.example.com'].a }}\"\n"
				 "xs: \"{{ [1, 2] + [3] }}\"\n"
				 "short: \"{{ inventory_hostname_short }}\"\n"
				 "n1addr: \"{{ hostvars['n1']['ansible_host'] }}\"\n"
				 "nested: {k: \"{{ base }}\", l: [\"{{ path }}\", 2]}\n"
				 "undef_ok: \"{{ nope | default('dflt') }}\"\n"
				 "undef_bad: \"{{ nope }}\"\n"
				 "inventory_hostname: fake\n"
				 "tb: \"{% if true %}\\nA\\n{% endif %}\\nB\"\n");
	ok(c != NULL, "cluster loads");
	if (!c)
		return tap_done();
	is_str(get(c, "m1.example.com", "path"), "/srv/x", "template in [all:vars]");
	is_str(get(c, "m1.example.com", "tb"), "A\nB",
	       "blocks are trimmed in variables, as Ansible's templar does");
	is_str(get(c, "m1.example.com", "xs"), "[1, 2, 3]",
	       "a whole-expression template keeps its type");
	is_str(get(c, "m1.example.com", "short"), "m1", "inventory_hostname_short");
	is_str(get(c, "m1.example.com", "inventory_hostname"), "m1.example.com",
	       "magic variables cannot be overridden");
	is_str(get(c, "m1.example.com", "n1addr"), "198.18.0.2", "hostvars[h][k]");
	is_str(get(c, "n1", "nested"), "{'k': '/srv', 'l': ['/srv/x', 2]}",
	       "templates inside maps and lists");
	is_str(get(c, "n1", "undef_ok"), "dflt", "default() for an undefined name");
	is_str(get(c, "n1", "missing"), "UNDEF", "an unset variable is undefined, not an error");
	const char *e = get(c, "n1", "undef_bad");
	ok(strstr(e, "config.yml:7:") && strstr(e, "nope"),
	   "an undefined name is an error with file:line");
	printf("#   %s\n", e);
	e = get(c, "m1.example.com", "a");
	ok(strstr(e, "reference loop") != NULL, "a loop through hostvars of another host is found");
	printf("#   %s\n", e);
	ok(strstr(e, "a -> b -> a") != NULL, "the loop is spelled out");
	is_str(get(c, "m1.example.com", "path"), "/srv/x", "resolution works after an error");
	vars_forget(c, 0);
	is_str(get(c, "m1.example.com", "path"), "/srv/x", "and after forgetting the memo");
	cluster_close(c);

	/* A chain of 60 variables resolves; a chain of 300 stops with an error. */
	for (int len = 60; len <= 300; len += 240) {
		struct buf cfg = BUF_INIT;
		for (int i = 0; i < len; i++)
			buf_printf(&cfg, "v%d: \"{{ v%d }}\"\n", i, i + 1);
		buf_printf(&cfg, "v%d: end\n", len);
		c = load("[etcd]\nh\n", cfg.s);
		buf_free(&cfg);
		e = get(c, "h", "v0");
		if (len == 60)
			is_str(e, "end", "a chain of 60 references resolves");
		else
			ok(strstr(e, "too deeply") != NULL,
			   "a chain of 300 references is an error, not a crash");
		cluster_close(c);
	}

	/* Host workers resolve concurrently (hostvars crosses hosts). */
	struct buf inv = BUF_INIT;
	buf_puts(&inv, "[kube_node]\n");
	for (int i = 0; i < 64; i++)
		buf_printf(&inv, "n%d\n", i);
	c = load(inv.s, "label: \"{{ inventory_hostname }}-of-{{ group_names[0] }}\"\n"
			"peer: \"{{ hostvars[groups['kube_node'][0]].label }}\"\n");
	buf_free(&inv);
	struct job jobs[4];
	pthread_t th[4];
	for (int i = 0; i < 4; i++) {
		jobs[i] = (struct job){c, (size_t)i * 16, 16, 0};
		pthread_create(&th[i], NULL, resolve_range, &jobs[i]);
	}
	int all = 1;
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		all &= jobs[i].ok;
	}
	ok(all, "4 threads resolving 64 hosts agree with the serial result");
	is_str(get(c, "n63", "peer"), "n0-of-kube_node",
	       "a cross-host template after concurrent use");
	cluster_close(c);

	/* -e parsing */
	struct value *x = value_map();
	ok(vars_parse_extra("a=1 b='two words' c=x\\ y", x) == 0, "-e k=v pairs");
	is_str(value_map_get(x, "b")->u.str.s, "two words", "-e quoted value");
	is_str(value_map_get(x, "c")->u.str.s, "x y", "-e escaped space");
	ok(value_map_get(x, "a")->type == V_STR, "-e k=v values are strings, as Ansible's");
	ok(vars_parse_extra("{\"n\": 5}", x) == 0 && value_map_get(x, "n")->type == V_INT,
	   "-e JSON keeps types");
	ok(vars_parse_extra("noequals", x) < 0, "-e without = is an error");
	ok(vars_parse_extra("a='open", x) < 0, "-e unbalanced quote is an error");
	ok(vars_parse_extra("[1, 2]", x) < 0, "-e list is not a map: error");
	value_unref(x);

	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return tap_done();
}

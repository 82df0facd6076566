/*
 * test-targets.c - host patterns (--limit), connection variables and the
 * run options, on inventories written to a temporary directory.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "cluster.h"
#include "err.h"
#include "fsutil.h"
#include "inventory.h"
#include "ssh.h"
#include "tap.h"
#include "targets.h"

static char dir[] = "/tmp/ezk-test-targets.XXXXXX";

static struct cluster *load(const char *hosts)
{
	char *p = path_join(dir, "hosts");
	file_write_atomic(p, hosts, strlen(hosts), 0644);
	struct cluster *c = NULL;
	if (cluster_load(p, NULL, NULL, &c) < 0)
		printf("# load: %s\n", ezk_err_msg());
	free(p);
	return c;
}

/* The selected host names, space-separated, or "error: ..." */
static bool play_mode; /* targets_select_play: a play's hosts */
static char *sel(struct cluster *c, const char *pattern)
{
	size_t *hs, n;
	struct buf b = BUF_INIT;
	if ((play_mode ? targets_select_play : targets_select)(c, pattern, &hs, &n) < 0) {
		buf_printf(&b, "error: %s", ezk_err_msg());
		return buf_detach(&b);
	}
	for (size_t i = 0; i < n; i++)
		buf_printf(&b, "%s%s", i ? " " : "", inventory_host(c->inv, hs[i]));
	free(hs);
	return buf_detach(&b);
}

#define SEL(pat, want, what)                                                                       \
	do {                                                                                       \
		char *s_ = sel(c, pat);                                                            \
		is_str(s_, want, what);                                                            \
		free(s_);                                                                          \
	} while (0)

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	struct cluster *c = load("[etcd]\n198.18.0.1\n198.18.0.2\n198.18.0.3\n"
				 "[kube_master]\n198.18.0.1\n198.18.0.2\n"
				 "[kube_node]\n198.18.0.3\n198.18.0.4\nnode-a\n"
				 "[k8s:children]\nkube_master\nkube_node\n");
	ok(c != NULL, "inventory loads");
	SEL(NULL, "198.18.0.1 198.18.0.2 198.18.0.3 198.18.0.4 node-a", "no limit: every host");
	SEL("all", "198.18.0.1 198.18.0.2 198.18.0.3 198.18.0.4 node-a", "all");
	SEL("kube_node", "198.18.0.3 198.18.0.4 node-a", "a group");
	SEL("k8s", "198.18.0.1 198.18.0.2 198.18.0.3 198.18.0.4 node-a",
	    "a parent group: its children's hosts");
	SEL("198.18.0.4,etcd", "198.18.0.1 198.18.0.2 198.18.0.3 198.18.0.4",
	    "a host and a group, inventory order");
	SEL("all:!kube_node", "198.18.0.1 198.18.0.2", "exclusion");
	SEL("etcd:&kube_node", "198.18.0.3", "intersection");
	SEL("kube_master:kube_node:!198.18.0.3", "198.18.0.1 198.18.0.2 198.18.0.4 node-a",
	    "union then exclusion");
	SEL("198.18.0.*", "198.18.0.1 198.18.0.2 198.18.0.3 198.18.0.4", "a glob over hosts");
	SEL("kube_*", "198.18.0.1 198.18.0.2 198.18.0.3 198.18.0.4 node-a", "a glob over groups");
	SEL("~^node-", "node-a", "a regular expression");
	SEL(" etcd , !198.18.0.1 ", "198.18.0.2 198.18.0.3", "spaces around items");
	char *e = sel(c, "nosuch");
	ok(strstr(e, "matches 'nosuch'") != NULL, "a name that matches nothing is an error");
	free(e);
	e = sel(c, "etcd:!etcd");
	ok(strstr(e, "leaves no hosts") != NULL, "a pattern that leaves nothing is an error");
	free(e);
	e = sel(c, "~[");
	ok(strstr(e, "bad regular expression") != NULL, "a bad regex is an error");
	free(e);
	cluster_close(c);

	/* A play's hosts: an empty group selects nothing, the rest still counts. */
	c = load("[etcd]\n198.18.0.1\n[kube_master]\n198.18.0.1\n[kube_node]\n[chrony]\n");
	e = sel(c, "kube_master:kube_node:etcd");
	ok(strstr(e, "matches 'kube_node'") != NULL, "--limit: an empty group is an error");
	free(e);
	play_mode = true;
	SEL("kube_master:kube_node:etcd", "198.18.0.1",
	    "play: an empty group in a union selects nothing");
	SEL("chrony", "", "play: only an empty group: no hosts, no error");
	SEL("etcd:&kube_node", "", "play: intersection with an empty group: none");
	SEL("etcd:!chrony", "198.18.0.1", "play: excluding an empty group");
	e = sel(c, "~[");
	ok(strstr(e, "bad regular expression") != NULL, "play: a bad regex is still an error");
	free(e);
	play_mode = false;
	cluster_close(c);

	/* Connection variables, with run options as defaults. */
	c = load("[etcd]\n"
		 "198.18.0.1 ansible_host=198.18.9.1 ansible_port=2222 ansible_user=ops "
		 "ansible_ssh_private_key_file=/k/id ansible_become=yes ansible_become_user=adm\n"
		 "198.18.0.2 ansible_ssh_common_args='-o ProxyJump=jump@bastion:22'\n"
		 "198.18.0.3 ansible_ssh_common_args='-J bastion2 -o StrictHostKeyChecking=no'\n"
		 "198.18.0.4 ansible_ssh_common_args='-o \"ProxyCommand=nc %h %p\"' "
		 "ansible_become=false\n"
		 "[kube_master]\n198.18.0.1\n[kube_node]\n198.18.0.1\n");
	struct run_opts o;
	run_opts_init(&o);
	ok(run_opts_parse(&o, 'u', "deploy") == 1, "-u taken");
	ok(run_opts_parse(&o, 'b', NULL) == 1, "-b taken");
	ok(run_opts_parse(&o, 1005, "strict") == 1, "--host-key-checking strict taken");
	ok(run_opts_parse(&o, 1005, "sometimes") == -1, "--host-key-checking sometimes refused");
	ok(run_opts_parse(&o, 'f', "0") == -1, "--forks 0 refused");
	ok(run_opts_parse(&o, 'T', "x") == -1, "--timeout x refused");
	ok(run_opts_parse(&o, 'Z', NULL) == 0, "an option not ours");
	struct targets *ts = NULL;
	ok(targets_open(c, &o, "/tmp/home", &ts) == 0, "targets open");
	if (ts) {
		is_int((long long)ts->n, 4, "four targets");
		is_str(ts->t[0].addr, "198.18.9.1", "ansible_host");
		is_int(ts->t[0].port, 2222, "ansible_port");
		is_str(ts->t[0].user, "ops", "ansible_user over -u");
		is_str(ts->t[0].key_file, "/k/id", "ansible_ssh_private_key_file");
		ok(ts->t[0].become, "ansible_become=yes");
		is_str(ts->t[0].become_user, "adm", "ansible_become_user");
		is_str(ts->t[1].addr, "198.18.0.2", "no ansible_host: the name");
		is_str(ts->t[1].user, "deploy", "-u where ansible_user is not set");
		ok(ts->t[1].become, "-b where ansible_become is not set");
		is_str(ts->t[1].jump, "jump@bastion:22", "-o ProxyJump=");
		is_str(ts->t[2].jump, "bastion2", "-J");
		is_str(ts->t[3].proxy_command, "nc %h %p", "-o \"ProxyCommand=...\"");
		ok(!ts->t[3].become, "ansible_become=false over -b");
		is_str(ts->conf.known_hosts, "/tmp/home/known_hosts",
		       "known_hosts in the workspace");
		ok(ts->conf.hostkey == SSH_HOSTKEY_STRICT, "host key mode from the option");
		is_int(ts->conf.connect_timeout_ms, 10000, "connect timeout default 10 s");
	}
	targets_free(ts);
	cluster_close(c);

	c = load("[etcd]\n198.18.0.1 ansible_port=http\n[kube_master]\n198.18.0.1\n");
	ts = NULL;
	ok(targets_open(c, &o, "/tmp/home", &ts) < 0, "a port that is no number fails");
	ok(strstr(ezk_err_msg(), "not a port") != NULL, "... saying so");
	cluster_close(c);
	c = load("[etcd]\n198.18.0.1 ansible_become_method=su\n");
	ok(targets_open(c, &o, "/tmp/home", &ts) < 0, "become method su is refused");
	ok(strstr(ezk_err_msg(), "sudo only") != NULL, "... saying ezk becomes with sudo only");
	cluster_close(c);
	run_opts_free(&o);

	struct buf q = BUF_INIT;
	buf_sh_quote(&q, "it's $HOME `x`");
	is_str(q.s, "'it'\\''s $HOME `x`'", "buf_sh_quote");
	buf_free(&q);

	char *p = path_join(dir, "hosts");
	unlink(p);
	free(p);
	rmdir(dir);
	return tap_done();
}

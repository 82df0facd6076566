/*
 * test-hostsedit.c - the hosts file edits of the lifecycle commands
 * (hostsedit.h): a line appended where a person would put it, every other
 * byte kept, and the edits that would change more than asked refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "hostsedit.h"
#include "tap.h"

static const char HOSTS[] = "# kubeasz's layout\n"
			    "[etcd]\n"
			    "10.0.0.1\n"
			    "\n"
			    "[kube_master]\n"
			    "10.0.0.1 k8s_nodename='master-01'\n"
			    "\n"
			    "# the workers\n"
			    "[kube_node]\n"
			    "10.0.0.4 k8s_nodename='worker-01'\n"
			    "10.0.0.5 k8s_nodename='worker-02' # the second\n"
			    "\n"
			    "[ex_lb]\n"
			    "#10.0.0.6 LB_ROLE=backup\n"
			    "\n"
			    "[all:vars]\n"
			    "SECURE_PORT=\"6443\"\n";

static char *add(const char *text, const char *group, const char *line)
{
	struct buf b = BUF_INIT;
	if (hosts_edit_add(text, strlen(text), group, line, "hosts", &b) < 0) {
		buf_free(&b);
		return NULL;
	}
	return buf_detach(&b);
}

static char *del(const char *text, const char *group, const char *host, struct buf *removed)
{
	struct buf b = BUF_INIT;
	if (hosts_edit_remove(text, strlen(text), group, host, "hosts", &b, removed) < 0) {
		buf_free(&b);
		return NULL;
	}
	return buf_detach(&b);
}

int main(void)
{
	char *s = add(HOSTS, "kube_node", "10.0.0.7 k8s_nodename='worker-03'");
	is_str(s,
	       "# kubeasz's layout\n[etcd]\n10.0.0.1\n\n[kube_master]\n10.0.0.1 "
	       "k8s_nodename='master-01'\n\n# the workers\n[kube_node]\n10.0.0.4 "
	       "k8s_nodename='worker-01'\n10.0.0.5 k8s_nodename='worker-02' # the second\n10.0.0.7 "
	       "k8s_nodename='worker-03'\n\n[ex_lb]\n#10.0.0.6 LB_ROLE=backup\n\n[all:vars]\n"
	       "SECURE_PORT=\"6443\"\n",
	       "add: after the group's last host line, comments and blank lines kept");
	free(s);

	s = add(HOSTS, "ex_lb", "10.0.0.6 LB_ROLE=backup");
	ok(s && strstr(s, "[ex_lb]\n10.0.0.6 LB_ROLE=backup\n#10.0.0.6"),
	   "add to a group with no host yet: right after its header");
	free(s);

	s = add(HOSTS, "chrony", "10.0.0.1");
	ok(s && strstr(s, "SECURE_PORT=\"6443\"\n\n[chrony]\n10.0.0.1\n"),
	   "add to a group the file does not have: a new section at the end");
	free(s);

	s = add(HOSTS, "kube_node", "10.0.0.1 k8s_nodename='master-01'");
	ok(s != NULL, "add a master to [kube_node] too");
	free(s);

	s = add(HOSTS, "kube_node", "10.0.0.4");
	ok(!s && strstr(ezk_err_msg(), "10.0.0.4 is in [kube_node] already"),
	   "add a host already in the group: refused, saying so");
	free(s);

	s = add(HOSTS, "kube_node", "10.0.0.[8:9]");
	ok(!s && strstr(ezk_err_msg(), "names 2 hosts"), "a line of two hosts: refused");
	free(s);

	struct buf removed = BUF_INIT;
	s = del(HOSTS, "kube_node", "10.0.0.5", &removed);
	is_str(s,
	       "# kubeasz's layout\n[etcd]\n10.0.0.1\n\n[kube_master]\n10.0.0.1 "
	       "k8s_nodename='master-01'\n\n# the workers\n[kube_node]\n10.0.0.4 "
	       "k8s_nodename='worker-01'\n\n[ex_lb]\n#10.0.0.6 LB_ROLE=backup\n\n[all:vars]\n"
	       "SECURE_PORT=\"6443\"\n",
	       "remove: its line only");
	is_str(removed.s, "10.0.0.5 k8s_nodename='worker-02' # the second\n",
	       "... the removed line is given back");
	free(s);
	buf_free(&removed);

	s = del(HOSTS, "kube_master", "10.0.0.1", NULL);
	ok(s && strstr(s, "[etcd]\n10.0.0.1\n") && !strstr(s, "master-01"),
	   "remove a master: it stays in [etcd]");
	free(s);

	s = del(HOSTS, "kube_node", "10.0.0.9", NULL);
	ok(!s && strstr(ezk_err_msg(), "no line of [kube_node] names 10.0.0.9"),
	   "remove a host that is not there: refused");
	free(s);

	s = del("[kube_node]\nnode[1:3]\n", "kube_node", "node2", NULL);
	ok(!s && strstr(ezk_err_msg(), "edit it by hand"),
	   "remove a host named by a range: refused");
	free(s);

	s = del("[a]\n10.0.0.1\n[kube_node:children]\na\n", "kube_node", "10.0.0.1", NULL);
	ok(!s && strstr(ezk_err_msg(), "edit it by hand"),
	   "remove a host that is in the group through a child group: refused");
	free(s);

	s = del("[kube_node]\n10.0.0.1\n[kube_node]\n10.0.0.1 x=1\n[etcd]\n10.0.0.1\n", "kube_node",
		"10.0.0.1", NULL);
	is_str(s, "[kube_node]\n[kube_node]\n[etcd]\n10.0.0.1\n",
	       "remove: every line of the group that names it");
	free(s);

	s = add("[kube_node]\n10.0.0.4", "kube_node", "10.0.0.5");
	is_str(s, "[kube_node]\n10.0.0.4\n10.0.0.5\n", "add after a last line without a newline");
	free(s);
	return tap_done();
}

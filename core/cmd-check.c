/*
 * cmd-check.c - `ezk check <cluster>`: find mistakes in hosts and config.yml
 * before anything touches a host. Errors exit 2; warnings alone exit 0.
 *
 * Checked: templates that cannot be evaluated (undefined variables,
 * reference loops), the etcd group (empty is an error, an even size a
 * warning), kube_master not empty, hosts in no group, node names (kubeasz's
 * k8s_nodename rule, unique across kube_master and kube_node),
 * SERVICE_CIDR and CLUSTER_CIDR (well formed, not overlapping each other
 * or any host's address), CLUSTER_NETWORK and CONTAINER_RUNTIME values.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cluster.h"
#include "cmd.h"
#include "err.h"
#include "inventory.h"
#include "value.h"

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
	const char *body = msg;
	if (file && line > 0) {
		buf_printf(&b, "%s:%d: ", file, line);
	} else if (file) {
		buf_printf(&b, "%s: ", file);
	} else {
		/* a message that already starts with "file:line: " keeps it first */
		const char *colon = strchr(msg, ':');
		const char *end = colon ? colon + 1 : NULL;
		while (end && *end >= '0' && *end <= '9')
			end++;
		if (colon && end > colon + 1 && end[0] == ':' && end[1] == ' ' &&
		    !memchr(msg, ' ', (size_t)(colon - msg))) {
			buf_put(&b, msg, (size_t)(end + 2 - msg));
			body = end + 2;
		}
	}
	buf_puts(&b, is_err ? "error: " : "warning: ");
	buf_puts(&b, body);
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

/* kubeasz's rule for node names: a DNS-1123 subdomain. */
static int nodename_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 253)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		int alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
		if (!alnum && c != '-' && c != '.')
			return 0;
		/* each dot-separated label starts and ends with an alphanumeric */
		if (c == '-' || c == '.') {
			if (i == 0 || i == n - 1)
				return 0;
		}
		if (c == '.' && (s[i - 1] == '-' || s[i - 1] == '.' || s[i + 1] == '-'))
			return 0;
	}
	return 1;
}

struct net {
	int family; /* AF_INET or AF_INET6 */
	unsigned char addr[16];
	int bits;
};

static int parse_addr(const char *s, struct net *n)
{
	if (inet_pton(AF_INET, s, n->addr) == 1) {
		n->family = AF_INET;
		n->bits = 32;
		return 0;
	}
	if (inet_pton(AF_INET6, s, n->addr) == 1) {
		n->family = AF_INET6;
		n->bits = 128;
		return 0;
	}
	return -1;
}

/* "10.68.0.0/16": address and prefix; host bits must be zero. */
static int parse_cidr(const char *s, struct net *n)
{
	const char *slash = strchr(s, '/');
	if (!slash || slash == s || !slash[1])
		return -1;
	char a[64];
	size_t al = (size_t)(slash - s);
	if (al >= sizeof a)
		return -1;
	memcpy(a, s, al);
	a[al] = '\0';
	if (parse_addr(a, n) < 0)
		return -1;
	char *end;
	long bits = strtol(slash + 1, &end, 10);
	if (*end || bits < 0 || bits > n->bits || slash[1] == '-' || slash[1] == '+')
		return -1;
	n->bits = (int)bits;
	int len = n->family == AF_INET ? 4 : 16;
	for (int i = 0; i < len; i++) {
		int keep = n->bits - i * 8;
		unsigned char mask = keep >= 8	 ? 0xff
				     : keep <= 0 ? 0
						 : (unsigned char)(0xff << (8 - keep));
		if (n->addr[i] & ~mask)
			return -1;
	}
	return 0;
}

/* Does network a contain the first address of b (within a's prefix)? */
static int net_contains(const struct net *a, const struct net *b)
{
	if (a->family != b->family)
		return 0;
	int full = a->bits / 8, rest = a->bits % 8;
	if (memcmp(a->addr, b->addr, (size_t)full) != 0)
		return 0;
	if (rest) {
		unsigned char mask = (unsigned char)(0xff << (8 - rest));
		return (a->addr[full] & mask) == (b->addr[full] & mask);
	}
	return 1;
}

static int overlaps(const struct net *a, const struct net *b)
{
	return net_contains(a, b) || net_contains(b, a);
}

static const char *str_of(const struct value *v)
{
	return v && v->type == V_STR ? v->u.str.s : NULL;
}

/* Get a resolved variable of a host; errors are reported (once) and NULL returned. */
static struct value *get_var(struct report *r, struct cluster *c, size_t h, const char *name)
{
	struct value *v;
	int rc = vars_get(c, h, name, &v);
	if (rc < 0) {
		say(r, 1, NULL, 0, "%s", ezk_err_msg());
		return NULL;
	}
	return rc == 0 ? v : NULL;
}

static void check_one_of(struct report *r, struct cluster *c, size_t h, const char *name,
			 const char *const *allowed, int required)
{
	struct value *v = get_var(r, c, h, name);
	if (!v) {
		if (required)
			say(r, 1, c->config_path ? c->config_path : c->hosts_path, 0,
			    "%s is not set", name);
		return;
	}
	const char *s = str_of(v);
	int ok = 0;
	for (const char *const *a = allowed; s && *a; a++)
		if (strcmp(s, *a) == 0)
			ok = 1;
	if (!ok) {
		struct buf list = BUF_INIT;
		for (const char *const *a = allowed; *a; a++)
			buf_printf(&list, "%s%s", a == allowed ? "" : ", ", *a);
		struct buf shown = BUF_INIT;
		value_to_str(v, &shown);
		say(r, 1, v->file, v->line, "%s '%s' is not supported (one of: %s)", name,
		    buf_cstr(&shown), list.s);
		buf_free(&list);
		buf_free(&shown);
	}
	value_unref(v);
}

/* Parse a CIDR variable (a comma-separated list is allowed: dual stack). */
struct where {
	const char *file;
	int line;
};

static int get_cidrs(struct report *r, struct cluster *c, size_t h, const char *name,
		     struct net *nets, int max, struct where *src)
{
	struct value *v = get_var(r, c, h, name);
	if (!v) {
		say(r, 1, c->config_path ? c->config_path : c->hosts_path, 0, "%s is not set",
		    name);
		return 0;
	}
	src->file = v->file;
	src->line = v->line;
	const char *s = str_of(v);
	int n = 0;
	if (!s) {
		say(r, 1, v->file, v->line, "%s must be a string like 10.68.0.0/16", name);
	} else {
		char *copy = xstrdup(s), *save = NULL;
		for (char *t = strtok_r(copy, ",", &save); t && n < max;
		     t = strtok_r(NULL, ",", &save)) {
			while (*t == ' ')
				t++;
			size_t tl = strlen(t);
			while (tl && t[tl - 1] == ' ')
				t[--tl] = '\0';
			if (parse_cidr(t, &nets[n]) < 0)
				say(r, 1, v->file, v->line,
				    "%s: '%s' is not a network address with a prefix length "
				    "(like 10.68.0.0/16)",
				    name, t);
			else
				n++;
		}
		free(copy);
	}
	value_unref(v);
	return n;
}

static void check_networks(struct report *r, struct cluster *c, size_t h)
{
	struct net svc[2], pod[2];
	struct where ws = {0}, wp = {0}, *vs = &ws, *vp = &wp;
	int ns = get_cidrs(r, c, h, "SERVICE_CIDR", svc, 2, vs);
	int np = get_cidrs(r, c, h, "CLUSTER_CIDR", pod, 2, vp);
	for (int i = 0; i < ns; i++)
		for (int j = 0; j < np; j++)
			if (overlaps(&svc[i], &pod[j]))
				say(r, 1, vp->file, vp->line,
				    "CLUSTER_CIDR overlaps SERVICE_CIDR: they must be disjoint");
	/* no host address inside either network */
	for (size_t k = 0; k < inventory_nhosts(c->inv); k++) {
		const char *addr = inventory_host(c->inv, k);
		struct value *ah = get_var(r, c, k, "ansible_host");
		if (ah && str_of(ah))
			addr = str_of(ah);
		struct net a;
		if (parse_addr(addr, &a) == 0) {
			for (int i = 0; i < ns; i++)
				if (net_contains(&svc[i], &a))
					say(r, 1, vs->file, vs->line,
					    "SERVICE_CIDR contains the address of host %s (%s)",
					    inventory_host(c->inv, k), addr);
			for (int j = 0; j < np; j++)
				if (net_contains(&pod[j], &a))
					say(r, 1, vp->file, vp->line,
					    "CLUSTER_CIDR contains the address of host %s (%s)",
					    inventory_host(c->inv, k), addr);
		}
		value_unref(ah);
	}
}

static const struct value *group_hosts(struct cluster *c, const char *g)
{
	return value_map_get(c->groups, g);
}

static int host_line(struct cluster *c, const char *host)
{
	long h = inventory_host_find(c->inv, host);
	return h < 0 ? 0 : inventory_host_line(c->inv, (size_t)h);
}

static void check_groups(struct report *r, struct cluster *c)
{
	const struct value *etcd = group_hosts(c, "etcd");
	size_t ne = value_len(etcd);
	if (ne == 0)
		say(r, 1, c->hosts_path, 0, "the [etcd] group has no hosts: etcd needs 1, 3 or 5");
	else if (ne % 2 == 0)
		say(r, 0, c->hosts_path, host_line(c, value_list_get(etcd, 0)->u.str.s),
		    "[etcd] has %zu members: an even number tolerates no more failures than "
		    "one fewer (use an odd number)",
		    ne);
	if (value_len(group_hosts(c, "kube_master")) == 0)
		say(r, 1, c->hosts_path, 0, "the [kube_master] group has no hosts");
	const struct value *ung = group_hosts(c, "ungrouped");
	for (size_t i = 0; i < value_len(ung); i++) {
		const char *h = value_list_get(ung, i)->u.str.s;
		say(r, 0, c->hosts_path, host_line(c, h),
		    "host %s is in no group: ezk will not use it", h);
	}
}

static void check_nodenames(struct report *r, struct cluster *c)
{
	struct value *names = value_map(); /* node name -> host */
	const char *groups[] = {"kube_master", "kube_node"};
	for (size_t gi = 0; gi < 2; gi++) {
		const struct value *hs = group_hosts(c, groups[gi]);
		for (size_t i = 0; i < value_len(hs); i++) {
			const char *hn = value_list_get(hs, i)->u.str.s;
			long h = inventory_host_find(c->inv, hn);
			if (h < 0)
				continue;
			/* point at the host's k8s_nodename when the inventory sets it */
			int line = inventory_host_line(c->inv, (size_t)h);
			struct value *kn = get_var(r, c, (size_t)h, "k8s_nodename");
			if (kn && kn->file && c->hosts_path &&
			    strcmp(kn->file, c->hosts_path) == 0 && kn->line > 0 &&
			    value_truthy(kn))
				line = kn->line;
			value_unref(kn);
			struct value *v = get_var(r, c, (size_t)h, "K8S_NODENAME");
			const char *name = v ? str_of(v) : hn;
			if (!name) {
				value_unref(v);
				continue;
			}
			const struct value *prev = value_map_get(names, name);
			if (!nodename_ok(name))
				say(r, 1, c->hosts_path, line,
				    "node name '%s' of host %s is invalid: use lower-case letters, "
				    "digits, '-' and '.', starting and ending with a letter or "
				    "digit",
				    name, hn);
			else if (prev && strcmp(prev->u.str.s, hn) != 0)
				say(r, 1, c->hosts_path, line,
				    "node name '%s' of host %s is also the name of host %s", name,
				    hn, prev->u.str.s);
			else if (!prev)
				value_map_set(names, name, value_str(hn));
			value_unref(v);
		}
	}
	value_unref(names);
}

/* kubeasz's example config.yml carries version placeholders ("__calico__")
 * that `ezctl new` fills in; a config copied by hand keeps them. */
static void check_placeholders(struct report *r, struct cluster *c)
{
	for (size_t i = 0; i < value_len(c->config); i++) {
		const struct value *v = value_map_val(c->config, i);
		const char *s = str_of(v), *a, *b;
		if (!s || !(a = strstr(s, "__")) || !(b = strstr(a + 2, "__")) || b == a + 2)
			continue;
		int word = 1;
		for (const char *p = a + 2; p < b; p++)
			if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
				word = 0;
		if (word)
			say(r, 0, v->file, v->line,
			    "%s holds the placeholder '%.*s' that 'ezctl new' fills in: set a "
			    "real value",
			    value_map_key(c->config, i), (int)(b + 2 - a), a);
	}
}

static void warn_cb(void *ud, const char *msg)
{
	say(ud, 1, NULL, 0, "%s", msg);
}

static int run(int argc, char **argv, const struct ezk_globals *g)
{
	static const struct option opts[] = {{"extra-vars", required_argument, NULL, 'e'}, {0}};
	struct value *extra = value_map();
	int c;
	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, "e:", opts, NULL)) != -1) {
		if (c == 'e' && vars_parse_extra(optarg, extra) == 0)
			continue;
		value_unref(extra);
		if (c == 'e')
			return cmd_error(EZK_USAGE);
		return cmd_usage(&cmd_check, "bad option '%s'", argv[optind - 1]);
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
	static const char *const networks[] = {"calico",   "flannel", "cilium", "kube-router",
					       "kube-ovn", "none",    NULL};
	static const char *const runtimes[] = {"containerd", "docker", NULL};
	check_groups(&r, cl);
	check_placeholders(&r, cl);
	for (size_t h = 0; h < inventory_nhosts(cl->inv); h++) {
		struct value *all;
		if (vars_resolve_all(cl, h, &all, warn_cb, &r) == 0)
			value_unref(all);
	}
	if (inventory_nhosts(cl->inv) > 0) {
		for (size_t h = 0; h < inventory_nhosts(cl->inv); h++) {
			check_one_of(&r, cl, h, "CLUSTER_NETWORK", networks, 1);
			check_one_of(&r, cl, h, "CONTAINER_RUNTIME", runtimes, 1);
		}
		check_networks(&r, cl, 0);
		check_nodenames(&r, cl);
	}
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
	    "[etcd] has members (an odd number); [kube_master] has hosts; every host is in a\n"
	    "group; node names (K8S_NODENAME) are valid and unique; SERVICE_CIDR and\n"
	    "CLUSTER_CIDR are networks that overlap neither each other nor a host's address;\n"
	    "CLUSTER_NETWORK and CONTAINER_RUNTIME are supported values.\n",
    .complete = "cluster",
    .opts = "--extra-vars",
    .run = run,
};

/*
 * targets.c - host patterns (--limit) and connection variables. See
 * targets.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cluster.h"
#include "err.h"
#include "fsutil.h"
#include "inventory.h"
#include "pool.h"
#include "rx.h"
#include "targets.h"
#include "value.h"

void run_opts_init(struct run_opts *o)
{
	memset(o, 0, sizeof *o);
	o->forks = POOL_DEFAULT_FORKS;
	o->timeout_s = 10;
	const char *p = getenv("EZK_PERSIST");
	long ps = p && *p ? strtol(p, NULL, 10) : 0;
	o->persist_s = ps > 0 && ps <= 86400 ? (int)ps : 0;
	o->extra = value_map();
}

void run_opts_free(struct run_opts *o)
{
	value_unref(o->extra);
	o->extra = NULL;
}

int run_opts_parse(struct run_opts *o, int c, const char *arg)
{
	char *end;
	long n;
	switch (c) {
	case 'l': o->limit = arg; return 1;
	case 'f':
		n = strtol(arg, &end, 10);
		if (*end || n < 1 || n > 10000)
			return ezk_fail("--forks wants a number from 1 to 10000, not '%s'", arg);
		o->forks = (int)n;
		return 1;
	case 'T':
		n = strtol(arg, &end, 10);
		if (*end || n < 1 || n > 3600)
			return ezk_fail("--timeout wants seconds from 1 to 3600, not '%s'", arg);
		o->timeout_s = (int)n;
		return 1;
	case RUN_OPT_PERSIST:
		n = strtol(arg, &end, 10);
		if (*end || n < 0 || n > 86400)
			return ezk_fail("--persist wants seconds from 0 (off) to 86400, not '%s'",
					arg);
		o->persist_s = (int)n;
		return 1;
	case 'u': o->user = arg; return 1;
	case 'k': o->ask_pass = true; return 1;
	case 'K': o->ask_become_pass = true; return 1;
	case 'b': o->become = true; return 1;
	case 'e': return vars_parse_extra(arg, o->extra) < 0 ? -1 : 1;
	case RUN_OPT_JSON: o->json = true; return 1;
	case RUN_OPT_KEY: o->key_file = arg; return 1;
	case RUN_OPT_BECOME_USER: o->become_user = arg; return 1;
	case RUN_OPT_JUMP: o->jump = arg; return 1;
	case RUN_OPT_HOSTKEY:
		if (!strcmp(arg, "accept-new"))
			o->hostkey = SSH_HOSTKEY_ACCEPT_NEW;
		else if (!strcmp(arg, "strict") || !strcmp(arg, "yes"))
			o->hostkey = SSH_HOSTKEY_STRICT;
		else if (!strcmp(arg, "off") || !strcmp(arg, "no"))
			o->hostkey = SSH_HOSTKEY_OFF;
		else
			return ezk_fail("--host-key-checking wants accept-new, strict or off, not "
					"'%s'",
					arg);
		return 1;
	}
	return 0;
}

/* ---- patterns ---- */

static bool host_in_group(const struct inventory *inv, size_t h, size_t g)
{
	const size_t *gs;
	size_t n = inventory_host_groups(inv, h, &gs);
	for (size_t i = 0; i < n; i++)
		if (gs[i] == g)
			return true;
	return false;
}

/* Mark the hosts one pattern item names; -1 when it names nothing. */
static int match_item(const struct inventory *inv, const char *item, char *mark)
{
	size_t nh = inventory_nhosts(inv), ng = inventory_ngroups(inv);
	int found = 0;
	if (!strcmp(item, "all") || !strcmp(item, "*")) {
		memset(mark, 1, nh);
		return nh ? 0 : -1;
	}
	if (item[0] == '~') {
		/* a Python regular expression (rx.h), matched at the start of the
		 * name, as Ansible's re.match */
		char why[200];
		struct rx *re = rx_compile(item + 1, -1, 0, why, sizeof why);
		if (!re)
			return ezk_fail("--limit: bad regular expression '%s': %s", item + 1, why);
		struct rx_span m[1];
		for (size_t g = 0; g < ng; g++) {
			const char *name = inventory_group(inv, g);
			if (rx_search(re, name, strlen(name), 0, m, 1) > 0 && m[0].so == 0)
				for (size_t h = 0; h < nh; h++)
					if (host_in_group(inv, h, g))
						mark[h] = 1, found = 1;
		}
		for (size_t h = 0; h < nh; h++) {
			const char *name = inventory_host(inv, h);
			if (rx_search(re, name, strlen(name), 0, m, 1) > 0 && m[0].so == 0)
				mark[h] = 1, found = 1;
		}
		rx_free(re);
		return found ? 0 : -1;
	}
	bool glob = strpbrk(item, "*?[") != NULL;
	for (size_t g = 0; g < ng; g++) {
		const char *name = inventory_group(inv, g);
		if (glob ? fnmatch(item, name, 0) == 0 : strcmp(item, name) == 0)
			for (size_t h = 0; h < nh; h++)
				if (host_in_group(inv, h, g))
					mark[h] = 1, found = 1;
	}
	for (size_t h = 0; h < nh; h++) {
		const char *name = inventory_host(inv, h);
		if (glob ? fnmatch(item, name, 0) == 0 : strcmp(item, name) == 0)
			mark[h] = 1, found = 1;
	}
	return found ? 0 : -1;
}

/* Ansible splits on ',' when there is one, else on ':' (unless the whole
 * pattern is an IPv6 address). */
static char **split_pattern(const char *pattern, size_t *n)
{
	char sep = strchr(pattern, ',') ? ',' : ':';
	unsigned char v6[16];
	if (sep == ':' && inet_pton(AF_INET6, pattern, v6) == 1)
		sep = 0;
	char **items = NULL;
	*n = 0;
	const char *p = pattern;
	for (;;) {
		const char *e = sep ? strchr(p, sep) : NULL;
		size_t len = e ? (size_t)(e - p) : strlen(p);
		while (len && (*p == ' ' || *p == '\t'))
			p++, len--;
		while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len) {
			items = xrealloc(items, (*n + 1) * sizeof *items);
			items[(*n)++] = xstrndup(p, len);
		}
		if (!e)
			break;
		p = e + 1;
	}
	return items;
}

static int select_hosts(struct cluster *c, const char *pattern, bool strict, size_t **hosts,
			size_t *n);

int targets_select(struct cluster *c, const char *pattern, size_t **hosts, size_t *n)
{
	return select_hosts(c, pattern, true, hosts, n);
}

int targets_select_play(struct cluster *c, const char *pattern, size_t **hosts, size_t *n)
{
	return select_hosts(c, pattern, false, hosts, n);
}

static int select_hosts(struct cluster *c, const char *pattern, bool strict, size_t **hosts,
			size_t *n)
{
	const struct inventory *inv = c->inv;
	size_t nh = inventory_nhosts(inv), ni;
	*hosts = NULL;
	*n = 0;
	if (!pattern || !*pattern)
		pattern = "all";
	char **items = split_pattern(pattern, &ni);
	char *plus = xcalloc(nh + 1, 1), *and = xcalloc(nh + 1, 1), *minus = xcalloc(nh + 1, 1);
	bool any_plus = false, any_and = false;
	int rc = 0;
	for (size_t i = 0; i < ni && rc == 0; i++) {
		const char *it = items[i];
		char *into = plus;
		if (it[0] == '!')
			into = minus, it++;
		else if (it[0] == '&')
			into = and, it++;
		char *m = xcalloc(nh + 1, 1);
		ezk_err_clear();
		int mr = match_item(inv, it, m);
		if (mr < 0 && !strict && !*ezk_err_msg()) {
			/* a play's group without hosts (kube_node in an etcd-only
			 * cluster): that part selects nothing */
			if (into == and) {
				memset(and, 0, nh);
				any_and = true;
			}
			if (into == plus)
				any_plus = true;
		} else if (mr < 0) {
			if (!*ezk_err_msg())
				ezk_fail("--limit: no host or group in %s matches '%s'",
					 inventory_path(inv), it);
			rc = -1;
		} else if (into == and) {
			if (!any_and)
				memcpy(and, m, nh);
			else
				for (size_t h = 0; h < nh; h++)
					and[h] &= m[h];
			any_and = true;
		} else {
			for (size_t h = 0; h < nh; h++)
				into[h] |= m[h];
			if (into == plus)
				any_plus = true;
		}
		free(m);
	}
	if (rc == 0) {
		if (!any_plus)
			memset(plus, 1, nh);
		*hosts = xcalloc(nh + 1, sizeof **hosts);
		for (size_t h = 0; h < nh; h++)
			if (plus[h] && (!any_and || and[h]) && !minus[h])
				(*hosts)[(*n)++] = h;
		if (*n == 0 && strict) {
			rc = ezk_fail("--limit: '%s' leaves no hosts", pattern);
			free(*hosts);
			*hosts = NULL;
		}
	}
	for (size_t i = 0; i < ni; i++)
		free(items[i]);
	free(items);
	free(plus);
	free(and);
	free(minus);
	return rc;
}

/* ---- secrets ---- */

const char *const secret_var_names[] = {"ansible_ssh_pass",
					"ansible_password",
					"ansible_ssh_password",
					"ansible_become_pass",
					"ansible_become_password",
					"ansible_sudo_pass",
					NULL};

static bool is_secret_key(const char *k)
{
	for (const char *const *s = secret_var_names; *s; s++)
		if (!strcmp(k, *s))
			return true;
	return false;
}

/* The string values of the secret keys anywhere in v. */
static void secret_values(const struct value *v, struct value *into)
{
	if (!v)
		return;
	if (v->type == V_LIST) {
		for (size_t i = 0; i < value_len(v); i++)
			secret_values(value_list_get(v, i), into);
	} else if (v->type == V_MAP) {
		for (size_t i = 0; i < value_len(v); i++) {
			const struct value *x = value_map_val(v, i);
			if (is_secret_key(value_map_key(v, i)) && x && x->type == V_STR &&
			    x->u.str.len > 0 && strcmp(x->u.str.s, "********"))
				value_list_push(into, value_ref((struct value *)x));
			else
				secret_values(x, into);
		}
	}
}

/* A string that holds a secret ("{{ ansible_ssh_pass }}x" evaluated) is
 * shown as ********: a copy with every occurrence masked, or NULL. */
static struct value *masked(const struct value *x, const struct value *secrets)
{
	if (!x || x->type != V_STR)
		return NULL;
	char *cur = xstrdup(x->u.str.s);
	bool hit = false;
	for (size_t k = 0; k < value_len(secrets); k++) {
		const struct value *sv = value_list_get(secrets, k);
		if (!strstr(cur, sv->u.str.s))
			continue;
		struct buf b = BUF_INIT;
		const char *p = cur;
		for (const char *q; (q = strstr(p, sv->u.str.s)); p = q + sv->u.str.len) {
			buf_put(&b, p, (size_t)(q - p));
			buf_puts(&b, "********");
		}
		buf_puts(&b, p);
		free(cur);
		cur = buf_detach(&b);
		hit = true;
	}
	struct value *r = hit ? value_str(cur) : NULL;
	free(cur);
	return r;
}

static void redact_walk(struct value *v, const struct value *secrets)
{
	if (!v)
		return;
	if (v->type == V_LIST) {
		for (size_t i = 0; i < value_len(v); i++)
			redact_walk(value_list_get(v, i), secrets);
	} else if (v->type == V_MAP) {
		for (size_t i = 0; i < value_len(v); i++) {
			const char *k = value_map_key(v, i);
			struct value *m;
			if (is_secret_key(k))
				value_map_set(v, k, value_str("********"));
			else if ((m = masked(value_map_val(v, i), secrets)))
				value_map_set(v, k, m);
			else
				redact_walk(value_map_val(v, i), secrets);
		}
	}
}

struct value *value_redact_secrets(const struct value *v)
{
	struct value *c = value_copy(v);
	struct value *secrets = value_list();
	secret_values(c, secrets);
	redact_walk(c, secrets);
	value_unref(secrets);
	return c;
}

char *secret_read(const char *prompt)
{
	FILE *tty = isatty(STDIN_FILENO) ? fopen("/dev/tty", "r+") : NULL;
	FILE *in = tty ? tty : stdin;
	struct termios old, quiet;
	bool echo_off = false;
	if (tty) {
		/* Echo off before the prompt: whatever is typed after the prompt
		 * must survive (TCSAFLUSH after the prompt lost a quick answer). */
		if (tcgetattr(fileno(tty), &old) == 0) {
			quiet = old;
			quiet.c_lflag &= (tcflag_t) ~(ECHO | ECHONL);
			echo_off = tcsetattr(fileno(tty), TCSAFLUSH, &quiet) == 0;
		}
		fputs(prompt, tty);
		fflush(tty);
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t n = getline(&line, &cap, in);
	if (echo_off) {
		tcsetattr(fileno(tty), TCSANOW, &old);
		fputc('\n', tty);
	}
	if (tty)
		fclose(tty);
	if (n < 0) {
		free(line);
		return NULL;
	}
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = 0;
	return line;
}

static void wipe(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/* ---- per-host variables ---- */

static const char *keep(struct targets *ts, char *s)
{
	ts->owned = xrealloc(ts->owned, (ts->nowned + 1) * sizeof *ts->owned);
	ts->owned[ts->nowned++] = s;
	return s;
}

/* The first defined variable of names as a string (kept in ts), NULL if
 * none; -1 in *err on an evaluation error. */
static const char *var_str(struct targets *ts, struct cluster *c, size_t h,
			   const char *const *names, int *err)
{
	for (; *names; names++) {
		struct value *v = NULL;
		int rc = vars_get(c, h, *names, &v);
		if (rc < 0) {
			*err = -1;
			return NULL;
		}
		if (rc == 0) {
			struct buf b = BUF_INIT;
			if (v->type != V_NULL)
				value_to_str(v, &b);
			value_unref(v);
			if (!b.len) {
				buf_free(&b);
				continue;
			}
			return keep(ts, buf_detach(&b));
		}
	}
	return NULL;
}

static bool boolish(const char *s)
{
	static const char *const yes[] = {"1", "yes", "y", "true", "t", "on", NULL};
	for (const char *const *y = yes; *y; y++)
		if (!strcasecmp(s, *y))
			return true;
	return false;
}

/* -J host, -o ProxyJump=host, -o ProxyCommand=cmd (also "-oX=y", "X y"). */
static int parse_common_args(const char *args, const char **jump, const char **proxy_cmd,
			     struct targets *ts)
{
	const char *p = args;
	while (*p) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		const char *opt = NULL;
		size_t olen = 0;
		if (!strncmp(p, "-J", 2)) {
			p += 2;
			while (*p == ' ')
				p++;
			const char *e = p;
			while (*e && *e != ' ')
				e++;
			*jump = keep(ts, xstrndup(p, (size_t)(e - p)));
			p = e;
			continue;
		}
		if (!strncmp(p, "-o", 2)) {
			p += 2;
			while (*p == ' ')
				p++;
			char q = (*p == '"' || *p == '\'') ? *p++ : 0;
			const char *e = p;
			while (*e && (q ? *e != q : *e != ' '))
				e++;
			opt = p;
			olen = (size_t)(e - p);
			p = *e ? e + 1 : e;
		} else {
			while (*p && *p != ' ')
				p++;
			continue;
		}
		char *o = xstrndup(opt, olen);
		char *eq = strpbrk(o, "= ");
		if (eq) {
			*eq = 0;
			char *val = eq + 1;
			while (*val == ' ' || *val == '=')
				val++;
			if (!strcasecmp(o, "ProxyJump"))
				*jump = keep(ts, xstrdup(val));
			else if (!strcasecmp(o, "ProxyCommand"))
				*proxy_cmd = keep(ts, xstrdup(val));
		}
		free(o);
	}
	return 0;
}

static int host_target(struct targets *ts, struct cluster *c, size_t h, const struct run_opts *o,
		       struct ssh_target *t)
{
	int err = 0;
	const char *name = inventory_host(c->inv, h);
	t->name = name;
#define V(...) var_str(ts, c, h, (const char *const[]){__VA_ARGS__, NULL}, &err)
	t->addr = V("ansible_host", "ansible_ssh_host");
	const char *port = V("ansible_port", "ansible_ssh_port");
	t->user = V("ansible_user", "ansible_ssh_user");
	t->key_file = V("ansible_ssh_private_key_file", "ansible_private_key_file");
	t->password = V("ansible_ssh_pass", "ansible_password", "ansible_ssh_password");
	const char *become = V("ansible_become");
	t->become_user = V("ansible_become_user");
	t->become_password = V("ansible_become_password", "ansible_become_pass");
	const char *method = V("ansible_become_method");
	const char *common = V("ansible_ssh_common_args");
	const char *extra = V("ansible_ssh_extra_args");
	const char *conn = V("ansible_connection");
#undef V
	if (err)
		return -1;
	if (!t->addr)
		t->addr = name;
	if (port) {
		char *end;
		long p = strtol(port, &end, 10);
		if (*end || p < 1 || p > 65535)
			return ezk_fail("%s: ansible_port of %s is not a port: '%s'", c->hosts_path,
					name, port);
		t->port = (int)p;
	}
	if (!t->user)
		t->user = o->user;
	if (!t->key_file)
		t->key_file = o->key_file;
	t->become = become ? boolish(become) : o->become;
	if (!t->become_user)
		t->become_user = o->become_user;
	if (method && strcmp(method, "sudo") != 0)
		return ezk_fail("%s: ansible_become_method '%s' of %s: ezk becomes with sudo only",
				c->hosts_path, method, name);
	if (conn && strcmp(conn, "ssh") && strcmp(conn, "smart") && strcmp(conn, "paramiko"))
		return ezk_fail("%s: ansible_connection '%s' of %s: ezk connects with ssh only",
				c->hosts_path, conn, name);
	if (common)
		parse_common_args(common, &t->jump, &t->proxy_command, ts);
	if (extra)
		parse_common_args(extra, &t->jump, &t->proxy_command, ts);
	return 0;
}

int targets_open(struct cluster *c, const struct run_opts *o, const char *home,
		 struct targets **out)
{
	struct targets *ts = xcalloc(1, sizeof *ts);
	*out = NULL;
	if (targets_select(c, o->limit, &ts->host, &ts->n) < 0) {
		free(ts);
		return -1;
	}
	ts->t = xcalloc(ts->n, sizeof *ts->t);
	for (size_t i = 0; i < ts->n; i++)
		if (host_target(ts, c, ts->host[i], o, &ts->t[i]) < 0) {
			targets_free(ts);
			return -1;
		}
	struct ssh_conf conf = SSH_CONF_INIT;
	ts->known_hosts = path_join(home, "known_hosts");
	conf.known_hosts = ts->known_hosts;
	conf.hostkey = o->hostkey;
	conf.connect_timeout_ms = o->timeout_s * 1000;
	conf.key_file = o->key_file;
	conf.jump = o->jump;
	conf.persist_s = o->persist_s;
	conf.persist_dir = c->dir;
	if (o->ask_pass) {
		ts->password = secret_read("SSH password: ");
		if (!ts->password) {
			targets_free(ts);
			return ezk_fail("--ask-pass: no password given");
		}
		conf.password = ts->password;
	}
	if (o->ask_become_pass) {
		ts->become_password = secret_read("BECOME password[defaults to SSH password]: ");
		if (!ts->become_password) {
			targets_free(ts);
			return ezk_fail("--ask-become-pass: no password given");
		}
		if (!*ts->become_password && ts->password) {
			free(ts->become_password);
			ts->become_password = xstrdup(ts->password);
		}
		conf.become_password = ts->become_password;
	}
	ts->conf = conf;
	*out = ts;
	return 0;
}

void targets_free(struct targets *ts)
{
	if (!ts)
		return;
	for (size_t i = 0; i < ts->nowned; i++) {
		/* Some of these are passwords from the inventory. */
		explicit_bzero(ts->owned[i], strlen(ts->owned[i]));
		free(ts->owned[i]);
	}
	free(ts->owned);
	free(ts->host);
	free(ts->t);
	free(ts->known_hosts);
	wipe(ts->password);
	wipe(ts->become_password);
	free(ts);
}

/*
 * session.c - one libssh session per host: connect, check the host key
 * against ezk's known_hosts, authenticate. See ssh.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "err.h"
#include "ssh-int.h"

static pthread_mutex_t known_hosts_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init_libssh(void)
{
	ssh_init();
}

void random_hex(char *out, size_t n)
{
	unsigned char raw[64];
	size_t k = n / 2 > sizeof raw ? sizeof raw : n / 2;
	/* one system call (a command's mark takes one: shell.c) */
	ssize_t got = getrandom(raw, k, 0);
	if (got != (ssize_t)k) { /* never expected; still unique enough */
		for (size_t i = 0; i < k; i++)
			raw[i] = (unsigned char)(rand() ^ (getpid() >> (i % 8)));
	}
	static const char hx[] = "0123456789abcdef";
	for (size_t i = 0; i < k; i++) {
		out[2 * i] = hx[raw[i] >> 4];
		out[2 * i + 1] = hx[raw[i] & 15];
	}
	out[2 * k] = 0;
}

static char *dup_or_null(const char *s)
{
	return s && *s ? xstrdup(s) : NULL;
}

static void free_secret(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

static char *local_user(void)
{
	struct passwd *pw = getpwuid(getuid());
	if (pw && pw->pw_name)
		return xstrdup(pw->pw_name);
	const char *u = getenv("USER");
	return xstrdup(u && *u ? u : "root");
}

struct ssh_host *ssh_host_new(const struct ssh_conf *conf, const struct ssh_target *t)
{
	pthread_once(&init_once, init_libssh);
	struct ssh_host *h = xcalloc(1, sizeof *h);
	h->agent_fd = -1;
	h->conf = conf;
	h->name = xstrdup(t->name ? t->name : t->addr);
	h->addr = xstrdup(t->addr && *t->addr ? t->addr : h->name);
	h->port = t->port > 0 ? t->port : 22;
	h->user = t->user && *t->user ? xstrdup(t->user) : local_user();
	h->key_file = dup_or_null(t->key_file);
	h->password = dup_or_null(t->password ? t->password : conf->password);
	h->jump = dup_or_null(t->jump ? t->jump : conf->jump);
	h->proxy_command = dup_or_null(t->proxy_command);
	h->become = t->become;
	h->become_user = xstrdup(t->become_user && *t->become_user ? t->become_user : "root");
	h->become_password =
	    dup_or_null(t->become_password ? t->become_password : conf->become_password);
	return h;
}

void ssh_host_disconnect(struct ssh_host *h)
{
	agent_close(h);
	sftp_close(h);
	h->sftp_state = SFTP_UNTRIED;
	for (int i = 0; i < 2; i++)
		shell_close(&h->sh[i]);
	if (h->s) {
		ssh_disconnect(h->s);
		ssh_free(h->s);
		h->s = NULL;
	}
}

void ssh_host_free(struct ssh_host *h)
{
	if (!h)
		return;
	ssh_host_disconnect(h);
	free(h->name);
	free(h->addr);
	free(h->user);
	free(h->key_file);
	free(h->jump);
	free(h->proxy_command);
	free(h->become_user);
	free_secret(h->password);
	free_secret(h->become_password);
	free(h->hostkey_note);
	sc_free(h);
	stamps_free(h);
	free(h);
}

bool ssh_host_connected(const struct ssh_host *h)
{
	if (h->local || h->agent_fd >= 0)
		return true;
	return h->s && h->sh[0].up;
}
const char *ssh_host_name(const struct ssh_host *h)
{
	return h->name;
}
const char *ssh_host_user(const struct ssh_host *h)
{
	return h->user;
}
const char *ssh_host_hostkey_note(const struct ssh_host *h)
{
	return h->hostkey_note;
}
const char *ssh_host_auth_method(const struct ssh_host *h)
{
	return h->auth;
}
bool ssh_host_reused(const struct ssh_host *h)
{
	return h->agent_fd >= 0 && h->agent_reused;
}

int host_lost(struct ssh_host *h, const char *what)
{
	const char *why = h->s ? ssh_get_error(h->s) : "";
	if (why && *why)
		ezk_fail("%s: %s: %s", h->name, what, why);
	else
		ezk_fail("%s: %s", h->name, what);
	ssh_host_disconnect(h);
	return -1;
}

/* A connection's first channel is answered after the server opened the
 * PAM session (pam_systemd's logind call, pam_motd's run-parts) and sent
 * its hostkeys notice. Linux delays our ACK of that notice (we answered
 * the server fast before: "ping-pong" mode, ~40 ms of delayed ACK), and
 * sshd, which sets TCP_NODELAY only when a command starts, holds the
 * channel's confirmation back under Nagle until that ACK comes: 40 ms of
 * every login (measured: 43 ms of ezk ping's 127 on a test host). So the
 * open is sent without blocking and then, before waiting, TCP_QUICKACK
 * leaves ping-pong mode: what arrives next is acknowledged at once. */
int open_channel(struct ssh_host *h, ssh_channel ch)
{
	ssh_set_blocking(h->s, 0);
	int rc = ssh_channel_open_session(ch);
	ssh_set_blocking(h->s, 1);
	if (rc == SSH_AGAIN) {
		int one = 1;
		setsockopt(ssh_get_fd(h->s), IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
		rc = ssh_channel_open_session(ch);
	}
	return rc == SSH_OK ? SSH_OK : SSH_ERROR;
}

/* "[user@]host[:port]" -> a ProxyCommand through OpenSSH's client, as
 * OpenSSH's own ProxyJump does (libssh 0.10 has no native jump). The jump
 * host is checked against the same known_hosts file. */
static char *jump_command(const struct ssh_host *h)
{
	struct buf b = BUF_INIT;
	char *spec = xstrdup(h->jump), *at = strrchr(spec, '@'), *host = at ? at + 1 : spec;
	char *colon = strrchr(host, ':');
	const char *port = NULL;
	if (colon && !strchr(colon, ']')) {
		*colon = 0;
		port = colon + 1;
	}
	if (at)
		*at = 0;
	buf_puts(&b, "exec ssh -W '[%h]:%p' -o BatchMode=yes");
	const char *kh = h->conf->known_hosts;
	if (h->conf->hostkey == SSH_HOSTKEY_OFF || !kh) {
		buf_puts(&b, " -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null");
	} else {
		buf_puts(&b, " -o UserKnownHostsFile=");
		buf_sh_quote(&b, kh);
		buf_puts(&b, h->conf->hostkey == SSH_HOSTKEY_STRICT
				 ? " -o StrictHostKeyChecking=yes"
				 : " -o StrictHostKeyChecking=accept-new");
	}
	const char *key = h->key_file ? h->key_file : h->conf->key_file;
	if (key) {
		buf_puts(&b, " -i ");
		buf_sh_quote(&b, key);
	}
	if (port) {
		buf_puts(&b, " -p ");
		buf_sh_quote(&b, port);
	}
	if (at) {
		buf_puts(&b, " -l ");
		buf_sh_quote(&b, spec);
	}
	buf_puts(&b, " ");
	buf_sh_quote(&b, host);
	free(spec);
	return buf_detach(&b);
}

static char *stale_hint(const struct ssh_host *h)
{
	struct buf b = BUF_INIT;
	buf_puts(&b, "ssh-keygen -f ");
	buf_sh_quote(&b, h->conf->known_hosts);
	buf_puts(&b, " -R ");
	if (h->port != 22) {
		char tmp[300];
		snprintf(tmp, sizeof tmp, "[%s]:%d", h->addr, h->port);
		buf_sh_quote(&b, tmp);
	} else {
		buf_sh_quote(&b, h->addr);
	}
	return buf_detach(&b);
}

static int check_host_key(struct ssh_host *h)
{
	const struct ssh_conf *c = h->conf;
	if (c->hostkey == SSH_HOSTKEY_OFF || !c->known_hosts)
		return 0;
	ssh_key key = NULL;
	if (ssh_get_server_publickey(h->s, &key) != SSH_OK)
		return host_lost(h, "no host key");
	unsigned char *hash = NULL;
	size_t hlen = 0;
	char *fp = NULL;
	if (ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash, &hlen) == 0)
		fp = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, hlen);
	char desc[256];
	snprintf(desc, sizeof desc, "%s %s", ssh_key_type_to_char(ssh_key_type(key)),
		 fp ? fp : "?");
	ssh_clean_pubkey_hash(&hash);
	ssh_string_free_char(fp);
	ssh_key_free(key);

	int rc = 0;
	pthread_mutex_lock(&known_hosts_lock);
	enum ssh_known_hosts_e st = ssh_session_is_known_server(h->s);
	switch (st) {
	case SSH_KNOWN_HOSTS_OK: break;
	case SSH_KNOWN_HOSTS_CHANGED:
	case SSH_KNOWN_HOSTS_OTHER: {
		char *hint = stale_hint(h);
		ezk_fail("%s: host key changed (now %s), refusing to connect: someone may be "
			 "intercepting, or the host was reinstalled; if you know why, remove the "
			 "old key with: %s",
			 h->name, desc, hint);
		free(hint);
		rc = -1;
		break;
	}
	case SSH_KNOWN_HOSTS_NOT_FOUND:
	case SSH_KNOWN_HOSTS_UNKNOWN:
		if (c->hostkey == SSH_HOSTKEY_STRICT) {
			ezk_fail("%s: unknown host key %s and host key checking is strict: pin it "
				 "first (--host-key-checking=accept-new) or add it to %s",
				 h->name, desc, c->known_hosts);
			rc = -1;
		} else if (ssh_session_update_known_hosts(h->s) != SSH_OK) {
			ezk_fail("%s: cannot pin its host key in %s: %s", h->name, c->known_hosts,
				 ssh_get_error(h->s));
			rc = -1;
		} else {
			char note[400];
			snprintf(note, sizeof note, "pinned new host key for %s (%s)", h->name,
				 desc);
			h->hostkey_note = xstrdup(note);
		}
		break;
	default:
		ezk_fail("%s: cannot check its host key against %s: %s", h->name, c->known_hosts,
			 ssh_get_error(h->s));
		rc = -1;
	}
	pthread_mutex_unlock(&known_hosts_lock);
	return rc;
}

static int try_key_file(struct ssh_host *h, const char *path, int *tried_any)
{
	ssh_key key = NULL;
	if (access(path, R_OK) != 0)
		return 0;
	*tried_any = 1;
	int rc = ssh_pki_import_privkey_file(path, NULL, NULL, NULL, &key);
	if (rc != SSH_OK)
		return 0; /* encrypted or unreadable: ssh-agent is the way for those */
	rc = ssh_userauth_publickey(h->s, NULL, key);
	ssh_key_free(key);
	return rc == SSH_AUTH_SUCCESS ? 1 : rc == SSH_AUTH_ERROR ? -1 : 0;
}

static int kbdint(struct ssh_host *h, const char *pw)
{
	int rc = ssh_userauth_kbdint(h->s, NULL, NULL);
	for (int rounds = 0; rc == SSH_AUTH_INFO && rounds < 5; rounds++) {
		int n = ssh_userauth_kbdint_getnprompts(h->s);
		for (int i = 0; i < n; i++)
			if (ssh_userauth_kbdint_setanswer(h->s, (unsigned)i, pw) < 0)
				return SSH_AUTH_ERROR;
		rc = ssh_userauth_kbdint(h->s, NULL, NULL);
	}
	return rc;
}

static int authenticate(struct ssh_host *h)
{
	const struct ssh_conf *c = h->conf;
	struct buf tried = BUF_INIT;
	const char *sock = getenv("SSH_AUTH_SOCK");
	bool agent = !c->no_agent && sock && *sock;
	/* The key named for the host or the run goes first when no agent comes
	 * before it: asking with "none" first costs a round trip and, as every
	 * failed attempt does, sshd's fixed delay (5-9 ms, its per-user
	 * fake-delay): ~10 ms of each login. If the key fails, the rest goes on
	 * as below ("none", then what the server lists). */
	const char *first = agent ? NULL : h->key_file ? h->key_file : c->key_file;
	int rc;
	if (first) {
		int any = 0;
		rc = try_key_file(h, first, &any);
		if (!any) {
			buf_free(&tried);
			return ezk_fail("%s: cannot read key file %s", h->name, first);
		}
		buf_printf(&tried, ", key %s", first);
		if (rc > 0) {
			h->auth = "key";
			goto ok;
		}
		if (rc < 0)
			goto lost;
	}
	rc = ssh_userauth_none(h->s, NULL);
	if (rc == SSH_AUTH_SUCCESS) {
		h->auth = "none";
		return 0;
	}
	if (rc == SSH_AUTH_ERROR)
		return host_lost(h, "authentication");
	int methods = ssh_userauth_list(h->s, NULL);

	if (methods & SSH_AUTH_METHOD_PUBLICKEY) {
		if (agent) {
			buf_puts(&tried, ", agent");
			rc = ssh_userauth_agent(h->s, NULL);
			if (rc == SSH_AUTH_SUCCESS) {
				h->auth = "agent";
				goto ok;
			}
			if (rc == SSH_AUTH_ERROR)
				goto lost;
		}
		const char *files[8];
		size_t nf = 0;
		if (h->key_file)
			files[nf++] = h->key_file;
		if (c->key_file)
			files[nf++] = c->key_file;
		for (size_t i = 0; i < nf; i++) {
			if (first && !strcmp(files[i], first))
				continue; /* (tried first) */
			int any = 0;
			rc = try_key_file(h, files[i], &any);
			if (!any) {
				buf_free(&tried);
				return ezk_fail("%s: cannot read key file %s", h->name, files[i]);
			}
			buf_printf(&tried, ", key %s", files[i]);
			if (rc > 0) {
				h->auth = "key";
				goto ok;
			}
			if (rc < 0)
				goto lost;
		}
		if (!c->no_default_keys) {
			const char *home = getenv("HOME");
			struct passwd *pw = home ? NULL : getpwuid(getuid());
			if (!home && pw)
				home = pw->pw_dir;
			static const char *const names[] = {"id_ed25519", "id_ecdsa", "id_rsa"};
			for (size_t i = 0; home && i < 3; i++) {
				char path[4096];
				int any = 0;
				snprintf(path, sizeof path, "%s/.ssh/%s", home, names[i]);
				rc = try_key_file(h, path, &any);
				if (any)
					buf_printf(&tried, ", key ~/.ssh/%s", names[i]);
				if (rc > 0) {
					h->auth = "key";
					goto ok;
				}
				if (rc < 0)
					goto lost;
			}
		}
	}
	if (h->password) {
		if (methods & SSH_AUTH_METHOD_PASSWORD) {
			buf_puts(&tried, ", password");
			rc = ssh_userauth_password(h->s, NULL, h->password);
			if (rc == SSH_AUTH_SUCCESS) {
				h->auth = "password";
				goto ok;
			}
			if (rc == SSH_AUTH_ERROR)
				goto lost;
		}
		if (methods & SSH_AUTH_METHOD_INTERACTIVE) {
			buf_puts(&tried, ", keyboard-interactive");
			rc = kbdint(h, h->password);
			if (rc == SSH_AUTH_SUCCESS) {
				h->auth = "keyboard-interactive";
				goto ok;
			}
			if (rc == SSH_AUTH_ERROR)
				goto lost;
		}
	}
	ezk_fail("%s: authentication failed for %s (tried: %s)", h->name, h->user,
		 tried.len ? buf_cstr(&tried) + 2 : "nothing: no agent, key or password");
	buf_free(&tried);
	ssh_host_disconnect(h);
	return -1;
ok:
	buf_free(&tried);
	return 0;
lost:
	buf_free(&tried);
	return host_lost(h, "authentication");
}

bool session_key_known(struct ssh_host *h)
{
	const struct ssh_conf *c = h->conf;
	if (c->hostkey == SSH_HOSTKEY_OFF || !c->known_hosts)
		return true;
	pthread_mutex_lock(&known_hosts_lock);
	bool ok = h->s && ssh_session_is_known_server(h->s) == SSH_KNOWN_HOSTS_OK;
	pthread_mutex_unlock(&known_hosts_lock);
	return ok;
}

int ssh_host_local_addr(struct ssh_host *h, char *out, size_t n)
{
	if (h->local)
		return ezk_fail("%s is the deploy node itself", h->name);
	if (h->jump || h->proxy_command)
		return ezk_fail("%s is reached through %s", h->name,
				h->jump ? "a jump host" : "a ProxyCommand");
	if (h->agent_fd >= 0) {
		if (!h->agent_addr)
			return ezk_fail("%s: no connected session", h->name);
		snprintf(out, n, "%s", h->agent_addr);
		return 0;
	}
	int fd = h->s && ssh_is_connected(h->s) ? ssh_get_fd(h->s) : -1;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	if (fd < 0 || getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
		return ezk_fail("%s: no connected session", h->name);
	const void *a = ss.ss_family == AF_INET ? (void *)&((struct sockaddr_in *)&ss)->sin_addr
			: ss.ss_family == AF_INET6
			    ? (void *)&((struct sockaddr_in6 *)&ss)->sin6_addr
			    : NULL;
	if (!a || !inet_ntop(ss.ss_family, a, out, (socklen_t)n))
		return ezk_fail("%s: the session is not over TCP", h->name);
	return 0;
}

static void set_keepalive(struct ssh_host *h)
{
	int fd = ssh_get_fd(h->s), one = 1, idle = h->conf->keepalive_s, intvl = 10, cnt = 3;
	if (fd < 0 || idle <= 0)
		return;
	/* Fails harmlessly on the socketpair of a ProxyCommand. */
	if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one) == 0) {
		setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
		setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
		setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
	}
}

int ssh_host_connect(struct ssh_host *h)
{
	if (h->local)
		return 0;
	if (ssh_host_connected(h))
		return 0;
	ssh_host_disconnect(h);
	const struct ssh_conf *c = h->conf;
	if (c->persist_s > 0 && c->persist_dir) {
		int a = agent_attach(h);
		if (a <= 0)
			return a;
		/* no agent to be had: a session of our own */
	}
	h->s = ssh_new();
	if (!h->s)
		return ezk_fail("%s: out of memory", h->name);
	long tmo_us = (long)(c->connect_timeout_ms > 0 ? c->connect_timeout_ms : 10000) * 1000;
	int verbosity = SSH_LOG_NOLOG;
	ssh_options_set(h->s, SSH_OPTIONS_LOG_VERBOSITY, &verbosity);
	ssh_options_set(h->s, SSH_OPTIONS_HOST, h->addr);
	/* The user's ~/.ssh/config first, so that ours override it. */
	ssh_options_parse_config(h->s, NULL);
	ssh_options_set(h->s, SSH_OPTIONS_HOST, h->addr);
	unsigned int port = (unsigned)h->port;
	ssh_options_set(h->s, SSH_OPTIONS_PORT, &port);
	ssh_options_set(h->s, SSH_OPTIONS_USER, h->user);
	ssh_options_set(h->s, SSH_OPTIONS_TIMEOUT_USEC, &tmo_us);
	long zero = 0;
	ssh_options_set(h->s, SSH_OPTIONS_TIMEOUT, &zero);
	/* Without TCP_NODELAY a small command waits for the peer's delayed ACK
	 * (~40 ms): two orders of magnitude over the resident shell's cost. */
	int nodelay = 1;
	ssh_options_set(h->s, SSH_OPTIONS_NODELAY, &nodelay);
	ssh_options_set(h->s, SSH_OPTIONS_KNOWNHOSTS,
			c->known_hosts ? c->known_hosts : "/dev/null");
	ssh_options_set(h->s, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null");
	/* StrictHostKeyChecking stays libssh's default (yes): "no" there makes
	 * ssh_session_is_known_server() call every key known. */
	int yes = 1;
	ssh_options_set(h->s, SSH_OPTIONS_STRICTHOSTKEYCHECK, &yes);
	if (h->proxy_command) {
		ssh_options_set(h->s, SSH_OPTIONS_PROXYCOMMAND, h->proxy_command);
	} else if (h->jump) {
		char *pc = jump_command(h);
		ssh_options_set(h->s, SSH_OPTIONS_PROXYCOMMAND, pc);
		free(pc);
	}
	if (ssh_connect(h->s) != SSH_OK)
		return host_lost(h, "cannot connect");
	if (check_host_key(h) < 0) {
		ssh_host_disconnect(h);
		return -1;
	}
	if (authenticate(h) < 0)
		return -1;
	set_keepalive(h);
	/* Commands may run long: from now on reads wait as long as needed
	 * (TCP keepalive notices a dead peer; ssh_exec has its own deadline). */
	long day = 86400;
	ssh_options_set(h->s, SSH_OPTIONS_TIMEOUT, &day);
	random_hex(h->nonce, 32);
	return shell_start(h, 0);
}

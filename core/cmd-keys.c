/*
 * cmd-keys.c - `ezk keys push <c>`: put this machine's public key in
 * ~/.ssh/authorized_keys of the login user on every host, with a password
 * typed once (what kubeasz's ssh_key_push.sh and ssh-copy-id do by hand).
 *
 * The key is --key FILE (its FILE.pub), else the first of ~/.ssh/id_ed25519,
 * id_ecdsa, id_rsa; when there is none, an ed25519 key is made. On each
 * host the key line is added only if missing (so a second push changes
 * nothing), through a temporary file and a rename; then a new session
 * that offers only the key proves that it works.
 */
#include <errno.h>
#include <libssh/libssh.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cluster.h"
#include "cmd.h"
#include "err.h"
#include "fsutil.h"
#include "pool.h"
#include "report.h"
#include "ssh.h"
#include "targets.h"

extern const struct cmd cmd_keys;

struct push {
	struct targets *ts;
	const char *pub;     /* the key line */
	const char *keyfile; /* its private half */
	bool json;
	int *status; /* 0 ok, 1 failed, 2 unreachable */
	char **msg;
};

static const char *home_dir(void)
{
	const char *h = getenv("HOME");
	if (h && *h)
		return h;
	struct passwd *pw = getpwuid(getuid());
	return pw ? pw->pw_dir : "/root";
}

/* Find (or make) the deploy key; *priv and *pub are new strings. */
static int deploy_key(const char *given, char **priv, char **pub)
{
	char path[4096];
	*priv = *pub = NULL;
	if (given) {
		snprintf(path, sizeof path, "%s.pub", given);
		char *data;
		size_t len;
		if (file_read(path, &data, &len) < 0)
			return ezk_fail("--key %s: its public key %s cannot be read", given, path);
		*priv = xstrdup(given);
		*pub = data;
		return 0;
	}
	static const char *const names[] = {"id_ed25519", "id_ecdsa", "id_rsa"};
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof path, "%s/.ssh/%s.pub", home_dir(), names[i]);
		char *data;
		size_t len;
		if (access(path, R_OK) == 0 && file_read(path, &data, &len) == 0) {
			path[strlen(path) - 4] = 0;
			*priv = xstrdup(path);
			*pub = data;
			return 0;
		}
	}
	/* None: make one, as ssh-keygen would, without a passphrase. */
	char dir[3000];
	snprintf(dir, sizeof dir, "%s/.ssh", home_dir());
	if (mkdir_p(dir, 0700) < 0)
		return -1;
	snprintf(path, sizeof path, "%s/id_ed25519", dir);
	ssh_key key = NULL;
	if (ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &key) != SSH_OK)
		return ezk_fail("cannot make an ed25519 key");
	char *b64 = NULL;
	char host[256] = "localhost";
	gethostname(host, sizeof host - 1);
	int rc = ssh_pki_export_privkey_file(key, NULL, NULL, NULL, path);
	if (rc == SSH_OK)
		rc = ssh_pki_export_pubkey_base64(key, &b64);
	if (rc != SSH_OK) {
		ssh_key_free(key);
		return ezk_fail("%s: cannot write the new key", path);
	}
	chmod(path, 0600);
	struct buf b = BUF_INIT;
	buf_printf(&b, "%s %s ezk@%s\n", ssh_key_type_to_char(ssh_key_type(key)), b64, host);
	ssh_string_free_char(b64);
	ssh_key_free(key);
	char pubpath[4200];
	snprintf(pubpath, sizeof pubpath, "%s.pub", path);
	if (file_write_atomic(pubpath, b.s, b.len, 0644) < 0) {
		buf_free(&b);
		return -1;
	}
	fprintf(stderr, "ezk: made a new key %s\n", path);
	*priv = xstrdup(path);
	*pub = buf_detach(&b);
	return 0;
}

static void set(struct push *p, size_t i, int status, const char *msg)
{
	p->status[i] = status;
	p->msg[i] = xstrdup(msg);
}

static void push_one(size_t i, void *ud)
{
	struct push *p = ud;
	struct ssh_target t = p->ts->t[i];
	struct ssh_host *h = ssh_host_new(&p->ts->conf, &t);
	struct ssh_result r = SSH_RESULT_INIT;
	if (ssh_host_connect(h) < 0) {
		set(p, i, 2, msg_for_host(ezk_err_msg(), t.name));
		goto out;
	}
	if (ssh_host_hostkey_note(h) && !p->json)
		fprintf(stderr, "ezk: %s\n", ssh_host_hostkey_note(h));
	struct buf s = BUF_INIT;
	buf_puts(&s, "k=");
	buf_sh_quote(&s, p->pub);
	buf_puts(&s,
		 "\numask 077; d=\"$HOME/.ssh\"; f=\"$d/authorized_keys\"\n"
		 "mkdir -p \"$d\" && chmod 700 \"$d\" || exit 1\n"
		 "if [ -f \"$f\" ] && grep -qxF \"$k\" \"$f\"; then echo present; exit 0; fi\n"
		 "t=\"$f.ezk-tmp.$$\"\n"
		 "{ if [ -s \"$f\" ]; then cat \"$f\"; [ -n \"$(tail -c1 \"$f\")\" ] && echo; fi\n"
		 "  printf '%s\\n' \"$k\"; } > \"$t\" && chmod 600 \"$t\" && sync \"$t\" &&\n"
		 "  mv -f \"$t\" \"$f\" && echo added || { rm -f \"$t\"; exit 1; }\n");
	struct ssh_cmd cmd = {.script = s.s, .no_become = true, .timeout_ms = 30000};
	int rc = ssh_exec(h, &cmd, &r);
	buf_free(&s);
	if (rc < 0) {
		set(p, i, 2, msg_for_host(ezk_err_msg(), t.name));
		goto out;
	}
	if (r.status != 0) {
		set(p, i, 1, r.err.len ? r.err.s : "could not write authorized_keys");
		goto out;
	}
	bool added = strncmp(buf_cstr(&r.out), "added", 5) == 0;
	ssh_host_free(h);
	/* Prove it: a session that may use nothing but the key. */
	struct ssh_conf only_key = p->ts->conf;
	only_key.password = NULL;
	only_key.no_agent = true;
	only_key.no_default_keys = true;
	only_key.key_file = p->keyfile;
	t.password = NULL;
	t.key_file = p->keyfile;
	h = ssh_host_new(&only_key, &t);
	if (ssh_host_connect(h) < 0) {
		struct buf m = BUF_INIT;
		buf_printf(&m, "key %s but it does not log in: %s", added ? "added" : "present",
			   msg_for_host(ezk_err_msg(), t.name));
		set(p, i, 1, m.s);
		buf_free(&m);
		goto out;
	}
	set(p, i, 0, added ? "added" : "present");
out:
	ssh_result_free(&r);
	ssh_host_free(h);
	if (p->json) {
		static const char *const names[] = {"ok", "failed", "unreachable"};
		struct buf b = BUF_INIT;
		json_event_begin(&b, "host");
		json_field_str(&b, "host", t.name);
		json_field_str(&b, "status", names[p->status[i]]);
		json_field_str(&b, "msg", p->msg[i]);
		if (p->status[i] == 0)
			json_field_raw(&b, "changed",
				       strcmp(p->msg[i], "added") ? "false" : "true");
		json_event_emit(&b, stdout);
		buf_free(&b);
	}
}

static int run_keys(int argc, char **argv, const struct ezk_globals *g)
{
	struct run_opts o;
	int rc = EZK_OK, optind = cmd_parse_run(&cmd_keys, argc, argv, &o);
	if (optind < 0)
		return EZK_USAGE;
	if (argc - optind != 2 || strcmp(argv[optind], "push") != 0) {
		run_opts_free(&o);
		return cmd_usage(&cmd_keys, argc - optind < 1 || strcmp(argv[optind], "push")
						? "the only action is push"
						: "which cluster?");
	}
	struct cluster *cl;
	if (cluster_open(g->home, argv[optind + 1], o.extra, &cl) < 0) {
		run_opts_free(&o);
		return cmd_error(EZK_USAGE);
	}
	char *priv = NULL, *pub = NULL;
	struct targets *ts = NULL;
	if (deploy_key(o.key_file, &priv, &pub) < 0) {
		rc = cmd_error(EZK_USAGE);
		goto done;
	}
	pub[strcspn(pub, "\r\n")] = 0;
	/* The password is what this command is for: ask unless -k was given
	 * (then targets_open asks) or every host has its own. */
	o.ask_pass = true;
	if (targets_open(cl, &o, g->home, &ts) < 0) {
		rc = cmd_error(EZK_USAGE);
		goto done;
	}
	struct push p = {.ts = ts,
			 .pub = pub,
			 .keyfile = priv,
			 .json = o.json,
			 .status = xcalloc(ts->n, sizeof(int)),
			 .msg = xcalloc(ts->n, sizeof(char *))};
	pool_run(ts->n, o.forks, push_one, &p);
	struct table t = TABLE_INIT;
	table_row(&t, (const char *[]){"HOST", "USER", "RESULT", NULL});
	size_t bad = 0;
	for (size_t i = 0; i < ts->n; i++) {
		static const char *const names[] = {"ok", "failed", "unreachable"};
		char res[1200];
		snprintf(res, sizeof res, "%s: %s", names[p.status[i]], p.msg[i]);
		table_row(&t, (const char *[]){ts->t[i].name, ts->t[i].user ? ts->t[i].user : "-",
					       res, NULL});
		bad += p.status[i] != 0;
		free(p.msg[i]);
	}
	if (!o.json)
		table_print(&t, stdout);
	table_free(&t);
	free(p.status);
	free(p.msg);
	if (bad)
		rc = EZK_FAILED;
done:
	targets_free(ts);
	free(priv);
	free(pub);
	cluster_close(cl);
	run_opts_free(&o);
	return rc;
}

const struct cmd cmd_keys = {
    .name = "keys",
    .args = "push <cluster>",
    .summary = "put this machine's SSH key on every host (asks a password once)",
    .help = "Asks for the SSH password once (from the terminal, or one line of stdin when it\n"
	    "is not a terminal), then adds this machine's public key to ~/.ssh/authorized_keys\n"
	    "of the login user on every host, unless it is there already, and proves that the\n"
	    "key alone logs in. The key is --key FILE (FILE.pub is pushed), else\n"
	    "~/.ssh/id_ed25519, id_ecdsa or id_rsa; with none, an ed25519 key is made.\n",
    .examples = "Example:\n"
		"  ezk keys push prod\n",
    .complete = NULL,
    .options = run_options,
    .run = run_keys,
};

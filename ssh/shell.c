/*
 * shell.c - the resident remote shell and the framing of commands on it.
 *
 * One channel per host runs `sh` reading its commands as its own script
 * from the channel (it reads a pipe in blocks, as any sh does: no byte-by-
 * byte `read` loop, no eval of a line variable). A command is one framed
 * list, sent only after the previous one ended, so the shell never holds
 * bytes of the next command in its buffer:
 *
 *     { command eval 'SCRIPT'; } </dev/null; ezk_r=$?;
 *     printf '\001EZK<mark> %d\n' $ezk_r; printf '\001EZK<mark>\n' >&2
 *
 * SCRIPT is single-quoted; `command eval` keeps a syntax or expansion error
 * in it from ending the shell. The shell runs SCRIPT itself (no fork) when
 * it is a list of simple commands that cannot change or end the shell (see
 * runs_inline: `true`, `[ -e '/x' ]`, `systemctl is-active 'kubelet'`, a
 * call of a module's shell function); otherwise, and whenever a cwd, env or
 * timeout is given, in a subshell: `(cd DIR || exit 1; export K=V; eval
 * 'SCRIPT')`. The end is the marker on both streams: stdout up to the marker
 * is the command's, the number after it is its status (and, when counting,
 * the host's last PID).
 *
 * stdin: bytes in memory that are text (no NUL, ending in a newline, at
 * most 1 MiB) go as a here-document the shell reads itself (`<<'EZK...'`).
 * Anything else is streamed after a handshake: the command first prints
 * "\001EZK<mark>-", the client sends the bytes only then (the shell has
 * parsed the whole line and holds nothing else), and they are read by
 * `head -c LEN | { ...; ezk_r=$?; cat >/dev/null; exit $ezk_r; }`: head
 * takes exactly the bytes sent and the trailing cat drains what the command
 * did not read, so data can never be read by the shell as commands.
 *
 * A lib (ssh_cmd.lib: shell functions) is defined by `command eval 'LIB'`
 * before the first command that names it, once per shell.
 *
 * The stat cache (SC_LIB below): a lib's check reads a path's stat with
 * `ezk_sc_get PATH` instead of running stat(1). The shell keeps one stat(1)
 * of every path asked so far (and of the seed: the paths the run before
 * asked, sent with the run's first such command), taken again when a path
 * is new to it, when ezk may have changed the host since, or when it is
 * more than 5 s old. So the unchanged checks of a run cost one process
 * between two changes instead of one each. "May have changed": any command
 * not marked read_only, on any of the host's shells, drops the cache first
 * (`ezk_sc_v=`), and a read_only lib drops it itself when it changes
 * something. A change by someone else within the 5 s is seen on the next
 * run, as one made just after any check would be.
 *
 * Measured on the test hosts (2 cores, load 3): a process costs a host
 * 2-8 ms; setup 01-02's rerun asked stat(1) 20 times a host.
 *
 * Measured (NOTES.md): the shell's own round trip is that of a plain `sh`
 * reading `true; echo MARK` lines; a fork on the host is what costs.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "err.h"
#include "ssh-int.h"

#define MARK "\001EZK"

void buf_sh_quote(struct buf *b, const char *s)
{
	buf_putc(b, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			buf_puts(b, "'\\''");
		else
			buf_putc(b, *s);
	}
	buf_putc(b, '\'');
}

/* The resident shell: says it is ready, then reads the rest of the channel
 * as its script. The login user's is run by the login shell itself (sshd
 * runs the command with `$SHELL -c`; any shell parses this line): one
 * process fewer than `exec /bin/sh -c DRIVER`. */
static void driver(struct buf *b, const char *nonce)
{
	buf_printf(b, "printf 'EZK-READY %s\\n'; exec /bin/sh -s", nonce);
}

static void libs_free(struct ssh_shell *sh)
{
	for (size_t i = 0; i < sh->nlibs; i++)
		free(sh->libs[i]);
	free(sh->libs);
	sh->libs = NULL;
	sh->nlibs = 0;
}

/* A lib's key: its name and a hash of its text (a kept session, or a
 * changed roles tree, may send another text under the same name). */
static void lib_key(const struct ssh_cmd *cmd, char *out, size_t n)
{
	unsigned long long h = 1469598103934665603ull;
	for (const unsigned char *c = (const unsigned char *)cmd->lib; *c; c++)
		h = (h ^ *c) * 1099511628211ull;
	snprintf(out, n, "%.200s:%016llx", cmd->lib_name, h);
}

static bool lib_defined(const struct ssh_shell *sh, const char *name)
{
	for (size_t i = 0; i < sh->nlibs; i++)
		if (strcmp(sh->libs[i], name) == 0)
			return true;
	return false;
}

void shell_close(struct ssh_shell *sh)
{
	if (sh->ch) {
		if (sh->up)
			ssh_channel_send_eof(sh->ch);
		ssh_channel_close(sh->ch);
		ssh_channel_free(sh->ch);
	}
	sh->ch = NULL;
	sh->up = false;
	sh->sc_lib = sh->sc_dirty = false;
	libs_free(sh);
}

static int wait_readable(struct ssh_host *h, int ms)
{
	struct pollfd p = {.fd = ssh_get_fd(h->s), .events = POLLIN};
	if (p.fd < 0)
		return -1;
	int rc = poll(&p, 1, ms);
	return rc < 0 && errno != EINTR ? -1 : 0;
}

/* Read whatever both streams have into out/err: >0 bytes read, 0 nothing,
 * -1 channel gone (EOF or error). */
static int drain(ssh_channel ch, struct buf *out, struct buf *err)
{
	char tmp[65536];
	int total = 0;
	for (int is_err = 0; is_err < 2; is_err++) {
		for (;;) {
			int n = ssh_channel_read_nonblocking(ch, tmp, sizeof tmp, is_err);
			if (n == SSH_ERROR)
				return -1;
			if (n <= 0)
				break;
			buf_put(is_err ? err : out, tmp, (size_t)n);
			total += n;
			if (n < (int)sizeof tmp)
				break;
		}
	}
	if (total == 0 && (ssh_channel_is_eof(ch) || ssh_channel_is_closed(ch)))
		return -1;
	return total;
}

/* Start shell `which` (0 login user, 1 become user via sudo). */
int shell_start(struct ssh_host *h, int which)
{
	struct ssh_shell *sh = &h->sh[which];
	shell_close(sh);
	sh->ch = ssh_channel_new(h->s);
	if (!sh->ch || open_channel(h, sh->ch) != SSH_OK)
		return host_lost(h, "cannot open a channel");
	struct buf cmd = BUF_INIT, drv = BUF_INIT;
	char prompt[64];
	snprintf(prompt, sizeof prompt, "EZK-SUDO-%.16s:", h->nonce);
	driver(&drv, h->nonce);
	if (which == 0) {
		buf_put(&cmd, drv.s, drv.len);
	} else {
		buf_puts(&cmd, "exec sudo -S -p ");
		buf_sh_quote(&cmd, prompt);
		buf_puts(&cmd, " -u ");
		buf_sh_quote(&cmd, h->become_user);
		buf_puts(&cmd, " -- /bin/sh -c ");
		buf_sh_quote(&cmd, buf_cstr(&drv));
	}
	buf_free(&drv);
	int rc = ssh_channel_request_exec(sh->ch, buf_cstr(&cmd));
	buf_free(&cmd);
	if (rc != SSH_OK)
		return host_lost(h, "cannot start a shell");

	char ready[64];
	int rlen = snprintf(ready, sizeof ready, "EZK-READY %s\n", h->nonce);
	struct buf out = BUF_INIT, err = BUF_INIT;
	int prompts = 0;
	double deadline = clock_ms() +
			  (h->conf->connect_timeout_ms > 0 ? h->conf->connect_timeout_ms : 10000) +
			  20000;
	for (;;) {
		int n = drain(sh->ch, &out, &err);
		if (n < 0)
			break;
		if (out.len >= (size_t)rlen && memmem(out.s, out.len, ready, (size_t)rlen)) {
			sh->up = true;
			break;
		}
		if (which == 1) {
			int seen = 0;
			for (const char *p = buf_cstr(&err); (p = strstr(p, prompt)); p++)
				seen++;
			if (seen > prompts) {
				prompts = seen;
				if (prompts > 1) {
					ezk_fail("%s: sudo to %s: incorrect become password",
						 h->name, h->become_user);
					goto fail;
				}
				if (!h->become_password) {
					ezk_fail("%s: sudo to %s needs a password: give "
						 "--ask-become-pass or ansible_become_password",
						 h->name, h->become_user);
					goto fail;
				}
				size_t pl = strlen(h->become_password);
				char *line = xmalloc(pl + 2);
				memcpy(line, h->become_password, pl);
				line[pl] = '\n';
				line[pl + 1] = 0;
				int w = ssh_channel_write(sh->ch, line, (uint32_t)(pl + 1));
				explicit_bzero(line, pl + 1);
				free(line);
				if (w < 0)
					break;
			}
		}
		if (n == 0) {
			if (clock_ms() > deadline) {
				ezk_fail("%s: the remote shell did not start", h->name);
				goto fail;
			}
			if (wait_readable(h, 200) < 0)
				break;
		}
	}
	if (!sh->up) {
		/* The channel ended: say why in the remote's words. */
		char *e = (char *)buf_cstr(&err);
		if (which == 1) {
			/* Drop our prompt from sudo's message. */
			for (char *p; (p = strstr(e, prompt));)
				memmove(p, p + strlen(prompt), strlen(p + strlen(prompt)) + 1);
		}
		size_t el = strlen(e);
		while (el && (e[el - 1] == '\n' || e[el - 1] == ' '))
			e[--el] = 0;
		if (which == 1)
			ezk_fail("%s: sudo to %s failed: %s", h->name, h->become_user,
				 *e ? e : "no reason given");
		else
			ezk_fail("%s: the remote shell ended: %s", h->name,
				 *e ? e : "no reason given");
		goto fail;
	}
	buf_free(&out);
	buf_free(&err);
	return 0;
fail:
	buf_free(&out);
	buf_free(&err);
	shell_close(sh);
	if (which == 0)
		ssh_host_disconnect(h);
	return -1;
}

int shell_for(struct ssh_host *h, bool become, struct ssh_shell **out)
{
	if (!h->s || !h->sh[0].up)
		return ezk_fail("%s: not connected", h->name);
	int which = become && strcmp(h->user, h->become_user) != 0 ? 1 : 0;
	if (!h->sh[which].up && shell_start(h, which) < 0)
		return -1;
	*out = &h->sh[which];
	return 0;
}

/* ---- which scripts the shell may run itself ---- */

/* Names that, as a command, could change the resident shell (its variables,
 * directory, options, traps, fds, functions), end it, or are reserved words
 * whose misuse is a syntax error. */
static const char *const not_inline[] = {
    "!",       "[[",	  "]]",	    "{",       "}",	 "case",    "coproc",	 "do",
    "done",    "elif",	  "else",   "esac",    "fi",	 "for",	    "function",	 "if",
    "in",      "select",  "then",   "time",    "until",	 "while",   ":",	 ".",
    "alias",   "bg",	  "break",  "builtin", "cd",	 "chdir",   "command",	 "continue",
    "declare", "disown",  "enable", "eval",    "exec",	 "exit",    "export",	 "fc",
    "fg",      "getopts", "hash",   "history", "jobs",	 "kill",    "let",	 "local",
    "logout",  "mapfile", "newgrp", "popd",    "pushd",	 "read",    "readarray", "readonly",
    "return",  "set",	  "shift",  "shopt",   "source", "suspend", "times",	 "trap",
    "typeset", "ulimit",  "umask",  "unalias", "unset",	 "wait",    NULL};

static bool plain_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       strchr("_-./:,+@%=^~[]*?!", c) != NULL;
}

/* One word at *pp (unquoted plain characters, '...', "..." without $, `
 * or \): its unquoted text into w (cut at cap), whether it had quotes or
 * glob characters in *special. Returns false when it is not such a word. */
static bool scan_word(const char **pp, char *w, size_t cap, bool *special)
{
	const char *p = *pp;
	size_t n = 0;
	*special = false;
	if (!*p)
		return false;
	while (*p) {
		char c = *p;
		if (c == '\'' || c == '"') {
			const char *e = strchr(p + 1, c);
			if (!e)
				return false;
			if (c == '"')
				for (const char *q = p + 1; q < e; q++)
					if (*q == '$' || *q == '`' || *q == '\\')
						return false;
			for (const char *q = p + 1; q < e; q++)
				if (n + 1 < cap)
					w[n++] = *q;
			*special = true;
			p = e + 1;
		} else if (plain_char(c)) {
			if (strchr("*?[]", c))
				*special = true;
			if (n + 1 < cap)
				w[n++] = c;
			p++;
		} else {
			break;
		}
	}
	w[n] = 0;
	if (p == *pp)
		return false;
	*pp = p;
	return true;
}

/* Whether the resident shell may run script itself, without a subshell: a
 * list (; && || newlines) of pipelines of simple commands whose words are
 * plain or quoted text (no $, `, \, globbed or quoted command names), with
 * redirections to such words or to &N, no assignment, and no command that
 * could change or end the shell (not_inline). Such a script cannot fail to
 * parse, leave state behind or exit the shell: a fork saved. Anything else
 * runs in a subshell, as every command used to. */
bool runs_inline(const char *script)
{
	enum { START, IN_CMD, AFTER_SEMI, NEED_CMD, NEED_TARGET } st = START;
	bool named = false;   /* the current command has its name */
	bool printf_ = false; /* ... and it is printf (bash's printf -v sets a variable) */
	const char *p = script;
	char w[64];
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		char c = *p;
		if (!c)
			return st == START || st == IN_CMD || st == AFTER_SEMI;
		if (c == '\n') {
			if (st == NEED_TARGET)
				return false;
			if (st != NEED_CMD)
				st = START;
			p++;
			continue;
		}
		if (c == ';') {
			if (st != IN_CMD)
				return false;
			st = AFTER_SEMI;
			p++;
			continue;
		}
		if (c == '&' || c == '|') {
			if (st != IN_CMD)
				return false;
			if (c == '&' && p[1] != '&')
				return false; /* background */
			p += p[1] == c ? 2 : 1;
			st = NEED_CMD;
			continue;
		}
		if (c == '>' || c == '<' ||
		    (c >= '0' && c <= '9' && (p[1] == '>' || p[1] == '<'))) {
			if (st == NEED_TARGET)
				return false;
			if (c >= '0' && c <= '9')
				p++;
			char op = *p++;
			if (*p == op && op == '>')
				p++;
			else if (*p == op)
				return false; /* here-document */
			if (*p == '&') {
				p++;
				if (!(*p >= '0' && *p <= '9') || (p[1] >= '0' && p[1] <= '9'))
					return false;
				p++;
				if (st != IN_CMD)
					named = false;
				st = IN_CMD;
				continue;
			}
			if (st != IN_CMD)
				named = false;
			st = NEED_TARGET;
			continue;
		}
		bool special;
		if (!scan_word(&p, w, sizeof w, &special))
			return false;
		if (st == NEED_TARGET) {
			st = IN_CMD;
			continue;
		}
		if (st != IN_CMD)
			named = false;
		st = IN_CMD;
		if (named) {
			if (printf_ && strncmp(w, "-v", 2) == 0)
				return false;
			printf_ = false;
			continue;
		}
		named = true;
		printf_ = strcmp(w, "printf") == 0;
		/* the command's name: no assignment, no glob, quotes or keyword */
		if (special && strcmp(w, "[") != 0)
			return false;
		size_t k =
		    strspn(w, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
		if (w[k] == '=' && k > 0)
			return false;
		for (const char *const *x = not_inline; *x; x++)
			if (strcmp(w, *x) == 0)
				return false;
	}
}

/* Whether stdin bytes can travel as a here-document: text that ends in a
 * newline, no NUL, not too big, no line equal to the delimiter. */
static bool heredoc_ok(const struct ssh_cmd *cmd, const char *delim)
{
	if (!cmd->in || cmd->in_len > (1u << 20))
		return false;
	const char *d = cmd->in;
	size_t n = cmd->in_len, dl = strlen(delim);
	if (n == 0)
		return true;
	if (d[n - 1] != '\n' || memchr(d, 0, n))
		return false;
	/* a line equal to the delimiter would end the here-document early */
	for (const char *l = d; l < d + n;) {
		const char *e = memchr(l, '\n', (size_t)(d + n - l));
		if ((size_t)(e - l) == dl && memcmp(l, delim, dl) == 0)
			return false;
		l = e + 1;
	}
	return true;
}

/* The stat cache's functions (see the top of this file).
 *   ezk_sc_seed PATH...  the cache's first paths; drops what it holds
 *   ezk_sc_get PATH      0 and ezk_sv="SIZE MODE USER UID GROUP GID MTIME_S
 *                        DATE TIME.NS ZONE" (stat -c '%s %a %U %u %G %g %Y
 *                        %y', not following links), ezk_sk=file|directory;
 *                        1: not known (missing, a link, another kind, a path
 *                        with | or a newline, no /proc/uptime)
 * Globals ezk_sc_l (the paths, a line each), ezk_sc_v (the stat's lines,
 * "\n%F|...|%n\n"; empty: none held) and ezk_sc_t (the uptime it expires). */
static const char SC_LIB[] =
    "ezk_sc_seed() {\n"
    "  ezk_sc_l=; ezk_sc_v=\n"
    "  for ezk_sc_p do\n"
    "    case $ezk_sc_p in /*) ezk_sc_l=\"$ezk_sc_l$ezk_sc_p\n\" ;; esac\n"
    "  done\n"
    "}\n"
    "ezk_sc_get() {\n"
    "  local p=\"$1\" u l IFS\n"
    "  case $p in /*) ;; *) return 1 ;; esac\n"
    "  case $p in *'|'*|*\"\n\"*) return 1 ;; esac\n"
    "  read u l </proc/uptime 2>/dev/null || return 1\n"
    "  u=${u%.*}\n"
    "  case \"\n$ezk_sc_l\" in *\"\n$p\n\"*) ;; *) ezk_sc_l=\"$ezk_sc_l$p\n\"; ezk_sc_v= ;; esac\n"
    "  if [ -z \"$ezk_sc_v\" ] || [ \"$u\" -gt \"${ezk_sc_t:-0}\" ]; then\n"
    "    IFS='\n'\n"
    "    set -f\n"
    "    ezk_sc_v=\"\n$(LC_ALL=C stat -c '%F|%s %a %U %u %G %g %Y %y|%n' -- $ezk_sc_l "
    "2>/dev/null)\n\"\n"
    "    set +f\n"
    "    ezk_sc_t=$((u + 5))\n"
    "  fi\n"
    "  l=${ezk_sc_v%%\"|$p\n\"*}\n"
    "  [ \"$l\" != \"$ezk_sc_v\" ] || return 1\n"
    "  l=${l##*\"\n\"}\n"
    "  case $l in\n"
    "  'regular file|'*|'regular empty file|'*) ezk_sk=file ;;\n"
    "  'directory|'*) ezk_sk=directory ;;\n"
    "  *) return 1 ;;\n"
    "  esac\n"
    "  ezk_sv=${l#*|}\n"
    "}\n";

enum in_mode { IN_NONE, IN_HEREDOC, IN_STREAM };

static void frame(struct ssh_host *h, struct buf *b, const struct ssh_cmd *cmd, const char *mark,
		  bool send_lib, bool send_sc, bool sc_drop, enum in_mode in, const char *delim)
{
	if (send_sc) {
		buf_puts(b, "command eval ");
		buf_sh_quote(b, SC_LIB);
		buf_puts(b, " </dev/null\n");
	}
	if (sc_drop)
		buf_puts(b, "ezk_sc_v=\n");
	if (send_lib) {
		buf_puts(b, "command eval ");
		buf_sh_quote(b, cmd->lib);
		buf_puts(b, " </dev/null\n");
	}
	bool sub = cmd->cwd || (cmd->env && cmd->env[0]) || cmd->timeout_ms > 0 ||
		   !runs_inline(cmd->script);
	if (in == IN_STREAM)
		buf_printf(b, "printf '\\001EZK%s-\\n'; head -c %zu | { ", mark + 4, cmd->in_len);
	if (!sub) {
		buf_puts(b, in == IN_STREAM ? "command eval " : "{ command eval ");
		buf_sh_quote(b, cmd->script);
		if (in != IN_STREAM)
			buf_puts(b, "; }");
	} else {
		buf_puts(b, "(");
		if (cmd->cwd) {
			buf_puts(b, "cd ");
			buf_sh_quote(b, cmd->cwd);
			buf_puts(b, " || exit 1; ");
		}
		for (const char *const *e = cmd->env; e && *e; e++) {
			const char *eq = strchr(*e, '=');
			if (!eq || eq == *e)
				continue;
			buf_puts(b, "export ");
			buf_put(b, *e, (size_t)(eq - *e));
			buf_puts(b, "=");
			buf_sh_quote(b, eq + 1);
			buf_puts(b, "; ");
		}
		if (cmd->timeout_ms > 0) {
			/* timeout(1) runs the command in its own process group and
			 * kills the whole group: TERM at the deadline, KILL 2 s later.
			 * (The inner sh has no lib functions: it is given the lib.) */
			buf_printf(b, "exec timeout -k 2 %d.%03d sh -c ", cmd->timeout_ms / 1000,
				   cmd->timeout_ms % 1000);
			if (cmd->lib) {
				struct buf t = BUF_INIT;
				if (cmd->stat_path)
					buf_puts(&t, SC_STUB);
				buf_puts(&t, cmd->lib);
				buf_puts(&t, "\n");
				buf_puts(&t, cmd->script);
				buf_sh_quote(b, buf_cstr(&t));
				buf_free(&t);
			} else {
				buf_sh_quote(b, cmd->script);
			}
		} else {
			buf_puts(b, "eval ");
			buf_sh_quote(b, cmd->script);
		}
		buf_puts(b, ")");
	}
	if (in == IN_STREAM)
		buf_puts(b, "; ezk_r=$?; cat >/dev/null; exit $ezk_r; }");
	else if (in == IN_HEREDOC)
		buf_printf(b, " <<'%s'", delim);
	else
		buf_puts(b, " </dev/null");
	buf_puts(b, "; ezk_r=$?; ");
	if (h->count_procs)
		buf_puts(
		    b, "read ezk_p ezk_p ezk_p ezk_p ezk_p </proc/loadavg 2>/dev/null || ezk_p=; ");
	buf_printf(b, "printf '\\001EZK%s %%d%s\\n' $ezk_r%s; printf '\\001EZK%s\\n' >&2\n",
		   mark + 4, h->count_procs ? " %s" : "", h->count_procs ? " \"$ezk_p\"" : "",
		   mark + 4);
	if (in == IN_HEREDOC) {
		buf_put(b, cmd->in, cmd->in_len);
		buf_printf(b, "%s\n", delim);
	}
}

static int write_all(ssh_channel ch, const void *p, size_t n)
{
	const char *s = p;
	while (n) {
		uint32_t k = n > 65536 ? 65536 : (uint32_t)n;
		int w = ssh_channel_write(ch, s, k);
		if (w <= 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Stream exactly len bytes of a local file: the remote head(1) waits for
 * all of them, so a file that shrank meanwhile ends the session. */
static int write_file(struct ssh_host *h, ssh_channel ch, const char *path, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ezk_fail("%s: %s", path, strerror(errno));
		ssh_host_disconnect(h);
		return -1;
	}
	size_t cap = 1 << 20;
	char *buf = xmalloc(cap);
	int rc = 0;
	while (len && rc == 0) {
		ssize_t n = read(fd, buf, len < cap ? len : cap);
		if (n <= 0) {
			ezk_fail("%s: changed while it was being sent", path);
			ssh_host_disconnect(h);
			rc = -1;
		} else if (write_all(ch, buf, (size_t)n) < 0) {
			rc = host_lost(h, "connection lost");
		} else {
			len -= (size_t)n;
		}
	}
	free(buf);
	close(fd);
	return rc;
}

/* Bytes held back from a sink: enough to hold a marker split across reads. */
#define HOLD 64

/* Wait for the handshake "\001EZK<mark>-\n" on stdout (the command is ready
 * for its stdin) and drop it from r->out. */
static int wait_ready(struct ssh_host *h, struct ssh_shell *sh, const char *mark, int mlen,
		      struct ssh_result *r)
{
	for (;;) {
		int n = drain(sh->ch, &r->out, &r->err);
		if (n < 0)
			return host_lost(h, "connection lost");
		char *m = r->out.len ? memmem(r->out.s, r->out.len, mark, (size_t)mlen) : NULL;
		if (m && (size_t)(m - r->out.s) + (size_t)mlen + 2 <= r->out.len) {
			if (m[mlen] != '-' || m[mlen + 1] != '\n')
				return 0; /* ended before it read stdin: the loop sees it */
			size_t skip = (size_t)(m - r->out.s) + (size_t)mlen + 2;
			memmove(r->out.s, r->out.s + skip, r->out.len - skip);
			r->out.len -= skip;
			r->out.s[r->out.len] = 0;
			return 1;
		}
		if (n == 0 && wait_readable(h, 1000) < 0)
			return host_lost(h, "connection lost");
	}
}

static void count_pid(struct ssh_host *h, const char *p)
{
	char *e;
	long pid = strtol(p, &e, 10);
	if (e == p || pid <= 0)
		return;
	if (h->last_pid > 0 && pid >= h->last_pid)
		h->n_procs += pid - h->last_pid;
	h->last_pid = pid;
}

int shell_run(struct ssh_host *h, struct ssh_shell *sh, const struct ssh_cmd *cmd,
	      struct ssh_result *r)
{
	double t0 = clock_ms();
	char mark[80], delim[40];
	char seqhex[17];
	random_hex(seqhex, 16);
	int mlen = snprintf(mark, sizeof mark, MARK "%.16s%s%lu", h->nonce, seqhex, ++h->seq);
	snprintf(delim, sizeof delim, "EZK_IN_%s", seqhex);
	enum in_mode in = IN_NONE;
	if (cmd->in || cmd->in_path)
		in = heredoc_ok(cmd, delim) ? IN_HEREDOC : IN_STREAM;
	char key[224] = "";
	if (cmd->lib && cmd->lib_name)
		lib_key(cmd, key, sizeof key);
	bool send_lib = *key && !lib_defined(sh, key);
	/* the stat cache: a command that may change the host drops it in
	 * every shell of the host (here now, the other one before its next) */
	if (!cmd->read_only && !cmd->stat_path)
		h->sh[0].sc_dirty = h->sh[1].sc_dirty = true;
	bool send_sc = cmd->stat_path && !sh->sc_lib;
	bool sc_drop = sh->sc_lib && sh->sc_dirty;
	sh->sc_dirty = false;
	struct buf line = BUF_INIT;
	frame(h, &line, cmd, mark, send_lib, send_sc, sc_drop, in, delim);
	buf_reset(&r->out);
	buf_reset(&r->err);
	r->status = -1;
	r->timed_out = false;
	h->n_cmds++;
	int rc = write_all(sh->ch, line.s, line.len);
	buf_free(&line);
	if (rc < 0)
		return host_lost(h, "connection lost");
	if (send_sc)
		sh->sc_lib = true;
	if (send_lib) {
		sh->libs = xrealloc(sh->libs, (sh->nlibs + 1) * sizeof *sh->libs);
		sh->libs[sh->nlibs++] = xstrdup(key);
	}
	if (in == IN_STREAM) {
		int ready = wait_ready(h, sh, mark, mlen, r);
		if (ready < 0)
			return -1;
		if (ready && cmd->in && cmd->in_len)
			rc = write_all(sh->ch, cmd->in, cmd->in_len);
		if (rc < 0)
			return host_lost(h, "connection lost");
		if (ready && cmd->in_path && !cmd->in &&
		    write_file(h, sh->ch, cmd->in_path, cmd->in_len) < 0)
			return -1;
	}

	double deadline = cmd->timeout_ms > 0 ? t0 + cmd->timeout_ms + 15000
			  : h->ping_ms > 0    ? t0 + h->ping_ms
					      : 0;
	size_t out_scan = 0, err_scan = 0;
	bool out_done = false, err_done = false;
	while (!(out_done && err_done)) {
		int n = drain(sh->ch, &r->out, &r->err);
		if (n < 0)
			return host_lost(h, "connection lost");
		if (!out_done && r->out.len > out_scan) {
			size_t from = out_scan > (size_t)mlen ? out_scan - (size_t)mlen : 0;
			char *m = memmem(r->out.s + from, r->out.len - from, mark, (size_t)mlen);
			if (m && memchr(m, '\n', (size_t)(r->out.s + r->out.len - m))) {
				char *q;
				r->status = (int)strtol(m + mlen + 1, &q, 10);
				if (*q == ' ')
					count_pid(h, q + 1);
				r->out.len = (size_t)(m - r->out.s);
				r->out.s[r->out.len] = 0;
				out_done = true;
			} else {
				out_scan = r->out.len;
			}
			if (cmd->out_sink && r->out.len > (out_done ? 0 : 1 << 20)) {
				size_t give =
				    out_done ? r->out.len : r->out.len - HOLD - (size_t)mlen;
				if (cmd->out_sink(cmd->out_ud, r->out.s, give) < 0) {
					ssh_host_disconnect(h);
					return -1;
				}
				memmove(r->out.s, r->out.s + give, r->out.len - give);
				r->out.len -= give;
				r->out.s[r->out.len] = 0;
				out_scan = r->out.len;
			}
		}
		if (!err_done && r->err.len > err_scan) {
			size_t from = err_scan > (size_t)mlen ? err_scan - (size_t)mlen : 0;
			char *m = memmem(r->err.s + from, r->err.len - from, mark, (size_t)mlen);
			if (m && m + mlen < r->err.s + r->err.len && m[mlen] == '\n') {
				r->err.len = (size_t)(m - r->err.s);
				r->err.s[r->err.len] = 0;
				err_done = true;
			} else {
				err_scan = r->err.len;
			}
		}
		if (n == 0 && !(out_done && err_done)) {
			if (deadline && clock_ms() > deadline) {
				ezk_fail("%s: command did not end %d s after its timeout", h->name,
					 15);
				ssh_host_disconnect(h);
				return -1;
			}
			if (wait_readable(h, 1000) < 0)
				return host_lost(h, "connection lost");
		}
	}
	r->ms = clock_ms() - t0;
	if (cmd->timeout_ms > 0 && (r->status == 124 || r->status == 137) &&
	    r->ms >= cmd->timeout_ms)
		r->timed_out = true;
	return 0;
}

void ssh_host_count_procs(struct ssh_host *h, bool on)
{
	h->count_procs = on;
	h->last_pid = -1;
}

void ssh_host_stats(const struct ssh_host *h, unsigned long *cmds, long *procs)
{
	if (cmds)
		*cmds = h->n_cmds;
	if (procs)
		*procs = h->count_procs && h->last_pid > 0 ? h->n_procs : -1;
}

int ssh_host_floor(struct ssh_host *h, int n, double *ms)
{
	if (h->local || !h->s)
		return ezk_fail("%s: not connected", h->name);
	ssh_channel ch = ssh_channel_new(h->s);
	if (!ch || open_channel(h, ch) != SSH_OK ||
	    ssh_channel_request_exec(ch, "exec /bin/sh") != SSH_OK) {
		if (ch)
			ssh_channel_free(ch);
		return host_lost(h, "cannot open a channel");
	}
	static const char line[] = "true; echo EZK-FLOOR\n";
	struct buf out = BUF_INIT, err = BUF_INIT;
	int rc = 0;
	for (int i = 0; i < n && rc == 0; i++) {
		double t0 = clock_ms();
		buf_reset(&out);
		if (write_all(ch, line, sizeof line - 1) < 0) {
			rc = host_lost(h, "connection lost");
			break;
		}
		while (!memmem(buf_cstr(&out), out.len, "EZK-FLOOR\n", 10)) {
			int k = drain(ch, &out, &err);
			if (k < 0) {
				rc = host_lost(h, "connection lost");
				break;
			}
			if (k == 0 && wait_readable(h, 1000) < 0) {
				rc = host_lost(h, "connection lost");
				break;
			}
		}
		ms[i] = clock_ms() - t0;
	}
	buf_free(&out);
	buf_free(&err);
	if (h->s) { /* (a lost host's session freed its channels) */
		ssh_channel_send_eof(ch);
		ssh_channel_close(ch);
		ssh_channel_free(ch);
	}
	return rc;
}

void ssh_result_free(struct ssh_result *r)
{
	buf_free(&r->out);
	buf_free(&r->err);
}

int shell_ping(struct ssh_host *h, int ms)
{
	struct ssh_shell *sh;
	struct ssh_cmd c = {.script = ":", .no_become = true};
	struct ssh_result r = SSH_RESULT_INIT;
	if (shell_for(h, false, &sh) < 0)
		return -1;
	h->ping_ms = ms;
	int rc = shell_run(h, sh, &c, &r);
	h->ping_ms = 0;
	ssh_result_free(&r);
	return rc < 0 || r.status != 0 ? -1 : 0;
}

static void strv_push(char ***v, size_t *n, const char *s)
{
	*v = xrealloc(*v, (*n + 1) * sizeof **v);
	(*v)[(*n)++] = xstrdup(s);
}

/* A path the stat cache can hold: absolute, no | or newline (SC_LIB), not
 * too long. */
static bool sc_path_ok(const char *p)
{
	return p[0] == '/' && !strpbrk(p, "|\n") && strlen(p) < 1024;
}

#define SC_MAX 1024 /* paths a host's seed or record holds */

void ssh_host_stat_seed(struct ssh_host *h, const char *const *paths, size_t n)
{
	for (size_t i = 0; i < n && h->n_sc_seed < SC_MAX; i++)
		if (sc_path_ok(paths[i]))
			strv_push(&h->sc_seed, &h->n_sc_seed, paths[i]);
}

size_t ssh_host_stat_paths(const struct ssh_host *h, const char *const **paths)
{
	*paths = (const char *const *)h->sc_paths;
	return h->n_sc_paths;
}

void sc_free(struct ssh_host *h)
{
	for (size_t i = 0; i < h->n_sc_seed; i++)
		free(h->sc_seed[i]);
	for (size_t i = 0; i < h->n_sc_paths; i++)
		free(h->sc_paths[i]);
	free(h->sc_seed);
	free(h->sc_paths);
	h->sc_seed = h->sc_paths = NULL;
	h->n_sc_seed = h->n_sc_paths = 0;
	for (int k = 0; k < 2; k++) {
		for (size_t i = 0; i < h->n_sync_dirs[k]; i++)
			free(h->sync_dirs[k][i]);
		free(h->sync_dirs[k]);
		h->sync_dirs[k] = NULL;
		h->n_sync_dirs[k] = 0;
	}
}

void sync_later(struct ssh_host *h, bool become, const char *dir)
{
	for (size_t i = 0; i < h->n_sync_dirs[become]; i++)
		if (strcmp(h->sync_dirs[become][i], dir) == 0)
			return;
	strv_push(&h->sync_dirs[become], &h->n_sync_dirs[become], dir);
}

/* "sync -- DIR... 2>/dev/null\n" for the directories waiting on shell kind
 * become (emptied), or NULL */
static char *sync_line(struct ssh_host *h, bool become)
{
	if (!h->n_sync_dirs[become])
		return NULL;
	/* the login user's, through SFTP when it writes here (sftp.c): no
	 * process */
	if (!become && h->sftp_state == SFTP_UP &&
	    (h->agent_fd >= 0 ? agent_sync(h, h->sync_dirs[0], h->n_sync_dirs[0])
			      : sftp_sync(h, h->sync_dirs[0], h->n_sync_dirs[0])) == 0) {
		for (size_t i = 0; i < h->n_sync_dirs[0]; i++)
			free(h->sync_dirs[0][i]);
		h->n_sync_dirs[0] = 0;
		return NULL;
	}
	struct buf b = BUF_INIT;
	buf_puts(&b, "sync --");
	for (size_t i = 0; i < h->n_sync_dirs[become]; i++) {
		buf_putc(&b, ' ');
		buf_sh_quote(&b, h->sync_dirs[become][i]);
		free(h->sync_dirs[become][i]);
	}
	buf_puts(&b, " 2>/dev/null\n");
	h->n_sync_dirs[become] = 0;
	char *s = xstrdup(buf_cstr(&b));
	buf_free(&b);
	return s;
}

int ssh_host_sync_dirs(struct ssh_host *h)
{
	int rc = 0;
	for (int k = 0; k < 2 && rc == 0; k++) {
		char *line = sync_line(h, k);
		if (!line)
			continue;
		struct ssh_cmd c = {
		    .script = line, .become = k, .no_become = !k, .read_only = true};
		struct ssh_result r = SSH_RESULT_INIT;
		rc = ssh_exec(h, &c, &r);
		ssh_result_free(&r);
		free(line);
	}
	return rc;
}

/* Remember a command's stat_path; and with the run's first such command on
 * a shell kind, send the seed first (in the script itself, so a kept
 * session's shell gets it through the agent too). The seed goes only with
 * a command the shell runs itself (no cwd, env or timeout: a subshell
 * would keep it). Returns NULL, or the new script (the caller frees). */
static char *sc_prepare(struct ssh_host *h, const struct ssh_cmd *cmd, bool become)
{
	if (!cmd->stat_path || h->local || !sc_path_ok(cmd->stat_path))
		return NULL;
	bool known = false;
	for (size_t i = 0; i < h->n_sc_paths && !known; i++)
		known = strcmp(h->sc_paths[i], cmd->stat_path) == 0;
	if (!known && h->n_sc_paths < SC_MAX)
		strv_push(&h->sc_paths, &h->n_sc_paths, cmd->stat_path);
	if (h->sc_seeded[become] || cmd->cwd || (cmd->env && cmd->env[0]) || cmd->timeout_ms > 0)
		return NULL;
	h->sc_seeded[become] = true;
	if (!h->n_sc_seed)
		return NULL;
	struct buf b = BUF_INIT;
	buf_puts(&b, "ezk_sc_seed");
	for (size_t i = 0; i < h->n_sc_seed; i++) {
		buf_putc(&b, ' ');
		buf_sh_quote(&b, h->sc_seed[i]);
	}
	buf_putc(&b, '\n');
	buf_puts(&b, cmd->script);
	char *s = xstrdup(buf_cstr(&b));
	buf_free(&b);
	return s;
}

int ssh_exec(struct ssh_host *h, const struct ssh_cmd *cmd, struct ssh_result *r)
{
	struct ssh_shell *sh;
	bool become = cmd->become || (h->become && !cmd->no_become);
	/* a command that may use what uploads wrote: their directories'
	 * fsyncs first, in the same round trip */
	char *sync =
	    !cmd->read_only && !cmd->stat_path && !cmd->upload ? sync_line(h, become) : NULL;
	if (sync) {
		struct ssh_cmd c = *cmd;
		struct buf b = BUF_INIT;
		buf_puts(&b, sync);
		buf_puts(&b, cmd->script);
		c.script = buf_cstr(&b);
		int rc = ssh_exec(h, &c, r);
		buf_free(&b);
		free(sync);
		return rc;
	}
	char *seeded = sc_prepare(h, cmd, become);
	if (seeded) {
		struct ssh_cmd c = *cmd;
		c.script = seeded;
		int rc = ssh_exec(h, &c, r);
		free(seeded);
		return rc;
	}
	if (h->agent_fd >= 0)
		return agent_exec(h, cmd, r);
	if (h->local) {
		struct ssh_cmd c = *cmd;
		c.become = become;
		h->n_cmds++;
		return local_exec(h, &c, r);
	}
	if (shell_for(h, become, &sh) < 0)
		return -1;
	return shell_run(h, sh, cmd, r);
}

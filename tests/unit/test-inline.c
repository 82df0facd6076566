/*
 * test-inline.c - which scripts the resident shell runs itself, without a
 * subshell (ssh/shell.c runs_inline): only those that cannot change or end
 * the shell, or fail to parse.
 */
#include <stdbool.h>

#include "ssh-int.h"
#include "tap.h"

/* the script on one line, for the TAP line */
static const char *name(const char *kind, const char *s)
{
	static char w[200];
	size_t n = (size_t)snprintf(w, sizeof w, "%s: ", kind);
	for (; *s && n + 3 < sizeof w; s++)
		if (*s == '\n') {
			w[n++] = '\\';
			w[n++] = 'n';
		} else {
			w[n++] = *s;
		}
	w[n] = 0;
	return w;
}

int main(void)
{
	static const char *const yes[] = {
	    "true",
	    "",
	    "[ -e '/etc/x' ]",
	    "systemctl is-active 'kubelet'",
	    "test -d /opt && echo yes >&2",
	    "cat /etc/hostname | tr a-z A-Z",
	    "echo \"a b\" >/tmp/x; ls -l /tmp/x 2>&1\n",
	    "false || true\nuname -r",
	    "a &&\n b",
	    "printf '%s\\n' x",
	    "grep -q ^x= /etc/environment 2>/dev/null",
	    NULL,
	};
	static const char *const no[] = {
	    "exit 1",
	    "cd /tmp",
	    "x=1",
	    "x=1 true",
	    "echo $HOME",
	    "echo `id`",
	    "echo \"$x\"",
	    "sleep 1 &",
	    "if true; then :; fi",
	    "{ true; }",
	    "(true)",
	    "cat <<EOF\nx\nEOF",
	    "set -e",
	    "export A=b",
	    "unset PATH",
	    ". /etc/profile",
	    "exec true",
	    "'exit' 1",
	    "true |",
	    "true ;;",
	    "echo x >",
	    "echo 'open",
	    "echo a\\ b",
	    "kill 0",
	    "trap 'x' EXIT",
	    "umask 077",
	    "read x",
	    "printf -v PATH x",
	    "f() { true; }",
	    "echo x # comment",
	    "echo x >&-",
	    NULL,
	};
	for (const char *const *s = yes; *s; s++)
		ok(runs_inline(*s), name("inline", *s));
	for (const char *const *s = no; *s; s++)
		ok(!runs_inline(*s), name("subshell", *s));
	return tap_done();
}

/*
 * quote.h - a value written into a file of another format (a systemd unit,
 * TOML, YAML, an nginx/haproxy/chrony/keepalived config word), quoted so
 * that the reader of that format gets the exact value back, or refused when
 * the format cannot hold it.
 *
 * One set of rules, used by the template filters (systemd_arg, systemd_env,
 * systemd_value, toml_str, yaml_str, conf_word: core/tmpl), by the roles
 * (ezk.quote(format, s)) and by `ezk check` (the same ezk.quote in
 * roles/check.lua), so what check accepts is what the templates can write.
 *
 *     struct buf b = BUF_INIT;
 *     const char *why;
 *     if (quote_as(QUOTE_SYSTEMD_ARG, s, n, &b, &why) < 0)
 *         ...;   // why: "holds a control character (newline)", ...
 *
 * Formats:
 *   systemd_arg    one word of a unit's command line (ExecStart=...):
 *                  as is when it has only letters, digits and - _ . / : = , @ +;
 *                  otherwise in double quotes with \ and " escaped by \, % as %%
 *                  and $ as $$ (systemd's specifiers and variables).
 *   systemd_env    one VAR=value of Environment=: always in double quotes, \ and "
 *                  escaped, % as %% (Environment= expands no $).
 *   systemd_value  the value of any other setting (WorkingDirectory=,
 *                  Description=): % as %%; no quoting exists there, so leading
 *                  or trailing blanks and a trailing \ are refused.
 *   toml           a TOML basic string, quotes included ("..."; every byte
 *                  can be written).
 *   yaml           a YAML double-quoted scalar, quotes included.
 *   word           a word of nginx, haproxy, chrony or keepalived configuration:
 *                  as is, and refused when empty or when it holds a blank, a
 *                  quote, \ ; { } # $ (what those readers would split or
 *                  interpret).
 * Every systemd format refuses control characters (a unit is read a line at
 * a time), as does word.
 */
#ifndef EZK_QUOTE_H
#define EZK_QUOTE_H

#include <stddef.h>

struct buf;

enum quote_format {
	QUOTE_SYSTEMD_ARG,
	QUOTE_SYSTEMD_ENV,
	QUOTE_SYSTEMD_VALUE,
	QUOTE_TOML,
	QUOTE_YAML,
	QUOTE_WORD,
};

/* The format named name ("systemd_arg", ...): 0 and *out, or -1. */
int quote_format_named(const char *name, enum quote_format *out);

/* Append s (n bytes) written for format f to out: 0, or -1 with *why (a
 * static string) when f cannot hold s (out is then unchanged). */
int quote_as(enum quote_format f, const char *s, size_t n, struct buf *out, const char **why);

struct lua_State;
/* Adds quote(format, s) -> quoted | nil, why to the table on top of the
 * stack (the ezk table of roles and of check.lua). */
void luaquote_open(struct lua_State *L);

#endif

/*
 * quote.c - values quoted for the format they are written into (quote.h).
 */
#include "quote.h"

#include <lauxlib.h>
#include <lua.h>
#include <string.h>

#include "buf.h"

static const struct {
	const char *name;
	enum quote_format f;
} formats[] = {
    {"systemd_arg", QUOTE_SYSTEMD_ARG},
    {"systemd_env", QUOTE_SYSTEMD_ENV},
    {"systemd_value", QUOTE_SYSTEMD_VALUE},
    {"toml", QUOTE_TOML},
    {"yaml", QUOTE_YAML},
    {"word", QUOTE_WORD},
};

int quote_format_named(const char *name, enum quote_format *out)
{
	for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
		if (!strcmp(formats[i].name, name)) {
			*out = formats[i].f;
			return 0;
		}
	return -1;
}

static int is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

static const char *ctl_why(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\n')
			return "holds a newline";
		if (c == '\r')
			return "holds a carriage return";
		if (c == '\t')
			return "holds a tab";
		if (is_ctl(c))
			return "holds a control character";
	}
	return NULL;
}

static int plain_arg(const char *s, size_t n)
{
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      strchr("-_./:=,@+", c)))
			return 0;
	}
	return 1;
}

static void escaped_json(struct buf *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	buf_putc(out, '"');
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		switch (c) {
		case '"': buf_puts(out, "\\\""); break;
		case '\\': buf_puts(out, "\\\\"); break;
		case '\n': buf_puts(out, "\\n"); break;
		case '\t': buf_puts(out, "\\t"); break;
		case '\r': buf_puts(out, "\\r"); break;
		default:
			if (is_ctl(c)) {
				buf_puts(out, "\\u00");
				buf_putc(out, hex[c >> 4]);
				buf_putc(out, hex[c & 15]);
			} else {
				buf_putc(out, (char)c);
			}
		}
	}
	buf_putc(out, '"');
}

int quote_as(enum quote_format f, const char *s, size_t n, struct buf *out, const char **why)
{
	*why = NULL;
	switch (f) {
	case QUOTE_TOML:
	case QUOTE_YAML: escaped_json(out, s, n); return 0;
	case QUOTE_WORD:
		if (n == 0)
			*why = "is empty";
		else if (!(*why = ctl_why(s, n)))
			for (size_t i = 0; i < n && !*why; i++)
				if (strchr(" \"'\\;{}#$", s[i]))
					*why = s[i] == ' ' ? "holds a blank"
							   : "holds one of \" ' \\ ; { } # $";
		if (*why)
			return -1;
		buf_put(out, s, n);
		return 0;
	case QUOTE_SYSTEMD_VALUE:
		if ((*why = ctl_why(s, n)))
			return -1;
		if (n && (s[0] == ' ' || s[n - 1] == ' ')) {
			*why = "starts or ends with a blank (systemd would drop it)";
			return -1;
		}
		if (n && s[n - 1] == '\\') {
			*why = "ends with \\ (systemd would join the next line)";
			return -1;
		}
		for (size_t i = 0; i < n; i++) {
			if (s[i] == '%')
				buf_putc(out, '%');
			buf_putc(out, s[i]);
		}
		return 0;
	case QUOTE_SYSTEMD_ARG:
	case QUOTE_SYSTEMD_ENV:
		if ((*why = ctl_why(s, n)))
			return -1;
		if (f == QUOTE_SYSTEMD_ARG && plain_arg(s, n)) {
			buf_put(out, s, n);
			return 0;
		}
		buf_putc(out, '"');
		for (size_t i = 0; i < n; i++) {
			char c = s[i];
			if (c == '\\' || c == '"')
				buf_putc(out, '\\');
			else if (c == '%' || (c == '$' && f == QUOTE_SYSTEMD_ARG))
				buf_putc(out, c);
			buf_putc(out, c);
		}
		buf_putc(out, '"');
		return 0;
	}
	*why = "unknown format";
	return -1;
}

/* ezk.quote(format, s): the quoted text, or nil and why */
static int l_quote(lua_State *L)
{
	const char *fn = luaL_checkstring(L, 1);
	size_t n;
	const char *s = luaL_checklstring(L, 2, &n);
	enum quote_format f;
	if (quote_format_named(fn, &f) < 0)
		return luaL_argerror(L, 1,
				     "a format: systemd_arg, systemd_env, systemd_value, "
				     "toml, yaml or word");
	struct buf b = BUF_INIT;
	const char *why;
	if (quote_as(f, s, n, &b, &why) < 0) {
		buf_free(&b);
		lua_pushnil(L);
		lua_pushstring(L, why);
		return 2;
	}
	lua_pushlstring(L, b.s ? b.s : "", b.len);
	buf_free(&b);
	return 1;
}

void luaquote_open(lua_State *L)
{
	lua_pushcfunction(L, l_quote);
	lua_setfield(L, -2, "quote");
}

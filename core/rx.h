/*
 * rx.h - ezk's one regular expression engine, Python's `re` syntax:
 * what `regexp=` of lineinfile (ezk.regex in Lua) and the templates'
 * regex_replace, regex_search, regex_findall and `is match` accept alike.
 *
 *     char why[200];
 *     struct rx *r = rx_compile("^v(\\d+)\\.", -1, 0, why, sizeof why);
 *     struct rx_span m[10];
 *     int found = rx_search(r, s, len, 0, m, 10);   // 1, 0, or -1 (too costly)
 *     if (found > 0) ... s + m[1].so, m[1].eo - m[1].so ...
 *     rx_free(r);
 *
 * The syntax: literals and escapes (\n \t \r \f \v \a \0 \xhh, \\ and any
 * punctuation), . (not \n), [...] and [^...] with ranges and \d \w \s
 * inside, \d \D \w \W \s \S (ASCII, bytes >= 0x80 count as word), ^ $ \A
 * \Z \b \B, groups ( ) (?: ) (?P<name> ), alternation |, quantifiers * + ?
 * {m} {m,} {,n} {m,n} and their lazy forms (*? +? ?? {m,n}?), and a
 * leading (?i). Not supported (an error says so): backreferences in the
 * pattern, lookaround, possessive quantifiers, other (?...) groups.
 * ^ and $ are the start and end of the text ($ also before a final "\n"),
 * or of every line with RX_MULTILINE, as Python's re.
 *
 * A backtracking matcher with a budget: a search that would take more than
 * a few million steps (nested repetition on the wrong text) returns -1
 * instead of hanging. Thread-safe: a compiled rx is read-only.
 */
#ifndef EZK_RX_H
#define EZK_RX_H

#include <stddef.h>

enum { RX_ICASE = 1, RX_MULTILINE = 2 };

#define RX_MAX_GROUPS 32 /* capturing groups in one pattern */

struct rx;

/* a group's bytes: [so, eo), or so = eo = -1 when it did not take part */
struct rx_span {
	long so, eo;
};

/* Compile pattern (len -1: NUL-terminated); NULL with a message in why
 * ("missing ) at position 3") on a bad pattern. */
struct rx *rx_compile(const char *pattern, long len, int flags, char *why, size_t whylen);
void rx_free(struct rx *r);
/* capturing groups (not counting the whole match) */
int rx_ngroups(const struct rx *r);
/* a named group's number, or -1 */
int rx_group(const struct rx *r, const char *name);

/* The first match in s[from, n) (^, \b and lookbehind-like anchors see the
 * text before from): 1 and m[0..nm) filled (m[0] the whole match), 0 when
 * there is none, -1 when the search went over its budget. */
int rx_search(const struct rx *r, const char *s, size_t n, size_t from, struct rx_span *m,
	      size_t nm);

/* Python's match.expand: template t with \\1..\\99, \\g<1>, \\g<name>, \\n
 * \\t ... replaced; other escapes kept as written. -1 and why on a bad
 * group reference. */
struct buf;
int rx_expand(const struct rx *r, const char *t, size_t tn, const char *subj,
	      const struct rx_span *m, size_t nm, struct buf *out, char *why, size_t whylen);

#endif

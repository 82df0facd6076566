#!/usr/bin/python3
"""A unit's command lines and settings as systemd reads them: the words of
every Exec*= line after systemd's splitting (quotes, C escapes, %% and $$),
and the value of every other setting after its specifiers (%%).

    systemd_argv.py UNIT

Prints, tab-separated, one line per Exec* word and per other setting:

    exec    KEY INDEX WORD
    set     KEY VALUE

A backslash-newline joins lines, as in a unit; comments (# ;) and section
headers are skipped. Exit 1, saying why on stderr, where systemd would
refuse the line or read it otherwise than meant: an unterminated quote, a
lone % that is no specifier ezk writes, a $ that systemd would expand, a
control character.

The rules are systemd's (systemd.syntax(7), systemd.service(5), and
extract_first_word() with EXTRACT_UNQUOTE|EXTRACT_CUNESCAPE): words are
split at unquoted blanks; "..." and '...' quote; outside single quotes a
backslash escapes (\\\\, \\", \\n, \\xNN...); in Exec*= lines "$$" is a dollar
and any other "$" starts a variable; "%%" is a percent everywhere.
"""
import sys

ESC = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
       "\\": "\\", '"': '"', "'": "'", "s": " "}


def fail(msg):
    sys.exit("systemd_argv.py: " + msg)


def percent(s, where):
    out, i = [], 0
    while i < len(s):
        if s[i] == "%":
            if i + 1 < len(s) and s[i + 1] == "%":
                out.append("%")
                i += 2
                continue
            fail("%s: a specifier %%%s systemd would expand" % (where, s[i + 1:i + 2]))
        out.append(s[i])
        i += 1
    return "".join(out)


def dollars(w, where):
    out, i = [], 0
    while i < len(w):
        if w[i] == "$":
            if i + 1 < len(w) and w[i + 1] == "$":
                out.append("$")
                i += 2
                continue
            if w[i + 1:i + 8] == "MAINPID" and not w[i + 8:i + 9].isalnum():
                out.append("$MAINPID")  # (systemd's own, in ExecReload=)
                i += 8
                continue
            fail("%s: '$' systemd would expand as a variable" % where)
        out.append(w[i])
        i += 1
    return "".join(out)


def words(v, where):
    """extract_first_word(UNQUOTE|CUNESCAPE) until the end; each word keeps
    its $ for dollars(), % already resolved by the caller."""
    res, i, n = [], 0, len(v)
    while True:
        while i < n and v[i] in " \t":
            i += 1
        if i >= n:
            return res
        w, q = [], None
        while i < n:
            c = v[i]
            if q is None and c in " \t":
                break
            if q is None and c in "\"'":
                q = c
                i += 1
                continue
            if q is not None and c == q:
                q = None
                i += 1
                continue
            if c == "\\" and q != "'":
                if i + 1 >= n:
                    fail("%s: a trailing backslash" % where)
                e = v[i + 1]
                if e in ESC:
                    w.append(ESC[e])
                    i += 2
                elif e == "x":
                    w.append(chr(int(v[i + 2:i + 4], 16)))
                    i += 4
                else:
                    fail("%s: an unknown escape \\%s" % (where, e))
                continue
            w.append(c)
            i += 1
        if q is not None:
            fail("%s: an unterminated quote" % where)
        res.append("".join(w))


def main(path):
    text = open(path, encoding="utf-8", errors="surrogateescape").read()
    logical, cur = [], ""
    for n, raw in enumerate(text.split("\n"), 1):
        if any(ord(c) < 32 and c != "\t" for c in raw):
            fail("%s:%d: a control character" % (path, n))
        if not cur and (raw.strip() == "" or raw.lstrip()[:1] in "#;" or raw.startswith("[")):
            continue
        if raw.endswith("\\"):
            cur += raw[:-1] + " "
            continue
        logical.append((n, cur + raw))
        cur = ""
    for n, line in logical:
        where = "%s:%d" % (path, n)
        if "=" not in line:
            fail("%s: no '='" % where)
        k, v = line.split("=", 1)
        k, v = k.strip(), v.strip()
        if k.startswith("Exec"):
            for j, w in enumerate(words(percent(v, where), where)):
                print("exec\t%s\t%d\t%s" % (k, j, dollars(w, where)))
        elif k == "Environment":
            for w in words(percent(v, where), where):
                print("set\tEnvironment\t%s" % w)
        else:
            print("set\t%s\t%s" % (k, percent(v, where)))


if __name__ == "__main__":
    main(sys.argv[1])

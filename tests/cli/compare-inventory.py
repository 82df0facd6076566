#!/usr/bin/python3
"""Compare `ezk inventory --list` with `ansible-inventory --list`.

Usage: compare-inventory.py EZK.json ANSIBLE.json
Checks that every group has the same hosts (directly and through children)
and that every host variable whose ansible value holds no template is equal
(type included). Prints one line per difference; exits 1 if any.
"""
import json
import sys


def members(inv):
    """group -> set of hosts, children expanded."""
    groups = {g: v for g, v in inv.items() if g != "_meta"}

    def expand(g, seen):
        if g in seen:
            return set()
        seen.add(g)
        d = groups.get(g, {})
        hs = set(d.get("hosts", []))
        for c in d.get("children", []):
            hs |= expand(c, seen)
        return hs

    return {g: expand(g, set()) for g in groups}


def has_template(v):
    if isinstance(v, str):
        return "{{" in v or "{%" in v
    if isinstance(v, list):
        return any(has_template(x) for x in v)
    if isinstance(v, dict):
        return any(has_template(x) for x in v.values())
    return False


def main():
    ezk = json.load(open(sys.argv[1]))
    ans = json.load(open(sys.argv[2]))
    diffs = []
    me, ma = members(ezk), members(ans)
    for g in sorted(set(me) | set(ma)):
        if me.get(g, set()) != ma.get(g, set()):
            diffs.append("group %s: ezk %s, ansible %s" % (g, sorted(me.get(g, [])), sorted(ma.get(g, []))))
    he, ha = ezk["_meta"]["hostvars"], ans["_meta"]["hostvars"]
    if set(he) != set(ha):
        diffs.append("hosts: ezk %s, ansible %s" % (sorted(he), sorted(ha)))
    compared = 0
    for h in sorted(set(he) & set(ha)):
        for k, v in sorted(ha[h].items()):
            if has_template(v):
                continue
            compared += 1
            if k not in he[h]:
                diffs.append("%s: %s missing (ansible: %r)" % (h, k, v))
            elif he[h][k] != v or type(he[h][k]) != type(v):
                diffs.append("%s: %s = %r, ansible %r" % (h, k, he[h][k], v))
        for k in sorted(set(he[h]) - set(ha[h])):
            diffs.append("%s: %s only in ezk" % (h, k))
    for d in diffs:
        print(d)
    print("compared %d groups, %d hosts, %d variables, %d differences"
          % (len(ma), len(ha), compared, len(diffs)))
    return 1 if diffs else 0


sys.exit(main())

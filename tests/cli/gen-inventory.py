#!/usr/bin/python3
"""Write a random Ansible INI inventory (seeded, so reproducible).

Usage: gen-inventory.py SEED > hosts
It mixes what real inventories hold: groups, [g:vars], [g:children],
ranges, host:port, quoted values with spaces, every Python literal type,
comments (# and ;), blank lines, hosts in several groups.
"""
import random
import sys

rnd = random.Random(int(sys.argv[1]))
groups = ["etcd", "kube_master", "kube_node", "ex_lb", "chrony", "g-%d" % rnd.randint(0, 9), "web_1"]
values = [
    "6443", "'6443'", '"6443"', "True", "False", "None", "1.5", "-7", "0x1f", "010",
    "[1, 'a', None]", "{'k': [1, 2]}", "/usr/bin/python3", "a b", "''", '""',
    "'with space'", '"dq # not comment"', "x=y", "1_000", "3e2", "'a' 'b'",
    "(1, 2)", "[]", "{}", "true", "yes", "'\\n'", "calico", "198.19.0.0/16",
]
names = ["198.18.%d.%d" % (rnd.randint(0, 3), i) for i in range(1, 40)] + ["node%02d" % i for i in range(1, 12)]
out = []


def hostline():
    r = rnd.random()
    if r < 0.1:
        a = rnd.randint(1, 5)
        return "n%d[%02d:%02d]" % (rnd.randint(0, 9), a, a + rnd.randint(0, 3))
    if r < 0.15:
        return "198.18.9.[1:%d]" % rnd.randint(1, 4)
    h = rnd.choice(names)
    if rnd.random() < 0.1:
        h += ":%d" % rnd.randint(1, 65535)
    return h


def hostvar():
    k = rnd.choice(["k8s_nodename", "ansible_user", "ansible_port", "x", "y", "LB_ROLE"])
    v = rnd.choice(values)
    if rnd.random() < 0.05:
        return "%s=%s" % (k, v)  # sometimes as written: may be invalid, as typed by people
    if " " in v:
        v = "'" + v.replace("'", "") + "'" if "'" in v and '"' not in v else '"' + v.replace('"', "") + '"'
    return "%s=%s" % (k, v)


defined = []
for _ in range(rnd.randint(3, 9)):
    g = rnd.choice(groups)
    kind = rnd.random()
    if rnd.random() < 0.3:
        out.append(rnd.choice(["# a comment", "; another", "", "   # indented comment"]))
    if kind < 0.6 or not defined:
        out.append("[%s]" % g)
        for _ in range(rnd.randint(0, 5)):
            line = hostline()
            for _ in range(rnd.randint(0, 3)):
                line += " " + hostvar()
            if rnd.random() < 0.1:
                line += "  # trailing comment"
            out.append(line)
        if g not in defined:
            defined.append(g)
    elif kind < 0.85:
        out.append("[%s:vars]" % rnd.choice(defined + ["all"]))
        for _ in range(rnd.randint(1, 4)):
            k = rnd.choice(["SECURE_PORT", "bin_dir", "x", "y", "z", "ansible_user"])
            v = rnd.choice(values)
            if rnd.random() < 0.1:
                v += " ; inline text stays"
            out.append("%s=%s" % (k, v) if rnd.random() < 0.8 else "%s = %s" % (k, v))
    else:
        parent = "p%d" % rnd.randint(0, 3)
        out.append("[%s:children]" % parent)
        for c in rnd.sample(defined, min(len(defined), rnd.randint(1, 2))):
            out.append(c)
        defined.append(parent)
print("\n".join(out))

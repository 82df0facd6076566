#!/usr/bin/python3
"""compare.py against itself: proof that each kind of file it reads can
fail. For every file of a rendered host tree and for kubeasz's own manifests
(step 06/07 templates rendered here with Jinja2, the engine Ansible uses):

  - the file against a copy that says the same in other words (comments and
    blank lines added, keys re-ordered, flags and documents in another
    order) must show no difference, and more than zero keys;
  - the file against a copy with one change must show that change, under
    the key expected, and nothing else.

    selftest.py HOST_TREE KUBEASZ_DIR

Prints "ok<TAB>what" or "fail<TAB>what<TAB>why" per check; exit 1 on a failure.
"""
import json
import os
import re
import sys

import jinja2
import yaml

sys.dont_write_bytecode = True  # (no __pycache__ in the source tree)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402

# kubeasz's manifests of steps 06/07 and the variables they need
MANIFESTS = [
    ("roles/flannel/templates/kube-flannel.yaml.j2",
     {"CLUSTER_CIDR": "198.19.0.0/16", "FLANNEL_BACKEND": "vxlan", "DIRECT_ROUTING": False, "flannel_ver": "v0.28.9"}),
    ("roles/cluster-addon/templates/dns/coredns.yaml.j2",
     {"CLUSTER_DNS_DOMAIN": "cluster.local", "CLUSTER_DNS_SVC_IP": "198.18.128.2", "corednsVer": "1.14.6"}),
]

results = []


def check(what, ok, why=""):
    results.append((what, ok, why))


def diffs(path, a, b):
    kind, n, ds = compare.compare_file(path, a, b)
    # "<path>: <key>: kubeasz <value> | ezk <value>" -> <key>
    return kind, n, [d[len(path) + 2:].rsplit(": kubeasz ", 1)[0] for d in ds]


def keys_of(path, text):
    return compare.kind_of(path, text).parse(text)


def same(path, a, b, how):
    kind, n, ds = diffs(path, a, b)
    check("%s (%s): %s reads as the same, %d keys" % (path, kind, how, n), n > 0 and not ds, "; ".join(ds))


def changed(path, a, b, how, want):
    kind, n, ds = diffs(path, a, b)
    check("%s (%s): %s is the difference %s" % (path, kind, how, want), ds == [want], "got: " + "; ".join(ds))


# ---- rewordings and changes per kind

def unit_cases(path, text):
    lines = text.splitlines()
    # reworded: comments, blank lines, ExecStart's flag lines reversed
    out, flags, i = [], [], 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("ExecStart=") and line.endswith("\\"):
            out.append(line)
            i += 1
            while i < len(lines) and lines[i].endswith("\\"):
                flags.append(lines[i])
                i += 1
            last = lines[i]  # the last flag, without a backslash
            flags.append(last + " \\")
            flags.reverse()
            flags[-1] = flags[-1][:-2]
            out += ["# a comment"] + flags
        else:
            out.append(line)
            if line.startswith("["):
                out.append("; another comment")
                out.append("")
        i += 1
    same(path, text, "\n".join(out) + "\n", "comments, blank lines and ExecStart's flags reversed")
    # a flag more
    k = keys_of(path, text)
    prog = k.get("[Service] ExecStart")
    if prog:
        t2 = re.sub(r"^ExecStart=(\S+)", r"ExecStart=\1 --compat-selftest=1", text, count=1, flags=re.M)
        changed(path, text, t2, "a flag added", "[Service] ExecStart --compat-selftest")
    # another value of a key of [Service]
    m = re.search(r"^(Restart|RestartSec|LimitNOFILE|Type)=(.*)$", text, re.M)
    if m:
        t3 = text.replace(m.group(0), m.group(0) + "0", 1)
        changed(path, text, t3, m.group(1) + " changed", "[Service] " + m.group(1))


def leaves(o, pre=()):
    """(path, value) of each scalar in nested data, in order (a list of
    scalars is one value, as compare.flatten has it)"""
    if isinstance(o, dict):
        for k, v in o.items():
            yield from leaves(v, pre + (k,))
    elif isinstance(o, list) and any(isinstance(e, (dict, list)) for e in o):
        for i, v in enumerate(o):
            yield from leaves(v, pre + (i,))
    else:
        yield pre, o


def data_cases(path, text, load, dump):
    data = load(text)
    same(path, text, dump(data, True), "re-written with its keys in another order")
    # the last scalar gets another value: the difference is the one key
    # whose value that changes in compare.flatten's view
    p, v = [(p, v) for p, v in leaves(data) if isinstance(v, (str, int, bool))][-1]
    d2 = json.loads(json.dumps(data))
    o = d2
    for k in p[:-1]:
        o = o[k]
    o[p[-1]] = (v + "-x") if isinstance(v, str) else (not v if isinstance(v, bool) else v + 1)
    f1, f2 = compare.flatten(data), compare.flatten(d2)
    key = [k for k in f1 if f1[k] != f2.get(k)]
    changed(path, text, dump(d2, False), "a value changed", key[0] if len(key) == 1 else key)
    if isinstance(data, dict):
        d3 = dict(data, compatSelftest=1)
        changed(path, text, dump(d3, False), "a key added", "compatSelftest")


def toml_dump(d, reorder):
    def val(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return repr(v)
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, list):
            return "[" + ", ".join(val(x) for x in v) + "]"
        raise ValueError(type(v))

    def q(k):
        return k if re.match(r"^[A-Za-z0-9_-]+$", k) else json.dumps(k)
    out = []

    def table(name, t):
        items = sorted(t.items(), reverse=reorder)
        scal = [(k, v) for k, v in items if not isinstance(v, dict)]
        subs = [(k, v) for k, v in items if isinstance(v, dict)]
        if name:
            out.append("")
            out.append("# a comment")
            out.append("[" + ".".join(q(x) for x in name) + "]")
        for k, v in scal:
            out.append("%s = %s" % (q(k), val(v)))
        for k, v in subs:
            table(name + [k], v)
    table([], d)
    return "\n".join(out) + "\n"


def yaml_dump(d, reorder):
    return "# a comment\n" + yaml.safe_dump(d, sort_keys=reorder, default_flow_style=False)


def json_dump(d, reorder):
    return json.dumps(d, sort_keys=reorder, indent=4)


def nginx_cases(path, text):
    t1 = "# a comment\n" + re.sub(r"[ \t]+", "   ", text).replace("{", "{\n# inside\n")
    same(path, text, t1, "comments and spacing")
    changed(path, text, "compat_selftest on;\n" + text, "a directive added", "compat_selftest")
    m = re.search(r"^(\s*)(worker_connections)\s+(\d+);", text, re.M)
    if m:
        changed(path, text, text.replace(m.group(0), m.group(1) + m.group(2) + " " + m.group(3) + "1;"),
                "a value changed", "events {} > worker_connections")


def manifest_cases(path, text):
    docs = [d for d in yaml.safe_load_all(text) if d]
    rev = list(reversed(docs))
    # reworded: documents reversed, keys sorted, env and args reversed
    r = json.loads(json.dumps(rev))

    def shuffle(o):
        if isinstance(o, dict):
            for k, v in o.items():
                if k in ("env", "args", "command", "volumeMounts", "volumes") and isinstance(v, list) \
                        and not (k in ("args", "command") and any(not x.startswith("-") for x in v)):
                    v.reverse()
                shuffle(v)
        elif isinstance(o, list):
            for e in o:
                shuffle(e)
    shuffle(r)
    same(path, text, "# a comment\n" + yaml.safe_dump_all(r, sort_keys=True), "documents, keys, env and flags reordered")
    kinds = [(i, d) for i, d in enumerate(docs)]

    def dump(ds):
        return yaml.safe_dump_all(ds, sort_keys=False)

    def oid(d):
        return "%s/%s/%s" % (d["kind"], d["metadata"].get("namespace", ""), d["metadata"]["name"])

    # an image changed
    for i, d in kinds:
        cs = d.get("spec", {}).get("template", {}).get("spec", {}).get("containers")
        if cs:
            d2 = json.loads(json.dumps(docs))
            c = d2[i]["spec"]["template"]["spec"]["containers"][0]
            c["image"] = c["image"] + "-other"
            changed(path, text, dump(d2), "an image changed",
                    "%s: spec.template.spec.containers[%s].image" % (oid(d), c["name"]))
            if c.get("args"):
                flag = next((a for a in c["args"] if a.startswith("--")), None)
                if flag:
                    c2 = json.loads(json.dumps(docs))
                    cc = c2[i]["spec"]["template"]["spec"]["containers"][0]
                    cc["args"] = [a for a in cc["args"] if a != flag]
                    changed(path, text, dump(c2), "a flag removed", "%s: spec.template.spec.containers[%s].args.%s" % (
                        oid(d), c["name"], compare.keyjoin("", flag.split("=")[0])))
            if c.get("env"):
                e2 = json.loads(json.dumps(docs))
                ee = e2[i]["spec"]["template"]["spec"]["containers"][0]["env"][0]
                ee["value"] = "compat-selftest"
                ee.pop("valueFrom", None)
                kind, n, ds = diffs(path, text, dump(e2))
                check("%s (manifest): an env value changed is the difference of that variable" % path,
                      ds and all("env[%s]" % ee["name"] in x for x in ds), "got: " + "; ".join(ds))
            break
    # an embedded config file changed (a ConfigMap's JSON)
    for i, d in kinds:
        if d["kind"] == "ConfigMap":
            for f, v in (d.get("data") or {}).items():
                try:
                    j = json.loads(v)
                except ValueError:
                    continue
                if isinstance(j, dict):
                    d2 = json.loads(json.dumps(docs))
                    j["compatSelftest"] = 1
                    d2[i]["data"][f] = json.dumps(j, indent=2)
                    changed(path, text, dump(d2), "a key added in the ConfigMap's " + f,
                            "%s: data.%s.compatSelftest" % (oid(d), compare.keyjoin("", f)))
                    break
    # an object less
    d2 = docs[:-1]
    kind, n, ds = diffs(path, text, dump(d2))
    gone = oid(docs[-1])
    check("%s (manifest): an object removed is the difference of its keys" % path,
          ds and all(x.startswith(gone + ": ") for x in ds), "got: " + "; ".join(ds[:3]))


def tree_cases(tree):
    """compare.py's verdict on whole trees: a file on one side only, an
    intended difference, a stale entry, a file no kind reads"""
    import io
    import shutil
    import tempfile
    from contextlib import redirect_stdout
    tmp = tempfile.mkdtemp()
    try:
        a, b = os.path.join(tmp, "a", "h"), os.path.join(tmp, "b", "h")
        shutil.copytree(tree, a)
        shutil.copytree(tree, b)

        def run(intended=None):
            f = os.path.join(tmp, "intended")
            with open(f, "w") as w:
                w.write(intended or "")
            out = io.StringIO()
            with redirect_stdout(out):
                rc = compare.main([os.path.dirname(a), os.path.dirname(b), "--intended", f])
            return rc, out.getvalue()
        rc, out = run()
        check("trees: the same files are no difference (exit %d)" % rc, rc == 0, out[-300:])
        victim = sorted(compare.files_of(b))[0]
        os.remove(os.path.join(b, victim.lstrip("/")))
        rc, out = run()
        check("trees: a file only kubeasz writes fails the comparison", rc == 1 and
              "%s: (file): kubeasz yes | ezk -" % victim in out, out[-300:])
        rc, out = run("%s: (file): kubeasz yes | ezk *  ## a reason\n" % victim)
        check("trees: ... unless it is an intended difference", rc == 0, out[-300:])
        rc, out = run("%s: (file): kubeasz yes | ezk *  ## a reason\n/nowhere: x: *  ## stale\n" % victim)
        check("trees: an intended difference that does not occur fails", rc == 1 and "stale\t/nowhere" in out,
              out[-300:])
        with open(os.path.join(a, "etc", "unknown.xyz"), "w") as w:
            w.write("?")
        shutil.copy(os.path.join(a, "etc", "unknown.xyz"), os.path.join(b, "etc", "unknown.xyz"))
        rc, out = run("%s: (file): kubeasz yes | ezk *  ## a reason\n" % victim)
        check("trees: a file no kind reads fails", rc == 1 and "error\th\t/etc/unknown.xyz" in out, out[-300:])
    finally:
        shutil.rmtree(tmp)


def main(tree, kubeasz):
    seen = set()
    for d, _, fs in sorted(os.walk(tree)):
        for f in sorted(fs):
            p = os.path.join(d, f)
            path = "/" + os.path.relpath(p, tree)
            text = open(p, encoding="utf-8").read()
            k = compare.kind_of(path, text)
            if k is None:
                check(path + ": a kind reads it", False)
                continue
            if k.name in seen and k.name != "systemd unit":
                continue
            seen.add(k.name)
            if k.name == "systemd unit":
                unit_cases(path, text)
            elif k.name == "toml":
                import tomllib
                data_cases(path, text, tomllib.loads, toml_dump)
            elif k.name == "yaml":
                data_cases(path, text, yaml.safe_load, yaml_dump)
            elif k.name == "json":
                data_cases(path, text, json.loads, json_dump)
            elif k.name == "nginx":
                nginx_cases(path, text)
    tree_cases(tree)
    env = jinja2.Environment(trim_blocks=True, undefined=jinja2.StrictUndefined)
    for src, variables in MANIFESTS:
        full = os.path.join(kubeasz, src)
        text = env.from_string(open(full, encoding="utf-8").read()).render(**variables)
        path = "/" + src
        path = path[:-3] if path.endswith(".j2") else path
        k = compare.kind_of(path, text)
        check("%s: read as manifest" % path, k is not None and k.name == "manifest", k.name if k else "no kind")
        if k is not None and k.name == "manifest":
            manifest_cases(path, text)
    bad = 0
    for what, ok, why in results:
        print("\t".join(["ok" if ok else "fail", what] + ([why] if not ok else [])))
        bad += not ok
    return 1 if bad or not results else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))

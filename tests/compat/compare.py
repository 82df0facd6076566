#!/usr/bin/python3
"""Compare two trees of rendered files, kubeasz's and ezk's, host by host and
file by file, as data: what a file means, not how it is spelled.

    compare.py KUBEASZ_DIR EZK_DIR [--intended FILE] [--only HOST,...]

Both trees are <dir>/<host>/<path on the host> (kubeasz_render.py and
ezk_events.py write them). Each file is read by the first kind in KINDS whose
match() takes its path; the kind's parse() turns the text into flat keys
(key -> value), and the two sides' keys are compared: a key on one side only,
or with another value, is a difference, printed as

    <path>: <key>: kubeasz <value> | ezk <value>

(values as JSON; "-" where a side lacks the key). A file on one side only is
the difference "<path>: (file): kubeasz yes | ezk -".

The intended differences (--intended) are lines `PATTERN  ## reason`: PATTERN
is a difference as printed, where `*` matches any text (nothing else is
special: units' [Section] names are literal). A difference matching one is
intended; an entry that matches nothing is stale (the list
says something that is no longer true). Output, one record a line, tab-separated:

    file   HOST PATH KIND KEYS UNEXPECTED INTENDED
    diff   HOST PATH TEXT REASON           (REASON empty: not intended)
    host   HOST FILES KEYS
    stale  PATTERN REASON
    error  HOST PATH MESSAGE              (a file no kind reads, or that does not parse)

Exit 0 when every difference is intended, no entry is stale, every file was
read and every host compared at least one key; else 1.

Adding a kind: a class with name, match(path) and parse(text) -> {key: value}
(values JSON-serializable), put before the kinds it must win over in KINDS.
"""
import json
import os
import re
import shlex
import sys
import tomllib

import yaml


def show(v):
    return json.dumps(v, ensure_ascii=False, sort_keys=True)


def keyjoin(prefix, k):
    k = str(k)
    if re.search(r"[.\s\[\]'\"]", k) or k == "":
        k = "'" + k + "'"
    return k if prefix == "" else prefix + "." + k


def flatten(obj, prefix="", out=None):
    """Nested data as flat keys: dict keys joined with '.', a list of dicts
    that all have a distinct 'name' keyed by it (containers, env, volumes:
    their order is not what they mean), other lists of dicts by index, a list
    of scalars as one value."""
    if out is None:
        out = {}
    if isinstance(obj, dict):
        if not obj:
            out[prefix] = {}
        for k, v in obj.items():
            flatten(v, keyjoin(prefix, k), out)
    elif isinstance(obj, list):
        names = [e.get("name") for e in obj if isinstance(e, dict)]
        if obj and len(names) == len(obj) and all(isinstance(n, str) for n in names) and len(set(names)) == len(names):
            for e in obj:
                flatten(e, prefix + "[" + e["name"] + "]", out)
        elif any(isinstance(e, (dict, list)) for e in obj):
            for i, e in enumerate(obj):
                flatten(e, prefix + "[" + str(i) + "]", out)
        else:
            out[prefix] = obj
    else:
        out[prefix] = obj
    return out


def split_flags(tokens):
    """A command line's tokens after the program: {flag: value} ('--a=b',
    '--a b', '-a b'; a flag given twice: a list) and the positional args."""
    flags, pos, i = {}, [], 0
    while i < len(tokens):
        t = tokens[i]
        if t.startswith("-") and len(t) > 1:
            if "=" in t and t.startswith("--"):
                f, v = t.split("=", 1)
            elif i + 1 < len(tokens) and not tokens[i + 1].startswith("-"):
                f, v = t, tokens[i + 1]
                i += 1
            else:
                f, v = t, True
            if f in flags:
                flags[f] = (flags[f] if isinstance(flags[f], list) else [flags[f]]) + [v]
            else:
                flags[f] = v
        else:
            pos.append(t)
        i += 1
    return flags, pos


class Unit:
    """systemd units: [Section] Key. ExecStart: its program and each flag
    (order ignored); other Exec* lines: the list of commands, each as systemd
    splits it (quotes removed); dependency and install keys: the set of names
    over all their lines; Environment: each variable; any other key: its
    last value (as systemd reads it)."""
    name = "systemd unit"
    LISTS = {"After", "Before", "Wants", "Requires", "Requisite", "BindsTo", "PartOf", "Conflicts",
             "WantedBy", "RequiredBy", "Also", "Alias", "Documentation", "UpheldBy", "Upholds"}

    def match(self, path):
        return re.search(r"\.(service|socket|timer|mount|path|target|slice)$", path) is not None

    def parse(self, text):
        out, section, lists, execs = {}, "", {}, {}
        lines, cur = [], ""
        for raw in text.splitlines():
            s = raw.strip()
            if s.startswith("#") or s.startswith(";"):
                continue  # (between continued lines too, as systemd.syntax(7) says)
            if s.endswith("\\"):
                cur += s[:-1] + " "
                continue
            lines.append(cur + s)
            cur = ""
        if cur:
            lines.append(cur)
        for s in lines:
            if not s:
                continue
            if s.startswith("[") and s.endswith("]"):
                section = s
                continue
            if "=" not in s:
                raise ValueError("not a unit line: " + s)
            k, v = (x.strip() for x in s.split("=", 1))
            key = section + " " + k
            if k in self.LISTS:
                lists[key] = set() if v == "" else lists.get(key, set()) | set(v.split())
            elif k == "Environment":
                for a in shlex.split(v):
                    n, _, val = a.partition("=")
                    out[key + " " + n] = val
            elif k == "ExecStart":
                argv = shlex.split(v)
                flags, pos = split_flags(argv[1:])
                for f in [x for x in out if x.startswith(key + " ")]:
                    del out[f]
                out[key] = argv[0]
                for f, fv in flags.items():
                    out[key + " " + f] = fv
                if pos:
                    out[key + " (args)"] = pos
            elif k.startswith("Exec"):
                execs[key] = [] if v == "" else execs.get(key, []) + [" ".join(shlex.split(v))]
            else:
                out[key] = v
        for key, v in lists.items():
            out[key] = sorted(v)
        out.update(execs)
        return out


class Nginx:
    """nginx configs: each directive as its block path (blocks with their
    arguments: 'stream > upstream backend > server'), the value its arguments;
    a directive given more than once at one place: the list, in order."""
    name = "nginx"

    def match(self, path):
        return path.endswith("/kube-lb.conf") or path.endswith("nginx.conf") or "/nginx/" in path

    def parse(self, text):
        toks = []
        for line in text.splitlines():
            line = re.sub(r"(^|\s)#.*$", "", line)
            toks += re.findall(r"[{};]|[^\s{};]+", line)
        out, stack, words = {}, [], []
        seen = {}
        for t in toks:
            if t == ";":
                if not words:
                    continue
                key = " > ".join(stack + [words[0]])
                val = " ".join(words[1:])
                if key in out:
                    out[key] = (out[key] if isinstance(out[key], list) else [out[key]]) + [val]
                else:
                    out[key] = val
                words = []
            elif t == "{":
                ctx = " ".join(words) + " {}"
                path = " > ".join(stack + [ctx])
                seen[path] = seen.get(path, 0) + 1
                stack.append(ctx if seen[path] == 1 else ctx + "#" + str(seen[path]))
                words = []
            elif t == "}":
                if words or not stack:
                    raise ValueError("unbalanced block")
                stack.pop()
            else:
                words.append(t)
        if stack or words:
            raise ValueError("unterminated block or directive")
        return out


class Toml:
    name = "toml"

    def match(self, path):
        return path.endswith(".toml")

    def parse(self, text):
        return flatten(tomllib.loads(text))


class Json:
    name = "json"

    def match(self, path):
        return path.endswith((".json", ".conflist")) or "/cni/net.d/" in path

    def parse(self, text):
        return flatten(json.loads(text))


def yaml_docs(text):
    return [d for d in yaml.safe_load_all(text) if d is not None]


def is_object(d):
    return isinstance(d, dict) and "kind" in d and "apiVersion" in d and \
        isinstance(d.get("metadata"), dict) and "name" in d["metadata"]


def embedded(v):
    """A config file inside a string (a ConfigMap's data): JSON as data, any
    other text as its lines without blanks or surrounding spaces."""
    try:
        d = json.loads(v)
        if isinstance(d, (dict, list)):
            return d
    except ValueError:
        pass
    return [line.strip() for line in v.splitlines() if line.strip()]


class Manifest:
    """Kubernetes manifests (every document has apiVersion, kind and
    metadata.name): objects by 'Kind/namespace/name', then their fields as
    flat keys (containers, env, volumes, ports keyed by name); a container's
    args and command as their flags (order ignored) and the rest in order; a
    ConfigMap's data and a Secret's stringData as the files they hold."""
    name = "manifest"

    def match(self, path):
        return path.endswith((".yaml", ".yml"))

    def claims(self, text):
        docs = yaml_docs(text)
        return bool(docs) and all(is_object(d) for d in docs)

    def parse(self, text):
        out = {}
        for d in yaml_docs(text):
            md = d["metadata"]
            oid = "%s/%s/%s" % (d["kind"], md.get("namespace", ""), md["name"])
            d = self.prepare(d)
            for k, v in flatten(d).items():
                out[oid + ": " + k] = v
        return out

    def prepare(self, d):
        d = json.loads(json.dumps(d))  # a copy

        def walk(o):
            if isinstance(o, dict):
                for k, v in list(o.items()):
                    if k in ("args", "command") and isinstance(v, list) and all(isinstance(x, str) for x in v):
                        flags, pos = split_flags(v)
                        o[k] = dict(flags)
                        if pos:
                            o[k]["(args)"] = pos
                    else:
                        walk(v)
            elif isinstance(o, list):
                for e in o:
                    walk(e)
        walk(d)
        if d.get("kind") in ("ConfigMap", "Secret"):
            for f in ("data", "stringData"):
                if d.get("kind") == "Secret" and f == "data":
                    continue  # base64: compared as it is
                if isinstance(d.get(f), dict):
                    d[f] = {k: embedded(v) if isinstance(v, str) else v for k, v in d[f].items()}
        return d


class Yaml:
    """YAML files that are not manifests (the kubelet's and kube-proxy's
    configs, crictl.yaml, the audit policy): the data; more than one
    document: keys prefixed by the document's index."""
    name = "yaml"

    def match(self, path):
        return path.endswith((".yaml", ".yml"))

    def parse(self, text):
        docs = yaml_docs(text)
        if len(docs) == 1:
            return flatten(docs[0])
        return {("[doc %d] " % i) + k: v for i, d in enumerate(docs) for k, v in flatten(d).items()}


# the first kind that matches a path reads it (a kind with claims() must
# also claim the text: a YAML file is a manifest only when all its documents
# are Kubernetes objects)
KINDS = [Unit(), Nginx(), Toml(), Json(), Manifest(), Yaml()]


def kind_of(path, text):
    for k in KINDS:
        if k.match(path) and (not hasattr(k, "claims") or k.claims(text)):
            return k
    return None


def files_of(root):
    out = {}
    for d, _, fs in os.walk(root):
        for f in fs:
            p = os.path.join(d, f)
            out["/" + os.path.relpath(p, root)] = p
    return out


def read_intended(path):
    entries = []
    if not path:
        return entries
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        pat, sep, reason = line.partition("##")
        if not sep or not reason.strip():
            raise SystemExit("%s: an entry needs '  ## reason': %s" % (path, line))
        pat = pat.strip()
        rx = re.compile("^" + ".*".join(re.escape(x) for x in pat.split("*")) + "$", re.S)
        entries.append({"pattern": pat, "rx": rx, "reason": reason.strip(), "used": 0})
    return entries


def compare_file(path, ktext, etext):
    """(kind, keys compared, [difference text])"""
    kind = kind_of(path, ktext) or kind_of(path, etext)
    if kind is None:
        raise ValueError("no kind reads this file (compare.py KINDS)")
    try:
        a = kind.parse(ktext)
    except Exception as e:
        raise ValueError("kubeasz's does not parse as %s: %s" % (kind.name, e))
    try:
        b = kind.parse(etext)
    except Exception as e:
        raise ValueError("ezk's does not parse as %s: %s" % (kind.name, e))
    diffs = []
    for k in sorted(set(a) | set(b)):
        va, vb = a.get(k, None), b.get(k, None)
        if k in a and k in b and show(va) == show(vb):
            continue
        diffs.append("%s: %s: kubeasz %s | ezk %s" % (path, k, show(va) if k in a else "-",
                                                      show(vb) if k in b else "-"))
    return kind.name, len(set(a) | set(b)), diffs


def main(argv):
    args, intended_file, only = [], None, None
    i = 0
    while i < len(argv):
        if argv[i] == "--intended":
            intended_file, i = argv[i + 1], i + 2
        elif argv[i] == "--only":
            only, i = set(argv[i + 1].split(",")), i + 2
        else:
            args.append(argv[i])
            i += 1
    kdir, edir = args
    intended = read_intended(intended_file)
    hosts = sorted(h for h in set(os.listdir(kdir)) | set(os.listdir(edir))
                   if os.path.isdir(os.path.join(kdir, h)) or os.path.isdir(os.path.join(edir, h)))
    if only:
        hosts = [h for h in hosts if h in only]
    ok = bool(hosts)

    def why(text):
        for e in intended:
            if e["rx"].match(text):
                e["used"] += 1
                return e["reason"]
        return ""

    for h in hosts:
        kf = files_of(os.path.join(kdir, h)) if os.path.isdir(os.path.join(kdir, h)) else {}
        ef = files_of(os.path.join(edir, h)) if os.path.isdir(os.path.join(edir, h)) else {}
        nfiles = nkeys = 0
        for path in sorted(set(kf) | set(ef)):
            if path not in kf or path not in ef:
                text = "%s: (file): kubeasz %s | ezk %s" % (path, "yes" if path in kf else "-",
                                                           "yes" if path in ef else "-")
                r = why(text)
                ok = ok and bool(r)
                print("\t".join(["file", h, path, "-", "0", "0" if r else "1", "1" if r else "0"]))
                print("\t".join(["diff", h, path, text, r]))
                continue
            try:
                kind, n, diffs = compare_file(path, open(kf[path], encoding="utf-8").read(),
                                              open(ef[path], encoding="utf-8").read())
            except ValueError as e:
                ok = False
                print("\t".join(["error", h, path, str(e).replace("\n", " ")]))
                continue
            reasons = [why(d) for d in diffs]
            bad = sum(1 for r in reasons if not r)
            ok = ok and bad == 0 and n > 0
            nfiles += 1
            nkeys += n
            print("\t".join(["file", h, path, kind, str(n), str(bad), str(len(diffs) - bad)]))
            for d, r in zip(diffs, reasons):
                print("\t".join(["diff", h, path, d, r]))
        ok = ok and nfiles > 0 and nkeys > 0
        print("\t".join(["host", h, str(nfiles), str(nkeys)]))
    for e in intended:
        if not e["used"]:
            ok = False
            print("\t".join(["stale", e["pattern"], e["reason"]]))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

#!/usr/bin/python3
"""Compare Kubernetes manifests: kubeasz's (rendered by Ansible) with ezk's.

Usage: addons-compare.py NAME KUBEASZ.yaml[,MORE.yaml] EZK.yaml [--only KIND/NS/NAME,...]
                         [--intended FILE]
       addons-compare.py --helm-values NAME VALUES.yaml CHART_VERSION EZK.yaml
       addons-compare.py --values NAME KUBEASZ-VALUES.yaml EZK-VALUES.yaml

Objects are matched by kind, namespace and name. One line per check:
"ok<TAB>what" or "DIFF<TAB>what<TAB>detail": the same objects, then for each
object its images, its containers' command and args, their env, its config
data (ConfigMap and Secret data), and the whole object. --only keeps ezk's
objects to those listed (kubeasz renders part of an add-on, as for
headlamp's Helm chart); the others are printed as "extra<TAB>KIND/NS/NAME".

--intended FILE: differences ezk means, one a line (tab-separated; # comments):
    KIND/NS/NAME  PATH  REGEX  REASON
PATH names a list of strings in the object (spec.template.spec.containers
[name=kube-router].args); kubeasz's holds items matching REGEX that ezk
leaves out on purpose, for REASON (required). Each one is checked to occur
(kubeasz has such an item, ezk none: otherwise DIFF, a stale entry), said
as "ok ... intended: ...", and then taken out of kubeasz's list before the
comparison, so the rest of the object is still compared.

--helm-values: kubeasz installs the add-on with a Helm chart and renders
only the chart's values (headlamp); the chart itself is not at hand here.
Checks that ezk's objects carry what those values set: the Deployment's
image (image.registry/image.repository, tag v<chart version> as the chart's
default), the Service's type, the container's resources, no Ingress unless
ingress.enabled, no HTTPRoute unless httpRoute.enabled, no plugin manager
container unless pluginsManager.enabled.
--values: both sides are Helm values files (kubeasz renders cilium's and
installs the chart; so far ezk renders the values): compared whole, as
data, and the first difference said.
Exit status 0 when every check is ok.
"""
import json
import sys

import yaml


def load(paths):
    objs = {}
    for p in paths:
        with open(p) as f:
            for d in yaml.load_all(f, Loader=yaml.CSafeLoader):
                if not d:
                    continue
                md = d.get("metadata") or {}
                key = "%s/%s/%s" % (d.get("kind"), md.get("namespace") or "", md.get("name"))
                if key in objs:
                    raise SystemExit("%s: %s twice" % (p, key))
                objs[key] = d
    return objs


def pod_spec(o):
    spec = o.get("spec") or {}
    if o.get("kind") == "Pod":
        return spec
    if o.get("kind") == "CronJob":
        return (((spec.get("jobTemplate") or {}).get("spec") or {}).get("template") or {}).get("spec")
    return ((spec.get("template") or {}).get("spec")) if isinstance(spec, dict) else None


def containers(o):
    ps = pod_spec(o) or {}
    return [c for k in ("initContainers", "containers") for c in (ps.get(k) or [])]


def facet(o, what):
    if what == "images":
        return [(c.get("name"), c.get("image")) for c in containers(o)]
    if what == "command and args":
        return [(c.get("name"), c.get("command"), c.get("args")) for c in containers(o)]
    if what == "env":
        return [(c.get("name"), c.get("env"), c.get("envFrom")) for c in containers(o)]
    if what == "config data":
        if o.get("kind") in ("ConfigMap", "Secret"):
            return {k: o.get(k) for k in ("data", "stringData", "binaryData", "type") if o.get(k) is not None}
        return None
    return o


def first_diff(a, b, path=""):
    """Where two values first differ, as a path and both sides."""
    if type(a) != type(b):
        return "%s: kubeasz %r, ezk %r" % (path or ".", a, b)
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a:
                return "%s.%s: only ezk has it (%s)" % (path, k, json.dumps(b[k])[:200])
            if k not in b:
                return "%s.%s: only kubeasz has it (%s)" % (path, k, json.dumps(a[k])[:200])
            d = first_diff(a[k], b[k], "%s.%s" % (path, k))
            if d:
                return d
        return None
    if isinstance(a, (list, tuple)):
        if len(a) != len(b):
            return "%s: %d items in kubeasz's, %d in ezk's" % (path or ".", len(a), len(b))
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_diff(x, y, "%s[%d]" % (path, i))
            if d:
                return d
        return None
    if a != b:
        if isinstance(a, str) and ("\n" in a or "\n" in b):
            la, lb = a.split("\n"), b.split("\n")
            for i, (x, y) in enumerate(zip(la, lb)):
                if x != y:
                    return "%s line %d: kubeasz %r, ezk %r" % (path, i + 1, x, y)
            return "%s: kubeasz %d lines, ezk %d" % (path, len(la), len(lb))
        return "%s: kubeasz %r, ezk %r" % (path or ".", a, b)
    return None


def walk(o, path):
    """The value at PATH (a.b[0].c[name=x]) in o, or None."""
    for part in path.replace("[", ".[").split("."):
        if o is None:
            return None
        if part.startswith("[") and "=" in part:
            k, v = part[1:-1].split("=", 1)
            o = next((x for x in o if isinstance(x, dict) and str(x.get(k)) == v), None) if isinstance(o, list) else None
        elif part.startswith("["):
            i = int(part[1:-1])
            o = o[i] if isinstance(o, list) and i < len(o) else None
        elif part:
            o = o.get(part) if isinstance(o, dict) else None
    return o


def intended(path, a, b, say):
    import re
    with open(path) as f:
        rows = [l.rstrip("\n").split("\t") for l in f if l.strip() and not l.startswith("#")]
    for r in rows:
        if len(r) != 4 or not r[3].strip():
            raise SystemExit("%s: want KIND/NS/NAME, PATH, REGEX, REASON (tab-separated): %r" % (path, r))
        key, p, rx, why = r
        la, lb = walk(a.get(key), p), walk(b.get(key), p)
        if not isinstance(la, list) or not isinstance(lb, list):
            say(False, "intended: %s %s is a list on both sides" % (key, p), "kubeasz %r, ezk %r" % (la, lb))
            continue
        gone = [x for x in la if isinstance(x, str) and re.search(rx, x)]
        kept = [x for x in lb if isinstance(x, str) and re.search(rx, x)]
        good = bool(gone) and not kept
        say(good, "intended: %s %s without /%s/ (%s)" % (key, p, rx, why),
            "the difference does not occur: kubeasz %r, ezk %r" % (gone, kept))
        if good:
            la[:] = [x for x in la if x not in gone]


def helm_values(name, values_path, chart_version, ours):
    with open(values_path) as f:
        v = yaml.load(f, Loader=yaml.CSafeLoader)
    b = load([ours])
    bad = 0

    def say(good, what, detail=""):
        nonlocal bad
        bad += 0 if good else 1
        print(("ok\t%s: %s" if good else "DIFF\t%s: %s\t%s") % ((name, what) if good else (name, what, detail)))

    deps = [o for o in b.values() if o.get("kind") == "Deployment"]
    svcs = [o for o in b.values() if o.get("kind") == "Service"]
    say(len(deps) == 1 and len(svcs) == 1, "one Deployment and one Service",
        "%d Deployments, %d Services" % (len(deps), len(svcs)))
    if len(deps) != 1 or len(svcs) != 1:
        return 1
    cs = containers(deps[0])
    img = v.get("image") or {}
    want = "%s/%s:%s" % (img.get("registry"), img.get("repository"), img.get("tag") or "v" + chart_version.lstrip("v"))
    say([c.get("image") for c in cs] == [want], "image %s (values image.*)" % want, [c.get("image") for c in cs])
    want_type = (v.get("service") or {}).get("type", "ClusterIP")
    say(svcs[0]["spec"].get("type", "ClusterIP") == want_type, "Service type %s (values service.type)" % want_type,
        svcs[0]["spec"].get("type"))
    want_res = v.get("resources") or {}
    say(cs and cs[0].get("resources") == want_res, "resources %s (values resources)" % json.dumps(want_res, sort_keys=True),
        cs and cs[0].get("resources"))
    for kind, key in (("Ingress", "ingress"), ("HTTPRoute", "httpRoute")):
        on = bool((v.get(key) or {}).get("enabled"))
        n = len([o for o in b.values() if o.get("kind") == kind])
        say((n > 0) == on, "%s %s (values %s.enabled: %s)" % (kind, "present" if on else "absent", key, on), "%d of them" % n)
    pm = bool((v.get("pluginsManager") or {}).get("enabled"))
    say((len(cs) > 1) == pm, "%s (values pluginsManager.enabled: %s)" % (
        "a plugin manager container" if pm else "one container, no plugin manager", pm), [c.get("name") for c in cs])
    return 1 if bad else 0


def main():
    args = sys.argv[1:]
    if args and args[0] == "--helm-values":
        sys.exit(helm_values(*args[1:5]))
    if args and args[0] == "--values":
        name, docs = args[1], []
        for p in args[2:4]:
            with open(p) as f:
                docs.append(yaml.load(f, Loader=yaml.CSafeLoader))
        d = first_diff(docs[0], docs[1]) if docs[0] is not None else "kubeasz's is empty"
        print(("ok\t%s: the same values" % name) if d is None else ("DIFF\t%s: the same values\t%s" % (name, d)))
        sys.exit(0 if d is None else 1)
    only = None
    intended_file = None
    if "--intended" in args:
        i = args.index("--intended")
        intended_file = args[i + 1]
        del args[i:i + 2]
    if "--only" in args:
        i = args.index("--only")
        only = set(args[i + 1].split(","))
        del args[i:i + 2]
    name, theirs, ours = args[0], args[1].split(","), args[2]
    a, b = load(theirs), load([ours])
    if only is not None:
        for k in sorted(set(b) - only):
            print("extra\t%s" % k)
        b = {k: v for k, v in b.items() if k in only}
    bad = 0

    def say(good, what, detail=""):
        nonlocal bad
        if good:
            print("ok\t%s: %s" % (name, what))
        else:
            bad += 1
            print("DIFF\t%s: %s\t%s" % (name, what, detail))

    if intended_file:
        intended(intended_file, a, b, say)
    say(set(a) == set(b), "the same %d objects (kind/namespace/name)" % len(a),
        "only kubeasz: %s; only ezk: %s" % (sorted(set(a) - set(b)), sorted(set(b) - set(a))))
    for what in ("images", "command and args", "env", "config data"):
        n, diffs = 0, []
        for k in sorted(set(a) & set(b)):
            fa, fb = facet(a[k], what), facet(b[k], what)
            if not fa and not fb:
                continue
            n += 1
            d = first_diff(fa, fb)
            if d:
                diffs.append("%s %s" % (k, d))
        say(not diffs, "%s (%d objects)" % (what, n), "; ".join(diffs))
    for k in sorted(set(a) & set(b)):
        d = first_diff(a[k], b[k])
        say(d is None, "%s whole object" % k, d or "")
    sys.exit(1 if bad else 0)


main()

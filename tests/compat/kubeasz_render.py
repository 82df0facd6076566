#!/usr/bin/python3
"""Render kubeasz's own templates with Ansible (Debian's ansible-playbook),
for every host of an inventory, into a tree per host: OUT/<host>/<dest path>.

    kubeasz_render.py --kubeasz DIR --inventory HOSTS --config CONFIG.yml \
        --work DIR --out DIR [--deploy-node ROLE]... PLAYBOOK...

PLAYBOOK names kubeasz's playbooks (03.runtime.yml ...). Their plays are kept
as they are (hosts, roles and the roles' `when`), with gather_facts off and
connection local: nothing is contacted, nothing is written but WORK and OUT.
Each role they name is rebuilt in WORK/roles/<role>/ from kubeasz's role:
templates/, vars/, defaults/ and files/ are links to kubeasz's own folders,
so variable precedence is kubeasz's (role defaults < inventory < role vars <
-e @config.yml, as `ezctl setup` runs ansible-playbook, with kubeasz's
ansible.cfg), and tasks/main.yml is made from kubeasz's tasks (import_tasks
and blocks followed, their `when` carried down) keeping:

  - every `template` task whose file lands on the host: Ansible's template
    lookup renders it on the controller into the host's fact __compat_files
    ({dest: content}); no module runs and nothing is written. Consecutive
    template tasks of a role are one set_fact whose Jinja does what their
    keywords say, `{% if when %}` and `{% for item in with_items %}` (how
    Ansible itself evaluates them): a task per template and host costs ~1 s
    of a loaded machine. A task this cannot express (its own vars, another
    kind of loop, templated conditionals) gets a set_fact of its own;
  - `stat` tasks as they are (a later task's `when` reads what they register);
  - `lineinfile` tasks that edit a file a template of the role rendered
    (kubeasz rewrites resolvConf in the kubelet's config.yaml that way): the
    file is written to WORK, edited by the module, read back.

A last play prints every host's __compat_files (debug), which the json
callback records; the files are written from that record. Everything else
(copies of binaries and certificates, shell, systemd, the deploy node's CSR
files) is left out and listed in OUT/.render.json ("skipped"), beside the
templates kept ("rendered": role, src, dest). A template that runs on the
deploy node (connection: local, delegate_to, or a dest under cluster_dir or
base_dir) is skipped, unless its role is named with --deploy-node (steps
06/07 render their manifests there).

Exit status: ansible-playbook's, or 1 when a host failed; the record is
WORK/ansible.json, its stderr WORK/ansible.err; failures are printed.
"""
import argparse
import json
import os
import re
import subprocess
import sys

import yaml
from ansible.parsing.mod_args import ModuleArgsParser

FILES = "__compat_files"  # the fact: {dest: content} per host
DEPLOY_NODE_DIRS = ("cluster_dir", "base_dir")
# what the template module adds to a template's variables and the lookup
# does not: a template using them must not be rendered by the lookup
ACTION_ONLY_VARS = re.compile(r"\b(ansible_managed|template_(host|path|fullpath|destpath|uid|run_date|mtime))\b")
# task keywords a merged render can carry (others: a set_fact of its own)
MERGEABLE = {"name", "template", "when", "tags", "with_items", "loop", "notify", "register",
             "ignore_errors", "become", "changed_when", "failed_when"}


class Opaque(Exception):
    """a task the merged render cannot express"""


def whens(*ws):
    out = []
    for w in ws:
        if w is None:
            continue
        out.extend(w if isinstance(w, list) else [w])
    return out


def jexpr(v):
    """An Ansible value (a string with {{ }} parts, or data) as a Jinja
    expression: "a{{ b }}c" is ('a' ~ (b) ~ 'c'), "{{ b }}" is (b)."""
    if not isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if "{%" in v or "{#" in v:
        raise Opaque("a template block in " + v)
    parts = [p for p in re.split(r"({{.*?}})", v) if p != ""]
    out = []
    for p in parts:
        if p.startswith("{{") and p.endswith("}}"):
            out.append("(" + p[2:-2].strip() + ")")
        elif "{{" in p or "}}" in p:
            raise Opaque("unbalanced braces in " + v)
        else:
            out.append(json.dumps(p, ensure_ascii=False))
    return "(" + " ~ ".join(out) + ")" if out else '""'


def jcond(ws):
    """Ansible's when (a list: all of them) as a Jinja test"""
    out = []
    for w in ws:
        if isinstance(w, bool):
            out.append("true" if w else "false")
        elif isinstance(w, str):
            if "{{" in w or "{%" in w:
                raise Opaque("a templated conditional: " + w)
            out.append("(" + w.strip() + ")")
        else:
            raise Opaque("a conditional of type %s" % type(w).__name__)
    return " and ".join(out)


class Role:
    def __init__(self, kubeasz, name, deploy_node):
        self.name = name
        self.src = os.path.join(kubeasz, "roles", name)
        self.deploy_node = deploy_node
        self.tasks = []        # generated tasks
        self.run = []          # consecutive template tasks not yet emitted
        self.rendered = []     # {src, dest} of the templates kept
        self.skipped = []      # {task, action, why}
        self.template_dests = set()

    def walk(self, path, inherited):
        data = yaml.safe_load(open(path, encoding="utf-8")) or []
        for t in data:
            self.task(t, path, inherited)

    def task(self, t, path, inh):
        name = t.get("name", "")
        ctx = {
            "when": whens(inh.get("when"), t.get("when")),
            "local": inh.get("local") or t.get("connection") == "local" or "delegate_to" in t,
            "run_once": inh.get("run_once") or bool(t.get("run_once")),
        }
        if "block" in t:
            for sub in t["block"]:
                self.task(sub, path, ctx)
            for k in ("rescue", "always"):
                if k in t:
                    self.skipped.append({"task": name, "action": k, "why": "block " + k + " sections are not rendered"})
            return
        action, args, _ = ModuleArgsParser(t).parse()
        action = action.replace("ansible.builtin.", "").replace("ansible.legacy.", "")
        if action in ("import_tasks", "include_tasks"):
            f = args.get("_raw_params") or args.get("file")
            self.walk(os.path.join(os.path.dirname(path), f), ctx)
            return
        if action == "template":
            dest = str(args["dest"])
            on_deploy = ctx["local"] or any(d in dest for d in DEPLOY_NODE_DIRS)
            if on_deploy and not self.deploy_node:
                self.skipped.append({"task": name, "action": action, "src": args["src"], "dest": dest,
                                     "why": "a file of the deploy node"})
                return
            self.template_dests.add(dest)
            self.rendered.append({"src": args["src"], "dest": dest})
            self.run.append((t, args, ctx))
            return
        common = {}
        if ctx["when"]:
            common["when"] = ctx["when"]
        if ctx["run_once"]:
            common["run_once"] = True
        common.update({k: v for k, v in t.items() if k in ("loop", "loop_control") or k.startswith("with_")})
        keep = action == "stat" or (action == "lineinfile" and
                                    str(args.get("dest", args.get("path"))) in self.template_dests)
        if not keep:
            # (a skipped task breaks no run of templates: what it would
            # register or set, a template cannot have used without failing)
            self.skipped.append({"task": name, "action": action, "why": "not a file the role renders"})
            return
        self.flush()
        if action == "stat":
            st = dict(name=name or "stat", stat=args, **common)
            if "register" in t:
                st["register"] = t["register"]
            self.tasks.append(st)
        else:
            # the module edits the file as rendered so far: written out, edited, read back
            dest = str(args.get("dest", args.get("path")))
            v = {"__compat_dest": dest,
                 "__compat_tmp": "{{ __compat_work }}/edit/{{ inventory_hostname }}" + dest.replace("/", "%")}
            a = {k: x for k, x in args.items() if k not in ("dest", "path")}
            a["path"] = "{{ __compat_tmp }}"
            common["when"] = ["__compat_dest in " + FILES] + common.get("when", [])
            self.tasks.append(dict(name="write " + dest + " for lineinfile", vars=v, copy={
                "content": "{{ %s[__compat_dest] }}" % FILES, "dest": "{{ __compat_tmp }}"}, **common))
            self.tasks.append(dict(name=name or "lineinfile " + dest, vars=v, lineinfile=a, **common))
            self.tasks.append(dict(name="read " + dest + " back", vars=v, set_fact={
                FILES: "{{ %s | combine({__compat_dest: lookup('file', __compat_tmp, rstrip=False)}) }}" % FILES},
                **common))

    def merged(self, t, args, ctx):
        """one template task as Jinja that appends [dest, content] (JSON) to
        the merged render's list"""
        if set(t) - MERGEABLE or ctx["run_once"]:
            raise Opaque("keywords " + ", ".join(sorted(set(t) - MERGEABLE)))
        pair = "{{ [%s, lookup('template', %s, convert_data=False%s)] | to_json }},"
        cond = jcond(ctx["when"])
        loop = None
        if "with_items" in t:
            loop = "(%s) | flatten(levels=1)" % jexpr(t["with_items"])
        elif "loop" in t:
            loop = jexpr(t["loop"])
        body = pair % (jexpr(str(args["dest"])), jexpr(str(args["src"])),
                       ", template_vars={'item': item}" if loop else "")
        if cond:
            body = "{%% if %s %%}%s{%% endif %%}" % (cond, body)
        if loop:
            body = "{%% for item in %s %%}%s{%% endfor %%}" % (loop, body)
        return body

    def flush(self):
        run, self.run = self.run, []
        if not run:
            return
        bodies = []
        try:
            for t, args, ctx in run:
                bodies.append(self.merged(t, args, ctx))
        except Opaque:
            bodies = None
        if bodies is not None and len(run) > 1:
            self.tasks.append({
                "name": "render " + ", ".join(str(a["src"]) for _, a, _ in run),
                "vars": {"__compat_json": "compat-render [" + "".join(bodies) + "null]"},
                "set_fact": {FILES: "{{ %s | default({}) | combine(dict(__compat_json | regex_replace("
                                    "'^compat-render ', '') | from_json | select | list)) }}" % FILES}})
            return
        for t, args, ctx in run:  # one set_fact each, with the task's own keywords
            task = {"name": "render " + str(args["src"]) + " -> " + str(args["dest"]),
                    "vars": dict(t.get("vars") or {}, __compat_src=args["src"], __compat_dest=str(args["dest"])),
                    "set_fact": {FILES: "{{ %s | default({}) | combine({__compat_dest: lookup('template', "
                                        "__compat_src, convert_data=False)}) }}" % FILES}}
            if ctx["when"]:
                task["when"] = ctx["when"]
            if ctx["run_once"]:
                task["run_once"] = True
            task.update({k: v for k, v in t.items() if k in ("loop", "loop_control") or k.startswith("with_")})
            self.tasks.append(task)

    def build(self, work):
        d = os.path.join(work, "roles", self.name)
        os.makedirs(os.path.join(d, "tasks"), exist_ok=True)
        for sub in ("templates", "vars", "defaults", "files"):
            s = os.path.join(self.src, sub)
            if os.path.isdir(s) and not os.path.exists(os.path.join(d, sub)):
                os.symlink(s, os.path.join(d, sub))
        main = os.path.join(self.src, "tasks", "main.yml")
        if os.path.exists(main):
            self.walk(main, {})
        self.flush()
        for r in self.rendered:
            src = os.path.join(self.src, "templates", r["src"])
            if "{{" not in r["src"] and os.path.exists(src) and ACTION_ONLY_VARS.search(open(src, encoding="utf-8").read()):
                sys.exit("%s: uses a variable only the template module sets (%s)" % (src, ACTION_ONLY_VARS.pattern))
        with open(os.path.join(d, "tasks", "main.yml"), "w", encoding="utf-8") as f:
            yaml.safe_dump(self.tasks or [{"name": "nothing to render", "meta": "noop"}], f,
                           allow_unicode=True, sort_keys=False, width=1 << 20)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kubeasz", required=True)
    ap.add_argument("--inventory", required=True)
    ap.add_argument("--config", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--deploy-node", action="append", default=[],
                    help="a role whose deploy-node templates are rendered too")
    ap.add_argument("playbooks", nargs="+")
    o = ap.parse_args()
    for k in ("kubeasz", "inventory", "config", "work", "out"):
        setattr(o, k, os.path.abspath(getattr(o, k)))

    os.makedirs(o.work, exist_ok=True)
    os.makedirs(o.out, exist_ok=True)
    roles, plays = {}, []
    for pb in o.playbooks:
        for play in yaml.safe_load(open(os.path.join(o.kubeasz, "playbooks", pb), encoding="utf-8")):
            if "import_playbook" in play:
                sys.exit(pb + ": import_playbook is not handled")
            for k in play:
                if k not in ("hosts", "roles", "gather_facts", "become", "name"):
                    sys.exit(pb + ": play keyword '" + k + "' is not handled")
            p = {"name": pb, "hosts": play["hosts"], "gather_facts": False, "roles": play.get("roles", [])}
            for r in p["roles"]:
                rn = r["role"] if isinstance(r, dict) else r
                if rn not in roles:
                    roles[rn] = Role(o.kubeasz, rn, rn in o.deploy_node)
                    roles[rn].build(o.work)
            plays.append(p)
    # what each host rendered, read from the json callback's record of this
    # task (debug runs on the controller: no module, no file written)
    plays.append({"name": "what was rendered", "hosts": "all", "gather_facts": False, "tasks": [
        {"name": "rendered", "debug": {"var": FILES}}]})
    os.makedirs(os.path.join(o.work, "edit"), exist_ok=True)
    book = os.path.join(o.work, "render.yml")
    with open(book, "w", encoding="utf-8") as f:
        yaml.safe_dump(plays, f, allow_unicode=True, sort_keys=False)

    env = dict(os.environ)
    # kubeasz's ansible.cfg (private_role_vars, error_on_undefined_vars...),
    # its roles replaced by the rebuilt ones
    env.update(ANSIBLE_CONFIG=os.path.join(o.kubeasz, "ansible.cfg"),
               ANSIBLE_ROLES_PATH=os.path.join(o.work, "roles"),
               ANSIBLE_LOCAL_TEMP=os.path.join(o.work, "tmp"),
               ANSIBLE_REMOTE_TEMP=os.path.join(o.work, "tmp"),
               ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
               ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", ANSIBLE_RETRY_FILES_ENABLED="0",
               ANSIBLE_LOCALHOST_WARNING="False")
    cmd = ["ansible-playbook", "-i", o.inventory, "-c", "local", "-f", "10",
           "-e", "@" + o.config, "-e", "__compat_work=" + o.work, book]
    with open(os.path.join(o.work, "ansible.json"), "w") as out, \
            open(os.path.join(o.work, "ansible.err"), "w") as err:
        rc = subprocess.call(cmd, env=env, stdout=out, stderr=err, cwd=o.work)
    files, failures = 0, []
    try:
        record = json.load(open(os.path.join(o.work, "ansible.json"), encoding="utf-8"))
    except ValueError as e:
        record = {"plays": []}
        failures.append("ansible-playbook's output is not JSON: %s" % e)
    for play in record["plays"]:
        for task in play["tasks"]:
            for host, res in task["hosts"].items():
                if res.get("failed") or res.get("unreachable"):
                    failures.append("%s: %s: %s" % (host, task["task"]["name"], res.get("msg", "")))
                if task["task"]["name"] != "rendered" or FILES not in res:
                    continue
                rendered = res[FILES]
                if not isinstance(rendered, dict):  # "VARIABLE IS NOT DEFINED!": nothing rendered
                    continue
                for dest, content in rendered.items():
                    p = os.path.join(o.out, host, dest.lstrip("/"))
                    os.makedirs(os.path.dirname(p), exist_ok=True)
                    with open(p, "w", encoding="utf-8") as f:
                        f.write(content)
                    files += 1
    for f in failures:
        print("ansible: " + f, file=sys.stderr)
    summary = {"playbooks": o.playbooks, "rc": rc, "files": files, "failures": failures,
               "rendered": [dict(role=r.name, **x) for r in roles.values() for x in r.rendered],
               "skipped": [dict(role=r.name, **x) for r in roles.values() for x in r.skipped]}
    with open(os.path.join(o.out, ".render.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=1, ensure_ascii=False)
    return rc or (1 if failures else 0)


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""The files an `ezk setup ... --check --diff --json` run would write, from
its task events, as a tree per host: OUT/<host>/<path>.

    ezk_events.py EVENTS.json OUT

A task's "diff" is a unified diff ("--- PATH (before)", "+++ PATH (after)",
hunks). On a host that lacks the file it is one hunk "@@ -0,0 +1,N @@" of N
added lines: the whole file, which is written out. Any other diff edits a
file the host has (the test removes kubeasz's files from the hosts first, so
that is only a file kubeasz does not write, like root's .bashrc): it is not
written, and listed. Prints, tab-separated:

    file    HOST PATH LINES
    edit    HOST PATH        (a diff of an existing file: not a whole file)
    nodiff  HOST TASK STATUS (a changed task without a diff)
    failed  HOST TASK MSG

Exit 1 when the events hold no task, or a task failed.
"""
import json
import os
import re
import sys


def main(events, out):
    tasks = failed = 0
    seen = set()
    for line in open(events, encoding="utf-8"):
        if not line.startswith("{"):
            continue
        e = json.loads(line)
        if e.get("event") != "task":
            continue
        tasks += 1
        host, task, status = e["host"], e["task"], e["status"]
        if status in ("failed", "unreachable"):
            failed += 1
            print("\t".join(["failed", host, task, (e.get("msg") or "").replace("\n", " | ")]))
            continue
        d = e.get("diff")
        if not d:
            if status == "changed":
                print("\t".join(["nodiff", host, task, status]))
            continue
        lines = d.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        m0 = re.match(r"^--- (.*) \(before\)$", lines[0]) if lines else None
        m1 = re.match(r"^\+\+\+ (.*) \(after\)$", lines[1]) if len(lines) > 1 else None
        if not m0 or not m1 or m0.group(1) != m1.group(1) or not m0.group(1).startswith("/"):
            print("\t".join(["edit", host, task]))  # not a file's diff (a service's state)
            continue
        path = m0.group(1)
        hunk = re.match(r"^@@ -0,0 \+1,(\d+) @@$", lines[2]) if len(lines) > 2 else None
        body = lines[3:]
        if not hunk or int(hunk.group(1)) != len(body) or not all(x.startswith("+") for x in body):
            print("\t".join(["edit", host, path]))
            continue
        if (host, path) in seen:
            sys.exit("%s: %s written twice in one run" % (host, path))
        seen.add((host, path))
        p = os.path.join(out, host, path.lstrip("/"))
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w", encoding="utf-8") as f:
            f.write("".join(x[1:] + "\n" for x in body))
        print("\t".join(["file", host, path, str(len(body))]))
    return 0 if tasks and not failed else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))

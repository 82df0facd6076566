#!/usr/bin/python3
"""ezk's config.yml (as `ezk new` wrote it) given the values of kubeasz's
(as `ezctl new` wrote it, and the test edited it): every top-level key of
kubeasz's file gets kubeasz's text for its value, in place when ezk's file
has the key, appended otherwise; ezk's own keys keep ezk's defaults.

    ezk_config.py KUBEASZ_CONFIG EZK_CONFIG     (EZK_CONFIG is rewritten)

Prints the keys ezk's template sets to other values than kubeasz's did
("note<TAB>KEY<TAB>kubeasz VALUE | ezk VALUE"), and checks the result: every
key of kubeasz's file holds kubeasz's value (as PyYAML reads both files).
"""
import json
import re
import sys

import yaml

KEY = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*):")


def blocks(text):
    """{key: its lines (the key's line and the indented lines that follow)},
    and the file as a list of (key or None, line)"""
    out, seq, cur = {}, [], None
    for line in text.splitlines():
        m = KEY.match(line)
        if m:
            cur = m.group(1)
            out[cur] = [line]
            seq.append((cur, line))
        elif cur and line[:1] in (" ", "\t") and line.strip():
            out[cur].append(line)
            seq.append((cur, line))
        else:
            cur = None
            seq.append((None, line))
    return out, seq


def main(kpath, epath):
    ktext, etext = open(kpath, encoding="utf-8").read(), open(epath, encoding="utf-8").read()
    kb, _ = blocks(ktext)
    eb, eseq = blocks(etext)
    kv, ev = yaml.safe_load(ktext), yaml.safe_load(etext)
    for k in kv:
        if k in ev and ev[k] != kv[k]:
            print("note\t%s\tkubeasz %s | ezk %s" % (k, json.dumps(kv[k]), json.dumps(ev[k])))
    out, done = [], set()
    for key, line in eseq:
        if key is None or key not in kb:
            out.append(line)
        elif key not in done:
            out.extend(kb[key])
            done.add(key)
    extra = [k for k in kb if k not in eb]
    if extra:
        out += ["", "# kubeasz's keys that ezk's template does not have"]
        for k in extra:
            out.extend(kb[k])
    text = "\n".join(out) + "\n"
    got = yaml.safe_load(text)
    bad = [k for k in kv if got.get(k) != kv[k]]
    if bad:
        sys.exit("after the merge these keys do not hold kubeasz's values: " + ", ".join(bad))
    with open(epath, "w", encoding="utf-8") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))

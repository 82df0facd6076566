#!/usr/bin/python3
"""Compare ezk's reading of a YAML file (JSON from yaml2json) with PyYAML's
CSafeLoader, which Ansible uses. Usage: yaml-compare.py FILE EZK_JSON|-ERR
Prints "same", "known-gap: why" or "differ: ..."; the exit status is 0 for
the first two. With -ERR the ezk side rejected the file: PyYAML must too,
at the same line (ERR holds ezk's message)."""
import datetime
import json
import math
import re
import sys

import yaml


def norm(v):
    """PyYAML's value in the shape ezk keeps (string keys, text dates)."""
    if isinstance(v, dict):
        out = {}
        for k, x in v.items():
            if isinstance(k, (list, dict)):
                raise TypeError("unhashable key")
            if isinstance(k, bool):
                ks = "True" if k else "False"
            elif k is None:
                ks = "None"
            else:
                ks = repr(k) if isinstance(k, float) else str(k)
            out[ks] = norm(x)
        return out
    if isinstance(v, list):
        return [norm(x) for x in v]
    if isinstance(v, (datetime.date, datetime.datetime, set, bytes)):
        raise ValueError("known-gap: %s" % type(v).__name__)
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) >= 2**63:
        raise ValueError("known-gap: big int")
    return v


def same(a, b):
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if type(a) != type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def main():
    path, ezk = sys.argv[1], sys.argv[2]
    try:
        with open(path, "rb") as f:
            py = yaml.load(f, Loader=yaml.CSafeLoader)
        py_err = None
    except yaml.MarkedYAMLError as e:
        py_err = e
    except Exception as e:  # constructor errors without a mark, unicode errors
        py_err = e
    if ezk.startswith("-"):
        if py_err is None:
            try:
                norm(py)
            except ValueError as e:
                print(str(e))
                return 0
            except RecursionError:
                print("known-gap: a self-referencing alias (PyYAML builds a cycle)")
                return 0
            print("differ: ezk rejects (%s), PyYAML loads it" % ezk[1:])
            return 1
        mark = getattr(py_err, "problem_mark", None)
        m = re.search(r":(\d+): ", ezk[1:])
        if mark is not None and m and int(m.group(1)) != mark.line + 1:
            print("differ: ezk says line %s, PyYAML line %d" % (m.group(1), mark.line + 1))
            return 1
        print("same (both reject)")
        return 0
    if py_err is not None:
        if "!unsafe" in open(path, errors="replace").read():
            print("known-gap: !unsafe is Ansible's tag")
            return 0
        if not isinstance(py_err, yaml.YAMLError):
            print("known-gap: PyYAML fails inside (%s)" % type(py_err).__name__)
            return 0
        print("differ: PyYAML rejects it (%s), ezk loads it" % str(py_err).splitlines()[0])
        return 1
    try:
        want = norm(py)
    except (ValueError, TypeError) as e:
        print(str(e) if str(e).startswith("known-gap") else "known-gap: " + str(e))
        return 0
    got = json.loads(ezk)
    if want is None and got == {} or same(got, want):
        print("same")
        return 0
    print("differ:\n  ezk:    %s\n  PyYAML: %s" % (json.dumps(got)[:300], json.dumps(want)[:300]))
    return 1


sys.exit(main())

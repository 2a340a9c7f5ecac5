#!/usr/bin/env python3
"""Differential check against diffoscope on real buildah-built pairs.

For every layer pair whose digests differ, the set of paths `lockstep diff --strict` reports
must equal the set of paths diffoscope names when run on the two layer blobs (its tar file
list diff plus the members it compares).
"""
import json
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import diff_fixtures  # noqa: E402

LKS = os.environ["LKS_BIN"]
PAIRS = ["date", "mode", "whiteout", "time"]
LIST_LINE = re.compile(r"^[-+]\S{10}\s+\d+\s+\d+\s+\d+\s+\d+\s+\S+\s+\S+\s+(.*)$")


def layers(d):
    with open(os.path.join(d, "index.json")) as f:
        idx = json.load(f)
    with open(os.path.join(d, "blobs", *idx["manifests"][0]["digest"].split(":"))) as f:
        man = json.load(f)
    return [os.path.join(d, "blobs", *l["digest"].split(":")) for l in man["layers"]]


def norm(p):
    p = p.split(" -> ")[0].split(" link to ")[0]
    while p.startswith("./"):
        p = p[2:]
    return p.rstrip("/")


def walk(node, out, depth):
    diff = node.get("unified_diff") or ""
    if node.get("source1") == "file list":
        for line in diff.splitlines():
            m = LIST_LINE.match(line)
            if m:
                out.add(norm(m.group(1)))
    elif depth >= 2 and node.get("source1"):
        out.add(norm(node["source1"]))
        return
    for d in node.get("details") or []:
        walk(d, out, depth + 1)


def diffoscope_paths(a, b):
    r = subprocess.run(["diffoscope", "--json", "-", a, b], capture_output=True, text=True,
                       timeout=300)
    if r.returncode not in (0, 1):
        raise RuntimeError("diffoscope failed: " + r.stderr[-2000:])
    out = set()
    if r.stdout.strip():
        walk(json.loads(r.stdout), out, 0)
    return out


def main():
    if not shutil.which("diffoscope"):
        print("SKIP: diffoscope not installed")
        return 77
    img = diff_fixtures.ensure()
    fails = 0
    for pair in PAIRS:
        a, b = os.path.join(img, pair + "-a.oci"), os.path.join(img, pair + "-b.oci")
        r = subprocess.run([LKS, "diff", "--strict", "--format", "json", "oci:" + a, "oci:" + b],
                           capture_output=True, text=True)
        if r.returncode != 1:
            print("FAIL: %s: lockstep exit %d %s" % (pair, r.returncode, r.stderr))
            fails += 1
            continue
        rep = json.loads(r.stdout)["platforms"][0]["layers"]
        for la, lb, ld in zip(layers(a), layers(b), rep):
            if os.path.basename(la) == os.path.basename(lb):
                continue
            want = diffoscope_paths(la, lb)
            got = {f["path"] for f in ld["files"]}
            if got != want:
                fails += 1
                print("FAIL: %s layer %d: lockstep only %s, diffoscope only %s" %
                      (pair, ld["index"], sorted(got - want), sorted(want - got)))
            else:
                print("ok: %s layer %d: %d paths agree" % (pair, ld["index"], len(got)))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())

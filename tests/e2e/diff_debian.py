#!/usr/bin/env python3
"""lockstep diff on a real non-reproducible Debian build: apt-get install from a loopback
repository plus a byte-compiled module whose source mtime differs. Every difference must be
found, explained as known noise with a hint, mapped to its Dockerfile line, and go away
with --profile noise; diffoscope must name the same paths."""
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import diff_debian_fixtures  # noqa: E402
import diff_diffoscope  # noqa: E402

LKS = os.environ["LKS_BIN"]
FAILS = []
MUST = {"var/log/dpkg.log", "var/cache/apt/pkgcache.bin", "app/__pycache__/m.cpython-311.pyc"}


def check(cond, what):
    if not cond:
        FAILS.append(what)
        print("FAIL: " + what, flush=True)


def lockstep(*args):
    return subprocess.run([LKS, "diff"] + list(args), capture_output=True, text=True,
                          timeout=120)


def main():
    img = diff_debian_fixtures.ensure()
    a, b = "oci:" + os.path.join(img, "apt-a.oci"), "oci:" + os.path.join(img, "apt-b.oci")
    df = os.path.join(img, "apt.Dockerfile")
    r = lockstep("--format", "json", "--dockerfile", df, a, b)
    check(r.returncode == 1, "default: exit %d %s" % (r.returncode, r.stderr))
    if r.returncode == 1:
        layers = json.loads(r.stdout)["platforms"][0]["layers"]
        files = [f for l in layers for f in l["files"]]
        got = {f["path"] for f in files}
        check(MUST <= got, "missing paths: %s" % (MUST - got))
        unexplained = [f["path"] for f in files if not f["cause"] or not f["hint"]]
        check(not unexplained, "no known cause for %s" % unexplained)
        check(any(l["dockerfile"] and l["dockerfile"]["line"] == 6 for l in layers),
              "Dockerfile line not mapped")
    r = lockstep(a, b)
    check("(known noise: dpkg log" in r.stdout and ".pyc embeds source mtime" in r.stdout,
          "text report:\n" + r.stdout)
    r = lockstep("--deep", a, b)
    check("pyc header: source mtime 1600000000 \u2192 1600000001; code identical" in r.stdout
          and "text: first difference on line 1" in r.stdout, "--deep:\n" + r.stdout)
    r = lockstep("--format", "html", a, b)
    check(r.returncode == 1 and r.stdout.startswith("<!DOCTYPE html>") and
          '<tr class="chg"><td>1</td><td>' in r.stdout and r.stdout.count("<html") == 1,
          "html: exit %d" % r.returncode)
    r = lockstep("--profile", "noise", a, b)
    check(r.returncode == 0 and "differences ignored" in r.stdout,
          "--profile noise: exit %d\n%s" % (r.returncode, r.stdout))
    r = lockstep("--profile", "apt", a, b)
    check(r.returncode == 1 and ".pyc" in r.stdout and "dpkg.log" not in r.stdout,
          "--profile apt: exit %d\n%s" % (r.returncode, r.stdout))
    if shutil.which("diffoscope"):
        r = lockstep("--strict", "--format", "json", a, b)
        rep = json.loads(r.stdout)["platforms"][0]["layers"]
        la = diff_diffoscope.layers(os.path.join(img, "apt-a.oci"))
        lb = diff_diffoscope.layers(os.path.join(img, "apt-b.oci"))
        for x, y, ld in zip(la, lb, rep):
            if os.path.basename(x) != os.path.basename(y):
                want = diff_diffoscope.diffoscope_paths(x, y)
                got = {f["path"] for f in ld["files"]}
                check(got == want, "diffoscope: lockstep only %s, diffoscope only %s" %
                      (sorted(got - want), sorted(want - got)))
    print("%d failures" % len(FAILS))
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Benchmark: resolving a 100-package transitive Python set from the loopback index,
lockstep py-compile vs `pip install --dry-run --report -` (Debian's pip), medians of runs.

The set is generated here, deterministically, and cached in the build dir: 100 projects with
3 versions each, each version one minimal wheel built with zipfile (real METADATA with
Requires-Dist, WHEEL, RECORD), served by tests/servers/pyindex.py with the PEP 691 JSON API,
PEP 658 metadata files and ETags. Dependencies form a DAG about 8 levels deep; some specifiers
exclude the newest version, all edges into a project agree, so the solution is unique and pip
and lockstep must choose the same (checked).

  cold   lockstep with an empty cache / pip with an empty cache dir (goal: lockstep >= 5x faster)
  warm   lockstep again with its cache: project pages revalidated (304), metadata and hashes
         from the cache (goal <= 100 ms); pip with its warm HTTP cache for reference

lockstep also hashes every file of each chosen version (pip-compile --generate-hashes), which
pip's dry run does not do. Debian's pip 23.0 does not know PEP 714's "core-metadata" key (and
breaks on the older JSON key, the bug PEP 714 was written for), so it downloads each chosen
wheel instead of its metadata file: one request either way, and these wheels are ~1 KB. Runs: LKS_BENCH_RUNS (default 5). Exit 77 without Debian's pip;
exit 1 when lockstep and pip choose differently or a warm run sends more than revalidations.
"""
import base64
import hashlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile

SRC = os.environ.get("LKS_SRCDIR", os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("LKS_BUILDDIR", os.path.join(SRC, "build"))
BIN = os.environ.get("LKS_BIN", os.path.join(BUILD, "cli", "lockstep"))
PY = "/usr/bin/python3"
RUNS = int(os.environ.get("LKS_BENCH_RUNS", "5"))
NPROJ = 100
VERSIONS = ("1.0", "1.1", "2.0")
ROOTS = 4
PIP_ENV = {k: v for k, v in os.environ.items() if k not in ("PIP_FIND_LINKS", "PIP_CERT")}
PIP_ENV.update(PIP_CONFIG_FILE="/dev/null", PIP_DISABLE_PIP_VERSION_CHECK="1",
               PIP_NO_INPUT="1")
ZIP_DATE = (2020, 1, 1, 0, 0, 0)


def name(i):
    return "bp-%03d" % i


def graph():
    """{project: {version: [requirement, ...]}}: every project below the roots has a parent
    a few places above it, so the set is connected and about 8 levels deep."""
    rnd = random.Random(4)
    deps = {i: [] for i in range(NPROJ)}
    for j in range(ROOTS, NPROJ):
        deps[rnd.randrange(max(0, j - 13), j)].append(j)
    for i in range(NPROJ):
        extra = [j for j in rnd.sample(range(i + 1, NPROJ), min(2, NPROJ - i - 1))
                 if rnd.random() < 0.3]
        deps[i] = sorted(set(deps[i] + extra))
    # every edge into a project carries the same specifier: the allowed versions of each
    # project do not depend on the order of decisions, so the solution is unique
    spec = [rnd.choice([">=1.0", "<2", ">=1.1", "!=2.0", "~=1.0", "", "<2,!=1.1"])
            for _ in range(NPROJ)]
    out = {}
    for i in range(NPROJ):
        out[name(i)] = {v: [name(j) + spec[j] for j in deps[i]] for v in VERSIONS}
    return out


def record_hash(data):
    d = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return "sha256=%s,%d" % (d, len(data))


def wheel(out, project, version, reqs):
    mod = project.replace("-", "_")
    info = "%s-%s.dist-info" % (mod, version)
    meta = "Metadata-Version: 2.1\nName: %s\nVersion: %s\n" % (project, version)
    meta += "".join("Requires-Dist: %s\n" % r for r in reqs)
    files = [
        ("%s/__init__.py" % mod, b""),
        (info + "/METADATA", meta.encode()),
        (info + "/WHEEL", b"Wheel-Version: 1.0\nGenerator: lockstep-bench\n"
                          b"Root-Is-Purelib: true\nTag: py3-none-any\n"),
    ]
    record = "".join("%s,%s\n" % (p, record_hash(d)) for p, d in files) + info + "/RECORD,,\n"
    files.append((info + "/RECORD", record.encode()))
    with zipfile.ZipFile(os.path.join(out, "%s-%s-py3-none-any.whl" % (mod, version)), "w",
                         zipfile.ZIP_DEFLATED) as z:
        for path, data in files:
            z.writestr(zipfile.ZipInfo(path, ZIP_DATE), data)


def fixture():
    g = graph()
    key = hashlib.sha256(json.dumps(g, sort_keys=True).encode()).hexdigest()[:16]
    root = os.path.join(BUILD, "fixture-cache", "pybench-" + key)
    if not os.path.isdir(root):
        tmp = root + ".tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(tmp)
        for project, per in g.items():
            for version, reqs in per.items():
                wheel(tmp, project, version, reqs)
        os.rename(tmp, root)
    return root


class Server:
    def __init__(self, root):
        self.p = subprocess.Popen([PY, os.path.join(SRC, "tests", "servers", "pyindex.py"),
                                   "--root", root], stdout=subprocess.PIPE, text=True)
        line = self.p.stdout.readline()
        if not line.startswith("PORT "):
            sys.exit("index server did not start")
        self.url = "http://127.0.0.1:%s/simple/" % line.split()[1]

    def stats(self):
        with urllib.request.urlopen(self.url.replace("/simple/", "/_stats?reset")) as r:
            return json.loads(r.read())

    def stop(self):
        self.p.terminate()
        self.p.wait(timeout=10)


def timed(cmd, env=None):
    t0 = time.perf_counter()
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    dt = (time.perf_counter() - t0) * 1e3
    if p.returncode:
        sys.exit("%s exited %d: %s" % (cmd[:3], p.returncode, p.stderr[-2000:]))
    return dt, p


def lockstep(work, url, cache):
    out = os.path.join(work, "requirements.txt")
    return timed([BIN, "py-compile", "--cache-dir", cache, "--index-url", url,
                  "--python-version", "3.11", os.path.join(work, "requirements.in"), "-o", out])


def pip(work, url, cache):
    env = dict(PIP_ENV, PIP_CACHE_DIR=cache)
    return timed([PY, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
                  "--report", "-", "--index-url", url, "-r",
                  os.path.join(work, "requirements.in")], env)


def pins_of(path):
    out = {}
    for line in open(path):
        if line[:1].isalnum():
            k, v = line.split(" ")[0].split("==")
            out[k] = v
    return out


def main():
    if not os.path.exists(PY) or subprocess.run([PY, "-m", "pip", "--version"],
                                                capture_output=True).returncode:
        print("SKIP: Debian's pip is not installed")
        return 77
    root = fixture()
    work = tempfile.mkdtemp(prefix="lks-py-bench-")
    srv = Server(root)
    med = statistics.median
    try:
        with open(os.path.join(work, "requirements.in"), "w") as f:
            f.write("".join(name(i) + "\n" for i in range(ROOTS)))
        cold, warm, pcold, pwarm, stats = [], [], [], [], []
        for k in range(RUNS):
            cache, pcache = os.path.join(work, "c%d" % k), os.path.join(work, "p%d" % k)
            srv.stats()
            cold.append(lockstep(work, srv.url, cache)[0])
            cold_stats = srv.stats()
            warm.append(lockstep(work, srv.url, cache)[0])
            stats.append((cold_stats, srv.stats()))
            dt, p = pip(work, srv.url, pcache)
            pcold.append(dt)
            pwarm.append(pip(work, srv.url, pcache)[0])
        ours = pins_of(os.path.join(work, "requirements.txt"))
        rep = json.loads(p.stdout)
        theirs = {i["metadata"]["name"]: i["metadata"]["version"] for i in rep["install"]}
        print("set: %d projects chosen of %d (%d wheels), %d runs, load average %.1f on %d CPUs"
              % (len(ours), NPROJ, len(os.listdir(root)), RUNS, os.getloadavg()[0],
                 os.cpu_count()))
        print("requests cold: %s; warm: %s" % (stats[0][0], stats[0][1]))
        print("lockstep cold: %.0f ms (median; runs %s)" % (med(cold), [round(x) for x in cold]))
        print("lockstep warm: %.0f ms (median; runs %s; goal <= 100 ms)"
              % (med(warm), [round(x) for x in warm]))
        print("pip cold:      %.0f ms (median; runs %s)" % (med(pcold), [round(x) for x in pcold]))
        print("pip warm:      %.0f ms (median; runs %s)" % (med(pwarm), [round(x) for x in pwarm]))
        print("ratio cold pip/lockstep: %.1fx (goal >= 5x)" % (med(pcold) / med(cold)))
        print("ratio warm pip/lockstep: %.1fx" % (med(pwarm) / med(warm)))
        bad = []
        if ours != theirs or len(ours) != NPROJ:
            bad.append("lockstep and pip chose differently:\n%s\n%s" % (ours, theirs))
        if any(set(w) != {"page-304"} for _, w in stats):
            bad.append("a warm run sent more than revalidations: %s" % [w for _, w in stats])
        for b in bad:
            print("FAIL:", b)
        return 1 if bad else 0
    finally:
        srv.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

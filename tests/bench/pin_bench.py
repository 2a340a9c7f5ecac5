#!/usr/bin/env python3
"""Benchmark `lockstep pin` (image references); prints medians.

  warm   pin of a Dockerfile with 5 images against a loopback registry, everything already
         pinned, lock written and cache filled, --max-age large (goal <= 200 ms)
  cold   the same pin from an unpinned Dockerfile with an empty cache (reference only)

`lockstep check` is measured by check_bench.py (no registry needed, against process-start peers).
Uses hyperfine when installed (-N: no shell), else times the runs in Python (also with
LKS_BENCH_NO_HYPERFINE=1). Runs: LKS_BENCH_RUNS (default 20). The start-up floor
(`lockstep --help`: exec plus loading libcrypto, jansson and sqlite3; libcurl and libarchive are
loaded on first use) is measured too; on a loaded machine it can reach tens of ms, so each goal
gets two verdicts: wall time, and time above the floor (what lockstep's own work costs). The cpu
column is user+system time (mean), less sensitive to load. Exits 1 when the time above the floor
misses a goal by more than 2x (LKS_BENCH_STRICT=1: when missed at all), 77 when the registry
tools are missing.
"""
import json
import os
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

SRC = os.environ.get("LKS_SRCDIR", os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("LKS_BUILDDIR", os.path.join(SRC, "build"))
BIN = os.environ.get("LKS_BIN", os.path.join(BUILD, "cli", "lockstep"))
RUNS = int(os.environ.get("LKS_BENCH_RUNS", "20"))
NOW = "2026-11-23T12:00:00Z"
sys.path.insert(0, os.path.join(SRC, "tests", "servers"))

import registry  # noqa: E402

IMAGES = ["single:1", "single:docker", "multi:1", "list:1", "multi:att"]


def env_for(d):
    e = dict(os.environ, XDG_CACHE_HOME=os.path.join(d, "cache"),
             DOCKER_CONFIG="/nonexistent-lockstep-docker-config")
    e.pop("LOCKSTEP_NOW", None)
    return e


def hyperfine(cmd, cwd, env, prepare=None, ok_codes=(0,)):
    out = os.path.join(cwd, "hf.json")
    args = ["hyperfine", "-N", "--style", "none", "--warmup", "3", "--runs", str(RUNS), "-i",
            "--export-json", out]
    if prepare:
        args += ["--prepare", prepare]
    subprocess.run(args + [cmd], cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    with open(out) as f:
        res = json.load(f)["results"][0]
    codes = set(res.get("exit_codes") or [])
    if codes - set(ok_codes):
        raise RuntimeError(f"{cmd}: exit codes {sorted(codes)}")
    return res["median"] * 1000, (res["user"] + res["system"]) * 1000


def pytime(cmd, cwd, env, prepare=None, ok_codes=(0,)):
    times, cpu = [], 0.0
    for i in range(RUNS + 3):
        if prepare:
            subprocess.run(shlex.split(prepare), cwd=cwd, env=env, check=True)
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        p = subprocess.run(shlex.split(cmd), cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        dt = time.perf_counter() - t0
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        if p.returncode not in ok_codes:
            raise RuntimeError(f"{cmd}: exit {p.returncode}")
        if i >= 3:
            times.append(dt * 1000)
            cpu += (r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime) * 1000
    return statistics.median(times), cpu / RUNS


def have_hyperfine():
    return shutil.which("hyperfine") and os.environ.get("LKS_BENCH_NO_HYPERFINE") != "1"


def measure(cmd, cwd, env, prepare=None, ok_codes=(0,)):
    fn = hyperfine if have_hyperfine() else pytime
    return fn(cmd, cwd, env, prepare, ok_codes)


def bench_floor(tmp):
    d = os.path.join(tmp, "floor")
    os.makedirs(d)
    return measure(f"{shlex.quote(BIN)} --help", d, env_for(d))


def bench_pin(tmp, host):
    d = os.path.join(tmp, "pin")
    os.makedirs(d)
    lines = [f"FROM {host}/{ref} AS s{i}\nRUN true\n" for i, ref in enumerate(IMAGES)]
    with open(os.path.join(d, "Dockerfile.orig"), "w") as f:
        f.write("".join(lines) + "FROM scratch\nCOPY --from=s0 /bin /bin\n")
    shutil.copy(os.path.join(d, "Dockerfile.orig"), os.path.join(d, "Dockerfile"))
    env = env_for(d)
    pin = f"{shlex.quote(BIN)} pin -q --now {NOW}"
    p = subprocess.run(shlex.split(pin), cwd=d, env=env, capture_output=True, text=True)
    with open(os.path.join(d, "Dockerfile")) as f:
        npinned = f.read().count("@sha256:")
    if p.returncode != 0 or npinned != len(IMAGES):
        raise RuntimeError(f"first pin: exit {p.returncode}, {npinned} pinned: {p.stderr}")
    warm = measure(pin + " --max-age 1000000000", d, env)
    with open(os.path.join(d, "prep.sh"), "w") as f:
        f.write("rm -rf cache lockstep.lock && cp Dockerfile.orig Dockerfile\n")
    cold = measure(pin, d, env, prepare="sh prep.sh")
    return warm, cold


def main():
    for tool in ("docker-registry", "skopeo", "buildah"):
        if shutil.which(tool) is None:
            print(f"skip: {tool} not installed")
            return 77
    storage, _ = registry.seed(os.path.abspath(BUILD))
    tmp = tempfile.mkdtemp(prefix="lks-pin-bench-")
    try:
        floor_ms = bench_floor(tmp)
        with registry.Registry("anon", storage=storage) as reg:
            warm_ms, cold_ms = bench_pin(tmp, reg.host)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    tool = "hyperfine" if have_hyperfine() else "python"
    rows = [("start-up floor: lockstep --help", floor_ms, None),
            ("pin warm, 5 images (cache filled, all pinned)", warm_ms, 200.0),
            ("pin cold, 5 images (empty cache, loopback registry)", cold_ms, None)]
    floor_ms = floor_ms[0]
    print(f"lockstep pin benchmark: median of {RUNS} runs ({tool})")
    print(f"{'case':<52} {'median':>9} {'cpu':>8} {'goal':>9}  verdict: wall / above floor")
    worst = 0.0
    for name, (ms, cpu), goal in rows:
        verdict = "-"
        if goal is not None:
            own = max(ms - floor_ms, 0.0)
            verdict = ("ok" if ms <= goal else "MISSED") + " / " + \
                ("ok" if own <= goal else "MISSED") + f" ({own:.1f} ms above the floor)"
            worst = max(worst, own / goal)
        print(f"{name:<52} {ms:>6.1f} ms {cpu:>5.1f} ms "
              f"{('<= %g ms' % goal) if goal else '':>9}  {verdict}")
    limit = 1.0 if os.environ.get("LKS_BENCH_STRICT") == "1" else 2.0
    return 1 if worst > limit else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Benchmark: this lockstep against an earlier build, in the same run ("nothing else slower").

LKS_BENCH_BASELINE names the earlier lockstep binary (e.g. one built from the main branch before
a change); without it the benchmark is skipped (exit 77). Each case runs both binaries
alternately, LKS_BENCH_RUNS rounds (default 15; verify: LKS_BENCH_VERIFY_RUNS, default 3), and
prints the medians (wall and CPU) and the ratio this/baseline:

  check    `check` on the 200-line multi-stage Dockerfile (offline)
  version  `--version` (start-up)
  pin      warm `pin` of 5 images (everything pinned, cache filled) against a loopback registry
  apt      warm and cold `apt-resolve` of 20 packages from the machine's Debian index, as
           apt_bench.py measures them (skipped when that index cannot be fetched)
  verify   `verify` of a small Dockerfile (two buildah builds and the diff; root and buildah)
"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from pin_bench import BIN, BUILD, IMAGES, NOW, SRC, env_for, registry  # noqa: E402

BASE = os.environ.get("LKS_BENCH_BASELINE")
RUNS = int(os.environ.get("LKS_BENCH_RUNS", "15"))
VRUNS = int(os.environ.get("LKS_BENCH_VERIFY_RUNS", "3"))
FIXTURE = os.path.join(SRC, "fixtures", "dockerfiles", "36-bench-200-lines.Dockerfile")


def run(cmd, cwd, env, ok=(0,)):
    """Wall and CPU milliseconds of one run (CPU from wait4)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    dt = (time.perf_counter() - t0) * 1000
    if p.returncode not in ok:
        raise RuntimeError(f"{' '.join(cmd[:3])}: exit {p.returncode}")
    return dt, (ru.ru_utime + ru.ru_stime) * 1000


def alternate(cases, rounds):
    """cases: {binary: (argv, cwd, env, ok)}; medians of wall and CPU per binary."""
    res = {b: ([], []) for b in cases}
    for _ in range(rounds):
        for b, (argv, cwd, env, ok) in cases.items():
            w, c = run(argv, cwd, env, ok)
            res[b][0].append(w)
            res[b][1].append(c)
    return {b: (statistics.median(w), statistics.median(c)) for b, (w, c) in res.items()}


def bench_check(tmp):
    d = os.path.join(tmp, "check")
    os.makedirs(d)
    shutil.copy(FIXTURE, os.path.join(d, "Dockerfile"))
    env = env_for(d)
    out = {}
    for name, args, ok in (("check, 200-line Dockerfile", ["check"], (1,)),
                           ("--version", ["--version"], (0,))):
        out[name] = alternate({b: ([b] + args, d, env, ok) for b in (BIN, BASE)}, RUNS)
    return out


def bench_pin(tmp, host):
    cases = {}
    for b in (BIN, BASE):
        d = os.path.join(tmp, "pin-" + ("new" if b == BIN else "old"))
        os.makedirs(d)
        with open(os.path.join(d, "Dockerfile"), "w") as f:
            f.write("".join(f"FROM {host}/{ref} AS s{i}\n" for i, ref in enumerate(IMAGES)))
        env = env_for(d)
        argv = [b, "pin", "-q", "--now", NOW]
        subprocess.run(argv, cwd=d, env=env, check=True, capture_output=True)
        cases[b] = (argv + ["--max-age", "1000000000"], d, env, (0,))
    return {"pin warm, 5 images": alternate(cases, RUNS)}


def bench_apt(tmp):
    sys.path.insert(0, os.path.join(SRC, "tests", "e2e"))
    from apt_real_differential import machine_sources
    from aptrepo import apt_config
    from apt_bench import PKGS
    cache = os.path.join(BUILD, "fixture-cache", "apt-real")
    lists = os.path.join(cache, "state", "lists")
    if not os.path.isdir(lists) or not any(f.endswith("_Packages") for f in os.listdir(lists)):
        return {}
    files = machine_sources(os.path.join(cache, "etc", "sources.d"))
    args = ["apt-resolve", "--lists", lists]
    for f in files:
        args += ["--sources", f]
    env = dict(os.environ)
    out = {"apt cold, 20 packages": alternate({b: ([b] + args + PKGS, None, env, (0,))
                                              for b in (BIN, BASE)}, max(RUNS // 3, 3))}
    warm = {}
    for b in (BIN, BASE):
        snap = os.path.join(tmp, "snap-" + ("new" if b == BIN else "old"))
        argv = [b] + args + ["--snapshot", snap] + PKGS
        subprocess.run(argv, check=True, capture_output=True)
        warm[b] = (argv, None, env, (0,))
    out["apt warm (snapshot), 20 packages"] = alternate(warm, RUNS)
    return out


def bench_verify(tmp, host):
    if not shutil.which("buildah") or os.geteuid() != 0:
        return {}
    ctx = os.path.join(tmp, "vctx")
    os.makedirs(os.path.join(ctx, "data"))
    for i in range(8):
        with open(os.path.join(ctx, "data", "f%d" % i), "wb") as f:
            f.write(os.urandom(1 << 20))
    with open(os.path.join(ctx, "Dockerfile"), "w") as f:
        f.write(f"FROM {host}/single:1\nCOPY data /data\nRUN echo hi > /hi\n")
    root = tempfile.mkdtemp(prefix="lks-base-verify-", dir="/var/tmp")
    env = dict(os.environ, TMPDIR=root)
    try:
        cases = {b: ([b, "verify", "--insecure-registry", host, "--source-date-epoch", "0",
                      "--format", "json", "--no-report", ctx], tmp, env, (0,))
                 for b in (BIN, BASE)}
        return {"verify, 8 MB context": alternate(cases, VRUNS)}
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main():
    if not BASE or not os.access(BASE, os.X_OK):
        print("skip: set LKS_BENCH_BASELINE to an earlier lockstep binary")
        return 77
    tmp = tempfile.mkdtemp(prefix="lks-baseline-bench-")
    rows = {}
    try:
        rows.update(bench_check(tmp))
        rows.update(bench_apt(tmp))
        if shutil.which("docker-registry") and shutil.which("skopeo"):
            storage, _ = registry.seed(os.path.abspath(BUILD))
            with registry.Registry("anon", storage=storage) as reg:
                rows.update(bench_pin(tmp, reg.host))
                rows.update(bench_verify(tmp, reg.host))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"this build ({BIN}) against the baseline ({BASE}), alternating, medians of {RUNS} "
          f"(verify {VRUNS}); load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"{'case':<36} {'this':>10} {'baseline':>10} {'ratio':>6}   {'cpu this':>9} "
          f"{'baseline':>9} {'ratio':>6}")
    for name, r in rows.items():
        (nw, nc), (ow, oc) = r[BIN], r[BASE]
        print(f"{name:<36} {nw:>7.1f} ms {ow:>7.1f} ms {nw / ow:>5.2f}x   {nc:>6.1f} ms "
              f"{oc:>6.1f} ms {nc / oc if oc else 0:>5.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Benchmark: resolving 20 packages from the machine's real Debian index (bookworm main
Packages, ~50 MB), lockstep vs apt-cache policy, medians of several runs.

cold: a fresh process that reads, sha256-checks and parses every Packages file (lockstep) /
      apt-cache after deleting its binary cache, so it rebuilds pkgcache.bin from the lists.
warm: a fresh lockstep process mapping its index snapshot and using it in place (--snapshot,
      keyed by the lists' identity, blocks checked as they are read) / apt-cache policy with its
      pkgcache.bin present (also mapped).
Goals (issue 15): warm <= 0.5x apt-cache policy warm, cold <= 0.35x apt-cache policy cold.
Wall times depend on the machine's load (printed); CPU times (user+sys) much less so."""
import os
import re
import resource
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
from aptrepo import SKIP, apt_config, fail  # noqa: E402
from apt_real_differential import machine_sources  # noqa: E402

PKGS = """nginx curl git python3 build-essential libpq-dev tini ca-certificates wget openssl gcc
make cmake vim nano less procps iproute2 jq sqlite3""".split()
RUNS = 7


def cpu_children():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(cmd, env=None, cpu=None):
    t0, c0 = time.perf_counter(), cpu_children()
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    dt = time.perf_counter() - t0
    if cpu is not None:
        cpu.append((cpu_children() - c0) * 1e3)
    if p.returncode != 0:
        fail(f"{' '.join(cmd[:3])} ... exited {p.returncode}: {p.stderr}")
    return dt, p


def main():
    binary, build = os.environ.get("LKS_BIN"), os.environ.get("LKS_BUILDDIR")
    if not binary or not build:
        fail("LKS_BIN and LKS_BUILDDIR must be set")
    cache = os.path.join(build, "fixture-cache", "apt-real")
    files = machine_sources(os.path.join(cache, "etc", "sources.d"))
    env = apt_config(cache, "", archs=("amd64",))
    lists = os.path.join(cache, "state", "lists")
    if not any(f.endswith("_Packages") for f in os.listdir(lists) if os.path.isdir(lists)):
        p = subprocess.run(["apt-get", "update"], env=env, capture_output=True, text=True)
        if p.returncode != 0:
            print("SKIP: the machine's apt sources are unreachable", file=sys.stderr)
            sys.exit(SKIP)
    args = [binary, "apt-resolve", "--lists", lists]
    for f in files:
        args += ["--sources", f]
    cold, load, inmem, cold_cpu = [], [], [], []
    for _ in range(RUNS):
        dt, p = timed(args + ["--bench", "200"] + PKGS, cpu=cold_cpu)
        m = re.search(r"load_ms=([\d.]+) resolve_ms=([\d.]+)", p.stderr)
        cold.append(dt * 1e3)
        load.append(float(m.group(1)))
        inmem.append(float(m.group(2)))
    snap = os.path.join(cache, "index.snapshot")
    if os.path.exists(snap):
        os.unlink(snap)
    timed(args + ["--snapshot", snap] + PKGS)
    warm, warm_cpu = [], []
    for _ in range(RUNS):
        dt, p = timed(args + ["--snapshot", snap] + PKGS, cpu=warm_cpu)
        warm.append(dt * 1e3)
    apt_cold, apt_warm, apt_cold_cpu, apt_warm_cpu = [], [], [], []
    pkgcache = [os.path.join(cache, "cache", n) for n in ("pkgcache.bin", "srcpkgcache.bin")]
    for _ in range(RUNS):
        for f in pkgcache:
            if os.path.exists(f):
                os.unlink(f)
        apt_cold.append(timed(["apt-cache", "policy"] + PKGS, env, apt_cold_cpu)[0] * 1e3)
        apt_warm.append(timed(["apt-cache", "policy"] + PKGS, env, apt_warm_cpu)[0] * 1e3)
    size = sum(os.path.getsize(os.path.join(lists, f)) for f in os.listdir(lists)
               if "_Packages" in f)
    med = statistics.median
    print(f"index: {size / 1e6:.1f} MB of Packages, {len(PKGS)} packages, median of {RUNS} runs, "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"lockstep cold (read+sha256+parse+resolve): {med(cold):.0f} ms wall, "
          f"{med(cold_cpu):.0f} ms CPU (index load {med(load):.0f} ms)")
    print(f"lockstep warm (snapshot mapped in place+resolve): {med(warm):.0f} ms wall, "
          f"{med(warm_cpu):.0f} ms CPU")
    print(f"lockstep resolve only, index in memory: {med(inmem):.3f} ms for {len(PKGS)}")
    print(f"apt-cache policy cold (rebuilds pkgcache.bin): {med(apt_cold):.0f} ms wall, "
          f"{med(apt_cold_cpu):.0f} ms CPU")
    print(f"apt-cache policy warm (pkgcache.bin present): {med(apt_warm):.0f} ms wall, "
          f"{med(apt_warm_cpu):.0f} ms CPU")
    print(f"ratio cold lockstep/apt-cache: {med(cold) / med(apt_cold):.2f} wall, "
          f"{med(cold_cpu) / med(apt_cold_cpu):.2f} CPU (goal <= 0.35)")
    print(f"ratio warm lockstep/apt-cache: {med(warm) / med(apt_warm):.2f} wall, "
          f"{med(warm_cpu) / max(med(apt_warm_cpu), 0.001):.2f} CPU (goal <= 0.5)")

if __name__ == "__main__":
    main()

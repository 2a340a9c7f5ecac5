#!/usr/bin/env python3
"""Benchmark: resolving 20 packages from the machine's real Debian index (bookworm main
Packages, ~50 MB), lockstep vs apt-cache policy, medians of several runs.

cold: a fresh process that reads, sha256-checks and parses every Packages file (lockstep) /
      apt-cache after deleting its binary cache, so it rebuilds pkgcache.bin from the lists.
warm: lockstep with the index already in memory (what a cached index gives: --bench rounds) /
      apt-cache policy with its pkgcache.bin present."""
import os
import re
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


def timed(cmd, env=None):
    t0 = time.perf_counter()
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    dt = time.perf_counter() - t0
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
    cold, load, warm = [], [], []
    for _ in range(RUNS):
        dt, p = timed(args + ["--bench", "200"] + PKGS)
        m = re.search(r"load_ms=([\d.]+) resolve_ms=([\d.]+)", p.stderr)
        cold.append(dt * 1e3)
        load.append(float(m.group(1)))
        warm.append(float(m.group(2)))
    apt_cold, apt_warm = [], []
    pkgcache = [os.path.join(cache, "cache", n) for n in ("pkgcache.bin", "srcpkgcache.bin")]
    for _ in range(RUNS):
        for f in pkgcache:
            if os.path.exists(f):
                os.unlink(f)
        apt_cold.append(timed(["apt-cache", "policy"] + PKGS, env)[0] * 1e3)
        apt_warm.append(timed(["apt-cache", "policy"] + PKGS, env)[0] * 1e3)
    size = sum(os.path.getsize(os.path.join(lists, f)) for f in os.listdir(lists)
               if "_Packages" in f)
    med = statistics.median
    print(f"index: {size / 1e6:.1f} MB of Packages, {len(PKGS)} packages, median of {RUNS} runs")
    print(f"lockstep cold (process, read+sha256+parse+resolve): {med(cold):.0f} ms "
          f"(index load {med(load):.0f} ms; goal <= 1000 ms)")
    print(f"lockstep warm (index in memory, resolve 20): {med(warm):.3f} ms (goal <= 50 ms)")
    print(f"apt-cache policy cold (rebuilds pkgcache.bin): {med(apt_cold):.0f} ms")
    print(f"apt-cache policy warm (pkgcache.bin present): {med(apt_warm):.0f} ms")
    print(f"ratio cold lockstep/apt-cache: {med(cold) / med(apt_cold):.2f}")
    print(f"ratio warm lockstep/apt-cache: {med(warm) / med(apt_warm):.4f}")


if __name__ == "__main__":
    main()

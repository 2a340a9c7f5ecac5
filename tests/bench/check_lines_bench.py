#!/usr/bin/env python3
"""Benchmark: `lockstep check` must grow linearly with the number of FROM lines (issue 12).

Dockerfiles of 10,000, 20,000, 40,000 and 60,000 lines, each a third FROM ... AS sN, a third
COPY --from=<an earlier stage>, a third RUN --mount=from=<image> (every kind of reference,
stage names looked up). Each size is checked LKS_BENCH_RUNS times (default 3, round-robin so
the load of this shared machine hits them alike); the medians are printed with the time per
line and its ratio to the smallest file's: about 1 for linear work, growing with the size
(6 at 60,000 lines) for quadratic. The peer in the same run is `grep -c` over the same file
(reading it once). Exits 1 when the time per line at 60,000 lines is more than twice that at
10,000 (LKS_BENCH_STRICT=0: never).
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

SRC = os.environ.get("LKS_SRCDIR", os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("LKS_BUILDDIR", os.path.join(SRC, "build"))
BIN = os.path.abspath(os.environ.get("LKS_BIN", os.path.join(BUILD, "cli", "lockstep")))
RUNS = int(os.environ.get("LKS_BENCH_RUNS", "3"))
SIZES = (10000, 20000, 40000, 60000)


def dockerfile(path, n):
    with open(path, "w") as f:
        for i in range(n // 3):
            f.write("FROM registry.example/img%d:1 AS s%d\n" % (i, i))
            f.write("COPY --from=s%d /a /b\n" % (i // 2))
            f.write("RUN --mount=type=bind,from=registry.example/tool%d:2,target=/m true\n" % i)


def timed(argv, cwd):
    t0 = time.perf_counter()
    r = subprocess.run(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       env=dict(os.environ, XDG_CACHE_HOME=os.path.join(cwd, "cache")))
    if r.returncode not in (0, 1):
        sys.exit("%s failed (%d): %s" % (argv, r.returncode, r.stderr.decode()[-500:]))
    return time.perf_counter() - t0


def main():
    tmp = tempfile.mkdtemp(prefix="lks-check-lines-")
    files = {}
    for n in SIZES:
        files[n] = os.path.join(tmp, "D%d" % n)
        dockerfile(files[n], n)
    t = {n: [] for n in SIZES}
    g = {n: [] for n in SIZES}
    for _ in range(RUNS):
        for n in SIZES:
            t[n].append(timed([BIN, "check", files[n]], tmp))
            g[n].append(timed(["grep", "-c", "^FROM", files[n]], tmp))
    print("lines    lockstep check   per line   per line / first   grep -c (peer)   check/grep")
    first = statistics.median(t[SIZES[0]]) / SIZES[0]
    worst = 0.0
    for n in SIZES:
        m, p = statistics.median(t[n]), statistics.median(g[n])
        ratio = m / n / first
        worst = max(worst, ratio)
        print("%6d   %10.3f s    %6.1f us   %8.2f           %8.4f s   %6.0fx" %
              (n, m, m / n * 1e6, ratio, p, m / p))
    for n in SIZES:
        os.unlink(files[n])
    os.rmdir(tmp)
    print("time per line grows at most %.2fx over %d..%d lines (linear: 1, quadratic: %d)"
          % (worst, SIZES[0], SIZES[-1], SIZES[-1] // SIZES[0]))
    if worst > 2 and os.environ.get("LKS_BENCH_STRICT", "1") != "0":
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

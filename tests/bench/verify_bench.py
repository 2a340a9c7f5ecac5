#!/usr/bin/env python3
"""Benchmark `lockstep verify`: its wall time as a ratio to the two plain builds it runs.

The peer, measured in the same run: the same two buildah builds (bud --no-cache --layers
--isolation chroot --timestamp, in a fresh storage directory with the storage driver verify
picked (overlay where it works, else vfs), push to an OCI layout) run back to back by this
script. Goal: verify <= 1.10x. Medians of LKS_BENCH_RUNS runs (default 3) after one warm-up
verify, alternating which goes first so both see the same machine state. The Dockerfile
copies LKS_BENCH_VERIFY_MB of files (default 32) and runs one RUN step, from the busybox base
in a loopback registry, or with LKS_BENCH_VERIFY_BASE=debian from the Debian minbase the
verify e2e test caches (190 MB).
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "servers"))
import registry  # noqa: E402

LKS = os.environ["LKS_BIN"]
RUNS = int(os.environ.get("LKS_BENCH_RUNS", "3"))
MB = int(os.environ.get("LKS_BENCH_VERIFY_MB", "32"))


def plain_builds(root, ctx, host, driver):
    t = time.time()
    for n in (1, 2):
        work = tempfile.mkdtemp(dir=root)
        st = ["buildah", "--storage-driver", driver, "--root", work + "/root", "--runroot",
              work + "/run"]
        tag = "localhost/bench-%d:latest" % n
        subprocess.run(st + ["bud", "--no-cache", "--layers", "--isolation", "chroot",
                             "--timestamp", "0", "--tls-verify=false", "-t", tag, ctx],
                       check=True, capture_output=True)
        subprocess.run(st + ["push", tag, "oci:%s/out:latest" % work], check=True,
                       capture_output=True)
        shutil.rmtree(work)
    return time.time() - t


def verify(root, ctx, host):
    """Wall time and the storage driver verify picked."""
    t = time.time()
    r = subprocess.run([LKS, "verify", "--insecure-registry", host, "--source-date-epoch", "0",
                        "--format", "json", "--no-report", ctx], capture_output=True, text=True,
                       env=dict(os.environ, TMPDIR=root))
    if r.returncode != 0:
        raise RuntimeError("verify exited %d\n%s%s" % (r.returncode, r.stdout, r.stderr))
    return time.time() - t, json.loads(r.stdout)["storage_driver"]


def debian_storage():
    cache = os.path.join(os.environ["LKS_BUILDDIR"], "fixture-cache")
    found = [d for d in os.listdir(cache) if d.startswith("verify-debian-")]
    if not found:
        raise SystemExit("SKIP: run the verify_buildah test first (it caches the Debian base)")
    return os.path.join(cache, found[0])


def main():
    if not shutil.which("buildah") or os.geteuid() != 0:
        print("SKIP: needs buildah and root")
        return 77
    storage, _ = registry.seed(os.environ["LKS_BUILDDIR"])
    base = "single:1"
    if os.environ.get("LKS_BENCH_VERIFY_BASE") == "debian":
        storage, base = debian_storage(), "debian:1"
    root = tempfile.mkdtemp(prefix="lks-verify-bench-", dir="/var/tmp")
    try:
        with registry.Registry("anon", storage=storage) as reg:
            ctx = os.path.join(root, "ctx")
            os.makedirs(os.path.join(ctx, "data"))
            for i in range(MB):
                with open(os.path.join(ctx, "data", "f%03d" % i), "wb") as f:
                    f.write(os.urandom(1 << 20))
            with open(os.path.join(ctx, "Dockerfile"), "w") as f:
                f.write("FROM %s/%s\nCOPY data /data\nRUN echo hi > /hi\n" % (reg.host, base))
            v, p = [], []
            t, driver = verify(root, ctx, reg.host)  # warm-up: page cache, the driver to use
            for i in range(RUNS):
                # swap the order every run: whichever goes second finds a warmer cache
                if i % 2:
                    p.append(plain_builds(root, ctx, reg.host, driver))
                v.append(verify(root, ctx, reg.host)[0])
                if not i % 2:
                    p.append(plain_builds(root, ctx, reg.host, driver))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    mv, mp = statistics.median(v), statistics.median(p)
    print("verify %.2f s, two plain builds %.2f s (medians of %d, %s base, %d MB context, %s "
          "storage): ratio %.3fx (goal <= 1.10x)" % (mv, mp, RUNS, base, MB, driver, mv / mp))
    print("runs: verify %s, plain %s" % (["%.2f" % x for x in v], ["%.2f" % x for x in p]))
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Benchmark `lockstep verify`: its wall time as a ratio to the two plain builds it runs.

The peer, measured in the same run: the same two buildah builds (bud --no-cache --isolation
chroot --timestamp, vfs storage in a fresh directory, push to an OCI layout) run back to back
by this script. Goal: verify <= 1.10x. Medians of LKS_BENCH_RUNS runs (default 3), alternating
so both see the same machine state. The Dockerfile copies LKS_BENCH_VERIFY_MB of files
(default 32) and runs one RUN step, from the busybox base in a loopback registry.
"""
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


def plain_builds(root, ctx, host):
    t = time.time()
    for n in (1, 2):
        work = tempfile.mkdtemp(dir=root)
        st = ["buildah", "--storage-driver", "vfs", "--root", work + "/root", "--runroot",
              work + "/run"]
        tag = "localhost/bench-%d:latest" % n
        subprocess.run(st + ["bud", "--no-cache", "--isolation", "chroot", "--timestamp", "0",
                             "--tls-verify=false", "-t", tag, ctx], check=True,
                       capture_output=True)
        subprocess.run(st + ["push", tag, "oci:%s/out:latest" % work], check=True,
                       capture_output=True)
        shutil.rmtree(work)
    return time.time() - t


def verify(root, ctx, host):
    t = time.time()
    r = subprocess.run([LKS, "verify", "--insecure-registry", host, "--source-date-epoch", "0",
                        ctx], capture_output=True, text=True, env=dict(os.environ, TMPDIR=root))
    if r.returncode != 0:
        raise RuntimeError("verify exited %d\n%s%s" % (r.returncode, r.stdout, r.stderr))
    return time.time() - t


def main():
    if not shutil.which("buildah") or os.geteuid() != 0:
        print("SKIP: needs buildah and root")
        return 77
    storage, _ = registry.seed(os.environ["LKS_BUILDDIR"])
    root = tempfile.mkdtemp(prefix="lks-verify-bench-", dir="/var/tmp")
    try:
        with registry.Registry("anon", storage=storage) as reg:
            ctx = os.path.join(root, "ctx")
            os.makedirs(os.path.join(ctx, "data"))
            for i in range(MB):
                with open(os.path.join(ctx, "data", "f%03d" % i), "wb") as f:
                    f.write(os.urandom(1 << 20))
            with open(os.path.join(ctx, "Dockerfile"), "w") as f:
                f.write("FROM %s/single:1\nCOPY data /data\nRUN echo hi > /hi\n" % reg.host)
            v, p = [], []
            for _ in range(RUNS):
                p.append(plain_builds(root, ctx, reg.host))
                v.append(verify(root, ctx, reg.host))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    mv, mp = statistics.median(v), statistics.median(p)
    print("verify %.2f s, two plain builds %.2f s (medians of %d, %d MB context): ratio %.3fx "
          "(goal <= 1.10x)" % (mv, mp, RUNS, MB, mv / mp))
    print("runs: verify %s, plain %s" % (["%.2f" % x for x in v], ["%.2f" % x for x in p]))
    return 0


if __name__ == "__main__":
    sys.exit(main())

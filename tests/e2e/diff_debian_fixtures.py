"""Debian-based image pairs for `lockstep diff`: apt-get install and a .pyc difference.

The base is a minbase bookworm rootfs made by mmdebstrap from the machine's own apt sources
(SOURCE_DATE_EPOCH fixed, so it is bit-identical) with python3-minimal. The builds install a
locally built .deb from an apt repository served on 127.0.0.1 (the chroot build shares the
host network), and byte-compile a module whose source mtime differs between the two builds.
Everything is cached under $LKS_BUILDDIR/fixture-cache/diff-debian/.
"""
import http.server
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import diff_fixtures

STAMP_VERSION = "2"
EPOCH = "1700000000"


def make_repo(root):
    pkg = os.path.join(root, "pkg")
    os.makedirs(os.path.join(pkg, "DEBIAN"))
    os.makedirs(os.path.join(pkg, "usr", "share", "lks-hello"))
    with open(os.path.join(pkg, "DEBIAN", "control"), "w") as f:
        f.write("Package: lks-hello\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@t>\n"
                "Description: lockstep test package\n")
    with open(os.path.join(pkg, "usr", "share", "lks-hello", "README"), "w") as f:
        f.write("hello\n")
    repo = os.path.join(root, "repo")
    os.makedirs(repo)
    env = dict(os.environ, SOURCE_DATE_EPOCH=EPOCH)
    diff_fixtures.run(["dpkg-deb", "--root-owner-group", "--build", pkg,
                       os.path.join(repo, "lks-hello_1.0_all.deb")], env=env)
    with open(os.path.join(repo, "Packages"), "w") as f:
        f.write(diff_fixtures.run(["apt-ftparchive", "packages", "."], cwd=repo))
    with open(os.path.join(repo, "Release"), "w") as f:
        f.write(diff_fixtures.run(["apt-ftparchive", "release", "."], cwd=repo))
    return repo


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a):
        pass


def serve(directory):
    handler = lambda *a, **kw: Quiet(*a, directory=directory, **kw)  # noqa: E731
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def make_base(b, cache):
    tar = os.path.join(cache, "debian.tar")
    env = dict(os.environ, SOURCE_DATE_EPOCH=EPOCH)
    diff_fixtures.run(["mmdebstrap", "--quiet", "--variant=minbase", "--mode=root",
                       "--include=python3-minimal", "bookworm", tar], env=env)
    ctr = b.b("from", "scratch").strip()
    b.b("add", ctr, tar, "/")
    b.b("config", "--cmd", "/bin/sh", "--os", "linux", "--arch", "amd64", ctr)
    b.b("commit", "--timestamp", "0", ctr, "localhost/debian:1")
    b.b("rm", ctr)
    os.unlink(tar)


DOCKERFILE = """FROM localhost/debian:1
RUN rm -f /etc/apt/sources.list /etc/apt/sources.list.d/* && \\
    echo "deb [trusted=yes] http://127.0.0.1:{port} ./" > /etc/apt/sources.list.d/lks.list && \\
    apt-get update && apt-get install -y --no-install-recommends lks-hello
COPY m.py /app/m.py
RUN python3 -c "import py_compile; py_compile.compile('/app/m.py')"
"""


def build_all(cache):
    b = diff_fixtures.Builder(cache)
    make_base(b, cache)
    srv = serve(make_repo(cache))
    out = os.path.join(cache, "images")
    os.makedirs(out)
    try:
        for i, which in enumerate(("a", "b")):
            ctx = tempfile.mkdtemp(dir=cache)
            diff_fixtures.write(os.path.join(ctx, "m.py"), "X = 1\n")
            os.utime(os.path.join(ctx, "m.py"), (1600000000 + i, 1600000000 + i))
            df = os.path.join(ctx, "Dockerfile")
            diff_fixtures.write(df, DOCKERFILE.format(port=srv.server_address[1]))
            if which == "b":
                time.sleep(1.1)  # the apt and dpkg logs record the time
            b.build("apt-" + which, ctx, df, True)
            b.export("apt-" + which, out)
            shutil.copy(df, os.path.join(out, "apt.Dockerfile"))
            shutil.rmtree(ctx)
    finally:
        srv.shutdown()


def ensure():
    missing = diff_fixtures.have_tools()
    for t in ("mmdebstrap", "apt-ftparchive", "dpkg-deb"):
        missing = missing or (None if shutil.which(t) else t)
    if missing:
        print("SKIP: %s not installed" % missing)
        sys.exit(77)
    if os.geteuid() != 0:
        print("SKIP: buildah chroot builds and mmdebstrap --mode=root need root here")
        sys.exit(77)
    cache = os.path.join(os.environ["LKS_BUILDDIR"], "fixture-cache", "diff-debian")
    stamp = os.path.join(cache, "stamp")
    if os.path.exists(stamp) and open(stamp).read() == STAMP_VERSION:
        return os.path.join(cache, "images")
    if os.path.exists(cache):
        diff_fixtures.run(["rm", "-rf", cache])
    os.makedirs(cache)
    t = time.time()
    build_all(cache)
    with open(stamp, "w") as f:
        f.write(STAMP_VERSION)
    print("built Debian fixture images in %.1f s" % (time.time() - t), flush=True)
    return os.path.join(cache, "images")


if __name__ == "__main__":
    print(ensure())

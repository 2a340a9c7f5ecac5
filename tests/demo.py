#!/usr/bin/python3
"""The lockstep demo, run by tests/demo after it has built lockstep.

Everything runs on 127.0.0.1: a real OCI registry (Debian's docker-registry) holding a
Debian 12 minbase whose apt sources point at a signed apt repository served here and whose
config Env names its Python (PYTHON_VERSION), a Python package index with wheels built here,
and real buildah builds. The fixtures come from the end-to-end tests' helpers and caches
(build/fixture-cache): the first run builds the Debian base with mmdebstrap (a few minutes),
later runs reuse it.

The story: `check` finds the unpinned inputs, `pin` pins the image, the apt packages and the
Python requirements, `check` is clean, `verify` builds the pinned Dockerfile twice and names
the apt/dpkg noise that makes it unreproducible, `verify` of a small Dockerfile is
reproducible, and `outdated` has nothing past the update window. Exit 0 when every command
answered as expected, 1 otherwise. Temporary files and servers are removed on the way out.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)
os.environ.setdefault("LKS_SRCDIR", SRC)
os.environ.setdefault("LKS_BUILDDIR", os.path.join(SRC, "build"))
os.environ.setdefault("LKS_BIN", os.path.join(os.environ["LKS_BUILDDIR"], "cli", "lockstep"))
sys.path.insert(0, os.path.join(HERE, "e2e"))

import apt_image  # noqa: E402
import pin_apt_build as aptbuild  # noqa: E402
from aptrepo import Server  # noqa: E402
from pin_python import debian_python, pyfx  # noqa: E402
from pinlib import BIN, BUILD, read, registry, write  # noqa: E402

APT_PKGS = "lks-tool lks-lib"
REQUIREMENTS_IN = "# what the app needs\napp-a\next-pkg[fast]\n"
DOCKERFILE = """\
FROM {host}/debian:1
RUN apt-get update && apt-get install -y --no-install-recommends {pkgs}
COPY requirements.txt /app/requirements.txt
"""
REPRO = """\
FROM {host}/busybox:1
COPY app.conf /etc/app.conf
RUN mkdir -p /srv/app && echo ready > /srv/app/state
"""
UNEXPECTED = []


def step(title):
    print("\n\033[1m== %s\033[0m" % title, flush=True)


def run(cwd, args):
    """The real binary in cwd: (exit status, stdout and stderr, seconds)."""
    # TMPDIR inside the demo's directory: what a builder killed mid-pull leaves goes with it
    work = os.path.dirname(cwd)
    env = dict(os.environ, XDG_CACHE_HOME=os.path.join(work, "cache"),
               TMPDIR=os.path.join(work, "tmp"))
    t = time.time()
    p = subprocess.Popen([BIN] + list(args), cwd=cwd, env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    try:
        out = p.communicate(timeout=600)[0]
    except BaseException:
        p.terminate()  # SIGTERM: verify removes its builds and scratch directory
        p.wait(60)
        raise
    return p.returncode, out, time.time() - t


def lockstep(cwd, *args, want=0):
    """Print the command, its output and exit status; a verify whose builder failed (buildah
    chroot builds fail now and then on a busy machine) runs once more, saying so."""
    shown = " ".join(args)
    print("$ lockstep " + shown, flush=True)
    for attempt in (1, 2):
        rc, out, dt = run(cwd, args)
        sys.stdout.write(out)
        print("(exit %d, %.1f s)" % (rc, dt), flush=True)
        if not (rc == 2 and want != 2 and args[0] == "verify" and attempt == 1):
            break
        print("(a build failed: once more)", flush=True)
    if rc != want:
        UNEXPECTED.append("lockstep %s: exit %d, expected %d" % (shown, rc, want))


def fixtures():
    """The cached Debian base layout and wheel directory (built on the first run)."""
    stamp = os.path.join(BUILD, "fixture-cache", "apt-build", "stamp")
    if not os.path.exists(stamp):
        print("first run: building the Debian 12 base with mmdebstrap from this machine's apt "
              "sources and caching it in build/fixture-cache (a few minutes, once)", flush=True)
    t = time.time()
    layout = aptbuild.base_layout()
    wheels = pyfx.fixture_index()
    print("fixtures ready in %.1f s" % (time.time() - t), flush=True)
    return layout, wheels


class Servers:
    """The loopback apt repository, package index and registry; stopped by PID on exit."""

    def __init__(self, work, wheels):
        self.apt = self.index = self.reg = None
        self.key = aptbuild.build_repo(work)
        try:
            self.apt = Server(os.path.join(work, "www"))
            self.apt_uri = "http://127.0.0.1:%d/repo" % self.apt.port
            self.index = pyfx.Server(wheels)
            self.reg = registry.Registry("anon")
            self.reg.start()
        except BaseException:
            self.stop()
            raise

    def stop(self):
        for s in (self.reg, self.index, self.apt):
            if s is not None:
                s.stop()


def push_busybox(host):
    with open("/bin/busybox", "rb") as f:
        bb = f.read()
    entries = [("bin", "dir", None), ("bin/busybox", "file", bb), ("etc", "dir", None),
               ("etc/passwd", "file", b"root:x:0:0:root:/root:/bin/sh\n"), ("tmp", "dir", None)]
    entries += [("bin/" + a, "link", "busybox") for a in ("sh", "mkdir", "echo", "cat")]
    # builders want one history entry per layer
    cfg = {"config": {"Cmd": ["/bin/sh"]}, "history": [{"created_by": "lockstep demo: busybox"}]}
    return apt_image.push_image(host, "busybox", [apt_image.layer(entries)], [("amd64", None)],
                                cfg)


def start(work, layout, wheels):
    step("loopback fixtures: OCI registry, signed apt repository, Python package index")
    t = time.time()
    srv = Servers(work, wheels)
    # mmdebstrap made the base from this machine's apt sources: its python3 is Debian's here
    pyver = debian_python()
    try:
        base = aptbuild.push_base(srv.reg.host, layout, srv.apt_uri, srv.key,
                                  ["PYTHON_VERSION=" + pyver])
        push_busybox(srv.reg.host)
    except BaseException:
        srv.stop()
        raise
    print("registry      %s  debian:1 = Debian 12 minbase (%s)" % (srv.reg.host, base[:19]))
    print("              + /etc/apt/sources.list -> the apt repository below, its key in "
          "/etc/apt/keyrings")
    print("              + config Env PYTHON_VERSION=%s" % pyver)
    print("              busybox:1 = /bin/busybox and a few applet links, for a quick build")
    print("apt repo      %s  (InRelease signed by a throwaway key; suites %s)"
          % (srv.apt_uri, ", ".join(aptbuild.SUITES)))
    print("python index  %s  (PEP 503/691 with wheels built here)" % srv.index.url)
    print("(%.1f s)" % (time.time() - t), flush=True)
    return srv, base


def show_file(path, head=None):
    lines = read(path).decode().splitlines()
    name = os.path.basename(path)
    print("--- %s%s" % (name, "" if head is None or len(lines) <= head else
                        " (first %d of %d lines)" % (head, len(lines))))
    for line in lines[:head]:
        print("    " + line)


def udiff(app, before, name):
    print("$ diff -u %s.orig %s" % (name, name))
    p = subprocess.run(["diff", "-u", "--label", "a/" + name, "--label", "b/" + name,
                        before, os.path.join(app, name)], capture_output=True, text=True)
    sys.stdout.write(p.stdout)


def lock_summary(app):
    lock = json.loads(read(os.path.join(app, "lockstep.lock")))
    print("lockstep.lock (lockfile_version %d): %d images, %d apt packages, %d Python "
          "distributions" % (lock["lockfile_version"], len(lock["images"]), len(lock["apt"]),
                             len(lock["python"])))
    for e in lock["images"]:
        print("  image   %s:%d  %s" % (e["file"], e["line"], e["written"]))
    for e in lock["apt"]:
        print("  apt     %s:%d  %s=%s  %s %s/%s  sha256:%s..." % (
            e["file"], e.get("line", 0), e["package"], e["version"], e["architecture"],
            e.get("suite", "?"), e.get("component", "?"), e["sha256"][:12]))
    for e in lock["python"]:
        print("  python  %s  %s==%s  %d hash(es)  via %s" % (
            e["file"], e["name"], e["version"], len(e.get("hashes", [])),
            ", ".join(e.get("via", [])) or "-"))


def project(work, host):
    app = os.path.join(work, "app")
    os.makedirs(app)
    write(os.path.join(app, "Dockerfile"), DOCKERFILE.format(host=host, pkgs=APT_PKGS))
    write(os.path.join(app, "requirements.in"), REQUIREMENTS_IN)
    shutil.copy(os.path.join(app, "Dockerfile"), os.path.join(work, "Dockerfile.orig"))
    step("the sample project: a Dockerfile FROM the base by tag, apt packages, requirements.in")
    show_file(os.path.join(app, "Dockerfile"))
    show_file(os.path.join(app, "requirements.in"))
    return app


def pin_story(work, srv):
    app = project(work, srv.reg.host)
    reqs = ["--requirements", "requirements.in"]
    step("lockstep check: offline, for a pre-commit hook; lists every unpinned input")
    lockstep(app, "check", *reqs, want=1)
    step("lockstep pin: image -> digest, apt words -> versions apt would install, "
         "requirements.in -> hashed requirements.txt")
    lockstep(app, "pin", *reqs, "--index-url", srv.index.url, want=0)
    step("what pin changed (only the bytes of the pins)")
    udiff(app, os.path.join(work, "Dockerfile.orig"), "Dockerfile")
    step("the generated requirements.txt")
    show_file(os.path.join(app, "requirements.txt"), head=16)
    step("the lock: every pin, where it came from and when")
    lock_summary(app)
    step("lockstep check again: everything pinned and agreeing with the lock")
    lockstep(app, "check", *reqs, want=0)
    return app


def verify_story(work, srv, app, reports):
    host = srv.reg.host
    step("lockstep verify: build the pinned Dockerfile twice with buildah and compare")
    print("(apt-get writes logs and caches with the build time: expect 'not reproducible')")
    rep = os.path.join(reports, "verify-app.html")
    lockstep(app, "verify", "--insecure-registry", host, "--report", rep, ".", want=1)
    repro = os.path.join(work, "repro")
    os.makedirs(repro)
    write(os.path.join(repro, "Dockerfile"), REPRO.format(host=host))
    write(os.path.join(repro, "app.conf"), "greeting = hello\n")
    step("lockstep verify on a small Dockerfile without time-dependent steps (busybox base)")
    lockstep(repro, "pin", "-q", want=0)
    show_file(os.path.join(repro, "Dockerfile"))
    rep = os.path.join(reports, "verify-repro.html")
    lockstep(repro, "verify", "--insecure-registry", host, "--vary", "all", "--report", rep, ".",
             want=0)


def demo(work, reports):
    layout, wheels = fixtures()
    srv, _ = start(work, layout, wheels)
    try:
        app = pin_story(work, srv)
        verify_story(work, srv, app, reports)
        step("lockstep outdated: pins past the monthly update window (30 days)")
        lockstep(app, "outdated", want=0)
    finally:
        srv.stop()


def main():
    if os.geteuid() != 0:
        print("the demo needs root: buildah chroot builds and mmdebstrap --mode=root "
              "(run it with sudo)")
        return 2
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
    t0 = time.time()
    reports = os.path.join(BUILD, "demo")
    os.makedirs(reports, exist_ok=True)
    work = tempfile.mkdtemp(prefix="lockstep-demo-")
    os.makedirs(os.path.join(work, "tmp"))
    try:
        demo(work, reports)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    step("done in %.0f s" % (time.time() - t0))
    print("HTML reports of the two verify runs: %s" % reports)
    if UNEXPECTED:
        print("unexpected results:\n  " + "\n  ".join(UNEXPECTED))
        return 1
    print("every command answered as expected")
    return 0


if __name__ == "__main__":
    sys.exit(main())

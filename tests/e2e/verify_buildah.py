#!/usr/bin/env python3
"""lockstep verify end to end: real buildah builds (chroot isolation, vfs storage under the
test's temp dir) from the busybox base in a loopback registry.

Cases: reproducible (--repeat 3 --vary all: exit 0, json), RUN date (exit 1 naming /f and the
RUN line; text, HTML report, junit, markdown summary and --keep from one run), a COPY that
picks up the build path (bisection: a rebuild without variations is the same, the path
variation alone makes it differ), a
failing build (exit 2 with the builder's error), the command driver wrapping buildah, and bad
input (missing Dockerfile/context, unknown builder, hanging builder with --timeout, exit 0
without an image, unknown placeholder): exit 2 and no temporary directory left behind.

The Debian case builds on the minbase image (with python3-minimal) that diff_debian caches
in $LKS_BUILDDIR/fixture-cache/diff-debian: apt-get install from the loopback apt repository
and a module byte-compiled at build time, as pip install does; verify names the dpkg/apt logs,
pkgcache.bin and the .pyc, each as known noise with a hint. The registry storage holding that
base is cached too (fixture-cache/verify-debian-*), so a warm run pays no mmdebstrap and no
recompression.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "servers"))
import registry  # noqa: E402
import diff_debian_fixtures  # noqa: E402

LKS = os.environ["LKS_BIN"]
FAILS = []


def check(cond, what):
    if not cond:
        FAILS.append(what)
        print("FAIL: " + what, flush=True)


class Env:
    def __init__(self, root, host):
        self.root, self.host = root, host
        self.tmp = os.path.join(root, "tmp")  # lockstep's TMPDIR: must be empty after each run
        os.makedirs(self.tmp)

    def project(self, name, dockerfile, files=None):
        d = os.path.join(self.root, name)
        os.makedirs(d)
        with open(os.path.join(d, "Dockerfile"), "w") as f:
            f.write(dockerfile.replace("BASE-debian", self.host + "/debian:1")
                .replace("BASE", self.host + "/single:1"))
        for path, text in (files or {}).items():
            with open(os.path.join(d, path), "w") as f:
                f.write(text)
        return d

    def verify(self, *args, env=None):
        e = dict(os.environ, TMPDIR=self.tmp)
        e.update(env or {})
        for attempt in range(2):
            r = subprocess.run([LKS, "verify", "--insecure-registry", self.host] + list(args),
                               capture_output=True, text=True, timeout=300, env=e,
                               cwd=self.root)
            # buildah 1.28 now and then fails a step with EBUSY sealing its memfd copy of
            # itself; that is the builder, not lockstep: one more try
            if r.returncode != 2 or "sealing memfd" not in r.stderr:
                break
            print("note: buildah failed with EBUSY sealing its memfd; verify once more")
        left = os.listdir(self.tmp)
        check(not left, "verify %s: left %s in TMPDIR" % (" ".join(args), left))
        return r.returncode, r.stdout, r.stderr


def diff_paths(rep):
    out = set()
    for pair in rep["pairs"]:
        for p in pair["diff"]["platforms"]:
            for layer in p["layers"]:
                out |= {f["path"] for f in layer["files"]}
    return out


def case_reproducible(env):
    d = env.project("good", "FROM BASE\nCOPY app.txt /app.txt\nRUN echo hello > /hello\n",
                    {"app.txt": "app\n"})
    rc, out, err = env.verify("--repeat", "3", "--vary", "all", "--format", "json", d)
    check(rc == 0, "reproducible: exit %d\n%s" % (rc, err))
    html = os.path.join(env.root, "lockstep-verify.html")
    check(os.path.exists(html) and "report: lockstep-verify.html" in err, "reproducible: report")
    if rc == 0:
        rep = json.loads(out)
        check(rep["schema"] == "lockstep-verify/1" and rep["reproducible"], "reproducible: json")
        check(len(rep["builds"]) == 3 and len(rep["pairs"]) == 2, "reproducible: 3 builds")
        check(rep["builds"][1]["varied"] == ["path", "tz", "lang", "umask", "hostname"],
              "reproducible: variations %s" % rep["builds"][1]["varied"])


def case_date(env):
    """One run, every output a CI job uses: text, the HTML report, junit, markdown, --keep."""
    # busybox date has no %N: /proc/uptime (1/100 s) keeps two quick builds apart
    d = env.project("date", "FROM BASE\nCOPY app.txt /app.txt\n"
                    "RUN busybox date > /f && busybox cat /proc/uptime >> /f\n",
                    {"app.txt": "app\n"})
    keep = os.path.join(env.root, "kept")
    junit = os.path.join(env.root, "junit.xml")
    summary = os.path.join(env.root, "summary.md")
    html = os.path.join(env.root, "date.html")
    rc, out, err = env.verify("--keep", keep, "--junit", junit, "--report", html,
                              "--markdown-summary", "--source-date-epoch", "1700000000", d,
                              env={"GITHUB_STEP_SUMMARY": summary})
    check(rc == 1, "date: exit %d\n%s" % (rc, err))
    if rc != 1:
        return
    check("not reproducible" in out and "SOURCE_DATE_EPOCH=1700000000 (option)" in out and
          "(Dockerfile:3)" in out and "RUN busybox date" in out and "\n  f " in out and
          re.search(r"builder buildah \((overlay|vfs) storage\)", out) and
          out.endswith("report: %s\n" % html), "date: text\n" + out + err)
    with open(html) as f:
        page = f.read()
    check(page.startswith("<!DOCTYPE html>") and "lockstep verify: not reproducible" in page and
          "<style>" in page and "busybox date" in page and page.count("<details>") == 2 and
          "STEP 3/3: RUN busybox date" in page, "date: html report")
    suite = ET.parse(junit).getroot().find("testsuite")
    check(suite.get("failures") == "1" and "busybox date" in ET.tostring(suite, "unicode"),
          "date: junit")
    with open(summary) as f:
        md = f.read()
    check("## lockstep verify: not reproducible" in md and "`f`" in md,
          "date: markdown summary\n" + md)
    for n in (1, 2):
        check(os.path.exists(os.path.join(keep, "build-%d" % n, "index.json")), "keep: image")
        check(os.path.getsize(os.path.join(keep, "build-%d.log" % n)) > 0, "keep: log")
    r = subprocess.run([LKS, "diff", "oci:" + os.path.join(keep, "build-1"),
                        "oci:" + os.path.join(keep, "build-2")], capture_output=True)
    check(r.returncode == 1, "keep: lockstep diff on the kept images exits %d" % r.returncode)


def case_path(env):
    """An absolute symlink into the context (a virtualenv does this): COPY takes the path."""
    d = env.project("pathy", "FROM BASE\nCOPY . /app\n", {"data": "x\n"})
    os.symlink(os.path.join(d, "data"), os.path.join(d, "link"))
    # bisection's first rebuild varies nothing: the path variation alone is the cause
    rc, out, err = env.verify("--vary", "path,tz", "--bisect-variations", "--format", "json", d)
    check(rc == 1, "path: varied: exit %d\n%s" % (rc, err))
    if rc == 1:
        rep = json.loads(out)
        check("app/link" in diff_paths(rep), "path: paths %s" % diff_paths(rep))
        b = rep["bisect"]
        check(b and b["causes"] == ["path"] and b["tried"] == ["path", "tz"] and
              not b["differs_without_variation"], "path: bisect %s" % b)
        check("bisect: rebuild varying path" in err, "path: progress lines\n" + err)


def case_failing(env):
    d = env.project("fails", "FROM BASE\nRUN echo about to fail && busybox false\n")
    rc, out, err = env.verify("--storage-driver", "vfs", d)
    check(rc == 2 and "build-1 failed: 'buildah bud' exited with status" in err and
          "about to fail" in err and "not reproducible" not in out, "failing: %d\n%s" % (rc, err))


def debian_storage(seed_storage):
    """The seeded registry storage plus debian:1 (the diff_debian base), cached; None (after
    saying why) when the Debian fixture cannot be made here."""
    try:
        images = diff_debian_fixtures.ensure()
    except SystemExit:
        return None
    src = os.path.dirname(images)
    with open(os.path.join(src, "stamp")) as f:
        key = "verify-debian-%s-%s" % (f.read().strip(), registry.SEED_VERSION)
    cache = os.path.join(os.environ["LKS_BUILDDIR"], "fixture-cache", key)
    if os.path.isdir(cache):
        return cache
    st = os.path.join(src, "storage")
    ref = "containers-storage:[vfs@%s/root+%s/run]localhost/debian:1" % (st, st)
    with registry.Registry("anon", storage=seed_storage) as reg:
        subprocess.run(["skopeo", "copy", "--dest-tls-verify=false", ref,
                        "docker://%s/debian:1" % reg.host], check=True, capture_output=True)
        tmp = cache + ".tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(os.path.join(reg.dir, "storage"), tmp, symlinks=True)
        os.rename(tmp, cache)
    return cache


DEBIAN = """FROM BASE-debian
RUN rm -f /etc/apt/sources.list /etc/apt/sources.list.d/* && \\
    echo "deb [trusted=yes] http://127.0.0.1:{port} ./" > /etc/apt/sources.list.d/lks.list && \\
    apt-get update && apt-get install -y --no-install-recommends lks-hello
RUN mkdir /app && echo 'X = 1' > /app/m.py && python3 -m py_compile /app/m.py
"""
DEBIAN_NOISE = {"var/log/dpkg.log": "dpkg log", "var/cache/apt/pkgcache.bin": "apt cache",
                "var/log/apt/history.log": "apt logs",
                "app/__pycache__/m.cpython-311.pyc": ".pyc embeds source mtime"}


def case_debian(env):
    repo = os.path.join(os.environ["LKS_BUILDDIR"], "fixture-cache", "diff-debian", "repo")
    srv = diff_debian_fixtures.serve(repo)
    try:
        df = DEBIAN.format(port=srv.server_address[1])
        d = env.project("debian", df)
        rc, out, err = env.verify(d)
    finally:
        srv.shutdown()
    check(rc == 1 and out.endswith("report: lockstep-verify.html\n"),
          "debian: exit %d\n%s%s" % (rc, out, err))
    lines = {ln.split()[0]: ln for ln in out.splitlines() if ln.startswith("  ")}
    for path, cause in DEBIAN_NOISE.items():
        ln = lines.get(path, "")
        check("(known noise: %s" % cause in ln and ";" in ln, "debian: %s: %r" % (path, ln))
    check("(Dockerfile:5)" in out, "debian: RUN line\n" + out)
    with open(os.path.join(env.root, "lockstep-verify.html")) as f:
        page = f.read()
    check("m.cpython-311.pyc" in page and "Setting up lks-hello" in page, "debian: html report")


def mounts_under(path):
    with open("/proc/self/mountinfo") as f:
        return [ln.split()[4] for ln in f if ln.split()[4].startswith(path + "/")]


def case_killed(env):
    """A build killed by --timeout in the middle of a RUN: nothing stays mounted or behind."""
    d = env.project("hangs", "FROM BASE\nRUN busybox sleep 60\n")
    rc, out, err = env.verify("--timeout", "3", d)
    check(rc == 2 and "did not finish within 3 s" in err, "killed: %d\n%s" % (rc, err))
    check(not mounts_under(env.tmp), "killed: left mounted %s" % mounts_under(env.tmp))


def case_command(env, good):
    st = "buildah --storage-driver vfs --root {work}/root --runroot {work}/run"
    tmpl = ("%s bud --isolation chroot --tls-verify=false --no-cache --timestamp {epoch} "
            "-f {dockerfile} -t {tag} {context} && %s push {tag} oci:{out}:latest" % (st, st))
    html = os.path.join(env.root, "lockstep-verify.html")
    if os.path.exists(html):
        os.unlink(html)
    rc, out, err = env.verify("--build-cmd", tmpl, "--no-report", good)
    check(rc == 0 and "builder command" in out, "command: exit %d\n%s%s" % (rc, out, err))
    check(not os.path.exists(html) and "report:" not in out + err, "command: --no-report")


def case_bad_input(env, good):
    cases = [
        (["-f", os.path.join(good, "nope"), good], "Dockerfile"),
        ([os.path.join(env.root, "missing")], "build context"),
        (["--builder", "kaniko", good], "unknown builder 'kaniko'"),
        (["--build-cmd", "sleep 100 # {out}", "--timeout", "1", good], "did not finish"),
        (["--build-cmd", "mkdir -p {out}", good], "wrote no image"),
        (["--build-cmd", "build {context} {outdir}", good], "unknown placeholder '{outdir}'"),
        (["--build-cmd", "build {context}", good], "{out}"),
        (["--vary", "moon", good], "unknown variation 'moon'"),
        (["--repeat", "1", good], "--repeat"),
    ]
    for args, want in cases:
        t = time.time()
        rc, out, err = env.verify(*args)
        check(rc == 2 and want in err, "bad input %s: exit %d\n%s" % (args, rc, err))
        check(time.time() - t < 15, "bad input %s: took %.1f s" % (args, time.time() - t))


def case_interrupt(env, good):
    """SIGTERM while a build runs: the builder's process group is stopped, scratch removed."""
    marker = "sleep 1000.%d" % os.getpid()
    p = subprocess.Popen([LKS, "verify", "--build-cmd", marker + " # {out}", good],
                         env=dict(os.environ, TMPDIR=env.tmp),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1)
    p.terminate()
    out, err = p.communicate(timeout=30)
    check(p.returncode == 128 + 15 and "interrupted" in err, "interrupt: %d %s" % (p.returncode,
                                                                                err))
    time.sleep(0.2)
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    check(marker not in ps, "interrupt: the builder survived")
    check(not os.listdir(env.tmp), "interrupt: left %s" % os.listdir(env.tmp))


def case_disk_full(env, good):
    """--keep on a full file system: the export fails, exit 2, nothing half-kept."""
    tiny = os.path.join(env.root, "tiny")
    os.makedirs(tiny)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", tiny]).returncode:
        print("skip disk full: cannot mount a tmpfs")
        return
    try:
        rc, out, err = env.verify("--keep", os.path.join(tiny, "keep"), good)
        check(rc == 2 and "no space left on device" in err, "disk full: %d\n%s" % (rc, err))
        left = sorted(os.listdir(os.path.join(tiny, "keep")))
        check(left == ["build-1.log"], "disk full: kept %s" % left)
    finally:
        subprocess.run(["umount", tiny])


def timed(case, *args):
    t = time.time()
    case(*args)
    print("%-20s %5.1f s" % (case.__name__, time.time() - t), flush=True)


def main():
    if not shutil.which("buildah") or os.geteuid() != 0:
        print("SKIP: buildah chroot builds need buildah and root")
        return 77
    t = time.time()
    storage, _ = registry.seed(os.environ["LKS_BUILDDIR"])
    debian = debian_storage(storage)
    root = tempfile.mkdtemp(prefix="lks-verify-e2e-")
    try:
        with registry.Registry("anon", storage=debian or storage) as reg:
            env = Env(root, reg.host)
            good = env.project("input", "FROM BASE\n")
            timed(case_bad_input, env, good)
            timed(case_interrupt, env, good)
            timed(case_disk_full, env, good)
            timed(case_failing, env)
            timed(case_killed, env)
            timed(case_reproducible, env)
            timed(case_date, env)
            timed(case_path, env)
            timed(case_command, env, os.path.join(root, "good"))
            if debian:
                timed(case_debian, env)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print("%d failures, %.1f s" % (len(FAILS), time.time() - t))
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())

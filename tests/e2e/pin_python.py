#!/usr/bin/python3
"""End-to-end: the Python part of `lockstep check` and `lockstep pin` on Dockerfiles.

A real docker-registry on 127.0.0.1 holds a two-platform base image (linux/amd64 and
linux/arm64/v8) whose config Env sets PYTHON_VERSION to the host's Python 3.11.x, and a
one-platform image without PYTHON_VERSION; the loopback package index (tests/servers/pyindex.py)
serves the wheels py_compile.py builds. Covers: check findings (exact lines and codes), pin of
`COPY requirements.txt` + `pip install -r` from requirements.in (header, hashes, markers for
per-platform dependencies, lock entries), versions equal pip's dry-run choice, output accepted
by `pip download --require-hashes`, inline `pip install NAME` words rewritten byte-exactly,
pin twice changes nothing, check after pin is clean, and errors (no PYTHON_VERSION, unknown
package, per-platform conflict) write nothing.
"""
import hashlib
import importlib.util
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time

from pinlib import NOW, check, finish, lks, need_tools, read, registry, snapshot, workdir, write

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("pyfixtures", os.path.join(HERE, "py_compile.py"))
pyfx = importlib.util.module_from_spec(spec)
spec.loader.exec_module(pyfx)

PYVER = "%d.%d.%d" % sys.version_info[:3]
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"


def push_image(host, repo, tag, arches, env, layer=None):
    """A tiny image per architecture (one layer, config Env), as an OCI index when several."""
    if layer is None:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
            ti = tarfile.TarInfo("etc/os-release")
            data = b"ID=lockstep-test\n"
            ti.size, ti.mtime = len(data), 0
            t.addfile(ti, io.BytesIO(data))
        layer = buf.getvalue()
    ldigest = registry._push_blob(host, repo, layer)
    manifests = []
    for arch, variant in arches:
        cfg = {"architecture": arch, "os": "linux", "created": "2026-01-01T00:00:00Z",
               "config": {"Env": ["PATH=/usr/local/bin:/usr/bin:/bin"] + env},
               "rootfs": {"type": "layers",
                          "diff_ids": ["sha256:" + hashlib.sha256(layer).hexdigest()]}}
        if variant:
            cfg["variant"] = variant
        cb = json.dumps(cfg, sort_keys=True).encode()
        cdigest = registry._push_blob(host, repo, cb)
        m = json.dumps({"schemaVersion": 2, "mediaType": registry.OCI_MANIFEST,
                        "config": {"mediaType": OCI_CONFIG, "digest": cdigest, "size": len(cb)},
                        "layers": [{"mediaType": OCI_LAYER, "digest": ldigest,
                                    "size": len(layer)}]}).encode()
        mdigest = registry._put_manifest(host, repo, f"{arch}{variant or ''}",
                                         registry.OCI_MANIFEST, m)
        plat = {"os": "linux", "architecture": arch}
        if variant:
            plat["variant"] = variant
        manifests.append({"mediaType": registry.OCI_MANIFEST, "digest": mdigest,
                          "size": len(m), "platform": plat})
        if len(arches) == 1:
            return registry._put_manifest(host, repo, tag, registry.OCI_MANIFEST, m)
    idx = json.dumps({"schemaVersion": 2, "mediaType": registry.OCI_INDEX,
                      "manifests": manifests}).encode()
    return registry._put_manifest(host, repo, tag, registry.OCI_INDEX, idx)


DOCKERFILE = """\
FROM {H}/python:3.11 AS base
WORKDIR /app
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt
FROM base
RUN python3 -m pip install --no-cache-dir speedup "dep-left" && echo done
"""

REQUIREMENTS_IN = "# what the app needs\napp-a\nmark-pkg\next-pkg[fast]\n"


def pins_of(text):
    out = {}
    for line in text.splitlines():
        m = re.match(r"^([a-z0-9-]+)==([^ ;]+)", line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def project(tmp, h, name, dockerfile=DOCKERFILE, req_in=REQUIREMENTS_IN):
    d = workdir(tmp, name, dockerfile.format(H=h))
    if req_in is not None:
        write(os.path.join(d, "requirements.in"), req_in)
    return d


def lock_of(d):
    return json.loads(read(os.path.join(d, "lockstep.lock")))


def test_check_unpinned(tmp, h, index):
    d = project(tmp, h, "check")
    write(os.path.join(d, "requirements.txt"), "app-a\nbase==2.5\n")
    before = snapshot(d)
    r = lks(["check"], d)
    want = ["Dockerfile:1: image '%s/python:3.11' is not pinned to a digest" % h,
            "Dockerfile:6: python requirement 'speedup' is not pinned to a version",
            "Dockerfile:6: python requirement 'dep-left' is not pinned to a version",
            "requirements.txt: 'requirements.txt' is out of date with 'requirements.in': "
            "run lockstep pin",
            "requirements.txt:1: python requirement 'app-a' is not pinned to a version",
            "requirements.txt:2: python requirement 'base==2.5' has no --hash"]
    check(r.rc == 1 and sorted(r.out.splitlines()) == sorted(want),
          "check: exact python findings (unpinned words, stale and unhashed requirements.txt)",
          r)
    r = lks(["check", "--format", "json"], d)
    codes = sorted(f["code"] for f in json.loads(r.out)["findings"]) if r.out else []
    check(codes == ["image-unpinned", "python-out-of-date", "python-unhashed",
                    "python-unpinned", "python-unpinned", "python-unpinned"],
          "check --format json: stable python codes", codes)
    check(snapshot(d) == before, "check writes nothing")


def pip_ok(d, req_txt):
    dl = os.path.join(d, "dl")
    shutil.rmtree(dl, ignore_errors=True)
    r = pyfx.run([pyfx.PY, "-m", "pip", "download", "--require-hashes", "--no-deps",
                  "--no-build-isolation", "-q", "-d", dl, "-r", req_txt])
    return r


def test_pin(tmp, h, index):
    d = project(tmp, h, "pin")
    r = lks(["pin", "--now", NOW, "--index-url", index], d)
    check(r.rc == 0, "pin: requirements.in + inline words against the loopback index", r)
    txt = read(os.path.join(d, "requirements.txt")).decode() if r.rc == 0 else ""
    digest = "sha256:" + hashlib.sha256(REQUIREMENTS_IN.encode()).hexdigest()
    head = ("#\n# This file is autogenerated by lockstep from requirements.in\n"
            "# for linux/amd64 (Python %s), linux/arm64/v8 (Python %s)\n# input: %s\n#\n"
            "--index-url %s\n\n" % (PYVER, PYVER, digest, index))
    check(txt.startswith(head), "requirements.txt header: source, platforms, Python, input digest",
          txt[:600])
    check('arm-only==1.0 ; platform_machine == "aarch64" \\' in txt and
          'x86-only==1.0 ; platform_machine == "x86_64" \\' in txt,
          "a dependency of one platform only carries a platform_machine marker", txt)
    want, err = pyfx.pip_choice(d, REQUIREMENTS_IN.replace("# what the app needs\n", ""), index)
    got = {k: v for k, v in pins_of(txt).items() if k != "arm-only"}
    check(want is not None and got == want, "pinned versions equal pip's dry-run choice",
          f"lockstep {got}\npip {want} {err}")
    dl = pip_ok(d, os.path.join(d, "requirements.txt"))
    check(dl.returncode == 0, "pip download --require-hashes accepts requirements.txt",
          dl.stderr[-800:])
    df = read(os.path.join(d, "Dockerfile")).decode()
    want_df = DOCKERFILE.format(H=h).replace('speedup "dep-left"', 'speedup==1.1 "dep-left==1.0"')
    want_df = re.sub(r"(python:3\.11)", r"\1@" + FACTS["digest"], want_df, count=1)
    check(df == want_df, "inline pip words rewritten byte-exactly (quotes kept)",
          f"got:\n{df}\nwant:\n{want_df}")
    lock = lock_of(d)
    py = {(e["file"], e["name"]): e for e in lock.get("python", [])}
    e = py.get(("requirements.txt", "base"), {})
    check(e.get("version") == pins_of(txt).get("base") and e.get("index") == index and
          e.get("published_at") == "2026-01-01T00:00:00Z" and e.get("resolved_at") == NOW and
          len(e.get("hashes", [])) == 1 and e.get("via") == ["dep-left", "dep-right"],
          "lock entry: version, hashes, index, published_at, via", e)
    w = py.get(("Dockerfile", "speedup"), {})
    check(w.get("version") == "1.1" and w.get("line") == 6, "lock entry of an inline word", w)
    check(len(py) == len(pins_of(txt)) + 2, "one lock entry per pin", sorted(py))
    snap = snapshot(d)
    r2 = lks(["pin", "--now", NOW, "--index-url", index], d)
    changed = [n for n in snap if snapshot(d).get(n) != snap[n]]
    check(r2.rc == 0 and not changed, "pin twice changes nothing (bytes and mtimes)",
          f"{r2}\nchanged: {changed}")
    r3 = lks(["check"], d)
    check(r3.rc == 0 and r3.out == "", "check after pin is clean", r3)
    write(os.path.join(d, "requirements.in"), REQUIREMENTS_IN + "bt-x\n")
    r4 = lks(["check"], d)
    check(r4.rc == 1 and "python-out-of-date" in lks(["check", "--format", "json"], d).out,
          "check: editing requirements.in makes requirements.txt out of date", r4)
    return d


def test_loose_txt(tmp, h, index):
    """No requirements.in: requirements.txt is its own input, rewritten with hashes; an
    existing pin still allowed is kept."""
    d = project(tmp, h, "loose", req_in=None)
    write(os.path.join(d, "requirements.txt"), "base==2.0\ndep-left\n")
    r = lks(["pin", "--index-url", index, "--python-version", "3.11"], d)
    txt = read(os.path.join(d, "requirements.txt")).decode()
    check(r.rc == 0 and pins_of(txt) == {"base": "2.0", "dep-left": "1.0"} and
          "from requirements.txt" in txt and "--hash=sha256:" in txt,
          "a loose requirements.txt is rewritten with hashes, keeping base==2.0", r)


def expect_fail(tmp, h, index, name, dockerfile, req_in, needle, what, *extra):
    d = project(tmp, h, name, dockerfile, req_in)
    write(os.path.join(d, "requirements.txt"), "")
    before = snapshot(d)
    r = lks(["pin"] + (["--index-url", index] if index else []) + list(extra), d)
    check(r.rc == 2 and needle in r.err and snapshot(d) == before,
          f"{what}: exit 2, clear message, nothing written", r)


def interp_layer(target, status):
    """A layer with usr/bin/python3 -> TARGET and, when given, a dpkg status file."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        ti = tarfile.TarInfo("usr/bin/python3.11")
        ti.size, ti.mode, ti.mtime = 4, 0o755, 0
        t.addfile(ti, io.BytesIO(b"\x7fELF"))
        ti = tarfile.TarInfo("usr/bin/python3")
        ti.type, ti.linkname, ti.mtime = tarfile.SYMTYPE, target, 0
        t.addfile(ti)
        if status is not None:
            ti = tarfile.TarInfo("var/lib/dpkg/status")
            ti.size, ti.mtime = len(status), 0
            t.addfile(ti, io.BytesIO(status))
    return buf.getvalue()


DPKG_STATUS = (b"Package: libc6\nStatus: install ok installed\nVersion: 2.36-9\n\n"
               b"Package: python3.11-minimal\nStatus: install ok installed\n"
               b"Version: 3.11.2-6+deb12u2\n\n")


def test_interpreter(tmp, h, index):
    """No PYTHON_VERSION in the config: the interpreter in the image's layers decides."""
    for name, want, warn in (("debianpy", "Python 3.11.2", False), ("barepy", "Python 3.11)", True)):
        d = project(tmp, h, "i-" + name, DOCKERFILE.replace("python:3.11", name + ":1"), "base\n")
        r = lks(["pin", "--index-url", index], d)
        txt = read(os.path.join(d, "requirements.txt")).decode() if r.rc == 0 else ""
        check(r.rc == 0 and want in txt and ("patch level is unknown" in r.err) == warn,
              f"no PYTHON_VERSION, python3 in the layers ({name}): resolved for {want}", r)


def test_errors(tmp, h, index):
    noenv = DOCKERFILE.replace("python:3.11", "plain:1")
    expect_fail(tmp, h, index, "e-noenv", noenv, "base\n",
                "config sets no PYTHON_VERSION and it has no python3; give --python-version",
                "base image without PYTHON_VERSION")
    expect_fail(tmp, h, index, "e-unknown", DOCKERFILE, "no-such-pkg\n",
                "unknown package 'no-such-pkg'", "unknown package")
    conflict = 'base ; platform_machine == "x86_64"\nbase<2 ; platform_machine == "aarch64"\n'
    expect_fail(tmp, h, index, "e-conflict", DOCKERFILE, conflict,
                "'base' needs 3.0 on linux/amd64", "versions differing per platform")
    expect_fail(tmp, h, None, "e-noindex", DOCKERFILE, "base\n", "no package index",
                "no index given")
    expect_fail(tmp, h, index, "e-noversion", DOCKERFILE, "base==9.9\n",
                "no version of 'base' satisfies all requirements", "a version that does not exist")
    expect_fail(tmp, h, index, "e-malformed", DOCKERFILE, "base\nfoo >=\n",
                "requirements.in:2: invalid requirement", "malformed line (file:line)")
    expect_fail(tmp, h, index, "e-malformed-word",
                DOCKERFILE.replace('"dep-left"', '"dep-left >="'), "base\n",
                "Dockerfile:6: invalid requirement", "malformed pip install word (file:line)")
    expect_fail(tmp, h, index, "e-unsat", DOCKERFILE, "app-a\nbase>=3\n",
                "'base<3,>=1.0' from dep-left==1.0 <- app-a==1.0 <- -r requirements.in:1",
                "unsatisfiable set: the chain of requirements")
    expect_fail(tmp, h, "http://192.0.2.1:9/simple/", "e-plain", DOCKERFILE, "base\n",
                "refusing plain http to the package index", "plain HTTP index off loopback")
    d = project(tmp, h, "e-ok-override", noenv, "base\n")
    r = lks(["pin", "--index-url", index, "--python-version", "3.11"], d)
    check(r.rc == 0, "--python-version makes an image without PYTHON_VERSION pinnable", r)


INLINE_DF = """\
FROM {H}/python:3.11 AS App
WORKDIR /app
RUN pip install --no-cache-dir speedup "dep-left>=1.0" \\
    ext-pkg[fast] && echo done
RUN ["pip", "install", "base<3"]
FROM {H}/python:3.11
  RUN python3 -m pip install app-a
RUN pip install $EXTRA speedup
"""

INLINE_WANT = """\
FROM {H}/python:3.11@{D} AS App
WORKDIR /app
COPY requirements-lockstep-app.txt /tmp/requirements-lockstep-app.txt
RUN pip install --no-cache-dir --require-hashes -r /tmp/requirements-lockstep-app.txt && echo done
COPY requirements-lockstep-app-2.txt /tmp/requirements-lockstep-app-2.txt
RUN ["pip", "install", "--require-hashes", "-r", "/tmp/requirements-lockstep-app-2.txt"]
FROM {H}/python:3.11@{D}
  COPY requirements-lockstep-stage1.txt /tmp/requirements-lockstep-stage1.txt
  RUN python3 -m pip install --require-hashes -r /tmp/requirements-lockstep-stage1.txt
RUN pip install $EXTRA speedup==1.1
"""


def test_inline_to_file(tmp, h, index):
    """--pip-inline-to-file: words move into requirements-lockstep-STAGE.in, the .txt is
    generated with hashes, a COPY is added before the RUN and the words become
    --require-hashes -r FILE (shell and exec form, continuation lines, indentation); a
    command holding a variable keeps its words (pinned in place, with a warning)."""
    d = project(tmp, h, "inline", INLINE_DF, None)
    r = lks(["pin", "--now", NOW, "--index-url", index, "--pip-inline-to-file"], d)
    df = read(os.path.join(d, "Dockerfile")).decode()
    want = INLINE_WANT.format(H=h, D=FACTS["digest"])
    var = "Dockerfile:10: python requirement '$EXTRA' holds a variable: it is known only " \
          "when the image builds"
    check(r.rc == 1 and df == want, "inline-to-file: Dockerfile rewritten (COPY + -r)",
          f"{r}\ngot:\n{df}\nwant:\n{want}")
    check(r.err.strip() == var, "a command holding a variable keeps its words (pinned in place)",
          r)
    ins = {n: read(os.path.join(d, n + ".in")).decode().splitlines()[2:]
           for n in ("requirements-lockstep-app", "requirements-lockstep-app-2",
                     "requirements-lockstep-stage1") if os.path.exists(os.path.join(d, n + ".in"))}
    check(ins == {"requirements-lockstep-app": ["speedup", "dep-left>=1.0", "ext-pkg[fast]"],
                  "requirements-lockstep-app-2": ["base<3"],
                  "requirements-lockstep-stage1": ["app-a"]},
          "the words are in the .in files, one a line", ins)
    txt = read(os.path.join(d, "requirements-lockstep-app.txt")).decode() if ins else ""
    check(pins_of(txt) == {"speedup": "1.1", "dep-left": "1.0", "ext-pkg": "1.0",
                           "base": "2.5"} and txt.count("--hash=sha256:") >= 4 and
          "autogenerated by lockstep from requirements-lockstep-app.in" in txt,
          "the .txt holds the transitive pins with hashes", txt)
    for n in ins:
        dl = pip_ok(d, os.path.join(d, n + ".txt"))
        check(dl.returncode == 0, f"pip download --require-hashes accepts {n}.txt",
              dl.stderr[-800:])
    snap = snapshot(d)
    r2 = lks(["pin", "--now", NOW, "--index-url", index, "--pip-inline-to-file"], d)
    changed = [n for n in snap if snapshot(d).get(n) != snap[n]]
    check(r2.rc == 1 and not changed, "inline-to-file: pin twice changes nothing",
          f"{r2}\nchanged: {changed}")
    r3 = lks(["check"], d)
    check(r3.rc == 1 and r3.out.strip() == var, "check after inline-to-file: only the variable",
          r3)
    write(os.path.join(d, "Dockerfile"), df.replace("RUN pip install $EXTRA speedup==1.1\n",
                                                    "RUN pip install ./local.whl speedup\n"))
    r4 = lks(["pin", "--index-url", index, "--pip-inline-to-file"], d)
    check(r4.rc == 0 and "python-inline-kept" not in r4.err and
          "Dockerfile:10: warning: the requirement words of this pip command stay on the " \
          "command line, pinned without hashes: './local.whl' is a URL, path or editable " \
          "install" in r4.err and
          "RUN pip install ./local.whl speedup==1.1\n" in read(os.path.join(d, "Dockerfile")).decode(),
          "a command with a path word keeps its words, with a warning", r4)
    return d


PYROOT_SKIP = {"__pycache__", "idlelib", "tkinter", "turtledemo", "pydoc_data", "lib2to3",
               "ensurepip", "test", "tests"}


def _copy_tree(src, root):
    for dp, dns, fns in os.walk(src):
        dns[:] = [d for d in dns if d not in PYROOT_SKIP and not d.startswith("config-")]
        os.makedirs(root + dp, exist_ok=True)
        for f in fns:
            p = os.path.join(dp, f)
            if f == "EXTERNALLY-MANAGED":
                continue  # PEP 668: like the official python images, pip may install
            if os.path.islink(p):
                os.symlink(os.readlink(p), root + p)
            else:
                shutil.copy2(p, root + p)


def _shared_libs(files):
    libs = set()
    for so in files:
        out = subprocess.run(["ldd", so], capture_output=True, text=True).stdout
        libs.update(w for line in out.splitlines() for w in line.split() if w.startswith("/"))
    return sorted(libs)


def debian_python():
    """X.Y.Z of /usr/bin/python3 (the tests themselves may run under another Python)."""
    return subprocess.run(["/usr/bin/python3", "-c", "import platform; "
                           "print(platform.python_version())"], capture_output=True,
                          text=True).stdout.strip()


def python_rootfs():
    """A rootfs tar holding the host's own Debian Python and pip (interpreter, stdlib, the
    shared libraries they load, busybox sh), cached in the build dir: an image that can run
    `pip install` without any download. None when the host has no Debian pip."""
    exe = os.path.realpath("/usr/bin/python3")
    ver = os.path.basename(exe)
    pipdir = "/usr/lib/python3/dist-packages/pip"
    if not os.path.isdir(pipdir) or not os.path.exists("/bin/busybox"):
        return None
    key = hashlib.sha256(repr((debian_python(), os.listdir(pipdir), 2)).encode()).hexdigest()[:16]
    tar = os.path.join(pyfx.BUILD, "fixture-cache", "pyroot-%s.tar" % key)
    if os.path.exists(tar):
        return tar
    work = tempfile.mkdtemp(dir=os.path.dirname(tar))
    root = os.path.join(work, "root")
    _copy_tree("/usr/lib/" + ver, root)
    _copy_tree(pipdir, root)
    import glob
    for lib in _shared_libs([exe] + glob.glob("/usr/lib/%s/lib-dynload/*.so" % ver)):
        real = os.path.realpath(lib)
        os.makedirs(root + os.path.dirname(real), exist_ok=True)
        os.makedirs(root + os.path.dirname(lib), exist_ok=True)
        shutil.copy2(real, root + real)
        if lib != real and not os.path.lexists(root + lib):
            os.symlink(real, root + lib)
    for d in ("usr/bin", "bin", "etc", "tmp"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    os.chmod(os.path.join(root, "tmp"), 0o1777)
    shutil.copy2(exe, root + "/usr/bin/" + ver)
    os.symlink(ver, root + "/usr/bin/python3")
    shutil.copy("/bin/busybox", root + "/bin/busybox")
    os.symlink("busybox", root + "/bin/sh")
    write(os.path.join(root, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\n")
    subprocess.run(["tar", "--sort=name", "--mtime=@0", "--owner=0", "--group=0",
                    "--numeric-owner", "-C", root, "-cf", tar + ".tmp", "."], check=True)
    os.rename(tar + ".tmp", tar)
    shutil.rmtree(work)
    return tar


BUILD_DF = """\
FROM {H}/pybase:1 AS app
WORKDIR /app
COPY requirements.txt ./
RUN python3 -m pip install --no-cache-dir --require-hashes -r requirements.txt
RUN python3 -m pip install --no-cache-dir speedup
RUN python3 -m pip show app-a base speedup > /installed.txt
"""


def bud(d, tag):
    st = ["buildah", "--storage-driver", "vfs", "--root", os.path.join(d, ".bud", "root"),
          "--runroot", os.path.join(d, ".bud", "run")]
    return subprocess.run(st + ["bud", "--isolation", "chroot", "--tls-verify=false",
                                "--no-cache", "-t", tag, d], capture_output=True, text=True,
                          timeout=300)


def test_buildah_build(tmp, h, index):
    """The pinned Dockerfile builds with buildah: an image with the host's Python and pip,
    `pip install --require-hashes -r` of the generated requirements.txt and of the file
    --pip-inline-to-file made, against the loopback index (chroot builds share the host's
    network); a tampered hash fails the build."""
    if os.geteuid() != 0:
        print("skip buildah build: needs root")
        return
    tar = python_rootfs()
    if not tar:
        print("skip buildah build: no Debian pip on the host")
        return
    with open(tar, "rb") as f:
        push_image(h, "pybase", "1", [("amd64", None)], [f"PYTHON_VERSION={debian_python()}"],
                   f.read())
    t0 = time.time()
    d = project(tmp, h, "build", BUILD_DF, "app-a\n")
    r = lks(["pin", "--now", NOW, "--index-url", index, "--pip-inline-to-file"], d)
    check(r.rc == 0, "build: pin with --pip-inline-to-file", r)
    b = bud(d, "localhost/pyapp:1")
    check(b.returncode == 0, "the pinned Dockerfile builds with buildah (pip --require-hashes)",
          b.stderr[-3000:])
    req = os.path.join(d, "requirements.txt")
    txt = read(req).decode()
    write(req, re.sub(r"--hash=sha256:[0-9a-f]{64}", "--hash=sha256:" + "0" * 64, txt, count=1))
    b = bud(d, "localhost/pyapp:2")
    check(b.returncode != 0 and "DO NOT MATCH THE HASHES" in b.stderr + b.stdout,
          "a tampered hash in requirements.txt fails the build", b.stderr[-2000:])
    shutil.rmtree(os.path.join(d, ".bud"), ignore_errors=True)
    print("buildah builds: %.1f s" % (time.time() - t0))


FACTS = {}


def main():
    t0 = time.time()
    need_tools()
    if not os.path.exists(pyfx.PY) or \
            pyfx.run([pyfx.PY, "-c", "import setuptools, wheel, pip"]).returncode:
        print("skip: Debian's pip/setuptools/wheel are not installed")
        return 77
    root = pyfx.fixture_index()
    tmp = tempfile.mkdtemp(prefix="lks-pin-python-")
    srv = pyfx.Server(root, "--yank", pyfx.YANKED[0])
    try:
        with registry.Registry() as reg:
            h = reg.host
            FACTS["digest"] = push_image(h, "python", "3.11",
                                         [("amd64", None), ("arm64", "v8")],
                                         [f"PYTHON_VERSION={PYVER}"])
            push_image(h, "plain", "1", [("amd64", None)], [])
            push_image(h, "debianpy", "1", [("amd64", None)], [],
                       interp_layer("python3.11", DPKG_STATUS))
            push_image(h, "barepy", "1", [("amd64", None)], [],
                       interp_layer("/usr/bin/python3.11", None))
            test_check_unpinned(tmp, h, srv.url)
            test_pin(tmp, h, srv.url)
            test_loose_txt(tmp, h, srv.url)
            test_errors(tmp, h, srv.url)
            test_interpreter(tmp, h, srv.url)
            test_inline_to_file(tmp, h, srv.url)
            test_buildah_build(tmp, h, srv.url)
    finally:
        srv.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    finish("pin_python", t0)


if __name__ == "__main__":
    sys.exit(main())

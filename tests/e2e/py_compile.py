#!/usr/bin/env python3
"""End-to-end: lockstep py-compile against a loopback package index holding real wheels built
here with Debian's pip; differential against `pip install --dry-run --report` for the host
interpreter, `pip download --require-hashes` on lockstep's output, target-specific markers,
and hostile inputs. Exit 77 when Debian's pip/setuptools/wheel are missing."""
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import textwrap
import zipfile

SRC = os.environ.get("LKS_SRCDIR", os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("LKS_BUILDDIR", os.path.join(SRC, "build"))
LKS = os.environ.get("LKS_BIN", os.path.join(BUILD, "cli", "lockstep"))
PY = "/usr/bin/python3"
PIP_ENV = {k: v for k, v in os.environ.items() if k not in ("PIP_FIND_LINKS", "PIP_CERT")}
PIP_ENV.update(PIP_CONFIG_FILE="/dev/null", PIP_DISABLE_PIP_VERSION_CHECK="1",
               PIP_NO_INPUT="1", SOURCE_DATE_EPOCH="1700000000")
HOST_PY = "%d.%d" % sys.version_info[:2]

# name, version, install_requires, extras_require, python_requires
PACKAGES = [
    ("app-a", "1.0", ["dep-left", "dep-right"], {}, None),
    ("dep-left", "1.0", ["base>=1.0,<3"], {}, None),
    ("dep-right", "1.0", ["base>=2.0"], {}, None),
    ("base", "1.0", [], {}, None), ("base", "2.0", [], {}, None),
    ("base", "2.5", [], {}, None), ("base", "3.0", [], {}, None),
    ("bt-x", "1.0", ["bt-z"], {}, None), ("bt-x", "2.0", ["bt-z<2"], {}, None),
    ("bt-y", "1.0", ["bt-z>=2"], {}, None),
    ("bt-z", "1.0", [], {}, None), ("bt-z", "2.0", [], {}, None),
    ("ext-pkg", "1.0", [], {"fast": ["speedup>=1.1"]}, None),
    ("speedup", "1.0", [], {}, None), ("speedup", "1.1", [], {}, None),
    ("mark-pkg", "1.0", ['old-only; python_version < "3.9"',
                         'new-only; python_version >= "3.12"',
                         'arm-only; platform_machine == "aarch64"',
                         'x86-only; platform_machine == "x86_64"'], {}, None),
    ("old-only", "1.0", [], {}, None), ("new-only", "1.0", [], {}, None),
    ("arm-only", "1.0", [], {}, None), ("x86-only", "1.0", [], {}, None),
    ("pre-pkg", "1.0", [], {}, None), ("pre-pkg", "2.0b1", [], {}, None),
    ("only-pre", "1.0a1", [], {}, None),
    ("yank-pkg", "1.0", [], {}, None), ("yank-pkg", "1.1", [], {}, None),
    ("py-new", "1.0", [], {}, None), ("py-new", "2.0", [], {}, ">=3.12"),
    ("wheel-only", "1.0", ["speedup"], {}, None),
    ("plat-pkg", "1.0", [], {}, None),
    # issue 11: a marker version beyond uint64, Requires-Python with a blank clause or invalid
    ("mark-big", "1.0", ['old-only; python_version > "18446744073709551616"',
                         'new-only; python_version < "18446744073709551616"'], {}, None),
    ("rp-comma", "1.0", [], {}, None), ("rp-bad", "1.0", [], {}, None),
]
# wheels made by hand: setuptools refuses to write these Requires-Python values
HAND_WHEELS = [("rp-comma", "2.0", ">=3.99,"), ("rp-bad", "2.0", "=>3.6")]
YANKED = ["yank_pkg-1.1-py3-none-any.whl:broken"]

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, flush=True)


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, env=PIP_ENV, timeout=300, **kw)


def setup_py(name, version, deps, extras, pyreq):
    return textwrap.dedent("""\
        from setuptools import setup
        setup(name=%r, version=%r, py_modules=[], install_requires=%r, extras_require=%r,
              python_requires=%r)
        """ % (name, version, deps, extras, pyreq))


def build_wheels(out):
    """All fixture wheels in one pip invocation (cached by the package table's digest)."""
    work = tempfile.mkdtemp(dir=os.path.dirname(out))
    dirs = []
    for name, version, deps, extras, pyreq in PACKAGES:
        d = os.path.join(work, "%s-%s" % (name, version))
        os.makedirs(d)
        open(os.path.join(d, "setup.py"), "w").write(setup_py(name, version, deps, extras, pyreq))
        dirs.append(d)
    os.makedirs(out, exist_ok=True)
    # pip builds one version of a project per run: group the sources into rounds
    rounds = []
    for d, (name, *_rest) in zip(dirs, PACKAGES):
        for rnd in rounds:
            if name not in rnd:
                rnd[name] = d
                break
        else:
            rounds.append({name: d})
    for rnd in rounds:
        r = run([PY, "-m", "pip", "wheel", "--no-build-isolation", "--no-index", "--no-deps",
                 "--ignore-requires-python",
                 "-q", "-w", out] + list(rnd.values()))
        if r.returncode:
            print(r.stdout, r.stderr)
            sys.exit("cannot build fixture wheels")
    shutil.rmtree(work)


def hand_wheel(out, name, version, requires_python):
    """A minimal wheel (METADATA, WHEEL, RECORD) whose METADATA says requires_python."""
    dist = "%s-%s" % (name.replace("-", "_"), version)
    files = {dist + ".dist-info/METADATA": "Metadata-Version: 2.1\nName: %s\nVersion: %s\n"
             "Requires-Python: %s\n" % (name, version, requires_python),
             dist + ".dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: lockstep-tests\n"
             "Root-Is-Purelib: true\nTag: py3-none-any\n"}
    record = "".join("%s,,\n" % f for f in files) + dist + ".dist-info/RECORD,,\n"
    files[dist + ".dist-info/RECORD"] = record
    with zipfile.ZipFile(os.path.join(out, dist + "-py3-none-any.whl"), "w") as z:
        for path, text in sorted(files.items()):
            z.writestr(zipfile.ZipInfo(path, (2023, 11, 14, 22, 13, 20)), text)


def sdist(out, name, version, meta_version, deps):
    """An sdist whose PKG-INFO declares meta_version, with a setup.py pip can build."""
    base = "%s-%s" % (name, version)
    pkg_info = "Metadata-Version: %s\nName: %s\nVersion: %s\n" % (meta_version, name, version)
    pkg_info += "".join("Requires-Dist: %s\n" % d for d in deps)
    files = {base + "/PKG-INFO": pkg_info, base + "/setup.py": setup_py(name, version, deps, {}, None)}
    with tarfile.open(os.path.join(out, base + ".tar.gz"), "w:gz", format=tarfile.PAX_FORMAT) as t:
        for path, text in sorted(files.items()):
            data = text.encode()
            ti = tarfile.TarInfo(path)
            ti.size, ti.mtime, ti.mode = len(data), 1700000000, 0o644
            t.addfile(ti, io.BytesIO(data))


def hostile_wheels(out):
    with zipfile.ZipFile(os.path.join(out, "no_meta-1.0-py3-none-any.whl"), "w") as z:
        z.writestr("no_meta/__init__.py", "")
    big = "Metadata-Version: 2.1\nName: huge-meta\nVersion: 1.0\n" + "X-Pad: %s\n" % ("a" * 100) * 80000
    with zipfile.ZipFile(os.path.join(out, "huge_meta-1.0-py3-none-any.whl"), "w",
                         zipfile.ZIP_DEFLATED) as z:
        z.writestr("huge_meta-1.0.dist-info/METADATA", big)
    # a zip bomb: 256 MB of METADATA deflated to ~250 KB (streamed, never in memory here)
    with zipfile.ZipFile(os.path.join(out, "bomb_pkg-1.0-py3-none-any.whl"), "w",
                         zipfile.ZIP_DEFLATED) as z:
        with z.open("bomb_pkg-1.0.dist-info/METADATA", "w", force_zip64=True) as f:
            f.write(b"Metadata-Version: 2.1\nName: bomb-pkg\nVersion: 1.0\nX-Pad: ")
            chunk = b"a" * (1 << 20)
            for _ in range(256):
                f.write(chunk)


def fixture_index():
    key = hashlib.sha256(repr((PACKAGES, HAND_WHEELS, 6)).encode()).hexdigest()[:16]
    root = os.path.join(BUILD, "fixture-cache", "pyindex-" + key)
    if not os.path.isdir(root):
        tmp = root + ".tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(tmp)
        build_wheels(tmp)
        for name, version, rp in HAND_WHEELS:
            hand_wheel(tmp, name, version, rp)
        sdist(tmp, "sdist-only", "1.0", "2.2", ["base<2"])
        sdist(tmp, "sdist-dyn", "1.0", "2.1", ["base"])
        # the same project built for other platforms: only hashed, never installed here
        src = os.path.join(tmp, "plat_pkg-1.0-py3-none-any.whl")
        dst = os.path.join(tmp, "plat_pkg-1.0-cp312-cp312-manylinux_2_17_aarch64.whl")
        shutil.copy(src, dst)
        with zipfile.ZipFile(dst, "a") as z:  # distinct bytes, so a distinct hash
            z.comment = b"built for cp312 aarch64"
        sdist(tmp, "plat-pkg", "1.0", "2.2", [])
        hostile_wheels(tmp)
        os.rename(tmp, root)
    return root


class Server:
    def __init__(self, root, *flags):
        self.p = subprocess.Popen([PY, os.path.join(SRC, "tests", "servers", "pyindex.py"),
                                   "--root", root] + list(flags),
                                  stdout=subprocess.PIPE, text=True)
        line = self.p.stdout.readline()
        if not line.startswith("PORT "):
            sys.exit("index server did not start")
        self.url = "http://127.0.0.1:%s/simple/" % line.split()[1]

    def stats(self):
        """Requests served since the last call, by kind (page, page-304, metadata, file)."""
        import urllib.request
        url = self.url.replace("/simple/", "/_stats?reset")
        with urllib.request.urlopen(url, timeout=10) as r:
            return json.loads(r.read())

    def stop(self):
        self.p.terminate()
        self.p.wait(timeout=10)


def lockstep(work, reqs, index, pyver=HOST_PY, *extra):
    """py-compile reqs; the cache is work/.cache unless extra names another."""
    inp = os.path.join(work, "requirements.in")
    out = os.path.join(work, "requirements.txt")
    open(inp, "w").write(reqs)
    if os.path.exists(out):
        os.unlink(out)
    env = dict(os.environ, XDG_CACHE_HOME=os.path.join(work, ".cache"))
    r = subprocess.run([LKS, "py-compile", "--index-url", index, "--python-version", pyver,
                        inp, "-o", out] + list(extra), capture_output=True, text=True,
                       timeout=120, env=env)
    text = open(out).read() if r.returncode == 0 else ""
    pins = {}
    for line in text.splitlines():
        if line and not line.startswith((" ", "#", "-")):
            name, version = line.split(" ")[0].split("==")
            pins[name] = version
    return r, text, pins


def canonical(n):
    import re
    return re.sub(r"[-_.]+", "-", n).lower()


def pip_choice(work, reqs, index):
    inp = os.path.join(work, "pip-requirements.in")
    open(inp, "w").write(reqs)
    r = run([PY, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--no-build-isolation",
             "--quiet", "--report", "-", "--index-url", index, "-r", inp])
    if r.returncode:
        return None, r.stderr
    rep = json.loads(r.stdout)
    return {canonical(i["metadata"]["name"]): i["metadata"]["version"] for i in rep["install"]}, ""


DIFFERENTIAL = {
    "diamond": "app-a\n",
    "backtracking": "bt-x\nbt-y\n",
    "extras-markers": "ext-pkg[fast]\nmark-pkg\n",
    "pre-yank-python": "pre-pkg\nonly-pre\nyank-pkg\npy-new\n",
    "pinned-yank-pre": "yank-pkg==1.1\npre-pkg>=2.0b1\n",
    "wheel-sdist-platforms": "wheel-only\nsdist-only\nplat-pkg\n",
    "blank-clause-big-marker": "rp-comma\nmark-big\n",
}


def differential(work, index):
    for name, reqs in DIFFERENTIAL.items():
        r, text, pins = lockstep(work, reqs, index)
        check(r.returncode == 0, "%s: lockstep failed: %s" % (name, r.stderr.strip()))
        want, err = pip_choice(work, reqs, index)
        check(want is not None, "%s: pip failed: %s" % (name, err))
        check(pins == want, "%s: lockstep %s != pip %s" % (name, pins, want))
        if r.returncode:
            continue
        dl = os.path.join(work, "dl")
        shutil.rmtree(dl, ignore_errors=True)
        d = run([PY, "-m", "pip", "download", "--require-hashes", "--no-build-isolation", "-q",
                 "-d", dl, "-r", os.path.join(work, "requirements.txt")])
        check(d.returncode == 0, "%s: pip download --require-hashes rejected the output: %s"
              % (name, d.stderr.strip()[-500:]))
        print("ok differential", name, pins, flush=True)


def targets(work, index):
    cases = [
        ("mark-pkg\n", "3.8", "x86_64", {"mark-pkg", "old-only", "x86-only"}),
        ("mark-pkg\n", "3.12", "aarch64", {"mark-pkg", "new-only", "arm-only"}),
        ("py-new\n", "3.12", "x86_64", {"py-new==2.0"}),
        ("py-new\n", "3.8", "x86_64", {"py-new==1.0"}),
    ]
    for reqs, pyver, machine, want in cases:
        r, text, pins = lockstep(work, reqs, index, pyver, "--platform-machine", machine)
        got = {k for k in pins} if "==" not in next(iter(want)) else \
            {"%s==%s" % kv for kv in pins.items()}
        check(r.returncode == 0 and got == want,
              "target %s/%s for %r: got %s want %s (%s)" % (pyver, machine, reqs, got, want,
                                                            r.stderr.strip()))
    # pip 23 ignores a Requires-Python it cannot parse; lockstep never takes it as satisfied
    r, text, pins = lockstep(work, "rp-bad\n", index)
    check(r.returncode == 0 and pins == {"rp-bad": "1.0"},
          "rp-bad 2.0 (Requires-Python '=>3.6') is not chosen: %s %s" % (pins, r.stderr))
    r, text, pins = lockstep(work, "rp-bad>=2\n", index)
    check(r.returncode == 2 and "not chosen, Requires-Python cannot be parsed: 2.0" in r.stderr,
          "rp-bad>=2: the error names the version left out: %s" % r.stderr.strip())
    r, text, pins = lockstep(work, "plat-pkg\n", index)
    check(text.count("--hash=sha256:") == 3, "plat-pkg must list the hashes of all 3 files")
    r2, text2, _ = lockstep(work, "plat-pkg\n", index)
    check(text == text2, "output is not deterministic")
    print("ok targets", flush=True)


def same_without_index_help(work, index, bare_index):
    """An HTML-only index without hashes or metadata files gives the same pins and hashes:
    lockstep reads METADATA from the wheels (libarchive), PKG-INFO from the sdists, and
    downloads and hashes every file itself."""
    reqs = DIFFERENTIAL["wheel-sdist-platforms"] + DIFFERENTIAL["diamond"].replace("app-a", "dep-left")
    r1, t1, _ = lockstep(work, reqs, index)
    r2, t2, _ = lockstep(work, reqs, bare_index)
    strip = lambda t: "\n".join(l for l in t.splitlines() if not l.startswith("--index-url"))
    check(r1.returncode == 0 and r2.returncode == 0 and strip(t1) == strip(t2) and t1.count("sha256") > 5,
          "bare index output differs: %s %s" % (r2.stderr.strip(), t2))
    print("ok bare index", flush=True)


def expect_error(work, reqs, index, needle, what, *extra):
    r, _, _ = lockstep(work, reqs, index, HOST_PY, *extra)
    check(r.returncode == 2 and needle in r.stderr,
          "%s: want exit 2 with %r, got %d: %s" % (what, needle, r.returncode, r.stderr.strip()))


def bad_inputs(work, index, hostile_index):
    expect_error(work, "no-such-pkg\n", index, "unknown package 'no-such-pkg'", "unknown package")
    expect_error(work, "base==9.9\n", index, "no version of 'base'", "missing version")
    expect_error(work, "base<2\nbase>=3\n", index, "requirements.in:2", "unsatisfiable set")
    expect_error(work, "app-a\nbase>=3\n", index,
                 "'base<3,>=1.0' from dep-left==1.0 <- app-a==1.0 <- -r ",
                 "unsatisfiable set: the chain of requirements")
    expect_error(work, "ok\nfoo >=\n", index, "requirements.in:2: invalid requirement",
                 "malformed line")
    expect_error(work, "sdist-dyn\n", index, "would need a build", "sdist needing a build")
    expect_error(work, "base\n", hostile_index, "does not match the index", "hash mismatch")
    expect_error(work, "huge-meta\n", hostile_index, "larger than", "huge METADATA")
    expect_error(work, "no-meta\n", hostile_index, "has no .dist-info/METADATA", "no METADATA")
    expect_error(work, "bomb-pkg\n", hostile_index, "bomb_pkg-1.0-py3-none-any.whl", "zip bomb")
    expect_error(work, "base\n", "http://192.0.2.1:9/simple/", "refusing plain http",
                 "plain HTTP off loopback")
    print("ok bad inputs", flush=True)


def caching(work, srv, bare):
    """Index responses in the cache: a warm run only revalidates project pages (304), reads
    metadata and file hashes from the cache and downloads nothing; --offline sends nothing;
    --refresh fetches everything again; the same output every time."""
    reqs = "app-a\nwheel-only\nplat-pkg\next-pkg[fast]\nmark-pkg\n"
    for s, name in ((srv, "etag"), (bare, "last-modified, no hashes, no PEP 658")):
        cache = os.path.join(work, "cache-" + s.url.split(":")[2].split("/")[0])
        opt = ("--cache-dir", cache)
        s.stats()
        r1, t1, _ = lockstep(work, reqs, s.url, HOST_PY, *opt)
        cold = s.stats()
        r2, t2, _ = lockstep(work, reqs, s.url, HOST_PY, *opt)
        warm = s.stats()
        check(r1.returncode == 0 and r2.returncode == 0 and t1 == t2 and cold.get("page", 0) > 5,
              "%s: cold and warm runs differ or failed: %s %s" % (name, r1.stderr, r2.stderr))
        check(set(warm) == {"page-304"} and warm["page-304"] == cold["page"],
              "%s: a warm run must only revalidate the %d pages, got %s (cold %s)"
              % (name, cold.get("page", 0), warm, cold))
        r3, t3, _ = lockstep(work, reqs, s.url, HOST_PY, "--offline", *opt)
        check(r3.returncode == 0 and t3 == t1 and s.stats() == {},
              "%s: --offline must answer from the cache alone: %s" % (name, r3.stderr))
        r4, t4, _ = lockstep(work, reqs, s.url, HOST_PY, "--refresh", *opt)
        check(r4.returncode == 0 and t4 == t1 and s.stats().get("page") == cold["page"],
              "%s: --refresh must fetch the pages again" % name)
    r5, _, _ = lockstep(work, "base\n", srv.url, HOST_PY, "--offline", "--cache-dir",
                        os.path.join(work, "cache-empty"))
    st = srv.stats()
    check(r5.returncode == 2 and "running offline" in r5.stderr and st == {},
          "offline with an empty cache: exit 2 naming the page: %s %s" % (r5.stderr, st))
    print("ok caching", flush=True)


def main():
    if not os.path.exists(PY) or run([PY, "-c", "import setuptools, wheel, pip"]).returncode:
        print("SKIP: Debian's pip/setuptools/wheel are not installed")
        return 77
    root = fixture_index()
    work = tempfile.mkdtemp()
    servers = [Server(root, "--yank", YANKED[0]),
               Server(root, "--mode", "html", "--no-metadata", "--yank", YANKED[0],
                      "--bad-hash", "base-3.0-py3-none-any.whl"),
               Server(root, "--mode", "html", "--no-metadata", "--no-hash", "--yank", YANKED[0]),
               Server(root, "--mode", "html", "--no-metadata", "--no-hash", "--yank", YANKED[0],
                      "--validators", "date")]
    try:
        differential(work, servers[0].url)
        targets(work, servers[0].url)
        bad_inputs(work, servers[0].url, servers[1].url)
        same_without_index_help(work, servers[0].url, servers[2].url)
        caching(work, servers[0], servers[3])
    finally:
        for s in servers:
            s.stop()
        shutil.rmtree(work, ignore_errors=True)
    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    print("all py-compile checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())

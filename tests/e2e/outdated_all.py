#!/usr/bin/python3
"""End-to-end: `lockstep outdated` and `lockstep update` for apt and Python pins, against a
real docker-registry, a signed loopback apt repository and the loopback package index, with
the clock set by --now (no sleeping).

Story: a Dockerfile installs apt packages (curlish, gonepkg, keep) and `pip install -r
requirements.txt` (requirements.in: webapp, helper) on a base image whose /etc/apt points at the
loopback archive; pinned at T0. Between two runs the archive gets a new curlish in
stable-security and loses the pinned gonepkg (replaced), and the index gets webapp 1.1 and
yanks helper 1.0 (helper 1.0.1 released). `outdated` at T0+10d: rows for the new candidate and
release (within the window), the vanished and the yanked pin flagged with the way out; at
T0+40d the moves are behind. `--only`, `--package`, `--cooldown` select; `update` moves exactly
those pins (Dockerfile words, requirements.txt with new hashes, the lock), writes the summary
with the PyPI-style link the metadata gives, and a second `update` changes no byte.
"""
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile

from pinlib import SRC, check, finish, lks, read, registry, snapshot, workdir, write

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from apt_image import layer  # noqa: E402
from aptrepo import Server, free_port, make_key, need, write_suite  # noqa: E402

DAY = 86400
T0_EPOCH = 1793491200  # 2026-11-01T00:00:00Z
T0 = "2026-11-01T00:00:00Z"
PYVER = "%d.%d.%d" % sys.version_info[:3]
LINK = "https://example.invalid/webapp/changelog"


def at(days):
    return f"@{T0_EPOCH + days * DAY}"


def rfc2822(epoch):
    return time.strftime("%a, %d %b %Y %H:%M:%S UTC", time.gmtime(epoch))


# ---- the apt archive ----

def apt_repo(tmp, gpg_env, second):
    """stable + stable-security; the second state has the changes between the runs."""
    repo = os.path.join(tmp, "www", "repo")
    shutil.rmtree(repo, ignore_errors=True)
    os.makedirs(repo)
    stable = [("curlish", "1.0-1", "amd64", None), ("keep", "1.0-1", "all", None),
              ("gonepkg", "2.0-1", "all", None)]
    sec = [("gonepkg", "2.0-1+sec2" if second else "2.0-1+sec1", "all", None)]
    if second:
        sec.append(("curlish", "1.0-1+sec1", "amd64", None))
    date = rfc2822(T0_EPOCH + (4 * DAY if second else -2 * DAY))
    write_suite(repo, "stable", "lkstest", ("amd64",), stable, {}, gpg_env,
                date=rfc2822(T0_EPOCH - 2 * DAY))
    write_suite(repo, "stable-security", "lkstest-security", ("amd64",), sec, {}, gpg_env,
                date=date)
    # http.server's Last-Modified has one-second steps: make the change visible to
    # If-Modified-Since even when both states are written within the same second.
    for dp, _, fs in os.walk(repo):
        for f in fs:
            os.utime(os.path.join(dp, f), (time.time() + (10 if second else 0),) * 2)


def push_base(host, uri, key):
    """One amd64 image with apt sources for the archive and PYTHON_VERSION in its Env."""
    with open("/bin/busybox", "rb") as f:
        busybox = f.read()
    with open(key, "rb") as f:
        keydata = f.read()
    src = (f"deb [signed-by=/usr/share/keyrings/lks.gpg] {uri} stable main\n"
           f"deb [signed-by=/usr/share/keyrings/lks.gpg] {uri} stable-security main\n")
    gz, diff_id = layer([("bin", "dir", None), ("bin/busybox", "file", busybox),
                         ("usr/bin/dpkg", "file", b"#!/bin/sh\n"),
                         ("usr/bin/apt-get", "file", b"#!/bin/sh\n"),
                         ("etc/os-release", "file", b"ID=debian\nVERSION_ID=\"12\"\n"),
                         ("etc/apt/sources.list", "file", src.encode()),
                         ("usr/share/keyrings/lks.gpg", "file", keydata)])
    ldigest = registry._push_blob(host, "base", gz)
    cfg = json.dumps({"architecture": "amd64", "os": "linux", "created": T0,
                      "config": {"Env": [f"PYTHON_VERSION={PYVER}"]},
                      "rootfs": {"type": "layers", "diff_ids": [diff_id]}}).encode()
    m = json.dumps({"schemaVersion": 2, "mediaType": registry.OCI_MANIFEST,
                    "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                               "digest": registry._push_blob(host, "base", cfg),
                               "size": len(cfg)},
                    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                                "digest": ldigest, "size": len(gz)}]}).encode()
    return registry._put_manifest(host, "base", "1", registry.OCI_MANIFEST, m)


# ---- the package index ----

def wheel(root, name, version, urls=()):
    dist = f"{name}-{version}.dist-info"
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    meta += "".join(f"Project-URL: {label}, {url}\n" for label, url in urls)
    fn = os.path.join(root, f"{name}-{version}-py3-none-any.whl")
    with zipfile.ZipFile(fn, "w") as z:
        for path, text in ((f"{dist}/METADATA", meta),
                           (f"{dist}/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\n"
                            "Tag: py3-none-any\n"), (f"{dist}/RECORD", "")):
            zi = zipfile.ZipInfo(path, (2026, 1, 1, 0, 0, 0))
            z.writestr(zi, text)
    return os.path.basename(fn)


class Index:
    """tests/servers/pyindex.py on a fixed port, restarted for the second state."""

    def __init__(self, root):
        self.root, self.port, self.p = root, free_port(), None
        self.url = f"http://127.0.0.1:{self.port}/simple/"

    def start(self, second):
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
        os.makedirs(self.root)
        up = {wheel(self.root, "webapp", "1.0", [("Changelog", LINK)]): "2026-10-20T00:00:00Z",
              wheel(self.root, "helper", "1.0"): "2026-10-20T00:00:00Z"}
        flags = []
        if second:
            up[wheel(self.root, "webapp", "1.1", [("Changelog", LINK)])] = "2026-11-05T00:00:00Z"
            up[wheel(self.root, "helper", "1.0.1")] = "2026-11-06T00:00:00Z"
            flags = ["--yank", "helper-1.0-py3-none-any.whl:broken on arm"]
        for fn, t in up.items():
            flags += ["--upload-time", f"{fn}={t}"]
        self.p = subprocess.Popen([sys.executable, os.path.join(SRC, "tests", "servers",
                                                                "pyindex.py"),
                                   "--root", self.root, "--port", str(self.port)] + flags,
                                  stdout=subprocess.PIPE, text=True)
        if not self.p.stdout.readline().startswith("PORT "):
            raise RuntimeError("index server did not start")

    def stop(self):
        if self.p and self.p.poll() is None:
            self.p.terminate()
            self.p.wait(10)


# ---- the story ----

DOCKERFILE = """\
FROM {base}
WORKDIR /app
RUN apt-get update && apt-get install -y curlish{v_curlish} \\
    gonepkg{v_gonepkg} keep{v_keep}
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt
"""


def render(base, pins):
    return DOCKERFILE.format(base=base, **{"v_" + k: (f"={v}" if v else "") for k, v in
                                           pins.items()})


def req_pins(d):
    out = {}
    for line in read(os.path.join(d, "requirements.txt")).decode().splitlines():
        if "==" in line and not line.startswith((" ", "#")):
            name, v = line.split(" ")[0].split("==")
            out[name] = v
    return out


def outdated(d, cache, now, extra=()):
    r = lks(["outdated", "--now", now, "--format", "json"] + list(extra), d, cache=cache)
    try:
        pins = {(p["kind"], p["name"]): p for p in json.loads(r.out)["pins"]}
    except (ValueError, KeyError):
        pins = {}
    return r, pins


def test_outdated(d, cache):
    r, pins = outdated(d, cache, at(10))
    cur = pins.get(("apt", "curlish"), {})
    gone = pins.get(("apt", "gonepkg"), {})
    web = pins.get(("python", "webapp"), {})
    hlp = pins.get(("python", "helper"), {})
    check(r.rc == 1 and cur.get("state") == "newer" and cur.get("latest") == "1.0-1+sec1" and
          cur.get("behind_since") == "2026-11-05T00:00:00Z" and cur.get("flags") == [] and
          pins.get(("apt", "keep"), {}).get("state") == "current",
          "outdated +10d: apt candidate first seen with the -security Release (not flagged)", r)
    check(gone.get("state") == "vanished" and gone.get("flags") == ["vanished"] and
          "no longer in the archive" in gone.get("detail", "") and
          "lockstep update --package gonepkg" in gone.get("action", "") and
          "2.0-1+sec2" in gone.get("action", ""),
          "outdated +10d: a vanished apt version is flagged with the way out", gone)
    check(web.get("state") == "newer" and web.get("latest") == "1.1" and
          web.get("latest_published_at") == "2026-11-05T00:00:00Z" and web.get("flags") == [],
          "outdated +10d: the new Python release with its upload-time (not flagged)", web)
    check(hlp.get("state") == "vanished" and "yanked: broken on arm" in hlp.get("detail", "")
          and "lockstep update --package helper" in hlp.get("action", ""),
          "outdated +10d: a yanked pinned release is flagged with the way out", hlp)
    r, pins = outdated(d, cache, at(40))
    flags = {k: v["flags"] for k, v in pins.items()}
    check(r.rc == 1 and flags.get(("apt", "curlish")) == ["behind", "unchecked"] and
          flags.get(("python", "webapp")) == ["behind", "unchecked"] and
          flags.get(("apt", "keep")) == ["unchecked"] and
          pins[("apt", "curlish")]["behind_days"] == 36,
          "outdated +40d: the moves are behind, everything unchecked", r)
    r = lks(["outdated", "--now", at(40)], d, cache=cache)
    rows = r.out.splitlines()
    apt_row = [x for x in rows if x.startswith("APT    curlish 1.0-1 ")]
    py_row = [x for x in rows if x.startswith("PY     webapp 1.0 ")]
    check(r.rc == 1 and len(apt_row) == 1 and len(py_row) == 1 and
          "pinned 2026-11-01 (40 days)  candidate 1.0-1+sec1 since 2026-11-05;" in apt_row[0] and
          "pinned 2026-11-01 (40 days)  newest 1.1 since 2026-11-05;" in py_row[0] and
          rows[-1] == "6 of 6 pins outdated (30-day window)",
          "outdated text rows for apt and python", r)
    for args, want in ((["--only", "apt"], {"apt"}), (["--only", "python"], {"python"})):
        r, pins = outdated(d, cache, at(40), args)
        check({k for k, _ in pins} == want, f"outdated {' '.join(args)}", r)
    r, pins = outdated(d, cache, at(40), ["--package", "web*"])
    check(list(pins) == [("python", "webapp")], "outdated --package web*", r)
    r, pins = outdated(d, cache, at(40), ["--cooldown", "38d"])
    check(pins.get(("apt", "curlish"), {}).get("flags") == ["unchecked"] and
          pins.get(("python", "webapp"), {}).get("state") == "current",
          "outdated --cooldown 38d: the 36-day-old versions do not count yet", r)


def test_update(d, cache, base, index):
    before = snapshot(d)
    r = lks(["update", "--dry-run", "--now", at(40), "--cooldown", "38d"], d, cache=cache)
    moved = sorted(x.split("'")[1] for x in r.out.splitlines() if ": updated " in x)
    check(r.rc == 0 and moved == ["gonepkg=2.0-1+sec1", "helper"] and
          "candidate 1.0-1+sec1 of apt package 'curlish' was first seen 2026-11-05T00:00:00Z, "
          "within the cooldown: kept 1.0-1" in r.err and snapshot(d) == before,
          "update --cooldown 38d keeps the young candidate and release, moves the vanished "
          "and the yanked pins", r)
    r = lks(["update", "--dry-run", "--now", at(40), "--package", "curlish"], d, cache=cache)
    check(r.rc == 2 and "'lockstep update --package gonepkg' moves the pin" in r.err and
          snapshot(d) == before, "a vanished apt version not selected: exit 2 with the way out",
          r)
    r = lks(["update", "--dry-run", "--now", at(40), "--only", "apt"], d, cache=cache)
    check(r.rc == 0 and "curlish=1.0-1' 1.0-1 -> 1.0-1+sec1" in r.out and "webapp" not in r.out
          and snapshot(d) == before, "update --only apt --dry-run", r)
    r = lks(["update", "--now", at(40), "--summary", "markdown"], d, cache=cache)
    want = render(base, {"curlish": "1.0-1+sec1", "gonepkg": "2.0-1+sec2", "keep": "1.0-1"})
    check(r.rc == 0 and read(os.path.join(d, "Dockerfile")).decode() == want,
          "update rewrites exactly the moved apt words", r)
    check(req_pins(d) == {"webapp": "1.1", "helper": "1.0.1"},
          "update moves webapp to the new release and helper off the yanked one",
          read(os.path.join(d, "requirements.txt")))
    md = r.out
    check("| `curlish` | `1.0-1` | `1.0-1+sec1` | 2026-11-05 | 36 days |" in md and
          f"| [`webapp`]({LINK}) | `1.0` | `1.1` | 2026-11-05 | 36 days |" in md and
          "| `gonepkg` | `2.0-1+sec1` | `2.0-1+sec2` |" in md and
          "4 pins updated: 2 apt packages, 2 Python packages." in md,
          "the PR summary: apt and Python tables, first-seen and upload dates, the link", md)
    lock = json.loads(read(os.path.join(d, "lockstep.lock")))
    apt = {e["package"]: e for e in lock["apt"]}
    py = {e["name"]: e for e in lock["python"]}
    check(apt["curlish"]["version"] == "1.0-1+sec1" and
          apt["curlish"]["published_at"] == "2026-11-05T00:00:00Z" and
          apt["keep"]["published_at"] == "2026-10-30T00:00:00Z" and
          py["webapp"]["version"] == "1.1" and
          py["webapp"]["published_at"] == "2026-11-05T00:00:00Z",
          "lock: new versions with their first-seen / upload times", lock)
    r = lks(["check"], d, cache=cache)
    check(r.rc == 0, "check after update passes", r)
    after = snapshot(d)
    r = lks(["update", "--now", at(40), "--summary", "json"], d, cache=cache)
    check(r.rc == 0 and json.loads(r.out or "{}").get("count") == 0 and snapshot(d) == after,
          "a second update changes no byte", r)
    r = lks(["outdated", "--now", at(40)], d, cache=cache)
    check(r.rc == 0, "outdated after update: nothing flagged", r)


def main():
    need("apt-ftparchive", "dpkg-deb", "gpg", "docker-registry")
    t0 = time.time()
    tmp = tempfile.mkdtemp(prefix="lks-outdated-all-")
    index = Index(os.path.join(tmp, "index"))
    srv = None
    try:
        gpg_env, key = make_key(os.path.join(tmp, "gnupg"))
        apt_repo(tmp, gpg_env, False)
        srv = Server(os.path.join(tmp, "www"))
        index.start(False)
        with registry.Registry("anon") as reg:
            uri = f"http://127.0.0.1:{srv.port}/repo"
            base = f"{reg.host}/base:1@{push_base(reg.host, uri, key)}"
            d = workdir(tmp, "proj", render(base, {"curlish": "", "gonepkg": "", "keep": ""}))
            write(os.path.join(d, "requirements.in"), "webapp\nhelper\n")
            cache = os.path.join(tmp, "cache")
            r = lks(["pin", "--now", T0, "--index-url", index.url], d, cache=cache)
            check(r.rc == 0 and req_pins(d) == {"webapp": "1.0", "helper": "1.0"},
                  "pin at T0", r)
            apt_repo(tmp, gpg_env, True)
            index.start(True)
            test_outdated(d, cache)
            test_update(d, cache, base, index)
    finally:
        index.stop()
        if srv:
            srv.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    finish("outdated_all", t0)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""End-to-end: one `pin` run reads each input once.

A cold `lockstep pin --apt-closure` (empty cache) of one Dockerfile with an image, apt words and
a Python requirements file, against a docker-registry, a signed apt repository and a package
index, all on 127.0.0.1. The base is the Debian minbase of pin_apt_build.py (cached OCI
layout) plus one layer with the loopback apt sources, a python3 symlink and dpkg status
entries for Python, and no PYTHON_VERSION: so apt (its configuration), --apt-closure (the
installed packages) and Python (the interpreter) all need the base image's layers. With -v,
lockstep says how often it parsed the Dockerfiles ("pin: 1 Dockerfile, 1 parse") and streamed
image layers ("pin: image layers streamed 1 time"); the test requires one parse per
Dockerfile and one stream of the base image for all three readers, on a cold pin, an update
(warm: no stream) and a pin with --refresh, and the result must be the real one (words
pinned, requirements.txt written, closure recorded). A second Dockerfile on a two-platform
base (amd64, arm64/v8) checks that one index client serves both targets: each project page
is requested once per run, cold and warm.
"""
import io
import json
import os
import re
import sys
import tarfile
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from pinlib import NOW, check, finish, lks, read, registry, workdir, write  # noqa: E402
from apt_image import layer  # noqa: E402
from aptrepo import Server, make_key, need, write_suite  # noqa: E402
import pin_apt_build  # noqa: E402
import pin_python  # noqa: E402

A = ("amd64",)
SUITES = {
    "stable": ("oncebuild", {}, [
        ("once-app", "1.0-1", "amd64", {"Depends": "once-lib (>= 1)"}),
        ("once-lib", "1.2-1", "all", None),
    ]),
}
DOCKERFILE = """\
FROM {base}
COPY requirements.txt /tmp/requirements.txt
RUN apt-get update && apt-get install -y --no-install-recommends once-app
RUN pip install --no-cache-dir -r /tmp/requirements.txt
"""
PY_STATUS = (b"Package: python3.11-minimal\nStatus: install ok installed\n"
             b"Version: 3.11.2-6+deb12u2\nArchitecture: amd64\n\n")


def minbase_status(layout, man):
    """The minbase's /var/lib/dpkg/status, from the last of its layers that has one."""
    status = b""
    for d in man["layers"]:
        with tarfile.open(fileobj=io.BytesIO(pin_apt_build.blob(layout, d["digest"])),
                          mode="r:*") as t:
            for m in t:
                if m.name.lstrip("./") == "var/lib/dpkg/status" and m.isfile():
                    status = t.extractfile(m).read()
    return status


def push_base(host, layout, uri, key):
    """minbase + a layer: apt sources and key, python3 -> python3.11, dpkg status + Python."""
    idx = json.loads(read(os.path.join(layout, "index.json")))
    man = json.loads(pin_apt_build.blob(layout, idx["manifests"][0]["digest"]))
    cfg = json.loads(pin_apt_build.blob(layout, man["config"]["digest"]))
    src = "".join(f"deb [signed-by=/etc/apt/keyrings/lks.gpg] {uri} {s} main\n" for s in SUITES)
    status = minbase_status(layout, man).rstrip(b"\n") + b"\n\n" + PY_STATUS
    gz, diff_id = layer([("etc/apt/sources.list", "file", src.encode()),
                         ("etc/apt/keyrings/lks.gpg", "file", read(key)),
                         ("usr/bin/python3.11", "file", b"\x7fELF"),
                         ("usr/bin/python3", "link", "python3.11"),
                         ("var/lib/dpkg/status", "file", status)])
    layers = [dict(d, digest=registry._push_blob(host, "debian",
                                                 pin_apt_build.blob(layout, d["digest"])))
              for d in man["layers"]]
    layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                   "digest": registry._push_blob(host, "debian", gz), "size": len(gz)})
    cfg["rootfs"]["diff_ids"].append(diff_id)
    env = cfg.setdefault("config", {}).get("Env") or []
    cfg["config"]["Env"] = [e for e in env if not e.startswith("PYTHON_VERSION=")]
    cb = json.dumps(cfg).encode()
    m = {"schemaVersion": 2, "mediaType": registry.OCI_MANIFEST,
         "config": {"mediaType": man["config"]["mediaType"],
                    "digest": registry._push_blob(host, "debian", cb), "size": len(cb)},
         "layers": layers}
    registry._put_manifest(host, "debian", "1", registry.OCI_MANIFEST, json.dumps(m).encode())
    return len(layers)


def stats(err):
    """(Dockerfiles, parses, image layer streams) from pin -v, or None."""
    m = re.search(r"^pin: (\d+) Dockerfiles?, (\d+) parses?$", err, re.M)
    s = re.search(r"^pin: image layers streamed (\d+) times?$", err, re.M)
    return (int(m.group(1)), int(m.group(2)), int(s.group(1))) if m and s else None


def run_checks(tmp, host, index):
    d = workdir(tmp, "ctx", DOCKERFILE.format(base=f"{host}/debian:1"))
    write(os.path.join(d, "requirements.in"), "base\n")
    write(os.path.join(d, "requirements.txt"), "")
    cache = os.path.join(tmp, "cache")
    r = lks(["pin", "-v", "--now", NOW, "--apt-closure", "--index-url", index], d, cache=cache,
            timeout=300)
    check(r.rc == 0, "cold pin of an image, apt words (--apt-closure) and requirements exits 0",
          r)
    text = read(os.path.join(d, "Dockerfile")).decode()
    lock = json.loads(read(os.path.join(d, "lockstep.lock")))
    req = read(os.path.join(d, "requirements.txt")).decode()
    check("@sha256:" in text and "once-app=1.0-1" in text, "the image and the word are pinned",
          text)
    check(any(e.get("closure_of") == "once-app" and e["package"] == "once-lib"
              for e in lock.get("apt", [])), "the closure is recorded", lock.get("apt"))
    check("base==" in req and "--hash=sha256:" in req and "Python 3.11.2" in req,
          "requirements.txt is generated for the base image's own Python", req)
    got = stats(r.err)
    check(got is not None and got[:2] == (1, 1), "the Dockerfile was parsed once for every kind",
          r.err)
    check(got is not None and got[2] == 1,
          "the base image's layers were streamed once for apt, --apt-closure and Python", r.err)
    r = lks(["update", "-v", "--now", NOW], d, cache=cache, timeout=300)
    check(r.rc == 0 and stats(r.err) == (1, 1, 0),
          "update parses it once too; warm, it streams no layer (the cache answers)", r)
    r = lks(["pin", "-v", "--now", NOW, "--refresh", "--apt-closure"], d, cache=cache,
            timeout=300)
    check(r.rc == 0 and stats(r.err) == (1, 1, 1),
          "with --refresh (the cache ignored) the layers are streamed once again", r)


def pages(idx):
    """Project page requests per project since the last call."""
    import urllib.request
    with urllib.request.urlopen(idx.url.replace("/simple/", "/_pages?reset"), timeout=10) as r:
        return json.loads(r.read())


def two_platforms(tmp, host, idx):
    """A two-platform base (amd64, arm64/v8): one index client serves both targets, so each
    project page is requested once per run, cold and warm (was: once per platform)."""
    pin_python.push_image(host, "py2", "1", [("amd64", None), ("arm64", "v8")],
                          [f"PYTHON_VERSION={pin_python.PYVER}"])
    d = workdir(tmp, "two", "FROM {h}/py2:1\nCOPY requirements.txt /tmp/r.txt\n"
                "RUN pip install -r /tmp/r.txt\n".format(h=host))
    write(os.path.join(d, "requirements.in"), pin_python.REQUIREMENTS_IN)
    write(os.path.join(d, "requirements.txt"), "")
    cache = os.path.join(tmp, "cache2")
    pages(idx)
    r = lks(["pin", "--now", NOW, "--index-url", idx.url], d, cache=cache, timeout=300)
    cold = pages(idx)
    req = read(os.path.join(d, "requirements.txt")).decode()
    check(r.rc == 0 and "linux/arm64/v8" in req and "linux/amd64" in req,
          "a two-platform base: requirements resolved for both platforms", r)
    check(cold and max(cold.values()) == 1, "cold: each project page requested once", cold)
    r = lks(["pin", "--now", NOW, "--index-url", idx.url], d, cache=cache, timeout=300)
    warm = pages(idx)
    check(r.rc == 0 and warm and max(warm.values()) == 1 and set(warm) == set(cold),
          "warm: each project page revalidated once, not once per platform", warm)


def main():
    need("apt-ftparchive", "dpkg-deb", "gpg", "xz", "docker-registry", "mmdebstrap")
    t0 = time.time()
    layout = pin_apt_build.base_layout()
    root = pin_python.pyfx.fixture_index()
    with tempfile.TemporaryDirectory(prefix="lks-once-") as tmp:
        gpg_env, key = make_key(os.path.join(tmp, "gnupg"))
        repo = os.path.join(tmp, "www", "repo")
        for suite, (codename, extra, pkgs) in SUITES.items():
            write_suite(repo, suite, codename, A, pkgs, extra, gpg_env)
        srv = Server(os.path.join(tmp, "www"))
        idx = pin_python.pyfx.Server(root)
        try:
            with registry.Registry("anon") as reg:
                push_base(reg.host, layout, f"http://127.0.0.1:{srv.port}/repo", key)
                run_checks(tmp, reg.host, idx.url)
                two_platforms(tmp, reg.host, idx)
        finally:
            idx.stop()
            srv.stop()
    finish("pin_once", t0)


if __name__ == "__main__":
    main()

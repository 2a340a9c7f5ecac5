#!/usr/bin/env python3
"""apt resolution from a base image's own apt configuration: a busybox-based image (two
layers: a whiteout, a symlinked os-release, one-line and deb822 sources with signed-by
keyrings in the image, preferences.d) pushed as a two-platform index to a real registry on
127.0.0.1, its sources pointing at the signed loopback apt repository of the differential test.
`lockstep apt-resolve --image REF` must choose what `apt-cache policy` chooses under a private
APT_CONFIG with the same sources and preferences, per platform (amd64 and arm64 natives); a
warm run works --offline; an image without apt is a clear error."""
import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "servers"))
import registry  # noqa: E402
from apt_differential import PREFS, SUITES, build_repo, names  # noqa: E402
from aptrepo import Server, apt_config, fail, need, policy_candidates, run  # noqa: E402

LKS = os.environ.get("LKS_BIN")


def layer(entries):
    """entries: (name, kind, data-or-target). A gzip'd tar, its digest and its diff_id."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, kind, val in entries:
            ti = tarfile.TarInfo(name)
            ti.mtime = 0
            if kind == "dir":
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
                t.addfile(ti)
            elif kind == "link":
                ti.type, ti.linkname = tarfile.SYMTYPE, val
                t.addfile(ti)
            else:
                ti.size, ti.mode = len(val), 0o755
                t.addfile(ti, io.BytesIO(val))
    data = raw.getvalue()
    gz = gzip.compress(data, mtime=0)
    return gz, "sha256:" + hashlib.sha256(data).hexdigest()


def push_image(host, repo, layers, archs, config=None):
    """An OCI index with one manifest per (arch, variant), all sharing the layers; config:
    more keys for each image config (history, config)."""
    descs = []
    for gz, _ in layers:
        descs.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                      "digest": registry._push_blob(host, repo, gz), "size": len(gz)})
    manifests = []
    for arch, variant in archs:
        cfg = {"architecture": arch, "os": "linux",
               "rootfs": {"type": "layers", "diff_ids": [d for _, d in layers]}}
        cfg.update(config or {})
        if variant:
            cfg["variant"] = variant
        cb = json.dumps(cfg).encode()
        m = json.dumps({"schemaVersion": 2, "mediaType": registry.OCI_MANIFEST,
                        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                   "digest": registry._push_blob(host, repo, cb),
                                   "size": len(cb)},
                        "layers": descs}).encode()
        d = registry._put_manifest(host, repo, f"{arch}{variant or ''}", registry.OCI_MANIFEST, m)
        plat = {"os": "linux", "architecture": arch}
        if variant:
            plat["variant"] = variant
        manifests.append({"mediaType": registry.OCI_MANIFEST, "digest": d, "size": len(m),
                          "platform": plat})
    idx = json.dumps({"schemaVersion": 2, "mediaType": registry.OCI_INDEX,
                      "manifests": manifests}).encode()
    return registry._put_manifest(host, repo, "1", registry.OCI_INDEX, idx)


def image_layers(uri, key):
    with open("/bin/busybox", "rb") as f:
        busybox = f.read()
    with open(key, "rb") as f:
        keydata = f.read()
    suites = [s for s in SUITES if s != "stable"]
    base = [("bin", "dir", None), ("bin/busybox", "file", busybox), ("bin/sh", "link", "busybox"),
            ("usr/bin/dpkg", "file", b"#!/bin/sh\n"), ("usr/bin/apt-get", "file", b"#!/bin/sh\n"),
            ("usr/lib/os-release", "file",
             b'PRETTY_NAME="Lockstep test"\nID=debian\nVERSION_ID="12"\n'
             b"VERSION_CODENAME=lkstest\n"),
            ("etc/os-release", "link", "../usr/lib/os-release"),
            ("etc/apt/sources.list.d/old.list", "file", f"deb {uri} gone main\n".encode())]
    top = [("etc/apt/sources.list", "file",
            f"# the release\ndeb [signed-by=/usr/share/keyrings/lks.gpg] {uri} stable main\n"
            .encode()),
           ("etc/apt/sources.list.d/.wh.old.list", "file", b""),
           ("etc/apt/sources.list.d/more.sources", "file",
            (f"Types: deb\nURIs: {uri}\nSuites: {' '.join(suites)}\nComponents: main\n"
             "Signed-By: /etc/apt/keyrings/lks.gpg\n").encode()),
           ("etc/apt/preferences.d/pins", "file", PREFS.encode()),
           ("etc/apt/preferences.d/ignored.txt", "file",
            b"Package: *\nPin: release a=stable\nPin-Priority: -1\n"),
           ("usr/share/keyrings/lks.gpg", "file", keydata),
           ("etc/apt/keyrings/lks.gpg", "file", keydata)]
    return [layer(base), layer(top)]


def lks(*args, env=None):
    return subprocess.run([LKS] + list(args), capture_output=True, text=True, env=env,
                          timeout=120)


def resolve(ref, lists, platform, reqs, env, extra=()):
    p = lks("apt-resolve", "--lists", lists, "--image", ref, "--platform", platform, *extra,
            *reqs, env=env)
    if p.returncode not in (0, 1):
        fail(f"apt-resolve --image exited {p.returncode}: {p.stderr}")
    out = {}
    for r, line in zip(reqs, p.stdout.splitlines()):
        f = line.split()
        out[r] = None if f[1] == "-" else f[1]
    if len(out) != len(reqs):
        fail(f"{len(out)} lines for {len(reqs)} requests:\n{p.stdout}\n{p.stderr}")
    return out


def differential(tmp, ref, uri, key, native, env):
    line = f"deb [signed-by={key}] {uri} stable main\n" + "".join(
        f"deb [signed-by={key}] {uri} {s} main\n" for s in SUITES if s != "stable")
    conf = os.path.join(tmp, "apt-" + native)
    aenv = apt_config(conf, line, PREFS, native=native, archs=(native,))
    run(["apt-get", "update"], env=aenv)
    reqs = names()
    want = policy_candidates(aenv, reqs)
    lists = os.path.join(conf, "state", "lists")
    plat = {"amd64": "linux/amd64", "arm64": "linux/arm64/v8"}[native]
    got = resolve(ref, lists, plat, reqs, env)
    bad = [f"  {r}: apt-cache policy {want[r]}, lockstep {got[r]}" for r in reqs
           if want[r] != got[r]]
    if bad:
        fail(f"{plat}: {len(bad)} differences\n" + "\n".join(bad))
    print(f"ok {plat}: {len(reqs)} packages agree with apt-cache policy")
    return lists, got


def check_image_cat(ref, env):
    p = lks("image-cat", ref, "/etc/os-release", env=env)
    if p.returncode != 0 or "VERSION_CODENAME=lkstest" not in p.stdout:
        fail(f"image-cat through a symlink: {p.returncode} {p.stdout} {p.stderr}")
    p = lks("image-cat", "--list", ref, "/etc/apt/sources.list.d/*", env=env)
    if p.returncode != 0 or "old.list" in p.stdout or "more.sources" not in p.stdout:
        fail(f"whiteout not honoured: {p.stdout} {p.stderr}")
    print("ok image-cat: symlink followed, whiteout honoured")


def check_errors(host, ref, lists, env):
    gz, diff = layer([("bin/busybox", "file", b"not really"), ("etc/passwd", "file", b"root\n")])
    d = push_image(host, "nobusy", [(gz, diff)], [("amd64", None)])
    p = lks("apt-resolve", "--lists", lists, "--image", f"{host}/nobusy@{d}", "hello", env=env)
    if p.returncode != 2 or "has no apt" not in p.stderr:
        fail(f"image without apt: {p.returncode} {p.stderr}")
    p = lks("apt-resolve", "--lists", lists, "--image", ref, "--platform", "linux/s390x",
            "hello", env=env)
    if p.returncode != 2 or "no platform linux/s390x" not in p.stderr:
        fail(f"missing platform: {p.returncode} {p.stderr}")
    print("ok errors: image without apt, missing platform")


def main():
    need("apt-ftparchive", "dpkg-deb", "gpg", "apt-cache", "apt-get", "xz", "docker-registry")
    if not LKS:
        fail("LKS_BIN is not set")
    with tempfile.TemporaryDirectory(prefix="lks-aptimage-") as tmp:
        repo, key = build_repo(tmp)
        srv = Server(os.path.join(tmp, "www"))
        try:
            with registry.Registry("anon") as reg:
                run_all(tmp, srv, reg, key)
        finally:
            srv.stop()


def run_all(tmp, srv, reg, key):
    uri = f"http://127.0.0.1:{srv.port}/repo"
    d = push_image(reg.host, "base", image_layers(uri, key),
                   [("amd64", None), ("arm64", "v8")])
    ref = f"{reg.host}/base@{d}"
    env = dict(os.environ, XDG_CACHE_HOME=os.path.join(tmp, "cache"))
    check_image_cat(ref, env)
    lists, got = differential(tmp, ref, uri, key, "amd64", env)
    differential(tmp, ref, uri, key, "arm64", env)
    check_errors(reg.host, ref, lists, env)
    reg.stop()
    warm = resolve(ref, lists, "linux/amd64", names(), env, ["--offline"])
    if warm != got:
        fail("warm --offline run differs")
    print("ok warm run: answered from the cache with the registry stopped")


if __name__ == "__main__":
    main()

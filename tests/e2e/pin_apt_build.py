#!/usr/bin/env python3
"""End-to-end: a Dockerfile pinned by `lockstep pin` really builds, and installs the pins.

The base is the Debian minbase of tests/e2e/diff_debian_fixtures.py (mmdebstrap, cached in
$LKS_BUILDDIR/fixture-cache/diff-debian), exported once as an OCI layout into
fixture-cache/apt-build and pushed to a docker-registry on 127.0.0.1 with one tiny extra
layer: /etc/apt/sources.list pointing at a signed apt repository served on 127.0.0.1 (a
release suite, an -updates suite and a NotAutomatic one) and the repository's key under
/etc/apt/keyrings. `lockstep pin` pins the image and the apt words; `buildah bud` (chroot
isolation, vfs) builds the pinned Dockerfile against the loopback registry and repository;
the versions dpkg installed (/var/lib/dpkg/status of the built image, read back through the
registry with `lockstep image-cat`) equal the pins, and so does the Candidate of
`apt-cache policy` run inside the build by the image's own apt.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from pinlib import BUILD, NOW, check, finish, lks, read, registry, workdir  # noqa: E402
from apt_image import layer  # noqa: E402
from aptrepo import Server, make_key, need, run, write_suite  # noqa: E402

STAMP = "1"
A = ("amd64",)

# suite -> (codename, extra Release fields, [(name, version, arch, provides)])
SUITES = {
    "stable": ("lksbuild", {}, [
        ("lks-tool", "1.0-1", "all", None), ("lks-lib", "2:1.0-1", "amd64", None),
        ("lks-tilde", "1.0~rc1-1", "all", None), ("lks-new", "1.0-1", "all", None)]),
    "stable-updates": ("lksbuild-updates", {}, [
        ("lks-tool", "1.1-1", "all", None), ("lks-tilde", "1.0-1", "all", None)]),
    "experimental": ("lksbuild-exp", {"NotAutomatic": "yes"}, [
        ("lks-tool", "9.0-1", "all", None), ("lks-new", "2.0-1", "all", None)]),
}
WANT = {"lks-tool": "1.1-1", "lks-lib": "2:1.0-1", "lks-tilde": "1.0-1", "lks-new": "1.0-1"}

DOCKERFILE = """\
FROM {base}
RUN apt-get update && apt-get install -y --no-install-recommends \\
    lks-tool{lks_tool} lks-lib{lks_lib} \\
    lks-tilde{lks_tilde} && apt-cache policy lks-tool lks-lib lks-tilde lks-new >/apt-policy.txt
RUN ["apt-get", "install", "-y", "lks-new{lks_new}"]
"""


def render(base, pins):
    return DOCKERFILE.format(base=base, **{n.replace("-", "_"): f"={v}" if pins else ""
                                           for n, v in WANT.items()})


def base_layout():
    """The cached minbase as an OCI layout (compressed once, reused by every run)."""
    import diff_debian_fixtures
    import diff_fixtures
    deb = os.path.join(BUILD, "fixture-cache", "diff-debian")
    if not (os.path.exists(os.path.join(deb, "stamp")) and
            read(os.path.join(deb, "stamp")).decode() == diff_debian_fixtures.STAMP_VERSION):
        diff_debian_fixtures.ensure()
    cache = os.path.join(BUILD, "fixture-cache", "apt-build")
    stamp = os.path.join(cache, "stamp")
    want = STAMP + "/" + diff_debian_fixtures.STAMP_VERSION
    layout = os.path.join(cache, "debian.oci")
    if os.path.exists(stamp) and read(stamp).decode() == want:
        return layout
    shutil.rmtree(cache, ignore_errors=True)
    os.makedirs(cache)
    diff_fixtures.Builder(deb).b("push", "localhost/debian:1", f"oci:{layout}:latest")
    with open(stamp, "w") as f:
        f.write(want)
    return layout


def blob(layout, digest):
    return read(os.path.join(layout, "blobs", "sha256", digest.split(":")[1]))


def push_base(host, layout, uri, key, env=(), suites=None):
    """The minbase plus a layer with the loopback sources and key; a single manifest. env:
    "NAME=value" strings added to the config's Env; suites: the repository's suites (default
    SUITES)."""
    suites = suites or SUITES
    idx = json.loads(read(os.path.join(layout, "index.json")))
    man = json.loads(blob(layout, idx["manifests"][0]["digest"]))
    cfg = json.loads(blob(layout, man["config"]["digest"]))
    src = "".join(f"deb [signed-by=/etc/apt/keyrings/lks.gpg] {uri} {s} main\n" for s in suites)
    gz, diff_id = layer([("etc/apt/sources.list", "file", src.encode()),
                         ("etc/apt/keyrings/lks.gpg", "file", read(key))])
    layers = []
    for d in man["layers"]:
        layers.append(dict(d, digest=registry._push_blob(host, "debian", blob(layout,
                                                                            d["digest"]))))
    layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                   "digest": registry._push_blob(host, "debian", gz), "size": len(gz)})
    cfg["rootfs"]["diff_ids"].append(diff_id)
    if env:
        cfg.setdefault("config", {}).setdefault("Env", []).extend(env)
    cfg.setdefault("history", []).append({"created_by": "lockstep test: loopback apt sources"})
    cb = json.dumps(cfg).encode()
    m = {"schemaVersion": 2, "mediaType": registry.OCI_MANIFEST,
         "config": {"mediaType": man["config"]["mediaType"],
                    "digest": registry._push_blob(host, "debian", cb), "size": len(cb)},
         "layers": layers}
    return registry._put_manifest(host, "debian", "1", registry.OCI_MANIFEST,
                                  json.dumps(m).encode())


def build_repo(tmp):
    gpg_env, key = make_key(os.path.join(tmp, "gnupg"))
    repo = os.path.join(tmp, "www", "repo")
    for suite, (codename, extra, pkgs) in SUITES.items():
        write_suite(repo, suite, codename, A, pkgs, extra, gpg_env)
    return key


def buildah(tmp, *args, timeout=300):
    cmd = ["buildah", "--storage-driver", "vfs", "--root", os.path.join(tmp, "root"),
           "--runroot", os.path.join(tmp, "run")] + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def dpkg_versions(status, names):
    got, cur = {}, None
    for line in status.splitlines():
        if line.startswith("Package: "):
            cur = line.split(": ", 1)[1]
        elif line.startswith("Version: ") and cur in names:
            got[cur] = line.split(": ", 1)[1]
    return got


def policy_candidates(text):
    got, cur = {}, None
    for line in text.splitlines():
        if line and not line.startswith(" "):
            cur = line.rstrip(":")
        elif line.strip().startswith("Candidate: "):
            got[cur] = line.split(": ", 1)[1]
    return got


def pin(tmp, host, base):
    d = workdir(tmp, "ctx", render(f"{host}/debian:1", False))
    t = time.time()
    r = lks(["pin", "--now", NOW], d, cache=os.path.join(tmp, "cache"))
    check(r.rc == 0, f"pin exits 0 ({time.time() - t:.1f} s)", r)
    text = read(os.path.join(d, "Dockerfile")).decode()
    want = render(f"{host}/debian:1@{base}", True)
    check(text == want, "pin: the image digest and every apt word pinned (bytes)",
          f"got:\n{text}\nwant:\n{want}")
    return d


def build_and_read(tmp, host, d):
    t = time.time()
    r = buildah(tmp, "bud", "--isolation", "chroot", "--tls-verify=false", "--no-cache",
                "--timestamp", "0", "-t", "localhost/app:1", d)
    check(r.returncode == 0, f"buildah bud of the pinned Dockerfile ({time.time() - t:.1f} s)",
          r.stdout[-3000:] + r.stderr[-3000:])
    if r.returncode:
        return None, None
    r = buildah(tmp, "push", "--tls-verify=false", "localhost/app:1", f"docker://{host}/app:1")
    check(r.returncode == 0, "buildah push of the built image", r.stderr[-2000:])
    st = lks(["image-cat", f"{host}/app:1", "/var/lib/dpkg/status"], d)
    pol = lks(["image-cat", f"{host}/app:1", "/apt-policy.txt"], d)
    check(st.rc == 0 and pol.rc == 0, "image-cat reads the built image", f"{st}\n{pol}")
    return st.out, pol.out


def main():
    need("apt-ftparchive", "dpkg-deb", "gpg", "xz", "docker-registry", "buildah", "mmdebstrap")
    if os.geteuid() != 0:
        print("SKIP: buildah chroot builds need root here")
        sys.exit(77)
    t0 = time.time()
    layout = base_layout()
    with tempfile.TemporaryDirectory(prefix="lks-aptbuild-") as tmp:
        key = build_repo(tmp)
        srv = Server(os.path.join(tmp, "www"))
        try:
            with registry.Registry("anon") as reg:
                base = push_base(reg.host, layout, f"http://127.0.0.1:{srv.port}/repo", key)
                d = pin(tmp, reg.host, base)
                status, policy = build_and_read(tmp, reg.host, d)
        finally:
            srv.stop()
            buildah(tmp, "rmi", "--all", "--force")
    if status is not None:
        got = dpkg_versions(status, WANT)
        check(got == WANT, "dpkg in the built image installed exactly the pins", got)
        cand = policy_candidates(policy)
        check(cand == WANT, "the image's own apt-cache policy Candidate equals the pins",
              policy)
    finish("pin_apt_build", t0)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""lockstep diff with docker:// sources: a real registry on 127.0.0.1 with Basic auth
(credentials from $DOCKER_CONFIG/config.json), images pushed with skopeo from the buildah
fixtures. Covers tags, digests, a multi-platform index, mixed registry/layout pairs, bad
credentials, a manifest of 1,025 layers (past the layer limit, named so) and a blob corrupted
in the registry's storage (hard error)."""
import base64
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "servers"))
import diff_fixtures  # noqa: E402

LKS = os.environ["LKS_BIN"]
FAILS = []


def check(cond, what):
    if not cond:
        FAILS.append(what)
        print("FAIL: " + what, flush=True)


def push(host, src, dst, all_=False):
    cmd = ["skopeo", "copy", "--dest-tls-verify=false", "--dest-creds", "alice:s3cret"]
    if all_:
        cmd.append("--all")
    subprocess.run(cmd + [src, "docker://%s/%s" % (host, dst)], check=True,
                   capture_output=True)


def lockstep(env, *args):
    r = subprocess.run([LKS, "diff", "--format", "json"] + list(args), capture_output=True,
                       text=True, env=env, timeout=120)
    rep = json.loads(r.stdout) if r.returncode in (0, 1) else None
    return r.returncode, rep, r.stderr


def paths(rep):
    return {f["path"] for p in rep["platforms"] for l in p["layers"] for f in l["files"]}


def docker_config(host, password):
    d = tempfile.mkdtemp(prefix="lks-dockercfg-")
    auth = base64.b64encode(("alice:%s" % password).encode()).decode()
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump({"auths": {host: {"auth": auth}}}, f)
    env = dict(os.environ, DOCKER_CONFIG=d)
    return d, env


def cases(reg, img):
    h = reg.host
    for name in ("date-a", "date-b", "same-a"):
        push(h, "oci:%s/%s.oci:latest" % (img, name), "diff/%s:%s" % tuple(name.split("-")))
    push(h, "oci:%s/multi-a.oci:latest" % img, "diff/multi:a", all_=True)
    cfgdir, env = docker_config(h, "s3cret")
    rc, rep, err = lockstep(env, "docker://%s/diff/date:a" % h, "docker://%s/diff/date:b" % h)
    check(rc == 1 and paths(rep) == {"f"}, "tags: exit %d %s" % (rc, err))
    rc, rep, err = lockstep(env, "docker://%s/diff/same:a" % h, "oci:%s/same-b.oci" % img)
    check(rc == 0, "registry vs layout: exit %d %s" % (rc, err))
    with open(os.path.join(img, "date-b.oci", "index.json")) as f:
        dig = json.load(f)["manifests"][0]["digest"]
    rc, rep, err = lockstep(env, "oci:%s/date-a.oci" % img, "docker://%s/diff/date@%s" % (h, dig))
    check(rc == 1 and paths(rep) == {"f"}, "by digest: exit %d %s" % (rc, err))
    rc, rep, err = lockstep(env, "docker://%s/diff/multi:a" % h, "oci:%s/multi-b.oci" % img)
    plats = {p["platform"]: p["differs"] for p in rep["platforms"]} if rep else None
    check(rc == 1 and plats == {"linux/amd64": False, "linux/arm64/v8": True},
          "index: exit %d %s %s" % (rc, plats, err))
    bad_dir, bad_env = docker_config(h, "wrong")
    rc, rep, err = lockstep(bad_env, "docker://%s/diff/date:a" % h, "oci:%s/date-b.oci" % img)
    check(rc == 2, "bad credentials: exit %d" % rc)
    too_many_layers(reg, img, env)
    corrupt(reg, img, env)
    shutil.rmtree(cfgdir)
    shutil.rmtree(bad_dir)


def too_many_layers(reg, img, env):
    """A manifest of 1,025 layers (one of date-a's blobs, repeated) is refused as past the
    layer limit, not as a malformed manifest."""
    with open(os.path.join(img, "date-a.oci", "index.json")) as f:
        md = json.load(f)["manifests"][0]["digest"]
    with open(os.path.join(img, "date-a.oci", "blobs", "sha256", md[7:])) as f:
        man = json.load(f)
    man["layers"] = [man["layers"][-1]] * 1025
    body = json.dumps(man).encode()
    auth = base64.b64encode(b"alice:s3cret").decode()
    req = urllib.request.Request(
        "http://%s/v2/diff/date/manifests/many" % reg.host, data=body, method="PUT",
        headers={"Content-Type": man.get("mediaType",
                                         "application/vnd.oci.image.manifest.v1+json"),
                 "Authorization": "Basic " + auth})
    urllib.request.urlopen(req, timeout=30).close()
    rc, rep, err = lockstep(env, "docker://%s/diff/date:many" % reg.host,
                            "oci:%s/date-b.oci" % img)
    check(rc == 2 and "has 1025 layers, which exceeds the layer limit of 1024" in err,
          "1,025 layers: exit %d: %s" % (rc, err.strip()))


def corrupt(reg, img, env):
    """Alter the stored bytes of date-a's layer: the registry serves them, lockstep refuses."""
    with open(os.path.join(img, "date-a.oci", "index.json")) as f:
        md = json.load(f)["manifests"][0]["digest"]
    with open(os.path.join(img, "date-a.oci", "blobs", "sha256", md[7:])) as f:
        layer = json.load(f)["layers"][-1]["digest"][7:]
    data = glob.glob(os.path.join(reg.dir, "storage", "**", layer, "data"), recursive=True)
    check(len(data) == 1, "corrupt: blob %s not found in the registry storage" % layer)
    if len(data) != 1:
        return
    with open(data[0], "r+b") as f:
        f.seek(-6, os.SEEK_END)
        b = f.read(1)
        f.seek(-6, os.SEEK_END)
        f.write(bytes([b[0] ^ 0xFF]))
    rc, rep, err = lockstep(env, "docker://%s/diff/date:a" % reg.host,
                            "oci:%s/date-b.oci" % img)
    check(rc == 2 and "digest" in err, "corrupt blob: exit %d: %s" % (rc, err.strip()))


def main():
    for tool in ("docker-registry", "skopeo", "htpasswd"):
        if not shutil.which(tool):
            print("SKIP: %s not installed" % tool)
            return 77
    img = diff_fixtures.ensure()
    import registry  # tests/servers/registry.py
    reg = registry.Registry(mode="basic").start()
    try:
        cases(reg, img)
    finally:
        reg.stop()
    print("%d failures" % len(FAILS))
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())

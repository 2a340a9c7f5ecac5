#!/usr/bin/python3
"""End-to-end: `lockstep resolve` against real docker-registry instances on 127.0.0.1.

Ground truth is what skopeo reported when the images were pushed (tests/servers/registry.py
facts). Covers single-platform OCI and Docker manifests, an OCI index, a Docker manifest list,
an index with an attestation manifest, tag+digest references, a missing tag, anonymous,
htpasswd Basic (docker config.json: auth, username/password, credential helper) and Bearer
token registries (anonymous and credentialed), wrong credentials, a lying body through the
fault proxy, and an unreachable registry.
"""
import base64
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

SRC = os.environ.get("LKS_SRCDIR", os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("LKS_BUILDDIR", os.path.join(SRC, "build"))
BIN = os.environ.get("LKS_BIN", os.path.join(BUILD, "cli", "lockstep"))
sys.path.insert(0, os.path.join(SRC, "tests", "servers"))

import registry  # noqa: E402

FAILURES = []
PASSWORD = "s3cret-Pa55"


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        FAILURES.append(what)


def resolve(refs, docker_config=None, extra_env=None):
    env = dict(os.environ, DOCKER_CONFIG=docker_config or "/nonexistent-lockstep-dc")
    env.update(extra_env or {})
    r = subprocess.run([BIN, "resolve", "--json"] + refs, capture_output=True, text=True,
                       env=env, timeout=120)
    try:
        out = json.loads(r.stdout) if r.stdout.strip() else []
    except json.JSONDecodeError:
        out = []
    return r.returncode, out, r.stderr


def same_as_facts(res, fact):
    want = [(p["os"], p["architecture"], p["variant"], p["digest"], p["created"])
            for p in fact["platforms"]]
    got = [(p["os"], p["architecture"], p["variant"], p["digest"], p["created"])
           for p in res.get("platforms", [])]
    newest = max(p["created"] for p in fact["platforms"])
    return (res.get("digest") == fact["digest"] and got == want and
            res.get("media_type") == fact["media_type"] and res.get("created") == newest)


def write_config(d, auths=None, helpers=None):
    os.makedirs(d, exist_ok=True)
    cfg = {"auths": auths or {}}
    if helpers:
        cfg["credHelpers"] = helpers
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f)
    return d


def b64(s):
    return base64.b64encode(s.encode()).decode()


def no_secret(*texts):
    return all(PASSWORD not in t and b64(f"alice:{PASSWORD}") not in t for t in texts)


def test_anonymous(storage, facts, tmp):
    with registry.Registry("anon", storage=storage) as reg:
        h = reg.host
        names = ["single:1", "single:docker", "multi:1", "list:1", "multi:att"]
        rc, out, err = resolve([f"{h}/{n}" for n in names])
        check(rc == 0 and len(out) == len(names), f"anon: resolve all seeded refs (rc={rc} {err})")
        for n, res in zip(names, out):
            check(same_as_facts(res, facts[n]), f"anon: {n} digest/platforms/created match "
                  f"skopeo ({res.get('digest')} vs {facts[n]['digest']})")
        att = facts["multi:att"]["digest"]
        cur = facts["multi:1"]["digest"]
        rc, out, err = resolve([f"{h}/multi:1@{att}", f"{h}/multi@{cur}",
                                f"{h}/multi:1@{cur}"])
        check(rc == 0 and out[0]["digest"] == att and out[0]["tag_moved"] and
              out[0]["tag_digest"] == cur, "anon: tag+digest keeps the digest, reports move")
        check(rc == 0 and out[1]["digest"] == cur and out[1]["tag"] is None,
              "anon: digest-only reference verified")
        check(rc == 0 and not out[2]["tag_moved"], "anon: tag+digest unchanged, no move")
        rc, out, err = resolve([f"{h}/multi:nope", f"{h}/single:1"])
        check(rc == 2 and f"cannot resolve '{h}/multi:nope': tag not found in registry "
              f"'{h}'" in err, f"anon: missing tag is a clear 404 message ({err.strip()})")
        check(len(out) == 2 and out[1].get("digest") == facts["single:1"]["digest"],
              "anon: one bad ref does not hide the others")
        rc, out, err = resolve([f"{h}/multi@sha256:" + "0" * 64])
        check(rc == 2 and "not found in registry" in err, "anon: unknown digest is not found")
        test_corrupt(reg, facts, tmp)


def test_corrupt(reg, facts, tmp):
    pf = os.path.join(tmp, "fault.port")
    rules = json.dumps([{"path": "/manifests/sha256:", "method": "GET", "fault": "corrupt"}])
    proxy = subprocess.Popen([sys.executable, os.path.join(SRC, "tests", "servers",
                                                           "faultproxy.py"),
                              "--upstream", f"http://{reg.host}", "--port-file", pf,
                              "--rules", rules], stdout=subprocess.DEVNULL)
    try:
        deadline = time.time() + 20
        while not os.path.exists(pf) and time.time() < deadline:
            time.sleep(0.05)
        with open(pf) as f:
            port = f.read().split()[-1]
        rc, out, err = resolve([f"127.0.0.1:{port}/multi:1"])
        check(rc == 2 and "does not match its digest" in err,
              f"fault proxy: corrupted manifest body is rejected ({err.strip()})")
    finally:
        os.kill(proxy.pid, signal.SIGTERM)
        proxy.wait()


def test_basic(storage, facts, tmp):
    with registry.Registry("basic", password=PASSWORD, storage=storage) as reg:
        h = reg.host
        want = facts["multi:1"]["digest"]
        rc, out, err = resolve([f"{h}/multi:1"])
        check(rc == 2 and "requires credentials" in err and f"'{h}'" in err,
              f"basic: no credentials is a clear auth error ({err.strip()})")
        dc = write_config(os.path.join(tmp, "dc-auth"), {h: {"auth": b64(f"alice:{PASSWORD}")}})
        rc, out, err = resolve([f"{h}/multi:1", f"{h}/single:1"], dc)
        check(rc == 0 and out[0]["digest"] == want, f"basic: config.json auth works ({err})")
        dc = write_config(os.path.join(tmp, "dc-userpass"),
                          {f"http://{h}/v1/": {"username": "alice", "password": PASSWORD}})
        rc, out, err = resolve([f"{h}/multi:1"], dc)
        check(rc == 0 and out[0]["digest"] == want, f"basic: username/password works ({err})")
        dc = write_config(os.path.join(tmp, "dc-wrong"), {h: {"auth": b64("alice:wrong")}})
        rc, out, err = resolve([f"{h}/multi:1"], dc)
        check(rc == 2 and "401" in err and f"'{h}'" in err,
              f"basic: wrong password gives 401 naming the registry ({err.strip()})")
        bindir = os.path.join(tmp, "bin")
        os.makedirs(bindir, exist_ok=True)
        helper = os.path.join(bindir, "docker-credential-lkstest")
        with open(helper, "w") as f:
            f.write("#!/bin/sh\nread -r url || true\n"
                    f"printf '{{\"ServerURL\":\"%s\",\"Username\":\"alice\","
                    f"\"Secret\":\"{PASSWORD}\"}}' \"$url\"\n")
        os.chmod(helper, 0o755)
        dc = write_config(os.path.join(tmp, "dc-helper"), helpers={h: "lkstest"})
        rc, out, err = resolve([f"{h}/multi:1"], dc,
                               {"PATH": bindir + ":" + os.environ.get("PATH", "")})
        check(rc == 0 and out[0]["digest"] == want, f"basic: credential helper works ({err})")
        rc, out, err = resolve([f"{h}/multi:1"], dc)
        check(rc == 2 and "docker-credential-lkstest" in err and no_secret(err),
              f"basic: missing helper is a clear error ({err.strip()})")


def count_token_requests(path):
    if not os.path.exists(path):
        return 0
    with open(path) as f:
        return sum(1 for line in f if "/token?" in line)


def test_token(storage, facts, tmp):
    log = os.path.join(tmp, "token.log")
    with registry.Registry("token", storage=storage, token_field="access_token",
                           token_log=log) as reg:
        h = reg.host
        rc, out, err = resolve([f"{h}/multi:1", f"{h}/list:1", f"{h}/single:1",
                                f"{h}/single:docker"])
        ok = rc == 0 and [o["digest"] for o in out] == [facts[k]["digest"] for k in
                                                         ("multi:1", "list:1", "single:1",
                                                          "single:docker")]
        check(ok, f"token: anonymous Bearer flow resolves 4 refs (access_token field) ({err})")
        n = count_token_requests(log)
        check(n == 3, f"token: one token per repository scope, cached across phases ({n})")
    with registry.Registry("token-basic", password=PASSWORD, storage=storage) as reg:
        h = reg.host
        dc = write_config(os.path.join(tmp, "dc-token"), {h: {"auth": b64(f"alice:{PASSWORD}")}})
        rc, out, err = resolve([f"{h}/multi:1"], dc)
        check(rc == 0 and out[0]["digest"] == facts["multi:1"]["digest"],
              f"token: credentialed token flow ({err})")
        dc = write_config(os.path.join(tmp, "dc-token-bad"), {h: {"auth": b64("alice:nope")}})
        rc, out, err = resolve([f"{h}/multi:1"], dc)
        check(rc == 2 and "refused the credentials" in err and f"'{h}'" in err and
              no_secret(out and json.dumps(out) or "", err),
              f"token: wrong credentials are an auth error naming the registry ({err.strip()})")


def test_unreachable_and_invalid():
    port = registry.free_port()
    rc, out, err = resolve([f"127.0.0.1:{port}/x:1"])
    check(rc == 2 and f"cannot reach registry '127.0.0.1:{port}'" in err,
          f"unreachable registry named in the message ({err.strip()})")
    rc, out, err = resolve(["Not/Valid:ref"])
    check(rc == 2 and "invalid reference 'Not/Valid:ref'" in err, f"invalid ref ({err.strip()})")


def main():
    for tool in ("docker-registry", "buildah", "skopeo", "htpasswd"):
        if subprocess.run(["sh", "-c", f"command -v {tool}"], capture_output=True).returncode:
            print(f"SKIP: {tool} not installed")
            return 77
    t0 = time.time()
    storage, facts = registry.seed(BUILD)
    print(f"seeded in {time.time() - t0:.1f}s", flush=True)
    with tempfile.TemporaryDirectory(prefix="lks-e2e-registry-") as tmp:
        test_anonymous(storage, facts, tmp)
        test_basic(storage, facts, tmp)
        test_token(storage, facts, tmp)
        test_unreachable_and_invalid()
    print(f"total {time.time() - t0:.1f}s")
    if FAILURES:
        print(f"{len(FAILURES)} check(s) failed:\n  " + "\n  ".join(FAILURES))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

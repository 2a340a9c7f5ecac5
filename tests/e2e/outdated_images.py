#!/usr/bin/python3
"""End-to-end: `lockstep outdated` and `lockstep update` for images against a real
docker-registry on 127.0.0.1, with the clock set by --now (no sleeping).

Story: pin a Dockerfile at T0; push a new digest under the same tag (config created T0+4d);
`outdated` at T0+10d flags nothing (behind 6 days), at T0+40d flags the moved pin (behind) and
both pins (not re-checked); a policy hold excuses the moved pin until it expires; `update`
(dry run, --package, --only, --cooldown) moves exactly that pin, writes the PR summary, and the
rewritten Dockerfile builds with buildah; a second `update` writes nothing. Then the tag is
deleted (outdated: vanished with the way out; update: exit 2, nothing written), and a
hand-broken lock or policy is exit 2 with nothing written.
"""
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request

from pinlib import (BUILD, check, finish, lks, need_tools, read, registry, snapshot, workdir,
                    write)

T0 = "2026-11-01T00:00:00Z"
DAY = 86400
T0_EPOCH = 1793491200  # 2026-11-01T00:00:00Z
NEW_CREATED = "2026-11-05T00:00:00Z"


def at(days):
    return f"@{T0_EPOCH + days * DAY}"


def skopeo_copy(src, dst):
    subprocess.run(["skopeo", "copy", "--src-tls-verify=false", "--dest-tls-verify=false",
                    f"docker://{src}", f"docker://{dst}"], check=True, capture_output=True)


def get_blob(host, repo, digest):
    with urllib.request.urlopen(f"http://{host}/v2/{repo}/blobs/{digest}") as r:
        return r.read()


def push_new_digest(host, repo, tag, created):
    """Same layers, a config with another `created`: a new digest under repo:tag."""
    m = json.loads(registry._get_manifest(host, repo, tag))
    cfg = json.loads(get_blob(host, repo, m["config"]["digest"]))
    cfg["created"] = created
    cfg.setdefault("config", {}).setdefault("Labels", {})[
        "org.opencontainers.image.source"] = "https://example.org/app"
    data = json.dumps(cfg).encode()
    m["config"]["digest"] = registry._push_blob(host, repo, data)
    m["config"]["size"] = len(data)
    body = json.dumps(m).encode()
    return registry._put_manifest(host, repo, tag, m["mediaType"], body)


def delete_tag(reg, repo, tag, digest):
    """Delete the manifest the tag points to (distribution drops its tags with it); fall back
    to removing the tag from the storage directory."""
    req = urllib.request.Request(f"http://{reg.host}/v2/{repo}/manifests/{digest}",
                                 method="DELETE")
    try:
        urllib.request.urlopen(req).close()
    except OSError:
        pass
    tags = os.path.join(reg.dir, "storage", "docker", "registry", "v2", "repositories", repo,
                        "_manifests", "tags", tag)
    shutil.rmtree(tags, ignore_errors=True)


def outdated_json(d, now, extra=()):
    r = lks(["outdated", "--now", now, "--format", "json"] + list(extra), d)
    try:
        j = json.loads(r.out)
        return r, {p["name"].split("/")[-1]: p for p in j["pins"]}, j
    except (ValueError, KeyError) as e:
        return r, {}, {"error": str(e)}


def test_outdated(d, h, d1, d2):
    r, pins, j = outdated_json(d, at(10))
    app = pins.get("app:1", {})
    check(r.rc == 0 and app.get("state") == "newer" and app.get("latest") == d2 and
          app.get("behind_since") == NEW_CREATED and app.get("flags") == [] and
          pins.get("single:docker", {}).get("state") == "current" and j.get("flagged") == 0,
          "outdated +10d: newer digest seen (behind since its created), nothing flagged", r)
    r = lks(["outdated", "--now", at(10)], d)
    check(r.rc == 0 and r.out == "2 pins, none outdated (30-day window)\n",
          "outdated +10d text: one summary line, exit 0", r)
    r, pins, j = outdated_json(d, at(40))
    check(r.rc == 1 and pins["app:1"]["flags"] == ["behind", "unchecked"] and
          pins["app:1"]["behind_days"] == 36 and pins["app:1"]["checked_days"] == 40 and
          pins["single:docker"]["flags"] == ["unchecked"] and j["flagged"] == 2,
          "outdated +40d: moved pin behind + unchecked, the other unchecked (exit 1)", r)
    r = lks(["outdated", "--now", at(40)], d)
    want = [f"IMAGE  {h}/app:1          pinned 2026-11-01 (40 days)  newer digest since "
            "2026-11-05; not re-checked for 40 days  Dockerfile:1",
            f"IMAGE  {h}/single:docker  pinned 2026-11-01 (40 days)  not re-checked for 40 "
            "days  Dockerfile:2",
            "2 of 2 pins outdated (30-day window)"]
    check(r.rc == 1 and r.out.splitlines() == want, "outdated +40d text rows", r)
    r, pins, _ = outdated_json(d, at(10), ["--window", "3d"])
    check(r.rc == 1 and pins["app:1"]["flags"] == ["behind", "unchecked"],
          "outdated --window 3d at +10d flags the 6-day-old move", r)
    r, pins, _ = outdated_json(d, at(40), ["--only", "apt"])
    check(r.rc == 0 and pins == {}, "outdated --only apt: no image rows", r)


def test_policy(d, h):
    pol = os.path.join(d, "lockstep.policy.json")
    write(pol, json.dumps({"policy_version": 1, "rules": [
        {"name": "*/app:1", "kind": "image", "action": "hold", "until": "2026-12-31",
         "reason": "waiting for the 2.0 migration"},
        {"name": "nothing-matches-this", "action": "ignore", "reason": "stale rule"}]}))
    r, pins, _ = outdated_json(d, at(40))
    check(r.rc == 1 and pins["app:1"]["flags"] == ["unchecked"] and
          pins["app:1"]["policy"]["action"] == "hold" and "matches no pin" in r.err,
          "an active hold excuses the move (not the re-check); unused rule warned", r)
    r, pins, _ = outdated_json(d, at(70))
    check(r.rc == 1 and "hold-expired" in pins["app:1"]["flags"] and
          "behind" in pins["app:1"]["flags"], "an expired hold is itself flagged", r)
    before = snapshot(d)
    r = lks(["update", "--now", at(40)], d)
    check(r.rc == 0 and "nothing to update" in r.out and
          read(os.path.join(d, "Dockerfile")) == before["Dockerfile"][0] and
          "held until 2026-12-31" in r.err, "update leaves a held pin and says why", r)
    for name, doc, msg in (
            ("unknown key", {"rules": [{"name": "x", "action": "hold", "untill": "2026-12-01",
                                        "reason": "r"}]}, "rules[0]: unknown key 'untill'"),
            ("bad date", {"rules": [{"name": "x", "action": "hold", "until": "2026-02-30x",
                                     "reason": "r"}]}, "'until' is not a date")):
        write(pol, json.dumps(doc))
        before = snapshot(d)
        r1 = lks(["outdated", "--now", at(40)], d)
        r2 = lks(["update", "--now", at(40)], d)
        check(r1.rc == 2 and r2.rc == 2 and msg in r1.err and msg in r2.err and
              "lockstep.policy.json" in r1.err and snapshot(d) == before,
              f"policy with a {name}: exit 2 naming it, nothing written", f"{r1}\n{r2}")
    os.unlink(pol)


def test_update(d, h, d1, d2):
    before = snapshot(d)
    r = lks(["update", "--dry-run", "--now", at(40)], d)
    check(r.rc == 0 and snapshot(d) == before and
          f"Dockerfile:1: updated image '{h}/app:1@{d1}' {d1} -> {d2}" in r.out and
          "1 pin updated" in r.out and "dry run" in r.out, "update --dry-run lists, writes nothing", r)
    for args, what in ((["--package", "*/single:*"], "--package of another image"),
                       (["--only", "apt"], "--only apt"),
                       (["--cooldown", "60d"], "--cooldown 60d (new digest is 35 days old)")):
        r = lks(["update", "--dry-run", "--now", at(40)] + args, d)
        check(r.rc == 0 and "nothing to update" in r.out and snapshot(d) == before,
              f"update {what}: nothing to update", r)
    r = lks(["update", "--dry-run", "--now", at(40), "--cooldown", "60d"], d)
    check("within the cooldown" in r.err and d2 in r.err, "the cooldown says what it kept", r)
    r = lks(["update", "--now", at(40), "--summary", "markdown"], d)
    df = read(os.path.join(d, "Dockerfile")).decode()
    want_df = before["Dockerfile"][0].decode().replace(d1, d2)
    check(r.rc == 0 and df == want_df, "update rewrites exactly the moved digest", r)
    lock = json.loads(read(os.path.join(d, "lockstep.lock")))
    app = [i for i in lock["images"] if i["line"] == 1][0]
    check(app["digest"] == d2 and app["published_at"] == NEW_CREATED and
          app["resolved_at"] == "2026-12-11T00:00:00Z", "lock: new digest, created, resolved", lock)
    want_md = ("## lockstep update\n\n1 pin updated: 1 image.\n\n### Images\n\n"
               "| Image | Old | New | Published | Age | Where |\n|---|---|---|---|---|---|\n"
               f"| [`{h}/app:1`](https://example.org/app) | `{d1[:19]}` | `{d2[:19]}` | 2026-11-05 | 36 days | "
               "`Dockerfile`:1 |\n")
    check(r.out == want_md, "update --summary markdown: the PR body, exactly", r)
    check("updated image" in r.err, "with --summary the human list goes to stderr", r)
    after = snapshot(d)
    r = lks(["update", "--now", at(40), "--summary", "json"], d)
    j = json.loads(r.out) if r.rc == 0 else {}
    check(r.rc == 0 and snapshot(d) == after and j == {"count": 0, "updates": [], "version": 1}
          and "nothing to update" in r.err, "a second update changes no byte", r)
    r = lks(["outdated", "--now", at(40)], d)
    check(r.rc == 0, "outdated after update: nothing flagged", r)


def test_buildah(d, h, tmp):
    b = os.path.join(tmp, "buildah")
    cmd = ["buildah", "--storage-driver", "vfs", "--root", os.path.join(b, "root"), "--runroot",
           os.path.join(b, "run"), "bud", "--isolation", "chroot", "--tls-verify=false",
           "--no-cache", "-t", "localhost/updated:1", d]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    check(p.returncode == 0, "the updated Dockerfile builds with buildah", p.stderr[-2000:])
    shutil.rmtree(b, ignore_errors=True)


def test_vanished(d, h, reg, d2):
    delete_tag(reg, "app", "1", d2)
    r, pins, _ = outdated_json(d, at(41))
    app = pins.get("app:1", {})
    check(r.rc == 1 and app.get("state") == "vanished" and "vanished" in app.get("flags", [])
          and "pin another tag" in app.get("action", ""),
          "tag deleted: outdated reports it vanished with the way out", r)
    r = lks(["outdated", "--now", at(41)], d)
    check(r.rc == 1 and "the tag no longer exists in the registry: pin another tag" in r.out,
          "tag deleted: text row", r)
    before = snapshot(d)
    r = lks(["update", "--now", at(41)], d)
    check(r.rc == 2 and "no longer exists" in r.err and "lockstep.policy.json" in r.err and
          snapshot(d) == before, "tag deleted: update exits 2, nothing written", r)


def test_bad_lock(d):
    lockp = os.path.join(d, "lockstep.lock")
    lock = json.loads(read(lockp))
    lock["images"][0]["digest"] = "sha256:1234"
    write(lockp, json.dumps(lock))
    before = snapshot(d)
    r1 = lks(["outdated", "--now", at(41)], d)
    r2 = lks(["update", "--now", at(41)], d)
    check(r1.rc == 2 and r2.rc == 2 and "images[0]" in r1.err and "images[0]" in r2.err and
          snapshot(d) == before, "hand-broken lock: exit 2 naming the entry, nothing written",
          f"{r1}\n{r2}")
    r = lks(["outdated", "--lock", "missing.lock"], d)
    check(r.rc == 2 and "missing.lock" in r.err, "missing lock: exit 2", r)


def main():
    need_tools()
    t0 = time.time()
    storage, facts = registry.seed(os.path.abspath(BUILD))
    tmp = tempfile.mkdtemp(prefix="lks-outdated-")
    try:
        with registry.Registry("anon", storage=storage) as reg:
            h = reg.host
            skopeo_copy(f"{h}/single:1", f"{h}/app:1")
            d1 = facts["single:1"]["digest"]
            d = workdir(tmp, "proj", f"FROM {h}/app:1\nCOPY --from={h}/single:docker "
                                     "/etc/passwd /passwd2\nCOPY hello /hello\n")
            write(os.path.join(d, "hello"), "hello\n")
            r = lks(["pin", "--now", T0], d)
            check(r.rc == 0, "pin at T0", r)
            d2 = push_new_digest(h, "app", "1", NEW_CREATED)
            test_outdated(d, h, d1, d2)
            test_policy(d, h)
            test_update(d, h, d1, d2)
            test_buildah(d, h, tmp)
            test_vanished(d, h, reg, d2)
            test_bad_lock(d)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    finish("outdated_images", t0)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""End-to-end: `lockstep check` and `lockstep pin` on Dockerfiles against a real docker-registry
on 127.0.0.1 (seeded by tests/servers/registry.py; digests compared with skopeo's facts).

Covers: check on an unpinned multi-stage Dockerfile (text and JSON, exact lines); pin inserts
exactly the digests (byte comparison), index digest for an OCI index and a Docker list, lock
contents (version, sort order, resolved_at == --now, published_at, per-platform digests);
check after pin; pin is idempotent (same cache and fresh cache); a file with nothing to pin
is untouched; CRLF is kept; ARG without default; --offline with an empty and a filled cache;
a pinned digest the registry does not have.
"""
import json
import os
import shutil
import subprocess
import tempfile
import time

from pinlib import (NOW, BIN, BUILD, check, finish, lks, need_tools, read, registry, snapshot,
                    workdir, write)

TMPL = """\
# syntax=docker/dockerfile:1
ARG BASE={H}/single:1
FROM --platform=linux/amd64 {H}/multi:1{d_multi} AS build
RUN echo hello > /hello
FROM ${{BASE}}{d_single} AS second
COPY --from={H}/single:docker{d_docker} /bin/busybox /bb
RUN --mount=type=bind,from={H}/list:1{d_list},target=/m ls /m
COPY --from=build /hello /hello
FROM scratch
COPY --from=second /bb /bb
"""


def render(h, facts, pinned):
    def d(key):
        return "@" + facts[key]["digest"] if pinned else ""
    return TMPL.format(H=h, d_multi=d("multi:1"), d_single=d("single:1"),
                       d_docker=d("single:docker"), d_list=d("list:1"))


def expected_check_lines(h):
    return [f"Dockerfile:3: image '{h}/multi:1' is not pinned to a digest",
            f"Dockerfile:5: image '{h}/single:1' is not pinned to a digest",
            f"Dockerfile:6: image '{h}/single:docker' (COPY --from) is not pinned to a digest",
            f"Dockerfile:7: image '{h}/list:1' (RUN --mount from) is not pinned to a digest"]


def test_check_unpinned(tmp, h, facts):
    d = workdir(tmp, "check", render(h, facts, False))
    before = snapshot(d)
    r = lks(["check"], d)
    want = expected_check_lines(h)
    check(r.rc == 1 and r.out.splitlines() == want and r.err == "",
          "check on an unpinned multi-stage Dockerfile: exit 1 and the exact findings", r)
    r = lks(["check", "--format", "json"], d)
    try:
        j = json.loads(r.out)
        got = [f"{f['file']}:{f['line']}: {f['message']}" for f in j["findings"]]
        codes = {f["code"] for f in j["findings"]}
        ok = r.rc == 1 and got == want and j["errors"] == 4 and codes == {"image-unpinned"}
    except (ValueError, KeyError, TypeError) as e:
        ok, r.err = False, r.err + f"\n(json: {e})"
    check(ok, "check --format json parses and has the same findings", r)
    check(snapshot(d) == before, "check writes nothing")


def check_lock(lock_bytes, h, facts):
    """Every expectation on lockstep.lock after pinning TMPL; returns a list of problems."""
    try:
        lock = json.loads(lock_bytes)
    except ValueError as e:
        return [f"lock is not JSON: {e}"]
    bad = []
    if lock.get("lockfile_version") != 1:
        bad.append(f"lockfile_version {lock.get('lockfile_version')!r}")
    if lock_bytes.decode() != json.dumps(lock, indent=2, sort_keys=True) + "\n" and \
            list(lock) != sorted(lock):
        bad.append("lock keys not sorted")
    imgs = lock.get("images", [])
    want = [(3, "from", "multi:1"), (5, "from", "single:1"), (6, "copy-from", "single:docker"),
            (7, "mount-from", "list:1")]
    if [(i.get("line"), i.get("kind")) for i in imgs] != [(w[0], w[1]) for w in want]:
        bad.append(f"images (line, kind): {[(i.get('line'), i.get('kind')) for i in imgs]}")
        return bad
    for img, (line, _, key) in zip(imgs, want):
        f = facts[key]
        exp_plat = sorted((p["os"], p["architecture"], p["variant"], p["digest"])
                          for p in f["platforms"])
        got_plat = sorted((p.get("os"), p.get("architecture"), p.get("variant"), p.get("digest"))
                          for p in img.get("platforms", []))
        published = max(p["created"] for p in f["platforms"])
        checks = [("digest", img.get("digest"), f["digest"]),
                  ("media_type", img.get("media_type"), f["media_type"]),
                  ("reference", img.get("reference"), f"{h}/{key}"),
                  ("registry", img.get("registry"), h),
                  ("resolved_at", img.get("resolved_at"), NOW),
                  ("published_at", img.get("published_at"), published),
                  ("platforms", got_plat, exp_plat),
                  ("file", img.get("file"), "Dockerfile")]
        for what, got, exp in checks:
            if got != exp:
                bad.append(f"line {line} {what}: {got!r} != {exp!r}")
        if list(img) != sorted(img):
            bad.append(f"line {line}: keys not sorted")
    return bad


def test_pin(tmp, h, facts):
    d = workdir(tmp, "pin", render(h, facts, False))
    r = lks(["pin", "--now", NOW], d)
    check(r.rc == 0, "pin on the unpinned Dockerfile exits 0", r)
    got = read(os.path.join(d, "Dockerfile")).decode()
    check(got == render(h, facts, True),
          "pin inserts exactly the @sha256 digests (byte comparison, index digest for multi:1)",
          f"got:\n{got}\nwant:\n{render(h, facts, True)}")
    lock_bytes = read(os.path.join(d, "lockstep.lock"))
    bad = check_lock(lock_bytes, h, facts)
    check(not bad, "lockstep.lock: version 1, sorted, digests/platforms/times equal the facts",
          "\n".join(bad))
    outs = [ln for ln in r.out.splitlines() if ln.startswith("Dockerfile:")]
    check(len(outs) == 4 and all(" pinned " in ln for ln in outs),
          "pin reports 4 references pinned", r)
    before = snapshot(d)
    r = lks(["pin", "--offline", "--now", NOW], d)
    check(r.rc == 0 and snapshot(d) == before,
          "pin --offline of the pinned Dockerfile right after pin: exit 0 from the cache, "
          "nothing changes", r)

    r = lks(["check"], d)
    warn = ("Dockerfile:5: warning: image '${BASE}@" + facts["single:1"]["digest"] +
            "' is pinned by digest: a --build-arg override of ARG 'BASE' no longer changes "
            "the image")
    check(r.rc == 0 and r.out.splitlines() == [warn],
          "check after pin: exit 0, only the ARG warning naming BASE", r)

    before = snapshot(d)
    time.sleep(0.02)
    r = lks(["pin", "--now", NOW], d)
    check(r.rc == 0 and snapshot(d) == before,
          "pin again (same cache): exit 0, Dockerfile and lock unchanged (bytes and mtime)", r)
    check("4 references: 0 pinned, 4 already pinned" in r.out,
          "pin again reports 4 already pinned", r)
    r = lks(["pin", "--now", NOW], d, cache=tempfile.mkdtemp(dir=tmp))
    after = snapshot(d)
    check(r.rc == 0 and {k: v[0] for k, v in after.items()} == {k: v[0] for k, v in
                                                                before.items()},
          "pin again with a fresh cache: no byte of the Dockerfile or the lock changes", r)

    # --offline: from the filled cache it works, from an empty cache it fails clearly
    d2 = workdir(tmp, "offline-empty", render(h, facts, False))
    before = snapshot(d2)
    r = lks(["pin", "--offline", "--now", NOW], d2)
    check(r.rc == 2 and "offline" in r.err and snapshot(d2) == before,
          "pin --offline with an empty cache: exit 2, says offline, nothing written", r)
    d3 = workdir(tmp, "offline-warm", render(h, facts, False))
    r = lks(["pin", "--offline", "--now", NOW], d3, cache=os.path.join(d, ".xdg-cache"))
    check(r.rc == 0 and read(os.path.join(d3, "Dockerfile")).decode() == render(h, facts, True),
          "pin --offline after a successful pin: exit 0 from the cache, same digests", r)


def test_untouched_and_crlf(tmp, h, facts):
    pinned = f"FROM {h}/single:1@{facts['single:1']['digest']}\nRUN true\nFROM scratch\n"
    d = workdir(tmp, "nothing", pinned)
    r0 = lks(["pin", "--now", NOW], d)
    check(r0.rc == 0, "pin a Dockerfile that is already pinned: exit 0", r0)
    before = snapshot(d)
    time.sleep(0.02)
    r = lks(["pin", "--now", NOW], d)
    check(r.rc == 0 and snapshot(d)["Dockerfile"] == before["Dockerfile"] and
          read(os.path.join(d, "Dockerfile")).decode() == pinned,
          "a Dockerfile with nothing to pin stays byte-identical (and same mtime)", r)
    d = workdir(tmp, "scratch-only", "FROM scratch\nCOPY a /a\n")
    before = snapshot(d)
    r = lks(["pin", "--now", NOW], d)
    check(r.rc == 0 and snapshot(d)["Dockerfile"] == before["Dockerfile"],
          "a scratch-only Dockerfile: exit 0, untouched", r)

    crlf = f"FROM {h}/single:docker AS a\r\nRUN echo 1 \\\r\n  && true\r\nFROM {h}/multi:1\r\n"
    d = workdir(tmp, "crlf", crlf)
    r = lks(["pin", "--now", NOW], d)
    want = (f"FROM {h}/single:docker@{facts['single:docker']['digest']} AS a\r\n"
            f"RUN echo 1 \\\r\n  && true\r\nFROM {h}/multi:1@{facts['multi:1']['digest']}\r\n")
    got = read(os.path.join(d, "Dockerfile")).decode()
    check(r.rc == 0 and got == want, "a CRLF Dockerfile is pinned and keeps its CRLFs",
          f"{r}\ngot {got!r}")


def test_arg_without_default(tmp, h, facts):
    text = f"ARG V\nFROM example.invalid/x:$V AS a\nFROM {h}/single:1\n"
    d = workdir(tmp, "argnodefault", text)
    r = lks(["check"], d)
    want = ("Dockerfile:2: image 'example.invalid/x:$V' cannot be resolved: ARG 'V' has no "
            "default value")
    check(r.rc == 1 and any(ln.startswith(want) for ln in r.out.splitlines()),
          "check reports the ARG without default", r)
    r = lks(["pin", "--now", NOW], d)
    got = read(os.path.join(d, "Dockerfile")).decode()
    check(r.rc == 1 and want in r.err and
          got == text.replace("single:1\n", f"single:1@{facts['single:1']['digest']}\n"),
          "pin with an ARG without default: exit 1, the other reference pinned", r)


def test_scratch_apt_only(tmp, h, facts):
    """issue 11: a stage FROM scratch that runs apt-get install refuses `pin` (exit 2, nothing
    written, the way out named); `pin --only images` pins the images and keeps the lock's
    other kinds."""
    text = (f"FROM {h}/single:1 AS rootfs\nFROM scratch\nCOPY --from=rootfs / /\n"
            "RUN apt-get update && apt-get install -y curl\n")
    d = workdir(tmp, "scratchapt", text)
    before = snapshot(d)
    r = lks(["pin", "--now", NOW], d)
    check(r.rc == 2 and "FROM scratch" in r.err and "--only images,python" in r.err and
          snapshot(d) == before, "FROM scratch + apt: exit 2, nothing written, the way out named",
          r)
    apt = {"package": "keepme", "version": "1.0-1", "architecture": "amd64",
           "filename": "p/k.deb", "sha256": "a" * 64, "size": 1, "source": "http://127.0.0.1:9/d",
           "file": "Dockerfile", "line": 4, "resolved_at": NOW}
    write(os.path.join(d, "lockstep.lock"), json.dumps(
        {"lockfile_version": 1, "images": [], "apt": [apt], "python": []}))
    r = lks(["pin", "--only", "images", "--now", NOW], d)
    got = read(os.path.join(d, "Dockerfile")).decode()
    lock = json.loads(read(os.path.join(d, "lockstep.lock")))
    want = text.replace("single:1 AS", f"single:1@{facts['single:1']['digest']} AS")
    check(r.rc == 0 and got == want and [e["package"] for e in lock["apt"]] == ["keepme"] and
          len(lock["images"]) == 1,
          "pin --only images: the image pinned and locked, the lock's apt entry kept", r)
    r = lks(["pin", "--only", "boats"], d)
    check(r.rc == 2 and "--only takes images, apt or python" in r.err, "pin --only: bad kind", r)


def test_missing_digest(tmp, h, facts):
    fake = "sha256:" + "0" * 64
    text = f"FROM {h}/single:1@{fake}\nFROM {h}/multi:1\n"
    d = workdir(tmp, "missingdigest", text)
    before = snapshot(d)
    r = lks(["pin", "--now", NOW], d)
    check(r.rc == 2 and fake in r.err and "not found" in r.err and snapshot(d) == before,
          "a pinned digest the registry does not have: exit 2, names it, nothing written", r)


def test_dry_run_two_files_and_moved_tag(tmp, h, facts):
    s1, dk, mu = (facts[k]["digest"] for k in ("single:1", "single:docker", "multi:1"))
    d = workdir(tmp, "twofiles", f"FROM {h}/single:1 AS a\nFROM {h}/single:1\nCOPY --from=a / /\n")
    write(os.path.join(d, "Other.Dockerfile"), f"FROM {h}/multi:1\n")
    before = snapshot(d)
    r = lks(["pin", "--dry-run", "--now", NOW, "Dockerfile", "Other.Dockerfile"], d)
    check(r.rc == 0 and snapshot(d) == before and "3 pinned" in r.out and "dry run" in r.out,
          "pin --dry-run: reports 3 pins, writes nothing", r)
    r = lks(["pin", "--now", NOW, "Dockerfile", "Other.Dockerfile"], d)
    got = read(os.path.join(d, "Dockerfile")).decode() + read(
        os.path.join(d, "Other.Dockerfile")).decode()
    want = (f"FROM {h}/single:1@{s1} AS a\nFROM {h}/single:1@{s1}\nCOPY --from=a / /\n"
            f"FROM {h}/multi:1@{mu}\n")
    check(r.rc == 0 and got == want, "pin of two files, same image twice: all pinned", r)
    r = lks(["check", "Dockerfile", "Other.Dockerfile"], d)
    check(r.rc == 0 and r.out == "", "check of both files after pin: exit 0, silent", r)
    # a hand-edited digest (another image's): check flags it, pin keeps it and warns
    write(os.path.join(d, "Dockerfile"), f"FROM {h}/single:1@{dk}\n")
    r = lks(["check", "Dockerfile", "Other.Dockerfile"], d)
    check(r.rc == 1 and r.out.startswith(f"Dockerfile:1: image '{h}/single:1@{dk}'"),
          "check: a hand-edited digest disagrees with the lock (exit 1)", r)
    r = lks(["pin", "--now", NOW, "Dockerfile", "Other.Dockerfile"], d)
    check(r.rc == 0 and read(os.path.join(d, "Dockerfile")).decode() == f"FROM {h}/single:1@{dk}\n"
          and f"now points to {s1}" in r.err,
          "pin keeps a hand-edited digest and warns that the tag points elsewhere", r)
    lock = json.loads(read(os.path.join(d, "lockstep.lock")))
    check([(i["file"], i["line"], i["digest"]) for i in lock["images"]] ==
          [("Dockerfile", 1, dk), ("Other.Dockerfile", 1, mu)],
          "the lock follows the edit: removed line dropped, new digest recorded", lock)


def test_symlink_and_mode(tmp, h, facts):
    d = workdir(tmp, "symlink")
    os.makedirs(os.path.join(d, "docker"))
    write(os.path.join(d, "docker", "Dockerfile.prod"), f"FROM {h}/single:1\n")
    os.symlink("docker/Dockerfile.prod", os.path.join(d, "Dockerfile"))
    write(os.path.join(d, "Private.Dockerfile"), f"FROM {h}/single:docker\n")
    os.chmod(os.path.join(d, "Private.Dockerfile"), 0o600)
    r = lks(["pin", "--now", NOW, "Dockerfile", "Private.Dockerfile"], d)
    target = read(os.path.join(d, "docker", "Dockerfile.prod")).decode()
    check(r.rc == 0 and os.path.islink(os.path.join(d, "Dockerfile")) and
          target == f"FROM {h}/single:1@{facts['single:1']['digest']}\n",
          "a symlinked Dockerfile stays a symlink and its target is pinned", f"{r}\n{target}")
    mode = os.stat(os.path.join(d, "Private.Dockerfile")).st_mode & 0o777
    check(mode == 0o600, f"a 0600 Dockerfile keeps its mode after pin (got {mode:o})")
    os.rename(os.path.join(d, "lockstep.lock"), os.path.join(d, "docker", "lockstep.lock"))
    os.symlink("docker/lockstep.lock", os.path.join(d, "lockstep.lock"))
    write(os.path.join(d, "Private.Dockerfile"), f"FROM {h}/multi:1\n")
    r = lks(["pin", "--now", NOW, "Dockerfile", "Private.Dockerfile"], d)
    lock = read(os.path.join(d, "docker", "lockstep.lock")).decode()
    check(r.rc == 0 and os.path.islink(os.path.join(d, "lockstep.lock")) and
          facts["multi:1"]["digest"] in lock, "a symlinked lock stays a symlink; its target "
          "is updated", r)


def test_concurrent_shared_cache(tmp, h, facts):
    """Several pins at once on one cache (sqlite locking): all succeed with the same digests."""
    cache = tempfile.mkdtemp(dir=tmp)
    text = f"FROM {h}/single:1\nFROM {h}/multi:1\nFROM {h}/list:1\nFROM {h}/single:docker\n"
    want = text
    for k in ("single:1", "multi:1", "list:1", "single:docker"):
        want = want.replace(f"{h}/{k}\n", f"{h}/{k}@{facts[k]['digest']}\n")
    dirs = [workdir(tmp, f"conc{i}", text) for i in range(4)]
    env = dict(os.environ, XDG_CACHE_HOME=cache, DOCKER_CONFIG="/nonexistent-lockstep-dc")
    procs = [subprocess.Popen([BIN, "pin", "-q", "--refresh", "--now", NOW], cwd=d, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for d in dirs]
    res = [(p.wait(timeout=60), p.stderr.read()) for p in procs]
    for p in procs:
        p.stdout.close()
        p.stderr.close()
    got = [read(os.path.join(d, "Dockerfile")).decode() for d in dirs]
    check(all(rc == 0 for rc, _ in res) and all(g == want for g in got),
          "4 concurrent pins sharing one cache: all exit 0 with the same digests", res)


def main():
    need_tools()
    t0 = time.time()
    storage, facts = registry.seed(os.path.abspath(BUILD))
    print(f"seeded registry content ready in {time.time() - t0:.1f} s", flush=True)
    tmp = tempfile.mkdtemp(prefix="lks-pin-images-")
    try:
        with registry.Registry("anon", storage=storage) as reg:
            test_check_unpinned(tmp, reg.host, facts)
            test_pin(tmp, reg.host, facts)
            test_untouched_and_crlf(tmp, reg.host, facts)
            test_arg_without_default(tmp, reg.host, facts)
            test_missing_digest(tmp, reg.host, facts)
            test_scratch_apt_only(tmp, reg.host, facts)
            test_dry_run_two_files_and_moved_tag(tmp, reg.host, facts)
            test_symlink_and_mode(tmp, reg.host, facts)
            test_concurrent_shared_cache(tmp, reg.host, facts)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    finish("pin_images", t0)


if __name__ == "__main__":
    main()

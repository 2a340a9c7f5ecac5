#!/usr/bin/python3
"""End-to-end (issue 11, points 1 and 2): BuildKit's platform ARGs and untagged references,
with `lockstep check`, `pin`, `outdated` and `update` against a real docker-registry on
127.0.0.1.

Platform ARGs: a Dockerfile in the shapes of moby/buildx/ollama (`FROM --platform=$BUILDPLATFORM`,
`FROM binaries-$TARGETOS`, `ARG FLAVOR=${TARGETARCH}` + `FROM ${FLAVOR}`, a variant stage for
Windows only, `${TARGETPLATFORM#linux/amd64}`) checks and pins with no ARG finding; the lock
records the platforms (default, then `--platform`), and a later run without `--platform` uses
them; a reference naming another image per platform is reported by check and pin (exit 1),
everything else still pinned; a bad `--platform` is exit 2.

Implicit latest: `FROM IMG` and `COPY --from=IMG` pinned three times: the digest goes after the
name, the lock records `IMG:latest` every time and the second and third pins change no byte;
after `latest` moves, pin keeps the digest with a warning, outdated flags the pin behind, and
update moves it, exactly as for a written `:latest` in the same run.
"""
import json
import os
import shutil
import tempfile
import time

from pinlib import BUILD, check, finish, lks, need_tools, read, registry, snapshot, workdir

T0_EPOCH = 1793491200  # 2026-11-01T00:00:00Z
DAY = 86400


def at(days):
    return f"@{T0_EPOCH + days * DAY}"


PLATFORM_DF = """\
# syntax=docker/dockerfile:1
ARG FLAVOR=${{TARGETARCH}}
ARG DEBUG_SUPPORTED=${{TARGETPLATFORM#linux/amd64}}
ARG DEBUG_SUPPORTED=${{DEBUG_SUPPORTED#linux/arm64}}
ARG DEBUG_SUPPORTED=${{DEBUG_SUPPORTED:+"unsupported"}}
ARG DEBUG_SUPPORTED=${{DEBUG_SUPPORTED:-"supported"}}
FROM --platform=$BUILDPLATFORM {H}/multi:1 AS build
RUN echo hi > /hi
FROM scratch AS binaries-linux
COPY --from=build /hi /hi
FROM scratch AS binaries-windows
COPY --from=build /hi /hi.exe
FROM binaries-$TARGETOS AS binaries
FROM scratch AS amd64
FROM scratch AS arm64
FROM ${{FLAVOR}} AS flavor
FROM {H}/single:1 AS debug-supported
FROM scratch AS debug-unsupported
FROM debug-${{DEBUG_SUPPORTED}} AS debug
FROM {H}/winonly:1 AS util-windows-amd64
FROM util-windows-${{TARGETARCH}} AS util-windows
FROM scratch AS util-linux
FROM util-${{TARGETOS}} AS util
FROM {H}/list:1
COPY --from=binaries /hi /hi
"""


def test_platforms(tmp, h, facts):
    d = workdir(tmp, "platforms", PLATFORM_DF.format(H=h))
    r = lks(["check", "--format", "json"], d)
    j = json.loads(r.out) if r.out else {}
    got = sorted((f["line"], f["code"], f["subject"]) for f in j.get("findings", []))
    want = [(7, "image-unpinned", f"{h}/multi:1"), (17, "image-unpinned", f"{h}/single:1"),
            (24, "image-unpinned", f"{h}/list:1")]
    check(r.rc == 1 and got == want,
          "check: platform ARGs name stages on linux/amd64 and linux/arm64; the Windows-only "
          "stage is not evaluated; no ARG finding", r)
    r = lks(["pin", "--now", at(0)], d)
    df = read(os.path.join(d, "Dockerfile")).decode()
    want_df = PLATFORM_DF.format(H=h).replace(
        f"{h}/multi:1 AS", f"{h}/multi:1@{facts['multi:1']['digest']} AS").replace(
        f"{h}/single:1 AS", f"{h}/single:1@{facts['single:1']['digest']} AS").replace(
        f"FROM {h}/list:1\n", f"FROM {h}/list:1@{facts['list:1']['digest']}\n")
    lock = json.loads(read(os.path.join(d, "lockstep.lock")))
    check(r.rc == 0 and df == want_df, "pin: exactly the three digests", r)
    check(lock.get("dockerfiles") == [{"file": "Dockerfile",
                                       "platforms": ["linux/amd64", "linux/arm64"]}],
          "the lock records the default platforms", lock.get("dockerfiles"))
    r = lks(["pin", "--now", at(0), "--platform", "windows/amd64", "--platform",
             "linux/amd64"], d)
    check(r.rc == 2 and "winonly:1" in r.err and df == read(os.path.join(d, "Dockerfile"))
          .decode(), "pin --platform windows/amd64: the Windows variant stage is evaluated "
          "(its image is not in the registry: exit 2, nothing written)", r)
    r = lks(["check", "--platform", "windows/amd64", "--format", "json"], d)
    j = json.loads(r.out) if r.out else {}
    got = sorted((f["line"], f["subject"]) for f in j.get("findings", []))
    check(r.rc == 1 and got == [(20, f"{h}/winonly:1")],
          "check --platform windows/amd64: only the Windows image is unpinned", r)
    r = lks(["pin", "--now", at(0), "--platform", "linux/arm64, linux/amd64"], d)
    lock = json.loads(read(os.path.join(d, "lockstep.lock")))
    check(r.rc == 0 and lock.get("dockerfiles", [{}])[0].get("platforms") ==
          ["linux/arm64", "linux/amd64"], "pin --platform (comma list) is recorded", r)
    r = lks(["check", "--platform", "linux/amd64", "--platform", "linux"], d)
    check(r.rc == 2 and "invalid platform 'linux'" in r.err, "a bad --platform: exit 2", r)


PER_PLATFORM_DF = "FROM {H}/single:1\nFROM {H}/tagged:${{TARGETARCH}}\n"


def test_per_platform(tmp, h, facts):
    d = workdir(tmp, "perplat", PER_PLATFORM_DF.format(H=h))
    r = lks(["check"], d)
    check(r.rc == 1 and "names a different image per platform (linux/amd64: "
          f"{h}/tagged:amd64, linux/arm64: {h}/tagged:arm64)" in r.out,
          "check: a reference naming another image per platform", r)
    r = lks(["pin", "--now", at(0)], d)
    df = read(os.path.join(d, "Dockerfile")).decode()
    check(r.rc == 1 and "different image per platform" in r.err and
          df == f"FROM {h}/single:1@{facts['single:1']['digest']}\n"
                f"FROM {h}/tagged:${{TARGETARCH}}\n",
          "pin: that reference is reported (exit 1), the other one pinned", r)
    r = lks(["pin", "--now", at(0), "--platform", "linux/arm64"], d)
    df = read(os.path.join(d, "Dockerfile")).decode()
    check(r.rc == 0 and f"tagged:${{TARGETARCH}}@{facts['single:docker']['digest']}" in df,
          "pin --platform linux/arm64: one image, pinned", r)
    r = lks(["check"], d)
    check(r.rc == 0, "check without --platform uses the platform the lock records", r)
    r = lks(["check", "--platform", "linux/amd64,linux/arm64"], d)
    check(r.rc == 1 and "different image per platform" in r.out,
          "check --platform for both: the reference is per platform again", r)


LATEST_DF = "FROM {H}/img\nCOPY --from={H}/img /etc/passwd /p\nFROM {H}/img2:latest\n"


def lock_refs(d):
    lock = json.loads(read(os.path.join(d, "lockstep.lock")))
    return [(i["line"], i["reference"], i["digest"]) for i in lock["images"]]


def test_implicit_latest(tmp, h, d1):
    d = workdir(tmp, "latest", LATEST_DF.format(H=h))
    r = lks(["pin", "--now", at(0)], d)
    want_df = (f"FROM {h}/img@{d1}\nCOPY --from={h}/img@{d1} /etc/passwd /p\n"
               f"FROM {h}/img2:latest@{d1}\n")
    check(r.rc == 0 and read(os.path.join(d, "Dockerfile")).decode() == want_df,
          "pin 1: the digest goes right after the untagged name", r)
    want_refs = [(1, f"{h}/img:latest", d1), (2, f"{h}/img:latest", d1),
                 (3, f"{h}/img2:latest", d1)]
    check(lock_refs(d) == want_refs, "pin 1: the lock records the implicit latest", lock_refs(d))
    first = snapshot(d)
    for k in (2, 3):
        r = lks(["pin", "--now", at(0)], d)
        check(r.rc == 0 and lock_refs(d) == want_refs,
              f"pin {k}: the implicit latest survives", r)
        check(snapshot(d) == first, f"pin {k}: no byte changes (the lock included)")
    r = lks(["check"], d)
    check(r.rc == 0 and r.out == "", "check after pin: clean", r)
    return d


def test_tag_moves(d, h, d1):
    d2 = registry.copy_image(h, "single", "1", "img", "latest", note="moved")
    check(registry.copy_image(h, "single", "1", "img2", "latest", note="moved") == d2,
          "the same new manifest under both tags")
    r = lks(["pin", "--now", at(1), "--max-age", "0"], d)
    check(r.rc == 0 and f"tag '{h}/img:latest' now points to {d2}" in r.err and
          f"tag '{h}/img2:latest' now points to {d2}" in r.err and
          read(os.path.join(d, "Dockerfile")).decode().count(d1) == 3,
          "latest moved: pin keeps the digests and says so for both forms", r)
    r = lks(["outdated", "--now", at(40), "--format", "json", "--max-age", "0"], d)
    pins = json.loads(r.out)["pins"] if r.out else []
    states = sorted((p["line"], p["state"], p.get("latest")) for p in pins)
    check(r.rc == 1 and len(states) == 3 and all(s[1] == "newer" for s in states) and
          states[0][2] == d2, "outdated: the implicit and the written latest are both behind",
          r)
    r = lks(["update", "--now", at(40), "--max-age", "0"], d)
    df = read(os.path.join(d, "Dockerfile")).decode()
    want = (f"FROM {h}/img@{d2}\nCOPY --from={h}/img@{d2} /etc/passwd /p\n"
            f"FROM {h}/img2:latest@{d2}\n")
    check(r.rc == 0 and df == want, "update moves the implicit latest like a written one", r)
    check([x[1] for x in lock_refs(d)] == [f"{h}/img:latest", f"{h}/img:latest",
                                           f"{h}/img2:latest"],
          "after update the lock still records latest", lock_refs(d))
    after = snapshot(d)
    r = lks(["update", "--now", at(40), "--max-age", "0"], d)
    check(r.rc == 0 and snapshot(d) == after and "nothing to update" in r.out,
          "a second update changes no byte", r)
    r = lks(["outdated", "--now", at(40), "--platform", "linux/amd64"], d)
    check(r.rc == 0, "outdated --platform linux/amd64 after update: nothing flagged", r)
    r = lks(["outdated", "--now", at(80), "--platform", "windows/amd64"], d)
    check(r.rc == 0 and "0 pins" in r.out,
          "outdated --platform windows/amd64: no pin of a file pinned for it", r)


def main():
    need_tools()
    t0 = time.time()
    storage, facts = registry.seed(os.path.abspath(BUILD))
    tmp = tempfile.mkdtemp(prefix="lks-platforms-")
    try:
        with registry.Registry("anon", storage=storage) as reg:
            h = reg.host
            registry.copy_image(h, "single", "docker", "tagged", "arm64")
            registry.copy_image(h, "single", "1", "tagged", "amd64")
            d1 = registry.copy_image(h, "single", "1", "img", "latest")
            registry.copy_image(h, "single", "1", "img2", "latest")
            test_platforms(tmp, h, facts)
            test_per_platform(tmp, h, facts)
            d = test_implicit_latest(tmp, h, d1)
            test_tag_moves(d, h, d1)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    finish("pin_platforms", t0)


if __name__ == "__main__":
    main()

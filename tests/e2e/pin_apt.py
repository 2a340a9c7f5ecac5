#!/usr/bin/env python3
"""End-to-end: `lockstep check` and `lockstep pin` for apt packages in Dockerfiles.

A signed multi-suite apt repository (tests/e2e/apt_differential.py) is served on 127.0.0.1; a
busybox-based two-platform image whose own /etc/apt (sources with signed-by keyrings,
preferences.d) points at it sits in a real docker-registry on 127.0.0.1. A Dockerfile with
apt-get/apt install lines of many shapes (continuations, a comment line, &&, ;, exec form,
heredoc script, -t, pkg:arch, already pinned, $VAR, sh -c, a heredoc that is a file) is
checked (exact findings), pinned (exact bytes), and the pins equal `apt-cache policy`'s
Candidate under a private APT_CONFIG with the image's sources and preferences, for both
platforms. Pinning twice changes nothing; check after pin exits 0; the lock records each
package. Failure cases (unknown package, a package missing on one platform, versions that
differ between platforms, an unreachable archive, a base image without apt, FROM scratch)
exit 2 and write nothing. Copies of the repository change between runs: a pinned version
removed from its suite (check, offline, still passes; pin names the version gone and the new
candidate and writes nothing; the way out it names moves the pin), a truncated Packages.xz
its Release vouches for, and a Packages.xz that does not match its Release entry.
"""
import glob
import json
import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from pinlib import NOW, check, finish, lks, read, registry, snapshot, workdir, write  # noqa: E402
from apt_differential import PREFS, SUITES, build_repo  # noqa: E402
from apt_image import image_layers, layer, push_image  # noqa: E402
from aptrepo import (Server, apt_config, index_suite, need, policy_candidates, run,  # noqa: E402
                     sign_release)

PLATS = [("amd64", None), ("arm64", "v8")]

DOCKERFILE = """\
# syntax=docker/dockerfile:1
FROM {base} AS build
RUN apt-get update && apt-get install -y --no-install-recommends \\
    epochpkg{v_epochpkg} \\
    # a comment line inside the continuation
    tildepkg{v_tildepkg} && rm -rf /var/lib/apt/lists/*
RUN apt-get install -y -t stable-backports bpopkg{v_bpopkg}; apt install -y hello:arm64{v_hello} \\
      numpkg=1.0.10-1 $EXTRA_PKGS
RUN ["apt-get", "install", "-y", "letterpkg{v_letterpkg}"]
RUN <<EOF
set -e
apt-get install -y --no-install-recommends tilde2{v_tilde2} \\
  dupver{v_dupver}
EOF
FROM build AS second
RUN sh -c 'apt-get install -y zero' && apt-get -o Debug::X=1 install -y pinned-down{v_pinned_down}
RUN cat <<EOF > /etc/apt/sources.list.d/x.list
deb http://127.0.0.1:9/nothing bookworm main
apt-get install -y notapackage
EOF
FROM scratch
COPY --from=second /bin/sh /sh
"""

# package -> (line of its word, written as in the unpinned file)
WORDS = {"epochpkg": 4, "tildepkg": 6, "bpopkg": 7, "hello": 7, "numpkg": 8, "letterpkg": 9,
         "tilde2": 12, "dupver": 13, "pinned-down": 16}


def render(base, pins):
    kw = {"base": base}
    for name in WORDS:
        if name == "numpkg":
            continue
        v = pins.get(name)
        kw["v_" + name.replace("-", "_")] = f"={v}" if v else ""
    return DOCKERFILE.format(**kw)


def expected_check(base):
    lines = [f"Dockerfile:2: image '{base}' is pinned but not recorded in lockstep.lock "
             "(run 'lockstep pin')"]
    for name, line in sorted(WORDS.items(), key=lambda x: (x[1], x[0])):
        if name == "numpkg":
            lines.append(f"Dockerfile:{line}: apt package 'numpkg=1.0.10-1' is pinned but not "
                         "recorded in lockstep.lock (run 'lockstep pin')")
            continue
        w = name + (":arm64" if name == "hello" else "")
        lines.append(f"Dockerfile:{line}: apt package '{w}' is not pinned to a version")
    lines.append("Dockerfile:8: warning: apt package '$EXTRA_PKGS' is a shell expansion: "
                 "not checked or pinned (name the packages literally)")
    return lines


def apt_truth(tmp, uri, key):
    """apt-cache policy's Candidate for every package, per native architecture."""
    line = f"deb [signed-by={key}] {uri} stable main\n" + "".join(
        f"deb [signed-by={key}] {uri} {s} main\n" for s in SUITES if s != "stable")
    out = {}
    for native in ("amd64", "arm64"):
        conf = os.path.join(tmp, "apt-" + native)
        other = "arm64" if native == "amd64" else "amd64"
        env = apt_config(conf, line, PREFS, native=native, archs=(native, other))
        run(["apt-get", "update"], env=env)
        out[native] = policy_candidates(env, [w for w in WORDS if w != "hello"])
        out[native]["hello"] = policy_candidates(env, ["hello:arm64"])["hello:arm64"] \
            if native == "amd64" else policy_candidates(env, ["hello"])["hello"]
        out[native + "-hello"] = policy_candidates(env, ["hello"])["hello"]
        out[native + "-bpo"] = policy_candidates(env, ["bpopkg"], "stable-backports")
    return out


def test_check(tmp, base):
    d = workdir(tmp, "check", render(base, {}))
    before = snapshot(d)
    r = lks(["check"], d)
    got = (r.out + r.err).splitlines()
    want = expected_check(base)
    check(r.rc == 1 and sorted(got) == sorted(want),
          "check: exit 1 and exactly the unpinned words, the unrecorded pin and the $VAR",
          f"{r}\nwant:\n" + "\n".join(want))
    check(snapshot(d) == before, "check writes nothing")


def expected_pins(truth):
    pins = {n: truth["amd64"][n] for n in WORDS}
    pins["bpopkg"] = truth["amd64-bpo"]["bpopkg"]
    return pins


def test_pin(tmp, base, truth, cache):
    pins = expected_pins(truth)
    d = workdir(tmp, "pin", render(base, {}))
    r = lks(["pin", "--now", NOW], d, cache=cache)
    check(r.rc == 0, "pin exits 0", r)
    got = read(os.path.join(d, "Dockerfile")).decode()
    want = render(base, pins)
    check(got == want, "pin rewrites exactly the package words (byte comparison)",
          f"got:\n{got}\nwant:\n{want}")
    same = all(truth["amd64"][n] == truth["arm64"][n] for n in WORDS)
    check(same and all(pins.values()),
          "the pins are apt-cache policy's Candidate on amd64 and on arm64", truth)
    lock = json.loads(read(os.path.join(d, "lockstep.lock")))
    apt = lock.get("apt", [])
    keys = sorted({(e["package"], e["version"]) for e in apt})
    check(keys == sorted((n, pins[n]) for n in WORDS),
          "lock: one version per package, equal to the pins", json.dumps(apt, indent=1)[:3000])
    ok = all(e["file"] == "Dockerfile" and e["resolved_at"] == NOW and e["sha256"] and
             e["filename"].startswith("pool/") and e["source"].startswith("http://127.0.0.1:")
             and e["image"] == base and e.get("snapshot") for e in apt)
    check(ok, "lock entries carry file, image, filename, sha256, source, snapshot, resolved_at")
    archs = sorted({(e["package"], e["architecture"]) for e in apt
                    if e["package"] in ("hello", "epochpkg")})
    check(archs == [("epochpkg", "all"), ("hello", "arm64")],
          "an arch:all package and a NAME:ARCH one are one entry each", archs)
    before = snapshot(d)
    r2 = lks(["pin", "--now", NOW], d, cache=cache)
    check(r2.rc == 0 and snapshot(d) == before, "pin twice changes nothing (bytes and mtimes)",
          r2)
    r3 = lks(["check"], d)
    check(r3.rc == 0, "check after pin exits 0 (the $VAR stays a warning)", r3)
    d2 = workdir(tmp, "offline", render(base, {}))
    r4 = lks(["pin", "--offline", "--now", NOW], d2, cache=cache)
    same = read(os.path.join(d2, "Dockerfile")) == read(os.path.join(d, "Dockerfile"))
    check(r4.rc == 0 and same,
          "a warm pin --offline gives the same bytes", r4)
    test_index_snapshot(tmp, base, d, cache)
    return d


def test_index_snapshot(tmp, base, pinned, cache):
    """The parsed index is kept as snapshot files in the cache (apt-index/*.idx), mapped in
    place by the next run; a damaged one is rebuilt with a warning and the pins are the same."""
    snaps = glob.glob(os.path.join(cache, "lockstep", "apt-index", "*.idx"))
    check(snaps and all(os.path.getsize(p) > 4096 for p in snaps),
          "pin leaves the parsed index as snapshot files in the cache", snaps)
    for p in snaps:
        with open(p, "r+b") as f:
            size = os.path.getsize(p)
            for off in range(4096 + 64, size, 512):
                f.seek(off)
                b = f.read(1)
                f.seek(off)
                f.write(bytes([b[0] ^ 0x21]))
    d = workdir(tmp, "damaged-snapshot", render(base, {}))
    r = lks(["pin", "--now", NOW], d, cache=cache)
    same = read(os.path.join(d, "Dockerfile")) == read(os.path.join(pinned, "Dockerfile"))
    check(r.rc == 0 and same and "warning: rebuilding the apt index:" in r.err,
          "a damaged index snapshot: rebuilt with a warning, the same pins", r)
    d = workdir(tmp, "rebuilt-snapshot", render(base, {}))
    r = lks(["pin", "--now", NOW], d, cache=cache)
    check(r.rc == 0 and "rebuilding" not in r.err, "the rebuilt snapshot is used as is", r)


def pin_fails(tmp, name, dockerfile, want, cache, extra=()):
    d = workdir(tmp, name, dockerfile)
    before = snapshot(d)
    r = lks(["pin", "--now", NOW] + list(extra), d, cache=cache)
    check(r.rc == 2 and want in r.err and snapshot(d) == before,
          f"{name}: exit 2, '{want[:60]}...', nothing written", r)


def test_failures(tmp, reg, base, uri, key, cache):
    one = "FROM {b}\nRUN apt-get install -y {p}\n"
    pin_fails(tmp, "unknown", one.format(b=base, p="nosuchpkg"),
              "Dockerfile:2: apt package 'nosuchpkg' not found in suites 'stable, "
              "stable-updates, stable-security, stable-backports, experimental' for "
              "architecture 'amd64'", cache)
    pin_fails(tmp, "one-platform", one.format(b=base, p="epochpkg amdonly"),
              "experimental' for architecture 'arm64' (base image", cache)
    pin_fails(tmp, "version-differs", one.format(b=base, p="hello"),
              "apt package 'hello' resolves to 2.10-3 on linux/amd64 but 2.10-2+sec1 on "
              "linux/arm64/v8: pin it by hand", cache)
    pin_fails(tmp, "pinned-missing", one.format(b=base, p="epochpkg=9.9-9"),
              "apt package 'epochpkg' version '9.9-9' not found", cache)
    pin_fails(tmp, "scratch", "FROM scratch\nRUN apt-get install -y epochpkg\n",
              "Dockerfile:2: RUN installs apt packages but its stage has no base image with "
              "apt (FROM scratch)", cache)
    dead = push_image(reg.host, "dead", image_layers("http://127.0.0.1:9/repo", key), PLATS)
    pin_fails(tmp, "unreachable", one.format(b=f"{reg.host}/dead:1@{dead}", p="epochpkg"),
              "cannot fetch apt index 'http://127.0.0.1:9/repo/dists/stable/InRelease'", cache,
              ["--timeout", "5"])
    with open("/bin/busybox", "rb") as f:
        bb = f.read()
    noapt = push_image(reg.host, "noapt", [layer([("bin", "dir", None),
                                                  ("bin/busybox", "file", bb)])], PLATS)
    pin_fails(tmp, "no-apt", one.format(b=f"{reg.host}/noapt:1@{noapt}", p="epochpkg"),
              "has no apt: '/usr/bin/dpkg' not found in the image", cache)


def test_platform(tmp, base, truth, cache):
    """FROM --platform=linux/amd64: only amd64 is resolved, so hello has one answer."""
    df = f"FROM --platform=linux/amd64 {base}\nRUN apt-get install -y hello\n"
    d = workdir(tmp, "platform", df)
    r = lks(["pin", "--now", NOW], d, cache=cache)
    want = df.replace("hello", "hello=" + str(truth["amd64-hello"]))
    check(r.rc == 0 and read(os.path.join(d, "Dockerfile")).decode() == want,
          "FROM --platform=linux/amd64 resolves for amd64 only", r)


def variant(tmp, srv, reg, key, name):
    """A copy of the repository served at /NAME and an image whose sources point at it."""
    repo = os.path.join(tmp, "www", name)
    shutil.copytree(os.path.join(tmp, "www", "repo"), repo, symlinks=True)
    d = push_image(reg.host, name, image_layers(f"http://127.0.0.1:{srv.port}/{name}", key),
                   PLATS)
    return repo, f"{reg.host}/{name}:1@{d}"


def reindex(tmp, repo, suite, how=index_suite):
    """Rewrite a suite's indexes and Release from its pool, dated later than the old ones
    (the archive answers If-Modified-Since by mtime, in whole seconds)."""
    codename, extra, _ = SUITES[suite]
    how(repo, suite, codename, ("amd64", "arm64"), extra,
                dict(os.environ, GNUPGHOME=os.path.join(tmp, "gnupg")),
                detached=suite == "experimental")
    later = time.time() + 5
    for dp, _, fs in os.walk(os.path.join(repo, "dists", suite)):
        for f in fs:
            os.utime(os.path.join(dp, f), (later, later))


def test_vanished(tmp, srv, reg, key, cache):
    """A pinned version leaves the archive: check (offline) cannot know; pin names the
    version, the suites and the new candidate and writes nothing; dropping the version and
    pinning again moves the pin."""
    repo, base = variant(tmp, srv, reg, key, "vanish")
    df = "FROM {b}\nRUN apt-get install -y tildepkg{v} numpkg\n"
    d = workdir(tmp, "vanish", df.format(b=base, v=""))
    r = lks(["pin", "--now", NOW], d, cache=cache)
    check(r.rc == 0 and read(os.path.join(d, "Dockerfile")).decode()
          == df.format(b=base, v="=1.0-1").replace("numpkg", "numpkg=1.0.10-1"),
          "vanish: pinned tildepkg=1.0-1 from stable-updates", r)
    os.unlink(os.path.join(repo, "pool", "stable-updates", "tildepkg_1.0-1_all.deb"))
    reindex(tmp, repo, "stable-updates")
    r = lks(["check"], d)
    check(r.rc == 0, "vanish: check stays offline and passes (the lock still agrees)", r)
    before = snapshot(d)
    r = lks(["pin", "--now", NOW], d, cache=cache)
    want = ("Dockerfile:2: apt package 'tildepkg' version '1.0-1' not found in suites 'stable, "
            "stable-updates, stable-security, stable-backports, experimental' for architecture "
            f"'amd64' (base image '{base}', linux/amd64): the candidate is now 1.0~rc1-1 "
            "('lockstep update --package tildepkg' moves the pin)")
    check(r.rc == 2 and want in r.err and snapshot(d) == before,
          "vanish: pin names the version gone, the suites and the new candidate; writes "
          "nothing", f"{r}\nwant: {want}")
    r = lks(["update", "--package", "tildepkg", "--now", NOW], d, cache=cache)
    lock = json.loads(read(os.path.join(d, "lockstep.lock")))
    vers = sorted({e["version"] for e in lock["apt"] if e["package"] == "tildepkg"})
    check(r.rc == 0 and read(os.path.join(d, "Dockerfile")).decode()
          == df.format(b=base, v="=1.0~rc1-1").replace("numpkg", "numpkg=1.0.10-1")
          and vers == ["1.0~rc1-1"], "vanish: the way out moves the pin to the new candidate "
          "(Dockerfile and lock), numpkg kept", f"{r}\n{vers}")


def test_broken_index(tmp, srv, reg, key):
    """A truncated Packages.xz that its Release vouches for, and a Packages.xz that does not
    match its Release entry: exit 2, the file named, nothing written."""
    one = "FROM {b}\nRUN apt-get install -y epochpkg\n"
    repo, base = variant(tmp, srv, reg, key, "truncated")
    xz = os.path.join(repo, "dists", "stable", "main", "binary-amd64", "Packages.xz")
    with open(xz, "r+b") as f:
        f.truncate(os.path.getsize(xz) // 2)
    reindex(tmp, repo, "stable", sign_release)
    arch = f"apt archive 'http://127.0.0.1:{srv.port}/%s/dists/stable': "
    pin_fails(tmp, "truncated", one.format(b=base),
              arch % "truncated" + "cannot decompress 'main/binary-amd64/Packages.xz' (corrupt "
              "or truncated?)", os.path.join(tmp, "c1"))
    repo, base = variant(tmp, srv, reg, key, "badhash")
    xz = os.path.join(repo, "dists", "stable", "main", "binary-amd64", "Packages.xz")
    with open(xz, "ab") as f:
        f.write(b"\0")
    pin_fails(tmp, "badhash", one.format(b=base),
              arch % "badhash" + "cannot use 'main/binary-amd64/Packages.xz': sha256 ",
              os.path.join(tmp, "c2"))


SOURCES_DF = """\
FROM {base} AS build
COPY keys/lks.gpg /etc/apt/keyrings/ctx.gpg
COPY keys/lks.gpg /opt/k/any.gpg
RUN echo "deb [signed-by=/etc/apt/keyrings/ctx.gpg] {uri} stable main" \\
      > /etc/apt/sources.list.d/a.list
RUN echo "deb [signed-by=/opt/k/any.gpg] {uri} stable-updates main" | tee -a /etc/apt/b.list \\
      /etc/apt/sources.list.d/b.list
COPY <<EOF /etc/apt/sources.list.d/c.sources
Types: deb
URIs: {uri}
Suites: stable-backports
Components: main
Signed-By: /etc/apt/keyrings/ctx.gpg
EOF
COPY x.list /etc/apt/sources.list.d/
RUN apt-get install -y hello{hello} tildepkg{tildepkg} bpopkg{bpopkg} secver{secver}
FROM build
RUN apt-get install -y numpkg{numpkg}
"""


def sources_truth(tmp, uri, key, names):
    lines = "".join(f"deb [signed-by={key}] {uri} {s} main\n"
                    for s in ("stable", "stable-updates", "stable-backports", "stable-security"))
    env = apt_config(os.path.join(tmp, "apt-dfsources"), lines, None, archs=("amd64",))
    run(["apt-get", "update"], env=env)
    return policy_candidates(env, names)


def test_dockerfile_sources(tmp, srv, reg, key, cache):
    """Sources and keyrings the Dockerfile adds before its apt-get install (echo >, | tee,
    a deb822 heredoc, a COPY from the context; keyrings COPYd in) are used, also by a stage
    FROM that stage; a wrong COPYd keyring fails the signature check."""
    from aptrepo import make_key
    uri = f"http://127.0.0.1:{srv.port}/repo"
    with open("/bin/busybox", "rb") as f:
        bb = f.read()
    bare = push_image(reg.host, "bare", [layer([
        ("bin", "dir", None), ("bin/busybox", "file", bb),
        ("usr/bin/dpkg", "file", b"#!/bin/sh\n"), ("usr/bin/apt-get", "file", b"#!/bin/sh\n")])],
        [("amd64", None)])
    base = f"{reg.host}/bare:1@{bare}"
    names = ["hello", "tildepkg", "bpopkg", "secver", "numpkg"]
    truth = sources_truth(tmp, uri, key, names)
    d = workdir(tmp, "dfsources", SOURCES_DF.format(base=base, uri=uri, **{n: "" for n in names}))
    os.makedirs(os.path.join(d, "keys"))
    shutil.copy(key, os.path.join(d, "keys", "lks.gpg"))
    write(os.path.join(d, "x.list"),
          f"deb [signed-by=/etc/apt/keyrings/ctx.gpg] {uri} stable-security main\n")
    r = lks(["pin", "--now", NOW], d, cache=cache)
    want = SOURCES_DF.format(base=base, uri=uri, **{n: f"={truth[n]}" for n in names})
    got = read(os.path.join(d, "Dockerfile")).decode()
    check(r.rc == 0 and got == want and all(truth.values()) and "not checked" not in r.err,
          "sources added by the Dockerfile (echo >, | tee, COPY <<EOF, COPY from the context) "
          "and COPYd keyrings give apt-cache policy's candidates, signatures checked",
          f"{r}\ngot:\n{got}\nwant:\n{want}")
    _, other = make_key(os.path.join(tmp, "gnupg-other"))
    shutil.copy(other, os.path.join(d, "keys", "lks.gpg"))
    write(os.path.join(d, "Dockerfile"),
          SOURCES_DF.format(base=base, uri=uri, **{n: "" for n in names}))
    before = snapshot(d)
    r = lks(["pin", "--now", NOW], d, cache=os.path.join(tmp, "c-otherkey"))
    check(r.rc == 2 and "bad or unverifiable signature on" in r.err and snapshot(d) == before,
          "a COPYd keyring that did not sign the archive: exit 2, nothing written", r)


def main():
    need("apt-ftparchive", "dpkg-deb", "gpg", "apt-cache", "apt-get", "xz", "docker-registry")
    t0 = time.time()
    with tempfile.TemporaryDirectory(prefix="lks-pinapt-") as tmp:
        repo, key = build_repo(tmp)
        srv = Server(os.path.join(tmp, "www"))
        try:
            with registry.Registry("anon") as reg:
                run_all(tmp, srv, reg, key)
        finally:
            srv.stop()
    finish("pin_apt", t0)


def run_all(tmp, srv, reg, key):
    uri = f"http://127.0.0.1:{srv.port}/repo"
    d = push_image(reg.host, "base", image_layers(uri, key), PLATS)
    base = f"{reg.host}/base:1@{d}"
    truth = apt_truth(tmp, uri, key)
    cache = os.path.join(tmp, "cache")
    test_check(tmp, base)
    test_pin(tmp, base, truth, cache)
    test_platform(tmp, base, truth, cache)
    test_failures(tmp, reg, base, uri, key, cache)
    test_vanished(tmp, srv, reg, key, cache)
    test_broken_index(tmp, srv, reg, key)
    test_dockerfile_sources(tmp, srv, reg, key, cache)


if __name__ == "__main__":
    main()

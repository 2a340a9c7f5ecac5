#!/usr/bin/env python3
"""End-to-end and differential: `lockstep pin --apt-closure` records what apt itself would
install.

The Debian minbase of pin_apt_build.py (cached OCI layout) is pushed to a docker-registry on
127.0.0.1 with its sources pointing at a signed loopback repository whose packages have
Pre-Depends, Depends with alternatives (the first one too old), version constraints, :any
qualifiers, a virtual package with one provider, a versioned virtual package and
dependencies on packages the minbase already has. `lockstep pin --apt-closure` pins the
words; the lock's entries for the RUN line (the words plus closure_of entries) must equal the
"Inst NAME (VERSION" lines of `apt-get install -s --no-install-recommends` for the pinned
words, run under a private APT_CONFIG with the same sources and the image's own
/var/lib/dpkg/status (read back with `lockstep image-cat`). A second pin without the option
keeps the closure, and so does `update`; a later RUN of the stage finds what the first one
installed; `outdated` reports closure entries as dependencies, not as stale pins; when a newer
version of a word brings other dependencies, `update` moves the word and recomputes the closure.
No build: seconds once the minbase is cached.
"""
import json
import os
import re
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from pinlib import NOW, check, finish, lks, read, registry, workdir  # noqa: E402
from aptrepo import Server, apt_config, make_key, need, run, write_suite  # noqa: E402
import pin_apt_build  # noqa: E402

A = ("amd64",)
APP_DEPS = {
    "Pre-Depends": "cl-pre (>= 2)",
    "Depends": "cl-lib (>= 1.2), cl-alt-old (>= 5) | cl-alt-new, cl-mta, cl-interp:any (>= 5), "
               "libc6 (>= 2.17), base-files, cl-vv (>= 2)",
}
SUITES = {
    "stable": ("clbuild", {}, [
        ("cl-app", "1.0-1", "amd64", APP_DEPS),
        ("cl-pre", "2.0-1", "amd64", {"Depends": "libc6 (>= 2.17)"}),
        ("cl-lib", "1.0-1", "amd64", {"Depends": "cl-libdata (= 1.0-1)"}),
        ("cl-libdata", "1.0-1", "all", None),
        ("cl-alt-old", "4.0-1", "all", None),
        ("cl-alt-new", "1.0-1", "all", {"Depends": "cl-lib"}),
        ("cl-exim", "4.96-1", "amd64", {"Provides": "cl-mta"}),
        ("cl-vv-old", "1.0-1", "all", {"Provides": "cl-vv (= 1.0)"}),
        ("cl-vv-new", "1.0-1", "all", {"Provides": "cl-vv (= 3.0)"}),
        ("cl-tool", "2.0-1", "all", {"Depends": "cl-nosuch | cl-app, debianutils (>= 1)"}),
        ("cl-unused", "1.0-1", "all", {"Depends": "cl-libdata"}),
        ("cl-interp", "5.1-1", "amd64", {"Multi-Arch": "allowed"}),
    ]),
    "stable-updates": ("clbuild-updates", {}, [
        ("cl-lib", "1.3-1", "amd64", {"Depends": "cl-libdata (= 1.3-1)"}),
        ("cl-libdata", "1.3-1", "all", None),
    ]),
}
WORDS = ("cl-tool", "cl-app")
DOCKERFILE = """\
FROM {base}
RUN apt-get update && apt-get install -y --no-install-recommends {words}
RUN apt-get install -y --no-install-recommends cl-unused
"""


def lock_set(d, line=2):
    lock = json.loads(read(os.path.join(d, "lockstep.lock")))
    ents = [e for e in lock.get("apt", []) if e["line"] == line]
    return {e["package"]: (e["version"], e.get("closure_of")) for e in ents}


def apt_simulate(tmp, uri, key, status, words):
    conf = os.path.join(tmp, "apt")
    src = "".join(f"deb [signed-by={key}] {uri} {s} main\n" for s in SUITES)
    env = apt_config(conf, src, archs=A)
    with open(os.path.join(conf, "status"), "w") as f:
        f.write(status)
    run(["apt-get", "update", "-q"], env=env)
    out = run(["apt-get", "install", "-s", "--no-install-recommends"] + list(words),
              env=env).stdout
    return {m.group(1).split(":")[0]: m.group(2)
            for m in re.finditer(r"^Inst (\S+) (?:\[\S+\] )?\((\S+) ", out, re.M)}, out


def main():
    need("apt-ftparchive", "dpkg-deb", "gpg", "xz", "docker-registry", "apt-get", "mmdebstrap")
    t0 = time.time()
    layout = pin_apt_build.base_layout()
    with tempfile.TemporaryDirectory(prefix="lks-aptclosure-") as tmp:
        gpg_env, key = make_key(os.path.join(tmp, "gnupg"))
        repo = os.path.join(tmp, "www", "repo")
        for suite, (codename, extra, pkgs) in SUITES.items():
            write_suite(repo, suite, codename, A, pkgs, extra, gpg_env)
        srv = Server(os.path.join(tmp, "www"))
        uri = f"http://127.0.0.1:{srv.port}/repo"
        try:
            with registry.Registry("anon") as reg:
                base = pin_apt_build.push_base(reg.host, layout, uri, key, suites=SUITES)
                d = run_checks(tmp, reg.host, base, uri, key)
                update_moves(tmp, repo, gpg_env, d)
        finally:
            srv.stop()
    finish("pin_apt_closure", t0)


def run_checks(tmp, host, base, uri, key):
    d = workdir(tmp, "ctx", DOCKERFILE.format(base=f"{host}/debian:1", words=" ".join(WORDS)))
    cache = os.path.join(tmp, "cache")
    t = time.time()
    r = lks(["pin", "--now", NOW, "--apt-closure"], d, cache=cache)
    check(r.rc == 0, f"pin --apt-closure exits 0 ({time.time() - t:.1f} s)", r)
    got = lock_set(d)
    st = lks(["image-cat", f"{host}/debian:1@{base}", "/var/lib/dpkg/status"], d, cache=cache)
    check(st.rc == 0, "image-cat reads the base image's dpkg status", st)
    pinned = [f"{w}={got[w][0]}" for w in WORDS if w in got]
    want, out = apt_simulate(tmp, uri, key, st.out, pinned)
    check({p: v for p, (v, _) in got.items()} == want,
          "the words plus the closure equal what apt-get install -s would install",
          f"lockstep: {sorted(got.items())}\napt: {sorted(want.items())}\n{out}")
    check(all(got[p][1] is None for p in WORDS) and
          all(c in WORDS for p, (_, c) in got.items() if p not in WORDS),
          "closure entries carry closure_of naming a word, the words none", got)
    check(got.get("cl-lib", (None,))[0] == "1.3-1" and "cl-vv-new" in got and
          "cl-alt-new" in got and "cl-exim" in got and "cl-interp" in got and
          "cl-unused" not in got,
          "versions, alternatives and virtual packages chosen as apt does", got)
    later = lock_set(d, 3)
    check(later == {"cl-unused": ("1.0-1", None)},
          "a later RUN of the stage finds what the first one installed (no closure entries)",
          later)
    r = lks(["pin", "--now", NOW], d, cache=cache)
    check(r.rc == 0 and lock_set(d) == got, "a pin without the option keeps the closure",
          f"{r}\n{lock_set(d)}")
    r = lks(["update", "--now", NOW], d, cache=cache)
    check(r.rc == 0 and lock_set(d) == got, "update keeps the closure", f"{r}\n{lock_set(d)}")
    r = lks(["outdated", "--now", NOW], d, cache=cache)
    check(r.rc in (0, 1) and "no longer installs" not in r.out + r.err,
          "outdated does not report closure entries as stale pins", r)
    return d


def update_moves(tmp, repo, gpg_env, d):
    """A newer cl-app with a new dependency: update moves the word and recomputes the closure."""
    codename, extra, _ = SUITES["stable-updates"]
    write_suite(repo, "stable-updates", codename, A,
                [("cl-app", "1.1-1", "amd64", dict(APP_DEPS, Depends="cl-newdep (>= 2)")),
                 ("cl-newdep", "2.0-1", "all", {"Depends": "cl-libdata"})],
                extra, gpg_env, date="Mon, 23 Nov 2026 10:00:00 UTC")
    r = lks(["update", "--now", NOW], d, cache=os.path.join(tmp, "cache"))
    got = lock_set(d)
    text = read(os.path.join(d, "Dockerfile")).decode()
    check(r.rc == 0 and "cl-app=1.1-1" in text and got.get("cl-app") == ("1.1-1", None) and
          got.get("cl-newdep") == ("2.0-1", "cl-app") and "cl-lib" not in got,
          "update moves a word and recomputes its closure (new dependency in, old ones out)",
          f"{r}\n{text}\n{sorted(got.items())}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Differential test: for every package of a real, signed apt repository built here (several
suites, NotAutomatic/ButAutomaticUpgrades, two architectures, epochs, '~', a virtual package,
preferences, -t), `lockstep apt-resolve` must choose what `apt-cache policy` (or, for virtual
packages, `apt-get -s install`) chooses under a private APT_CONFIG."""
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from aptrepo import (Server, apt_config, fail, lockstep_resolve, make_key, need,  # noqa: E402
                     policy_candidates, run, write_suite)

A2 = ("amd64", "arm64")

# suite -> (codename, extra Release fields, [(name, version, arch, provides)])
SUITES = {
    "stable": ("lkstest", {}, [
        ("hello", "2.10-2", "amd64", None), ("hello", "2.10-2", "arm64", None),
        ("epochpkg", "1:0.9-1", "all", None),
        ("tildepkg", "1.0~rc1-1", "all", None), ("tilde2", "1.0-1", "all", None),
        ("bpopkg", "1.0-1", "all", None), ("exppkg", "1.0-1", "all", None),
        ("amdonly", "1.0-1", "amd64", None), ("armonly", "1.0-1", "arm64", None),
        ("multiarch", "1.0-1", "amd64", None), ("multiarch", "1.1-1", "arm64", None),
        ("allpkg", "1.0-1", "all", None), ("numpkg", "1.0.9-1", "all", None),
        ("letterpkg", "1.0a-1", "all", None), ("pinned-down", "1.0-1", "all", None),
        ("pinned-ver", "1.0-1", "all", None), ("pinned-ver", "2.0-1", "amd64", None),
        ("postfixish", "3.7-1", "amd64", "mail-transport-agent-x"),
        ("nanoish", "7.2-1", "amd64", "editor-x"), ("vimish", "9.0-1", "amd64", "editor-x"),
        ("dupver", "1.0-1", "all", None), ("zero", "0-0", "all", None),
    ]),
    "stable-updates": ("lkstest-updates", {}, [
        ("hello", "2.10-3", "amd64", None), ("epochpkg", "2.0-1", "all", None),
        ("tildepkg", "1.0-1", "all", None), ("tilde2", "1.0~beta-1", "all", None),
        ("allpkg", "1.1-1", "all", None), ("numpkg", "1.0.10-1", "all", None),
        ("letterpkg", "1.0+-1", "all", None), ("pinned-down", "1.1-1", "all", None),
        ("multiarch", "1.0-2", "amd64", None),
    ]),
    "stable-security": ("lkstest-security", {}, [
        ("hello", "2.10-2+sec1", "amd64", None), ("hello", "2.10-2+sec1", "arm64", None),
        ("dupver", "1.0-1", "all", None), ("secver", "1.0-1+sec1", "amd64", None),
    ]),
    "stable-backports": ("lkstest-backports",
                         {"NotAutomatic": "yes", "ButAutomaticUpgrades": "yes"}, [
        ("bpopkg", "2.0-1~bpo1", "all", None), ("bpo-only", "3.0-1~bpo1", "all", None),
        ("hello", "3.0-1~bpo1", "amd64", None),
    ]),
    "experimental": ("lkstest-exp", {"NotAutomatic": "yes"}, [
        ("exppkg", "5.0-1", "all", None), ("exp-only", "5.0-1", "all", None),
        ("bpo-only", "4.0-1", "all", None),
    ]),
}

PREFS = """# preferences for the differential test
Package: pinned-down
Pin: release a=stable-updates
Pin-Priority: -1

Package: pinned-ver
Pin: version 1.0*
Pin-Priority: 1001

Package: secver
Pin: origin "127.0.0.1"
Pin-Priority: -7

Explanation: generic pin on a label
Package: *
Pin: release l=Lockstep experimental
Pin-Priority: 600
"""


def build_repo(tmp):
    repo = os.path.join(tmp, "www", "repo")
    os.makedirs(repo)
    gpg_env, key = make_key(os.path.join(tmp, "gnupg"))
    for suite, (codename, extra, pkgs) in SUITES.items():
        write_suite(repo, suite, codename, A2, pkgs, extra, gpg_env,
                    detached=suite == "experimental")
    return repo, key


def names():
    return sorted({p[0] for _, _, pkgs in SUITES.values() for p in pkgs})


def virtual_expect(env, virt):
    """What apt-get install picks for a virtual package: the provider, or None (an error)."""
    import subprocess
    p = subprocess.run(["apt-get", "-s", "install", virt], env=env, capture_output=True, text=True)
    for line in p.stdout.splitlines():
        if line.startswith("Inst "):
            f = line.split()
            return (f[1], f[2].strip("("))
    return None


def compare(binary, env, lists, sources, extra_args, target, label):
    reqs = names() + [n + ":arm64" for n in names()]
    want = policy_candidates(env, reqs, target)
    args = ["--sources", sources, "--add-arch", "arm64"] + extra_args
    got, err = lockstep_resolve(binary, lists, args, reqs)
    bad = []
    for r in reqs:
        w = want[r]
        g = got[r][1] if got[r] else None
        if w != g:
            bad.append(f"  {r}: apt-cache policy says {w}, lockstep says {g}")
    for virt in ("mail-transport-agent-x", "editor-x"):
        w = virtual_expect(env, virt)
        g, _ = lockstep_resolve(binary, lists, args, [virt])
        g = g[virt][:2] if g[virt] else None
        if w != g:
            bad.append(f"  {virt} (virtual): apt-get -s install picks {w}, lockstep {g}")
    if bad:
        fail(f"{label}: {len(bad)} differences\n" + "\n".join(bad) + "\nlockstep stderr:\n" + err)
    print(f"ok {label}: {len(reqs) + 2} requests agree with apt")
    return got


def main():
    need("apt-ftparchive", "dpkg-deb", "gpg", "apt-cache", "apt-get", "xz")
    binary = os.environ.get("LKS_BIN")
    if not binary:
        fail("LKS_BIN is not set")
    with tempfile.TemporaryDirectory(prefix="lks-aptdiff-") as tmp:
        repo, key = build_repo(tmp)
        srv = Server(os.path.join(tmp, "www"))
        try:
            run_all(binary, tmp, srv, key, repo)
        finally:
            srv.stop()


def run_all(binary, tmp, srv, key, repo):
    uri = f"http://127.0.0.1:{srv.port}/repo"
    line = "".join(f"deb [signed-by={key}] {uri} {s} main\n" for s in SUITES)
    results = {}
    for label, prefs, target in (("no preferences", None, None), ("preferences", PREFS, None),
                                 ("-t stable-backports", None, "stable-backports")):
        conf = os.path.join(tmp, "apt-" + label.replace(" ", "_"))
        env = apt_config(conf, line, prefs)
        run(["apt-get", "update"], env=env)
        lists = os.path.join(conf, "state", "lists")
        sources = os.path.join(conf, "etc", "sources.list")
        extra = ["--keyring", key]
        if prefs:
            extra += ["--preferences", os.path.join(conf, "etc", "preferences")]
        if target:
            extra += ["-t", target]
        results[label] = compare(binary, env, lists, sources, extra, target, label)
    check_records(results["no preferences"])
    check_etc_apt(binary, tmp, uri, key, results["preferences"])
    check_run_rewrite(binary, lists, sources, results)
    check_version_globs(binary, env, lists, sources)
    check_lock_records(binary, lists, sources, key, repo)
    check_bad_signature(binary, tmp, lists, sources, key)
    check_bad_inputs(binary, tmp, lists, sources)


def check_records(got):
    if got["hello"] != ("hello", "2.10-3", "stable-updates"):
        fail(f"hello should come from stable-updates: {got['hello']}")


def check_etc_apt(binary, tmp, uri, key, want):
    """The same sources as deb822 in sources.list.d and the pins in preferences.d, read from
    an image-like etc/apt, give the same answers as the preferences pass."""
    etc = os.path.join(tmp, "image", "etc", "apt")
    os.makedirs(os.path.join(etc, "sources.list.d"))
    os.makedirs(os.path.join(etc, "preferences.d"))
    with open(os.path.join(etc, "sources.list.d", "repo.sources"), "w") as f:
        f.write(f"Types: deb\nURIs: {uri}\nSuites: {' '.join(SUITES)}\nComponents: main\n"
                f"Signed-By: {key}\n")
    with open(os.path.join(etc, "preferences.d", "pins"), "w") as f:
        f.write(PREFS)
    with open(os.path.join(etc, "preferences.d", "ignored.txt"), "w") as f:
        f.write("Package: *\nPin: release a=stable\nPin-Priority: -1\n")
    lists = os.path.join(tmp, "apt-preferences", "state", "lists")
    reqs = names() + [n + ":arm64" for n in names()]
    got, err = lockstep_resolve(binary, lists, ["--etc-apt", etc, "--add-arch", "arm64"], reqs)
    bad = [f"  {r}: {got[r]} != {want[r]}" for r in reqs if got[r] != want[r]]
    if bad:
        fail("--etc-apt differs from the preferences pass:\n" + "\n".join(bad) + "\n" + err)
    print(f"ok image etc/apt (sources.list.d deb822 + preferences.d): {len(reqs)} agree")


def check_run_rewrite(binary, lists, sources, results):
    """A RUN command with chains, an arch qualifier and -t is rewritten with apt's choices."""
    import subprocess
    plain, bpo = results["no preferences"], results["-t stable-backports"]
    run = ("set -e; apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y hello "
           "multiarch:arm64 epochpkg || true; apt-get -t stable-backports install -y bpopkg")
    want = run.replace("hello multiarch:arm64 epochpkg", " ".join(
        (f"{n.split(':')[0]}:arm64={plain[n][1]}" if ":" in n else f"{n}={plain[n][1]}")
        for n in ("hello", "multiarch:arm64", "epochpkg")))
    want = want.replace("install -y bpopkg", f"install -y bpopkg={bpo['bpopkg'][1]}")
    p = subprocess.run([binary, "apt-resolve", "--lists", lists, "--sources", sources,
                        "--add-arch", "arm64", "--run", run], capture_output=True, text=True)
    if p.returncode != 0 or p.stdout.rstrip("\n") != want:
        fail(f"--run rewrite:\n got  {p.stdout}\n want {want}\n{p.stderr}")
    print("ok RUN rewritten as apt would install: " + want)


GLOBS = ["hello=2.10*", "hello=2.10-2*", "hello=2.10-2+SEC1", "hello=3*", "hello=2.10-?",
         "hello=*SEC*", "hello=2.*-3", "hello=*", "pinned-ver=1*", "epochpkg=1:*",
         "epochpkg=2.0*", "tildepkg=1.0~*", "multiarch:arm64=1.*", "numpkg=1.0.1*",
         "letterpkg=1.0A*", "hello=9*", "hello=2.10-[23]", "bpopkg=*bpo*"]


def check_version_globs(binary, env, lists, sources):
    """`pkg=GLOB` words (issue 11) choose the version `apt-get install -s` installs: the
    newest version matching (trailing '*' = prefix, case-insensitive, fnmatch)."""
    import re
    import subprocess
    bad = []
    for word in GLOBS:
        p = subprocess.run(["apt-get", "-s", "install", word], env=env, capture_output=True,
                           text=True)
        name = word.split("=")[0].split(":")[0]
        m = re.search(r"^Inst %s(?::\S+)? \((\S+)" % re.escape(name), p.stdout, re.M)
        want = m.group(1) if m else None
        got, _ = lockstep_resolve(binary, lists, ["--sources", sources, "--add-arch", "arm64"],
                                  [word])
        g = got[word][1] if got[word] else None
        if g != want:
            bad.append(f"  {word}: apt-get install -s installs {want}, lockstep says {g}")
    if bad:
        fail("version globs:\n" + "\n".join(bad))
    run = "apt-get install -y hello=2.10-2* 'epochpkg=1:*'"
    p = subprocess.run([binary, "apt-resolve", "--lists", lists, "--sources", sources,
                        "--run", run], capture_output=True, text=True)
    want = "apt-get install -y hello=2.10-2+sec1 epochpkg=1:0.9-1"
    if p.returncode != 0 or p.stdout.rstrip("\n") != want:
        fail(f"--run with globs:\n got  {p.stdout}\n want {want}\n{p.stderr}")
    print(f"ok {len(GLOBS)} version globs install what apt-get install -s installs; "
          f"pinned exactly: {want}")


def check_lock_records(binary, lists, sources, key, repo):
    """Every lock record names a .deb whose sha256 and size match the file in the pool, the
    suite, and the Release Date; the InRelease signature was checked with gpgv."""
    import hashlib
    import json
    import subprocess
    p = subprocess.run([binary, "apt-resolve", "--json", "--lists", lists, "--sources", sources,
                        "--keyring", key] + names(), capture_output=True, text=True)
    recs = [r for r in json.loads(p.stdout) if "error" not in r]
    if not any(r["suite"] == "experimental" for r in recs):
        fail("no record from the Release.gpg (detached signature) suite")
    if len(recs) < len(names()) - 3:
        fail(f"too few lock records: {p.stdout}")
    for r in recs:
        path = os.path.join(repo, r["filename"])
        with open(path, "rb") as f:
            data = f.read()
        if r["sha256"] != "sha256:" + hashlib.sha256(data).hexdigest() or r["size"] != len(data):
            fail(f"lock record does not match {path}: {r}")
        if not r.get("suite") or not r.get("snapshot") or r.get("signature") != "good":
            fail(f"lock record lacks suite, snapshot or a checked signature: {r}")
    print(f"ok {len(recs)} lock records match their .deb files (sha256, size), signatures good")


def check_bad_signature(binary, tmp, lists, sources, key):
    import shutil
    import subprocess
    bad = os.path.join(tmp, "lists-badsig")
    shutil.copytree(lists, bad)
    victim = [f for f in os.listdir(bad) if f.endswith("_stable_InRelease")][0]
    path = os.path.join(bad, victim)
    with open(path) as f:
        text = f.read()
    with open(path, "w") as f:
        f.write(text.replace("Codename: lkstest", "Codename: lkstesX", 1))
    p = subprocess.run([binary, "apt-resolve", "--lists", bad, "--sources", sources, "--keyring",
                        key, "hello"], capture_output=True, text=True)
    if p.returncode != 2 or "signature" not in p.stderr:
        fail(f"a tampered InRelease must fail the signature check: rc {p.returncode} {p.stderr}")
    print("ok tampered InRelease refused: " + p.stderr.strip())


def check_bad_inputs(binary, tmp, lists, sources):
    import subprocess
    p = subprocess.run([binary, "apt-resolve", "--lists", lists, "--sources", sources,
                        "no-such-pkg"], capture_output=True, text=True)
    if p.returncode == 0 or "no-such-pkg" not in p.stderr or "amd64" not in p.stderr \
            or "stable-updates" not in p.stderr:
        fail(f"missing package must name package, suites and arch: {p.stderr}")
    # A Packages file that does not match its Release entry must be refused.
    victim = [f for f in os.listdir(lists) if f.endswith("stable_main_binary-amd64_Packages")][0]
    with open(os.path.join(lists, victim), "a") as f:
        f.write("\nPackage: evil\nVersion: 9.9\nArchitecture: amd64\n")
    p = subprocess.run([binary, "apt-resolve", "--lists", lists, "--sources", sources, "hello"],
                       capture_output=True, text=True)
    if p.returncode != 2 or "sha256" not in p.stderr and "bytes" not in p.stderr:
        fail(f"tampered Packages must be refused (rc {p.returncode}): {p.stderr}")
    print("ok bad inputs: missing package and tampered Packages are reported")


if __name__ == "__main__":
    main()

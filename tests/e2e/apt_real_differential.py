#!/usr/bin/env python3
"""Differential test against the machine's own Debian archive: 50 common packages resolved by
`lockstep apt-resolve` must equal apt-cache policy's Candidate. The archive is whatever the
machine's apt sources name (read at run time); skipped (77) when it is unreachable."""
import glob
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from aptrepo import SKIP, apt_config, fail, lockstep_resolve, need, policy_candidates  # noqa: E402

PACKAGES = """nginx curl git python3 build-essential libpq-dev tini ca-certificates wget openssl
gcc make cmake vim nano less procps iproute2 iputils-ping dnsutils netcat-openbsd unzip zip
tar gzip xz-utils bzip2 zstd rsync openssh-client sudo tzdata locales gnupg jq sqlite3
libssl-dev zlib1g-dev libffi-dev python3-pip python3-venv python3-dev postgresql-client
default-mysql-client redis-tools apache2 supervisor cron htop strace file""".split()


def machine_sources(dest):
    """Copy the machine's sources (one-line and deb822) into dest; return the file list."""
    files = []
    shutil.rmtree(dest, ignore_errors=True)
    os.makedirs(dest)
    cands = ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")) + \
        sorted(glob.glob("/etc/apt/sources.list.d/*.sources"))
    for src in cands:
        if os.path.isfile(src) and os.path.getsize(src) > 0:
            dst = os.path.join(dest, os.path.basename(src))
            shutil.copy(src, dst)
            files.append(dst)
    return files


def main():
    need("apt-get", "apt-cache")
    binary = os.environ.get("LKS_BIN")
    build = os.environ.get("LKS_BUILDDIR")
    if not binary or not build:
        fail("LKS_BIN and LKS_BUILDDIR must be set")
    cache = os.path.join(build, "fixture-cache", "apt-real")
    files = machine_sources(os.path.join(cache, "etc", "sources.d"))
    if not files:
        print("SKIP: this machine has no apt sources", file=sys.stderr)
        sys.exit(SKIP)
    env = apt_config(cache, "", archs=("amd64",))
    p = subprocess.run(["apt-get", "-o", "Acquire::Retries=1", "-o", "Acquire::http::Timeout=20",
                        "update"], env=env, capture_output=True, text=True, timeout=300)
    if p.returncode != 0 or "Err:" in p.stdout or "Failed to fetch" in p.stderr:
        print("SKIP: the machine's apt sources are unreachable:\n" + p.stdout + p.stderr,
              file=sys.stderr)
        sys.exit(SKIP)
    want = policy_candidates(env, PACKAGES)
    args = []
    for f in files:
        args += ["--sources", f]
    got, err = lockstep_resolve(binary, os.path.join(cache, "state", "lists"), args, PACKAGES)
    bad = [f"  {n}: apt-cache policy says {want[n]}, lockstep says {got[n]}"
           for n in PACKAGES if want[n] != (got[n][1] if got[n] else None)]
    if bad:
        fail(f"{len(bad)} of {len(PACKAGES)} differ from apt:\n" + "\n".join(bad) + "\n" + err)
    if sum(1 for n in PACKAGES if want[n]) < 45:
        fail("apt itself found fewer than 45 of the 50 packages: the comparison proves little")
    suites = sorted({got[n][2] for n in PACKAGES if got[n]})
    print(f"ok {len(PACKAGES)} packages agree with apt-cache policy (suites: {', '.join(suites)})")
    pin_issue_example(binary, os.path.join(cache, "state", "lists"), args, want)
    snapshot_differential(binary, cache, args, want)
    closure_differential(binary, cache, args, env)
    system_lists(binary, files)


def snapshot_differential(binary, cache, args, want):
    """The index snapshot mapped in place (--snapshot) answers as apt does, cold (written) and
    warm (mapped); a damaged, foreign-version or truncated snapshot is rebuilt with a warning,
    never trusted; the closure (which scans every entry) agrees with the one built from lists."""
    lists = os.path.join(cache, "state", "lists")
    snap = os.path.join(cache, "test.snapshot")
    if os.path.exists(snap):
        os.unlink(snap)
    sargs = args + ["--snapshot", snap]

    def agree(label, expect_warning):
        got, err = lockstep_resolve(binary, lists, sargs, PACKAGES)
        bad = [n for n in PACKAGES if want[n] != (got[n][1] if got[n] else None)]
        if bad or ("rebuilding the apt index" in err) != bool(expect_warning) or \
                (expect_warning and expect_warning not in err):
            fail(f"snapshot {label}: differ from apt for {bad}; stderr: {err}")
        print(f"ok snapshot {label}: the {len(PACKAGES)} packages agree with apt-cache policy")

    agree("cold (written)", None)
    agree("warm (mapped in place)", None)
    size = os.path.getsize(snap)
    with open(snap, "r+b") as f:  # one byte in every 4 KiB block past the header
        for off in range(8192 + 100, size, 4096):
            f.seek(off)
            b = f.read(1)
            f.seek(off)
            f.write(bytes([b[0] ^ 0x5a]))
    agree("damaged in every block", "damaged")
    agree("rebuilt", None)
    with open(snap, "r+b") as f:
        f.seek(8)
        f.write((2).to_bytes(4, "little"))
    agree("of format version 2", "version 2 is not supported")
    os.truncate(snap, os.path.getsize(snap) // 2)
    agree("truncated", "truncated")
    status = os.path.join(cache, "status")
    open(status, "w").close()
    plain, _ = lockstep_closure(binary, cache, args, PACKAGES)
    mapped, err = lockstep_closure(binary, cache, sargs, PACKAGES)
    if plain != mapped or len(plain) < 150 or "rebuilding" in err:
        fail(f"closure from the mapped snapshot differs: {sorted(set(plain.items()) ^ set(mapped.items()))}\n{err}")
    print(f"ok snapshot: the closure ({len(plain)} packages) from the mapped index equals the built one")
    os.unlink(snap)


def simulate(env, pkgs):
    """{package: version} of the Inst lines of apt-get install -s --no-install-recommends."""
    out = subprocess.run(["apt-get", "install", "-s", "--no-install-recommends"] + pkgs, env=env,
                         capture_output=True, text=True).stdout
    return {m.group(1).split(":")[0]: m.group(2)
            for m in re.finditer(r"^Inst (\S+) (?:\[\S+\] )?\((\S+) ", out, re.M)}


def lockstep_closure(binary, cache, args, pkgs):
    p = subprocess.run([binary, "apt-resolve", "--lists", os.path.join(cache, "state", "lists")] +
                       args + ["--closure", os.path.join(cache, "status")] + pkgs,
                       capture_output=True, text=True)
    got = {}
    for line in p.stdout.splitlines():
        f = line.split()
        if f[0] == "+":
            got[f[1]] = f[2]
        elif f[1] != "-":
            got[f[0]] = f[1]
    return got, p.stderr


def installed_status(env, pkgs):
    """A dpkg status file with the closure of pkgs installed: their Packages stanzas (Depends,
    Provides, Multi-Arch as dpkg keeps them) with a Status line."""
    words = [f"{n}={v}" for n, v in simulate(env, pkgs).items()]
    out = subprocess.run(["apt-cache", "show", "--no-all-versions"] + words, env=env,
                         capture_output=True, text=True, check=True).stdout
    return "".join("Package:" + p.replace("\n", "\nStatus: install ok installed\n", 1) + "\n\n"
                   for p in out.split("Package:")[1:])


def closure_differential(binary, cache, args, env):
    """--apt-closure's rules against apt-get install -s for all the packages at once: on an
    empty system, then with curl's closure installed (a dpkg status written from it)."""
    status = os.path.join(cache, "status")
    for case in ("nothing installed", "curl's closure installed"):
        text = "" if case == "nothing installed" else installed_status(env, ["curl"])
        with open(status, "w") as f:
            f.write(text)
        want = simulate(env, PACKAGES)
        got, err = lockstep_closure(binary, cache, args, PACKAGES)
        got = {n: v for n, v in got.items() if n in want or n not in PACKAGES}
        if got != want or len(want) < 100 + 50 * (case == "nothing installed"):
            fail(f"closure ({case}): apt only {sorted(set(want.items()) - set(got.items()))}, "
                 f"lockstep only {sorted(set(got.items()) - set(want.items()))}\n{err}")
        print(f"ok closure ({case}): the {len(want)} packages apt-get install -s would install")
    open(status, "w").close()


def pin_issue_example(binary, lists, args, want):
    """The issue's RUN line, rewritten with apt's candidates; everything else byte-identical."""
    run = ("apt-get update && apt-get install -y --no-install-recommends ca-certificates curl "
           "tini && rm -rf /var/lib/apt/lists/*")
    p = subprocess.run([binary, "apt-resolve", "--lists", lists] + args + ["--run", run],
                       capture_output=True, text=True)
    expect = run.replace("ca-certificates curl tini", " ".join(
        f"{n}={want[n]}" for n in ("ca-certificates", "curl", "tini")))
    if p.returncode != 0 or p.stdout.rstrip("\n") != expect:
        fail(f"--run rewrite:\n got  {p.stdout}\n want {expect}\n{p.stderr}")
    print("ok RUN rewritten: " + expect)


def system_lists(binary, files):
    """The machine's own /var/lib/apt/lists, often kept compressed (.lz4, Acquire::GzipIndexes),
    against the machine's own apt-cache policy: both read the same files."""
    lists = "/var/lib/apt/lists"
    if not glob.glob(lists + "/*Packages*"):
        print("note: /var/lib/apt/lists is empty; system lists not compared")
        return
    env = dict(os.environ, LC_ALL="C")
    env.pop("APT_CONFIG", None)
    want = policy_candidates(env, PACKAGES)
    args = []
    for f in files:
        args += ["--sources", f]
    got, err = lockstep_resolve(binary, lists, args, PACKAGES)
    bad = [f"  {n}: apt-cache policy says {want[n]}, lockstep says {got[n]}"
           for n in PACKAGES if want[n] != (got[n][1] if got[n] else None)]
    if bad:
        fail("system lists: differences from apt:\n" + "\n".join(bad) + "\n" + err)
    kinds = sorted({os.path.splitext(f)[1] or "plain" for f in glob.glob(lists + "/*_Packages*")})
    print(f"ok system lists ({', '.join(kinds)}): {len(PACKAGES)} packages agree")


if __name__ == "__main__":
    main()

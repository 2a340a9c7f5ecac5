"""Shared helpers for the apt e2e tests: build a signed apt repository with real .debs,
serve it on 127.0.0.1, and drive apt-get/apt-cache under a private APT_CONFIG."""
import os
import re
import shutil
import socket
import subprocess
import sys
import time

SKIP = 77


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def need(*tools):
    for t in tools:
        if not shutil.which(t):
            print(f"SKIP: '{t}' is not installed", file=sys.stderr)
            sys.exit(SKIP)


def run(cmd, **kw):
    kw.setdefault("check", True)
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    try:
        return subprocess.run(cmd, **kw)
    except subprocess.CalledProcessError as e:
        fail(f"{' '.join(cmd)} exited {e.returncode}:\n{e.stdout}\n{e.stderr}")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server:
    """python3 -m http.server on a free loopback port, stopped by PID."""

    def __init__(self, root):
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(self.port)],
            cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        fail("http.server did not start")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(5)


def build_deb(root, name, version, arch, provides=None):
    d = os.path.join(root, "src", f"{name}_{version}_{arch}".replace(":", "%3a"))
    os.makedirs(os.path.join(d, "DEBIAN"), exist_ok=True)
    os.makedirs(os.path.join(d, "usr", "share", "doc", name), exist_ok=True)
    with open(os.path.join(d, "usr", "share", "doc", name, "README"), "w") as f:
        f.write(f"{name} {version}\n")
    ctl = (f"Package: {name}\nVersion: {version}\nArchitecture: {arch}\n"
           f"Maintainer: lockstep tests <t@example.invalid>\nDescription: test package\n"
           f" multi-line description\n .\n for {name}\n")
    if provides:
        ctl += f"Provides: {provides}\n"
    with open(os.path.join(d, "DEBIAN", "control"), "w") as f:
        f.write(ctl)
    return d


def make_key(gnupghome):
    os.makedirs(gnupghome, mode=0o700, exist_ok=True)
    env = dict(os.environ, GNUPGHOME=gnupghome)
    run(["gpg", "--batch", "--passphrase", "", "--quick-gen-key", "lockstep test <t@example.invalid>",
         "ed25519", "sign", "never"], env=env)
    key = os.path.join(gnupghome, "key.gpg")
    with open(key, "wb") as f:
        f.write(subprocess.run(["gpg", "--export"], env=env, capture_output=True, check=True).stdout)
    return env, key


def write_suite(repo, suite, codename, archs, pkgs, extra_fields, gpg_env, detached=False,
                date=None):
    """pkgs: list of (name, version, arch, provides). Writes pool + dists/suite; date (an RFC
    2822 string) replaces the Release Date."""
    pool = os.path.join(repo, "pool", suite)
    os.makedirs(pool, exist_ok=True)
    epoch = {"SOURCE_DATE_EPOCH": "1700000000"}
    for name, version, arch, provides in pkgs:
        d = build_deb(repo + "/..", name, version, arch, provides)
        fn = f"{name}_{version.split(':')[-1]}_{arch}.deb"
        run(["dpkg-deb", "--root-owner-group", "-Zgzip", "--build", d, os.path.join(pool, fn)],
            env=dict(os.environ, **epoch))
    index_suite(repo, suite, codename, archs, extra_fields, gpg_env, detached, date)


def index_suite(repo, suite, codename, archs, extra_fields, gpg_env, detached=False,
                date=None):
    """(Re)write dists/suite from what pool/suite holds now: Packages (plain, .gz, .xz), the
    Release and its signature."""
    dist = os.path.join(repo, "dists", suite)
    for arch in archs:
        bdir = os.path.join(dist, "main", f"binary-{arch}")
        os.makedirs(bdir, exist_ok=True)
        out = run(["apt-ftparchive", "--arch", arch, "packages", f"pool/{suite}"], cwd=repo).stdout
        with open(os.path.join(bdir, "Packages"), "w") as f:
            f.write(out)
        run(["gzip", "-9nkf", os.path.join(bdir, "Packages")])
        run(["xz", "-kf", os.path.join(bdir, "Packages")])
    sign_release(repo, suite, codename, archs, extra_fields, gpg_env, detached, date)


def sign_release(repo, suite, codename, archs, extra_fields, gpg_env, detached=False,
                 date=None):
    """Write dists/suite/Release over the files dists/suite holds now, and sign it; date (an
    RFC 2822 string) replaces the Release Date."""
    dist = os.path.join(repo, "dists", suite)
    opts = []
    for k, v in (("Suite", suite), ("Codename", codename), ("Origin", "Lockstep"),
                 ("Label", "Lockstep " + suite), ("Architectures", " ".join(archs)),
                 ("Components", "main")):
        opts += ["-o", f"APT::FTPArchive::Release::{k}={v}"]
    rel = run(["apt-ftparchive"] + opts + ["release", dist]).stdout
    lines = rel.splitlines(True)
    if date:
        lines = [f"Date: {date}\n" if l.startswith("Date:") else l for l in lines]
    # Extra fields (NotAutomatic ...) go right after Codename; they are not hashed content.
    for i, l in enumerate(lines):
        if l.startswith("Date:"):
            lines[i + 1:i + 1] = [f"{k}: {v}\n" for k, v in extra_fields.items()]
            break
    with open(os.path.join(dist, "Release"), "w") as f:
        f.write("".join(lines))
    if detached:  # an older-style repository: Release + Release.gpg, no InRelease
        run(["gpg", "--batch", "--yes", "--armor", "--detach-sign", "-o", os.path.join(dist, "Release.gpg"),
             os.path.join(dist, "Release")], env=gpg_env)
        return
    run(["gpg", "--batch", "--yes", "--clearsign", "-o", os.path.join(dist, "InRelease"),
         os.path.join(dist, "Release")], env=gpg_env)


def apt_config(tmp, sources_text, prefs_text=None, native="amd64", archs=("amd64", "arm64")):
    """A private apt configuration under tmp; returns the environment to run apt with."""
    for d in ("etc/sources.d", "etc/prefs.d", "etc/conf.d", "etc/trusted.d", "state/lists/partial",
              "cache/archives/partial", "log"):
        os.makedirs(os.path.join(tmp, d), exist_ok=True)
    with open(os.path.join(tmp, "etc/sources.list"), "w") as f:
        f.write(sources_text)
    prefs = os.path.join(tmp, "etc/preferences")
    with open(prefs, "w") as f:
        f.write(prefs_text or "")
    open(os.path.join(tmp, "status"), "w").close()
    arch_list = " ".join(f'"{a}";' for a in archs)
    conf = f"""Dir::Etc::sourcelist "{tmp}/etc/sources.list";
Dir::Etc::sourceparts "{tmp}/etc/sources.d";
Dir::Etc::preferences "{prefs}";
Dir::Etc::preferencesparts "{tmp}/etc/prefs.d";
Dir::Etc::parts "{tmp}/etc/conf.d";
Dir::Etc::main "{tmp}/etc/apt.conf";
Dir::Etc::trusted "{tmp}/etc/trusted.gpg";
Dir::Etc::trustedparts "{tmp}/etc/trusted.d";
Dir::State "{tmp}/state";
Dir::State::lists "{tmp}/state/lists";
Dir::State::status "{tmp}/status";
Dir::Cache "{tmp}/cache";
Dir::Log "{tmp}/log";
APT::Architecture "{native}";
APT::Architectures {{ {arch_list} }};
Acquire::GzipIndexes "false";
Acquire::Languages "none";
Acquire::IndexTargets::deb::Contents-deb::DefaultEnabled "false";
Debug::NoLocking "true";
APT::Sandbox::User "root";
"""
    path = os.path.join(tmp, "apt.conf")
    with open(path, "w") as f:
        f.write(conf)
    return dict(os.environ, APT_CONFIG=path, LC_ALL="C")


def policy_candidates(env, reqs, target=None):
    """{request: candidate or None} from one apt-cache policy call."""
    cmd = ["apt-cache"] + (["-t", target] if target else []) + ["policy"] + list(reqs)
    out = run(cmd, env=env).stdout
    got, cur = {}, None
    for line in out.splitlines():
        if line and not line.startswith(" "):
            cur = line.rstrip(":")
            got[cur] = None
        m = re.match(r"\s+Candidate: (\S+)", line)
        if m and cur is not None:
            got[cur] = None if m.group(1) == "(none)" else m.group(1)
    res = {}
    for r in reqs:
        key = r if ":" in r else r
        res[r] = got.get(key)
        if key not in got and ":" not in r:
            res[r] = got.get(r + ":amd64")
    return res


def lockstep_resolve(binary, lists, args, reqs):
    cmd = [binary, "apt-resolve", "--lists", lists] + args + list(reqs)
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode not in (0, 1):
        fail(f"{' '.join(cmd)} exited {p.returncode}: {p.stderr}")
    res = {}
    for r, line in zip(reqs, p.stdout.splitlines()):
        f = line.split()
        res[r] = None if f[1] == "-" else (f[0], f[1], f[2])
    if len(res) != len(reqs):
        fail(f"lockstep printed {len(res)} lines for {len(reqs)} requests:\n{p.stdout}")
    return res, p.stderr

"""Shared helpers for the `lockstep check` / `lockstep pin` end-to-end tests (pin_images*.py).

Every lockstep run gets its own XDG_CACHE_HOME unless a cache directory is passed, and
DOCKER_CONFIG points at a nonexistent directory unless a config is passed, so the machine's
own credentials and cache never leak in.
"""
import json
import os
import shutil
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

NOW = "2026-11-23T12:00:00Z"
FAILURES = []


def check(cond, what, detail=""):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        if detail:
            print("     " + str(detail).replace("\n", "\n     "), flush=True)
        FAILURES.append(what)
    return cond


def finish(name, t0):
    dt = time.time() - t0
    if FAILURES:
        print(f"{name}: {len(FAILURES)} FAILED ({dt:.1f} s):", flush=True)
        for f in FAILURES:
            print("  - " + f)
        sys.exit(1)
    print(f"{name}: all passed in {dt:.1f} s", flush=True)


def need_tools():
    for tool in ("docker-registry", "skopeo", "buildah"):
        if shutil.which(tool) is None:
            print(f"skip: {tool} not installed (tests/install-deps)")
            sys.exit(77)


class Result:
    def __init__(self, p, dt):
        self.rc, self.out, self.err, self.dt = p.returncode, p.stdout, p.stderr, dt

    def __str__(self):
        return f"rc {self.rc} in {self.dt:.2f} s\nstdout:\n{self.out}\nstderr:\n{self.err}"


def lks(args, cwd, cache=None, docker_config=None, env=None, timeout=60):
    """Run the real binary in cwd; cache is an XDG_CACHE_HOME (default: cwd/.xdg-cache)."""
    e = dict(os.environ)
    e["XDG_CACHE_HOME"] = cache or os.path.join(cwd, ".xdg-cache")
    e["DOCKER_CONFIG"] = docker_config or "/nonexistent-lockstep-docker-config"
    e.pop("LOCKSTEP_NOW", None)
    e.update(env or {})
    t0 = time.perf_counter()
    p = subprocess.run([BIN] + args, cwd=cwd, env=e, capture_output=True, text=True,
                       errors="replace", timeout=timeout)
    return Result(p, time.perf_counter() - t0)


def write(path, data):
    with open(path, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def snapshot(d):
    """{name: (bytes, mtime_ns)} for every regular file directly in d (not the cache)."""
    out = {}
    for n in sorted(os.listdir(d)):
        p = os.path.join(d, n)
        if os.path.isfile(p):
            out[n] = (read(p), os.stat(p).st_mtime_ns)
    return out


def workdir(parent, name, dockerfile=None):
    d = os.path.join(parent, name)
    os.makedirs(d)
    if dockerfile is not None:
        write(os.path.join(d, "Dockerfile"), dockerfile)
    return d


def grep_tree(root, needles):
    """Names of files under root containing any of the byte strings in needles."""
    hits = []
    for dp, _, fs in os.walk(root):
        for f in fs:
            try:
                data = read(os.path.join(dp, f))
            except OSError:
                continue
            if any(n in data for n in needles):
                hits.append(os.path.join(dp, f))
    return hits


def docker_config(parent, host, user, password):
    d = tempfile.mkdtemp(prefix="dc-", dir=parent)
    import base64
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump({"auths": {host: {"auth": auth}}}, f)
    return d, auth


class FaultProxy:
    """tests/servers/faultproxy.py in front of upstream (http://HOST:PORT)."""

    def __init__(self, upstream, parent):
        self.upstream, self.parent = upstream, parent
        self.proc = None

    def start(self):
        pf = os.path.join(tempfile.mkdtemp(prefix="fp-", dir=self.parent), "port")
        self.proc = subprocess.Popen([sys.executable,
                                      os.path.join(SRC, "tests", "servers", "faultproxy.py"),
                                      "--port", "0", "--port-file", pf,
                                      "--upstream", self.upstream],
                                     stdout=subprocess.DEVNULL)
        deadline = time.time() + 15
        while not os.path.exists(pf):
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("faultproxy did not start")
            time.sleep(0.05)
        with open(pf) as f:
            self.port = int(f.read().strip())
        self.host = f"127.0.0.1:{self.port}"
        return self

    def _req(self, method, path, body=None):
        import urllib.request
        req = urllib.request.Request(f"http://{self.host}{path}", method=method,
                                     data=None if body is None else json.dumps(body).encode())
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read() or b"null")

    def rules(self, rules):
        self._req("POST", "/_fault/reset")
        self._req("PUT", "/_fault/rules", rules)

    def log(self):
        """The requests the proxy has seen since the last rules() or reset."""
        return self._req("GET", "/_fault/log")

    def used(self):
        """How many times each current rule was applied."""
        return [r.get("used", 0) for r in self._req("GET", "/_fault/rules")]

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

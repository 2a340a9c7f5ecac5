#!/usr/bin/env python3
"""Benchmark: what users on a real network wait for.

A loopback proxy (tests/servers/latencyproxy.py) in front of each server adds a fixed delay to
every response, and one to every new connection (its handshake): LKS_BENCH_DELAY_MS (default 50,
a typical round trip to a registry or a package index far away). Every case runs through the same proxies with the delay and without it,
alternately, medians of LKS_BENCH_RUNS rounds (default 3). The proxies count the requests, which
gives each case's peer from the same run: the same requests one after another, each waiting for
the delay (the least a client that never overlaps its requests would wait).

  outdated  cold `outdated --refresh` of a lock of 300 image pins (30 behind), one registry
            (goal with 50 ms: <= 2 s)
  pin       cold `pin --dry-run` of 20 images across 4 registries (2 anonymous, 2 with Bearer
            tokens whose token servers sit behind a delaying proxy too), empty cache
            (goal <= 0.5 s)
  python    cold py-compile of py_bench.py's 100-project set (goal <= 1 s), and warm: every
            project page revalidated, 304 (goal <= 0.3 s)

Exit 77 when docker-registry, skopeo or Debian's pip is missing; 0 otherwise (figures, not
assertions: the machine is shared).
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import socket

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from pin_bench import BIN, BUILD, IMAGES, NOW, SRC, env_for, registry  # noqa: E402
import outdated_bench  # noqa: E402
import py_bench  # noqa: E402

DELAY = float(os.environ.get("LKS_BENCH_DELAY_MS", "50")) / 1000
RUNS = int(os.environ.get("LKS_BENCH_RUNS", "3"))
PROXY = os.path.join(SRC, "tests", "servers", "latencyproxy.py")


class Proxy:
    """latencyproxy in front of upstream (host:port or http://host:port)."""

    def __init__(self, upstream):
        upstream = upstream.split("://", 1)[-1].rstrip("/")
        self.p = subprocess.Popen([sys.executable, PROXY, "--upstream", upstream],
                                  stdout=subprocess.PIPE, text=True)
        line = self.p.stdout.readline().split()
        if line[:1] != ["PORT"]:
            raise RuntimeError("latencyproxy did not start")
        self.host = "127.0.0.1:" + line[1]
        self.control = int(line[3])

    def _call(self, line):
        with socket.create_connection(("127.0.0.1", self.control)) as s:
            s.sendall(line.encode() + b"\n")
            return s.makefile().readline()

    def delay(self, seconds):
        self._call(f"delay {seconds * 1000}")

    def stats(self):
        """{"connections", "requests"} since the last call."""
        return json.loads(self._call("stats"))

    def requests(self):
        return self.stats()["requests"]

    def stop(self):
        self.p.terminate()
        self.p.wait(timeout=10)


class TokenRegistry(registry.Registry):
    """A Bearer-token registry whose token server is reached through a delaying proxy."""

    def _auth_config(self):
        cfg = super()._auth_config()
        self.token_proxy = Proxy(self.token_url.rsplit("/", 1)[0])
        cfg["token"]["realm"] = f"http://{self.token_proxy.host}/token"
        return cfg

    def stop(self):
        if getattr(self, "token_proxy", None):
            self.token_proxy.stop()
        super().stop()


def timed(cmd, cwd, env, ok=(0,)):
    t0 = time.perf_counter()
    p = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    dt = time.perf_counter() - t0
    if p.returncode not in ok:
        raise RuntimeError(f"{' '.join(cmd[:3])}: exit {p.returncode}: {p.stderr[-2000:]}")
    return dt


def rounds(proxies, run):
    """run() with and without the delay, alternately: (median without, median with, requests
    and connections of one run)."""
    out = {0: [], DELAY: []}
    reqs = conns = 0
    for _ in range(RUNS):
        for d in (0, DELAY):
            for px in proxies:
                px.delay(d)
                px.stats()
            out[d].append(run())
            st = [px.stats() for px in proxies]
            reqs = sum(x["requests"] for x in st)
            conns = sum(x["connections"] for x in st)
    return statistics.median(out[0]), statistics.median(out[DELAY]), reqs, conns


def bench_outdated(tmp, storage):
    with registry.Registry("anon", storage=storage) as reg:
        px = Proxy(f"http://{reg.host}")
        try:
            body, mt = outdated_bench.seed_tags(reg.host)
            d, env = outdated_bench.prepare(tmp, px.host)
            outdated_bench.move_tags(reg.host, body, mt)
            cmd = [BIN, "outdated", "--refresh", "--now", outdated_bench.LATER]
            return rounds([px], lambda: timed(cmd, d, env, ok=(1,)))
        finally:
            px.stop()


def bench_pin(tmp, storage):
    regs = [registry.Registry("anon", storage=storage), TokenRegistry("token", storage=storage),
            registry.Registry("anon", storage=storage), TokenRegistry("token", storage=storage)]
    pxs = []
    try:
        for r in regs:
            r.start()
            pxs.append(Proxy(f"http://{r.host}"))
        d = os.path.join(tmp, "pin20")
        os.makedirs(d)
        with open(os.path.join(d, "Dockerfile"), "w") as f:
            f.write("".join(f"FROM {px.host}/{ref} AS s{i}_{j}\n"
                            for i, px in enumerate(pxs) for j, ref in enumerate(IMAGES)))
        env = env_for(d)

        def run():
            shutil.rmtree(os.path.join(d, "cache"), ignore_errors=True)
            return timed([BIN, "pin", "--dry-run", "-q", "--now", NOW], d, env)
        every = pxs + [r.token_proxy for r in regs if getattr(r, "token_proxy", None)]
        return rounds(every, run)
    finally:
        for px in pxs:
            px.stop()
        for r in regs:
            r.stop()


def bench_python(tmp):
    srv = py_bench.Server(py_bench.fixture())
    px = Proxy(srv.url.rsplit("/simple/", 1)[0])
    try:
        work = os.path.join(tmp, "py")
        os.makedirs(work)
        with open(os.path.join(work, "requirements.in"), "w") as f:
            f.write("".join(py_bench.name(i) + "\n" for i in range(py_bench.ROOTS)))
        url = f"http://{px.host}/simple/"
        cache = os.path.join(work, "cache")

        def cold():
            shutil.rmtree(cache, ignore_errors=True)
            return py_bench.lockstep(work, url, cache)[0] / 1000
        c = rounds([px], cold)
        py_bench.lockstep(work, url, cache)
        w = rounds([px], lambda: py_bench.lockstep(work, url, cache)[0] / 1000)
        return c, w
    finally:
        px.stop()
        srv.stop()


def report(rows):
    print(f"latency benchmark: {DELAY * 1000:.0f} ms added to every response by a loopback "
          f"proxy; medians of {RUNS} rounds; load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} CPUs")
    print("serial: the run's requests one after another, each waiting the delay (the peer)")
    print(f"{'case':<40} {'no delay':>9} {'delay':>9} {'requests':>8} {'conns':>5} "
          f"{'serial':>8}  {'delay/serial':>12}  goal")
    for name, (base, slow, reqs, conns), goal in rows:
        serial = reqs * DELAY
        verdict = "" if goal is None else ("ok" if slow <= goal else "MISSED") + \
            f" (<= {goal:g} s)"
        print(f"{name:<40} {base:>7.2f} s {slow:>7.2f} s {reqs:>8} {conns:>5} {serial:>6.2f} s  "
              f"{slow / serial if serial else 0:>11.2f}x  {verdict}")


def main():
    for tool in ("docker-registry", "skopeo"):
        if shutil.which(tool) is None:
            print(f"skip: {tool} not installed")
            return 77
    if subprocess.run([py_bench.PY, "-m", "pip", "--version"], capture_output=True).returncode:
        print("skip: Debian's pip is not installed")
        return 77
    storage, _ = registry.seed(os.path.abspath(BUILD))
    tmp = tempfile.mkdtemp(prefix="lks-latency-bench-")
    try:
        outdated = bench_outdated(tmp, storage)
        pin = bench_pin(tmp, storage)
        py_cold, py_warm = bench_python(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report([("outdated --refresh, 300 image pins", outdated, 2.0),
            ("pin, 20 images on 4 registries, cold", pin, 0.5),
            ("Python, 100 projects, cold", py_cold, 1.0),
            ("Python, 100 projects, warm (304s)", py_warm, 0.3)])
    return 0


if __name__ == "__main__":
    sys.exit(main())

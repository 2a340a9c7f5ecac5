#!/usr/bin/env python3
"""Benchmark `lockstep outdated` on a lock of 300 image pins; prints medians and peer ratios.

  warm   300 pins (30 of them behind a moved tag) answered from the cache (goal <= 100 ms)
  cold   the same with --refresh: 300 tag lookups against the loopback registry (reference)

Peers measured in the same run: `skopeo inspect --raw` of ONE image from the same registry
(what a shell script looping over the pins would pay per pin) and `python3 -c pass` (the
process floor of any script-based checker). Reuses pin_bench's timing (hyperfine when
installed, else Python; LKS_BENCH_RUNS runs, default 20). Exits 1 when the warm median misses
the goal by more than 2x (LKS_BENCH_STRICT=1: at all), 77 when the registry tools are missing.
"""
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pin_bench import BIN, BUILD, RUNS, env_for, have_hyperfine, measure, registry  # noqa: E402

PINS = 300
MOVED = 30
T0 = "2026-11-01T00:00:00Z"
LATER = "2026-12-11T00:00:00Z"


def seed_tags(host):
    """bench:t0..t299 all on single:1's manifest; then t0..t29 moved to a new digest."""
    subprocess.run(["skopeo", "copy", "--src-tls-verify=false", "--dest-tls-verify=false",
                    f"docker://{host}/single:1", f"docker://{host}/bench:base"], check=True,
                   capture_output=True)
    body = registry._get_manifest(host, "bench", "base")
    mt = json.loads(body)["mediaType"]
    for i in range(PINS):
        registry._put_manifest(host, "bench", f"t{i}", mt, body)
    return body, mt


def move_tags(host, body, mt):
    m = json.loads(body)
    with urllib.request.urlopen(f"http://{host}/v2/bench/blobs/{m['config']['digest']}") as r:
        cfg = json.loads(r.read())
    cfg["created"] = "2026-11-05T00:00:00Z"
    data = json.dumps(cfg).encode()
    m["config"]["digest"] = registry._push_blob(host, "bench", data)
    m["config"]["size"] = len(data)
    new = json.dumps(m).encode()
    for i in range(MOVED):
        registry._put_manifest(host, "bench", f"t{i}", mt, new)


def prepare(tmp, host):
    d = os.path.join(tmp, "proj")
    os.makedirs(d)
    with open(os.path.join(d, "Dockerfile"), "w") as f:
        f.write("".join(f"FROM {host}/bench:t{i} AS s{i}\n" for i in range(PINS)))
    env = env_for(d)
    p = subprocess.run([BIN, "pin", "-q", "--now", T0], cwd=d, env=env, capture_output=True,
                       text=True, timeout=600)
    if p.returncode != 0:
        raise RuntimeError(f"pin of {PINS} references: exit {p.returncode}: {p.stderr}")
    return d, env


def main():
    for tool in ("docker-registry", "skopeo"):
        if shutil.which(tool) is None:
            print(f"skip: {tool} not installed")
            return 77
    storage, _ = registry.seed(os.path.abspath(BUILD))
    tmp = tempfile.mkdtemp(prefix="lks-outdated-bench-")
    try:
        with registry.Registry("anon", storage=storage) as reg:
            body, mt = seed_tags(reg.host)
            d, env = prepare(tmp, reg.host)
            move_tags(reg.host, body, mt)
            cmd = f"{shlex.quote(BIN)} outdated --now {LATER}"
            p = subprocess.run(shlex.split(cmd + " --format json"), cwd=d, env=env,
                               capture_output=True, text=True)
            j = json.loads(p.stdout)
            behind = sum("behind" in x["flags"] for x in j["pins"])
            if p.returncode != 1 or len(j["pins"]) != PINS or behind != MOVED:
                raise RuntimeError(f"outdated: exit {p.returncode}, {len(j['pins'])} pins, "
                                   f"{behind} behind: {p.stderr}")
            warm = measure(cmd, d, env, ok_codes=(1,))
            cold = measure(cmd + " --refresh", d, env, ok_codes=(1,))
            skopeo = measure(f"skopeo inspect --raw --tls-verify=false "
                             f"docker://{reg.host}/bench:t{PINS - 1}", d, env)
            py = measure("/usr/bin/python3 -c pass", d, env)
            floor = measure(f"{shlex.quote(BIN)} --help", d, env)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    tool = "hyperfine" if have_hyperfine() else "python"
    print(f"lockstep outdated benchmark: {PINS} image pins ({MOVED} behind), median of {RUNS} "
          f"runs ({tool})")
    rows = [("outdated warm (cache), 300 pins", warm, 100.0),
            ("outdated cold (--refresh, loopback registry)", cold, None),
            ("peer: skopeo inspect --raw, ONE image", skopeo, None),
            ("peer: python3 -c pass (process floor)", py, None),
            ("lockstep --help (start-up floor)", floor, None)]
    print(f"{'case':<46} {'median':>9} {'cpu':>8}  {'ratio to warm':>13}  goal")
    for name, (ms, cpu), goal in rows:
        ratio = ms / warm[0] if warm[0] else 0
        verdict = "" if goal is None else ("ok" if ms <= goal else "MISSED") + f" (<= {goal:g} ms)"
        print(f"{name:<46} {ms:>6.1f} ms {cpu:>5.1f} ms  {ratio:>12.2f}x  {verdict}")
    print(f"warm outdated of {PINS} pins costs {warm[0] / skopeo[0]:.2f}x one skopeo inspect "
          f"and {warm[0] / py[0]:.2f}x an empty python3")
    limit = 1.0 if os.environ.get("LKS_BENCH_STRICT") == "1" else 2.0
    return 1 if warm[0] > 100.0 * limit else 0


if __name__ == "__main__":
    sys.exit(main())

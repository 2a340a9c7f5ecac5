#!/usr/bin/python3
"""End-to-end: `lockstep pin` commits its files all or nothing, across a kill and a full disk.

One pin rewrites three files: two Dockerfiles and the lock (each run starts from the same old
state, offline from a warm cache, so the new state is always the same bytes). A run is killed
or starved of space during its write phase; the state left must then be, once the next
lockstep run has looked at it, either every old file or every new file, with no temp file and
no intent record left:

- a kill at each rename (strace -e inject=rename:signal=KILL:when=N, N = 1..4: the intent
  record's rename is the commit point, then the three files), recovered by `check`: N = 1 gives
  the old files, N >= 2 the new ones;
- the kill loop: 100 runs killed at a random system call of the write phase (one traced run
  lists the calls from the commit's lock to the end; each run is killed at one of them,
  chosen at random), each recovered by `check`, both outcomes seen;
- ENOSPC: the files on a small tmpfs with 0..5 pages left: a run either succeeds or exits 2
  with "No space left on device" and the old files (mounting needs root: skipped otherwise).
"""
import os
import random
import re
import shutil
import subprocess
import tempfile
import time

from pinlib import BIN, BUILD, NOW, check, finish, lks, need_tools, read, registry, write

FILES = ("Dockerfile", "Dockerfile.web", "lockstep.lock")
PIN = ["pin", "--offline", "--now", NOW, "Dockerfile", "Dockerfile.web"]
# strace's view of the write phase: the calls a commit makes.
WRITE_CALLS = "openat,write,fchmod,fsync,close,rename,unlink,flock,getdents64,unlinkat"
# A traced run must not end in LeakSanitizer, which cannot run under ptrace.
ENV = {"ASAN_OPTIONS": "detect_leaks=0:abort_on_error=1"}


def old_state(h, facts):
    """The lock pins single:1 in Dockerfile; multi:1 (both files) is not pinned yet."""
    d1 = f"FROM {h}/single:1@{facts['single:1']['digest']}\nCOPY --from={h}/multi:1 /x /x\n"
    d2 = f"FROM {h}/multi:1 AS web\nRUN true\n"
    return d1, d2


def state_of(d):
    return tuple(read(os.path.join(d, f)) if os.path.exists(os.path.join(d, f)) else None
                 for f in FILES)


def leftovers(d):
    """Temp files and intent records: anything but the three files and the cache."""
    return sorted(n for n in os.listdir(d) if n not in FILES and n != ".xdg-cache")


def restore(d, old):
    for n in leftovers(d):
        os.unlink(os.path.join(d, n))
    for f, data in zip(FILES, old):
        write(os.path.join(d, f), data)


def prepare(tmp, h, facts):
    """A directory in the old state with a warm cache, and the old and new states' bytes."""
    d = os.path.join(tmp, "work")
    os.makedirs(d)
    d1, d2 = old_state(h, facts)
    write(os.path.join(d, "Dockerfile"), f"FROM {h}/single:1\n")
    r = lks(["pin", "--now", NOW, "Dockerfile"], d)
    check(r.rc == 0, "the old lock: pin single:1", r)
    write(os.path.join(d, "Dockerfile"), d1)
    write(os.path.join(d, "Dockerfile.web"), d2)
    old = state_of(d)
    r = lks(PIN[:1] + PIN[2:], d)  # online once: the cache is warm for every --offline run
    new = state_of(d)
    check(r.rc == 0 and all(new) and all(a != b for a, b in zip(old, new)),
          "a pin that changes all three files", r)
    restore(d, old)
    r = lks(PIN, d)
    check(r.rc == 0 and state_of(d) == new, "offline from the warm cache: the same new state", r)
    return d, old, new


def traced(d, extra, timeout=60):
    e = dict(os.environ)
    e.update(ENV)
    e["XDG_CACHE_HOME"] = os.path.join(d, ".xdg-cache")
    e["DOCKER_CONFIG"] = "/nonexistent-lockstep-docker-config"
    return subprocess.run(["strace", "-f", "-qq"] + extra + [BIN] + PIN, cwd=d, env=e,
                          capture_output=True, text=True, timeout=timeout)


def recovered(d, old, new, what):
    """The next run (check) sees a consistent state and leaves nothing behind."""
    r = lks(["check", "Dockerfile", "Dockerfile.web"], d, env=ENV)
    st = state_of(d)
    ok = st in (old, new) and not leftovers(d) and r.rc in (0, 1)
    check(ok, what, f"{r}\nleft: {leftovers(d)}, state is "
          f"{'old' if st == old else 'new' if st == new else 'MIXED'}")
    return "old" if st == old else "new" if st == new else "mixed"


def test_kill_at_each_rename(d, old, new):
    for n in range(1, 5):
        restore(d, old)
        p = traced(d, ["-o", "/dev/null", "-e", "trace=rename",
                       "-e", f"inject=rename:signal=KILL:when={n}"])
        killed = p.returncode != 0
        left = leftovers(d)
        journal = "lockstep.lock.commit" in left
        check(killed and journal == (n >= 2),
              f"rename {n} killed: intent record {'present' if journal else 'absent'}",
              f"rc {p.returncode}, left {left}, stderr {p.stderr[-500:]}")
        got = recovered(d, old, new, f"kill at rename {n}, then check: all old or all new, "
                        "no temp file, no intent record")
        check(got == ("old" if n == 1 else "new"),
              f"kill at rename {n}: {'old' if n == 1 else 'new'} files after recovery", got)
    restore(d, old)
    r = lks(PIN, d, env=ENV)
    check(r.rc == 0 and state_of(d) == new and not leftovers(d), "then pin completes", r)


def write_phase(d, old):
    """The write phase of an untouched run as (syscall, n) pairs: the nth call of that syscall
    by the main thread (strace counts injections per syscall and per tracee), from the
    commit's flock (the last one: recovery takes one first) to the end of the run."""
    restore(d, old)
    log = os.path.join(os.path.dirname(d), "strace.log")
    p = traced(d, ["-o", log, "-e", "trace=" + WRITE_CALLS])
    calls, count, main = [], {}, None
    for ln in open(log):
        m = re.match(r"(\d+)\s+(\w+)\(", ln)
        if not m:
            continue  # "<... resumed>" halves and exits
        main = main or m.group(1)
        if m.group(1) == main:
            count[m.group(2)] = count.get(m.group(2), 0) + 1
            calls.append((m.group(2), count[m.group(2)]))
    flocks = [i for i, c in enumerate(calls) if c[0] == "flock"]
    check(p.returncode == 0 and len(flocks) >= 2, "a traced run completes and takes the commit "
          "lock", f"rc {p.returncode}, {len(flocks)} flock calls\n{p.stderr[-500:]}")
    return calls[flocks[-1]:] if flocks else calls


def test_kill_loop(d, old, new, runs=100):
    phase = write_phase(d, old)
    print(f"       write phase: {len(phase)} system calls", flush=True)
    rng = random.Random(int(os.environ.get("LKS_KILL_SEED", time.time())))
    seen = {"old": 0, "new": 0, "mixed": 0}
    for i in range(runs):
        restore(d, old)
        call, n = rng.choice(phase)
        p = traced(d, ["-o", "/dev/null", "-e", "trace=" + call,
                       "-e", f"inject={call}:signal=KILL:when={n}"])
        check(p.returncode != 0, f"kill loop {i + 1}: killed at {call} #{n}",
              f"rc {p.returncode}")
        seen[recovered(d, old, new, f"kill loop {i + 1}: killed at {call} #{n}, then check: "
                       "all old or all new")] += 1
    print(f"       after recovery: {seen['old']} old, {seen['new']} new, {seen['mixed']} mixed",
          flush=True)
    check(seen["mixed"] == 0 and seen["old"] > 0 and seen["new"] > 0,
          f"kill loop: {runs} runs killed in the write phase, each left a consistent set", seen)


def mount_tmpfs(path, size):
    if os.geteuid() != 0:
        return "not root (mounting a tmpfs needs root)"
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", path],
                       capture_output=True, text=True)
    return None if r.returncode == 0 else "cannot mount a tmpfs: " + r.stderr.strip()


def test_enospc(tmp, d, old, new):
    mnt = os.path.join(tmp, "small")
    os.makedirs(mnt)
    why = mount_tmpfs(mnt, "256k")
    if why:
        print(f"skip ENOSPC on a small tmpfs: {why}", flush=True)
        return
    cache = os.path.join(d, ".xdg-cache")
    outcomes = []
    try:
        for pages in range(0, 6):
            for n in os.listdir(mnt):
                os.unlink(os.path.join(mnt, n))
            for f, data in zip(FILES, old):
                write(os.path.join(mnt, f), data)
            st = os.statvfs(mnt)
            filler = st.f_bavail * st.f_frsize - pages * st.f_frsize
            with open(os.path.join(mnt, "filler"), "wb") as fh:
                fh.write(b"\0" * filler)
            r = lks(PIN, mnt, cache=cache, env=ENV)
            os.unlink(os.path.join(mnt, "filler"))
            st_now = state_of(mnt)
            left = sorted(set(os.listdir(mnt)) - set(FILES))
            if r.rc == 0:
                ok = st_now == new
            else:
                ok = (r.rc == 2 and st_now == old and "No space left on device" in r.err
                      and "nothing written" in r.err)
            check(ok and not left, f"ENOSPC with {pages} pages free: exit {r.rc}, "
                  f"{'new' if st_now == new else 'old' if st_now == old else 'MIXED'} files, "
                  "no temp file", f"{r}\nleft: {left}")
            outcomes.append(r.rc)
    finally:
        subprocess.run(["umount", mnt])
    check(2 in outcomes and 0 in outcomes and outcomes.index(0) > 1,
          "ENOSPC: a first temp file written and a later one refused is an error too", outcomes)


def main():
    need_tools()
    if shutil.which("strace") is None:
        print("skip: strace not installed (tests/install-deps)")
        raise SystemExit(77)
    t0 = time.time()
    storage, facts = registry.seed(os.path.abspath(BUILD))
    tmp = tempfile.mkdtemp(prefix="lks-pin-commit-")
    try:
        with registry.Registry("anon", storage=storage) as reg:
            d, old, new = prepare(tmp, reg.host, facts)
        test_kill_at_each_rename(d, old, new)
        test_kill_loop(d, old, new)
        test_enospc(tmp, d, old, new)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    finish("pin_commit", t0)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""End-to-end: libcurl, libarchive, libcrypto, sqlite3 and ISA-L are loaded on first use, not at
start-up (issue 2's `check` <= 10 ms goal, issue 15's start-up; common/dynlib.h).

Runs the real binary with the dynamic loader's own trace (LD_DEBUG=libs):
- `--help`, `--version`, `check --help` and `check` on the 200-line multi-stage fixture load
  none of them, and print exactly what they print without the trace;
- `resolve` against a loopback registry that answers 404 loads libcurl and reports the 404; `diff` of a file that is not an archive loads libarchive and fails with
  libarchive's own message;
- with a stand-in libcurl.so.4 / libarchive.so.13 / libsqlite3.so.0 that lacks their symbols first on
  LD_LIBRARY_PATH (built here with cc), the command that needs the library fails with one
  clear message naming it and what it is needed for, and `check` is unaffected.
"""
import http.server
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time

from pinlib import SRC, check, finish, lks, write

FIXTURE = os.path.join(SRC, "fixtures", "dockerfiles", "36-bench-200-lines.Dockerfile")
LAZY = ("libcurl", "libarchive", "libcrypto", "libssl", "libsqlite3", "libisal")


def loaded(err):
    """Libraries the dynamic loader searched for, from an LD_DEBUG=libs trace."""
    return re.findall(r"find library=(\S+?) ", err)


class NotFound(http.server.BaseHTTPRequestHandler):
    """A registry that has nothing: every request gets 404 (no retries, a quick answer)."""

    requests = 0

    def answer(self):
        NotFound.requests += 1
        body = b'{"errors":[{"code":"NAME_UNKNOWN"}]}'
        self.send_response(404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_HEAD = answer

    def log_message(self, *args):
        pass


def empty_registry():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), NotFound)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def test_startup_loads_neither(d):
    for args in (["--help"], ["--version"], ["check", "--help"], ["check"]):
        plain = lks(args, d)
        traced = lks(args, d, env={"LD_DEBUG": "libs"})
        libs = loaded(traced.err)
        lazy = [lib for lib in libs if lib.startswith(LAZY)]
        check(libs and not lazy, f"`lockstep {' '.join(args)}` loads none of libcurl, "
              f"libarchive, libcrypto, sqlite3, ISA-L", f"loaded: {libs}")
        check(plain.rc == traced.rc and plain.out == traced.out,
              f"`lockstep {' '.join(args)}`: same output with the loader trace", traced)
    r = lks(["check"], d)
    check(r.rc == 1 and r.out.count("is not pinned to a digest") >= 10 and r.err == "",
          "check on the 200-line fixture still reports its unpinned images", r)


def test_first_use_loads(d, host):
    r = lks(["resolve", f"{host}/x:1"], d, env={"LD_DEBUG": "libs"})
    check(any(lib.startswith("libcurl") for lib in loaded(r.err)),
          "resolve loads libcurl on its first transfer", r)
    check(r.rc == 2 and "tag not found in registry" in r.err and NotFound.requests > 0,
          "resolve against a registry that answers 404: 'tag not found' (curl works)", r)
    write(os.path.join(d, "garbage.tar"), "not an archive\n" * 10)
    r = lks(["diff", "docker-archive:garbage.tar", "docker-archive:garbage.tar"], d,
            env={"LD_DEBUG": "libs"})
    check(any(lib.startswith("libarchive") for lib in loaded(r.err)),
          "diff loads libarchive on the first archive", r)
    check(r.rc == 2 and "Unrecognized archive format" in r.err,
          "diff of a non-archive: libarchive's own message (libarchive works once loaded)", r)


def build_stand_ins(d):
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        return None
    fake = os.path.join(d, "fake")
    os.makedirs(fake)
    write(os.path.join(fake, "f.c"), "int lks_stand_in;\n")
    for so in ("libcurl.so.4", "libarchive.so.13", "libsqlite3.so.0"):
        subprocess.run([cc, "-shared", "-fPIC", "-o", os.path.join(fake, so),
                        "-Wl,-soname," + so, os.path.join(fake, "f.c")], check=True)
    return fake


def test_broken_library(d, host):
    fake = build_stand_ins(d)
    if not check(fake is not None, "a C compiler to build stand-in libraries"):
        return
    env = {"LD_LIBRARY_PATH": fake}
    r = lks(["resolve", f"{host}/x:1"], d, env=env)
    want = "cannot load 'libcurl.so.4', needed for network access: "
    check(r.rc == 2 and want in r.err and "undefined symbol: curl_" in r.err and
          r.err.count("\n") == 1, "a libcurl without its symbols: one clear message, exit 2", r)
    r = lks(["diff", "docker-archive:garbage.tar", "docker-archive:garbage.tar"], d, env=env)
    want = "cannot load 'libarchive.so.13', needed for reading archives: "
    check(r.rc == 2 and want in r.err and "undefined symbol: archive_" in r.err,
          "a libarchive without its symbols: one clear message, exit 2", r)
    sq = os.path.join(d, "fake-sqlite")
    os.makedirs(sq)
    os.link(os.path.join(fake, "libsqlite3.so.0"), os.path.join(sq, "libsqlite3.so.0"))
    pd = os.path.join(d, "pin-sqlite")
    os.makedirs(pd)
    write(os.path.join(pd, "Dockerfile"), f"FROM {host}/x:1\n")
    r = lks(["pin", "--dry-run"], pd, env={"LD_LIBRARY_PATH": sq})
    want = "warning: cache not used: cannot load 'libsqlite3.so.0', needed for the cache: "
    check(r.rc == 2 and want in r.err and "undefined symbol: sqlite3_" in r.err and
          "tag not found" in r.err, "a sqlite3 without its symbols: one clear warning, the "
          "command goes on without the cache", r)
    plain = lks(["check"], d)
    r = lks(["check"], d, env=env)
    check(r.rc == plain.rc == 1 and r.out == plain.out and r.err == "",
          "check does not notice broken network, archive and cache libraries", r)


def main():
    t0 = time.time()
    d = tempfile.mkdtemp(prefix="lks-startup-")
    try:
        shutil.copy(FIXTURE, os.path.join(d, "Dockerfile"))
        test_startup_loads_neither(d)
        srv = empty_registry()
        host = f"127.0.0.1:{srv.server_address[1]}"
        try:
            test_first_use_loads(d, host)
            test_broken_library(d, host)
        finally:
            srv.shutdown()
            srv.server_close()
    finally:
        shutil.rmtree(d, ignore_errors=True)
    finish("startup", t0)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Hostile-size indexes: a 200 MB Packages file is streamed (bounded memory, its digest
checked) and resolved; a single 64 MB paragraph and a 64 MB line are refused with a clear
error, also in bounded memory. Generated files are cached under $LKS_BUILDDIR/fixture-cache."""
import hashlib
import os
import resource
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from aptrepo import fail  # noqa: E402

MB = 1 << 20
PREFIX = "127.0.0.1_big_dists_{}_"


def write_release(d, suite, digest, size):
    with open(os.path.join(d, PREFIX.format(suite) + "Release"), "w") as f:
        f.write(f"Suite: {suite}\nCodename: {suite}\nDate: Sat, 10 Jun 2023 08:57:18 UTC\n"
                f"SHA256:\n {digest} {size} main/binary-amd64/Packages\n")


def generate(d, suite, chunks):
    """chunks: an iterator of bytes; writes the Packages file and a Release matching it."""
    path = os.path.join(d, PREFIX.format(suite) + "main_binary-amd64_Packages")
    if os.path.exists(path + ".done"):
        return
    h, size = hashlib.sha256(), 0
    with open(path, "wb") as f:
        for c in chunks:
            h.update(c)
            size += len(c)
            f.write(c)
    write_release(d, suite, h.hexdigest(), size)
    open(path + ".done", "w").close()


def big_packages():
    desc = b"".join(b" line %d of a long description to make the file large\n" % i
                    for i in range(180))
    for i in range(20100):
        yield (b"Package: pkg-%05d\nVersion: 1.%d-1\nArchitecture: amd64\n"
               b"Filename: pool/main/p/pkg-%05d.deb\nSize: 1000\nSHA256: %s\n"
               b"Description: package %d\n" % (i, i, i, b"ab" * 32, i)) + desc + b"\n"


def one_paragraph():
    yield b"Package: huge\nVersion: 1\nArchitecture: amd64\nDescription: x\n"
    line = b" " + b"y" * 1023 + b"\n"
    for _ in range(64):
        yield line * 1024


def one_line():
    yield b"Package: longline\nVersion: 1\nArchitecture: amd64\nDescription: "
    for _ in range(64):
        yield b"z" * MB
    yield b"\n"


def run(binary, d, suite, pkgs):
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    # one suite per run: pass a lists dir holding only that suite's files through a prefix dir
    sub = os.path.join(d, suite)
    os.makedirs(sub, exist_ok=True)
    for f in os.listdir(d):
        if f.startswith(PREFIX.format(suite)) and not f.endswith(".done"):
            link = os.path.join(sub, f)
            if not os.path.exists(link):
                os.symlink(os.path.join(d, f), link)
    p = subprocess.run([binary, "apt-resolve", "--lists", sub] + pkgs, capture_output=True,
                       text=True)
    dt = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return p, dt, max(rss, before) / 1024


def main():
    binary, build = os.environ.get("LKS_BIN"), os.environ.get("LKS_BUILDDIR")
    if not binary or not build:
        fail("LKS_BIN and LKS_BUILDDIR must be set")
    d = os.path.join(build, "fixture-cache", "apt-big")
    os.makedirs(d, exist_ok=True)
    generate(d, "big", big_packages())
    generate(d, "para", one_paragraph())
    generate(d, "line", one_line())
    size = os.path.getsize(os.path.join(d, PREFIX.format("big") + "main_binary-amd64_Packages"))
    if size < 200 * 1000 * 1000:
        fail(f"generated Packages is only {size} bytes")

    p, dt, rss = run(binary, d, "big", ["pkg-00042", "pkg-19999"])
    if p.returncode != 0 or p.stdout.split("\n")[:2] != ["pkg-00042 1.42-1 big",
                                                       "pkg-19999 1.19999-1 big"]:
        fail(f"200 MB index: rc {p.returncode}\n{p.stdout}\n{p.stderr}")
    if rss > 100:
        fail(f"200 MB index used {rss:.0f} MB of memory (limit 100)")
    print(f"ok {size / MB:.0f} MiB Packages resolved in {dt:.2f} s, max RSS {rss:.0f} MiB")

    for suite, want in (("para", "exceeds"), ("line", "too long")):
        p, dt, rss2 = run(binary, d, suite, ["huge"])
        if p.returncode != 2 or want not in p.stderr:
            fail(f"{suite}: expected a '{want}' error, got rc {p.returncode}: {p.stderr}")
        print(f"ok hostile {suite}: refused in {dt:.2f} s: {p.stderr.strip()}")
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    if rss > 100:
        fail(f"hostile inputs used {rss:.0f} MB of memory (limit 100)")


if __name__ == "__main__":
    main()

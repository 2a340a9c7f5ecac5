#!/usr/bin/env python3
"""End-to-end: `lockstep diff` of layers whose entries carry many extended attributes stays
small in memory (issue 12: 6,000 such entries used to take 1.9 GB).

Two OCI layouts, one layer each: 6,000 files with 400 xattrs apiece (40-byte names), every
value different between A and B, so every entry is a difference the report keeps. The
peak RSS of the real binary (from wait4) must stay at or below 64 MB, the report must name
the xattrs of every file, and a layer past the per-entry cap (4,096 xattrs) is refused with
a clear error. The layouts are built once into $LKS_BUILDDIR/fixture-cache/.
"""
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pinlib import BIN, BUILD, check, finish  # noqa: E402

ENTRIES, XATTRS = 6000, 400
RSS_MAX_KB = 64 * 1024
VERSION = "xattrs-v1"


def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def layer(side, n, k):
    bio = io.BytesIO()
    with tarfile.open(fileobj=bio, mode="w", format=tarfile.PAX_FORMAT) as t:
        for i in range(n):
            ti = tarfile.TarInfo("d%02d/f%05d" % (i % 50, i))
            ti.pax_headers = {"SCHILY.xattr.user.attribute-with-a-long-name-%04d" % j:
                              "%s%d-%d" % (side, i, j) for j in range(k)}
            t.addfile(ti, io.BytesIO(b""))
    return bio.getvalue()


def layout(path, side, n, k):
    os.makedirs(os.path.join(path, "blobs", "sha256"))

    def blob(d):
        with open(os.path.join(path, "blobs", "sha256", sha(d)[7:]), "wb") as f:
            f.write(d)
        return sha(d)
    raw = layer(side, n, k)
    gz = gzip.compress(raw, compresslevel=1, mtime=0)
    cfg = json.dumps({"architecture": "amd64", "os": "linux",
                      "rootfs": {"type": "layers", "diff_ids": [sha(raw)]}}).encode()
    man = json.dumps({"schemaVersion": 2,
                      "mediaType": "application/vnd.oci.image.manifest.v1+json",
                      "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                 "digest": blob(cfg), "size": len(cfg)},
                      "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                                  "digest": blob(gz), "size": len(gz)}]}).encode()
    with open(os.path.join(path, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": blob(man),
             "size": len(man)}]}, f)
    with open(os.path.join(path, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')


def ensure():
    cache = os.path.join(os.path.abspath(BUILD), "fixture-cache", VERSION)
    if os.path.exists(os.path.join(cache, "stamp")):
        return cache
    t = time.time()
    work = tempfile.mkdtemp(prefix="lks-xattrs-", dir=os.path.dirname(cache) if
                            os.path.isdir(os.path.dirname(cache)) else None)
    layout(os.path.join(work, "a"), "a", ENTRIES, XATTRS)
    layout(os.path.join(work, "b"), "b", ENTRIES, XATTRS)
    layout(os.path.join(work, "over"), "a", 2, 4097)
    open(os.path.join(work, "stamp"), "w").close()
    os.makedirs(os.path.dirname(cache), exist_ok=True)
    try:
        os.rename(work, cache)
    except OSError:
        shutil.rmtree(work, ignore_errors=True)  # a concurrent run won
    print("built the xattr layouts in %.1f s" % (time.time() - t), flush=True)
    return cache


def run(args):
    """Exit code, stdout, stderr, peak RSS (KB) and seconds of one lockstep run. posix_spawn:
    a forked copy of this (large) Python process would count in the child's ru_maxrss."""
    out, err = tempfile.TemporaryFile(), tempfile.TemporaryFile()
    t0 = time.time()
    pid = os.posix_spawn(BIN, [BIN] + args, dict(os.environ), file_actions=[
        (os.POSIX_SPAWN_DUP2, out.fileno(), 1), (os.POSIX_SPAWN_DUP2, err.fileno(), 2)])
    _, status, ru = os.wait4(pid, 0)
    out.seek(0)
    err.seek(0)
    return os.waitstatus_to_exitcode(status), out.read(), err.read().decode(errors="replace"), \
        ru.ru_maxrss, time.time() - t0


def sanitized():
    """An ASan build: its shadow memory makes RSS figures meaningless."""
    r = subprocess.run(["ldd", BIN], capture_output=True, text=True)
    return "libasan" in r.stdout


def main():
    t0 = time.time()
    cache = ensure()
    a, b = "oci:" + os.path.join(cache, "a"), "oci:" + os.path.join(cache, "b")
    asan = sanitized()
    if asan:
        print("       (ASan build: RSS not checked, its shadow memory dominates)", flush=True)
    for fmt in ("text", "json"):
        rc, out, err, rss, dt = run(["diff", "--format", fmt, a, b])
        print("       diff --format %s of %d x %d xattrs: %.1f s, peak RSS %.1f MB" %
              (fmt, ENTRIES, XATTRS, dt, rss / 1024), flush=True)
        check(rc == 1, "diff: exit 1 (every entry differs in its xattrs)", err[-500:])
        check(asan or rss <= RSS_MAX_KB, "diff --format %s of %d xattr-heavy entries: peak "
              "RSS %.1f MB <= 64 MB" % (fmt, ENTRIES, rss / 1024))
    doc = json.loads(out)
    files = [f for p in doc["platforms"] for ly in p["layers"] for f in ly["files"]]
    check(len(files) == ENTRIES and all(f["fields"] == ["xattrs"] for f in files),
          "every entry reported, with xattrs as its difference", len(files))
    x = files[0]["a"]["xattrs"] if files else ""
    check(x.startswith("%d xattrs sha256:" % XATTRS),
          "past 512 bytes of lines an entry's xattrs are its count and digest", x[:80])
    rc, out, err, rss, dt = run(["diff", a, "oci:" + os.path.join(cache, "over")])
    check(rc == 2 and "has more than 4096 xattrs" in err,
          "an entry with 4,097 xattrs: exit 2 naming the cap", err)
    finish("diff_xattrs", t0)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""End-to-end: `lockstep diff` of layers whose entries carry many extended attributes stays
small in memory (issue 12: 6,000 such entries used to take 1.9 GB).

Two OCI layouts, one layer each: 6,000 files with 400 xattrs apiece (40-byte names), every
value different between A and B, so every entry is a difference the report keeps. The
peak RSS of the real binary (from wait4) must stay at or below 64 MB, the report must name
the xattrs of every file, and a layer past the per-entry cap (4,096 xattrs) is refused with
a clear error. The layouts are built once into $LKS_BUILDDIR/fixture-cache/. The ASan build
runs 600 entries: it checks the code paths, and its shadow memory makes RSS meaningless.
"""
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pinlib import BIN, BUILD, check, finish  # noqa: E402

ENTRIES, XATTRS = 6000, 400
ENTRIES_ASAN = 600  # the ASan build checks correctness, not memory: a tenth of the work
RSS_MAX_KB = 64 * 1024
VERSION = "xattrs-v1"


def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def ustar(name, size, typeflag):
    h = bytearray(512)
    h[0:len(name)] = name
    h[100:108] = b"0000644\0"
    h[108:116] = h[116:124] = b"0000000\0"
    h[124:136] = b"%011o\0" % size
    h[136:148] = b"00000000000\0"
    h[148:156] = b" " * 8
    h[156:157] = typeflag
    h[257:265] = b"ustar\x0000"
    h[148:156] = b"%06o\0 " % sum(h)
    return bytes(h)


def pax(records):
    """A pax extended header: each record "LEN key=value\n", LEN counting itself."""
    out = []
    for kv in records:
        n = len(kv) + 2
        n += len(str(n + len(str(n))))
        out.append(b"%d %s\n" % (n, kv))
    return b"".join(out)


def pad(data):
    return data + b"\0" * (-len(data) % 512)


def layer(side, n, k):
    """n empty files with k SCHILY.xattr pax records each (written directly: tarfile would take
    minutes for the 2.4 million records of the test)."""
    keys = [b"SCHILY.xattr.user.attribute-with-a-long-name-%04d=" % j for j in range(k)]
    parts = []
    for i in range(n):
        tag = b"%s%d-" % (side.encode(), i)
        ext = pax([key + tag + b"%d" % j for j, key in enumerate(keys)])
        name = b"d%02d/f%05d" % (i % 50, i)
        parts += [ustar(b"PaxHeaders/" + name, len(ext), b"x"), pad(ext), ustar(name, 0, b"0")]
    parts.append(b"\0" * 1024)
    return b"".join(parts)


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


def build(work, entries):
    layout(os.path.join(work, "a"), "a", entries, XATTRS)
    layout(os.path.join(work, "b"), "b", entries, XATTRS)
    layout(os.path.join(work, "over"), "a", 2, 4097)
    open(os.path.join(work, "stamp"), "w").close()


def ensure(entries):
    name = VERSION if entries == ENTRIES else "%s-%d" % (VERSION, entries)
    cache = os.path.join(os.path.abspath(BUILD), "fixture-cache", name)
    if os.path.exists(os.path.join(cache, "stamp")):
        return cache
    t = time.time()
    os.makedirs(os.path.dirname(cache), exist_ok=True)
    work = tempfile.mkdtemp(prefix="lks-xattrs-", dir=os.path.dirname(cache))
    # In a process of its own: the layers take hundreds of MB here, and a process spawned from
    # a large one counts its pages in ru_maxrss until exec.
    subprocess.run([sys.executable, os.path.abspath(__file__), "--build", work, str(entries)],
                   check=True)
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
    asan = sanitized()
    entries = ENTRIES_ASAN if asan else ENTRIES
    if asan:
        print("       (ASan build: RSS not checked, its shadow memory dominates; %d entries "
              "instead of %d)" % (entries, ENTRIES), flush=True)
    cache = ensure(entries)
    a, b = "oci:" + os.path.join(cache, "a"), "oci:" + os.path.join(cache, "b")
    for fmt in ("text", "json"):
        rc, out, err, rss, dt = run(["diff", "--format", fmt, a, b])
        print("       diff --format %s of %d x %d xattrs: %.1f s, peak RSS %.1f MB" %
              (fmt, entries, XATTRS, dt, rss / 1024), flush=True)
        check(rc == 1, "diff: exit 1 (every entry differs in its xattrs)", err[-500:])
        check(asan or rss <= RSS_MAX_KB, "diff --format %s of %d xattr-heavy entries: peak "
              "RSS %.1f MB <= 64 MB" % (fmt, entries, rss / 1024))
    doc = json.loads(out)
    files = [f for p in doc["platforms"] for ly in p["layers"] for f in ly["files"]]
    check(len(files) == entries and all(f["fields"] == ["xattrs"] for f in files),
          "every entry reported, with xattrs as its difference", len(files))
    x = files[0]["a"]["xattrs"] if files else ""
    check(x.startswith("%d xattrs sha256:" % XATTRS),
          "past 512 bytes of lines an entry's xattrs are its count and digest", x[:80])
    rc, out, err, rss, dt = run(["diff", a, "oci:" + os.path.join(cache, "over")])
    check(rc == 2 and "has more than 4096 xattrs" in err,
          "an entry with 4,097 xattrs: exit 2 naming the cap", err)
    finish("diff_xattrs", t0)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--build":
        build(sys.argv[2], int(sys.argv[3]))
    else:
        main()

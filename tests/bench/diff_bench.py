#!/usr/bin/env python3
"""Benchmark `lockstep diff` on two generated images whose layers all differ.

Prints, side by side from one run (medians of LKS_BENCH_RUNS rounds, default 3; each round runs
the floor and both lockstep variants one after the other, so load hits them alike):
  - the floor: inflating every layer blob of both images with `igzip -dc` (ISA-L's CLI, package
    isal), two at a time: inflating is the limit of a diff, and ISA-L is the fastest inflater here
  - lockstep diff with ISA-L (libisal loaded on first use) and without (LOCKSTEP_NO_ISAL=1:
    libarchive's zlib path), each as a ratio to the floor (goal with ISA-L: <= 1.2x), with peak RSS
    (goal <= 64 MB)
  - the ratio to diffoscope run once on the paired layer blobs (goal >= 30x faster;
    LKS_BENCH_DIFFOSCOPE=0 skips it)

Size: LKS_BENCH_MB (uncompressed size of each image, default 64; the issue's figure is 1024).
Layers: LKS_BENCH_LAYERS (default 4). Data: LKS_BENCH_DATA=usr (default) fills the layers with
this machine's own files from /usr (binaries, libraries, text: what real layers hold, about
3:1 under gzip), side b with every file changed by a few bytes; LKS_BENCH_DATA=synthetic is
half random and half repeated bytes (2:1, the earlier benchmark: inflating it is mostly
copying, so it says little about an inflater). Images are generated once under
$LKS_BUILDDIR/fixture-cache/bench-<MB>m-<layers>l[-synthetic]/ (not committed). diffoscope gets at most
LKS_BENCH_DIFFOSCOPE_TIMEOUT seconds (default 900); past that the ratio is a lower bound.

First, bounded memory: two layers of LKS_BENCH_ENTRIES empty files each (default 1000000,
0 skips), time and peak RSS of lockstep diff (medians of 3).
"""
import hashlib
import io
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tarfile
import time
from concurrent.futures import ThreadPoolExecutor

MB = int(os.environ.get("LKS_BENCH_MB", "64"))
LAYERS = int(os.environ.get("LKS_BENCH_LAYERS", "4"))
DIFFOSCOPE_TIMEOUT = float(os.environ.get("LKS_BENCH_DIFFOSCOPE_TIMEOUT", "900"))
LKS = os.environ["LKS_BIN"]


def chunk(size, seed):
    """Data that compresses about 2:1, like a typical rootfs: random halves, pattern halves."""
    out = bytearray()
    pat = hashlib.sha256(seed).digest() * 64
    while len(out) < size:
        out += os.urandom(1024) + pat[:1024]
    return bytes(out[:size])


DATA = os.environ.get("LKS_BENCH_DATA", "usr")


def usr_files():
    """Regular files under /usr (sorted, readable, 1 KB .. 16 MB): real layer content."""
    out = []
    for top in ("/usr/lib", "/usr/share", "/usr/bin", "/usr/libexec", "/usr/include"):
        for d, dirs, files in os.walk(top):
            dirs.sort()
            for f in sorted(files):
                p = os.path.join(d, f)
                try:
                    st = os.lstat(p)
                except OSError:
                    continue
                if tarfile.stat.S_ISREG(st.st_mode) and 1024 <= st.st_size <= 16 << 20 and \
                        os.access(p, os.R_OK):
                    out.append((p, st.st_size))
    return out


def make_layer_usr(path, size, side, n, files):
    """Layer n: the next `size` bytes of /usr's files (cycling); side b changes every file."""
    raw = path + ".tar"
    total = sum(s for _, s in files)
    start = (n * size) % total
    idx = 0
    acc = 0
    while acc + files[idx][1] <= start:
        acc += files[idx][1]
        idx += 1
    with tarfile.open(raw, "w", format=tarfile.PAX_FORMAT) as t:
        left, i = size, 0
        while left > 0:
            src, _ = files[(idx + i) % len(files)]
            with open(src, "rb") as f:
                data = f.read(left)
            if side == "b":
                data = data[:-8] + hashlib.sha256(data).digest()[:8] if len(data) > 8 else data
            ti = tarfile.TarInfo("layer%d/%06d%s" % (n, i, src))
            ti.size, ti.mode = len(data), 0o644
            t.addfile(ti, io.BytesIO(data))
            left -= len(data)
            i += 1
    subprocess.run(["gzip", "-6", "-n", "-f", raw], check=True)
    return raw + ".gz"


def make_layer(path, size, side, n):
    """A tar of small and large files; every file differs between sides."""
    raw = path + ".tar"
    with tarfile.open(raw, "w", format=tarfile.PAX_FORMAT) as t:
        left, i = size, 0
        while left > 0:
            fsize = 8192 if i % 4 else 1 << 20
            fsize = min(fsize, left)
            data = chunk(fsize, b"%s-%d-%d" % (side.encode(), n, i))
            ti = tarfile.TarInfo("layer%d/d%03d/f%06d" % (n, i % 100, i))
            ti.size, ti.mode = len(data), 0o644
            t.addfile(ti, io.BytesIO(data))
            left -= fsize
            i += 1
    subprocess.run(["gzip", "-6", "-n", "-f", raw], check=True)
    return raw + ".gz"


def sha_file(p):
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def sha_gunzip(p):
    h = hashlib.sha256()
    with subprocess.Popen(["zcat", p], stdout=subprocess.PIPE) as z:
        for b in iter(lambda: z.stdout.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def write_layout(d, blobs):
    os.makedirs(os.path.join(d, "blobs", "sha256"), exist_ok=True)

    def put(data):
        h = hashlib.sha256(data).hexdigest()
        with open(os.path.join(d, "blobs", "sha256", h), "wb") as f:
            f.write(data)
        return "sha256:" + h, len(data)

    layers = []
    for b in blobs:
        h = sha_file(b)
        os.replace(b, os.path.join(d, "blobs", "sha256", h))
        layers.append(("sha256:" + h, os.path.getsize(os.path.join(d, "blobs", "sha256", h))))
    diff_ids = ["sha256:" + sha_gunzip(os.path.join(d, "blobs", "sha256", l[0][7:]))
                for l in layers]
    cfg = {"architecture": "amd64", "os": "linux",
           "rootfs": {"type": "layers", "diff_ids": diff_ids},
           "history": [{"created_by": "/bin/sh -c generate %d" % i} for i in range(len(layers))]}
    cd, cs = put(json.dumps(cfg).encode())
    man = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
           "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd,
                      "size": cs},
           "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                       "digest": l[0], "size": l[1]} for l in layers]}
    md, ms = put(json.dumps(man).encode())
    with open(os.path.join(d, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [
            {"mediaType": man["mediaType"], "digest": md, "size": ms}]}, f)
    with open(os.path.join(d, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')


def ensure_images():
    root = os.path.join(os.environ["LKS_BUILDDIR"], "fixture-cache",
                        "bench-%dm-%dl%s" % (MB, LAYERS, "" if DATA == "usr" else "-synthetic"))
    if os.path.exists(os.path.join(root, "done")):
        return root
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    t = time.time()
    per = (MB << 20) // LAYERS
    jobs = [(s, n) for s in ("a", "b") for n in range(LAYERS)]
    files = usr_files() if DATA == "usr" else None
    with ThreadPoolExecutor(os.cpu_count() or 1) as ex:
        if files:
            blobs = list(ex.map(lambda j: make_layer_usr(os.path.join(root, "%s%d" % j), per,
                                                         *j, files), jobs))
        else:
            blobs = list(ex.map(lambda j: make_layer(os.path.join(root, "%s%d" % j), per, *j),
                                jobs))
    for s in ("a", "b"):
        write_layout(os.path.join(root, s), [b for (side, _), b in zip(jobs, blobs) if side == s])
    open(os.path.join(root, "done"), "w").close()
    print("generated two %d MB images in %.1f s" % (MB, time.time() - t), flush=True)
    return root


def layer_blobs(d):
    with open(os.path.join(d, "index.json")) as f:
        md = json.load(f)["manifests"][0]["digest"]
    with open(os.path.join(d, "blobs", "sha256", md[7:])) as f:
        man = json.load(f)
    return [os.path.join(d, "blobs", "sha256", l["digest"][7:]) for l in man["layers"]]


def cpu_children():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def floor(blobs, tool):
    """Every blob inflated to /dev/null, two at a time."""
    t, c = time.time(), cpu_children()
    with ThreadPoolExecutor(2) as ex:
        list(ex.map(lambda b: subprocess.run([tool, "-dc", b], check=True,
                                             stdout=subprocess.DEVNULL), blobs))
    return time.time() - t, cpu_children() - c


def run_lockstep(a, b, isal=True):
    env = dict(os.environ)
    env.pop("LOCKSTEP_NO_ISAL", None)
    if not isal:
        env["LOCKSTEP_NO_ISAL"] = "1"
    t = time.time()
    p = subprocess.Popen([LKS, "diff", "--format", "json", "oci:" + a, "oci:" + b], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.time() - t
    rc = os.waitstatus_to_exitcode(status)
    if rc != 1:
        sys.exit("lockstep diff exited %d, expected 1 (differs): %s" % (rc, p.stderr.read()))
    return wall, ru.ru_maxrss / 1024.0, ru.ru_utime + ru.ru_stime


def run_diffoscope(pairs):
    if not shutil.which("diffoscope"):
        return None, False
    t = time.time()
    for la, lb in pairs:
        left = DIFFOSCOPE_TIMEOUT - (time.time() - t)
        try:
            subprocess.run(["diffoscope", "--text", "/dev/null", la, lb], timeout=max(left, 1),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return time.time() - t, True
    return time.time() - t, False


ENTRIES = int(os.environ.get("LKS_BENCH_ENTRIES", "1000000"))


def many_entries_layer(path, n, side):
    """A gzip tar of n empty files (one mode differs every 1000 on side b), written fast."""
    import zlib
    blk = bytearray(512)
    blk[257:263] = b"ustar\x00"
    blk[263:265] = b"00"
    blk[108:116] = b"0000000\x00"
    blk[116:124] = b"0000000\x00"
    blk[124:136] = b"00000000000\x00"
    blk[136:148] = b"00000000000\x00"
    blk[156:157] = b"0"
    z = zlib.compressobj(1, zlib.DEFLATED, 31)
    with open(path, "wb") as f:
        out = []
        for i in range(n):
            h = bytearray(blk)
            name = b"d%03d/e%07d" % (i % 1000, i)
            h[0:len(name)] = name
            h[100:108] = b"0000664\x00" if side == "b" and i % 1000 == 7 else b"0000644\x00"
            h[148:156] = b"        "
            h[148:156] = b"%06o\x00 " % sum(h)
            out.append(bytes(h))
            if len(out) == 4096:
                f.write(z.compress(b"".join(out)))
                out = []
        f.write(z.compress(b"".join(out) + bytes(1024)))
        f.write(z.flush())


def ensure_many():
    root = os.path.join(os.environ["LKS_BUILDDIR"], "fixture-cache", "bench-entries-%d" % ENTRIES)
    if os.path.exists(os.path.join(root, "done")):
        return root
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    t = time.time()
    for s in ("a", "b"):
        blob = os.path.join(root, s + "0.tar.gz")
        many_entries_layer(blob, ENTRIES, s)
        write_layout(os.path.join(root, s), [blob])
    open(os.path.join(root, "done"), "w").close()
    print("generated two layers of %d entries in %.1f s" % (ENTRIES, time.time() - t), flush=True)
    return root


def many_entries():
    """Bounded memory: a pair of layers with ENTRIES entries each (the index spills)."""
    root = ensure_many()
    runs = [run_lockstep(os.path.join(root, "a"), os.path.join(root, "b")) for _ in range(3)]
    wall = sorted(r[0] for r in runs)[1]
    rss = sorted(r[1] for r in runs)[1]
    cpu = sorted(r[2] for r in runs)[1]
    print("%d-entry layer pair: lockstep diff %.2f s wall, %.2f s CPU, peak RSS %.1f MB "
          "(goal < 64), medians of 3" % (ENTRIES, wall, cpu, rss))


def main():
    if ENTRIES:
        many_entries()
    root = ensure_images()
    a, b = os.path.join(root, "a"), os.path.join(root, "b")
    la, lb = layer_blobs(a), layer_blobs(b)
    for p in la + lb:  # warm the page cache for both sides equally
        with open(p, "rb") as f:
            while f.read(1 << 22):
                pass
    tool = shutil.which("igzip") or shutil.which("pigz") or "gzip"
    runs = int(os.environ.get("LKS_BENCH_RUNS", "3"))
    fl, on, off, loads = [], [], [], []
    for _ in range(runs):
        fl.append(floor(la + lb, tool))
        on.append(run_lockstep(a, b, True))
        off.append(run_lockstep(a, b, False))
        loads.append(os.getloadavg()[0])
    med = statistics.median
    f_wall, f_cpu = med(x[0] for x in fl), med(x[1] for x in fl)
    gz = sum(os.path.getsize(p) for p in la + lb)
    print("images: 2 x %d MB uncompressed (%s data, %.0f MB of gzip), %d layers each, all "
          "differing; %d CPUs; medians of %d rounds; load average %.1f (min %.1f, max %.1f)" %
          (MB, DATA, gz / 1e6, LAYERS, os.cpu_count() or 1, runs, med(loads), min(loads),
           max(loads)))
    print("floor (%s -dc, two at a time): %.2f s wall, %.2f s CPU" %
          (os.path.basename(tool), f_wall, f_cpu))
    for name, r in (("with ISA-L", on), ("without ISA-L (libarchive/zlib)", off)):
        wall, rss, cpu = med(x[0] for x in r), med(x[1] for x in r), med(x[2] for x in r)
        print("lockstep diff %s: %.2f s = %.2fx floor (goal with ISA-L <= 1.2x), "
              "CPU %.2f s = %.2fx floor, peak RSS %.1f MB (goal <= 64)" %
              (name, wall, wall / f_wall, cpu, cpu / f_cpu if f_cpu else 0, rss))
    print("ISA-L speed-up of lockstep diff: %.2fx wall, %.2fx CPU" %
          (med(x[0] for x in off) / med(x[0] for x in on),
           med(x[2] for x in off) / med(x[2] for x in on)))
    if os.environ.get("LKS_BENCH_DIFFOSCOPE", "1") == "0":
        return 0
    dtime, timed_out = run_diffoscope(list(zip(la, lb)))
    wall = med(x[0] for x in on)
    if dtime is None:
        print("diffoscope: not installed")
    else:
        print("diffoscope on the paired layers: %s%.1f s = %s%.1fx slower than lockstep "
              "(goal >= 30x)" % (">" if timed_out else "", dtime, ">" if timed_out else "",
                                 dtime / wall))
    return 0


if __name__ == "__main__":
    sys.exit(main())

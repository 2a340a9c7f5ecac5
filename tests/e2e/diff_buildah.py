#!/usr/bin/env python3
"""lockstep diff on pairs of real images built with buildah, in every input format.

Pairs (tests/e2e/diff_fixtures.py): identical (--timestamp 0), timestamps only, RUN date,
a mode change, a whiteout, a two-platform index with one platform differing, and metadata
only: a manifest annotation, an index entry annotation, OCI vs Docker media types. Checks the
exit code (0 same, 1 differs), the differing paths from --format json, the text report, and
the Dockerfile line mapping. Tampered copies (a docker-archive layer.tar with a file added, a
duplicate member, an OCI blob swapped under its name) must be errors, never "same".
"""
import gzip
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import diff_fixtures  # noqa: E402

LKS = os.environ["LKS_BIN"]
FAILS = []


def lockstep(*args):
    r = subprocess.run([LKS, "diff"] + list(args), capture_output=True, text=True, timeout=120)
    return r.returncode, r.stdout, r.stderr


def paths_of(report):
    out = set()
    for p in report["platforms"]:
        for layer in p["layers"]:
            out |= {f["path"] for f in layer["files"]}
    return out


def check(cond, what):
    if not cond:
        FAILS.append(what)
        print("FAIL: " + what, flush=True)


def src(img, name, fmt):
    ext = {"oci": ".oci", "oci-archive": ".oci.tar", "docker-archive": ".docker.tar"}[fmt]
    return "%s:%s" % (fmt, os.path.join(img, name + ext))


# pair, extra args, expected exit code, expected differing paths (None: do not check)
CASES = [
    ("same", [], 0, set()),
    ("same", ["--strict"], 0, set()),
    ("time", [], 0, set()),
    ("time", ["--strict"], 1, None),
    ("date", [], 1, {"f"}),
    ("mode", [], 1, {"app/VERSION"}),
    ("whiteout", [], 1, {"etc/.wh.gone"}),
]


def run_cases(img):
    for fmt in ("oci", "oci-archive", "docker-archive"):
        for pair, args, want_rc, want_paths in CASES:
            a, b = src(img, pair + "-a", fmt), src(img, pair + "-b", fmt)
            rc, out, err = lockstep("--format", "json", *args, a, b)
            what = "%s %s %s" % (fmt, pair, " ".join(args))
            check(rc == want_rc, "%s: exit %d, want %d (%s)" % (what, rc, want_rc, err.strip()))
            if rc in (0, 1):
                rep = json.loads(out)
                check(rep["schema"] == "lockstep-diff/1", what + ": schema")
                check(rep["differs"] == (want_rc == 1), what + ": differs flag")
                if want_paths is not None:
                    got = paths_of(rep)
                    check(got == want_paths, "%s: paths %s, want %s" % (what, got, want_paths))


def run_text(img):
    rc, out, err = lockstep("--dockerfile", os.path.join(img, "date-b.Dockerfile"),
                            src(img, "date-a", "oci"), src(img, "date-b", "oci-archive"))
    check(rc == 1, "text date: exit %d (%s)" % (rc, err))
    check("image differs: 1 of 2 layers differ" in out, "text date: summary\n" + out)
    check("(Dockerfile:3)" in out, "text date: Dockerfile line\n" + out)
    rc, out, err = lockstep(src(img, "mode-a", "oci"), src(img, "mode-b", "oci"))
    check("app/VERSION" in out and "mode 0644 \u2192 0664" in out, "text mode:\n" + out)
    rc, out, err = lockstep(src(img, "time-a", "oci"), src(img, "time-b", "oci"))
    check(rc == 0 and "timestamp differences normalized away" in out, "text time:\n" + out)
    rc, out, err = lockstep("--color", "always", src(img, "date-a", "oci"), src(img, "date-b", "oci"))
    check("\033[" in out, "--color always: no escape sequences")
    rc, out, err = lockstep(src(img, "date-a", "oci"), src(img, "date-b", "oci"))
    check("\033[" not in out, "colour without a terminal")
    rc, out, err = lockstep("--format", "html", src(img, "date-a", "oci"), src(img, "date-b", "oci"))
    check(rc == 1 and re.search(r'<tr class="chg"><td>1</td><td>\d+[^<]*</td><td>1</td><td>\d+',
                                out), "html: side-by-side content of /f\n" + out)
    # Same build in two formats (gzip OCI blobs vs uncompressed docker-archive layers).
    rc, out, err = lockstep(src(img, "same-a", "oci"), src(img, "same-a", "docker-archive"))
    check(rc == 0, "cross-format same: exit %d\n%s%s" % (rc, out, err))


def run_index(img):
    rc, out, err = lockstep("--format", "json", "oci:" + os.path.join(img, "multi-a.oci"),
                            "oci:" + os.path.join(img, "multi-b.oci"))
    check(rc == 1, "index: exit %d (%s)" % (rc, err))
    if rc == 1:
        plats = {p["platform"]: p["differs"] for p in json.loads(out)["platforms"]}
        check(plats == {"linux/amd64": False, "linux/arm64/v8": True}, "index: %s" % plats)


def jdiff(items, path):
    return next((d for d in items if d["path"] == path), None)


def run_meta(img):
    """Manifest annotation, index entry annotation and media types (OCI vs Docker list)."""
    oci = lambda n: "oci:" + os.path.join(img, n + ".oci")  # noqa: E731
    rc, out, err = lockstep("--format", "json", oci("annot-a"), oci("annot-b"))
    check(rc == 1, "annot: exit %d (%s)" % (rc, err))
    if rc == 1:
        p = json.loads(out)["platforms"][0]
        d = jdiff(p["manifest"], "manifest.annotations.org.opencontainers.image.revision")
        check(d and d["a"] == '"1111"' and d["b"] == '"2222"' and not d["normalized"],
              "annot: manifest annotation %s" % p["manifest"])
        check(all(l["status"] == "identical" for l in p["layers"]), "annot: layers")
    rc, out, err = lockstep(oci("annot-a"), oci("annot-b"))
    check('manifest.annotations.org.opencontainers.image.revision: "1111" → "2222"' in out,
          "annot text:\n" + out)
    rc, out, err = lockstep("--format", "json", oci("multiann-a"), oci("multiann-b"))
    check(rc == 1, "multiann: exit %d (%s)" % (rc, err))
    if rc == 1:
        p = json.loads(out)["platforms"][0]
        d = jdiff(p["manifest"], "descriptor.annotations.com.example.build")
        check(d and d["b"] == '"2222"' and [x for x in p["manifest"] if not x["derived"]] == [d],
              "multiann: descriptor annotation %s" % p["manifest"])
    rc, out, err = lockstep("--format", "json", oci("multi-a"), oci("multi-a-v2s2"))
    check(rc == 1, "v2s2: exit %d (%s)" % (rc, err))
    if rc == 1:
        rep = json.loads(out)
        d = jdiff(rep["index"], "index.mediaType")
        check(d and "docker.distribution.manifest.list" in d["b"], "v2s2: index %s" % rep["index"])
        for p in rep["platforms"]:
            d = jdiff(p["manifest"], "descriptor.mediaType")
            check(d and "docker.distribution.manifest.v2" in d["b"], "v2s2: %s" % p["manifest"])
    for fmt, needle in (("markdown", "| `index.mediaType` |"),
                        ("html", "<td>index.mediaType</td>")):
        rc, out, err = lockstep("--format", fmt, oci("multi-a"), oci("multi-a-v2s2"))
        check(rc == 1 and needle in out, "v2s2 %s:\n%s" % (fmt, out))


def run_errors(img):
    rc, out, err = lockstep("oci:/nonexistent", src(img, "same-a", "oci"))
    check(rc == 2 and "lockstep:" in err, "missing image: exit %d" % rc)
    rc, out, err = lockstep("docker://127.0.0.1:1/x:1", src(img, "same-a", "oci"))
    check(rc == 2, "registry source: exit %d" % rc)


def retar(src_path, dst_path, change):
    """Copy a tar member by member; change(name, data) returns the new data (or None to keep
    it) and may return a list of (name, data) to append after the member."""
    with tarfile.open(src_path) as src, tarfile.open(dst_path, "w",
                                                    format=tarfile.PAX_FORMAT) as dst:
        for m in src:
            data = src.extractfile(m).read() if m.isfile() else None
            new, extra = change(m.name, data)
            if new is not None:
                m.size = len(new)
                data = new
            dst.addfile(m, io.BytesIO(data) if data is not None else None)
            for name, blob in extra:
                ti = tarfile.TarInfo(name)
                ti.size = len(blob)
                dst.addfile(ti, io.BytesIO(blob))


def backdoor(layer):
    bio = io.BytesIO(layer)
    with tarfile.open(fileobj=bio) as t:
        members = [(m, t.extractfile(m).read() if m.isfile() else None) for m in t]
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as t:
        for m, data in members:
            t.addfile(m, io.BytesIO(data) if data is not None else None)
        ti = tarfile.TarInfo("usr/bin/backdoor")
        ti.size, ti.mode = 9, 0o755
        t.addfile(ti, io.BytesIO(b"#!/bin/sh"))
    return out.getvalue()


def run_tampered(img, tmp):
    """A real `docker-archive` (buildah's, the layout before Docker 25: <id>/layer.tar named by
    no digest) with a file slipped into its last layer after the config was written, and the
    same for an OCI layout blob: never "same", whatever the options."""
    clean = os.path.join(img, "same-a.docker.tar")
    with tarfile.open(clean) as t:
        man = json.load(t.extractfile("manifest.json"))
    last = man[0]["Layers"][-1]
    check(not last.startswith("blobs/"), "buildah's docker-archive names layers %s" % last)
    bad = os.path.join(tmp, "tampered.docker.tar")
    retar(clean, bad, lambda n, d: (backdoor(d) if n == last else None, []))
    dup = os.path.join(tmp, "dup.docker.tar")
    retar(clean, dup, lambda n, d: (None, [(n, backdoor(d))] if n == last else []))
    for args in ([], ["--strict"], ["--format", "json"]):
        for other in (bad, dup):
            rc, out, err = lockstep(*args, "docker-archive:" + clean, "docker-archive:" + other)
            want = "does not match its digest" if other == bad else "twice"
            check(rc == 2 and want in err and "same" not in out,
                  "tampered docker-archive %s %s: exit %d\n%s%s" % (other, args, rc, out, err))
    # An OCI layout whose first (shared, identical by digest) layer blob was swapped.
    oci_clean = os.path.join(img, "same-a.oci")
    oci_bad = os.path.join(tmp, "tampered.oci")
    shutil.copytree(oci_clean, oci_bad)
    idx = json.load(open(os.path.join(oci_bad, "index.json")))
    mdig = idx["manifests"][0]["digest"].split(":")[1]
    mf = json.load(open(os.path.join(oci_bad, "blobs", "sha256", mdig)))
    blob = os.path.join(oci_bad, "blobs", "sha256", mf["layers"][0]["digest"].split(":")[1])
    raw = gzip.decompress(open(blob, "rb").read())
    with open(blob, "wb") as f:
        f.write(gzip.compress(backdoor(raw)))
    for args in ([], ["--strict"]):
        rc, out, err = lockstep(*args, "oci:" + oci_clean, "oci:" + oci_bad)
        check(rc == 2 and "does not match its digest" in err,
              "tampered OCI blob %s: exit %d\n%s%s" % (args, rc, out, err))
    rc, out, err = lockstep("oci:" + oci_clean, "oci:" + oci_clean)
    check(rc == 0 and "identical by digest" in out, "clean layout: exit %d %s%s" % (rc, out, err))


def main():
    t = time.time()
    img = diff_fixtures.ensure()
    run_cases(img)
    run_text(img)
    run_index(img)
    run_meta(img)
    run_errors(img)
    with tempfile.TemporaryDirectory() as tmp:
        run_tampered(img, tmp)
    print("%d failures, %.1f s" % (len(FAILS), time.time() - t))
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())

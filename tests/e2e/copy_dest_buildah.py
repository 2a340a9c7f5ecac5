#!/usr/bin/python3
"""COPY/ADD destinations (issue 11 point 6), differential against a real builder.

Each case is a few COPY/ADD/WORKDIR lines over one build context, where every file holds one
requirement naming itself (`ctx-dir-r` for dir/r.txt), and an image path P. The truth: buildah
builds the lines (FROM scratch) and the file at P in the image is read from its mounted root
filesystem. lockstep's answer: `lockstep check --format json` on the same lines followed by
`RUN pip install -r P`, whose `python-unpinned` finding names the build-context file it traced P
to (or the warning `python-requirements-unknown` when it traced nothing). The two must agree on
every case. (RUN mkdir and --parents are covered by tests/test_pyscan.c: a scratch image has no
shell, and buildah 1.28 has no --parents.)
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from pinlib import BIN, check, finish

FILES = ["r.txt", "a.txt", "requirements.txt", "dir/r.txt", "dir/sub/x.txt"]

# (lines, image path P as pip reads it, relative to the last WORKDIR)
CASES = [
    ("WORKDIR /app\nCOPY requirements.txt /app", "requirements.txt"),
    ("COPY requirements.txt /app", "/app"),
    ("COPY requirements.txt /app", "/app/requirements.txt"),
    ("WORKDIR /w\nCOPY r.txt sub/", "sub/r.txt"),
    ("WORKDIR /w\nCOPY r.txt .", "r.txt"),
    ("WORKDIR /w\nCOPY r.txt new.txt", "new.txt"),
    ("WORKDIR /w\nCOPY r.txt new", "new/r.txt"),
    ("WORKDIR /code\nCOPY . .", "dir/r.txt"),
    ("WORKDIR /code\nCOPY . .", "dir/sub/x.txt"),
    ("COPY dir /opt", "/opt/r.txt"),
    ("COPY dir/ /opt/", "/opt/sub/x.txt"),
    ("COPY dir /opt", "/opt/dir/r.txt"),
    ("COPY a.txt r.txt /req/", "/req/r.txt"),
    ("COPY a.txt /etc/app/\nCOPY r.txt /etc/app", "/etc/app/r.txt"),
    ("COPY a.txt /etc/app/\nCOPY r.txt /etc/app", "/etc/app"),
    ("WORKDIR /srv\nWORKDIR app\nCOPY r.txt /srv/app", "r.txt"),
    ("WORKDIR /app\nADD r.txt /app", "r.txt"),
    ("WORKDIR /app\nADD dir .", "sub/x.txt"),
    ("COPY dir/*.txt /g/", "/g/r.txt"),
    ("COPY r.txt /x/\nCOPY dir/r.txt /x/", "/x/r.txt"),
    ("WORKDIR /a\nCOPY r.txt ../b/", "/b/r.txt"),
]


def requirement(rel):
    return "ctx-" + rel.replace("/", "-").replace(".txt", "").replace("_", "-")


def make_context(d):
    for rel in FILES:
        os.makedirs(os.path.dirname(os.path.join(d, rel)) or d, exist_ok=True)
        with open(os.path.join(d, rel), "w") as f:
            f.write(requirement(rel) + "\n")


def buildah(root, *args, timeout=120):
    st = ["buildah", "--storage-driver", "vfs", "--root", os.path.join(root, "root"),
          "--runroot", os.path.join(root, "run")]
    return subprocess.run(st + list(args), capture_output=True, text=True, timeout=timeout)


def truth(root, d, lines, path, k):
    """The requirement in the file at path of the built image; None when there is none."""
    with open(os.path.join(d, "Dockerfile"), "w") as f:
        f.write(f"FROM scratch\n{lines}\n")
    tag = f"localhost/copydest:{k}"
    b = buildah(root, "bud", "--isolation", "chroot", "--no-cache", "-t", tag, d)
    if b.returncode:
        return "build failed: " + b.stderr[-500:]
    c = buildah(root, "from", tag)
    ctr = c.stdout.strip()
    m = buildah(root, "mount", ctr)
    mnt = m.stdout.strip()
    try:
        cfg = json.loads(buildah(root, "inspect", "--type", "image", tag).stdout)
        wd = cfg.get("OCIv1", {}).get("config", {}).get("WorkingDir") or "/"
        p = os.path.normpath(os.path.join(wd, path))
        full = os.path.join(mnt, p.lstrip("/"))
        if not os.path.isfile(full):
            return None
        with open(full) as f:
            return f.read().strip()
    finally:
        buildah(root, "umount", ctr)
        buildah(root, "rm", ctr)


def answer(d, lines, path):
    """The requirement of the context file lockstep traced path to; None when none."""
    with open(os.path.join(d, "Dockerfile"), "w") as f:
        f.write(f"FROM scratch\n{lines}\nRUN pip install -r {path}\n")
    p = subprocess.run([BIN, "check", "--format", "json", "--lock", os.path.join(d, "no.lock"),
                        "Dockerfile"], cwd=d, capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, XDG_CACHE_HOME=os.path.join(d, ".cache")))
    doc = json.loads(p.stdout)
    subjects = [x["subject"] for x in doc["findings"] if x["code"] == "python-unpinned"]
    return subjects[0] if len(subjects) == 1 else None


def main():
    t0 = time.time()
    if os.geteuid() != 0 or not shutil.which("buildah"):
        print("skip: buildah builds need root and buildah")
        return 77
    tmp = tempfile.mkdtemp(prefix="lks-copydest-")
    try:
        ctx = os.path.join(tmp, "ctx")
        make_context(ctx)
        for k, (lines, path) in enumerate(CASES):
            want = truth(os.path.join(tmp, "b"), ctx, lines, path, k)
            got = answer(ctx, lines, path)
            check(want == got, f"{lines!r} then -r {path}: buildah {want}, lockstep {got}")
        buildah(os.path.join(tmp, "b"), "rmi", "--all", "--force")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    finish("copy_dest_buildah", t0)


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""`lockstep check --format json` on every Dockerfile of the real-world corpus (fixtures/corpus).

For each file of fixtures/corpus/manifest.json:
  - the bytes are the upstream ones: their git blob id equals the manifest's `blob`;
  - check runs to completion (no signal, exit 0, 1 or 2) and prints one valid JSON document,
    errors included (with the error's message);
  - the exit status agrees with the document: 1 when it counts errors, 0 when none, 2 only for
    the files expected.json says cannot be checked (with the expected message);
  - `errors`/`warnings` count the findings by severity;
  - the image findings (codes image-*), as (line, code, subject), equal the set in
    fixtures/corpus/expected.json, decided by reading each file (fixtures/corpus/README.md);
    an image-arg-no-default message names the ARG itself, never an expression.
No lock exists, so every platform set is the default one.
"""
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time

SRC = os.environ.get("LKS_SRCDIR", os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("LKS_BUILDDIR", os.path.join(SRC, "build"))
BIN = os.environ.get("LKS_BIN", os.path.join(BUILD, "cli", "lockstep"))
CORPUS = os.path.join(SRC, "fixtures", "corpus")
OWN = {"manifest.json", "expected.json", "README.md"}

FAILURES = []


def check(cond, what, detail=""):
    if not cond:
        print("FAIL " + what, flush=True)
        if detail:
            print("     " + str(detail).replace("\n", "\n     "), flush=True)
        FAILURES.append(what)
    return cond


def blob_id(data):
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def load():
    with open(os.path.join(CORPUS, "manifest.json")) as f:
        manifest = json.load(f)["files"]
    with open(os.path.join(CORPUS, "expected.json")) as f:
        expected = json.load(f)
    return manifest, expected


def check_manifest(manifest, expected):
    listed = set()
    for x in manifest:
        p = os.path.join(CORPUS, x["file"])
        listed.add(x["file"])
        with open(p, "rb") as f:
            data = f.read()
        check(blob_id(data) == x["blob"], f"{x['file']}: bytes are the upstream blob {x['blob']}")
        check(re.fullmatch(r"[0-9a-f]{40}", x["commit"]) and
              x["repository"].startswith("https://github.com/") and x["path"],
              f"{x['file']}: manifest names repository, path and commit")
        check(x["file"] in expected["files"], f"{x['file']}: has an expected set")
    for dp, _, fs in os.walk(CORPUS):
        for n in fs:
            rel = os.path.relpath(os.path.join(dp, n), CORPUS)
            check(rel in OWN or rel in listed, f"{rel}: listed in the manifest")
    check(set(expected["files"]) <= listed, "expected.json names only manifest files")
    check(len(listed) >= 150, f"at least 150 Dockerfiles ({len(listed)})")


def run_check(rel, lock):
    p = subprocess.run([BIN, "check", "--format", "json", "--lock", lock, rel], cwd=CORPUS,
                       capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, XDG_CACHE_HOME=os.path.dirname(lock)))
    return p


def check_document(rel, p):
    """The document is valid JSON and the exit status agrees with it; returns it or None."""
    if not check(p.returncode in (0, 1, 2), f"{rel}: exit 0/1/2 (got {p.returncode})",
                 p.stderr[-2000:]):
        return None
    try:
        doc = json.loads(p.stdout)
    except ValueError as e:
        check(False, f"{rel}: stdout is one valid JSON document", f"{e}\n{p.stdout[:500]}")
        return None
    fs = doc.get("findings")
    if not check(isinstance(fs, list), f"{rel}: document has a findings array", p.stdout[:500]):
        return None
    errors = sum(1 for x in fs if x.get("severity") == "error")
    if p.returncode != 2:
        check(doc.get("errors") == errors and doc.get("warnings") == len(fs) - errors,
              f"{rel}: errors/warnings count the findings", p.stdout[:500])
        check(p.returncode == (1 if errors else 0),
              f"{rel}: exit {p.returncode} agrees with {errors} error finding(s)")
    return doc


def image_set(doc):
    return {(x["line"], x["code"], x["subject"]) for x in doc["findings"]
            if x["code"].startswith("image-")}


def check_file(rel, want, lock):
    p = run_check(rel, lock)
    if isinstance(want, dict):  # cannot be checked: exit 2 with the reason, also in the JSON
        check(p.returncode == 2 and want["error"] in p.stderr,
              f"{rel}: exit 2 naming '{want['error']}'", f"rc {p.returncode}\n{p.stderr}")
        doc = check_document(rel, p)
        err = doc.get("error") if doc else None
        check(isinstance(err, dict) and want["error"] in str(err.get("message")),
              f"{rel}: the JSON document carries the error", p.stdout[:500])
        return
    doc = check_document(rel, p)
    if doc is None:
        return
    if not check(p.returncode != 2, f"{rel}: checked (exit 0 or 1)", p.stderr[-2000:]):
        return
    exp = {(w[0], w[1], w[2]) for w in want}
    got = image_set(doc)
    check(got == exp, f"{rel}: image findings as expected",
          "missing: " + str(sorted(exp - got)) + "\nunexpected: " + str(sorted(got - exp)))
    for w in want:
        if w[1] != "image-arg-no-default":
            continue
        msgs = [x["message"] for x in doc["findings"]
                if (x["line"], x["code"], x["subject"]) == (w[0], w[1], w[2])]
        check(any(f"ARG '{w[4]}'" in m for m in msgs),
              f"{rel}:{w[0]}: the message names ARG '{w[4]}'", msgs)


def main():
    t0 = time.time()
    if not os.access(BIN, os.X_OK):
        print(f"lockstep binary not found at {BIN}")
        sys.exit(1)
    manifest, expected = load()
    check_manifest(manifest, expected)
    with tempfile.TemporaryDirectory(prefix="lks-corpus-") as tmp:
        lock = os.path.join(tmp, "no.lock")  # never created: an empty lock
        for x in manifest:
            check_file(x["file"], expected["files"].get(x["file"], []), lock)
    dt = time.time() - t0
    if FAILURES:
        print(f"corpus_check: {len(FAILURES)} FAILED of {len(manifest)} files ({dt:.1f} s)")
        sys.exit(1)
    print(f"corpus_check: {len(manifest)} files as expected ({dt:.1f} s)")


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""End-to-end (issue 11): every command that takes `--format json` prints one valid JSON
document on stdout whatever happens, errors included, with the file and line where the
message names them; the exit status stays 2 and the message still goes to stderr.

Runs the real binary on local inputs only (no server is needed to fail): check, outdated,
diff and verify, each with bad arguments and bad or missing inputs.
"""
import json
import os
import shutil
import sys
import tempfile
import time

from pinlib import check, finish, lks, write

OK_REF = "busybox:1@sha256:" + "a" * 64


def doc_of(r, what):
    """The single JSON document on stdout, or None (reported)."""
    try:
        d = json.loads(r.out)
    except ValueError:
        check(False, f"{what}: stdout is one JSON document", r)
        return None
    check(isinstance(d, dict), f"{what}: stdout is one JSON object", r)
    return d if isinstance(d, dict) else None


def expect_error(d, cmd, what, file=None, line=None, keys=(), needle=""):
    r = lks(cmd, d)
    doc = doc_of(r, what)
    if doc is None:
        return None
    err = doc.get("error", {})
    check(r.rc == 2 and needle in err.get("message", "") and needle in r.err,
          f"{what}: exit 2, the message in 'error' and on stderr", r)
    check(err.get("file") == file and err.get("line") == line,
          f"{what}: error names file {file!r} line {line!r}", err)
    for k in keys:
        check(k in doc, f"{what}: the document keeps its key '{k}'", doc)
    return doc


def test_check(d):
    keys = ("version", "findings", "errors", "warnings")
    doc = expect_error(d, ["check", "--format", "json", "missing.Dockerfile"], "check: no file",
                       "missing.Dockerfile", None, keys, "cannot read 'missing.Dockerfile'")
    if doc:
        f = doc["findings"]
        check(len(f) == 1 and f[0]["code"] == "lockstep-error" and doc["errors"] == 1,
              "check: the error is also a finding (errors 1), for tools that read findings", doc)
    write(os.path.join(d, "bad.Dockerfile"), "FROM alpine\nRUN true\nFROBNICATE x\n")
    expect_error(d, ["check", "--format=json", "bad.Dockerfile"], "check: parse error",
                 "bad.Dockerfile", 3, keys, "unknown instruction")
    write(os.path.join(d, "bin.Dockerfile"), b"FROM a\n\xff\xfe x\n")
    expect_error(d, ["check", "--format", "json", "bin.Dockerfile"],
                 "check: a message with bytes that are not UTF-8", "bin.Dockerfile", 2, keys)
    write(os.path.join(d, "Dockerfile"), f"FROM {OK_REF}\n")
    write(os.path.join(d, "broken.lock"), '{"lockfile_version": 1,\n "images": [\n')
    expect_error(d, ["check", "--format", "json", "--lock", "broken.lock"], "check: broken lock",
                 "broken.lock", 3, keys, "broken.lock")
    expect_error(d, ["check", "--bogus", "--format", "json"], "check: unknown option", None, None,
                 keys, "unknown option '--bogus'")
    r = lks(["check", "--format", "json"], d)
    doc = doc_of(r, "check: findings")
    check(r.rc == 1 and doc is not None and "error" not in doc and
          [f["code"] for f in doc["findings"]] == ["image-not-in-lock"],
          "check: a normal run prints its one document, no 'error'", r)


def test_outdated(d):
    keys = ("version", "flagged", "pins")
    expect_error(d, ["outdated", "--format", "json", "--lock", "none.lock"], "outdated: no lock",
                 "none.lock", None, keys, "cannot read 'none.lock'")
    write(os.path.join(d, "lockstep.lock"),
          '{"apt": [], "images": [], "lockfile_version": 1, "python": []}\n')
    write(os.path.join(d, "p.json"), '{"policy_version": 1, "window": "soon"}\n')
    expect_error(d, ["outdated", "--format", "json", "--policy", "p.json"], "outdated: bad policy",
                 "p.json", None, keys, "p.json")
    expect_error(d, ["outdated", "--format", "json", "--window", "x"], "outdated: bad window",
                 None, None, keys, "--window")


def test_diff_verify(d):
    expect_error(d, ["diff", "--format", "json", "oci:" + d + "/nope", "oci:" + d + "/nope2"],
                 "diff: missing image", d + "/nope/index.json", None, ("schema",), "nope")
    expect_error(d, ["diff", "--format", "json", "only-one"], "diff: one image", None, None,
                 ("schema",), "expected two images")
    r = lks(["diff", "--format", "json", "oci:" + d + "/nope", "oci:x"], d)
    doc = doc_of(r, "diff: schema")
    check(doc is not None and doc.get("schema") == "lockstep-diff/1", "diff: schema kept", doc)
    expect_error(d, ["verify", "--format", "json", "--builder", "nope", d], "verify: bad builder",
                 None, None, ("schema",), "unknown builder 'nope'")


def main():
    t0 = time.time()
    d = tempfile.mkdtemp(prefix="lks-json-errors-")
    try:
        test_check(d)
        test_outdated(d)
        test_diff_verify(d)
    finally:
        shutil.rmtree(d, ignore_errors=True)
    finish("json_errors", t0)


if __name__ == "__main__":
    sys.exit(main())

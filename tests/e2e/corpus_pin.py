#!/usr/bin/python3
"""The rewrite test of issue 11: every image reference of the real-world corpus
(fixtures/corpus) redirected to a docker-registry on 127.0.0.1, then `lockstep pin` three times.

Redirecting: in a copy of each Dockerfile, `127.0.0.1:PORT/` goes before each reference that
fixtures/corpus/expected.json lists as unpinned or pinned-but-not-locked (at its line, as
written: `FROM golang:${GO_VERSION}-alpine` becomes `FROM 127.0.0.1:PORT/golang:${GO_VERSION}-
alpine`), and the digests already written are dropped (at the reference, or in the global ARG
that carries it). Nothing else changes. The registry gets one image per expanded reference, from
the four seeded shapes (OCI manifest, OCI index amd64+arm64/v8, Docker manifest, Docker list),
each with an annotation naming it so that every reference has a digest of its own.

Then, with --only images (apt and pip are not what this test is about; the seeded images have no
apt or Python) and one lock for the whole corpus:
  - pin 1: every file is exactly its redirected copy with `@<digest of that reference>` right
    after each reference (inside closing quotes), byte for byte; the lock has one entry per
    reference with the canonical name, `:latest` for the untagged ones;
  - pins 2 and 3: no file and no lock byte changes;
  - `latest` moves for every untagged reference: pin keeps the digests (a warning each),
    outdated flags exactly those pins (an untagged reference's row is the row of a written
    `:latest` of the same image, name included), update moves exactly those digests (nothing
    else in the files changes), the lock still records `:latest`, and a second update, a pin
    after it, change nothing, outdated then finds every pin current.
"""
import hashlib
import json
import os
import re
import shutil
import tempfile
import time

from pinlib import BUILD, SRC, check, finish, lks, need_tools, read, registry, write

CORPUS = os.path.join(SRC, "fixtures", "corpus")
T0_EPOCH = 1793491200  # 2026-11-01T00:00:00Z
DAY = 86400
SHAPES = ["single:1", "multi:1", "single:docker", "list:1"]
DIGEST_RE = re.compile(r"@sha256:[0-9a-f]{64}")


def at(days):
    return f"@{T0_EPOCH + days * DAY}"


def split_ref(expanded):
    """(repository, tag) of an expanded reference without registry host; tag 'latest' when
    none is written."""
    name = DIGEST_RE.sub("", expanded)
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        return name[:name.rindex(":")], last.split(":", 1)[1]
    return name, "latest"


def redirect_line(line, written, host):
    """The line with host/ before the reference written; None when it is not there once."""
    pat = re.compile(r"(?:(?<=[\s=,\"'])|^)" + re.escape(written) + r"(?=$|[\s,\"'])")
    found = list(pat.finditer(line))
    if not found:
        return None, None
    m = found[0]
    new = line[:m.start()] + f"{host}/" + line[m.start():]
    return new, m.start() + len(host) + 1 + len(written)


def plan_file(rel, rows, host):
    """The redirected text, the expected pinned text (digest placeholders {0}, {1}, ...), and the
    (repository, tag, line) of each redirected reference, in order."""
    text = read(os.path.join(CORPUS, rel)).decode("utf-8", "surrogateescape")
    lines = text.split("\n")
    for row in rows:  # digests already written go: from the reference or its global ARG
        line, code, subject, written = row[:4]
        m = DIGEST_RE.search(subject)
        if code != "image-not-in-lock" or not m:
            continue
        if m.group(0) in lines[line - 1]:
            lines[line - 1] = lines[line - 1].replace(m.group(0), "", 1)
            continue
        k = next(i for i, x in enumerate(lines) if x.lstrip().upper().startswith("ARG ") and
                 m.group(0) in x)
        lines[k] = lines[k].replace(m.group(0), "", 1)
    refs, inserts = [], {}
    for row in rows:
        line, code, subject, written = row[:4]
        if code not in ("image-unpinned", "image-not-in-lock"):
            continue
        w = DIGEST_RE.sub("", written)
        new, end = redirect_line(lines[line - 1], w, host)
        if new is None:
            raise RuntimeError(f"{rel}:{line}: '{w}' not found once")
        lines[line - 1] = new
        inserts.setdefault(line - 1, []).append((end, len(refs)))
        refs.append(split_ref(subject) + (line,))
    redirected = "\n".join(lines)
    exp = list(lines)
    for i, ins in inserts.items():
        for end, k in sorted(ins, reverse=True):
            quote = exp[i][end - 1] if exp[i][end - 1:end] in ("'", '"') else ""
            pos = end - len(quote)
            exp[i] = exp[i][:pos] + "@{" + str(k) + "}" + exp[i][pos:]
    template = "\n".join(x.replace("{", "{{").replace("}", "}}") for x in exp)
    template = re.sub(r"@\{\{(\d+)\}\}", r"@{\1}", template)
    return redirected, template, refs


def seed(host, repos):
    """One image per (repository, tag); returns {(repository, tag): digest}."""
    out = {}
    for repo, tag in sorted(repos):
        h = int(hashlib.sha256(f"{repo}:{tag}".encode()).hexdigest(), 16)
        src_repo, src_ref = SHAPES[h % len(SHAPES)].split(":")
        out[(repo, tag)] = registry.copy_image(host, src_repo, src_ref, repo, tag,
                                               note=f"{repo}:{tag}")
    return out


def snapshot_tree(root, files):
    return {f: read(os.path.join(root, f)) for f in files + ["lockstep.lock"]
            if os.path.exists(os.path.join(root, f))}


def expected_texts(plans, digests):
    return {rel: template.format(*[digests[(r, t)] for r, t, _ in refs])
            for rel, (_, template, refs) in plans.items()}


def pin_run(d, files, now, extra=()):
    return lks(["pin", "--only", "images", "--now", now, "-q"] + list(extra) + files, d,
               timeout=600)


def test_pins(d, files, plans, host, digests, rc):
    want = expected_texts(plans, digests)
    r = pin_run(d, files, at(0))
    check(r.rc == rc, f"pin 1 over the corpus: exit {rc}", r)
    bad = [f for f in files if read(os.path.join(d, f)).decode("utf-8", "surrogateescape")
           != want[f]]
    check(not bad, f"pin 1: {len(files)} files byte-exact (digest right after each reference, "
          "nothing else changed)", bad[:10])
    lock = json.loads(read(os.path.join(d, "lockstep.lock")))
    got = sorted((i["file"], i["line"], i["reference"], i["digest"]) for i in lock["images"])
    exp = sorted((f, line, f"{host}/{r}:{t}", digests[(r, t)])
                 for f, (_, _, refs) in plans.items() for r, t, line in refs)
    check(got == exp, f"pin 1: the lock has the {len(exp)} references, canonical names with "
          ":latest for the untagged ones, and their digests",
          f"missing {sorted(set(exp) - set(got))[:5]}\nextra {sorted(set(got) - set(exp))[:5]}")
    first = snapshot_tree(d, files)
    for k in (2, 3):
        r = pin_run(d, files, at(0))
        check(r.rc == rc and snapshot_tree(d, files) == first,
              f"pin {k}: no file and no lock byte changes", r)
    return first


def test_latest_moves(d, files, plans, host, digests, first, rc):
    untagged = sorted({(r, t) for _, _, refs in plans.values() for r, t, _ in refs
                       if t == "latest"})
    moved = {k: registry.copy_image(host, "single", "1", k[0], "latest", note=f"{k[0]} moved")
             for k in untagged}
    r = pin_run(d, files, at(1), ["--max-age", "0", "-v"])
    nwarn = r.err.count("now points to")
    nlatest = sum(1 for _, _, refs in plans.values() for x in refs if x[1] == "latest")
    now_files = snapshot_tree(d, files)
    same = all(now_files[f] == first[f] for f in files)  # the lock: re-resolved times
    check(r.rc == rc and same and nwarn == nlatest,
          f"latest moved ({len(untagged)} images): pin keeps every digest, one warning for "
          f"each of the {nlatest} references", f"rc {r.rc} unchanged {same} warnings {nwarn}\n"
          + "\n".join(r.err.splitlines()[:3]))
    r = lks(["outdated", "--only", "images", "--now", at(40), "--max-age", "0", "--format",
             "json"], d, timeout=600)
    pins = json.loads(r.out).get("pins", []) if r.out else []
    newer = sorted((p["file"], p["line"]) for p in pins if p["state"] == "newer")
    want_newer = sorted((f, line) for f, (_, _, refs) in plans.items()
                        for _, t, line in refs if t == "latest")
    check(r.rc == 1 and newer == want_newer, "outdated: exactly the untagged references are "
          "behind their latest", f"{r}\n{newer[:5]} vs {want_newer[:5]}")
    check_like_written_latest(plans, pins)
    r = lks(["update", "--only", "images", "--now", at(40), "--max-age", "0", "-q"] + files, d,
            timeout=600)
    now = dict(digests)
    now.update(moved)
    want = expected_texts(plans, now)
    bad = [f for f in files if read(os.path.join(d, f)).decode("utf-8", "surrogateescape")
           != want[f]]
    check(r.rc == rc and not bad, "update moves exactly the latest references' digests",
          f"{r}\n{bad[:10]}")
    lock = json.loads(read(os.path.join(d, "lockstep.lock")))
    refs = {(i["file"], i["line"]): (i["reference"], i["digest"]) for i in lock["images"]}
    lat = [refs.get((f, line)) for f, (_, _, rs) in plans.items() for r, t, line in rs
           if t == "latest"]
    check(lat and all(x and x[0].endswith(":latest") and x[1] in moved.values() for x in lat),
          f"the lock records the {len(lat)} latest references with :latest and the new "
          "digests", lat[:5])
    after = snapshot_tree(d, files)
    r = lks(["update", "--only", "images", "--now", at(40), "--max-age", "0", "-q"] + files, d,
            timeout=600)
    check(r.rc == rc and snapshot_tree(d, files) == after, "a second update changes no byte", r)
    r = pin_run(d, files, at(40))
    check(r.rc == rc and snapshot_tree(d, files) == after, "pin after update changes no byte "
          "(the implicit latest survives the update and the pins after it)", r)
    r = lks(["outdated", "--only", "images", "--now", at(40), "--max-age", "0", "--format",
             "json"], d, timeout=600)
    pins = json.loads(r.out).get("pins", []) if r.out else []
    check(r.rc == 0 and pins and all(p["state"] == "current" for p in pins),
          f"outdated after update: all {len(pins)} pins current", f"{r}"[:2000])


def check_like_written_latest(plans, pins):
    """An untagged reference's outdated row is a written :latest one's: the same name with
    :latest and, for the same image, the same row apart from file and line."""
    rows = {(p["file"], p["line"]): p for p in pins}
    untagged, written = [], []
    for f, (text, _, refs) in plans.items():
        lines = text.split("\n")
        for repo, tag, line in refs:
            if tag != "latest":
                continue
            row = rows.get((f, line))
            (written if f"{repo}:latest" in lines[line - 1] else untagged).append((repo, row))
    check(untagged and all(r and r["name"].endswith(f"{repo}:latest") for repo, r in untagged),
          f"outdated names the {len(untagged)} untagged references with :latest",
          [x for x in untagged if not x[1] or not x[1]["name"].endswith(":latest")][:3])
    strip = lambda r: {k: v for k, v in r.items() if k not in ("file", "line")}
    pairs = [(u, w) for ru, u in untagged for rw, w in written if ru == rw and u and w]
    check(written and pairs and all(strip(u) == strip(w) for u, w in pairs),
          f"an untagged reference's row equals the written :latest one's for the same image "
          f"({len(pairs)} pairs)", pairs[:2])


def main():
    need_tools()
    t0 = time.time()
    with open(os.path.join(CORPUS, "expected.json")) as f:
        expected = json.load(f)["files"]
    storage, _ = registry.seed(os.path.abspath(BUILD))
    tmp = tempfile.mkdtemp(prefix="lks-corpus-pin-")
    try:
        with registry.Registry("anon", storage=storage) as reg:
            host = reg.host
            plans = {}
            for rel, rows in sorted(expected.items()):
                if isinstance(rows, dict) or not any(
                        r[1] in ("image-unpinned", "image-not-in-lock") for r in rows):
                    continue
                plans[rel] = plan_file(rel, rows, host)
            files = sorted(plans)
            for rel in files:
                os.makedirs(os.path.dirname(os.path.join(tmp, rel)), exist_ok=True)
                write(os.path.join(tmp, rel), plans[rel][0].encode("utf-8", "surrogateescape"))
            digests = seed(host, {(r, t) for _, _, refs in plans.values() for r, t, _ in refs})
            print(f"{len(files)} files, {sum(len(p[2]) for p in plans.values())} references, "
                  f"{len(digests)} images seeded", flush=True)
            # exit 1 when a file also has a reference no digest can pin (an ARG without default)
            rc = 1 if any(r[1] in ("image-arg-no-default", "image-per-platform",
                                   "image-bad-substitution")
                          for f in files for r in expected[f]) else 0
            first = test_pins(tmp, files, plans, host, digests, rc)
            test_latest_moves(tmp, files, plans, host, digests, first, rc)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    finish("corpus_pin", t0)


if __name__ == "__main__":
    main()

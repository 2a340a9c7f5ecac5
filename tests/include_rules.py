#!/usr/bin/env python3
"""The dependency rules of ARCHITECTURE.md, checked on every #include of the product code.

Folders, lowest first: common/ < cache/ < pinner/, verifier/ < cli/. A file may include headers
of its own folder and of the folders below it; pinner/ and verifier/ never include each other;
inside pinner/, a kind's folder (images, apt, python) includes no other kind's headers (the
shared Dockerfile model in pinner/dockerfile/ and pinner/*.h are for every kind).

Which folder a header belongs to: "pinner/apt/x.h" by its path; a public header
include/lockstep/NAME.h by the folder of NAME.c (a header without a NAME.c is common's).

Run with the source root as argument (default: the parent of tests/); --self-test also checks
that a tree breaking each rule is caught. Exit 0 when every include keeps the rules.
"""
import os
import re
import sys
import tempfile

LAYER = {"common": 0, "cache": 1, "pinner": 2, "verifier": 2, "cli": 3}
KINDS = ("images", "apt", "python")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def sources(root):
    for top in LAYER:
        for d, _, files in os.walk(os.path.join(root, top)):
            for f in sorted(files):
                if f.endswith((".c", ".h")):
                    yield os.path.relpath(os.path.join(d, f), root)


def public_owners(root):
    """include/lockstep/NAME.h -> the folder of NAME.c."""
    by_name = {}
    for rel in sources(root):
        if rel.endswith(".c"):
            by_name.setdefault(os.path.basename(rel)[:-2], []).append(rel.split(os.sep)[0])
    owners, problems = {}, []
    pub = os.path.join(root, "include", "lockstep")
    for h in sorted(os.listdir(pub)) if os.path.isdir(pub) else []:
        if not h.endswith(".h"):
            continue
        tops = sorted(set(by_name.get(h[:-2], ["common"])))
        if len(tops) > 1:
            problems.append(f"include/lockstep/{h}: {h[:-2]}.c in several folders: {tops}")
        owners["lockstep/" + h] = tops[0]
    return owners, problems


def kind_of(rel):
    parts = rel.split(os.sep)
    return parts[1] if parts[0] == "pinner" and len(parts) > 2 and parts[1] in KINDS else None


def violations(root):
    owners, out = public_owners(root)
    for rel in sources(root):
        top = rel.split(os.sep)[0]
        with open(os.path.join(root, rel), encoding="utf-8", errors="replace") as f:
            text = f.read()
        for m in INCLUDE.finditer(text):
            inc = m.group(1)
            line = text.count("\n", 0, m.start()) + 1
            if inc in owners:
                owner = owners[inc]
            elif inc.split("/")[0] in LAYER or inc.startswith("tests/"):
                owner = inc.split("/")[0]
            else:
                continue  # a header beside the file, or a system header in quotes
            where = f"{rel}:{line}: includes \"{inc}\""
            if owner == "tests":
                out.append(f"{where}: product code never includes tests/")
            elif LAYER[owner] > LAYER[top] or (LAYER[owner] == LAYER[top] and owner != top):
                out.append(f"{where} ({owner}/): {top}/ may include only "
                           f"{', '.join(k for k in LAYER if LAYER[k] < LAYER[top] or k == top)}")
            elif kind_of(rel) and kind_of(inc.replace("/", os.sep)) not in (None, kind_of(rel)):
                out.append(f"{where}: the {kind_of(rel)} kind includes another kind's header")
    return out


def self_test():
    """Each rule, broken once in a small tree, must be reported."""
    cases = {
        "common/a.c": '#include "lockstep/v.h"\n',        # common -> verifier (public)
        "common/b.c": '#include "pinner/x.h"\n',          # common -> pinner
        "verifier/v.c": '#include "pinner/apt/y.h"\n',    # verifier -> pinner
        "pinner/p.c": '#include "verifier/z.h"\n',        # pinner -> verifier
        "pinner/apt/y.c": '#include "pinner/python/w.h"\n',  # kind -> kind
        "cache/c.c": '#include "lockstep/p.h"\n',         # cache -> pinner (public)
    }
    with tempfile.TemporaryDirectory() as root:
        os.makedirs(os.path.join(root, "include", "lockstep"))
        for h in ("v.h", "p.h"):
            open(os.path.join(root, "include", "lockstep", h), "w").close()
        extra = {"verifier/v.h": "", "pinner/p.h": "", "pinner/python/w.h": "",
                 "common/ok.c": '#include "lockstep/ok.h"\n'}
        open(os.path.join(root, "include", "lockstep", "ok.h"), "w").close()
        for rel, text in dict(cases, **extra).items():
            os.makedirs(os.path.dirname(os.path.join(root, rel)), exist_ok=True)
            with open(os.path.join(root, rel), "w") as f:
                f.write(text)
        open(os.path.join(root, "verifier", "v.c"), "a").close()
        open(os.path.join(root, "pinner", "p.c"), "a").close()
        got = violations(root)
        missed = [c for c in cases if not any(g.startswith(c + ":") for g in got)]
        wrong = [g for g in got if g.split(":")[0] not in cases]
        return missed, wrong


def main():
    args = [a for a in sys.argv[1:] if a != "--self-test"]
    root = args[0] if args else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    ok = True
    if "--self-test" in sys.argv:
        missed, wrong = self_test()
        for m in missed:
            print(f"self-test: a broken rule went unnoticed: {m}")
        for w in wrong:
            print(f"self-test: a correct include was reported: {w}")
        ok = not missed and not wrong
    found = violations(root)
    for v in found:
        print(v)
    if found or not ok:
        return 1
    print(f"include rules hold ({sum(1 for _ in sources(root))} files)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

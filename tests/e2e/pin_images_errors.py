#!/usr/bin/python3
"""End-to-end: `lockstep pin` against authenticated registries, a fault-injecting proxy and
bad input. Every failure must exit 2 with one clear message and write nothing (Dockerfile and
lock compared by bytes and mtime).

Covers: Basic auth with DOCKER_CONFIG credentials (and without: names the registry, leaks no
credential into output, lock or cache), Bearer token registries (anonymous and credentialed);
429 with Retry-After then success, 500 then success, a corrupted manifest body under the
original Docker-Content-Digest, a hanging server (--timeout), a truncated body; a missing tag,
a closed port, an invalid reference, an unterminated heredoc, a 10 MB line, binary garbage,
a read-only Dockerfile, a lock file from the future.
"""
import os
import shutil
import tempfile
import time

from pinlib import (NOW, BUILD, FaultProxy, check, docker_config, finish, grep_tree, lks,
                    need_tools, read, registry, snapshot, workdir, write)

PASSWORD = "pw-S3cret-e2e"
USER = "alice"


def pinned(text, h, facts, key):
    """text with key's digest inserted after every '{h}/{key}' (followed by space or EOL)."""
    for end in ("\n", " "):
        text = text.replace(f"{h}/{key}{end}", f"{h}/{key}@{facts[key]['digest']}{end}")
    return text


def expect_pinned(d, r, text, h, facts, keys, what):
    want = text
    for k in keys:
        want = pinned(want, h, facts, k)
    got = read(os.path.join(d, "Dockerfile")).decode()
    return check(r.rc == 0 and got == want and os.path.exists(os.path.join(d, "lockstep.lock")),
                 what, f"{r}\ngot Dockerfile:\n{got}")


def expect_error(d, r, before, needles, what, max_s=None):
    """exit 2, one line on stderr naming every needle, nothing written."""
    lines = [ln for ln in r.err.splitlines() if ln.strip()]
    ok = r.rc == 2 and len(lines) == 1 and all(n in r.err for n in needles)
    ok = ok and snapshot(d) == before and r.out == ""
    if max_s is not None:
        ok = ok and r.dt <= max_s
    if ok:
        print(f"       ({r.dt:.2f} s) {r.err.strip()[:300]}")
    return check(ok, what, f"{r}\nfiles now: {sorted(snapshot(d))}, before: {sorted(before)}")


def test_basic(tmp, storage, facts):
    with registry.Registry("basic", user=USER, password=PASSWORD, storage=storage) as reg:
        h = reg.host
        text = f"FROM {h}/single:1\nCOPY --from={h}/multi:1 /bin /b\n"
        dc, auth = docker_config(tmp, h, USER, PASSWORD)
        d = workdir(tmp, "basic-ok", text)
        r = lks(["pin", "--now", NOW], d, docker_config=dc)
        expect_pinned(d, r, text, h, facts, ["single:1", "multi:1"],
                      "basic auth with config.json: pins")
        leaks = grep_tree(d, [PASSWORD.encode(), auth.encode()])
        db = os.path.join(d, ".xdg-cache", "lockstep", "cache.sqlite")
        check(os.path.getsize(db) > 0 if os.path.exists(db) else False,
              "the cache sqlite file exists (so the credential grep below means something)")
        check(not leaks and PASSWORD not in r.out + r.err and auth not in r.out + r.err,
              "basic auth: no password or base64 auth in output, lock or cache", leaks)

        d = workdir(tmp, "basic-nocreds", text)
        before = snapshot(d)
        r = lks(["pin", "--now", NOW], d)
        expect_error(d, r, before, [f"registry '{h}' requires credentials"],
                     "basic auth without credentials: exit 2 naming the "
                     "registry, nothing written")
        dc_bad, bad_auth = docker_config(tmp, h, USER, "wrong-" + PASSWORD)
        d = workdir(tmp, "basic-wrong", text)
        before = snapshot(d)
        r = lks(["pin", "--now", NOW], d, docker_config=dc_bad)
        expect_error(d, r, before, [h], "basic auth with a wrong password: exit 2, nothing "
                     "written")
        check(not grep_tree(d, [b"wrong-" + PASSWORD.encode(), bad_auth.encode()]) and
              bad_auth not in r.err and PASSWORD not in r.err,
              "wrong password: no credential text in output or cache")


def test_token(tmp, storage, facts):
    for mode in ("token", "token-basic"):
        with registry.Registry(mode, user=USER, password=PASSWORD, storage=storage) as reg:
            h = reg.host
            text = f"FROM {h}/multi:1\nFROM {h}/single:docker\n"
            dc = None
            if mode == "token-basic":
                dc, auth = docker_config(tmp, h, USER, PASSWORD)
            d = workdir(tmp, "tok-" + mode, text)
            r = lks(["pin", "--now", NOW], d, docker_config=dc)
            expect_pinned(d, r, text, h, facts, ["multi:1", "single:docker"],
                          f"bearer token registry ({mode}): pins")
            if mode == "token-basic":
                check(not grep_tree(d, [PASSWORD.encode(), auth.encode()]),
                      "token-basic: no credential text in lock or cache")
                d = workdir(tmp, "tok-nocreds", text)
                before = snapshot(d)
                r = lks(["pin", "--now", NOW], d)
                expect_error(d, r, before, [h], "token registry needing credentials, none "
                             "given: exit 2 naming the registry, nothing written")


def fault_case(tmp, fp, name, rules, args=()):
    fp.rules(rules)
    h = fp.host
    text = f"FROM {h}/single:1\n"
    d = workdir(tmp, "fault-" + name, text)
    return d, text, lks(["pin", "--now", NOW] + list(args), d, timeout=60)


def test_faults(tmp, reg, facts):
    with FaultProxy(f"http://{reg.host}", tmp) as fp:
        h = fp.host
        man = "/v2/single/manifests/1"
        d, text, r = fault_case(tmp, fp, "429", [{"path": man, "fault": "status", "status": 429,
                                                  "retry_after": "1", "times": 1}])
        expect_pinned(d, r, text, h, facts, ["single:1"], "429 with Retry-After, then success: "
                      "pins")
        check(fp.used() == [1] and r.dt >= 0.9, "429 was served once and Retry-After (1 s) "
              f"was honoured (took {r.dt:.2f} s)")
        d, text, r = fault_case(tmp, fp, "500", [{"path": man, "fault": "status", "status": 500,
                                                  "times": 1}])
        expect_pinned(d, r, text, h, facts, ["single:1"], "500 then success: pins")
        check(fp.used() == [1], "the 500 was served")
        d, text, r = fault_case(tmp, fp, "drop1", [{"path": "/manifests/", "fault": "drop",
                                                    "times": 1}])
        expect_pinned(d, r, text, h, facts, ["single:1"], "a dropped connection, then success: "
                      "pins")
        check(fp.used() == [1], "the connection was dropped once")

        # after a pin, pinning the pinned file again needs no network (within --max-age)
        fp.rules([])
        d = workdir(tmp, "warm", f"FROM {h}/single:1\nCOPY --from={h}/multi:1 / /\n")
        r1 = lks(["pin", "--now", NOW], d)
        fp.rules([{"fault": "drop", "times": None}])
        before = snapshot(d)
        r = lks(["pin", "--now", NOW], d)
        check(r1.rc == 0 and r.rc == 0 and fp.used() == [0] and snapshot(d) == before,
              "pin of the just-pinned file is answered from the cache: no request, exit 0",
              f"{r1}\n{r}\nrequests dropped: {fp.used()}")

        # failures: an existing Dockerfile and lock must stay as they are (bytes and mtime)
        for name, rule, needles, args, max_s in (
                ("corrupt", {"path": "/v2/single/manifests/", "method": "GET",
                             "fault": "corrupt", "times": None},
                 ["does not match its digest", "sha256:"], [], None),
                ("hang", {"path": man, "fault": "hang", "seconds": 30, "times": None},
                 ["timed out after 2 s"], ["--timeout", "2"], 12.0),
                ("hang_body", {"path": "/v2/single/manifests/", "method": "GET",
                               "fault": "hang_body", "seconds": 30, "times": None},
                 ["timed out after 2 s"], ["--timeout", "2"], 12.0),
                ("truncate", {"path": "/v2/single/manifests/", "method": "GET", "fault": "truncate",
                              "times": None}, ["truncated body", h], [], None)):
            fp.rules([rule])
            d = workdir(tmp, "fault-" + name, text)
            write(os.path.join(d, "lockstep.lock"), LOCK_TEMPLATE["lock"])
            before = snapshot(d)
            r = lks(["pin", "--now", NOW] + args, d, timeout=60)
            expect_error(d, r, before, needles, f"{name} manifest: exit 2 mentioning "
                         f"{needles}, Dockerfile and lock untouched", max_s)
            check(fp.used()[0] >= 1, f"the {name} fault was applied")


LOCK_TEMPLATE = {}


def test_bad_input(tmp, reg, facts):
    h = reg.host
    cases = [
        ("notag", f"FROM {h}/single:nope\n", [f"{h}/single:nope", f"registry '{h}'"]),
        ("closed", "FROM 127.0.0.1:1/single:1\n", ["cannot reach registry '127.0.0.1:1'"]),
        ("invalid", "FROM UPPER/Case:tag\n", ["Dockerfile:1", "UPPER/Case:tag"]),
        ("heredoc", f"FROM {h}/single:1\nRUN <<EOF\necho hi\n", ["Dockerfile:2", "heredoc"]),
        ("longline", f"FROM {h}/single:1\nRUN echo " + "a" * (10 << 20) + "\n",
         ["Dockerfile:2", "line longer"]),
        ("binary", bytes((i * 7919 + 13) % 256 for i in range(8192)), ["Dockerfile"]),
    ]
    for name, text, needles in cases:
        d = workdir(tmp, "bad-" + name, text)
        before = snapshot(d)
        r = lks(["pin", "--now", NOW], d)
        expect_error(d, r, before, needles, f"bad input {name}: exit 2, one message, nothing "
                     "written")
    for bad in ("0", "abc", "-5"):
        d = workdir(tmp, "bad-timeout" + bad, f"FROM {h}/single:1\n")
        before = snapshot(d)
        r = lks(["pin", "--timeout", bad], d)
        expect_error(d, r, before, ["--timeout", bad], f"--timeout {bad}: exit 2, nothing written")
    d = workdir(tmp, "bad-readonly", f"FROM {h}/single:1\n")
    os.chmod(os.path.join(d, "Dockerfile"), 0o444)
    before = snapshot(d)
    r = lks(["pin", "--now", NOW], d)
    expect_error(d, r, before, ["Dockerfile", "read-only"], "read-only Dockerfile (0444): exit "
                 "2, nothing written (also as root)")
    d = workdir(tmp, "bad-lock99", f"FROM {h}/single:1\n")
    write(os.path.join(d, "lockstep.lock"), '{"lockfile_version": 99, "images": []}\n')
    before = snapshot(d)
    r = lks(["pin", "--now", NOW], d)
    expect_error(d, r, before, ["lockstep.lock", "99"], "lock file with lockfile_version 99: "
                 "exit 2, nothing written")
    r = lks(["check"], d)
    check(r.rc == 2 and "99" in r.err, "check with lockfile_version 99: exit 2", r)


def main():
    need_tools()
    t0 = time.time()
    storage, facts = registry.seed(os.path.abspath(BUILD))
    tmp = tempfile.mkdtemp(prefix="lks-pin-errors-")
    try:
        with registry.Registry("anon", storage=storage) as reg:
            d = workdir(tmp, "template", f"FROM {reg.host}/single:1\n")
            r = lks(["pin", "--now", NOW], d)
            if not check(r.rc == 0, "a lock file to protect is made", r):
                finish("pin_images_errors", t0)
            LOCK_TEMPLATE["lock"] = read(os.path.join(d, "lockstep.lock"))
            test_faults(tmp, reg, facts)
            test_bad_input(tmp, reg, facts)
        test_basic(tmp, storage, facts)
        test_token(tmp, storage, facts)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    finish("pin_images_errors", t0)


if __name__ == "__main__":
    main()

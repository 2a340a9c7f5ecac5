#!/usr/bin/env python3
"""Registry mirrors end to end (issue 11, point 8).

A loopback docker-registry serves `docker.io/library/...` images (the seeded busybox images
under library/ names) while Docker Hub cannot be reached: every lockstep and buildah run gets
https_proxy/http_proxy pointing at a closed port (loopback excluded with no_proxy), so this
holds on a machine with internet access too, and the first case proves it. The proxy port is
a trap that counts connections: a run a mirror answers must not reach it (the upstream is
never contacted). Then:

- `--registry-mirror docker.io=URL` and $LOCKSTEP_REGISTRY_MIRROR: pin through the mirror;
  the Dockerfile gets the seeded digest, the lock names docker.io (never the mirror);
- a registries.conf ($CONTAINERS_REGISTRIES_CONF): mirrors tried in order (a closed port, a
  mirror without the image, a namespaced mirror), location rewriting, mirror-by-digest-only
  and pull-from-mirror, blocked, and bad files (FILE:LINE messages, exit 2);
- credentials per mirror host: the mirror (Basic auth, behind a logging proxy) gets its own
  from docker's config.json, never Docker Hub's;
- content from a mirror is verified: a corrupted manifest fails the pin, nothing written;
- outdated and update follow a tag moved on the mirror; the lock still names docker.io;
- verify (buildah) pulls the pinned base through the mirror, with the registries.conf and
  with the option (lockstep writes its configuration for buildah).
"""
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pinlib  # noqa: E402
from pinlib import BIN, BUILD, FaultProxy, check, read, registry, write  # noqa: E402

NOW = "2026-11-23T12:00:00Z"


def link_path(reg, repo, tag):
    return os.path.join(reg.dir, "storage", "docker", "registry", "v2", "repositories", repo,
                        "_manifests", "tags", tag, "current", "link")


def mirror_storage(storage, parent, name, renames):
    """A copy of the seeded registry storage with repositories renamed (library/..., ...)."""
    dst = os.path.join(parent, name)
    shutil.copytree(storage, dst, symlinks=True)
    repos = os.path.join(dst, "docker", "registry", "v2", "repositories")
    for src, to in renames:
        os.makedirs(os.path.dirname(os.path.join(repos, to)), exist_ok=True)
        shutil.copytree(os.path.join(repos, src), os.path.join(repos, to), symlinks=True)
    for src in {s for s, _ in renames}:
        shutil.rmtree(os.path.join(repos, src))
    return dst


class Trap:
    """The proxy every run gets: counts connections (what was asked) and closes them."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.asked = []
        self.lock = threading.Lock()
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    line = conn.recv(512).split(b"\r\n")[0].decode("latin-1")
                except OSError:
                    line = ""
            with self.lock:
                self.asked.append(line)

    def count(self):
        with self.lock:
            return len(self.asked)

    def close(self):
        self.sock.close()


class World:
    def __init__(self, root, facts):
        self.root, self.facts = root, facts
        self.home = os.path.join(root, "home")
        os.makedirs(self.home)
        self.empty_conf = os.path.join(root, "empty.conf")
        write(self.empty_conf, "")
        self.dead = registry.free_port()  # nothing listens there
        self.trap = Trap()
        trap = f"http://127.0.0.1:{self.trap.port}"
        self.env = {"HOME": self.home, "CONTAINERS_REGISTRIES_CONF": self.empty_conf,
                    "https_proxy": trap, "HTTPS_PROXY": trap, "http_proxy": trap,
                    "HTTP_PROXY": trap, "no_proxy": "127.0.0.1,localhost",
                    "NO_PROXY": "127.0.0.1,localhost", "LOCKSTEP_REGISTRY_MIRROR": ""}
        self.n = 0

    def project(self, dockerfile, name=None):
        self.n += 1
        return pinlib.workdir(self.root, name or f"p{self.n}", dockerfile)

    def run(self, args, cwd, env=None, cache=None, docker_config=None, timeout=120):
        e = dict(self.env)
        e.update(env or {})
        return pinlib.lks(args, cwd, cache=cache, docker_config=docker_config, env=e,
                          timeout=timeout)

    def conf(self, name, text):
        p = os.path.join(self.root, name)
        write(p, text)
        return p


def lock_images(d):
    return json.loads(read(os.path.join(d, "lockstep.lock")))["images"]


def pinned_ok(w, d, r, digest, what, ref="docker.io/library/busybox:1", mirror_host=None):
    df = read(os.path.join(d, "Dockerfile")).decode()
    check(r.rc == 0, f"{what}: pin exits 0", r)
    check(f"@{digest}" in df, f"{what}: the Dockerfile gets the seeded digest", df)
    imgs = lock_images(d) if os.path.exists(os.path.join(d, "lockstep.lock")) else []
    check(len(imgs) == 1 and imgs[0]["reference"] == ref and
          imgs[0]["registry"] == ref.split("/")[0] and imgs[0]["digest"] == digest,
          f"{what}: the lock names {ref.split('/')[0]} and the digest", imgs)
    lock = read(os.path.join(d, "lockstep.lock")).decode() if imgs else ""
    check(not mirror_host or mirror_host not in lock, f"{what}: the lock never names the mirror")


def case_unreachable(w):
    d = w.project("FROM busybox:1\n")
    n = w.trap.count()
    r = w.run(["pin"], d)
    check(r.rc == 2 and "cannot reach registry 'docker.io'" in r.err,
          "without a mirror Docker Hub cannot be reached (the test's premise)", r)
    check(w.trap.count() > n and any("docker.io" in a for a in w.trap.asked[n:]),
          "...and the attempt reached the trap (what a run must not do with a mirror)",
          w.trap.asked[n:])


def upstream_untouched(w, n, what):
    check(w.trap.count() == n, f"{what}: Docker Hub was never contacted", w.trap.asked[n:])


def case_option(w, mirror, proxy):
    single = w.facts["single:1"]["digest"]
    d = w.project("FROM busybox:1\nFROM alpine:1 AS two\n")
    n = w.trap.count()
    r = w.run(["pin", "--registry-mirror", f"docker.io=http://{proxy.host}", "-v"], d)
    upstream_untouched(w, n, "--registry-mirror")
    df = read(os.path.join(d, "Dockerfile")).decode()
    check(r.rc == 0 and f"busybox:1@{single}" in df and
          f"alpine:1@{w.facts['multi:1']['digest']}" in df,
          "--registry-mirror: pin resolves docker.io images through the mirror", f"{r}\n{df}")
    imgs = lock_images(d) if r.rc == 0 else []
    check([i["reference"] for i in imgs] == ["docker.io/library/busybox:1",
                                             "docker.io/library/alpine:1"] and
          all(i["registry"] == "docker.io" for i in imgs),
          "--registry-mirror: the lock names docker.io", imgs)
    check(r.rc == 0 and proxy.host not in read(os.path.join(d, "lockstep.lock")).decode(),
          "--registry-mirror: the lock never names the mirror")
    check(f"pulling through mirror '{proxy.host}' of 'docker.io'" in r.err,
          "-v says which mirror served", r.err)
    log = proxy.log()
    check(any("/v2/library/busybox/manifests/" in e["path"] for e in log),
          "the mirror received the requests", log[:3])
    r2 = w.run(["check"], d)
    check(r2.rc == 0, "check agrees with what pin wrote", r2)
    # the same with the variable, a bare URL meaning Docker Hub
    d2 = w.project("FROM busybox:1\n")
    r = w.run(["pin"], d2, env={"LOCKSTEP_REGISTRY_MIRROR": f"http://{mirror.host}"})
    pinned_ok(w, d2, r, single, "LOCKSTEP_REGISTRY_MIRROR", mirror_host=mirror.host)
    # the option's value is checked up front
    for bad, want in (("docker.io=ftp://x", "http:// or https://"),
                      ("docker.io=http://u:p@m.example:5000", "credentials"),
                      ("docker.io=mirror", "host name")):
        r = w.run(["pin", "--registry-mirror", bad], d2)
        check(r.rc == 2 and want in r.err, f"--registry-mirror {bad}: refused", r)


def case_conf(w, mirror, empty, nsmirror):
    single = w.facts["single:1"]["digest"]
    conf = w.conf("registries.conf", f"""
# mirrors are tried in order: a closed port, one without the image, a namespaced one
unqualified-search-registries = ["docker.io"]

[[registry]]
prefix = "docker.io"
location = "docker.io"

[[registry.mirror]]
location = "127.0.0.1:{w.dead}"
insecure = true

[[registry.mirror]]
location = "{empty.host}"
insecure = true

[[registry.mirror]]
location = "{nsmirror.host}/hub"
insecure = true

[[registry]]
prefix = "example.test/team"
location = "{mirror.host}/library"
insecure = true
""")
    d = w.project("FROM busybox:1\nFROM example.test/team/alpine:1\n")
    t0 = time.time()
    n = w.trap.count()
    r = w.run(["pin"], d, env={"CONTAINERS_REGISTRIES_CONF": conf})
    upstream_untouched(w, n, "registries.conf, the third mirror answering")
    df = read(os.path.join(d, "Dockerfile")).decode()
    check(r.rc == 0 and f"busybox:1@{single}" in df and
          f"example.test/team/alpine:1@{w.facts['multi:1']['digest']}" in df,
          "registries.conf: mirrors in order (closed port, 404, namespaced) and location "
          "rewriting", f"{r}\n{df}")
    imgs = lock_images(d) if r.rc == 0 else []
    check([(i["reference"], i["registry"]) for i in imgs] ==
          [("docker.io/library/busybox:1", "docker.io"),
           ("example.test/team/alpine:1", "example.test")],
          "registries.conf: the lock keeps the names as written", imgs)
    print(f"     (pin through 3 mirrors: {time.time() - t0:.1f} s)")
    # mirror-by-digest-only: a tag goes to Docker Hub only; a digest may use the mirror
    conf2 = w.conf("digest-only.conf", f"""
[[registry]]
location = "docker.io"
mirror-by-digest-only = true
[[registry.mirror]]
location = "{mirror.host}"
insecure = true
""")
    d2 = w.project("FROM busybox:1\n")
    r = w.run(["pin"], d2, env={"CONTAINERS_REGISTRIES_CONF": conf2})
    check(r.rc == 2 and "cannot reach registry 'docker.io'" in r.err,
          "mirror-by-digest-only: a tag is not resolved through the mirror", r)
    r = w.run(["resolve", f"busybox@{single}"], d2, env={"CONTAINERS_REGISTRIES_CONF": conf2})
    check(r.rc == 0 and single in r.out, "mirror-by-digest-only: a digest is", r)
    # pull-from-mirror = tag-only: the reverse
    conf3 = w.conf("tag-only.conf", f"""
[[registry]]
location = "docker.io"
[[registry.mirror]]
location = "{mirror.host}"
insecure = true
pull-from-mirror = "tag-only"
""")
    r = w.run(["resolve", "busybox:1"], d2, env={"CONTAINERS_REGISTRIES_CONF": conf3})
    check(r.rc == 0 and single in r.out, "pull-from-mirror tag-only: a tag uses the mirror", r)
    r = w.run(["resolve", f"busybox@{single}"], d2, env={"CONTAINERS_REGISTRIES_CONF": conf3})
    check(r.rc == 2 and "cannot reach registry 'docker.io'" in r.err,
          "pull-from-mirror tag-only: a digest does not", r)
    # the drop-in directory of $HOME is read after the file, replacing the same prefix
    dropdir = os.path.join(w.home, ".config", "containers", "registries.conf.d")
    os.makedirs(dropdir)
    write(os.path.join(dropdir, "50-mirror.conf"),
          f'[[registry]]\nlocation = "docker.io"\n[[registry.mirror]]\nlocation = '
          f'"{mirror.host}"\ninsecure = true\n')
    r = w.run(["resolve", "busybox:1"], d2, env={"CONTAINERS_REGISTRIES_CONF": conf2})
    check(r.rc == 0 and single in r.out, "a registries.conf.d drop-in replaces the table", r)
    shutil.rmtree(os.path.join(w.home, ".config"))


def case_conf_errors(w):
    d = w.project("FROM busybox:1\n")
    blocked = w.conf("blocked.conf", '[[registry]]\nlocation = "docker.io"\nblocked = true\n')
    r = w.run(["pin"], d, env={"CONTAINERS_REGISTRIES_CONF": blocked})
    check(r.rc == 2 and "registry 'docker.io' is blocked" in r.err and
          f"{blocked}:1" in r.err, "blocked = true: refused, naming the file and line", r)
    before = read(os.path.join(d, "Dockerfile"))
    for text, want in (
            ('[[registry]]\nprefix = "docker.io"\nlocation = 5\n', ":3: 'location' must be a"),
            ('[[registry]]\nlocation = "docker.io"\n[[registry.mirror]]\nlocation = "x.io"\n'
             'pull-from-mirror = "sometimes"\n', ":5: unsupported pull-from-mirror"),
            ('[[registry]]\nlocation = "https://docker.io"\n', ":1: invalid location"),
            ('[[registry]\nlocation = "docker.io"\n', ":1: expected ']]'"),
            ('a = "unterminated\n', ":1: newline in a single-line string"),
            ('[registries.search]\nregistries = ["x.io"]\n[[registry]]\nlocation = "y.io"\n',
             ":1: mixing the version 1")):
        p = w.conf("bad.conf", text)
        r = w.run(["pin"], d, env={"CONTAINERS_REGISTRIES_CONF": p})
        check(r.rc == 2 and p + want in r.err, f"bad registries.conf ({want}): exit 2", r)
    r = w.run(["pin"], d, env={"CONTAINERS_REGISTRIES_CONF": os.path.join(w.root, "nope")})
    check(r.rc == 2 and "nope" in r.err and "no such file" in r.err,
          "$CONTAINERS_REGISTRIES_CONF naming a missing file: exit 2", r)
    check(read(os.path.join(d, "Dockerfile")) == before and
          not os.path.exists(os.path.join(d, "lockstep.lock")), "errors write nothing")


def case_credentials(w, storage):
    """The mirror wants Basic auth; docker config.json has its credentials and Hub's."""
    single = w.facts["single:1"]["digest"]
    with registry.Registry("basic", user="mirroruser", password="mirrorpass",
                           storage=storage) as auth_mirror, \
            FaultProxy(f"http://{auth_mirror.host}", w.root) as proxy:
        dc = tempfile.mkdtemp(prefix="dc-", dir=w.root)
        hub = base64.b64encode(b"hubuser:hubsecret").decode()
        mine = base64.b64encode(b"mirroruser:mirrorpass").decode()
        with open(os.path.join(dc, "config.json"), "w") as f:
            json.dump({"auths": {"https://index.docker.io/v1/": {"auth": hub},
                                 proxy.host: {"auth": mine}}}, f)
        d = w.project("FROM busybox:1\n")
        r = w.run(["pin", "--registry-mirror", f"docker.io=http://{proxy.host}"], d,
                  docker_config=dc)
        pinned_ok(w, d, r, single, "mirror with Basic auth", mirror_host=proxy.host)
        auths = [e["headers"].get("authorization", "") for e in proxy.log()]
        check(any(a == f"Basic {mine}" for a in auths),
              "the mirror got its own credentials from docker config.json", auths)
        check(not any(hub in a or "hubsecret" in a for a in auths),
              "Docker Hub's credentials never reached the mirror", auths)
        # no credentials for the mirror: its 401 is named, then Hub is tried
        dc2 = tempfile.mkdtemp(prefix="dc-", dir=w.root)
        with open(os.path.join(dc2, "config.json"), "w") as f:
            json.dump({"auths": {"https://index.docker.io/v1/": {"auth": hub}}}, f)
        proxy.rules([])
        d2 = w.project("FROM busybox:1\n")
        r = w.run(["pin", "--registry-mirror", f"docker.io=http://{proxy.host}"], d2,
                  docker_config=dc2)
        auths = [e["headers"].get("authorization", "") for e in proxy.log()]
        check(r.rc == 2 and f"mirror '{proxy.host}' of 'docker.io' requires credentials" in
              r.err and "cannot reach registry 'docker.io'" in r.err,
              "a mirror without credentials: falls back, both failures named", r)
        check(not any(hub in a for a in auths), "...and Hub's credentials were not offered",
              auths)


def case_corrupt(w, mirror):
    with FaultProxy(f"http://{mirror.host}", w.root) as proxy:
        proxy.rules([{"path": "/manifests/sha256:", "method": "GET", "fault": "corrupt"}])
        d = w.project("FROM busybox:1\n")
        before = read(os.path.join(d, "Dockerfile"))
        r = w.run(["pin", "--registry-mirror", f"docker.io=http://{proxy.host}"], d)
        check(r.rc == 2 and "does not match its digest" in r.err and
              f"mirror '{proxy.host}' of 'docker.io'" in r.err,
              "a corrupted manifest from the mirror fails the pin, naming the mirror", r)
        check(read(os.path.join(d, "Dockerfile")) == before and
              not os.path.exists(os.path.join(d, "lockstep.lock")), "...and nothing is written")


def case_outdated_update(w, mirror):
    single, moved = w.facts["single:1"]["digest"], w.facts["single:docker"]["digest"]
    opt = ["--registry-mirror", f"docker.io=http://{mirror.host}"]
    d = w.project("FROM busybox:1\n")
    cache = os.path.join(d, ".cache")
    n = w.trap.count()
    r = w.run(["pin", "--now", NOW] + opt, d, cache=cache)
    pinned_ok(w, d, r, single, "pin before the tag moves", mirror_host=mirror.host)
    link = link_path(mirror, "library/busybox", "1")
    write(link, moved)  # the mirror's tag 1 now names the other manifest
    r = w.run(["outdated", "--format", "json", "--refresh", "--now", NOW] + opt, d, cache=cache)
    pins = json.loads(r.out)["pins"] if r.out.strip().startswith("{") else []
    check(r.rc in (0, 1) and len(pins) == 1 and pins[0]["state"] == "newer" and
          pins[0].get("latest") == moved,
          "outdated sees the tag moved on the mirror", r)
    r = w.run(["update", "--now", NOW] + opt, d, cache=cache)
    df = read(os.path.join(d, "Dockerfile")).decode()
    imgs = lock_images(d)
    check(r.rc == 0 and f"busybox:1@{moved}" in df and imgs[0]["digest"] == moved and
          imgs[0]["reference"] == "docker.io/library/busybox:1" and
          imgs[0]["registry"] == "docker.io",
          "update moves the pin through the mirror; the lock names docker.io", f"{r}\n{df}")
    upstream_untouched(w, n, "pin, outdated, update through the mirror")
    write(link, single)


def case_verify(w, mirror):
    if shutil.which("buildah") is None or os.geteuid() != 0:
        print("skip: verify through the mirror needs buildah and root")
        return
    single = w.facts["single:1"]["digest"]
    conf = w.conf("verify.conf", f"""
[[registry]]
location = "docker.io"
[[registry.mirror]]
location = "{mirror.host}"
insecure = true
""")
    tmp = os.path.join(w.root, "vtmp")
    os.makedirs(tmp)
    dc = tempfile.mkdtemp(prefix="dc-", dir=w.root)  # buildah push wants DOCKER_CONFIG to exist
    write(os.path.join(dc, "config.json"), "{}")
    for what, args, env in (
            ("no mirror", [], {}),
            ("registries.conf", [], {"CONTAINERS_REGISTRIES_CONF": conf}),
            ("--registry-mirror", ["--registry-mirror", f"docker.io=http://{mirror.host}"], {})):
        d = w.project(f"FROM busybox:1@{single}\nRUN echo hello > /hello\n")
        e = dict(env, TMPDIR=tmp)
        n = w.trap.count()
        for _ in range(2):
            r = w.run(["verify", "--builder", "buildah", "--source-date-epoch", "0",
                       "--no-report", "--format", "json"] + args + [d], d, env=e,
                      docker_config=dc, timeout=600)
            if r.rc != 2 or "sealing memfd" not in r.err:  # a buildah 1.28 flake
                break
        doc = json.loads(r.out) if r.out.strip().startswith("{") else {}
        if what == "no mirror":
            check(r.rc == 2 and "registry-1.docker.io" in r.err,
                  "verify without a mirror: buildah cannot pull the base (the premise)", r)
        else:
            check(r.rc == 0 and doc.get("reproducible") is True,
                  f"verify with {what}: buildah pulls the base through the mirror", r)
            upstream_untouched(w, n, f"verify with {what}")
        check(not os.listdir(tmp), f"verify with {what}: nothing left in TMPDIR")


def main():
    pinlib.need_tools()
    t0 = time.time()
    storage, facts = registry.seed(BUILD)
    root = tempfile.mkdtemp(prefix="lks-mirrors-")
    try:
        w = World(root, facts)
        lib = mirror_storage(storage, root, "lib", [("single", "library/busybox"),
                                                    ("multi", "library/alpine")])
        ns = mirror_storage(storage, root, "ns", [("single", "hub/library/busybox")])
        with registry.Registry("anon", storage=lib) as mirror, \
                registry.Registry("anon") as empty, \
                registry.Registry("anon", storage=ns) as nsmirror, \
                FaultProxy(f"http://{mirror.host}", root) as proxy:
            case_unreachable(w)
            case_option(w, mirror, proxy)
            case_conf(w, mirror, empty, nsmirror)
            case_conf_errors(w)
            case_credentials(w, lib)
            case_corrupt(w, mirror)
            case_outdated_update(w, mirror)
            case_verify(w, mirror)
        w.trap.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    pinlib.finish("mirrors", t0)


if __name__ == "__main__":
    main()

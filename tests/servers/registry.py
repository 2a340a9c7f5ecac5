#!/usr/bin/python3
"""Real OCI registries on 127.0.0.1 for tests: Debian's docker-registry (CNCF distribution).

Import it (tests/e2e/*.py) or run it:

  registry.py seed BUILDDIR              build + cache the seeded storage, print the facts JSON
  registry.py serve --mode anon|basic|token [--seed BUILDDIR] [--user U --password P]
                                          print one JSON line {"host": ..., "pid": ...} and serve
                                          until killed (SIGTERM stops the registry and token server)
  registry.py token-server --port P --key K --cert C --service S --issuer I [--user U --password P]

Modes: "anon" (no auth), "basic" (htpasswd, bcrypt), "token" (Bearer: a small token server
issuing RS256 JWTs whose x5c header carries a self-signed certificate the registry trusts).
In token mode with --user, the token server requires those Basic credentials; otherwise it
hands out anonymous pull tokens like Docker Hub does.

Seeding builds busybox-based images with buildah (vfs storage in a temp dir, no internet) and
pushes them with skopeo/buildah into a throwaway registry whose storage directory is cached
under BUILDDIR/fixture-cache/; every later registry starts from a copy of that storage.
The facts file lists, for each seeded reference, the digests skopeo reports (ground truth).
"""
import base64
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SEED_VERSION = "registry-seed-v3"
SERVICE = "lockstep-test-registry"
ISSUER = "lockstep-test-issuer"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
ALL_ACCEPT = ", ".join([OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST])


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _http_ready(url, timeout=20.0, proc=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server for {url} exited with {proc.returncode}")
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except urllib.error.HTTPError:
            return  # any HTTP answer (401 included) means it is serving
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} not ready after {timeout}s")


def _stop_pid(proc):
    if proc is None or proc.poll() is not None:
        return
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()


# ---------------------------------------------------------------- token server

def _b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def make_cert(workdir):
    """Self-signed RSA key + CA certificate; returns (key_path, cert_path)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID
    import datetime
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "lockstep test token issuer")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                         content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False,
                                         crl_sign=False, encipher_only=False,
                                         decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    kp, cp = os.path.join(workdir, "token.key"), os.path.join(workdir, "token.crt")
    with open(kp, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    with open(cp, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    return kp, cp


_SIGNERS = {}


def _signer(key_path, cert_path):
    """(key, certificate DER), loaded once: a real token server does not pay the imports and
    the key parsing on each request, and benchmarks must not measure them."""
    if (key_path, cert_path) not in _SIGNERS:
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization
        with open(key_path, "rb") as f:
            key = serialization.load_pem_private_key(f.read(), password=None)
        with open(cert_path, "rb") as f:
            cert = x509.load_pem_x509_certificate(f.read())
        _SIGNERS[(key_path, cert_path)] = (key, cert.public_bytes(serialization.Encoding.DER))
    return _SIGNERS[(key_path, cert_path)]


def make_jwt(key_path, cert_path, service, issuer, subject, access, ttl):
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    key, der = _signer(key_path, cert_path)
    header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(der).decode()]}
    now = int(time.time())
    claims = {"iss": issuer, "sub": subject, "aud": service, "exp": now + ttl, "nbf": now - 10,
              "iat": now, "jti": base64.b16encode(os.urandom(8)).decode(), "access": access}
    signing_input = (_b64url(json.dumps(header).encode()) + "." +
                     _b64url(json.dumps(claims).encode()))
    sig = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return signing_input + "." + _b64url(sig)


def _parse_scopes(scopes):
    access = []
    for s in scopes:
        parts = s.split(":")
        if len(parts) >= 3 and parts[0] == "repository":
            name = ":".join(parts[1:-1])
            access.append({"type": "repository", "name": name,
                           "actions": [a for a in parts[-1].split(",") if a in ("pull", "push")]})
    return access


def run_token_server(args):
    opts = dict(zip(args[0::2], args[1::2]))
    user, password = opts.get("--user"), opts.get("--password")
    log = opts.get("--log")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_GET(self):
            url = urllib.parse.urlparse(self.path)
            q = urllib.parse.parse_qs(url.query)
            subject = ""
            if user is not None:
                want = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
                if self.headers.get("Authorization") != want:
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="token"')
                    self.end_headers()
                    return
                subject = user
            if log:
                with open(log, "a") as f:
                    f.write(json.dumps({"path": self.path}) + "\n")
            if q.get("service", [""])[0] != opts["--service"]:
                self.send_response(400)
                self.end_headers()
                return
            ttl = int(opts.get("--ttl", "300"))
            tok = make_jwt(opts["--key"], opts["--cert"], opts["--service"], opts["--issuer"],
                           subject, _parse_scopes(q.get("scope", [])), ttl)
            field = opts.get("--field", "token")
            body = json.dumps({field: tok, "expires_in": ttl,
                               "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                          time.gmtime())}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    _signer(opts["--key"], opts["--cert"])
    srv = ThreadingHTTPServer(("127.0.0.1", int(opts["--port"])), Handler)  # as a real one is
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    srv.serve_forever()


# ---------------------------------------------------------------- registry

class Registry:
    """A docker-registry on 127.0.0.1:<free port>. Use as a context manager or start()/stop()."""

    def __init__(self, mode="anon", user="alice", password="s3cret", storage=None,
                 token_field="token", token_log=None):
        if mode not in ("anon", "basic", "token", "token-basic"):
            raise ValueError(mode)
        self.mode, self.user, self.password = mode, user, password
        self.storage_src = storage
        self.token_field, self.token_log = token_field, token_log
        self.proc = self.token_proc = None
        self.dir = None
        self.port = None

    @property
    def host(self):
        return f"127.0.0.1:{self.port}"

    def _auth_config(self):
        if self.mode == "basic":
            ht = os.path.join(self.dir, "htpasswd")
            out = subprocess.run(["htpasswd", "-Bbn", self.user, self.password], check=True,
                                 capture_output=True, text=True).stdout
            with open(ht, "w") as f:
                f.write(out)
            return {"htpasswd": {"realm": "lockstep-test", "path": ht}}
        if self.mode.startswith("token"):
            key, cert = make_cert(self.dir)
            tport = free_port()
            cmd = [sys.executable, os.path.abspath(__file__), "token-server", "--port",
                   str(tport), "--key", key, "--cert", cert, "--service", SERVICE, "--issuer",
                   ISSUER, "--field", self.token_field]
            if self.mode == "token-basic":
                cmd += ["--user", self.user, "--password", self.password]
            if self.token_log:
                cmd += ["--log", self.token_log]
            self.token_proc = subprocess.Popen(cmd)
            _http_ready(f"http://127.0.0.1:{tport}/", proc=self.token_proc)
            self.token_url = f"http://127.0.0.1:{tport}/token"
            return {"token": {"realm": self.token_url, "service": SERVICE, "issuer": ISSUER,
                              "rootcertbundle": cert}}
        return None

    def start(self):
        self.dir = tempfile.mkdtemp(prefix="lks-registry-")
        root = os.path.join(self.dir, "storage")
        if self.storage_src:
            shutil.copytree(self.storage_src, root, symlinks=True)
        else:
            os.makedirs(root)
        self.port = free_port()
        cfg = {"version": 0.1, "log": {"level": "error", "accesslog": {"disabled": True}},
               "storage": {"filesystem": {"rootdirectory": root}, "delete": {"enabled": True}},
               "http": {"addr": self.host, "secret": "lockstep-test-secret"}}
        auth = self._auth_config()
        if auth:
            cfg["auth"] = auth
        cfgp = os.path.join(self.dir, "config.yml")
        with open(cfgp, "w") as f:
            json.dump(cfg, f)  # JSON is YAML
        self.log = open(os.path.join(self.dir, "registry.log"), "w")
        self.proc = subprocess.Popen(["docker-registry", "serve", cfgp], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        _http_ready(f"http://{self.host}/v2/", proc=self.proc)
        return self

    def stop(self):
        _stop_pid(self.proc)
        _stop_pid(self.token_proc)
        if getattr(self, "log", None):
            self.log.close()
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


# ---------------------------------------------------------------- seeding

def _run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stderr[-2000:]}")
    return r.stdout


def _make_rootfs(work):
    rootfs = os.path.join(work, "rootfs")
    os.makedirs(os.path.join(rootfs, "bin"))
    os.makedirs(os.path.join(rootfs, "etc"))
    shutil.copy("/bin/busybox", os.path.join(rootfs, "bin", "busybox"))
    for applet in ("sh", "ls", "cat", "echo"):
        os.symlink("busybox", os.path.join(rootfs, "bin", applet))
    with open(os.path.join(rootfs, "etc", "passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\n")
    tar = os.path.join(work, "rootfs.tar")
    _run(["tar", "--sort=name", "--mtime=@0", "--owner=0", "--group=0", "--numeric-owner",
          "-C", rootfs, "-cf", tar, "."])
    return tar


class _Buildah:
    def __init__(self, work):
        self.root, self.runroot = os.path.join(work, "root"), os.path.join(work, "run")
        self.base = ["buildah", "--storage-driver", "vfs", "--root", self.root,
                     "--runroot", self.runroot]

    def __call__(self, *args):
        return _run(self.base + list(args)).strip()

    def image(self, tar, name, arch, variant, timestamp, label):
        ctr = self("from", "scratch")
        self("add", ctr, tar, "/")
        cfg = ["config", "--cmd", "/bin/sh", "--os", "linux", "--arch", arch,
               "--label", f"lockstep.fixture={label}"]
        if variant:
            cfg += ["--variant", variant]
        self(*cfg, ctr)
        self("commit", "--timestamp", str(timestamp), ctr, name)
        self("rm", ctr)

    def storage_ref(self, name):
        return f"containers-storage:[vfs@{self.root}+{self.runroot}]{name}"


def _push_blob(host, repo, data):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    req = urllib.request.Request(f"http://{host}/v2/{repo}/blobs/uploads/", method="POST")
    loc = urllib.request.urlopen(req).headers["Location"]
    if loc.startswith("/"):
        loc = f"http://{host}{loc}"
    sep = "&" if "?" in loc else "?"
    req = urllib.request.Request(f"{loc}{sep}digest={digest}", data=data, method="PUT",
                                 headers={"Content-Type": "application/octet-stream"})
    urllib.request.urlopen(req).close()
    return digest


def _put_manifest(host, repo, ref, media_type, body):
    req = urllib.request.Request(f"http://{host}/v2/{repo}/manifests/{ref}", data=body,
                                 method="PUT", headers={"Content-Type": media_type})
    urllib.request.urlopen(req).close()
    return "sha256:" + hashlib.sha256(body).hexdigest()


def _get_manifest(host, repo, ref):
    req = urllib.request.Request(f"http://{host}/v2/{repo}/manifests/{ref}",
                                 headers={"Accept": ALL_ACCEPT})
    with urllib.request.urlopen(req) as r:
        return r.read()


def _mount_blob(host, repo, src_repo, digest):
    url = f"http://{host}/v2/{repo}/blobs/uploads/?mount={digest}&from={src_repo}"
    with urllib.request.urlopen(urllib.request.Request(url, method="POST")) as r:
        if r.status != 201:  # not mounted: the registry started an upload instead
            raise RuntimeError(f"cannot mount {digest} from {src_repo} into {repo}")


def copy_image(host, src_repo, src_ref, dst_repo, dst_ref, note=None):
    """Copy src_repo:src_ref (a manifest or an index with its manifests) to dst_repo:dst_ref
    with cross-repository blob mounts; with note, the top manifest gets the annotation
    org.lockstep.test=note, so each copy has a digest of its own. Returns the digest."""
    body = _get_manifest(host, src_repo, src_ref)
    m = json.loads(body)
    mt = m.get("mediaType") or (OCI_INDEX if "manifests" in m else OCI_MANIFEST)
    if "manifests" in m:
        for e in m["manifests"]:
            copy_image(host, src_repo, e["digest"], dst_repo, e["digest"])
    else:
        for b in [m["config"]] + m.get("layers", []):
            _mount_blob(host, dst_repo, src_repo, b["digest"])
    if note is not None:
        m.setdefault("annotations", {})["org.lockstep.test"] = note
        body = json.dumps(m, sort_keys=True).encode()
    return _put_manifest(host, dst_repo, dst_ref, mt, body)


def _add_attestation(host):
    """multi:att = the OCI index of multi:1 plus a BuildKit-style attestation manifest."""
    index = json.loads(_get_manifest(host, "multi", "1"))
    config = _push_blob(host, "multi", b"{}")
    statement = json.dumps({"_type": "https://in-toto.io/Statement/v0.1"}).encode()
    layer = _push_blob(host, "multi", statement)
    target = index["manifests"][0]["digest"]
    att = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                      "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                 "digest": config, "size": 2},
                      "layers": [{"mediaType": "application/vnd.in-toto+json", "digest": layer,
                                  "size": len(statement)}]}).encode()
    att_digest = _put_manifest(host, "multi", "att-manifest", OCI_MANIFEST, att)
    index["manifests"].append({
        "mediaType": OCI_MANIFEST, "digest": att_digest, "size": len(att),
        "platform": {"os": "unknown", "architecture": "unknown"},
        "annotations": {"vnd.docker.reference.type": "attestation-manifest",
                        "vnd.docker.reference.digest": target}})
    _put_manifest(host, "multi", "att", OCI_INDEX, json.dumps(index).encode())


def _build_and_push(work, host):
    tar = _make_rootfs(work)
    b = _Buildah(work)
    b.image(tar, "localhost/single:1", "amd64", None, 1700000000, "single")
    b.image(tar, "localhost/plat-amd64:1", "amd64", None, 1700000100, "amd64")
    b.image(tar, "localhost/plat-arm64:1", "arm64", "v8", 1700000200, "arm64")
    dst = ["--dest-tls-verify=false"]
    _run(["skopeo", "copy"] + dst + ["--format", "oci", b.storage_ref("localhost/single:1"),
                                     f"docker://{host}/single:1"])
    _run(["skopeo", "copy"] + dst + ["--format", "v2s2", b.storage_ref("localhost/single:1"),
                                     f"docker://{host}/single:docker"])
    for lst, fmt, dest in (("localhost/multi:1", "oci", "multi:1"),
                           ("localhost/list:1", "v2s2", "list:1")):
        b("manifest", "create", lst)
        b("manifest", "add", lst, "localhost/plat-amd64:1")
        b("manifest", "add", "--arch", "arm64", "--variant", "v8", lst, "localhost/plat-arm64:1")
        b("manifest", "push", "--all", "--format", fmt, "--tls-verify=false", lst,
          f"docker://{host}/{dest}")
    _add_attestation(host)


def _skopeo_raw(host, ref):
    return _run(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{host}/{ref}"])


def _facts_for(host, repo, ref):
    """Ground truth from skopeo: digest of the raw manifest, media type, platforms, created."""
    raw = _skopeo_raw(host, f"{repo}:{ref}")
    with tempfile.NamedTemporaryFile("w", delete=False) as f:
        f.write(raw)
    digest = _run(["skopeo", "manifest-digest", f.name]).strip()
    os.unlink(f.name)
    m = json.loads(raw)
    mt = m.get("mediaType") or (OCI_INDEX if "manifests" in m else OCI_MANIFEST)
    fact = {"ref": f"{repo}:{ref}", "digest": digest, "media_type": mt, "platforms": []}

    def created(d):
        cfg = _run(["skopeo", "inspect", "--config", "--raw", "--tls-verify=false",
                    f"docker://{host}/{repo}@{d}"])
        return json.loads(cfg).get("created")

    if "manifests" in m:
        for e in m["manifests"]:
            p = e.get("platform", {})
            if e.get("annotations", {}).get("vnd.docker.reference.type") == \
                    "attestation-manifest":
                continue
            fact["platforms"].append({"os": p.get("os"), "architecture": p.get("architecture"),
                                      "variant": p.get("variant"), "digest": e["digest"],
                                      "created": created(e["digest"])})
    else:
        cfg = json.loads(_run(["skopeo", "inspect", "--config", "--raw", "--tls-verify=false",
                               f"docker://{host}/{repo}:{ref}"]))
        fact["platforms"].append({"os": cfg.get("os"), "architecture": cfg.get("architecture"),
                                  "variant": cfg.get("variant"), "digest": digest,
                                  "created": cfg.get("created")})
    return fact


SEEDED = [("single", "1"), ("single", "docker"), ("multi", "1"), ("list", "1"), ("multi", "att")]


def seed(builddir):
    """Build (once) and return (storage_dir, facts) for the seeded registry content."""
    builddir = os.path.abspath(builddir)  # containers-storage needs absolute paths
    cache = os.path.join(builddir, "fixture-cache", SEED_VERSION)
    facts_path = os.path.join(cache, "facts.json")
    if os.path.exists(facts_path):
        with open(facts_path) as f:
            return os.path.join(cache, "storage"), json.load(f)
    os.makedirs(os.path.dirname(cache), exist_ok=True)
    work = tempfile.mkdtemp(prefix="lks-seed-", dir=os.path.dirname(cache))
    try:
        storage = os.path.join(work, "out", "storage")
        reg = Registry("anon").start()
        try:
            _build_and_push(os.path.join(work, "build"), reg.host)
            facts = {f"{r}:{t}": _facts_for(reg.host, r, t) for r, t in SEEDED}
        finally:
            reg_storage = os.path.join(reg.dir, "storage")
            _stop_pid(reg.proc)
            shutil.copytree(reg_storage, storage, symlinks=True)
            reg.stop()
        with open(os.path.join(work, "out", "facts.json"), "w") as f:
            json.dump(facts, f, indent=1)
        try:
            os.rename(os.path.join(work, "out"), cache)
        except OSError:
            if not os.path.exists(facts_path):  # not a concurrent seeder winning the race
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return os.path.join(cache, "storage"), facts


def main(argv):
    if len(argv) >= 2 and argv[0] == "seed":
        _, facts = seed(argv[1])
        print(json.dumps(facts, indent=1))
        return 0
    if argv and argv[0] == "token-server":
        run_token_server(argv[1:])
        return 0
    if argv and argv[0] == "serve":
        opts = dict(zip(argv[1::2], argv[2::2]))
        storage = seed(opts["--seed"])[0] if "--seed" in opts else None
        reg = Registry(opts.get("--mode", "anon"), opts.get("--user", "alice"),
                       opts.get("--password", "s3cret"), storage).start()
        def _term(*_):
            raise SystemExit(0)  # unwinds out of wait(); the finally below stops everything

        signal.signal(signal.SIGTERM, _term)
        print(json.dumps({"host": reg.host, "pid": os.getpid(), "registry_pid": reg.proc.pid}),
              flush=True)
        try:
            reg.proc.wait()
        finally:
            reg.stop()
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Build pairs of real images with buildah for the `lockstep diff` end-to-end tests.

Images are built from a busybox-static rootfs (no network), with vfs storage in a private
directory and `--isolation chroot`, then exported as OCI layouts, oci-archive and
docker-archive tars under $LKS_BUILDDIR/fixture-cache/diff/. A stamp file keeps the cache:
delete the directory to rebuild.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

STAMP_VERSION = "3"
APPLETS = ["sh", "date", "cat", "echo", "ln", "chmod", "mkdir", "rm", "touch", "cp", "true",
           "sleep", "ls", "mv"]


def log(msg):
    print(msg, flush=True)


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise RuntimeError("command failed (%d): %s\n%s%s" %
                           (r.returncode, " ".join(cmd), r.stdout, r.stderr))
    return r.stdout


def have_tools():
    for t in ("buildah", "busybox", "tar"):
        if not shutil.which(t):
            return t
    return None


class Builder:
    def __init__(self, root):
        self.root = root
        self.store = os.path.join(root, "storage")
        self.base = ["buildah", "--storage-driver", "vfs", "--root",
                     os.path.join(self.store, "root"), "--runroot",
                     os.path.join(self.store, "run")]

    def b(self, *args, **kw):
        return run(self.base + list(args), **kw)

    def make_base(self):
        rootfs = os.path.join(self.root, "rootfs")
        shutil.rmtree(rootfs, ignore_errors=True)
        os.makedirs(os.path.join(rootfs, "bin"))
        os.makedirs(os.path.join(rootfs, "etc"))
        os.makedirs(os.path.join(rootfs, "tmp"))
        shutil.copy(shutil.which("busybox"), os.path.join(rootfs, "bin", "busybox"))
        for a in APPLETS:
            os.symlink("busybox", os.path.join(rootfs, "bin", a))
        with open(os.path.join(rootfs, "etc", "passwd"), "w") as f:
            f.write("root:x:0:0:root:/root:/bin/sh\n")
        with open(os.path.join(rootfs, "etc", "gone"), "w") as f:
            f.write("removed by a later layer\n")
        tar = os.path.join(self.root, "rootfs.tar")
        run(["tar", "--sort=name", "--mtime=@0", "--owner=0", "--group=0", "--numeric-owner",
             "-C", rootfs, "-cf", tar, "."])
        ctr = self.b("from", "scratch").strip()
        self.b("add", ctr, tar, "/")
        self.b("config", "--cmd", "/bin/sh", "--os", "linux", "--arch", "amd64", ctr)
        self.b("commit", "--timestamp", "0", ctr, "localhost/base:1")
        self.b("rm", ctr)

    def build(self, name, ctxdir, dockerfile, timestamp0=True, arch=None, extra=()):
        args = ["bud", "--isolation", "chroot", "--no-cache", "-f", dockerfile, "-t",
                "localhost/%s:1" % name] + list(extra)
        if timestamp0:
            args += ["--timestamp", "0"]
        if arch:
            args += ["--arch", arch]
        self.b(*args, ctxdir)

    def export(self, name, outdir):
        img = "localhost/%s:1" % name
        self.b("push", img, "oci:%s:latest" % os.path.join(outdir, name + ".oci"))
        self.b("push", img, "oci-archive:%s:latest" % os.path.join(outdir, name + ".oci.tar"))
        self.b("push", img, "docker-archive:%s:%s" % (os.path.join(outdir, name + ".docker.tar"),
                                                      img))


def write(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


# name -> (Dockerfile, per-build tweak(ctxdir, which), timestamp0)
def pairs():
    def mode_tweak(ctx, which):
        os.chmod(os.path.join(ctx, "app", "VERSION"), 0o644 if which == "a" else 0o664)

    def nothing(ctx, which):
        pass

    def wh_df(which):
        rm = "rm /etc/gone && " if which == "b" else ""
        return "FROM localhost/base:1\nRUN %secho 1 > /k\n" % rm

    return {
        "same": ("FROM localhost/base:1\nCOPY app/ /app\nRUN echo hello > /hello\n", nothing,
                 True),
        "time": ("FROM localhost/base:1\nCOPY app/ /app\nRUN echo hello > /hello\n", nothing,
                 False),
        "date": ("FROM localhost/base:1\nCOPY app/ /app\nRUN date +%s%N > /f\n", nothing, True),
        "mode": ("FROM localhost/base:1\nRUN echo one > /one\nCOPY app/ /app\n", mode_tweak,
                 True),
        "whiteout": (wh_df, nothing, True),
    }


def build_all(cache):
    b = Builder(cache)
    b.make_base()
    out = os.path.join(cache, "images")
    os.makedirs(out, exist_ok=True)
    for name, (df, tweak, ts0) in pairs().items():
        for which in ("a", "b"):
            ctx = tempfile.mkdtemp(dir=cache)
            write(os.path.join(ctx, "app", "VERSION"), "1.0\n")
            write(os.path.join(ctx, "app", "main.sh"), "echo main\n", 0o755)
            text = df(which) if callable(df) else df
            write(os.path.join(ctx, "Dockerfile"), text)
            tweak(ctx, which)
            if not ts0 and which == "b":
                time.sleep(1.1)  # so that every timestamp differs
            b.build("%s-%s" % (name, which), ctx, os.path.join(ctx, "Dockerfile"), ts0)
            b.export("%s-%s" % (name, which), out)
            shutil.copy(os.path.join(ctx, "Dockerfile"),
                        os.path.join(out, "%s-%s.Dockerfile" % (name, which)))
            shutil.rmtree(ctx)
    build_index(b, out)


def build_index(b, out):
    """A two-platform index per side: amd64 identical, arm64 differing (the date pair)."""
    for which in ("a", "b"):
        lst = "localhost/multi-%s:1" % which
        b.b("manifest", "create", lst)
        b.b("manifest", "add", "--arch", "amd64", lst, "localhost/same-%s:1" % which)
        b.b("manifest", "add", "--arch", "arm64", "--variant", "v8", lst,
            "localhost/date-%s:1" % which)
        b.b("manifest", "push", "--all", "--format", "oci", lst,
            "oci:%s:latest" % os.path.join(out, "multi-%s.oci" % which))


def build_meta(b, out):
    """Pairs differing only in metadata: a manifest annotation (bud --annotation), an index
    entry annotation (manifest annotate), and the multi-platform index as a Docker list."""
    for name in ("annot-a", "annot-b", "multiann-a", "multiann-b", "multiv2-a"):
        # Left over by an interrupted run: lists and images by that name go first.
        subprocess.run(b.base + ["manifest", "rm", "localhost/%s:1" % name], capture_output=True)
        subprocess.run(b.base + ["rmi", "localhost/%s:1" % name], capture_output=True)
    for which, rev in (("a", "1111"), ("b", "2222")):
        lst = "localhost/multiann-%s:1" % which
        b.b("manifest", "create", lst)
        b.b("manifest", "add", "--arch", "amd64", lst, "localhost/same-a:1")
        digest = b.b("inspect", "--format", "{{.FromImageDigest}}", "localhost/same-a:1").strip()
        b.b("manifest", "annotate", "--annotation", "com.example.build=" + rev, lst, digest)
        b.b("manifest", "push", "--all", "--format", "oci", lst,
            "oci:%s:latest" % os.path.join(out, "multiann-%s.oci" % which))
    lst = "localhost/multiv2-a:1"  # multi-a again, as a Docker list (a fresh list per push)
    b.b("manifest", "create", lst)
    b.b("manifest", "add", "--arch", "amd64", lst, "localhost/same-a:1")
    b.b("manifest", "add", "--arch", "arm64", "--variant", "v8", lst, "localhost/date-a:1")
    b.b("manifest", "push", "--all", "--format", "v2s2", lst,
        "oci:%s:latest" % os.path.join(out, "multi-a-v2s2.oci"))
    # Last: the annotated builds share same-a's image ID (annotations are not in the config),
    # and the lists above must see same-a's own manifest.
    for which, rev in (("a", "1111"), ("b", "2222")):
        ctx = tempfile.mkdtemp(dir=b.root)
        write(os.path.join(ctx, "app", "VERSION"), "1.0\n")
        write(os.path.join(ctx, "app", "main.sh"), "echo main\n", 0o755)
        write(os.path.join(ctx, "Dockerfile"), pairs()["same"][0])
        b.build("annot-" + which, ctx, os.path.join(ctx, "Dockerfile"),
                extra=["--annotation", "org.opencontainers.image.revision=" + rev])
        b.b("push", "localhost/annot-%s:1" % which,
            "oci:%s:latest" % os.path.join(out, "annot-%s.oci" % which))
        shutil.rmtree(ctx)


def ensure_meta(cache):
    """The metadata pairs, added to an existing cache (a second stamp)."""
    stamp = os.path.join(cache, "stamp-meta")
    if not os.path.exists(stamp):
        t = time.time()
        build_meta(Builder(cache), os.path.join(cache, "images"))
        open(stamp, "w").close()
        log("built metadata fixture images in %.1f s" % (time.time() - t))


def ensure():
    """Return the directory holding the exported images, building them when needed."""
    missing = have_tools()
    if missing:
        log("SKIP: %s not installed" % missing)
        sys.exit(77)
    if os.geteuid() != 0:
        log("SKIP: buildah chroot builds need root here")
        sys.exit(77)
    cache = os.path.join(os.environ["LKS_BUILDDIR"], "fixture-cache", "diff")
    stamp = os.path.join(cache, "stamp")
    if os.path.exists(stamp) and open(stamp).read() == STAMP_VERSION:
        ensure_meta(cache)
        return os.path.join(cache, "images")
    if os.path.exists(cache):
        run(["rm", "-rf", cache])
    os.makedirs(cache)
    t = time.time()
    build_all(cache)
    with open(stamp, "w") as f:
        f.write(STAMP_VERSION)
    log("built fixture images in %.1f s" % (time.time() - t))
    ensure_meta(cache)
    return os.path.join(cache, "images")


if __name__ == "__main__":
    print(ensure())

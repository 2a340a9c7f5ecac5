#!/usr/bin/python3
"""End-to-end: strings from images and Dockerfiles cannot change the structure of a report.

Two OCI layouts differ in files and symlinks whose names and targets are hostile (Markdown
images and links, HTML tags, pipes and backticks, newlines, escape sequences, bytes that are
not UTF-8, U+FFFE, quotes, XML comment and CDATA ends); their configs carry the same strings
in labels, history and the platform variant, their manifests in annotations. Checked with
real parsers:

- `diff --format markdown` and `verify --markdown-summary`: rendered by GitHub's cmark-gfm
  (tables, autolinks, tagfilter): no image, link, raw HTML or strikethrough comes out of them,
  and every hostile name is shown whole, in its printable form, inside a code element;
- `diff --format html` and verify's HTML report: parsed by html.parser: only lockstep's own
  tags, no event attribute, strict UTF-8, no control byte; every name shown whole;
- verify's `--junit`: parsed by expat (xml.etree), which refuses any ill-formed XML;
- `diff --format json` and `verify --format json`: strict JSON; every name present;
- the text report and `check`'s lines: no escape sequence or control byte reaches the
  terminal; and `check` names the real cause of a reference it cannot expand (the 1 MiB
  expansion cap, a malformed or unsupported expansion, a missing default).
verify runs the real binary with `--builder command`, the "builder" handing over the two
layouts and printing hostile bytes as its output.
"""
import gzip
import hashlib
import html.parser
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pinlib import BIN, check, finish  # noqa: E402

HOSTILE = [
    b"![t](https://evil.example/i.png)",
    b"[link](https://evil.example/)",
    b"a`b``c|d",
    b"<script>alert(1)</script>",
    b"<img src=x onerror=alert(1)>",
    b"&amp; &lt; \"q\" 'q'",
    b"line\nbreak",
    b"esc\x1b[31mred\x07",
    b"bad\xff\xfebytes",
    b"over\xc0\xaflong",
    b"nonchar\xef\xbf\xbe",
    b"@someone #1 :smile: ~~strike~~ *em* _em_",
    b"https://evil.example/autolink www.evil.example",
    b"]]> --> <!-- x",
    b"back\\slash\\",
    b" spaced ",
    b"`tick",
]


def utf8_len(b, i):
    """lks_utf8_len: the length of the well-formed UTF-8 sequence at i, 0 when ill-formed."""
    c = b[i]
    n = 1 if c < 0x80 else 2 if 0xc2 <= c <= 0xdf else 3 if 0xe0 <= c <= 0xef else \
        4 if 0xf0 <= c <= 0xf4 else 0
    if n > 1:
        try:
            b[i:i + n].decode("utf-8", errors="strict")
        except UnicodeDecodeError:
            return 0
    return n


def printable(b, html=False):
    """escape.h's printable form (and lks_esc_html's, after entity decoding)."""
    out, i = [], 0
    while i < len(b):
        n = utf8_len(b, i)
        seq = b[i:i + n]
        if n == 0 or (html and seq in (b"\xef\xbf\xbe", b"\xef\xbf\xbf")):
            n = n or 1
            out += ["\\x%02x" % x for x in b[i:i + n]]
        elif n == 1 and (seq[0] < 0x20 or seq[0] == 0x7f):
            out.append("\\x%02x" % seq[0])
        elif seq == b"\\":
            out.append("\\\\")
        else:
            out.append(seq.decode())
        i += n
    return "".join(out)


def name(h):
    return h.decode("utf-8", "surrogateescape")


def tar(entries):
    bio = io.BytesIO()
    with tarfile.open(fileobj=bio, mode="w", format=tarfile.PAX_FORMAT,
                      encoding="utf-8", errors="surrogateescape") as t:
        for ti, data in entries:
            t.addfile(ti, io.BytesIO(data) if data is not None else None)
    return bio.getvalue()


def entries(side):
    out = []
    for i, h in enumerate(HOSTILE):
        ti = tarfile.TarInfo("d%02d-" % i + name(h).replace("/", "_"))
        data = b"side " + side.encode()
        ti.size, ti.mode = len(data), 0o644
        out.append((ti, data))
        ln = tarfile.TarInfo("l%02d" % i)
        ln.type, ln.linkname = tarfile.SYMTYPE, "x" if side == "a" else name(h)
        out.append((ln, None))
    return out


def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def layout(path, side):
    os.makedirs(os.path.join(path, "blobs", "sha256"))

    def blob(data):
        with open(os.path.join(path, "blobs", "sha256", sha(data)[7:]), "wb") as f:
            f.write(data)
        return sha(data)
    layer = tar(entries(side))
    hs = [name(h) for h in HOSTILE if utf8_ok(h)]  # JSON documents are UTF-8 by definition
    cfg = {"architecture": "amd64", "os": "linux",
           "variant": "v8`|<b>![x](https://evil.example/p.png)" if side == "b" else "v8",
           "config": {"Labels": {h: h + side for h in hs}},
           "history": [{"created_by": "/bin/sh -c echo " + " ".join(hs) + " " + side}],
           "rootfs": {"type": "layers", "diff_ids": [sha(layer)]}}
    cdata = json.dumps(cfg, ensure_ascii=False, sort_keys=True).encode()
    gz = gzip.compress(layer, mtime=0)
    man = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                      "digest": blob(cdata), "size": len(cdata)},
           "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                       "digest": blob(gz), "size": len(gz)}]}
    if side == "b":
        man["annotations"] = {name(h): name(h) for h in HOSTILE if utf8_ok(h)}
    mdata = json.dumps(man, sort_keys=True).encode()
    idx = {"schemaVersion": 2, "manifests": [
        {"mediaType": man["mediaType"], "digest": blob(mdata), "size": len(mdata)}]}
    with open(os.path.join(path, "index.json"), "w") as f:
        json.dump(idx, f)
    with open(os.path.join(path, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')


def run(args, cwd=None, env=None, timeout=120):
    e = dict(os.environ)
    e.update(env or {})
    e.setdefault("XDG_CACHE_HOME", os.path.join(cwd or tempfile.gettempdir(), ".xdg-cache"))
    return subprocess.run([BIN] + args, cwd=cwd, env=e, capture_output=True, timeout=timeout)


class Doc(html.parser.HTMLParser):
    """Tags, attributes, and the text inside <code> (or everywhere)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.attrs, self.code, self.text, self.depth = set(), set(), [], [], 0
        self.comments = []

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attrs |= {a for a, _ in attrs}
        if tag == "code":
            self.depth += 1
            self.code.append("")

    def handle_endtag(self, tag):
        if tag == "code":
            self.depth -= 1

    def handle_data(self, data):
        self.text.append(data)
        if self.depth:
            self.code[-1] += data

    def handle_comment(self, data):
        self.comments.append(data)


def parse_html(text):
    d = Doc()
    d.feed(text)
    d.close()
    return d


def strict_utf8(raw, what):
    try:
        s = raw.decode("utf-8", errors="strict")
    except UnicodeDecodeError as e:
        check(False, what + ": valid UTF-8", e)
        return ""
    bad = [c for c in s if (ord(c) < 0x20 and c not in "\t\n\r") or ord(c) == 0x7f]
    check(not bad, what + ": no control character", repr(bad[:5]))
    return s


MD_TAGS = {"h2", "h3", "h4", "p", "br", "table", "thead", "tbody", "tr", "th", "td", "code",
           "pre", "strong"}


def check_markdown(md, what):
    """Render as GitHub does and look at what came out."""
    torn = [ln for ln in md.splitlines() if ln.startswith("|") and not ln.endswith("|")]
    check(not torn, what + ": every table row is one line", torn[:3])
    html_out = subprocess.run(["cmark-gfm", "-e", "table", "-e", "autolink", "-e",
                               "strikethrough", "-e", "tagfilter"], input=md.encode(),
                              capture_output=True, check=True).stdout.decode()
    d = parse_html(html_out)
    check(d.tags <= MD_TAGS, what + ": only headings, tables, text and code",
          sorted(d.tags - MD_TAGS))
    check(not d.comments, what + ": no raw HTML", d.comments[:3])
    code = "\n".join(d.code)
    return code


def check_html(raw, what):
    s = strict_utf8(raw, what)
    d = parse_html(s)
    allowed = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "h4", "p",
               "br", "table", "tr", "th", "td", "span", "pre", "details", "summary", "code"}
    check(d.tags <= allowed, what + ": only lockstep's own tags", sorted(d.tags - allowed))
    check(not [a for a in d.attrs if a.startswith("on") or a in ("src", "href")],
          what + ": no event or link attribute", sorted(d.attrs))
    return "".join(d.text)


def shows_every_name(text, what, html=False):
    missing = [h for h in HOSTILE if printable(h, html) not in text]
    check(not missing, what + ": every hostile name shown whole", missing)


def test_diff(tmp, a, b):
    r = run(["diff", "--format", "markdown", "oci:" + a, "oci:" + b], cwd=tmp)
    check(r.returncode == 1, "diff markdown: exit 1 (differs)", r.stderr)
    md = strict_utf8(r.stdout, "diff markdown")
    code = check_markdown(md, "diff markdown")
    shows_every_name(code, "diff markdown (inside code)")
    r = run(["diff", "--format", "html", "oci:" + a, "oci:" + b], cwd=tmp)
    text = check_html(r.stdout, "diff html")
    shows_every_name(text, "diff html", html=True)
    r = run(["diff", "--format", "json", "oci:" + a, "oci:" + b], cwd=tmp)
    doc = json.loads(strict_utf8(r.stdout, "diff json"))
    links = {f["b"]["link"] for p in doc["platforms"] for ly in p["layers"] for f in ly["files"]
             if f.get("b") and f["b"].get("link")}
    want = {h.decode() if utf8_ok(h) else printable(h) for h in HOSTILE}
    check(want <= links, "diff json: every hostile link target, byte-exact or printable",
          sorted(want - links))
    r = run(["diff", "oci:" + a, "oci:" + b], cwd=tmp)
    strict_utf8(r.stdout, "diff text")
    check(b"\x1b" not in r.stdout and b"\x07" not in r.stdout,
          "diff text: no escape sequence reaches the terminal")


def utf8_ok(h):
    try:
        h.decode()
        return True
    except UnicodeDecodeError:
        return False


def test_verify(tmp, a, b):
    ctx = os.path.join(tmp, "ctx")
    os.makedirs(ctx)
    with open(os.path.join(ctx, "Dockerfile"), "wb") as f:
        f.write(b"FROM scratch\nRUN echo '" + b"' '".join(h.replace(b"\n", b" ")
                                                        for h in HOSTILE) + b"'\n")
    counter = os.path.join(tmp, "n")
    noise = os.path.join(tmp, "noise")
    with open(noise, "wb") as f:
        f.write(b"</pre><script>alert(1)</script> \xff\xfe \x1b[2J \x00 ]]> \xef\xbf\xbf\n")
    cmd = ("if [ -e %s ]; then src=%s; else touch %s; src=%s; fi; cat %s; "
           "mkdir -p {out} && cp -r \"$src\"/. {out}/" % (counter, b, counter, a, noise))
    summary = os.path.join(tmp, "summary.md")
    junit = os.path.join(tmp, "junit.xml")
    report = os.path.join(tmp, "report.html")
    r = run(["verify", "--builder", "command", "--build-cmd", cmd, "--junit", junit,
             "--markdown-summary", "--report", report, "--format", "json", ctx], cwd=tmp,
            env={"GITHUB_STEP_SUMMARY": summary}, timeout=300)
    check(r.returncode == 1, "verify with a hostile 'builder': exit 1 (not reproducible)",
          r.stderr.decode(errors="replace")[-2000:])
    doc = json.loads(strict_utf8(r.stdout, "verify json"))
    check(doc.get("reproducible") is False, "verify json: not reproducible")
    raw = open(junit, "rb").read()
    try:
        root = ET.fromstring(raw)
        failure = "".join(root.itertext())
        check(True, "verify junit: well-formed XML (expat)")
        shows_every_name(failure, "verify junit", html=True)
    except ET.ParseError as e:
        check(False, "verify junit: well-formed XML (expat)", e)
    md = strict_utf8(open(summary, "rb").read(), "verify markdown summary")
    code = check_markdown(md, "verify markdown summary")
    shows_every_name(code, "verify markdown summary (inside code)")
    text = check_html(open(report, "rb").read(), "verify html report")
    shows_every_name(text, "verify html report", html=True)
    check("</pre><script>" in text, "verify html report: the builder's output shown as text")


def test_check(tmp):
    d = os.path.join(tmp, "check")
    os.makedirs(d)
    with open(os.path.join(d, "Dockerfile"), "wb") as f:
        f.write(b"FROM scratch\nRUN apt-get install -y cu\xferl $X\x1b[31m\n")
    r = run(["check"], cwd=d)
    check(b"\x1b" not in r.stdout + r.stderr and b"\xfe" not in r.stdout + r.stderr,
          "check text: no escape sequence or ill-formed byte on the terminal", r.stdout)
    # each blocked reference names its cause: the expansion cap is not "no default value"
    src = os.path.join(os.environ.get("LKS_SRCDIR", "."), "fixtures", "dockerfiles",
                       "39-expansion-limits.Dockerfile")
    r = run(["check", "--format", "json", src], cwd=d)
    codes = [(x["line"], x["code"]) for x in json.loads(r.stdout)["findings"]]
    check(codes == [(27, "image-arg-too-long"), (28, "image-arg-too-long"),
                    (29, "image-bad-substitution"), (30, "image-bad-substitution"),
                    (31, "image-bad-substitution"), (32, "image-bad-substitution"),
                    (33, "image-arg-no-default"), (34, "image-arg-too-long"),
                    (35, "image-arg-too-long"), (36, "image-arg-too-long"),
                    (37, "image-unpinned")], "check: the cause of each blocked reference",
          codes)
    r = run(["check", src], cwd=d)
    out = r.stdout.split(b"\n")
    check(b"the default of ARG 'A18' expands to more than 1 MiB (1048576 bytes), lockstep's cap"
          in out[0] and b"no default value" not in out[0]
          and b"deeper than 16 levels, lockstep's cap" in out[9]
          and b"longer than 1024 bytes" in out[7],
          "check: an ARG chain past the cap names the cap", r.stdout[:300])
    r = run(["check", "--format", "json"], cwd=d)
    try:
        doc = json.loads(strict_utf8(r.stdout, "check json"))
        subjects = {x["subject"] for x in doc["findings"]}
        check("cu\\xferl" in subjects and "$X\x1b[31m" in subjects,
              "check json: names that are not UTF-8 in their printable form", subjects)
    except ValueError as e:
        check(False, "check json: valid JSON", f"{e}\n{r.stdout!r}\n{r.stderr!r}")


def test_outdated(tmp):
    """Names in a lock (a hand-edited one: JSON can carry any code point) reach the terminal
    escaped and the JSON document intact."""
    d = os.path.join(tmp, "outdated")
    os.makedirs(d)
    digest = "sha256:" + "a" * 64
    lock = {"apt": [], "python": [], "lockfile_version": 1, "images": [{
        "digest": digest, "file": "Docker\u001b[2J\u0007file", "kind": "from", "line": 1,
        "media_type": "application/vnd.oci.image.manifest.v1+json",
        "reference": "127.0.0.1:1/x:1", "registry": "127.0.0.1:1",
        "resolved_at": "2026-01-01T00:00:00Z", "written": "127.0.0.1:1/x:1@" + digest}]}
    with open(os.path.join(d, "lockstep.lock"), "w") as f:
        json.dump(lock, f)
    r = run(["outdated", "--offline", "--all"], cwd=d)
    check(r.returncode == 1 and b"\x1b" not in r.stdout and b"Docker\\x1b[2J\\x07file" in r.stdout,
          "outdated text: a lock's names reach the terminal escaped", r.stdout + r.stderr)
    r = run(["outdated", "--offline", "--all", "--format", "json"], cwd=d)
    try:
        pins = json.loads(strict_utf8(r.stdout, "outdated json"))["pins"]
        check(pins[0]["file"] == "Docker\x1b[2J\x07file", "outdated json: the name intact")
    except (ValueError, KeyError, IndexError) as e:
        check(False, "outdated json: a document", f"{e}: {r.stdout!r}")


def main():
    if shutil.which("cmark-gfm") is None:
        print("skip: cmark-gfm not installed (tests/install-deps)")
        sys.exit(77)
    t0 = time.time()
    tmp = tempfile.mkdtemp(prefix="lks-hostile-reports-")
    try:
        a, b = os.path.join(tmp, "a"), os.path.join(tmp, "b")
        layout(a, "a")
        layout(b, "b")
        test_diff(tmp, a, b)
        test_verify(tmp, a, b)
        test_check(tmp)
        test_outdated(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    finish("hostile_reports", t0)


if __name__ == "__main__":
    main()

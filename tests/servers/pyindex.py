#!/usr/bin/env python3
"""Loopback Python package index for tests: PEP 503 HTML, PEP 691 JSON (PEP 700 upload-time),
PEP 658/714 metadata files, and switches for hostile behaviour.

usage: pyindex.py --root DIR [--port N] [--mode both|html|json] [--no-metadata] [--no-hash]
                  [--bad-hash FILE] [--yank FILE[:reason]]... [--upload-time FILE=TIME]...
                  [--validators etag|date|none]
Every file in DIR is a distribution; its project is read from its name. Prints "PORT <n>" on
stdout once listening on 127.0.0.1. Project pages carry an ETag (or a Last-Modified) and answer
conditional requests with 304, as PyPI does. GET /_stats answers the requests counted so far
by kind (page, page-304, metadata, file, other) as JSON; /_stats?reset also zeroes them.
GET /_pages answers the project page requests (200 or 304) counted per project, the same way.
Stdlib only.
"""
import argparse
import hashlib
import html
import json
import os
import re
import sys
import tarfile
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

JSON_TYPE = "application/vnd.pypi.simple.v1+json"


def canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def project_of(fn):
    if fn.endswith(".whl"):
        return canonical(fn.split("-")[0])
    stem = re.sub(r"\.(tar\.gz|zip|tar\.bz2|tgz)$", "", fn)
    return canonical(stem.rsplit("-", 1)[0])


def read_metadata(path):
    """METADATA of a wheel or PKG-INFO of an sdist, or None."""
    try:
        if path.endswith(".whl"):
            with zipfile.ZipFile(path) as z:
                for n in z.namelist():
                    if re.fullmatch(r"[^/]+\.dist-info/METADATA", n):
                        return z.read(n)
        else:
            with tarfile.open(path) as t:
                for m in t.getmembers():
                    if re.fullmatch(r"[^/]+/PKG-INFO", m.name):
                        return t.extractfile(m).read()
    except Exception:
        return None
    return None


def requires_python(meta):
    if not meta or len(meta) > 1 << 20:
        return None
    for line in meta.decode("utf-8", "replace").splitlines():
        if not line:
            break
        if line.lower().startswith("requires-python:"):
            return line.split(":", 1)[1].strip()
    return None


class Index:
    def __init__(self, args):
        self.args = args
        self.files = {}
        for fn in sorted(os.listdir(args.root)):
            path = os.path.join(args.root, fn)
            data = open(path, "rb").read()
            meta = read_metadata(path)
            self.files[fn] = {
                "project": project_of(fn), "path": path,
                "sha256": hashlib.sha256(data).hexdigest(), "meta": meta,
                "requires_python": requires_python(meta),
            }
        self.yanked = dict((y.split(":", 1) + [""])[:2] for y in args.yank)
        self.uploaded = dict(u.split("=", 1) for u in args.upload_time)

    def listed_hash(self, fn):
        if self.args.no_hash:
            return None
        if fn in self.args.bad_hash:
            return "0" * 64
        return self.files[fn]["sha256"]

    def project_files(self, key):
        return [fn for fn, f in self.files.items() if f["project"] == key]

    def json_page(self, key):
        out = []
        for fn in self.project_files(key):
            f = self.files[fn]
            e = {"filename": fn, "url": "../../files/" + fn,
                 "upload-time": self.uploaded.get(fn, "2026-01-01T00:00:00Z")}
            h = self.listed_hash(fn)
            e["hashes"] = {"sha256": h} if h else {}
            if f["requires_python"]:
                e["requires-python"] = f["requires_python"]
            e["yanked"] = (self.yanked[fn] or True) if fn in self.yanked else False
            if fn.endswith(".whl") and f["meta"] is not None and not self.args.no_metadata:
                e["core-metadata"] = {"sha256": hashlib.sha256(f["meta"]).hexdigest()}
            out.append(e)
        return json.dumps({"meta": {"api-version": "1.1"}, "name": key, "files": out}).encode()

    def html_page(self, key):
        lines = ["<!DOCTYPE html><html><body><h1>Links for %s</h1>" % key]
        for fn in self.project_files(key):
            f = self.files[fn]
            h = self.listed_hash(fn)
            attrs = ' href="../../files/%s%s"' % (fn, "#sha256=" + h if h else "")
            if f["requires_python"]:
                attrs += ' data-requires-python="%s"' % html.escape(f["requires_python"])
            if fn in self.yanked:
                attrs += ' data-yanked="%s"' % html.escape(self.yanked[fn])
            if fn.endswith(".whl") and f["meta"] is not None and not self.args.no_metadata:
                m = "sha256=" + hashlib.sha256(f["meta"]).hexdigest()
                attrs += ' data-core-metadata="%s" data-dist-info-metadata="%s"' % (m, m)
            lines.append("<a%s>%s</a><br/>" % (attrs, fn))
        lines.append("</body></html>")
        return "\n".join(lines).encode()


LAST_MODIFIED = "Thu, 01 Jan 2026 00:00:00 GMT"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real indexes do
    # one write per response and no Nagle: otherwise every response waits for the client's
    # delayed ACK (40 ms), which no real index server does
    wbufsize = -1
    disable_nagle_algorithm = True

    def log_message(self, *a):
        pass

    def count(self, kind):
        with self.server.lock:
            self.server.stats[kind] = self.server.stats.get(kind, 0) + 1

    def send(self, code, body, ctype="text/plain", kind="other", headers=()):
        self.count(kind)
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for h in headers:
            self.send_header(*h)
        self.end_headers()
        self.wfile.write(body)

    def send_page(self, body, ctype, key=None):
        """A project page with its validator; 304 when the client's copy is current."""
        with self.server.lock:
            self.server.pages[key] = self.server.pages.get(key, 0) + 1
        mode = self.server.index.args.validators
        if mode == "etag":
            tag = '"%s"' % hashlib.sha256(body).hexdigest()[:32]
            if tag in self.headers.get("If-None-Match", ""):
                return self.send(304, b"", ctype, "page-304", [("ETag", tag)])
            return self.send(200, body, ctype, "page", [("ETag", tag)])
        if mode == "date":
            if self.headers.get("If-Modified-Since") == LAST_MODIFIED:
                return self.send(304, b"", ctype, "page-304")
            return self.send(200, body, ctype, "page", [("Last-Modified", LAST_MODIFIED)])
        return self.send(200, body, ctype, "page")

    def stats(self, what="stats"):
        with self.server.lock:
            body = json.dumps(getattr(self.server, what), sort_keys=True).encode()
            if "reset" in self.path:
                setattr(self.server, what, {})
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        idx = self.server.index
        path = self.path.split("?")[0]
        if path == "/_stats":
            return self.stats()
        if path == "/_pages":
            return self.stats("pages")
        m = re.fullmatch(r"/simple/([^/]+)/?", path)
        if path in ("/simple/", "/simple"):
            keys = sorted({f["project"] for f in idx.files.values()})
            body = "".join('<a href="%s/">%s</a>\n' % (k, k) for k in keys).encode()
            return self.send(200, body, "text/html")
        if m:
            key = canonical(m.group(1))
            if not idx.project_files(key):
                return self.send(404, b"not found")
            want_json = JSON_TYPE in self.headers.get("Accept", "")
            if idx.args.mode == "json" or (idx.args.mode == "both" and want_json):
                return self.send_page(idx.json_page(key), JSON_TYPE, key)
            return self.send_page(idx.html_page(key), "text/html", key)
        m = re.fullmatch(r"/files/([^/]+?)(\.metadata)?", path)
        if m and m.group(1) in idx.files:
            f = idx.files[m.group(1)]
            if m.group(2):
                if f["meta"] is None or idx.args.no_metadata:
                    return self.send(404, b"no metadata")
                return self.send(200, f["meta"], kind="metadata")
            return self.send(200, open(f["path"], "rb").read(), "application/octet-stream",
                             "file")
        return self.send(404, b"not found")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--mode", choices=["both", "html", "json"], default="both")
    ap.add_argument("--no-metadata", action="store_true")
    ap.add_argument("--no-hash", action="store_true")
    ap.add_argument("--bad-hash", action="append", default=[])
    ap.add_argument("--yank", action="append", default=[])
    ap.add_argument("--validators", choices=["etag", "date", "none"], default="etag")
    ap.add_argument("--upload-time", action="append", default=[])
    args = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.index = Index(args)
    srv.lock = threading.Lock()
    srv.stats = {}
    srv.pages = {}
    srv.daemon_threads = True
    print("PORT %d" % srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()

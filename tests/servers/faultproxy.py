#!/usr/bin/env python3
"""faultproxy: a loopback HTTP server / reverse proxy that injects faults (python3 stdlib only).

It listens on 127.0.0.1 only. Each request is answered "normally" from, in this order:
  * built-in endpoints under /_fault/ (see below),
  * the upstream given with --upstream (forwarded as is: method, path, query, headers including
    Host, so a registry's absolute Location URLs point back at the proxy; redirects are passed
    back, not followed; an upstream 4xx/5xx is relayed),
  * files under --root DIR,
  * otherwise 404.
...unless a fault rule matches the request first, in which case the fault is applied.

Usage
  faultproxy.py [--port 0] [--port-file FILE] [--upstream http://127.0.0.1:5000]
                [--root DIR] [--rules JSON | --rules @rules.json] [--verbose]
                [--tls-cert CERT.pem --tls-key KEY.pem]   (serve https instead of http)
  Port 0 picks a free port. The chosen port is printed on stdout as "PORT <n>" (flushed) and,
  with --port-file, written atomically to FILE (poll until it exists). Stop it by PID (SIGTERM).

Rules: a JSON list; the first rule that matches and still has uses left is applied.
  {"path": "REGEX",        re.search against the request path (with query); default: any
   "method": "GET",        optional; default: any
   "after": 0,             let this many matching requests through before applying
   "times": 1,             apply to this many requests, then stop matching; null = always
   "fault": "...", ...}    the fault and its parameters:
  status    answer "status" (default 500) with "body" (text, default "") and "headers" (object);
            "retry_after": "2" or an HTTP-date adds a Retry-After header (429 then success:
            {"path": "/v2/", "fault": "status", "status": 429, "retry_after": "1", "times": 1})
  corrupt   the normal answer with byte(s) altered (flips byte "offset", default the middle) and
            every header kept (Content-Length, Docker-Content-Digest ...): a lying body
  truncate  the normal headers (Content-Length of the full body) but only "keep" bytes of the
            body (default half), then the connection is closed
  hang      read the request, then send nothing for "seconds" (default 3600) and close
  hang_body send the headers and "keep" bytes of the body (default half), then hang "seconds"
  trickle   the normal answer, "chunk" bytes (default 1) every "interval" seconds (default 0.2)
  drop      close the connection without any answer
  delay     wait "seconds" (default 1), then answer normally
  nolength  the normal answer without Content-Length, delimited by closing the connection

Control and built-in endpoints (never subject to rules):
  GET  /_fault/rules            the current rules (with their "used" counters)
  PUT|POST /_fault/rules        replace the rules with the JSON list in the body
  POST /_fault/reset            clear rules and the request log
  GET  /_fault/log              JSON list of requests seen: method, path, time, fault, headers,
                                peer (the client's port: one per connection)
  GET  /_fault/bytes/N          N deterministic bytes (i % 251), with Content-Length
  GET  /_fault/echo             JSON object of the request headers (names lowercased)
  GET  /_fault/redirect?to=URL[&code=302]   a redirect to URL

Example (shell):
  python3 tests/servers/faultproxy.py --upstream http://127.0.0.1:$REG --port-file pf &
  curl -X PUT --data '[{"path":"/blobs/","fault":"corrupt","times":1}]' \\
       http://127.0.0.1:$(cat pf)/_fault/rules
"""
import argparse
import http.server
import json
import os
import re
import socket
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

STOP = threading.Event()
LOCK = threading.Lock()
RULES = []
LOG = []
ARGS = None
HOP_HEADERS = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
               "trailer", "transfer-encoding", "upgrade"}


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


OPENER = urllib.request.build_opener(NoRedirect, urllib.request.ProxyHandler({}))


def set_rules(rules):
    if not isinstance(rules, list) or not all(isinstance(r, dict) for r in rules):
        raise ValueError("rules must be a JSON list of objects")
    for r in rules:
        re.compile(r.get("path", ""))
        r.setdefault("seen", 0)
        r.setdefault("used", 0)
    with LOCK:
        RULES[:] = rules


def pick_rule(method, path):
    with LOCK:
        for r in RULES:
            if r.get("method") and r["method"].upper() != method:
                continue
            if not re.search(r.get("path", ""), path):
                continue
            times = r.get("times")
            if times is not None and r["used"] >= times:
                continue
            r["seen"] += 1
            if r["seen"] <= r.get("after", 0):
                continue
            r["used"] += 1
            return dict(r)
    return None


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "faultproxy/1"

    def log_message(self, fmt, *args):
        if ARGS.verbose:
            sys.stderr.write("faultproxy: " + (fmt % args) + "\n")

    def do_GET(self):
        self.handle_any()

    def do_HEAD(self):
        self.handle_any()

    def do_POST(self):
        self.handle_any()

    def do_PUT(self):
        self.handle_any()

    def do_PATCH(self):
        self.handle_any()

    def do_DELETE(self):
        self.handle_any()

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def handle_any(self):
        req_body = self.read_body()
        path = self.path
        if path.startswith("/_fault/"):
            return self.builtin(path, req_body)
        rule = pick_rule(self.command, path)
        with LOCK:
            LOG.append({"method": self.command, "path": path, "time": time.time(),
                        "peer": self.client_address[1],
                        "fault": rule["fault"] if rule else None,
                        "headers": {k.lower(): v for k, v in self.headers.items()}})
        if rule:
            return self.apply(rule, req_body)
        status, headers, body = self.normal(req_body)
        self.send_answer(status, headers, body)

    # ---- normal answers -------------------------------------------------------------------
    def normal(self, req_body):
        if ARGS.upstream:
            return self.forward(req_body)
        if ARGS.root:
            return self.from_root()
        return 404, [("Content-Type", "text/plain")], b"not found\n"

    def forward(self, req_body):
        url = ARGS.upstream.rstrip("/") + self.path
        hdrs = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
        req = urllib.request.Request(url, data=req_body or None, headers=hdrs,
                                     method=self.command)
        try:
            resp = OPENER.open(req, timeout=60)
        except urllib.error.HTTPError as e:
            resp = e
        except OSError as e:
            return 502, [("Content-Type", "text/plain")], ("upstream: %s\n" % e).encode()
        body = resp.read() if self.command != "HEAD" else b""
        headers = [(k, v) for k, v in resp.headers.items() if k.lower() not in HOP_HEADERS]
        return resp.status if hasattr(resp, "status") else resp.code, headers, body

    def from_root(self):
        rel = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path).lstrip("/")
        root = os.path.realpath(ARGS.root)
        full = os.path.realpath(os.path.join(root, rel))
        if (full != root and not full.startswith(root + os.sep)) or not os.path.isfile(full):
            return 404, [("Content-Type", "text/plain")], b"not found\n"
        with open(full, "rb") as f:
            body = f.read()
        return 200, [("Content-Type", "application/octet-stream")], body

    def builtin(self, path, req_body):
        u = urllib.parse.urlsplit(path)
        q = urllib.parse.parse_qs(u.query)
        if u.path == "/_fault/rules" and self.command in ("PUT", "POST"):
            try:
                set_rules(json.loads(req_body or b"[]"))
            except (ValueError, re.error) as e:
                return self.send_answer(400, [], ("bad rules: %s\n" % e).encode())
            return self.send_answer(204, [], b"")
        if u.path == "/_fault/rules":
            with LOCK:
                return self.send_json(RULES)
        if u.path == "/_fault/reset":
            with LOCK:
                RULES.clear()
                LOG.clear()
            return self.send_answer(204, [], b"")
        if u.path == "/_fault/log":
            with LOCK:
                return self.send_json(LOG)
        if u.path == "/_fault/echo":
            return self.send_json({k.lower(): v for k, v in self.headers.items()})
        if u.path.startswith("/_fault/bytes/"):
            n = int(u.path.rsplit("/", 1)[1])
            return self.send_answer(200, [("Content-Type", "application/octet-stream")],
                                    bytes(i % 251 for i in range(n)))
        if u.path == "/_fault/redirect" and "to" in q:
            code = int(q.get("code", ["302"])[0])
            return self.send_answer(code, [("Location", q["to"][0])], b"")
        return self.send_answer(404, [], b"unknown control endpoint\n")

    # ---- faults ---------------------------------------------------------------------------
    def apply(self, rule, req_body):
        fault = rule.get("fault", "status")
        if fault == "status":
            headers = list(rule.get("headers", {}).items())
            if "retry_after" in rule:
                headers.append(("Retry-After", str(rule["retry_after"])))
            return self.send_answer(int(rule.get("status", 500)), headers,
                                    rule.get("body", "").encode())
        if fault == "drop":
            self.close_connection = True
            return self.connection.shutdown(socket.SHUT_RDWR)
        if fault == "hang":
            STOP.wait(float(rule.get("seconds", 3600)))
            self.close_connection = True
            return None
        if fault == "delay":
            STOP.wait(float(rule.get("seconds", 1)))
            return self.send_answer(*self.normal(req_body))
        status, headers, body = self.normal(req_body)
        if fault == "corrupt":
            if body:
                i = int(rule.get("offset", len(body) // 2)) % len(body)
                body = body[:i] + bytes([body[i] ^ 0xFF]) + body[i + 1:]
            return self.send_answer(status, headers, body)
        if fault in ("truncate", "hang_body"):
            keep = int(rule.get("keep", len(body) // 2))
            self.send_head(status, headers, len(body))
            self.wfile.write(body[:keep])
            self.wfile.flush()
            if fault == "hang_body":
                STOP.wait(float(rule.get("seconds", 3600)))
            self.close_connection = True
            return self.connection.shutdown(socket.SHUT_RDWR)
        if fault == "nolength":
            self.send_response(status)
            for k, v in headers:
                if k.lower() != "content-length":
                    self.send_header(k, v)
            self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            self.close_connection = True
            return None
        if fault == "trickle":
            self.send_head(status, headers, len(body))
            step = max(1, int(rule.get("chunk", 1)))
            for i in range(0, len(body), step):
                if STOP.wait(float(rule.get("interval", 0.2))):
                    break
                self.wfile.write(body[i:i + step])
                self.wfile.flush()
            return None
        return self.send_answer(500, [], ("unknown fault %r\n" % fault).encode())

    # ---- output ---------------------------------------------------------------------------
    def send_head(self, status, headers, length):
        self.send_response(status)
        has_len = False
        for k, v in headers:
            if k.lower() == "content-length":
                has_len = True
                v = str(length) if self.command != "HEAD" else v
            self.send_header(k, v)
        if not has_len:
            self.send_header("Content-Length", str(length))
        self.end_headers()

    def send_answer(self, status, headers, body):
        self.send_head(status, headers, len(body))
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def send_json(self, obj):
        self.send_answer(200, [("Content-Type", "application/json")],
                         json.dumps(obj).encode())


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # the default 5 drops SYNs of parallel clients (1 s retransmit)

    def handle_error(self, request, client_address):
        # clients that time out or abort (the point of most faults) are not errors here
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


def main():
    global ARGS
    p = argparse.ArgumentParser(description="loopback fault-injecting HTTP server/proxy")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file")
    p.add_argument("--upstream")
    p.add_argument("--root")
    p.add_argument("--rules", help="JSON list, or @FILE")
    p.add_argument("--verbose", action="store_true")
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    ARGS = p.parse_args()
    if ARGS.rules:
        text = ARGS.rules
        if text.startswith("@"):
            with open(text[1:]) as f:
                text = f.read()
        set_rules(json.loads(text))
    srv = Server(("127.0.0.1", ARGS.port), Handler)
    if ARGS.tls_cert:
        import ssl
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(ARGS.tls_cert, ARGS.tls_key)
        srv.socket = tls.wrap_socket(srv.socket, server_side=True)
    port = srv.server_address[1]
    if ARGS.port_file:
        tmp = ARGS.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, ARGS.port_file)
    print("PORT %d" % port, flush=True)
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        STOP.set()
        srv.server_close()


if __name__ == "__main__":
    import signal
    signal.signal(signal.SIGTERM, lambda *_: (STOP.set(), sys.exit(0)))
    main()

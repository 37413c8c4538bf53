#!/usr/bin/env python3
"""A scripted HTTP/1.1 server for the Graph client's unit tests.

Started by tests/unit/test_graph_http.c; prints its port on stdout and serves
until stdin closes. Each path under /v1.0/ plays a fixed script (429 then 200,
a cut body, a redirect to file://, an endless body...); counters are per
path, so tests use a fresh path suffix (/v1.0/r429/a, /v1.0/r429/b) per case.
Only the Python standard library; loopback only.
"""
import json
import socket
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GOOD_SECRET = "s3cr&t=+ %"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

lock = threading.Lock()
hits = {}
tokens_issued = {"n": 0}


def count(key):
    with lock:
        hits[key] = hits.get(key, 0) + 1
        return hits[key]


def graph_error(code, message):
    return {"error": {"code": code, "message": message,
                      "innerError": {"date": "2025-02-13T10:17:06",
                                     "request-id": "93b6f17e-0000-0000-0000-000000000000"}}}


def aadsts(error, number, text):
    return {"error": error,
            "error_description": "AADSTS%d: %s\r\nTrace ID: 255d1aef\r\nCorrelation ID: fb3d2015\r\n"
                                 "Timestamp: 2016-01-09 02:02:12Z" % (number, text),
            "error_codes": [number], "trace_id": "255d1aef", "correlation_id": "fb3d2015"}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        # headers and body go out in separate writes; without this, Nagle
        # plus delayed ACK cap a keep-alive connection at ~25 requests/s
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, fmt, *args):
        pass

    def send_json(self, status, obj, headers=None):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def send_raw(self, status, body, ctype="application/json", headers=None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    # ---- identity platform -------------------------------------------
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        form = urllib.parse.parse_qs(self.rfile.read(n).decode(), keep_blank_values=True)
        parts = self.path.split("/")
        if len(parts) != 5 or parts[2:] != ["oauth2", "v2.0", "token"]:
            return self.send_json(404, {"error": "not_found"})
        tenant = parts[1]
        k = count("token:" + tenant)

        def field(name):
            v = form.get(name)
            return v[0] if v else None

        if tenant == "flaky" and k == 1:
            return self.send_json(503, {"error": "temporarily_unavailable"})
        if tenant == "unknown-tenant":
            return self.send_json(400, aadsts("invalid_request", 90002,
                                              "Tenant 'unknown-tenant' not found."))
        if field("grant_type") != "client_credentials" or not (field("scope") or "").endswith("/.default"):
            return self.send_json(400, aadsts("invalid_request", 900144, "bad form"))
        if field("client_assertion_type") is not None:
            if field("client_assertion_type") != ASSERTION_TYPE or len((field("client_assertion") or "").split(".")) != 3:
                return self.send_json(401, aadsts("invalid_client", 700027,
                                                  "Client assertion failed signature validation."))
        elif field("client_secret") != GOOD_SECRET:
            return self.send_json(401, aadsts("invalid_client", 7000215, "Invalid client secret provided."))
        with lock:
            tokens_issued["n"] += 1
            t = tokens_issued["n"]
        expires = 3599 if tenant != "shortlived" else 2
        self.send_json(200, {"token_type": "Bearer", "expires_in": expires, "ext_expires_in": expires,
                             "access_token": "tok%d" % t})

    # ---- Graph ----------------------------------------------------------
    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        if path == "/__stats":
            with lock:
                return self.send_json(200, {"tokens": tokens_issued["n"], "hits": hits})
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer tok"):
            return self.send_json(401, graph_error("InvalidAuthenticationToken", "Access token is empty."))
        seg = path.split("/")
        kind = seg[2] if len(seg) > 2 else ""
        k = count(path)

        if kind == "ok":
            return self.send_json(200, {"value": [{"id": str(k)}], "token": auth[7:]})
        if kind == "echo":
            return self.send_json(200, {"headers": {h.lower(): v for h, v in self.headers.items()},
                                        "query": url.query})
        if kind == "r429":
            if k == 1:
                return self.send_json(429, graph_error("TooManyRequests", "Please retry again later."),
                                      {"Retry-After": "0.2"})
            return self.send_json(200, {"value": [], "attempt": k})
        if kind == "always429":
            return self.send_json(429, graph_error("TooManyRequests", "Please retry again later."),
                                  {"Retry-After": seg[3] if len(seg) > 3 and seg[3][:1].isdigit() else "0.01"})
        if kind == "r503":
            if k == 1:
                return self.send_json(503, graph_error("serviceNotAvailable", "Service unavailable"))
            return self.send_json(200, {"value": [], "attempt": k})
        if kind == "always503":
            return self.send_json(503, graph_error("serviceNotAvailable", "Service unavailable"))
        if kind == "trunc":
            if k == 1 or (len(seg) > 3 and seg[3] == "always"):
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "100")
                self.end_headers()
                self.wfile.write(b'{"value": [')
                self.wfile.flush()
                self.close_connection = True
                return
            return self.send_json(200, {"value": [], "attempt": k})
        if kind == "badjson":
            if k == 1:
                return self.send_raw(200, b'{"value": [ {"id": "1"')
            return self.send_json(200, {"value": [], "attempt": k})
        if kind == "alwaysbad":
            return self.send_raw(200, b"<html>captive portal</html>", "text/html")
        if kind == "redirect":
            return self.send_raw(302, b"", headers={"Location": "file:///etc/passwd"})
        if kind == "endless":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(1 << 40))
            self.end_headers()
            chunk = b"x" * 65536
            try:
                for _ in range(1 << 20):
                    self.wfile.write(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass
            self.close_connection = True
            return
        if kind == "stall":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"{")
            self.wfile.flush()
            time.sleep(8)
            self.close_connection = True
            return
        if kind == "r401":
            if k == 1:
                return self.send_json(401, graph_error("InvalidAuthenticationToken",
                                                       "Access token has expired or is not yet valid."))
            return self.send_json(200, {"value": [], "token": auth[7:]})
        if kind == "always401":
            return self.send_json(401, graph_error("InvalidAuthenticationToken", "Access token validation failure."))
        if kind == "forbidden":
            return self.send_json(403, graph_error("Forbidden",
                                                   "Missing role permissions on the request. API requires one of "
                                                   "'Chat.Read.All, Chat.ReadWrite.All'. Roles on the request "
                                                   "'User.Read.All'."))
        if kind == "payment":
            return self.send_json(402, graph_error("PaymentRequired",
                                                   "Evaluation capacity for the month has exceeded. To continue "
                                                   "beyond the evaluation limits complete billing onboarding."))
        if kind == "gone":
            return self.send_json(404, graph_error("NotFound", "Chat not found \x1b]0;pwned\x07"))
        if kind == "page":
            base = "http://%s" % self.headers.get("Host")
            nxt = seg[3] if len(seg) > 3 else ""
            if nxt == "evil":
                link = "http://127.0.0.2:1/v1.0/ok/stolen"
            else:
                link = base + "/v1.0/ok/page2?$skiptoken=abc"
            return self.send_json(200, {"@odata.nextLink": link, "value": [{"id": "1"}]})
        if kind == "gzip":
            import gzip
            body = gzip.compress(json.dumps({"value": [{"id": "z"}] * 100}).encode())
            return self.send_raw(200, body, headers={"Content-Encoding": "gzip"})
        return self.send_json(404, graph_error("NotFound", "no script for " + path))


def main():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    print(srv.server_address[1], flush=True)
    sys.stdin.read()  # the test closes its end when done
    srv.shutdown()


if __name__ == "__main__":
    main()

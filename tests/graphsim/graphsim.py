#!/usr/bin/env python3
"""graphsim: a loopback Microsoft Graph + identity platform simulator for chatvault.

Plays the token endpoint (/login/...), the Graph endpoints chatvault calls
(/graph/v1.0/...) over a deterministic generated tenant, documented
throttling, injected faults, and control endpoints (/_sim/...) that expose the
ground truth and change the tenant at runtime. See README.md in this folder;
every behaviour names the graph-facts.md section it models.

Python 3 standard library only, plus python3-cryptography for verifying
certificate client assertions.
"""

import argparse
import base64
import bisect
import gc
import json
import os
import random
import signal
import socket
import struct
import sys
import threading
import time
import urllib.parse
import uuid
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import identity as identity_mod  # noqa: E402
from tenant import F_SYSTEM, Tenant  # noqa: E402
from throttle import RATES, Throttler  # noqa: E402
from util import DAY_MS, b64url, b64url_decode, fmt_s, guid, now_ms, parse_ts  # noqa: E402
import media  # noqa: E402

JSON = "application/json; charset=utf-8"
DELTA_WINDOW_MS = 240 * DAY_MS          # §4.4: delta only returns the last eight months
FAULTS = ("503", "504", "500", "reset", "truncate", "slow")
REASONS = {200: "OK", 302: "Found", 400: "Bad Request", 401: "Unauthorized", 402: "Payment Required",
           403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 412: "Precondition Failed",
           429: "Too Many Requests", 500: "Internal Server Error", 501: "Not Implemented",
           503: "Service Unavailable", 504: "Gateway Timeout"}

# Required permissions per endpoint family (§10): (application roles, delegated scopes).
P_USERS = (("User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"),
           ("User.ReadBasic.All", "User.Read.All", "User.ReadWrite.All", "Directory.Read.All"))
P_ME = ((), ("User.Read", "User.ReadBasic.All", "User.Read.All", "User.ReadWrite"))
P_CHATS = (("Chat.ReadBasic.All", "Chat.Read.All", "Chat.ReadWrite.All"),
           ("Chat.ReadBasic", "Chat.Read", "Chat.ReadWrite"))
P_MSGS = (("Chat.Read.All", "Chat.ReadWrite.All"), ("Chat.Read", "Chat.ReadWrite"))
P_ALL = (("Chat.Read.All", "Chat.ReadWrite.All"), None)      # delegated: not supported (§4.4)
P_FILES = (("Files.Read.All", "Files.ReadWrite.All", "Sites.Read.All", "Sites.ReadWrite.All"),
           ("Files.Read.All", "Files.ReadWrite.All", "Sites.Read.All"))

ODATA_PARAMS = ("top", "filter", "orderby", "select", "expand", "skiptoken", "deltatoken", "count")


class GraphError(Exception):
    def __init__(self, status, code, message, headers=()):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, list(headers)


def bad(message, code="BadRequest"):
    return GraphError(400, code, message)


def _tok(*parts):
    return b64url("|".join(str(p) for p in parts))


def _untok(text, kind, n):
    try:
        parts = b64url_decode(text).decode().split("|")
    except Exception:
        parts = []
    if len(parts) != n or parts[0] != kind:
        raise bad("The skip token or delta token is invalid or does not match this request.")
    return parts


# ===================================================================== filters
def parse_filter(text, allowed):
    """Parse 'a op v [and b op v]...' into [(prop, op, value)].

    allowed: {prop_lower: (CanonicalName, {ops}, "time"|"str"|"bool")}.
    Raises GraphError 400 on anything else.
    """
    clauses = []
    text = text.strip()
    if not text:
        return clauses
    tokens = _split_and(text)
    for t in tokens:
        bits = t.split(None, 2)
        if len(bits) != 3:
            raise bad("Invalid filter clause: '%s'." % t)
        prop, op, val = bits[0], bits[1].lower(), bits[2].strip()
        spec = allowed.get(prop.lower())
        if spec is None:
            raise bad("Invalid filter clause: the property '%s' is not supported in $filter." % prop)
        name, ops, typ = spec
        if op not in ops:
            raise bad("Invalid filter clause: the operator '%s' is not supported for '%s'; "
                      "supported: %s." % (op, name, ", ".join(sorted(ops))))
        if typ == "time":
            ms = parse_ts(val)
            if ms is None:
                raise bad("Invalid filter clause: '%s' is not a valid DateTimeOffset." % val)
            val = ms
        elif typ == "bool":
            if val.lower() not in ("true", "false"):
                raise bad("Invalid filter clause: '%s' is not a boolean." % val)
            val = val.lower() == "true"
        else:
            if len(val) < 2 or val[0] != "'" or val[-1] != "'":
                raise bad("Invalid filter clause: string literals must be quoted: %s." % val)
            val = val[1:-1].replace("''", "'")
        clauses.append((name, op, val))
    return clauses


def _split_and(text):
    out, cur, quote, i = [], [], False, 0
    low = text.lower()
    while i < len(text):
        ch = text[i]
        if ch == "'":
            quote = not quote
        if not quote and low.startswith(" and ", i):
            out.append("".join(cur).strip())
            cur = []
            i += 5
            continue
        if not quote and low.startswith(" or ", i):
            raise bad("Invalid filter clause: 'or' is not supported by the simulator.")
        cur.append(ch)
        i += 1
    out.append("".join(cur).strip())
    return [t for t in out if t]


def check_top(q, maximum, default):
    v = q.get("$top")
    if v is None:
        return default
    try:
        n = int(v)
    except ValueError:
        n = None
    if n is None or n < 1 or n > maximum:
        raise bad("Invalid page size specified: '%s'. Must be between 1 and %d inclusive." % (v, maximum))
    return n


# ========================================================================= sim
class Sim:
    """Shared state: tenant, identity, throttling, faults, statistics, config."""

    def __init__(self, args, tenant, ident):
        self.args = args
        self.tenant = tenant
        self.identity = ident
        self.throttle = Throttler(args.throttle)
        self.retry_after = args.retry_after
        self.fault_rate = args.fault_rate
        self.payment_required = args.payment_required
        self.latency_ms = args.latency
        self.verbose = args.verbose
        self.fault_rng = random.Random(args.seed * 7919 + 17)
        self.fault_next = 0
        self.breaks = {"kind": None, "left": 0}   # /_sim/break: broken message pages
        self.lock = threading.Lock()
        self.port = 0
        self.server = None
        self.reset_stats()

    def reset_stats(self):
        with self.lock:
            self.stats = {"requests": 0, "by_class": {}, "by_handler": {}, "exported": 0, "throttled_by_class": {},
                          "by_status": {}, "throttled": 0,
                          "faults": 0, "faults_by_kind": {}, "tokens_issued": 0,
                          "token_requests": 0, "bytes_sent": 0, "chat_switches": 0}
            self.tokens_base = self.identity.issued
            self.last_chat_read = None

    def note_chat_read(self, chat_id):
        """Count the message pages served for a chat other than the one
        before: a client that reads chats one after another switches once
        per chat, one that interleaves them (waiting out each chat's limit
        on another) far more often."""
        with self.lock:
            if chat_id != self.last_chat_read:
                self.stats["chat_switches"] += 1
                self.last_chat_read = chat_id

    def count(self, cls=None, status=None, throttled=False, fault=None, nbytes=0, handler=None, exported=0):
        with self.lock:
            s = self.stats
            s["exported"] += exported
            if cls:
                s["requests"] += 1
                s["by_class"][cls] = s["by_class"].get(cls, 0) + 1
            if handler:
                s["by_handler"][handler] = s["by_handler"].get(handler, 0) + 1
            if throttled and throttled is not True:
                s["throttled_by_class"][throttled] = s["throttled_by_class"].get(throttled, 0) + 1
            if status:
                k = str(status)
                s["by_status"][k] = s["by_status"].get(k, 0) + 1
            if throttled:
                s["throttled"] += 1
            if fault:
                s["faults"] += 1
                s["faults_by_kind"][fault] = s["faults_by_kind"].get(fault, 0) + 1
            s["bytes_sent"] += nbytes

    def snapshot(self):
        with self.lock:
            s = json.loads(json.dumps(self.stats))
        s["tokens_issued"] = self.identity.issued - self.tokens_base
        return s

    def pick_fault(self):
        """A seeded draw; the kinds cycle 503, 504, 500, reset, truncate, slow."""
        if self.fault_rate <= 0:
            return None
        with self.lock:
            if self.fault_rng.random() >= self.fault_rate:
                return None
            kind = FAULTS[self.fault_next % len(FAULTS)]
            self.fault_next += 1
            return kind

    def retry_after_header(self, wait):
        if self.retry_after == "none":
            return []
        if self.retry_after == "int":
            return [("Retry-After", str(max(1, int(-(-wait // 1)))))]
        s = ("%.3f" % max(wait, 0.001)).rstrip("0").rstrip(".")
        return [("Retry-After", s)]

    def config(self):
        return {"fault_rate": self.fault_rate, "throttle": self.throttle.mode,
                "retry_after": self.retry_after, "token_lifetime": self.identity.token_lifetime,
                "payment_required": self.payment_required, "latency_ms": self.latency_ms,
                "device_interval": self.identity.device_interval,
                "device_auto_approve": self.identity.device_auto_approve}

    def set_config(self, body):
        if "fault_rate" in body:
            f = float(body["fault_rate"])
            if not 0 <= f <= 1:
                raise ValueError("fault_rate must be within 0..1")
            self.fault_rate = f
        if "throttle" in body:
            if body["throttle"] not in ("off", "doc", "strict"):
                raise ValueError("throttle must be off, doc or strict")
            self.throttle.set_mode(body["throttle"])
        if "retry_after" in body:
            if body["retry_after"] not in ("int", "frac", "none"):
                raise ValueError("retry_after must be int, frac or none")
            self.retry_after = body["retry_after"]
        if "token_lifetime" in body:
            self.identity.token_lifetime = int(body["token_lifetime"])
        if "payment_required" in body:
            self.payment_required = bool(body["payment_required"])
        if "latency_ms" in body:
            self.latency_ms = float(body["latency_ms"])
        if "device_interval" in body:
            self.identity.device_interval = int(body["device_interval"])
        if "device_auto_approve" in body:
            self.identity.device_auto_approve = body["device_auto_approve"] or None
        unknown = set(body) - {"fault_rate", "throttle", "retry_after", "token_lifetime",
                               "payment_required", "latency_ms", "device_interval",
                               "device_auto_approve"}
        if unknown:
            raise ValueError("unknown config keys: %s" % ", ".join(sorted(unknown)))

    def info(self):
        base = "http://127.0.0.1:%d" % self.port
        return {"port": self.port, "login_url": base + "/login", "graph_url": base + "/graph",
                "tenant_id": self.tenant.tenant_id, "domain": self.tenant.domain,
                "apps": {n: a.info() for n, a in self.identity.apps.items()},
                "pid": os.getpid(), "seed": self.args.seed,
                "users": self.tenant.n_users, "chats": len(self.tenant.chats)}

    # ------------------------------------------------------------- the truth
    def truth_chunks(self, chat_ids=None):
        """The ground truth as a stream of JSON text pieces (§ control endpoints)."""
        t = self.tenant
        hosted, files = {}, {}
        users = [t.truth_user(u) for u in t.users if not u.removed]
        removed = [t.truth_user(u) for u in t.users if u.removed]
        yield ('{"tenant_id":%s,"domain":%s,"users":%s,"removed_users":%s,"chats":[' % (
            _dumps(t.tenant_id), _dumps(t.domain), _dumps(users), _dumps(removed)))
        first = True
        for c in t.chats:
            if chat_ids is not None and c.id not in chat_ids:
                continue
            yield ("" if first else ",") + _dumps(t.truth_chat(c, hosted, files))
            first = False
        yield '],"hosted":%s,"files":%s,"change_seq":%d}' % (_dumps(hosted), _dumps(files), t.seq)


# SO_TIMESTAMPNS (Linux; the socket module does not name it): recvmsg then
# carries the time the data was received, as struct timespec.
SO_TIMESTAMPNS = 35


def _dumps(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def write_atomic(path, chunks):
    d = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(d, ".%s.%d.tmp" % (os.path.basename(path), os.getpid()))
    with open(tmp, "w", encoding="utf-8") as f:
        for piece in chunks:
            f.write(piece)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


# ===================================================================== handler
class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "graphsim/1.0"
    sim = None                         # set by main()

    def setup(self):
        super().setup()
        # Without TCP_NODELAY a keep-alive client waits for delayed ACKs (~25 req/s).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:                           # the kernel's time of arrival, where it keeps one
            self.connection.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        except OSError:
            pass
        self.kernel_arrival = None

    def handle_one_request(self):
        # Graph judges a request by when it arrived. Between the packet's
        # arrival and this thread's parse, the simulator waits for the GIL
        # behind other requests (measured on two busy cores: 0.1 ms median,
        # 3 ms at the 99th percentile, 10 ms at worst), which is our delay,
        # not the client's pace. So the throttle takes the kernel's receive
        # time of the request's first bytes, read here by a peek that
        # blocks, as readline would, until the request comes. (A client
        # that pipelined requests would leave the next one in our read
        # buffer and the peek would wait for more; neither curl nor Python
        # pipelines.)
        self.kernel_arrival = None
        try:
            _data, anc, _flags, _addr = self.connection.recvmsg(1, 64, socket.MSG_PEEK)
            for level, kind, data in anc:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= 16:
                    sec, nsec = struct.unpack("qq", data[:16])
                    self.kernel_arrival = sec + nsec / 1e9
        except OSError:
            pass
        return super().handle_one_request()

    def parse_request(self):
        # The arrival on the throttle's clock (monotonic); the kernel's
        # stamp is wall-clock time.
        self.arrived = time.monotonic()
        if self.kernel_arrival is not None:
            self.arrived -= max(0.0, time.time() - self.kernel_arrival)
        return super().parse_request()

    def log_message(self, fmt, *args):
        if self.sim.verbose:
            sys.stderr.write("graphsim: %s %s\n" % (self.address_string(), fmt % args))

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_PATCH(self):
        self.dispatch("PATCH")

    def do_DELETE(self):
        self.dispatch("DELETE")

    # ------------------------------------------------------------ plumbing
    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = bytearray()
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline(3)
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def respond(self, status, body=b"", ctype=JSON, headers=(), truncate=False):
        lines = ["HTTP/1.1 %d %s" % (status, REASONS.get(status, "Status")),
                 "Date: " + formatdate(usegmt=True),
                 "Content-Type: " + ctype,
                 "Content-Length: %d" % len(body)]
        rid = getattr(self, "request_id", None)
        if rid:
            lines.append("request-id: " + rid)
            lines.append("client-request-id: " + self.client_request_id)
        for k, v in headers:
            lines.append("%s: %s" % (k, v))
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if truncate:                   # fault: full Content-Length, half the body, then close
            self.wfile.write(head + body[:len(body) // 2])
            self.close_connection = True
        else:
            self.wfile.write(head + body)
        if rid:
            self.sim.count(status=status, nbytes=len(body))

    def send_json(self, status, obj, headers=(), truncate=False):
        self.respond(status, _dumps(obj).encode("utf-8"), JSON, headers, truncate)

    def reset_connection(self):
        """Fault: close the socket with no response at all (RST)."""
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        except OSError:
            pass
        self.close_connection = True
        try:
            self.rfile.close()
            self.connection.close()
        except OSError:
            pass

    def graph_error(self, status, code, message, headers=()):
        """Graph's error body (§1.5) with innerError date / request-id / client-request-id."""
        self.send_json(status, {"error": {"code": code, "message": message, "innerError": {
            "date": fmt_s(now_ms()), "request-id": self.request_id,
            "client-request-id": self.client_request_id}}}, headers)

    def dispatch(self, method):
        self.request_id = None
        path, _, query = self.path.partition("?")
        if path.startswith("http://") or path.startswith("https://"):
            path = "/" + path.split("/", 3)[3] if path.count("/") >= 3 else "/"
        try:
            body = self.read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        try:
            if path.startswith("/graph/"):
                self.graph(method, path, query)
            elif path.startswith("/login/"):
                self.login(method, path, body)
            elif path == "/_sim" or path.startswith("/_sim/"):
                self.control(method, path, query, body)
            else:
                self.send_json(404, {"error": "not_found", "path": path})
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception:              # a simulator bug: say so loudly, answer 500
            import traceback
            traceback.print_exc()
            self.close_connection = True
            try:
                self.send_json(500, {"error": {"code": "graphsimBug",
                                               "message": traceback.format_exc(limit=3)}})
            except OSError:
                pass

    # --------------------------------------------------------- identity
    def login(self, method, path, body):
        """POST /login/{tenant}/oauth2/v2.0/token and .../devicecode (§1)."""
        sim = self.sim
        with sim.lock:
            sim.stats["token_requests"] += 1
        parts = [urllib.parse.unquote(s) for s in path[len("/login/"):].split("/")]
        if len(parts) != 4 or parts[1:3] != ["oauth2", "v2.0"] or parts[3] not in ("token", "devicecode"):
            self.send_json(404, {"error": "not_found"})
            return
        if method != "POST":
            self.send_json(405, {"error": "invalid_request",
                                 "error_description": "AADSTS900561: The endpoint only accepts POST requests."})
            return
        form = {k: v for k, v in urllib.parse.parse_qsl(body.decode("utf-8", "replace"),
                                                         keep_blank_values=True)}
        basic = None
        auth = self.headers.get("Authorization", "")
        if auth.lower().startswith("basic "):
            try:
                user, _, pw = base64.b64decode(auth[6:].strip()).decode().partition(":")
                basic = (urllib.parse.unquote(user), urllib.parse.unquote(pw))
            except Exception:
                basic = None
        if parts[3] == "devicecode":
            status, obj = sim.identity.devicecode(parts[0], form)
        else:
            status, obj = sim.identity.token(parts[0], form, basic)
        self.send_json(status, obj, [("Cache-Control", "no-store, no-cache"), ("Pragma", "no-cache")])

    # ------------------------------------------------------------ graph
    def graph(self, method, path, query):
        sim = self.sim
        self.request_id = str(uuid.uuid4())
        self.client_request_id = self.headers.get("client-request-id") or self.request_id
        if sim.latency_ms:
            time.sleep(sim.latency_ms / 1000.0)
        raw = path[len("/graph/"):]
        segs = [urllib.parse.unquote(s) for s in raw.split("/")]
        while segs and segs[-1] == "":
            segs.pop()
        q = {}
        for part in query.split("&"):
            if not part:
                continue
            k, _, v = part.partition("=")
            k = urllib.parse.unquote(k.replace("+", " ")).strip()
            v = urllib.parse.unquote(v.replace("+", " "))
            kl = k.lower()
            if kl.lstrip("$") in ODATA_PARAMS:
                k = "$" + kl.lstrip("$")
            q[k] = v
        self.q, self.raw_path, self.raw_query = q, path, query

        tok, why = sim.identity.check_bearer(self.headers.get("Authorization"))
        route = self.route(segs[1:] if segs and segs[0] in ("v1.0", "beta") else None, tok)
        cls = route[0] if route else "other"
        sim.count(cls=cls, handler=route[3].__name__[2:] if route else None)
        if tok is None:
            self.graph_error(401, "InvalidAuthenticationToken", why, [
                ("WWW-Authenticate", 'Bearer realm="", authorization_uri="%s/common/oauth2/authorize", '
                 'client_id="00000003-0000-0000-c000-000000000000"' % sim.identity.login_url)])
            return
        if route is None:
            self.graph_error(404, "NotFound", "Resource not found for the segment '%s'." % (
                segs[-1] if segs else ""))
            return
        if method != "GET":
            self.graph_error(405, "BadRequest", "Unsupported Http method: %s" % method)
            return
        cls, perms, keys, fn, args = route
        try:
            self.authorize(tok, perms)
            wait = sim.throttle.check(keys, self.arrived)
            if wait > 0:
                sim.count(throttled=cls)
                self.send_json(429, {"error": {"code": "TooManyRequests", "innerError": {
                    "code": "429", "date": fmt_s(now_ms()), "message": "Please retry after",
                    "request-id": self.request_id, "status": "429"},
                    "message": "Please retry again later."}}, sim.retry_after_header(wait))
                return
            fault = sim.pick_fault()
            if fault:
                sim.count(fault=fault)
                if fault == "slow":
                    time.sleep(2.0)
                elif fault == "reset":
                    self.reset_connection()
                    return
                elif fault == "503":
                    self.graph_error(503, "serviceNotAvailable", "Service unavailable. Please retry.",
                                     [] if sim.retry_after == "none" else [("Retry-After", "1")])
                    return
                elif fault == "504":
                    self.graph_error(504, "GatewayTimeout", "The gateway did not receive a response "
                                     "from the service in time.")
                    return
                elif fault == "500":
                    self.graph_error(500, "InternalServerError", "An internal server error occurred.")
                    return
            self.truncate = fault == "truncate"
            fn(tok, *args)
        except GraphError as e:
            self.graph_error(e.status, e.code, e.message, e.headers)
        except ValueError as e:        # e.g. a hand-made skip token with a non-number in it
            self.graph_error(400, "BadRequest", "Invalid request: %s" % e)

    def authorize(self, tok, perms):
        """403 naming the permissions the API needs (§10), as Graph words it."""
        app_roles, scopes = perms
        if tok.delegated:
            if scopes is None:
                raise GraphError(412, "PreconditionFailed",
                                 "Requested API is not supported in delegated context")
            if not any(p in tok.perms for p in scopes):
                raise GraphError(403, "Forbidden",
                                 "Missing scope permissions on the request. API requires one of '%s'. "
                                 "Scopes on the request '%s'." % (", ".join(scopes), ", ".join(tok.perms)))
            return
        if not app_roles:
            raise bad("/me request is only valid with delegated authentication flow.")
        if not any(p in tok.perms for p in app_roles):
            raise GraphError(403, "Forbidden",
                             "Missing role permissions on the request. API requires one of '%s'. "
                             "Roles on the request '%s'." % (", ".join(app_roles), ", ".join(tok.perms)))

    def route(self, s, tok):
        """(class, permissions, throttle keys, handler, args) or None."""
        if s is None or not s:
            return None
        app = tok.app.client_id if tok else "-"
        low = [x.lower() for x in s]
        n = len(s)
        other = [(("other", app), RATES["other"])]
        if low[0] == "me":
            if tok is None or not tok.delegated:
                return "other", P_ME, other, self.h_user, (None,)   # app-only: 400
            if n == 1:
                return "other", P_ME, other, self.h_user, (tok.user.id,)
            s = ["users", tok.user.id] + s[1:]
            low = ["users", tok.user.id.lower()] + low[1:]
            n = len(s)
        if low[0] == "users":
            if n == 1:
                return "other", P_USERS, other, self.h_users, ()
            uid = s[1]
            if n == 2:
                return "other", P_USERS, other, self.h_user, (uid,)
            if low[2] != "chats":
                return None
            u = self.sim.tenant.find_user(uid)
            ukey = u.id if u else uid.lower()
            per_user = [(("chats", app, ukey), RATES["chats_per_user"])]
            if n == 3:
                return "chats", P_CHATS, per_user, self.h_chats, (uid,)
            if low[3] in ("getallmessages", "allmessages"):
                am = [(("all", app), RATES["all_messages"])]
                if n == 4:
                    return "all_messages", P_ALL, am, self.h_all, (uid,)
                if n == 5 and low[4] == "delta":
                    return "all_messages", P_ALL, am, self.h_delta, (uid,)
                return None
            if n == 4:
                return "chats", P_CHATS, per_user, self.h_chat, (s[3], uid)
            return self.route_chat(s[3:], low[3:], app, uid)
        if low[0] == "chats" and n >= 2:
            if n == 2:
                return "chats", P_CHATS, [(("chats", app, s[1]), RATES["chats_per_user"])], \
                    self.h_chat, (s[1], None)
            return self.route_chat(s[1:], low[1:], app, None)
        if low[0] == "shares" and n >= 3 and low[2] == "driveitem" and n <= 4:
            if n == 4 and low[3] != "content":
                return None
            return "other", P_FILES, other, self.h_share, (s[1], n == 4)
        return None

    def route_chat(self, s, low, app, uid):
        """s = [chat-id, ...] below /chats or /users/{id}/chats."""
        cid, n = s[0], len(s)
        if n == 2 and low[1] == "members":
            return "other", P_CHATS, [(("other", app), RATES["other"])], self.h_members, (cid, uid)
        if low[1] != "messages":
            return None
        keys = [(("msgs", app), RATES["chat_messages"]),
                (("msgs", app, cid), RATES["chat_messages_per_chat"])]
        if n == 2:
            return "chat_messages", P_MSGS, keys, self.h_messages, (cid, uid)
        if n == 3:
            return "chat_messages", P_MSGS, keys, self.h_message, (cid, uid, s[2])
        if low[3] != "hostedcontents" or n > 6:
            return None
        hc = s[4] if n >= 5 else None
        if n == 6 and s[5] != "$value":
            return None
        return "chat_messages", P_MSGS, keys, self.h_hosted, (cid, uid, s[2], hc, n == 6)

    # ---------------------------------------------------------- helpers
    @property
    def base(self):
        return "http://127.0.0.1:%d/graph/v1.0" % self.sim.port

    def next_link(self, token, name="$skiptoken", keep=True):
        drop = ("$skiptoken", "$deltatoken", "skiptoken", "deltatoken")
        parts = []
        if keep:
            for p in self.raw_query.split("&"):
                k = urllib.parse.unquote(p.partition("=")[0]).lower()
                if p and k not in drop:
                    parts.append(p)
        parts.append("%s=%s" % (name, token))
        return "http://127.0.0.1:%d%s?%s" % (self.sim.port, self.raw_path, "&".join(parts))

    def page(self, context, items, next_token=None, extra=None, delta_token=None):
        obj = {"@odata.context": context}
        if extra:
            obj.update(extra)
        if next_token:
            obj["@odata.nextLink"] = self.next_link(next_token)
        if delta_token:
            obj["@odata.deltaLink"] = self.next_link(delta_token, "$deltatoken", keep=False)
        obj["value"] = items
        self.break_page(obj)
        self.send_json(200, obj, truncate=self.truncate)

    def break_page(self, obj):
        """/_sim/break: a message page that is valid JSON but a broken
        answer: no value list, messages without ids, or a nextLink to the
        page itself."""
        sim = self.sim
        with sim.lock:
            kind = sim.breaks["kind"]
            if not kind or sim.breaks["left"] <= 0 or not obj["value"] \
                    or not obj["@odata.context"].endswith(("Collection(chatMessage)", "')/messages")):
                return
            sim.breaks["left"] -= 1
        if kind == "value_null":
            obj["value"] = None
        elif kind == "no_id":
            obj["value"] = [{k: v for k, v in m.items() if k != "id"} for m in obj["value"]]
        elif kind == "self_link":
            obj["@odata.nextLink"] = "http://127.0.0.1:%d%s%s" % (
                sim.port, self.raw_path, "?" + self.raw_query if self.raw_query else "")

    def prefer_enums(self):
        return "include-unknown-enum-members" in (self.headers.get("Prefer") or "").lower()

    def served(self, msg, include):
        """§3.3: without the Prefer header systemEventMessage reads unknownFutureValue."""
        if not include and msg["messageType"] == "systemEventMessage":
            msg = dict(msg)
            msg["messageType"] = "unknownFutureValue"
        return msg

    def user_or_404(self, uid):
        u = self.sim.tenant.find_user(uid)
        if u is None:
            raise GraphError(404, "Request_ResourceNotFound",
                             "Resource '%s' does not exist or one of its queried reference-property "
                             "objects are not present." % uid)
        return u

    def chat_or_404(self, cid, uid, tok, messages=False):
        t = self.sim.tenant
        c = t.chat_by_id.get(cid)
        if uid is not None:
            u = self.user_or_404(uid)
            if c is not None and u.idx not in c.members:
                c = None
        if c is None:
            raise GraphError(404, "NotFound", "NotFound: chat '%s' was not found." % cid)
        if tok.delegated and tok.user.idx not in c.members:
            raise GraphError(403, "Forbidden", "Forbidden: the signed-in user is not a member of "
                             "chat '%s'." % cid)
        if messages and c.forbid == 403:
            raise GraphError(403, "Forbidden", "Forbidden: the application is not allowed to read "
                             "messages of chat '%s'." % cid)
        if messages and c.forbid == 404:
            raise GraphError(404, "NotFound", "NotFound: chat '%s' was not found." % cid)
        return t.ensure(c)

    def self_only(self, tok, u):
        if tok.delegated and tok.user is not u:
            raise GraphError(403, "Forbidden", "Forbidden: a delegated token can only read the "
                             "signed-in user's chats.")

    # ----------------------------------------------------------- users (§2)
    def h_users(self, tok):
        t, q = self.sim.tenant, self.q
        top = check_top(q, 999, 100)
        select = self._select(q)
        flt = parse_filter(q.get("$filter", ""), {
            "accountenabled": ("accountEnabled", {"eq", "ne"}, "bool"),
            "department": ("department", {"eq", "ne"}, "str"),
            "userprincipalname": ("userPrincipalName", {"eq"}, "str"),
            "id": ("id", {"eq"}, "str"), "mail": ("mail", {"eq"}, "str"),
            "displayname": ("displayName", {"eq"}, "str")})
        last = -1
        if "$skiptoken" in q:
            last = int(_untok(q["$skiptoken"], "u", 2)[1])

        def match(u):
            for name, op, val in flt:
                have = {"accountEnabled": u.enabled, "department": u.department,
                        "userPrincipalName": u.upn.lower() if isinstance(val, str) else u.upn,
                        "id": u.id, "mail": u.mail, "displayName": u.display}[name]
                if name == "userPrincipalName":
                    val = val.lower()
                if (have == val) != (op == "eq"):
                    return False
            return True

        out, nxt = [], None
        pool = [u for u in t.users if not u.removed and match(u)]
        for u in pool:
            if u.idx <= last:
                continue
            if len(out) == top:
                nxt = _tok("u", out_last)
                break
            out.append(t.user_obj(u, select))
            out_last = u.idx
        ctx = self.base + "/$metadata#users" + ("(%s)" % ",".join(select) if select else "")
        extra = {"@odata.count": len(pool)} if q.get("$count", "").lower() == "true" else None
        self.page(ctx, out, nxt, extra)

    def _select(self, q):
        if not q.get("$select"):
            return None
        canon = {p.lower(): p for p in Tenant.USER_PROPS}
        out = []
        for p in q["$select"].split(","):
            p = p.strip()
            if p.lower() not in canon:
                raise bad("Could not find a property named '%s' on type 'microsoft.graph.user'." % p,
                          "Request_BadRequest")
            out.append(canon[p.lower()])
        return out

    def h_user(self, tok, uid):
        if uid is None:
            raise bad("/me request is only valid with delegated authentication flow.")
        u = self.user_or_404(uid)
        obj = {"@odata.context": self.base + "/$metadata#users/$entity"}
        obj.update(self.sim.tenant.user_obj(u, self._select(self.q)))
        self.send_json(200, obj, truncate=self.truncate)

    # ----------------------------------------------------------- chats (§3.1)
    def h_chats(self, tok, uid):
        t, q = self.sim.tenant, self.q
        u = self.user_or_404(uid)
        self.self_only(tok, u)
        top = check_top(q, 50, 20)
        expand = self._expand(q)
        flt = parse_filter(q.get("$filter", ""), {
            "chattype": ("chatType", {"eq", "ne"}, "str"), "topic": ("topic", {"eq"}, "str")})
        order = q.get("$orderby")
        chats = [t.chats[i] for i in u.chats if not t.chats[i].unlisted]
        for name, op, val in flt:
            chats = [c for c in chats if ((c.type if name == "chatType" else c.topic) == val) == (op == "eq")]
        if order:
            if " ".join(order.split()).lower() != "lastmessagepreview/createddatetime desc":
                raise bad("The $orderby is not supported: only 'lastMessagePreview/createdDateTime "
                          "desc' is.")
            chats.sort(key=lambda c: -(t.ensure(c).created[-1] if len(t.ensure(c).created) else 0))
        off = int(_untok(q["$skiptoken"], "c", 2)[1]) if "$skiptoken" in q else 0
        sel = chats[off:off + top]
        nxt = _tok("c", off + top) if off + top < len(chats) else None
        out = [self._chat_json(c, u, expand, limit=25) for c in sel]
        ctx = "%s/$metadata#users('%s')/chats%s" % (self.base, u.id, "(members())" if "members" in expand else "")
        self.page(ctx, out, nxt, {"@odata.count": len(out)})

    def _expand(self, q):
        out = []
        for p in (q.get("$expand") or "").split(","):
            p = p.strip()
            if not p:
                continue
            if p.lower() not in ("members", "lastmessagepreview"):
                raise bad("Parsing OData Select and Expand failed: Could not find a property named "
                          "'%s' on type 'microsoft.graph.chat'." % p)
            out.append("members" if p.lower() == "members" else "lastMessagePreview")
        return out

    def _chat_json(self, c, u, expand, limit=None):
        t = self.sim.tenant
        obj = t.chat_obj(c)
        q = urllib.parse.quote(c.id, safe="")
        if "members" in expand:
            # Known issue (§3.1): $expand=members returns at most 25 members.
            mem = c.members[:limit] if limit else c.members
            obj["members@odata.context"] = "%s/$metadata#users('%s')/chats('%s')/members" % (
                self.base, u.id if u else "", q)
            obj["members"] = [t.member_obj(c, m) for m in mem]
        if "lastMessagePreview" in expand:
            obj["lastMessagePreview@odata.context"] = "%s/$metadata#chats('%s')/lastMessagePreview/$entity" % (
                self.base, q)
            t.ensure(c)
            if len(c.created):
                m = t.message(c, len(c.created) - 1)
                obj["lastMessagePreview"] = {
                    "id": m["id"], "createdDateTime": m["createdDateTime"],
                    "isDeleted": m["deletedDateTime"] is not None,
                    "messageType": self.served(m, self.prefer_enums())["messageType"],
                    "eventDetail": m["eventDetail"], "body": m["body"], "from": m["from"]}
            else:
                obj["lastMessagePreview"] = None
        return obj

    def h_chat(self, tok, cid, uid):
        c = self.chat_or_404(cid, uid, tok)
        u = self.user_or_404(uid) if uid else None
        obj = {"@odata.context": self.base + "/$metadata#chats/$entity"}
        obj.update(self._chat_json(c, u, self._expand(self.q)))
        self.send_json(200, obj, truncate=self.truncate)

    def h_members(self, tok, cid, uid):
        t = self.sim.tenant
        c = self.chat_or_404(cid, uid, tok)
        out = [t.member_obj(c, m) for m in c.members]
        self.page("%s/$metadata#chats('%s')/members" % (self.base, urllib.parse.quote(c.id, safe="")),
                  out, None, {"@odata.count": len(out)})

    # -------------------------------------------------------- messages (§3.3)
    def h_messages(self, tok, cid, uid):
        t, q = self.sim.tenant, self.q
        c = self.chat_or_404(cid, uid, tok, messages=True)
        self.sim.note_chat_read(c.id)
        top = check_top(q, 50, 20)
        order = "lastModifiedDateTime"
        explicit = q.get("$orderby")
        if explicit is not None:
            bits = explicit.split()
            props = {"lastmodifieddatetime": "lastModifiedDateTime", "createddatetime": "createdDateTime"}
            if not bits or bits[0].lower() not in props or len(bits) > 2 or \
                    (len(bits) == 2 and bits[1].lower() not in ("desc", "asc")):
                raise bad("Invalid $orderby: only 'lastModifiedDateTime desc' and 'createdDateTime "
                          "desc' are supported.")
            if len(bits) == 2 and bits[1].lower() == "asc":
                raise bad("Invalid $orderby: the ascending order is currently not supported.")
            order = props[bits[0].lower()]
        clauses = parse_filter(q.get("$filter", ""), {
            "lastmodifieddatetime": ("lastModifiedDateTime", {"gt", "lt"}, "time"),
            "createddatetime": ("createdDateTime", {"lt"}, "time")})
        # §3.3: "You can only filter results if the request URL contains the $orderby and
        # $filter query parameters configured for the same property; otherwise, the
        # $filter query option is ignored."
        if explicit is None or any(name != order for name, _, _ in clauses):
            clauses = []
        lo = max([v for _, op, v in clauses if op == "gt"], default=None)
        hi = min([v for _, op, v in clauses if op == "lt"], default=None)
        include = self.prefer_enums()
        out, nxt = [], None
        with t.lock:
            if order == "lastModifiedDateTime":
                ordr, keys = t.order_by_modified(c)
                pos = 0
                if "$skiptoken" in q:
                    _, m_ms, c_ms = _untok(q["$skiptoken"], "m", 3)
                    pos = _bisect_right(keys, (-int(m_ms), -int(c_ms)))
                if hi is not None:
                    pos = max(pos, _bisect_right(keys, (-hi, float("inf"))))
                idx = []
                for k in range(pos, len(ordr)):
                    j = ordr[k]
                    if lo is not None and c.modified[j] <= lo:
                        break
                    if len(idx) == top:
                        last = idx[-1]
                        nxt = _tok("m", c.modified[last], c.created[last])
                        break
                    idx.append(j)
            else:
                end = len(c.created)
                if "$skiptoken" in q:
                    end = _bisect_left(c.created, int(_untok(q["$skiptoken"], "c", 2)[1]))
                if hi is not None:
                    end = min(end, _bisect_left(c.created, hi))
                idx = list(range(end - 1, max(-1, end - 1 - top), -1))
                if end - top > 0 and idx:
                    nxt = _tok("c", c.created[idx[-1]])
            out = [self.served(t.message(c, j), include) for j in idx]
        ctx = "%s/$metadata#chats('%s')/messages" % (self.base, urllib.parse.quote(c.id, safe=""))
        self.page(ctx, out, nxt, {"@odata.count": len(out)})

    def _msg(self, c, mid):
        i = self.sim.tenant.index_of(c, mid)
        if i is None:
            raise GraphError(404, "NotFound", "NotFound: message '%s' was not found in chat '%s'." % (mid, c.id))
        return i, self.sim.tenant.message(c, i)

    def h_message(self, tok, cid, uid, mid):
        c = self.chat_or_404(cid, uid, tok, messages=True)
        _, m = self._msg(c, mid)
        obj = {"@odata.context": "%s/$metadata#chats('%s')/messages/$entity" % (
            self.base, urllib.parse.quote(c.id, safe=""))}
        obj.update(self.served(m, self.prefer_enums()))
        self.send_json(200, obj, truncate=self.truncate)

    def h_hosted(self, tok, cid, uid, mid, hcid, value):
        """§3.6: list / metadata (contentBytes and contentType always null) / $value bytes."""
        t = self.sim.tenant
        c = self.chat_or_404(cid, uid, tok, messages=True)
        _, m = self._msg(c, mid)
        ids = t.hosted_ids(m)
        ctx = "%s/$metadata#chats('%s')/messages('%s')/hostedContents" % (
            self.base, urllib.parse.quote(c.id, safe=""), mid)
        if hcid is None:
            self.page(ctx, [{"id": h, "contentBytes": None, "contentType": None} for h in ids])
            return
        if hcid not in ids:
            raise GraphError(404, "NotFound", "NotFound: hosted content '%s' was not found." % hcid)
        if not value:
            self.send_json(200, {"@odata.context": ctx + "/$entity", "id": hcid, "contentBytes": None,
                                 "contentType": None}, truncate=self.truncate)
            return
        self.respond(200, t.hosted_bytes(c, m, hcid), "image/png", truncate=self.truncate)

    # -------------------------------------------------- getAllMessages (§4.1)
    def _payment(self):
        if self.sim.payment_required:
            # §4.2: the evaluation-capacity 402 (historical; kept for old tenants).
            raise GraphError(402, "PaymentRequired", "Evaluation capacity for the month has exceeded. "
                             "To continue beyond the evaluation limits complete billing onboarding.")

    def _user_chats(self, u):
        t = self.sim.tenant
        return [t.ensure(t.chats[i]) for i in u.chats if not t.chats[i].forbid]

    def _scan(self, chats, ci, cpos, top, pred):
        """Messages of several chats in the mixed order (index, chat position), from (ci, cpos)."""
        idx, nxt = [], None
        longest = max((len(c.created) for c in chats), default=0)
        i, p = ci, cpos
        while i < longest:
            while p < len(chats):
                c = chats[p]
                if i < len(c.created) and pred(c, i):
                    if len(idx) == top:
                        return idx, (i, p)
                    idx.append((c, i))
                p += 1
            i, p = i + 1, 0
        return idx, nxt

    def h_all(self, tok, uid):
        t, q = self.sim.tenant, self.q
        self._payment()
        u = self.user_or_404(uid)
        top = check_top(q, 50, 20)
        clauses = parse_filter(q.get("$filter", ""), {
            "lastmodifieddatetime": ("lastModifiedDateTime", {"gt", "lt"}, "time"),
            "messagetype": ("messageType", {"eq", "ne"}, "str"),
            "from/user/id": ("from/user/id", {"eq"}, "str")})
        lo = max([v for n, op, v in clauses if n == "lastModifiedDateTime" and op == "gt"], default=None)
        hi = min([v for n, op, v in clauses if n == "lastModifiedDateTime" and op == "lt"], default=None)
        mtype = [(op, v) for n, op, v in clauses if n == "messageType"]
        sender = [v.lower() for n, op, v in clauses if n == "from/user/id"]

        def pred(c, i):
            m = c.modified[i]
            if (lo is not None and m <= lo) or (hi is not None and m >= hi):
                return False
            for op, v in mtype:
                kind = "systemEventMessage" if c.flags[i] & F_SYSTEM else "message"
                if (kind == v) != (op == "eq"):
                    return False
            if sender:
                f = t.message(c, i)["from"]
                if not f or not f.get("user") or f["user"]["id"].lower() not in sender:
                    return False
            return True

        ci = cpos = 0
        if "$skiptoken" in q:
            _, ci, cpos = _untok(q["$skiptoken"], "a", 3)
            ci, cpos = int(ci), int(cpos)
        include = self.prefer_enums()
        with t.lock:
            idx, nxt = self._scan(self._user_chats(u), ci, cpos, top, pred)
            out = [self.served(t.message(c, i), include) for c, i in idx]
        self.sim.count(exported=len(out))
        self.page(self.base + "/$metadata#Collection(chatMessage)", out,
                  _tok("a", *nxt) if nxt else None)

    def h_delta(self, tok, uid):
        """§4.4: initial round = last 8 months, then a deltaLink whose token holds the
        change sequence; later rounds return only messages changed since."""
        t, q = self.sim.tenant, self.q
        self._payment()
        u = self.user_or_404(uid)
        include = self.prefer_enums()
        if "$deltatoken" in q:
            _, tuid, since, top = _untok(q["$deltatoken"], "d", 4)
            if tuid != u.id:
                raise bad("The delta token does not belong to this user.")
            if "$top" in q:
                top = check_top(q, 50, 20)
            state = ("chg", int(since), t.seq, int(since), int(top))
        elif "$skiptoken" in q:
            p = _untok(q["$skiptoken"], "s", 8)
            if p[1] != u.id:
                raise bad("The skip token does not belong to this user.")
            state = (p[2],) + tuple(int(x) for x in p[3:])
        else:
            top = check_top(q, 50, 20)
            clauses = parse_filter(q.get("$filter", ""), {
                "lastmodifieddatetime": ("lastModifiedDateTime", {"gt"}, "time")})
            lo = max([now_ms() - DELTA_WINDOW_MS] + [v for _, _, v in clauses])
            state = ("init", lo, t.seq, 0, 0, top, 0)
        with t.lock:
            if state[0] == "init":
                _, lo, start_seq, ci, cpos, top = state[:6]
                idx, nxt = self._scan(self._user_chats(u), ci, cpos, top,
                                      lambda c, i: c.modified[i] > lo)
                out = [self.served(t.message(c, i), include) for c, i in idx]
                self.sim.count(exported=len(out))
                if nxt:
                    tokn = _tok("s", u.id, "init", lo, start_seq, nxt[0], nxt[1], top)
                    self.page(self.base + "/$metadata#Collection(chatMessage)", out, tokn)
                else:
                    self.page(self.base + "/$metadata#Collection(chatMessage)", out,
                              delta_token=_tok("d", u.id, start_seq, top))
                return
            _, since, end, cursor, top = state[:5]
            picked = []
            for c in self._user_chats(u):
                ch = c.changes
                k = bisect_right_seq(ch, cursor)
                while k < len(ch) and ch[k][0] <= end:
                    s, i = ch[k]
                    if c.last_seq.get(i) == s:
                        picked.append((s, c, i))
                    k += 1
            picked.sort(key=lambda x: x[0])
            page = picked[:top]
            out = [self.served(t.message(c, i), include) for _, c, i in page]
        self.sim.count(exported=len(out))
        if len(picked) > top:
            self.page(self.base + "/$metadata#Collection(chatMessage)", out,
                      _tok("s", u.id, "chg", since, end, page[-1][0], top, 0))
        else:
            self.page(self.base + "/$metadata#Collection(chatMessage)", out,
                      delta_token=_tok("d", u.id, end, top))

    # ------------------------------------------------------------- shares (§3.5)
    def h_share(self, tok, share, content):
        t = self.sim.tenant
        url = None
        if share.startswith("u!"):
            try:
                url = b64url_decode(share[2:]).decode("utf-8")
            except Exception:
                url = None
        status, size = t.file_status(url) if url else (404, 0)
        if status == 404:
            raise GraphError(404, "itemNotFound", "The sharing link no longer exists, or you do not "
                             "have permission to access it.")
        if status == 403:
            raise GraphError(403, "accessDenied", "Access denied")
        name = urllib.parse.unquote(url.rsplit("/", 1)[-1])
        if not content:
            _, data = t.file_content(url)
            self.send_json(200, {
                "@odata.context": self.base + "/$metadata#shares('%s')/driveItem/$entity" % share,
                "id": "01" + guid(t.seed, "item", url).replace("-", "").upper()[:32],
                "name": name, "size": len(data), "webUrl": url,
                "file": {"mimeType": media.mime_of(name)}}, truncate=self.truncate)
            return
        _, data = t.file_content(url)
        self.respond(200, data, media.mime_of(name), truncate=self.truncate)

    # ----------------------------------------------------------- control (/_sim)
    def control(self, method, path, query, body):
        sim = self.sim
        if self.client_address[0] not in ("127.0.0.1", "::1", "::ffff:127.0.0.1"):
            self.send_json(403, {"error": "control endpoints are loopback only"})
            return
        try:
            data = json.loads(body.decode("utf-8")) if body.strip() else {}
            if not isinstance(data, dict):
                raise ValueError("the body must be a JSON object")
        except ValueError as e:
            self.send_json(400, {"error": "bad JSON: %s" % e})
            return
        t = sim.tenant
        q = dict(urllib.parse.parse_qsl(query))
        key = (method, path.rstrip("/"))
        try:
            if key == ("GET", "/_sim/truth"):
                ids = None
                if "chat" in q:
                    if q["chat"] not in t.chat_by_id:
                        self.send_json(404, {"error": "no such chat"})
                        return
                    ids = {q["chat"]}
                self.stream(sim.truth_chunks(ids))
            elif key == ("GET", "/_sim/truth/summary"):
                self.send_json(200, t.summary())
            elif key == ("GET", "/_sim/stats"):
                self.send_json(200, sim.snapshot())
            elif key == ("POST", "/_sim/stats/reset"):
                sim.reset_stats()
                self.send_json(200, sim.snapshot())
            elif key == ("GET", "/_sim/config"):
                self.send_json(200, sim.config())
            elif key == ("POST", "/_sim/config"):
                sim.set_config(data)
                self.send_json(200, sim.config())
            elif key == ("GET", "/_sim/info"):
                self.send_json(200, sim.info())
            elif key == ("POST", "/_sim/app"):
                # an admin grants or withdraws an app's roles, or replaces
                # its client secret; tokens issued before keep the roles
                # they carry, as Graph's do
                app = sim.identity.apps.get(str(data.get("app", "")))
                perms, secret = data.get("permissions"), data.get("secret")
                if app is None or (perms is None and secret is None) or \
                        (perms is not None and not (isinstance(perms, list) and all(isinstance(p, str) for p in perms))) or \
                        (secret is not None and not (isinstance(secret, str) and secret and app.secret)):
                    self.send_json(404 if app is None else 400, {"error": "no such app, or bad permissions or secret"})
                    return
                if perms is not None:
                    app.permissions = list(perms)
                if secret is not None:
                    app.secret = secret
                self.send_json(200, app.info())
            elif key == ("POST", "/_sim/revoke"):
                sim.identity.revoke()
                self.send_json(200, {"revoked": True})
            elif key == ("POST", "/_sim/mutate"):
                res = t.mutate(edit=float(data.get("edit", 0)), delete=float(data.get("delete", 0)),
                               new=int(data.get("new", 0)), react=float(data.get("react", 0)),
                               seed=int(data.get("seed", 0)))
                self.send_json(200, res)
            elif key == ("POST", "/_sim/user/remove"):
                ok = t.remove_user(str(data.get("id", "")))
                self.send_json(200 if ok else 404, {"removed": ok})
            elif key == ("POST", "/_sim/break"):
                kind = data.get("kind")
                if kind not in (None, "value_null", "no_id", "self_link"):
                    self.send_json(400, {"error": "kind: value_null, no_id, self_link or null"})
                else:
                    with sim.lock:
                        sim.breaks = {"kind": kind, "left": int(data.get("count", 1 << 30))}
                    self.send_json(200, sim.breaks)
            elif key == ("POST", "/_sim/user/restore"):
                ok = t.restore_user(str(data.get("id", "")))
                self.send_json(200 if ok else 404, {"restored": ok})
            elif key == ("POST", "/_sim/chat/forbid"):
                c = t.chat_by_id.get(str(data.get("id", "")))
                status = int(data.get("status", 403))
                if c is None or status not in (0, 200, 403, 404):
                    self.send_json(404 if c is None else 400, {"error": "no such chat or bad status"})
                    return
                c.forbid = 0 if status == 200 else status
                self.send_json(200, {"id": c.id, "status": c.forbid or 200})
            elif key == ("POST", "/_sim/chat/new"):
                c = t.new_chat(int(data.get("messages", 5)), bool(data.get("listed", False)))
                self.send_json(200, {"id": c.id, "messages": len(c.created)})
            elif key == ("POST", "/_sim/chat/list"):
                c = t.chat_by_id.get(str(data.get("id", "")))
                if c is None:
                    self.send_json(404, {"error": "no such chat"})
                    return
                c.unlisted = False
                self.send_json(200, {"id": c.id})
            elif key == ("POST", "/_sim/device/approve"):
                user = t.find_user(str(data.get("user", ""))) if data.get("user") else None
                decline = bool(data.get("decline"))
                if user is None and not decline:
                    self.send_json(400, {"error": "give 'user' (id or UPN) or 'decline': true"})
                    return
                ok = sim.identity.device_decide(str(data.get("user_code", "")), user, decline)
                self.send_json(200 if ok else 404, {"ok": ok})
            elif key == ("POST", "/_sim/shutdown"):
                self.send_json(200, {"shutdown": True})
                threading.Thread(target=sim.server.shutdown, daemon=True).start()
            else:
                self.send_json(404, {"error": "unknown control endpoint %s %s" % key})
        except (ValueError, TypeError, KeyError) as e:
            self.send_json(400, {"error": str(e)})

    def stream(self, chunks):
        """A chunked 200 response (the full truth can be hundreds of MB)."""
        head = ["HTTP/1.1 200 OK", "Date: " + formatdate(usegmt=True), "Content-Type: " + JSON,
                "Transfer-Encoding: chunked"]
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode())
        buf = []
        size = 0
        for piece in chunks:
            b = piece.encode("utf-8")
            buf.append(b)
            size += len(b)
            if size >= 1 << 16:
                data = b"".join(buf)
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                buf, size = [], 0
        data = b"".join(buf)
        if data:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.write(b"0\r\n\r\n")


_bisect_right = bisect.bisect_right
_bisect_left = bisect.bisect_left


def bisect_right_seq(changes, seq):
    """First position in a [(seq, i)] list whose seq is > seq."""
    return bisect.bisect_right(changes, (seq, float("inf")))


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    allow_reuse_address = True


# ======================================================================== main
def build_parser():
    p = argparse.ArgumentParser(description="Microsoft Graph + identity platform simulator for chatvault.")
    p.add_argument("--port", type=int, default=0, help="listen port (default 0 = ephemeral)")
    p.add_argument("--info-file", help="write the connection info JSON here once listening")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--users", type=int, default=20)
    p.add_argument("--chats-per-user", type=int, default=5)
    p.add_argument("--messages-per-chat", type=int, default=40)
    p.add_argument("--history-days", type=int, default=400)
    p.add_argument("--epoch", help="YYYY-MM-DD the generated history ends on (default: today, UTC)")
    p.add_argument("--tenant-file", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                         "..", "..", "data", "demo-tenant.json"))
    p.add_argument("--throttle", choices=("off", "doc", "strict"), default="doc")
    p.add_argument("--retry-after", choices=("int", "frac", "none"), default="frac")
    p.add_argument("--fault-rate", type=float, default=0.0)
    p.add_argument("--token-lifetime", type=int, default=3599)
    p.add_argument("--payment-required", action="store_true")
    p.add_argument("--truth-file")
    p.add_argument("--app-cert", help="PEM certificate registered on the app named 'cert'")
    p.add_argument("--big-files", action="store_true", help="include one ~20 MB shared file")
    p.add_argument("--media", type=float, default=1.0,
                   help="share of the image and file messages kept (0..1; the rest are text)")
    p.add_argument("--latency", type=float, default=0.0, help="extra ms before every Graph answer")
    p.add_argument("--device-interval", type=int, default=5, help="device code polling interval (s)")
    p.add_argument("--demo", action="store_true", help="small pleasant tenant: 12 users, ~6 chats, ~30 messages")
    p.add_argument("--verbose", action="store_true", help="log every request to stderr")
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    # Every request is checked against the limits when its thread runs; with
    # Python's default 5 ms switch interval a request could wait that long
    # behind another's rendering and then meet the next one at the door,
    # which the strict limits (one request per 5 ms) refuse. Switching every
    # 0.5 ms keeps the check close to the arrival.
    sys.setswitchinterval(0.0005)
    if args.demo:
        args.users, args.chats_per_user, args.messages_per_chat = 12, 6, 30
    if not 0 <= args.fault_rate <= 1:
        raise SystemExit("graphsim: --fault-rate must be within 0..1")
    with open(args.tenant_file, encoding="utf-8") as f:
        look = json.load(f)
    epoch = None
    if args.epoch:
        epoch = parse_ts(args.epoch)
        if epoch is None:
            raise SystemExit("graphsim: --epoch must be YYYY-MM-DD")
    t0 = time.monotonic()
    tenant = Tenant(look, seed=args.seed, users=args.users, chats_per_user=args.chats_per_user,
                    messages_per_chat=args.messages_per_chat, history_days=args.history_days,
                    big_files=args.big_files, epoch_ms=epoch, media=args.media)
    ident = identity_mod.Identity(tenant, args.seed, args.app_cert)
    ident.token_lifetime = args.token_lifetime
    ident.device_interval = args.device_interval
    sim = Sim(args, tenant, ident)
    Handler.sim = sim
    server = Server(("127.0.0.1", args.port), Handler)
    sim.server = server
    sim.port = server.server_address[1]
    tenant.graph_url = "http://127.0.0.1:%d/graph" % sim.port
    ident.login_url = "http://127.0.0.1:%d/login" % sim.port
    if args.truth_file:
        write_atomic(args.truth_file, sim.truth_chunks())
    if args.info_file:
        write_atomic(args.info_file, [json.dumps(sim.info(), indent=2, ensure_ascii=False)])
    # A full collection walks every object of a big tenant and stops every
    # thread meanwhile; requests queued behind it then reach the limits
    # together. The tenant's own objects live as long as the process, so
    # they are left out of collections (gc.freeze), and collections of
    # request garbage run less often.
    gc.collect()
    gc.freeze()
    gc.set_threshold(50000, 20, 100)
    sys.stderr.write("graphsim listening on %d\n" % sim.port)
    sys.stderr.write("graphsim: %d users, %d chats, %d messages; ready in %.2f s\n" % ( tenant.n_users, len(tenant.chats), sum(c.base_count for c in tenant.chats),
        time.monotonic() - t0))
    sys.stderr.flush()

    def stop(*_):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
    sys.stderr.flush()
    # Skip interpreter teardown: freeing a big tenant's caches object by object
    # takes seconds, and tests restart the simulator often.
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())

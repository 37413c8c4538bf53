#!/usr/bin/env python3
"""Self-test of the Graph simulator (stdlib unittest, TAP on stdout).

Starts graphsim.py on an ephemeral port and checks it against the facts it
claims to model: token errors, certificate assertions, Graph auth errors,
paging, $top limits, the $filter/$orderby rule, the 25-member $expand limit,
throttling, faults, delta, and that the ground truth equals what paging
returns. Exits non-zero on any failure. Runs in well under a minute.
"""

import base64
import hashlib
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
GRAPHSIM = os.path.join(HERE, "graphsim.py")
sys.path.insert(0, HERE)

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa
    from cryptography.x509.oid import NameOID
    import datetime
    HAVE_CRYPTO = True
except ImportError:
    HAVE_CRYPTO = False


def b64url(b):
    if isinstance(b, str):
        b = b.encode()
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


class Sim:
    """A running simulator plus a small keep-alive client."""

    def __init__(self, *flags):
        self.dir = tempfile.mkdtemp(prefix="graphsim-test-")
        self.key = self.cert_path = None
        if HAVE_CRYPTO:
            self._make_cert()
            flags += ("--app-cert", self.cert_path)
        info = os.path.join(self.dir, "info.json")
        self.truth_file = os.path.join(self.dir, "truth.json")
        self.proc = subprocess.Popen(
            [sys.executable, GRAPHSIM, "--info-file", info, "--truth-file", self.truth_file] + list(flags),
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 30
        while not os.path.exists(info):
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("graphsim did not start: %s" % self.proc.stderr.read().decode())
            time.sleep(0.05)
        with open(info) as f:
            self.info = json.load(f)
        self.port = self.info["port"]
        self.conn = None
        self.tokens = {}

    def _make_cert(self):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "graphsim-test")])
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=30))
                .sign(self.key, hashes.SHA256()))
        self.der = cert.public_bytes(serialization.Encoding.DER)
        self.cert_path = os.path.join(self.dir, "cert.pem")
        with open(self.cert_path, "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))

    def stop(self):
        if self.conn:
            self.conn.close()
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.proc.stderr.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- HTTP
    def request(self, method, path, body=None, headers=None, fresh=False):
        if path.startswith("http://"):
            path = "/" + path.split("/", 3)[3]
        if fresh or self.conn is None:
            if self.conn:
                self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            self.conn.request(method, path, body, headers or {})
            r = self.conn.getresponse()
            data = r.read()
        except Exception:
            self.conn.close()
            self.conn = None
            raise
        ctype = r.getheader("Content-Type", "")
        obj = json.loads(data) if ctype.startswith("application/json") and data else data
        return r.status, r, obj

    def token_request(self, form, tenant=None):
        tenant = tenant or self.info["tenant_id"]
        return self.request("POST", "/login/%s/oauth2/v2.0/token" % tenant,
                            urllib.parse.urlencode(form),
                            {"Content-Type": "application/x-www-form-urlencoded"})

    def token(self, app="full", fresh=False):
        if fresh or app not in self.tokens:
            a = self.info["apps"][app]
            st, _, obj = self.token_request({"client_id": a["client_id"], "client_secret": a["secret"],
                                             "scope": "https://graph.microsoft.com/.default",
                                             "grant_type": "client_credentials"})
            assert st == 200, obj
            self.tokens[app] = obj["access_token"]
        return self.tokens[app]

    def graph(self, path, app="full", prefer=False, token=None, fresh=False):
        if not path.startswith("http"):
            path = "/graph/v1.0" + path
        h = {"Authorization": "Bearer " + (token or self.token(app))}
        if prefer:
            h["Prefer"] = "include-unknown-enum-members"
        return self.request("GET", path, headers=h, fresh=fresh)

    def all_pages(self, path, prefer=True, app="full"):
        out, st, _, obj = [], *self.graph(path, app=app, prefer=prefer)
        pages = 0
        while True:
            assert st == 200, (st, obj)
            out.extend(obj["value"])
            pages += 1
            nxt = obj.get("@odata.nextLink")
            if not nxt:
                return out, obj, pages
            assert nxt.startswith("http://127.0.0.1:%d/graph/v1.0/" % self.port), nxt
            assert "$skiptoken=" in nxt, nxt
            st, _, obj = self.graph(nxt, app=app, prefer=prefer)

    def control(self, method, path, body=None):
        st, _, obj = self.request(method, "/_sim/" + path, json.dumps(body) if body is not None else None,
                                  {"Content-Type": "application/json"})
        assert st == 200, (st, obj)
        return obj

    def truth(self, chat=None):
        st, _, obj = self.request("GET", "/_sim/truth" + ("?chat=" + urllib.parse.quote(chat) if chat else ""))
        assert st == 200
        return obj


def strings(obj):
    """Every string inside a JSON value."""
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield k
            yield from strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from strings(v)


def q(s):
    return urllib.parse.quote(s, safe="")


SIM = None


class GraphSimTest(unittest.TestCase):
    maxDiff = 2000

    @classmethod
    def setUpClass(cls):
        global SIM
        SIM = Sim("--seed", "7", "--users", "40", "--chats-per-user", "4", "--messages-per-chat", "30",
                  "--throttle", "off")
        cls.sim = SIM
        cls.T = SIM.truth()

    @classmethod
    def tearDownClass(cls):
        SIM.stop()

    def chat_with(self, pred):
        for c in self.T["chats"]:
            if pred(c):
                return c
        self.fail("no chat matches")

    def assertAad(self, st, obj, status, error, code):
        self.assertEqual(st, status, obj)
        self.assertEqual(obj["error"], error, obj)
        self.assertEqual(obj["error_codes"], [code], obj)
        self.assertTrue(obj["error_description"].startswith("AADSTS%d: " % code), obj)
        for k in ("timestamp", "trace_id", "correlation_id"):
            self.assertIn(k, obj)

    def assertGraphError(self, st, obj, status, code, contains=""):
        self.assertEqual(st, status, obj)
        self.assertEqual(obj["error"]["code"], code, obj)
        self.assertIn(contains, obj["error"]["message"])
        self.assertIn("request-id", obj["error"].get("innerError", {}))

    # ------------------------------------------------------------ identity
    def test_01_token_errors(self):
        s, a = self.sim, self.sim.info["apps"]
        full = {"client_id": a["full"]["client_id"], "client_secret": a["full"]["secret"],
                "scope": "https://graph.microsoft.com/.default", "grant_type": "client_credentials"}
        st, _, obj = s.token_request(full, tenant=s.info["domain"])          # domain form works
        self.assertEqual(st, 200, obj)
        self.assertEqual(obj["token_type"], "Bearer")
        self.assertEqual(obj["expires_in"], 3599)
        self.assertEqual(obj["ext_expires_in"], 3599)
        self.assertAad(*s.token_request(full, tenant="no-such-tenant.example")[::2], 400, "invalid_request", 90002)
        self.assertAad(*s.token_request(dict(full, client_id=str(uuid.uuid4())))[::2],
                       400, "unauthorized_client", 700016)
        self.assertEqual(s.token_request(dict(full, grant_type="password"))[2]["error"], "unsupported_grant_type")
        self.assertAad(*s.token_request({k: v for k, v in full.items() if k != "scope"})[::2],
                       400, "invalid_scope", 70011)
        self.assertAad(*s.token_request(dict(full, scope="https://graph.microsoft.com/User.Read"))[::2],
                       400, "invalid_scope", 70011)
        self.assertAad(*s.token_request({k: v for k, v in full.items() if k != "client_secret"})[::2],
                       400, "invalid_request", 7000218)
        self.assertAad(*s.token_request(dict(full, client_secret="wrong"))[::2], 401, "invalid_client", 7000215)
        exp = dict(full, client_id=a["expired"]["client_id"], client_secret=a["expired"]["secret"])
        self.assertAad(*s.token_request(exp)[::2], 401, "invalid_client", 7000222)
        # Basic authentication of the client is accepted too (§1.1).
        basic = base64.b64encode(("%s:%s" % (a["full"]["client_id"], a["full"]["secret"])).encode()).decode()
        st, _, obj = s.request("POST", "/login/%s/oauth2/v2.0/token" % s.info["tenant_id"],
                               "scope=https%3A%2F%2Fgraph.microsoft.com%2F.default&grant_type=client_credentials",
                               {"Content-Type": "application/x-www-form-urlencoded",
                                "Authorization": "Basic " + basic})
        self.assertEqual(st, 200, obj)

    @unittest.skipUnless(HAVE_CRYPTO, "python3-cryptography not installed")
    def test_02_certificate_assertion(self):
        s = self.sim
        cid = s.info["apps"]["cert"]["client_id"]
        aud = "%s/%s/oauth2/v2.0/token" % (s.info["login_url"], s.info["tenant_id"])

        def jwt(alg="PS256", claims=None, key=None, thumb=None, **over):
            now = int(time.time())
            c = {"aud": aud, "iss": cid, "sub": cid, "jti": str(uuid.uuid4()), "nbf": now, "iat": now,
                 "exp": now + 600}
            c.update(claims or {})
            h = {"alg": alg, "typ": "JWT"}
            if alg == "PS256":
                h["x5t#S256"] = thumb or b64url(hashlib.sha256(s.der).digest())
            else:
                h["x5t"] = thumb or b64url(hashlib.sha1(s.der).digest())
            signing = ("%s.%s" % (b64url(json.dumps(h)), b64url(json.dumps(c)))).encode()
            k = key or s.key
            pad = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32) if alg == "PS256" \
                else padding.PKCS1v15()
            return signing.decode() + "." + b64url(k.sign(signing, pad, hashes.SHA256())), c

        def req(assertion):
            return s.token_request({"client_id": cid, "scope": "https://graph.microsoft.com/.default",
                                    "grant_type": "client_credentials",
                                    "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                                    "client_assertion": assertion})[::2]

        a, _ = jwt("PS256")
        st, obj = req(a)
        self.assertEqual(st, 200, obj)
        st2, obj2 = req(a)                                      # replayed jti
        self.assertAad(st2, obj2, 401, "invalid_client", 50012)
        st, obj = req(jwt("RS256")[0])
        self.assertEqual(st, 200, obj)
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.assertAad(*req(jwt("PS256", key=other)[0]), 401, "invalid_client", 700027)
        self.assertAad(*req(jwt("PS256", thumb=b64url(b"x" * 32))[0]), 401, "invalid_client", 700027)
        self.assertAad(*req(jwt("PS256", {"aud": "https://login.microsoftonline.com/x/oauth2/v2.0/token"})[0]),
                       401, "invalid_client", 50012)
        old = int(time.time()) - 7200
        self.assertAad(*req(jwt("PS256", {"nbf": old, "exp": old + 600})[0]), 401, "invalid_client", 500133)
        # The domain form of the tenant in aud is accepted.
        st, obj = req(jwt("PS256", {"aud": "%s/%s/oauth2/v2.0/token" % (s.info["login_url"], s.info["domain"])})[0])
        self.assertEqual(st, 200, obj)

    def test_03_graph_auth_and_permissions(self):
        s = self.sim
        st, r, obj = s.request("GET", "/graph/v1.0/users")
        self.assertGraphError(st, obj, 401, "InvalidAuthenticationToken")
        self.assertIn("Bearer", r.getheader("WWW-Authenticate"))
        st, _, obj = s.graph("/users", token="garbage")
        self.assertGraphError(st, obj, 401, "InvalidAuthenticationToken")
        chat = self.chat_with(lambda c: c["messages"])
        st, _, obj = s.graph("/chats/%s/messages" % q(chat["id"]), app="nochat")
        self.assertGraphError(st, obj, 403, "Forbidden", "API requires one of 'Chat.Read.All, Chat.ReadWrite.All'")
        self.assertIn("Roles on the request 'User.Read.All, Chat.ReadBasic.All'", obj["error"]["message"])
        uid = self.T["users"][0]["id"]
        self.assertEqual(s.graph("/users/%s/chats" % uid, app="nochat")[0], 200)
        st, _, obj = s.graph("/users", app="nouser")
        self.assertGraphError(st, obj, 403, "Forbidden", "User.Read.All")
        # An admin grants the role: new tokens carry it, the old one not.
        old = s.token("nouser")
        roles = s.info["apps"]["nouser"]["permissions"]
        obj = s.control("POST", "app", {"app": "nouser", "permissions": roles + ["User.Read.All"]})
        self.assertEqual(obj["permissions"][-1], "User.Read.All")
        self.assertEqual(s.graph("/users", token=old)[0], 403)
        self.assertEqual(s.graph("/users", token=s.token("nouser", fresh=True))[0], 200)
        s.control("POST", "app", {"app": "nouser", "permissions": roles})
        for body, status in (({"app": "nope", "permissions": []}, 404), ({"app": "nouser", "permissions": "x"}, 400),
                             ({"app": "nouser"}, 400), ({"app": "cert", "secret": "s"}, 400)):
            st = s.request("POST", "/_sim/app", json.dumps(body), {"Content-Type": "application/json"})[0]
            self.assertEqual(st, status, body)
        s.token("nouser", fresh=True)
        st, _, obj = s.graph("/chats/19:nope@thread.v2/messages")
        self.assertGraphError(st, obj, 404, "NotFound")
        st, _, obj = s.graph("/users/%s/chats" % uuid.uuid4())
        self.assertEqual(st, 404, obj)
        # Token expiry, then revocation.
        s.control("POST", "config", {"token_lifetime": 1})
        tok = s.token("full", fresh=True)
        self.assertEqual(s.graph("/users?$top=1", token=tok)[0], 200)
        time.sleep(1.1)
        st, _, obj = s.graph("/users?$top=1", token=tok)
        self.assertGraphError(st, obj, 401, "InvalidAuthenticationToken", "expired")
        s.control("POST", "config", {"token_lifetime": 3599})
        tok = s.token("full", fresh=True)
        self.assertEqual(s.graph("/users?$top=1", token=tok)[0], 200)
        s.control("POST", "revoke")
        self.assertEqual(s.graph("/users?$top=1", token=tok)[0], 401)
        s.tokens.clear()

    # ------------------------------------------------------------- users
    def test_04_users_paging(self):
        s = self.sim
        for bad in ("1000", "0", "x"):
            st, _, obj = s.graph("/users?$top=" + bad)
            self.assertGraphError(st, obj, 400, "BadRequest", "Must be between 1 and 999 inclusive")
        self.assertIn("Invalid page size specified: '1000'", s.graph("/users?$top=1000")[2]["error"]["message"])
        users, last, pages = s.all_pages("/users?$select=id,displayName,userPrincipalName,mail,department,"
                                         "accountEnabled&$top=7")
        self.assertEqual(pages, -(-len(self.T["users"]) // 7))
        self.assertEqual(users, self.T["users"])
        self.assertTrue(any(u["accountEnabled"] is False for u in users))
        plain, _, _ = s.all_pages("/users")
        self.assertEqual(len(plain), len(users))
        self.assertNotIn("department", plain[0])
        self.assertNotIn("accountEnabled", plain[0])
        self.assertIn("businessPhones", plain[0])
        st, _, obj = s.graph("/users?$select=aboutMeX")
        self.assertEqual(st, 400)

    # ------------------------------------------------------------- chats
    def test_05_chats_and_members(self):
        s = self.sim
        summary = s.request("GET", "/_sim/truth/summary")[2]
        self.assertEqual(summary["messages"], sum(len(c["messages"]) for c in self.T["chats"]))
        member_of = {}
        for c in self.T["chats"]:
            for m in c["members"]:
                member_of.setdefault(m["userId"], set()).add(c["id"])
        self.assertEqual(set(member_of), {u["id"] for u in self.T["users"]})   # everyone has a chat
        self.assertEqual(s.graph("/users/%s/chats?$top=51" % self.T["users"][0]["id"])[0], 400)
        big = self.chat_with(lambda c: len(c["members"]) > 25)
        for u in self.T["users"][:12]:
            chats, _, _ = s.all_pages("/users/%s/chats?$expand=members&$top=3" % u["id"])
            self.assertEqual({c["id"] for c in chats}, member_of[u["id"]])
            self.assertEqual(summary["per_user_chats"][u["id"]], len(chats))
            for c in chats:
                self.assertLessEqual(len(c["members"]), 25)            # the known issue (§3.1)
                for k in ("id", "topic", "createdDateTime", "lastUpdatedDateTime", "chatType", "webUrl",
                          "tenantId", "onlineMeetingInfo", "viewpoint"):
                    self.assertIn(k, c)
        uid = big["members"][0]["userId"]
        chats, _, _ = s.all_pages("/users/%s/chats?$expand=members&$top=50" % uid)
        got = [c for c in chats if c["id"] == big["id"]][0]
        self.assertEqual(len(got["members"]), 25)
        st, _, obj = s.graph("/chats/%s/members" % q(big["id"]))
        self.assertEqual(obj["value"], big["members"])
        st, _, obj = s.graph("/chats/%s/members" % big["id"])              # raw ':' and '@' accepted
        self.assertEqual(st, 200)
        kinds = {c["chatType"] for c in self.T["chats"]}
        self.assertEqual(kinds, {"oneOnOne", "group", "meeting"})
        for c in self.T["chats"]:
            if c["chatType"] == "oneOnOne":
                self.assertRegex(c["id"], r"^19:[0-9a-f-]{36}_[0-9a-f-]{36}@unq\.gbl\.spaces$")
            elif c["chatType"] == "meeting":
                self.assertRegex(c["id"], r"^19:meeting_[A-Za-z0-9]+@thread\.v2$")
            else:
                self.assertRegex(c["id"], r"^19:[0-9a-f]{32}@thread\.v2$")

    # ----------------------------------------------------------- messages
    def test_06_messages_top_and_order(self):
        s = self.sim
        chat = max(self.T["chats"], key=lambda c: len(c["messages"]))
        path = "/chats/%s/messages" % q(chat["id"])
        for bad in ("51", "0"):
            self.assertGraphError(*s.graph(path + "?$top=" + bad)[::2], 400, "BadRequest")
        st, _, obj = s.graph(path)
        self.assertEqual(len(obj["value"]), min(20, len(chat["messages"])))
        msgs, _, _ = s.all_pages(path + "?$top=50")
        lm = [m["lastModifiedDateTime"] for m in msgs]
        self.assertEqual(lm, sorted(lm, reverse=True))
        msgs, _, _ = s.all_pages(path + "?$top=50&$orderby=createdDateTime desc".replace(" ", "%20"))
        self.assertEqual([m["id"] for m in msgs], [m["id"] for m in reversed(chat["messages"])])
        self.assertEqual(s.graph(path + "?$orderby=createdDateTime%20asc")[0], 400)
        # chat_switches counts pages served for another chat than the one before
        other = "/chats/%s/messages" % q(next(c for c in self.T["chats"] if c["id"] != chat["id"])["id"])
        s.control("POST", "stats/reset")
        for p in (path, path, other, path):
            s.graph(p)
        self.assertEqual(s.control("GET", "stats")["chat_switches"], 3)

    def test_07_filter_orderby_rule(self):
        s = self.sim
        chat = max(self.T["chats"], key=lambda c: len(c["messages"]))
        ms = chat["messages"]
        x = sorted(m["lastModifiedDateTime"] for m in ms)[len(ms) // 2]
        y = sorted(m["createdDateTime"] for m in ms)[len(ms) // 3]
        path = "/chats/%s/messages?$top=50&" % q(chat["id"])

        def ids(query):
            got, _, _ = s.all_pages(path + query.replace(" ", "%20"))
            return sorted(m["id"] for m in got)

        everything = sorted(m["id"] for m in ms)
        self.assertEqual(ids("$orderby=lastModifiedDateTime desc&$filter=lastModifiedDateTime gt " + x),
                         sorted(m["id"] for m in ms if m["lastModifiedDateTime"] > x))
        self.assertEqual(ids("$orderby=lastModifiedDateTime desc&$filter=lastModifiedDateTime lt " + x),
                         sorted(m["id"] for m in ms if m["lastModifiedDateTime"] < x))
        # The documented rule: $filter is ignored unless $orderby names the same property.
        self.assertEqual(ids("$filter=lastModifiedDateTime gt " + x), everything)
        self.assertEqual(ids("$orderby=createdDateTime desc&$filter=lastModifiedDateTime gt " + x), everything)
        self.assertEqual(ids("$orderby=createdDateTime desc&$filter=createdDateTime lt " + y),
                         sorted(m["id"] for m in ms if m["createdDateTime"] < y))
        self.assertEqual(ids("$orderby=lastModifiedDateTime desc&$filter=createdDateTime lt " + y), everything)
        self.assertEqual(s.graph(path + "$orderby=createdDateTime%20desc&$filter=createdDateTime%20gt%20" + y)[0], 400)

    def test_08_prefer_unknown_enum(self):
        s = self.sim
        chat = self.chat_with(lambda c: any(m["messageType"] == "systemEventMessage" for m in c["messages"]))
        path = "/chats/%s/messages?$top=50" % q(chat["id"])
        plain, _, _ = s.all_pages(path, prefer=False)
        pref, _, _ = s.all_pages(path, prefer=True)
        self.assertIn("unknownFutureValue", {m["messageType"] for m in plain})
        self.assertNotIn("systemEventMessage", {m["messageType"] for m in plain})
        self.assertIn("systemEventMessage", {m["messageType"] for m in pref})
        for m in pref:
            if m["messageType"] == "systemEventMessage":
                self.assertIsNone(m["from"])
                self.assertIn("@odata.type", m["eventDetail"])

    def test_09_truth_matches_paging(self):
        s = self.sim
        with open(s.truth_file, encoding="utf-8") as f:
            self.assertEqual(json.load(f)["chats"], self.T["chats"])      # --truth-file == /_sim/truth
        for chat in self.T["chats"]:
            got, _, _ = s.all_pages("/chats/%s/messages?$top=50" % q(chat["id"]))
            got.sort(key=lambda m: m["createdDateTime"])
            self.assertEqual(got, chat["messages"], chat["id"])
            one = s.graph("/chats/%s/messages/%s" % (q(chat["id"]), chat["messages"][0]["id"]),
                          prefer=True)[2] if chat["messages"] else None
            if one:
                one.pop("@odata.context")
                self.assertEqual(one, chat["messages"][0])
        self.assertEqual(s.truth(self.T["chats"][3]["id"])["chats"], [self.T["chats"][3]])
        # Hosted contents: bytes and hashes agree with the truth.
        hosted = list(self.T["hosted"].items())
        self.assertTrue(hosted)
        for key, want in hosted[:8]:
            cid, mid, hc = key.split("/")
            st, r, data = s.graph("/chats/%s/messages/%s/hostedContents/%s/$value" % (q(cid), mid, hc))
            self.assertEqual(st, 200)
            self.assertEqual(r.getheader("Content-Type"), "image/png")
            self.assertTrue(data.startswith(b"\x89PNG\r\n\x1a\n"))
            self.assertEqual(hashlib.sha256(data).hexdigest(), want["sha256"])
            lst = s.graph("/chats/%s/messages/%s/hostedContents" % (q(cid), mid))[2]
            self.assertIn(hc, [v["id"] for v in lst["value"]])
            self.assertIsNone(lst["value"][0]["contentBytes"])
        # Shared files: status and bytes agree with the truth.
        statuses = set()
        for url, want in self.T["files"].items():
            share = "u!" + b64url(url)
            st, _, data = s.graph("/shares/%s/driveItem/content" % share)
            statuses.add(st)
            self.assertEqual(st, want["status"], url)
            if st == 200:
                self.assertEqual(hashlib.sha256(data).hexdigest(), want["sha256"])
                self.assertEqual(len(data), want["size"])
            elif st == 404:
                self.assertEqual(data["error"]["code"], "itemNotFound")
            else:
                self.assertEqual(data["error"]["code"], "accessDenied")
        self.assertIn(200, statuses)
        self.assertTrue(statuses & {403, 404}, "no missing/forbidden files generated")

    def test_10_hard_cases_present(self):
        T = self.T
        msgs = [m for c in T["chats"] for m in c["messages"]]
        hostile_chat = self.chat_with(lambda c: c["topic"] == "Hostile content")
        hblob = "\n".join(strings(hostile_chat))
        for needle in ("\x1b[31m", "\x1b]0;pwned\x07", "\x1b]52;", "\u009b", "\u202e", "\x07", "\x08",
                       "=HYPERLINK(", "+cmd|' /C calc'!A0", "@SUM(1)", "-2+3", "<script>alert(1)</script>",
                       "<img src=x onerror=alert(1)>", "javascript:alert(1)", "../../etc/passwd",
                       "..\\..\\boot.ini", "CON", "multi\nline"):
            self.assertTrue(needle in hblob, "hostile chat lacks %r" % needle)
        names = {m["displayName"] for c in T["chats"] for m in c["members"]}
        self.assertIn("王 伟", names)
        self.assertTrue(any("\x1b" in n or "\u202e" in n for n in names))
        topics = {c["topic"] for c in T["chats"]}
        self.assertTrue(any(t and "../" in t for t in topics), topics)
        files = {a["name"] for c in T["chats"] for m in c["messages"] for a in m["attachments"]}
        self.assertTrue({"../../etc/passwd", "..\\..\\boot.ini", "CON"} <= files)
        self.assertTrue(any(m["lastEditedDateTime"] and m["lastModifiedDateTime"] > m["createdDateTime"]
                            and m["etag"] != m["id"] for m in msgs))
        deleted = [m for m in msgs if m["deletedDateTime"]]
        self.assertTrue(deleted)
        self.assertTrue(all(m["body"]["content"] == "" for m in deleted))
        self.assertTrue(any(m["from"] and m["from"]["application"] and m["from"]["user"] is None for m in msgs))
        self.assertTrue(any(m["mentions"] and '<at id="0">' in m["body"]["content"] for m in msgs))
        self.assertTrue(any(m["reactions"] and m["messageHistory"] for m in msgs))
        self.assertTrue(any(len(m["body"]["content"].encode()) >= 27 * 1024 for m in msgs))
        events = {m["eventDetail"]["@odata.type"] for m in msgs if m["eventDetail"]}
        for e in ("membersAdded", "chatRenamed", "callEnded"):
            self.assertIn("#microsoft.graph.%sEventMessageDetail" % e, events)
        self.assertTrue(any(a["contentType"] == "reference" and "Microsoft%20Teams%20Chat%20Files" in a["contentUrl"]
                            for m in msgs for a in m["attachments"]))
        keys = ["id", "replyToId", "etag", "messageType", "createdDateTime", "lastModifiedDateTime",
                "lastEditedDateTime", "deletedDateTime", "subject", "summary", "chatId", "importance",
                "locale", "webUrl", "channelIdentity", "policyViolation", "eventDetail", "from", "body",
                "attachments", "mentions", "reactions", "messageHistory"]
        for m in msgs:
            self.assertEqual(sorted(m), sorted(keys))
            self.assertRegex(m["createdDateTime"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        old = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 250 * 86400))
        self.assertTrue(any(m["createdDateTime"] < old for m in msgs))        # older than 8 months

    # -------------------------------------------------- getAllMessages, delta
    def test_11_get_all_messages(self):
        s = self.sim
        u = self.T["users"][1]
        mine = {(m["chatId"], m["id"]): m for c in self.T["chats"] if c["access"] == 200
                for m in c["messages"] if u["id"] in [x["userId"] for x in c["members"]]}
        got, _, _ = s.all_pages("/users/%s/chats/getAllMessages?$top=50" % u["id"])
        self.assertEqual({(m["chatId"], m["id"]): m for m in got}, mine)
        self.assertEqual(len(got), len(mine))
        lo, hi = "2000-01-01T00:00:00Z", sorted(m["lastModifiedDateTime"] for m in mine.values())[len(mine) // 2]
        got, _, _ = s.all_pages("/users/%s/chats/getAllMessages?$top=50&$filter=lastModifiedDateTime%%20gt%%20%s"
                                "%%20and%%20lastModifiedDateTime%%20lt%%20%s" % (u["id"], lo, hi))
        self.assertEqual(sorted(m["id"] for m in got),
                         sorted(m["id"] for m in mine.values() if m["lastModifiedDateTime"] < hi))
        self.assertEqual(s.graph("/users/%s/chats/getAllMessages?$top=51" % u["id"])[0], 400)
        s.control("POST", "config", {"payment_required": True})
        st, _, obj = s.graph("/users/%s/chats/getAllMessages" % u["id"])
        s.control("POST", "config", {"payment_required": False})
        self.assertEqual(st, 402)
        self.assertEqual(obj["error"]["code"], "PaymentRequired")
        self.assertIn("Evaluation capacity for the month has exceeded", obj["error"]["message"])

    def test_12_delta_and_mutate(self):
        s = self.sim
        u = self.T["users"][2]
        base = "/users/%s/chats/getAllMessages/delta" % u["id"]
        window = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() - 240 * 86400 + 120))
        first, last, _ = s.all_pages(base + "?$top=50")
        mine = {(m["chatId"], m["id"]): m for c in self.T["chats"] if c["access"] == 200
                for m in c["messages"] if u["id"] in [x["userId"] for x in c["members"]]}
        recent = {k for k, m in mine.items() if m["lastModifiedDateTime"] > window}
        got = {(m["chatId"], m["id"]) for m in first}
        self.assertTrue(recent <= got and got <= set(mine), "delta window is not 8 months")
        self.assertLess(len(got), len(mine))
        delta = last["@odata.deltaLink"]
        self.assertIn("$deltatoken=", delta)
        again, last2, _ = s.all_pages(delta)
        self.assertEqual(again, [])
        res = s.control("POST", "mutate", {"edit": 0.1, "delete": 0.05, "new": 40, "react": 0.1, "seed": 3})
        self.assertGreater(res["edited"], 0)
        self.assertGreater(res["deleted"], 0)
        T2 = s.truth()
        now = {(m["chatId"], m["id"]): m for c in T2["chats"] if c["access"] == 200
               for m in c["messages"] if u["id"] in [x["userId"] for x in c["members"]]}
        changed = {k for k, m in now.items() if k not in mine or m != mine[k]}
        self.assertTrue(changed)
        got, last3, _ = s.all_pages(last2["@odata.deltaLink"])
        self.assertEqual({(m["chatId"], m["id"]) for m in got}, changed)
        for m in got:
            self.assertEqual(m, now[(m["chatId"], m["id"])])
            if m["deletedDateTime"]:
                self.assertEqual(m["body"]["content"], "")
        for c in T2["chats"]:
            for mid, versions in c["versions"].items():
                cur = [m for m in c["messages"] if m["id"] == mid][0]
                self.assertEqual(versions[-1]["id"], mid)
                self.assertNotEqual(versions[-1], cur)
                self.assertGreater(cur["lastModifiedDateTime"], versions[-1]["lastModifiedDateTime"])
        edited = [m for m in got if m["lastEditedDateTime"] and m["etag"] != m["id"]]
        self.assertTrue(edited)
        self.assertEqual(s.all_pages(last3["@odata.deltaLink"])[0], [])
        # getAllMessages and truth agree after the changes too.
        allm, _, _ = s.all_pages("/users/%s/chats/getAllMessages?$top=50" % u["id"])
        self.assertEqual({(m["chatId"], m["id"]): m for m in allm}, now)
        type(self).T = T2

    # ------------------------------------------------------ throttling, faults
    def test_13_throttling(self):
        s = self.sim
        chat = max(self.T["chats"], key=lambda c: len(c["messages"]))
        path = "/chats/%s/messages?$top=1" % q(chat["id"])
        s.token("full")
        s.control("POST", "config", {"throttle": "doc", "retry_after": "frac"})
        s.control("POST", "stats/reset")
        try:
            codes, after = [], []
            for _ in range(8):                          # far faster than 1 rps on one chat
                st, r, obj = s.graph(path)
                codes.append(st)
                if st == 429:
                    after.append(r.getheader("Retry-After"))
                    self.assertEqual(obj["error"]["code"], "TooManyRequests")
                    self.assertEqual(obj["error"]["innerError"]["status"], "429")
            self.assertEqual(codes[0], 200)
            self.assertIn(429, codes)
            wait = float(after[-1])
            self.assertTrue(0 < wait <= 1.0, after)
            time.sleep(wait + 0.02)
            self.assertEqual(s.graph(path)[0], 200)     # obeying Retry-After works
            self.assertGreaterEqual(s.control("GET", "stats")["throttled"], codes.count(429))
            # Other chats are not held back by one chat's bucket (only by the 20 rps tenant one).
            other = [c for c in self.T["chats"] if c["id"] != chat["id"]][:3]
            for c in other:
                self.assertEqual(s.graph("/chats/%s/messages?$top=1" % q(c["id"]))[0], 200)
            s.control("POST", "config", {"retry_after": "int", "throttle": "strict"})
            s.graph(path)
            st, r, _ = s.graph(path)
            self.assertEqual(st, 429)
            self.assertRegex(r.getheader("Retry-After"), r"^[1-9][0-9]*$")
            s.control("POST", "config", {"retry_after": "none"})
            st, r, _ = s.graph(path)
            self.assertEqual(st, 429)
            self.assertIsNone(r.getheader("Retry-After"))
        finally:
            s.control("POST", "config", {"throttle": "off", "retry_after": "frac"})

    def test_13_throttler_buckets(self):
        from throttle import Throttler
        clock = [100.0]
        th = Throttler("strict", clock=lambda: clock[0])
        k = [(("all", "app"), 200.0)]
        self.assertEqual(th.check(k), 0.0)
        self.assertAlmostEqual(th.check(k), 0.005)              # strict: one request per 5 ms
        clock[0] += 0.004
        self.assertAlmostEqual(th.check(k), 0.001)
        clock[0] += 0.001
        self.assertEqual(th.check(k), 0.0)
        # Judged by arrival: a request that arrived before the last one
        # admitted, but is judged after it, waits its turn; the bucket is
        # not wound back, so the next one on time still goes.
        self.assertAlmostEqual(th.check(k, now=clock[0] - 0.002), 0.007)
        self.assertEqual(th.check(k, now=clock[0] + 0.005), 0.0)
        # Every bucket named must admit, and a refusal takes from none.
        pair = [(("msgs", "app"), 20.0), (("msgs", "app", "c1"), 1.0)]
        self.assertEqual(th.check(pair, now=200.0), 0.0)
        self.assertAlmostEqual(th.check(pair, now=200.5), 0.5)  # the chat's 1 rps
        self.assertEqual(th.check([(("msgs", "app", "c2"), 1.0), pair[0]], now=200.5), 0.0)
        # "doc": a burst of one second's rate, then the rate.
        th = Throttler("doc", clock=lambda: 0.0)
        k = [(("chats", "app", "u1"), 5.0)]
        self.assertEqual([th.check(k, now=10.0) for _ in range(6)], [0.0] * 5 + [th.check(k, now=10.0)])
        self.assertAlmostEqual(th.check(k, now=10.0), 0.2)
        self.assertEqual(th.check(k, now=10.2), 0.0)

    def test_13_throttling_by_arrival(self):
        """A request is judged by when its first bytes arrived, not by when the
        simulator got round to it."""
        s = self.sim
        chat = self.T["chats"][1]
        req = ("GET /graph/v1.0/chats/%s/messages?$top=1 HTTP/1.1\r\nHost: graphsim\r\n"
               "Authorization: Bearer %s\r\n\r\n" % (q(chat["id"]), s.token("full"))).encode()

        def status(sock):
            r = http.client.HTTPResponse(sock)
            r.begin()
            r.read()
            return r.status
        s.control("POST", "config", {"throttle": "strict", "retry_after": "frac"})
        socks = [socket.create_connection(("127.0.0.1", s.port), timeout=30) for _ in range(3)]
        try:
            slow, fast, eager = socks
            slow.sendall(req[:12])            # arrives now, is complete 0.7 s later
            time.sleep(0.7)
            slow.sendall(req[12:])
            first = status(slow)
            time.sleep(0.45)                  # over 1 s after the first arrived
            fast.sendall(req)
            second = status(fast)
            eager.sendall(req)                # at once: the chat's 1 rps still holds
            third = status(eager)
            self.assertEqual((first, second, third), (200, 200, 429))
        finally:
            for sock in socks:
                sock.close()
            s.control("POST", "config", {"throttle": "off"})

    def test_14_faults(self):
        s = self.sim
        s.token("full")
        s.control("POST", "config", {"fault_rate": 1.0})
        seen = []
        try:
            for _ in range(6):
                t0 = time.time()
                try:
                    st, r, obj = s.graph("/users?$top=50", fresh=True)
                    seen.append((st, round(time.time() - t0)))
                except http.client.IncompleteRead:
                    seen.append(("truncated", 0))
                except (ConnectionError, http.client.RemoteDisconnected) as e:
                    seen.append(("reset", type(e).__name__))
        finally:
            s.control("POST", "config", {"fault_rate": 0})
        kinds = [x[0] for x in seen]
        self.assertEqual(kinds[:3], [503, 504, 500], seen)
        self.assertEqual(kinds[3], "reset", seen)
        self.assertEqual(kinds[4], "truncated", seen)
        self.assertEqual(seen[5], (200, 2), seen)
        self.assertEqual(s.control("GET", "stats")["faults"], 6)

    def test_15_forbid_and_remove(self):
        s = self.sim
        chat = self.chat_with(lambda c: c["messages"] and c["chatType"] == "group")
        s.control("POST", "chat/forbid", {"id": chat["id"], "status": 403})
        self.assertEqual(s.graph("/chats/%s/messages" % q(chat["id"]))[0], 403)
        s.control("POST", "chat/forbid", {"id": chat["id"], "status": 404})
        self.assertEqual(s.graph("/chats/%s/messages" % q(chat["id"]))[0], 404)
        self.assertEqual(s.truth(chat["id"])["chats"][0]["access"], 404)
        s.control("POST", "chat/forbid", {"id": chat["id"], "status": 200})
        self.assertEqual(s.graph("/chats/%s/messages" % q(chat["id"]))[0], 200)
        victim = self.T["users"][-1]["id"]
        s.control("POST", "user/remove", {"id": victim})
        users, _, _ = s.all_pages("/users?$top=999")
        self.assertNotIn(victim, [u["id"] for u in users])
        self.assertEqual(s.graph("/users/%s/chats" % victim)[0], 404)

    def test_16_device_code(self):
        s = self.sim
        app = s.info["apps"]["delegated"]
        tenant = s.info["tenant_id"]
        st, _, dc = s.request("POST", "/login/%s/oauth2/v2.0/devicecode" % tenant,
                              urllib.parse.urlencode({"client_id": app["client_id"],
                                                      "scope": "Chat.Read User.Read offline_access"}),
                              {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(st, 200, dc)
        poll = {"grant_type": "urn:ietf:params:oauth:grant-type:device_code", "client_id": app["client_id"],
                "device_code": dc["device_code"]}
        self.assertAad(*s.token_request(poll)[::2], 400, "authorization_pending", 70016)
        user = self.T["users"][0]
        s.control("POST", "device/approve", {"user_code": dc["user_code"], "user": user["userPrincipalName"]})
        st, _, tok = s.token_request(poll)
        self.assertEqual(st, 200, tok)
        self.assertIn("refresh_token", tok)
        st, _, me = s.graph("/me/chats?$top=50", token=tok["access_token"])
        self.assertEqual(st, 200, me)
        st, _, obj = s.graph("/users/%s/chats/getAllMessages" % user["id"], token=tok["access_token"])
        self.assertEqual(st, 412, obj)
        st, _, obj = s.graph("/users/%s/chats" % self.T["users"][1]["id"], token=tok["access_token"])
        self.assertEqual(st, 403, obj)
        st, _, tok2 = s.token_request({"grant_type": "refresh_token", "client_id": app["client_id"],
                                       "refresh_token": tok["refresh_token"]})
        self.assertEqual(st, 200, tok2)

    def test_17_deterministic(self):
        """Same seed and sizes -> same tenant (compared in-process on one chat)."""
        from tenant import Tenant
        with open(os.path.join(HERE, "..", "..", "data", "demo-tenant.json"), encoding="utf-8") as f:
            look = json.load(f)
        a = Tenant(look, seed=5, users=30, chats_per_user=3, messages_per_chat=20, epoch_ms=1700000000000)
        b = Tenant(look, seed=5, users=30, chats_per_user=3, messages_per_chat=20, epoch_ms=1700000000000)
        c = Tenant(look, seed=6, users=30, chats_per_user=3, messages_per_chat=20, epoch_ms=1700000000000)
        ha, hb, fa, fb = {}, {}, {}, {}
        self.assertEqual(a.truth_chat(a.chats[5], ha, fa), b.truth_chat(b.chats[5], hb, fb))
        self.assertNotEqual(a.tenant_id, c.tenant_id)

    def test_18_media_share(self):
        """--media 0 turns generated image and file messages into text; 1 keeps them."""
        from tenant import Tenant
        with open(os.path.join(HERE, "..", "..", "data", "demo-tenant.json"), encoding="utf-8") as f:
            look = json.load(f)

        def media(share):
            t = Tenant(look, seed=5, users=30, chats_per_user=3, messages_per_chat=60, epoch_ms=1700000000000,
                       media=share)
            hosted, files = {}, {}
            # (the curated chat's hand-written messages stay as they are)
            n = sum(len(t.truth_chat(c, hosted, files)["messages"]) for c in t.chats if not c.curated)
            return n, len(hosted) + len(files)
        full, none = media(1.0), media(0.0)
        self.assertEqual(full[0], none[0])
        self.assertGreater(full[1], 20)
        self.assertEqual(none[1], 0)


class TapResult(unittest.TestResult):
    """Print TAP (for automake's tap-driver) while collecting results."""

    def __init__(self, total):
        super().__init__()
        self.n = 0
        print("1..%d" % total, flush=True)

    def _line(self, ok, test, extra=""):
        self.n += 1
        print("%s %d - %s%s" % ("ok" if ok else "not ok", self.n, test.id().split(".")[-1], extra), flush=True)

    def addSuccess(self, test):
        super().addSuccess(test)
        self._line(True, test)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._line(False, test)
        for line in self._exc_info_to_string(err, test).splitlines():
            print("# " + line)

    def addError(self, test, err):
        super().addError(test, err)
        self._line(False, test)
        for line in self._exc_info_to_string(err, test).splitlines():
            print("# " + line)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._line(True, test, " # SKIP " + reason)


def main():
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(GraphSimTest)
    if len(sys.argv) > 1:
        suite = unittest.TestSuite(t for t in suite if any(a in t.id() for a in sys.argv[1:]))
    result = TapResult(suite.countTestCases())
    t0 = time.time()
    suite.run(result)
    for test, err in result.errors:              # errors in setUpClass are reported here
        if not isinstance(test, GraphSimTest):
            print("# " + err.replace("\n", "\n# "))
    print("# %d tests, %d failures, %d errors, %.1f s" % (
        result.testsRun, len(result.failures), len(result.errors), time.time() - t0))
    return 0 if result.wasSuccessful() and result.testsRun else 1


if __name__ == "__main__":
    sys.exit(main())

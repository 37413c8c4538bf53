"""The Microsoft identity platform side: registered apps, the v2 token endpoint
(client secret, certificate assertion, device code, refresh token) and the
opaque access tokens Graph accepts.

Graph facts modelled (graph-facts.md §1): request fields, the success body, the
error body (error, error_description "AADSTSnnnn: ...", error_codes, timestamp,
trace_id, correlation_id, error_uri) and the AADSTS codes of §1.2-1.4.
"""

import hashlib
import json
import secrets
import threading
import time
import uuid

from util import b64url, b64url_decode, fmt_aad, fmt_ms, guid, hbytes, now_ms

try:                                   # Debian's python3-cryptography
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding
except ImportError:                    # only certificate assertions need it
    x509 = None

FULL = ["User.Read.All", "Chat.Read.All", "Chat.ReadBasic.All", "ChannelMessage.Read.All",
        "Group.Read.All", "Files.Read.All"]
DELEGATED = ["User.Read", "User.ReadBasic.All", "Chat.Read", "Chat.ReadBasic", "Files.Read.All",
             "offline_access", "openid", "profile"]
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
SECRET_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-~"


class App:
    def __init__(self, name, client_id, secret=None, expired=False, permissions=(),
                 public=False, delegated=()):
        self.name = name
        self.client_id = client_id
        self.secret = secret
        self.expired = expired
        self.permissions = list(permissions)
        self.public = public
        self.delegated = list(delegated)
        self.cert = None               # x509 certificate (app "cert")
        self.cert_path = None

    def info(self):
        d = {"client_id": self.client_id, "permissions": self.permissions}
        if self.secret:
            d["secret"] = self.secret
        if self.expired:
            d["secret_expired"] = True
        if self.public:
            d["public_client"] = True
            d["delegated_permissions"] = self.delegated
        if self.name == "cert":
            d["certificate"] = self.cert_path
            if self.cert is not None:
                der = self.cert.public_bytes(serialization.Encoding.DER)
                d["x5t"] = b64url(hashlib.sha1(der).digest())
                d["x5t#S256"] = b64url(hashlib.sha256(der).digest())
        return d


class Token:
    __slots__ = ("app", "exp", "gen", "user", "perms", "delegated")

    def __init__(self, app, exp, gen, user=None, perms=None):
        self.app = app
        self.exp = exp
        self.gen = gen
        self.user = user
        self.delegated = user is not None
        self.perms = list(perms if perms is not None else app.permissions)


class AadError(Exception):
    def __init__(self, status, error, code, desc):
        super().__init__(desc)
        self.status, self.error, self.code, self.desc = status, error, code, desc

    def body(self):
        trace, corr, t = str(uuid.uuid4()), str(uuid.uuid4()), now_ms()
        return {"error": self.error,
                "error_description": "AADSTS%d: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\n"
                                     "Timestamp: %s" % (self.code, self.desc, trace, corr,
                                                        fmt_ms(t).replace("T", " ")),
                "error_codes": [self.code], "timestamp": fmt_aad(t), "trace_id": trace,
                "correlation_id": corr,
                "error_uri": "https://login.microsoftonline.com/error?code=%d" % self.code}


class Identity:
    def __init__(self, tenant, seed, cert_path=None):
        self.tenant = tenant
        self.lock = threading.Lock()
        self.login_url = "http://127.0.0.1:0/login"
        self.token_lifetime = 3599
        self.device_interval = 5
        self.device_auto_approve = None
        self.gen = 0                   # bumped by /_sim/revoke
        self.tokens = {}
        self.refresh = {}
        self.jtis = {}
        self.devices = {}              # device_code -> dict
        self.issued = 0

        def secret(name):
            h = hbytes(seed, "secret", name, size=40)
            s = "".join(SECRET_ALPHABET[b % len(SECRET_ALPHABET)] for b in h)
            return s[:3] + "8Q~" + s[6:]

        def app(name, **kw):
            return App(name, guid(seed, "app", name), **kw)

        self.apps = {
            "full": app("full", secret=secret("full"), permissions=FULL),
            "nochat": app("nochat", secret=secret("nochat"),
                          permissions=["User.Read.All", "Chat.ReadBasic.All"]),
            "nouser": app("nouser", secret=secret("nouser"),
                          permissions=["Chat.Read.All", "Chat.ReadBasic.All", "Files.Read.All"]),
            "expired": app("expired", secret=secret("expired"), expired=True, permissions=FULL),
            "cert": app("cert", permissions=FULL),
            "delegated": app("delegated", public=True, permissions=[], delegated=DELEGATED),
        }
        self.by_client = {a.client_id.lower(): a for a in self.apps.values()}
        if cert_path:
            if x509 is None:
                raise SystemExit("graphsim: --app-cert needs python3-cryptography")
            with open(cert_path, "rb") as f:
                self.apps["cert"].cert = x509.load_pem_x509_certificate(f.read())
            self.apps["cert"].cert_path = cert_path

    # ------------------------------------------------------------ helpers
    def _tenant_ok(self, seg):
        return seg.lower() in (self.tenant.tenant_id.lower(), self.tenant.domain.lower())

    def _issue(self, app, user=None, perms=None):
        tok = "eyJ0eXAiOiJKV1QiLCJncmFwaHNpbSI6MX0." + secrets.token_urlsafe(48)
        life = int(self.token_lifetime)
        with self.lock:
            if len(self.tokens) > 20000:
                t = time.time()
                self.tokens = {k: v for k, v in self.tokens.items() if v.exp > t}
            self.tokens[tok] = Token(app, time.time() + life, self.gen, user, perms)
            self.issued += 1
        return {"token_type": "Bearer", "expires_in": life, "ext_expires_in": life,
                "access_token": tok}

    def revoke(self):
        with self.lock:
            self.gen += 1

    def check_bearer(self, header):
        """(Token, None) or (None, message) for Graph's 401 InvalidAuthenticationToken."""
        if not header:
            return None, "Access token is empty."
        scheme, _, value = header.strip().partition(" ")
        value = value.strip()
        if scheme.lower() != "bearer" or not value:
            return None, "Access token is empty."
        tok = self.tokens.get(value)
        if tok is None:
            return None, "IDX14100: JWT is not well formed, there are no dots (.)."
        if tok.exp <= time.time() or tok.gen != self.gen:
            return None, "Access token has expired or is not yet valid."
        return tok, None

    # ------------------------------------------------------- token endpoint
    def token(self, tenant_seg, form, basic=None):
        """POST /{tenant}/oauth2/v2.0/token -> (status, body). §1.1-1.4."""
        try:
            return 200, self._token(tenant_seg, form, basic)
        except AadError as e:
            return e.status, e.body()

    def _token(self, tenant_seg, form, basic):
        if not self._tenant_ok(tenant_seg):
            raise AadError(400, "invalid_request", 90002,
                           "Tenant '%s' not found. Check to make sure you have the correct tenant ID "
                           "and are signing into the correct cloud. Check with your subscription "
                           "administrator, this may happen if there are no active subscriptions for "
                           "the tenant." % tenant_seg)
        grant = form.get("grant_type")
        if not grant:
            raise AadError(400, "invalid_request", 900144,
                           "The request body must contain the following parameter: 'grant_type'.")
        if grant not in ("client_credentials", DEVICE_GRANT, "refresh_token"):
            raise AadError(400, "unsupported_grant_type", 70003,
                           "The app requested an unsupported grant type '%s'." % grant)
        client_id = form.get("client_id") or (basic[0] if basic else None)
        secret = form.get("client_secret") or (basic[1] if basic else None)
        if not client_id:
            raise AadError(400, "invalid_request", 900144,
                           "The request body must contain the following parameter: 'client_id'.")
        app = self.by_client.get(client_id.lower())
        if app is None:
            raise AadError(400, "unauthorized_client", 700016,
                           "Application with identifier '%s' was not found in the directory '%s'. "
                           "This can happen if the application has not been installed by the "
                           "administrator of the tenant or consented to by any user in the tenant. "
                           "You may have sent your authentication request to the wrong tenant."
                           % (client_id, self.tenant.look.get("company", self.tenant.domain)))
        if grant == DEVICE_GRANT:
            return self._device_poll(app, form)
        if grant == "refresh_token":
            return self._refresh(app, form)
        scope = form.get("scope", "")
        if not scope or not scope.strip().endswith("/.default") or " " in scope.strip():
            raise AadError(400, "invalid_scope", 70011,
                           "The provided value for the input parameter 'scope' is not valid. "
                           "The scope %s is not valid." % (scope or "''"))
        if form.get("client_assertion") or form.get("client_assertion_type"):
            self._check_assertion(app, tenant_seg, form)
        elif secret:
            if app.secret is None or not secrets.compare_digest(secret, app.secret):
                raise AadError(401, "invalid_client", 7000215,
                               "Invalid client secret provided. Ensure the secret being sent in the "
                               "request is the client secret value, not the client secret ID, for a "
                               "secret added to app '%s'." % app.client_id)
            if app.expired:
                raise AadError(401, "invalid_client", 7000222,
                               "The provided client secret keys for app '%s' are expired. Visit the "
                               "Azure portal to create new keys for your app: "
                               "https://aka.ms/NewClientSecret, or consider using certificate "
                               "credentials for added security: https://aka.ms/certCreds."
                               % app.client_id)
        else:
            raise AadError(400, "invalid_request", 7000218,
                           "The request body must contain the following parameter: "
                           "'client_assertion' or 'client_secret'.")
        return self._issue(app)

    def _check_assertion(self, app, tenant_seg, form):
        """Client assertion (§1.2): PS256 + x5t#S256 or RS256 + x5t, verified for real."""
        def fail(code, desc, error="invalid_client", status=401):
            raise AadError(status, error, code, desc)

        if form.get("client_assertion_type") != ASSERTION_TYPE:
            fail(50027 if form.get("client_assertion_type") else 900144,
                 "Invalid client_assertion_type; expected '%s'." % ASSERTION_TYPE
                 if form.get("client_assertion_type") else
                 "The request body must contain the following parameter: 'client_assertion_type'.",
                 error="invalid_request", status=400)
        jwt = form.get("client_assertion", "")
        parts = jwt.split(".")
        try:
            if len(parts) != 3:
                raise ValueError
            header = json.loads(b64url_decode(parts[0]))
            claims = json.loads(b64url_decode(parts[1]))
            sig = b64url_decode(parts[2])
            if not isinstance(header, dict) or not isinstance(claims, dict):
                raise ValueError
        except (ValueError, UnicodeDecodeError):
            fail(50027, "JWT token is invalid or malformed.", error="invalid_request", status=400)
        alg = header.get("alg")
        if alg not in ("PS256", "RS256"):
            fail(700027, "Client assertion failed signature validation. [Reason - '%s' is not a "
                 "supported signature algorithm.]" % alg)
        cert = app.cert
        thumb = header.get("x5t#S256") or header.get("x5t")
        if not thumb:
            fail(700027, "Client assertion failed signature validation. [Reason - The key was not "
                 "found: the header has neither 'x5t#S256' nor 'x5t'.]")
        der = cert.public_bytes(serialization.Encoding.DER) if cert is not None else None
        ok = der is not None and (
            header.get("x5t#S256") == b64url(hashlib.sha256(der).digest())
            or header.get("x5t") == b64url(hashlib.sha1(der).digest()))
        if not ok:
            fail(700027, "Client assertion failed signature validation. [Reason - The key was not "
                 "found., Thumbprint of key used by client: '%s'. Please visit the Azure Portal, "
                 "Graph Explorer or directly use MS Graph to see configured keys for app Id '%s'.]"
                 % (thumb, app.client_id))
        signed = (parts[0] + "." + parts[1]).encode()
        try:
            if alg == "PS256":
                cert.public_key().verify(sig, signed, padding.PSS(
                    mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO), hashes.SHA256())
            else:
                cert.public_key().verify(sig, signed, padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, ValueError, TypeError):
            fail(700027, "Client assertion failed signature validation. [Reason - The provided "
                 "signature value did not match the expected signature value., Thumbprint of key "
                 "used by client: '%s']" % thumb)
        aud = claims.get("aud")
        want = {("%s/%s/oauth2/v2.0/token" % (self.login_url, t)).lower()
                for t in (tenant_seg, self.tenant.tenant_id, self.tenant.domain)}
        if not isinstance(aud, str) or aud.lower() not in want:
            fail(50012, "Client assertion audience claim does not match Realm issuer. Audience "
                 "'%s'; expected '%s/%s/oauth2/v2.0/token'." % (aud, self.login_url, tenant_seg))
        if claims.get("iss") != app.client_id or claims.get("sub") != app.client_id:
            fail(700021, "Client assertion application identifier doesn't match 'client_id' "
                 "parameter. Review the documentation at "
                 "https://learn.microsoft.com/entra/identity-platform/certificate-credentials .")
        now = time.time()
        nbf, exp = claims.get("nbf"), claims.get("exp")
        if not isinstance(exp, (int, float)) or not isinstance(nbf, (int, float)) \
                or nbf > now + 300 or exp <= now or exp - nbf > 3600:
            fail(500133, "Assertion is not within its valid time range. Ensure that the access "
                 "token is not expired before using it for user assertion, or request a new token. "
                 "Current time: %s, assertion valid from %s, expiry time of assertion %s." % (
                     fmt_ms(int(now * 1000)), _ts(nbf), _ts(exp)))
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti:
            fail(50012, "The client assertion does not contain a 'jti' claim.")
        with self.lock:
            if jti in self.jtis:
                fail(50012, "The client assertion has already been used: 'jti' '%s' was seen "
                     "before (replay)." % jti)
            if len(self.jtis) > 50000:
                self.jtis = {k: v for k, v in self.jtis.items() if v > now}
            self.jtis[jti] = exp

    # ----------------------------------------------------------- device code
    def devicecode(self, tenant_seg, form):
        """POST /{tenant}/oauth2/v2.0/devicecode (§1.3)."""
        try:
            if not self._tenant_ok(tenant_seg) and tenant_seg.lower() not in ("organizations", "common"):
                raise AadError(400, "invalid_request", 90002, "Tenant '%s' not found." % tenant_seg)
            app = self.by_client.get((form.get("client_id") or "").lower())
            if app is None:
                raise AadError(400, "unauthorized_client", 700016,
                               "Application with identifier '%s' was not found in the directory "
                               "'%s'." % (form.get("client_id"), self.tenant.look.get("company")))
            scope = form.get("scope", "").split()
            if not scope:
                raise AadError(400, "invalid_request", 900144,
                               "The request body must contain the following parameter: 'scope'.")
        except AadError as e:
            return e.status, e.body()
        code = secrets.token_urlsafe(32)
        user_code = "".join(secrets.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(9))
        with self.lock:
            self.devices[code] = {"app": app, "scope": scope, "user_code": user_code,
                                  "expires": time.time() + 900, "state": "pending", "user": None}
        uri = "https://microsoft.com/devicelogin"
        return 200, {"user_code": user_code, "device_code": code, "verification_uri": uri,
                     "expires_in": 900, "interval": self.device_interval,
                     "message": "To sign in, use a web browser to open the page %s and enter the "
                                "code %s to authenticate." % (uri, user_code)}

    def device_decide(self, user_code, user=None, decline=False):
        """/_sim/device/approve: the user signs in (or declines) at the verification page."""
        with self.lock:
            for d in self.devices.values():
                if d["user_code"] == user_code and d["state"] == "pending":
                    d["state"] = "declined" if decline else "approved"
                    d["user"] = user
                    return True
        return False

    def _grant_scopes(self, app, requested):
        req = {s.lower() for s in requested}
        if any(s.endswith("/.default") for s in req):
            return list(app.delegated)
        return [p for p in app.delegated
                if p.lower() in req or ("https://graph.microsoft.com/" + p).lower() in req]

    def _delegated_tokens(self, app, user, scopes):
        body = self._issue(app, user=user, perms=scopes)
        body["scope"] = " ".join(s for s in scopes if s not in ("offline_access", "openid", "profile"))
        if "offline_access" in scopes:
            rt = "0.AR8A" + secrets.token_urlsafe(64)
            with self.lock:
                self.refresh[rt] = (app, user, scopes)
            body["refresh_token"] = rt
        if "openid" in scopes:
            t = int(time.time())
            claims = {"aud": app.client_id, "iss": "%s/%s/v2.0" % (self.login_url, self.tenant.tenant_id),
                      "iat": t, "nbf": t, "exp": t + int(self.token_lifetime), "oid": user.id,
                      "tid": self.tenant.tenant_id, "name": user.display,
                      "preferred_username": user.upn, "sub": user.id}
            body["id_token"] = "%s.%s.%s" % (b64url(json.dumps({"typ": "JWT", "alg": "RS256"})),
                                             b64url(json.dumps(claims)), b64url(secrets.token_bytes(64)))
        return body

    def _device_poll(self, app, form):
        code = form.get("device_code", "")
        with self.lock:
            d = self.devices.get(code)
        if d is None or d["app"] is not app:
            raise AadError(400, "bad_verification_code", 70018,
                           "Your request was not recognized: the device_code is invalid.")
        if time.time() > d["expires"]:
            raise AadError(400, "expired_token", 70019,
                           "Verification code expired. Please restart the sign-in.")
        if d["state"] == "pending" and self.device_auto_approve:
            u = self.tenant.find_user(self.device_auto_approve)
            if u is not None:
                d["state"], d["user"] = "approved", u
        if d["state"] == "pending":
            raise AadError(400, "authorization_pending", 70016,
                           "OAuth 2.0 device flow error. Authorization is pending. Continue polling.")
        if d["state"] == "declined":
            raise AadError(400, "authorization_declined", 70014,
                           "The user declined the sign-in request.")
        if d["state"] == "used":
            raise AadError(400, "invalid_grant", 90120,
                           "The request was already authorized or declined.")
        if not app.public:
            raise AadError(401, "invalid_client", 7000218,
                           "The request body must contain the following parameter: "
                           "'client_assertion' or 'client_secret'.")
        d["state"] = "used"
        return self._delegated_tokens(app, d["user"], self._grant_scopes(app, d["scope"]))

    def _refresh(self, app, form):
        with self.lock:
            rec = self.refresh.pop(form.get("refresh_token", ""), None)
        if rec is None or rec[0] is not app:
            raise AadError(400, "invalid_grant", 9002313,
                           "Invalid request. Request is malformed or invalid.")
        _, user, scopes = rec
        return self._delegated_tokens(app, user, scopes)


def _ts(v):
    return fmt_ms(int(v * 1000)) if isinstance(v, (int, float)) else repr(v)

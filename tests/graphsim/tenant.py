"""The generated tenant: users, chats, members and messages, deterministic from a seed.

Scale: a tenant of a million messages must start in seconds and stay well under
2 GB, so messages are never stored as objects. Each chat keeps only compact
per-message arrays (created time, last-modified time, a flag byte), built on
first use; the full chatMessage object of message i of chat c is derived on
demand from a hash of (seed, c, i) and cached in a bounded LRU. Changes made at
runtime (/_sim/mutate) are the only messages held as full objects.

Graph facts modelled (graph-facts.md):
  §2    user resource, default property set, department/accountEnabled
  §3.1  chat ids (19:{a}_{b}@unq.gbl.spaces, 19:{hex}@thread.v2,
        19:meeting_{base64}@thread.v2), members with visibleHistoryStartDateTime
  §3.2  chat resource
  §3.4  chatMessage: every property present, ids = epoch ms unique in a chat,
        etag, edits, deletions (body ""), reactions + messageHistory,
        systemEventMessage with eventDetail and from null, application senders
  §3.5  reference attachments linked from the body by <attachment id>
  §3.6  hosted images referenced by <img src=".../hostedContents/{id}/$value">
"""

import base64
import bisect
import collections
import copy
import hashlib
import html
import json
import random
import re
import threading
import time
import unicodedata
import urllib.parse
from array import array

import hostile
import media
from util import DAY_MS, b64url, fmt_ms, guid, hbytes, hint, now_ms

# Message kinds (decided per message from its hash).
TEXT, HTML, MENTION, INTL, IMAGE, FILE, SYSTEM, APP, LONG, HOSTILE, CURATED = range(11)
KIND_NAMES = ["text", "html", "mention", "international", "image", "file", "system",
              "application", "long", "hostile", "curated"]

# Flag bits kept per message in Chat.flags.
F_SYSTEM, F_DELETED, F_APP = 1, 2, 4

MIN_VISIBLE = "0001-01-01T00:00:00Z"   # what Graph returns for "all history visible"
HOSTED_RE = re.compile(r"/hostedContents/([^/\"]+)/\$value")
LONG_BYTES = 28 * 1024                  # "a few messages of ~28 KB"
BIG_FILE_NAME = "Site walkthrough (4K).mp4"


def _ascii(name, table):
    if name in table:
        return table[name]
    s = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]", "", s) or "user"


class User:
    __slots__ = ("idx", "id", "upn", "display", "given", "surname", "mail", "department",
                 "enabled", "job", "office", "phones", "mobile", "lang", "created_ms",
                 "removed", "chats")

    def ident(self, tenant_id, with_name=True):
        """teamworkUserIdentity (§3.4)."""
        return {"@odata.type": "#microsoft.graph.teamworkUserIdentity", "id": self.id,
                "displayName": self.display if with_name else None,
                "userIdentityType": "aadUser", "tenantId": tenant_id}


class Chat:
    __slots__ = ("idx", "id", "type", "topic", "created_ms", "updated_ms", "members",
                 "visible", "base_count", "curated", "app", "created", "modified", "flags",
                 "overrides", "versions", "changes", "last_seq", "forbid", "ver",
                 "_ord_ver", "_ord", "_ord_keys", "organizer", "unlisted")

    def __init__(self):
        self.created = None          # array('q') of createdDateTime ms, increasing
        self.modified = None         # array('q') of lastModifiedDateTime ms (current)
        self.flags = None            # bytearray of F_* bits (current)
        self.overrides = {}          # i -> current message dict, for runtime changes
        self.versions = {}           # i -> [earlier message dicts, oldest first]
        self.changes = []            # [(seq, i)] in seq order: the delta change log
        self.last_seq = {}           # i -> seq of its latest change
        self.forbid = 0              # 0, 403 or 404 (/_sim/chat/forbid)
        self.unlisted = False        # not in /users/{id}/chats yet (/_sim/chat/new)
        self.ver = 0                 # bumped on every change; invalidates sort caches
        self._ord_ver = -1
        self._ord = None
        self._ord_keys = None

    def count(self):
        return len(self.created)


class Tenant:
    def __init__(self, look, seed=1, users=20, chats_per_user=5, messages_per_chat=40,
                 history_days=400, big_files=False, epoch_ms=None, media=1.0):
        self.look = look
        self.media = media                  # share of image and file messages kept (1: all)
        self.seed = seed
        self.n_users = max(1, users)
        self.chats_per_user = max(1, chats_per_user)
        self.messages_per_chat = max(0, messages_per_chat)
        self.history_days = max(1, history_days)
        self.big_files = big_files
        if epoch_ms is None:                # midnight UTC today: stable within a day
            epoch_ms = (int(time.time()) // 86400) * 86400 * 1000
        self.anchor = epoch_ms
        self.hist_start = epoch_ms - self.history_days * DAY_MS
        self.hist_end = epoch_ms - 1000
        self.tenant_id = guid(seed, "tenant")
        self.domain = look["domain"]
        self.sp_host = look.get("sharepoint_host", "contoso-my.sharepoint.com")
        self.graph_url = "http://127.0.0.1:0/graph"
        self.lock = threading.RLock()
        self.seq = 0                        # global change sequence (delta tokens)
        self.last_change_ms = 0
        self._cache = collections.OrderedDict()   # (chat idx, i) -> base message dict
        self._cache_max = 40000
        self._file_info = {}                # contentUrl or hosted key -> (sha256, size)
        self._gen_users()
        self._gen_chats()
        self.chat_by_id = {c.id: c for c in self.chats}

    # ------------------------------------------------------------------ users
    def _gen_users(self):
        look, rng, n = self.look, random.Random(hint(self.seed, "users")), self.n_users
        table = look.get("ascii_names", {})
        depts = look["departments"]
        n_host = 0 if n < 4 else min(len(hostile.PEOPLE), max(1, n // 10))
        hostile_at = {n - 1 - 2 * k: hostile.PEOPLE[k] for k in range(n_host)}
        full = list(look.get("full_names", []))
        used, self.users = set(), []
        for idx in range(n):
            u = User()
            u.idx = idx
            u.id = guid(self.seed, "user", idx)
            if idx in hostile_at:
                p = hostile_at[idx]
                u.display, u.given, u.surname, nick = p["display"], p["given"], p["surname"], p["ascii"]
            elif idx % 6 == 2 and full:
                p = full.pop(0)
                u.display, u.given, u.surname, nick = p["display"], p["given"], p["surname"], p["ascii"]
            else:
                u.given, u.surname = rng.choice(look["first_names"]), rng.choice(look["last_names"])
                u.display = "%s %s" % (u.given, u.surname)
                nick = "%s.%s" % (_ascii(u.given, table), _ascii(u.surname, table))
            base, k = nick, 1
            while nick in used:
                k += 1
                nick = "%s%d" % (base, k)
            used.add(nick)
            u.upn = "%s@%s" % (nick, self.domain)
            u.mail = u.upn if rng.random() > 0.03 or idx == 0 else None
            u.department = rng.choice(depts) if rng.random() > 0.05 else None
            u.enabled = idx == 0 or rng.random() > 0.08
            titles = look.get("job_titles", {}).get(u.department or "", [])
            u.job = rng.choice(titles) if titles and rng.random() > 0.1 else None
            u.office = rng.choice(look.get("offices", [None]))
            u.phones = ["+1 425 555 %04d" % rng.randrange(10000)] if rng.random() < 0.6 else []
            u.mobile = "+1 206 555 %04d" % rng.randrange(10000) if rng.random() < 0.3 else None
            u.lang = rng.choice(["en-US", "en-US", "en-GB", "de-DE", "ja-JP", None])
            u.created_ms = self.hist_start - rng.randrange(1, 900) * DAY_MS
            u.removed = False
            u.chats = []
            self.users.append(u)
        self.user_by_id = {u.id: u for u in self.users}
        self.user_by_upn = {u.upn.lower(): u for u in self.users}
        self.hostile_users = sorted(hostile_at)

    def find_user(self, key):
        """A user by id or userPrincipalName (case-insensitive), None if absent or removed."""
        u = self.user_by_id.get(key) or self.user_by_id.get(key.lower()) \
            or self.user_by_upn.get(key.lower())
        return None if u is None or u.removed else u

    def user_obj(self, u, select=None):
        """user resource (§2). department/accountEnabled only when selected."""
        full = {
            "businessPhones": list(u.phones), "displayName": u.display, "givenName": u.given,
            "jobTitle": u.job, "mail": u.mail, "mobilePhone": u.mobile,
            "officeLocation": u.office, "preferredLanguage": u.lang, "surname": u.surname,
            "userPrincipalName": u.upn, "id": u.id,
        }
        if select is None:
            return full
        extra = {"department": u.department, "accountEnabled": u.enabled,
                 "userType": "Member", "createdDateTime": fmt_ms(u.created_ms)[:19] + "Z",
                 "companyName": self.look.get("company"), "mailNickname": u.upn.split("@")[0],
                 "usageLocation": self.look.get("usage_location")}
        out = {}
        for name in select:
            out[name] = full[name] if name in full else extra[name]
        return out

    USER_PROPS = ("businessPhones", "displayName", "givenName", "jobTitle", "mail",
                  "mobilePhone", "officeLocation", "preferredLanguage", "surname",
                  "userPrincipalName", "id", "department", "accountEnabled", "userType",
                  "createdDateTime", "companyName", "mailNickname", "usageLocation")

    # ------------------------------------------------------------------ chats
    def _gen_chats(self):
        look, rng, U = self.look, random.Random(hint(self.seed, "chats")), self.n_users
        users = self.users
        self.chats = []
        pairs = set()
        slots = [0] * U

        def add(ctype, members, topic, curated=False):
            c = Chat()
            c.idx = len(self.chats)
            c.type = ctype
            c.members = list(members)
            c.topic = topic
            c.curated = curated
            if ctype == "oneOnOne":
                a, b = sorted(users[m].id for m in members)
                c.id = "19:%s_%s@unq.gbl.spaces" % (a, b)
            elif ctype == "meeting":
                g = guid(self.seed, "meeting", c.idx)
                c.id = "19:meeting_%s@thread.v2" % base64.b64encode(g.encode()).decode()
            else:
                c.id = "19:%s@thread.v2" % hbytes(self.seed, "thread", c.idx, size=16).hex()
            span = self.hist_end - self.hist_start
            if curated:
                c.created_ms = self.hist_start + span // 50
            elif ctype == "meeting":
                c.created_ms = self.hist_start + int(rng.random() * span * 0.9)
            else:
                c.created_ms = self.hist_start + int(rng.random() * span * 0.6)
            c.created_ms -= c.created_ms % 1000 - rng.randrange(1000)
            c.updated_ms = c.created_ms + int(rng.random() * (self.hist_end - c.created_ms) * 0.3)
            base = self.messages_per_chat
            if curated:
                n = len(self._curated()) + base // 2
            elif base == 0 or rng.random() < 0.015:
                n = 0                                   # chats with no messages exist
            else:
                n = max(1, round(base * rng.uniform(0.25, 1.75)))
            c.base_count = n
            c.visible = {}
            if ctype != "oneOnOne":
                for m in c.members[1:]:
                    if rng.random() < 0.1:
                        c.visible[m] = c.created_ms + int(rng.random() * (self.hist_end - c.created_ms))
            c.organizer = c.members[0]
            c.app = rng.randrange(len(look.get("apps", [{}])))
            for m in c.members:
                slots[m] += 1
            self.chats.append(c)
            return c

        # Chat 0: the dedicated "Hostile content" group chat.
        others = [i for i in range(1, U) if i not in self.hostile_users]
        hmembers = [0] + self.hostile_users[:3] + others[:max(0, 4 - len(self.hostile_users[:3]))]
        add("group", dict.fromkeys(hmembers), "Hostile content", curated=True)

        target = U * self.chats_per_user
        if U >= 30:                     # group chats above the 25-member $expand limit
            for _ in range(max(1, round(target / 600))):
                add("group", rng.sample(range(U), min(U, rng.randint(30, 40))),
                    rng.choice(look["group_topics"]))
        topics = look["group_topics"]
        guard = 0
        while sum(slots) < target and guard < target * 4:
            guard += 1
            t = rng.random()
            if t < 0.5 and U >= 2:
                for _ in range(6):
                    a, b = rng.sample(range(U), 2)
                    key = (min(a, b), max(a, b))
                    if key not in pairs:
                        pairs.add(key)
                        add("oneOnOne", [a, b], None)
                        break
                continue
            if t < 0.85:
                size = min(U, 3 + int(rng.expovariate(1 / 2.5)), 12)
                r = rng.random()
                topic = (rng.choice(topics) if r < 0.7 else
                         rng.choice(hostile.TOPICS) if r < 0.75 else None)
                add("group", rng.sample(range(U), size), topic)
            else:
                size = min(U, 3 + rng.randrange(10))
                add("meeting", rng.sample(range(U), size), rng.choice(look["meeting_subjects"]))
        # A few group topics are hostile for sure (path traversal, newline, escapes).
        plain = [c for c in self.chats[1:] if c.type == "group" and len(c.members) <= 25]
        n_topics = min(3, max(1, len(plain) // 8))      # the demo tenant stays mostly pleasant
        for k, c in enumerate(plain[1::max(1, len(plain) // 4)][:n_topics]):
            c.topic = hostile.TOPICS[(0, 2, 3)[k]]
        # Every user is in at least one chat.
        for u in range(U):
            if slots[u] or U < 2:
                continue
            v = rng.choice([x for x in range(U) if x != u])
            key = (min(u, v), max(u, v))
            if key not in pairs:
                pairs.add(key)
                add("oneOnOne", [u, v], None)
            else:
                add("group", [u, v] + ([w for w in range(U) if w not in (u, v)][:1]), None)
        for c in self.chats:
            for m in c.members:
                users[m].chats.append(c.idx)

    def chat_obj(self, c):
        """chat resource (§3.2)."""
        q = urllib.parse.quote(c.id, safe="")
        omi = None
        if c.type == "meeting":
            org = self.users[c.organizer]
            omi = {"calendarEventId": None,
                   "joinWebUrl": "https://teams.microsoft.com/l/meetup-join/%s/0?context=%s" % (
                       q, urllib.parse.quote('{"Tid":"%s","Oid":"%s"}' % (self.tenant_id, org.id))),
                   "organizer": {"@odata.type": "#microsoft.graph.teamworkUserIdentity",
                                 "id": org.id, "displayName": None,
                                 "userIdentityType": "aadUser", "tenantId": self.tenant_id}}
        return {"id": c.id, "topic": c.topic, "createdDateTime": fmt_ms(c.created_ms),
                "lastUpdatedDateTime": fmt_ms(c.updated_ms), "chatType": c.type,
                "webUrl": "https://teams.microsoft.com/l/chat/%s/0?tenantId=%s" % (q, self.tenant_id),
                "tenantId": self.tenant_id, "onlineMeetingInfo": omi, "viewpoint": None}

    def member_obj(self, c, m):
        """aadUserConversationMember (§3.1); ids are opaque."""
        u = self.users[m]
        mid = base64.b64encode(("0##0##%s##%s##%s" % (self.tenant_id, c.id, u.id)).encode()).decode()
        vis = c.visible.get(m)
        return {"@odata.type": "#microsoft.graph.aadUserConversationMember", "id": mid,
                "roles": ["owner"], "displayName": u.display,
                "visibleHistoryStartDateTime": fmt_ms(vis) if vis else MIN_VISIBLE,
                "userId": u.id, "email": u.mail, "tenantId": self.tenant_id}

    # ------------------------------------------------------ per-message skeleton
    def _plan(self, c, i):
        """Per-message decisions from its hash: (kind, edit_ms, delete_ms, reaction_ms, seed).

        Everything a list or a filter needs (times, kind) comes from here
        without building the message; _render_base uses the same plan.
        """
        h = hbytes(self.seed, "m", c.idx, i)
        created = c.created[i]
        rseed = int.from_bytes(h[22:30], "big")
        u = int.from_bytes(h[0:2], "big") / 65536.0
        if i >= c.base_count:                       # added at runtime: plain kinds, no history
            return (TEXT, HTML, MENTION, INTL, IMAGE, FILE)[h[0] % 6], 0, 0, (), rseed
        if c.curated and i < len(self._curated()):
            return CURATED, 0, 0, (), rseed
        if i == 0 and c.type != "oneOnOne":
            kind = SYSTEM
        elif u < 0.28:
            kind = TEXT
        elif u < 0.40:
            kind = HTML
        elif u < 0.52:
            kind = MENTION
        elif u < 0.62:
            kind = INTL
        elif u < 0.68:
            kind = IMAGE
        elif u < 0.74:
            kind = FILE
        elif u < 0.80:
            kind = SYSTEM
        elif u < 0.84:
            kind = APP
        elif u < 0.845:
            kind = LONG
        elif u < 0.86:
            kind = HOSTILE
        else:
            kind = TEXT
        if kind in (IMAGE, FILE) and self.media < 1.0 and h[31] / 256.0 >= self.media:
            kind = TEXT
        if kind == SYSTEM:
            return kind, 0, 0, (), rseed
        end = self.hist_end

        def clamp(t):
            return max(created + 1, min(t, end))

        edit = clamp(created + 60_000 + int.from_bytes(h[5:9], "big") % (3 * DAY_MS)) \
            if h[2] < 16 and kind != APP else 0
        reacts = ()
        if h[4] < 36:
            reacts = tuple(sorted(clamp(created + 5_000 + int.from_bytes(h[13 + 3 * k:16 + 3 * k], "big")
                                        * 10) for k in range(1 + h[4] % 3)))
        delete = 0
        if h[3] < 8:
            delete = clamp(max((created, edit) + reacts) + 30_000
                           + int.from_bytes(h[9:13], "big") % (10 * DAY_MS))
        return kind, edit, delete, reacts, rseed

    def ensure(self, c):
        """Build the chat's compact arrays on first use."""
        if c.created is not None:
            return c
        with self.lock:
            if c.created is not None:
                return c
            rng = random.Random(hint(self.seed, "times", c.idx))
            n = c.base_count
            start = c.created_ms + 60_000
            end = max(start + n + 1, self.hist_end - 600_000)
            times = sorted(rng.randrange(start, end) for _ in range(n))
            for k in range(1, n):
                if times[k] <= times[k - 1]:
                    times[k] = times[k - 1] + 1
            c.created = array("q", times)
            mod = array("q", times)
            flags = bytearray(n)
            for i in range(n):
                kind, edit, delete, reacts, _ = self._plan(c, i)
                mod[i] = max((times[i], edit, delete) + reacts)
                flags[i] = ((F_SYSTEM if kind == SYSTEM else 0) | (F_DELETED if delete else 0)
                            | (F_APP if kind == APP else 0))
            c.modified = mod
            c.flags = flags
        return c

    def order_by_modified(self, c):
        """Indices sorted by lastModifiedDateTime desc (then createdDateTime desc), with keys."""
        self.ensure(c)
        if c._ord_ver != c.ver:
            mod, cre = c.modified, c.created
            order = sorted(range(len(cre)), key=lambda j: (-mod[j], -cre[j]))
            c._ord = order
            c._ord_keys = [(-mod[j], -cre[j]) for j in order]
            c._ord_ver = c.ver
        return c._ord, c._ord_keys

    def index_of(self, c, msg_id):
        """Message index from its id (epoch ms, unique within the chat)."""
        self.ensure(c)
        try:
            ms = int(msg_id)
        except ValueError:
            return None
        k = bisect.bisect_left(c.created, ms)
        return k if k < len(c.created) and c.created[k] == ms else None

    # ----------------------------------------------------------- rendering
    def message(self, c, i):
        """The current chatMessage object (do not modify the result)."""
        o = c.overrides.get(i)
        if o is not None:
            return o
        key = (c.idx, i)
        with self.lock:
            m = self._cache.get(key)
            if m is not None:
                self._cache.move_to_end(key)
                return m
        m = self._render_base(c, i)
        with self.lock:
            self._cache[key] = m
            if len(self._cache) > self._cache_max:
                self._cache.popitem(last=False)
        return m

    def _ident_set(self, user=None, app=None):
        return {"application": app, "device": None, "user": user}

    def _app_ident(self, c):
        apps = self.look.get("apps") or [{"name": "Bot", "type": "bot"}]
        a = apps[c.app % len(apps)]
        return {"@odata.type": "#microsoft.graph.teamworkApplicationIdentity",
                "id": guid(self.seed, "app", a["name"]), "displayName": a["name"],
                "applicationIdentityType": a.get("type", "bot")}

    def file_url(self, owner, name):
        """A OneDrive 'Microsoft Teams Chat Files' URL for a file shared by owner (§3.5)."""
        site = re.sub(r"[^a-z0-9]", "_", owner.upn.lower())
        return "https://%s/personal/%s/Documents/Microsoft%%20Teams%%20Chat%%20Files/%s" % (
            self.sp_host, site, urllib.parse.quote(name, safe=""))

    def _attachment(self, c, i, k, owner, name):
        url = self.file_url(owner, name)
        return {"id": guid(self.seed, "att", c.idx, i, k), "contentType": "reference",
                "contentUrl": url, "content": None, "name": name, "thumbnailUrl": None,
                "teamsAppId": None}

    def _hosted_id(self, c, i, k):
        """An opaque hosted-content id shaped like Graph's (base64 of id=...,type=1,url=...)."""
        for salt in range(50):
            hx = hbytes(self.seed, "hc", c.idx, i, k, salt, size=16).hex()
            raw = ("id=x_0-wus-d%d-%s,type=1,url=https://us-api.asm.skype.com/v1/objects/"
                   "0-wus-d%d-%s/views/imgo" % (k + 1, hx, k + 1, hx))
            raw += " " * (-len(raw) % 3)
            s = base64.b64encode(raw.encode()).decode()
            if "/" not in s and "+" not in s:
                return s
        return b64url(raw)

    def _mention(self, k, user=None, chat=None):
        if chat is not None:
            conv = {"@odata.type": "#microsoft.graph.teamworkConversationIdentity",
                    "id": chat.id, "displayName": "Everyone", "conversationIdentityType": "chat"}
            return {"id": k, "mentionText": "Everyone",
                    "mentioned": {"application": None, "device": None, "conversation": conv,
                                  "user": None}}
        return {"id": k, "mentionText": user.display,
                "mentioned": {"application": None, "device": None, "conversation": None,
                              "user": user.ident(self.tenant_id)}}

    def _reaction(self, r, c, t):
        rx = r.choice(self.look.get("reactions") or [{"type": "like", "display": "Like"}])
        who = self.users[r.choice(c.members)]
        return {"reactionType": rx["type"], "reactionContentUrl": None,
                "displayName": rx["display"], "createdDateTime": fmt_ms(t),
                "user": {"application": None, "device": None,
                         "user": {"@odata.type": "#microsoft.graph.teamworkUserIdentity",
                                  "id": who.id, "displayName": None,
                                  "userIdentityType": "aadUser", "tenantId": self.tenant_id}}}

    def _render_base(self, c, i):
        self.ensure(c)
        kind, edit, delete, reacts, rseed = self._plan(c, i)
        r = random.Random(rseed)
        look = self.look
        created = c.created[i]
        mid = str(created)
        sender = self.users[r.choice(c.members)]
        msg = {
            "id": mid, "replyToId": None, "etag": mid, "messageType": "message",
            "createdDateTime": fmt_ms(created), "lastModifiedDateTime": fmt_ms(created),
            "lastEditedDateTime": None, "deletedDateTime": None, "subject": None,
            "summary": None, "chatId": c.id,
            "importance": "high" if r.random() < 0.03 else "urgent" if r.random() < 0.01 else "normal",
            "locale": "en-us", "webUrl": None, "channelIdentity": None, "policyViolation": None,
            "eventDetail": None, "from": self._ident_set(user=sender.ident(self.tenant_id)),
            "body": None, "attachments": [], "mentions": [], "reactions": [], "messageHistory": [],
        }
        sentence = lambda: r.choice(look["sentences"])  # noqa: E731
        esc = html.escape
        body = None
        if kind == TEXT:
            s = sentence() if r.random() < 0.7 else sentence() + " " + sentence()
            body = {"contentType": "text", "content": s} if r.random() < 0.5 else \
                {"contentType": "html", "content": "<p>%s</p>" % esc(s)}
        elif kind == HTML:
            a, b2, c3 = sentence(), sentence(), sentence()
            tpl = r.randrange(6)
            content = [
                "<p><strong>%s</strong></p><ul><li>%s</li><li>%s</li></ul>" % (esc(a), esc(b2), esc(c3)),
                "<p>%s See <a href=\"https://contoso-demo.sharepoint.com/sites/wiki/Home.aspx\" "
                "title=\"https://contoso-demo.sharepoint.com/sites/wiki/Home.aspx\">the wiki</a>.</p>" % esc(a),
                "<blockquote itemtype=\"http://schema.skype.com/Reply\"><strong>%s</strong><p>%s</p>"
                "</blockquote><p>%s</p>" % (esc(sender.display), esc(a), esc(b2)),
                "<p>%s <emoji id=\"1f600_grinningfaceclassic\" alt=\"\U0001f600\" title=\"Grinning face\">"
                "</emoji></p>" % esc(a),
                "<p>%s</p><pre><code>./configure --enable-asan &amp;&amp; make check\n"
                "if (a &lt; b) { return 0; }</code></pre>" % esc(a),
                "<table><tr><th>Item</th><th>Owner</th></tr><tr><td>%s</td><td>%s</td></tr></table>"
                % (esc(a), esc(sender.display)),
            ][tpl]
            body = {"contentType": "html", "content": content}
        elif kind == MENTION:
            pool = [m for m in c.members if m != sender.idx] or list(c.members)
            who = r.sample(pool, min(len(pool), 1 + (r.random() < 0.3)))
            parts, mentions = [], []
            for k, m in enumerate(who):
                u = self.users[m]
                parts.append("<at id=\"%d\">%s</at>" % (k, esc(u.display)))
                mentions.append(self._mention(k, user=u))
            if c.type != "oneOnOne" and r.random() < 0.15:
                k = len(mentions)
                parts.append("<at id=\"%d\">Everyone</at>" % k)
                mentions.append(self._mention(k, chat=c))
            body = {"contentType": "html",
                    "content": "<p>%s %s</p>" % (", ".join(parts), esc(sentence()))}
            msg["mentions"] = mentions
        elif kind == INTL:
            s = r.choice(look.get("international") or look["sentences"])
            body = {"contentType": "text", "content": s} if r.random() < 0.5 else \
                {"contentType": "html", "content": "<p>%s</p>" % esc(s)}
        elif kind == IMAGE:
            imgs = []
            for k in range(2 if r.random() < 0.15 else 1):
                hc = self._hosted_id(c, i, k)
                w, hgt = 40 + r.randrange(400), 30 + r.randrange(300)
                imgs.append(
                    "<p><img alt=\"image\" height=\"%d\" src=\"%s/v1.0/chats/%s/messages/%s/hostedContents/"
                    "%s/$value\" width=\"%d\" style=\"vertical-align:bottom; width:%dpx; height:%dpx\">"
                    "</p>" % (hgt, self.graph_url, c.id, mid, hc, w, w, hgt))
            cap = "<p>%s</p>" % esc(sentence()) if r.random() < 0.6 else ""
            body = {"contentType": "html", "content": cap + "".join(imgs)}
        elif kind == FILE:
            atts = []
            for k in range(2 if r.random() < 0.2 else 1):
                name = r.choice(hostile.FILE_NAMES) if r.random() < 0.05 else r.choice(look["file_names"])
                atts.append(self._attachment(c, i, k, sender, name))
            body = {"contentType": "html", "content": "<p>%s</p>%s" % (
                esc(sentence()), "".join("<attachment id=\"%s\"></attachment>" % a["id"] for a in atts))}
            msg["attachments"] = atts
        elif kind == SYSTEM:
            msg["messageType"] = "systemEventMessage"
            msg["from"] = None
            body = {"contentType": "html", "content": "<systemEventMessage/>"}
            msg["eventDetail"] = self._event(c, i, r, sender)
        elif kind == APP:
            msg["from"] = self._ident_set(app=self._app_ident(c))
            if r.random() < 0.4:
                aid = hbytes(self.seed, "card", c.idx, i, size=16).hex()
                card = ("{\r\n  \"type\": \"AdaptiveCard\",\r\n  \"version\": \"1.4\",\r\n  \"body\": [\r\n"
                        "    {\r\n      \"type\": \"TextBlock\",\r\n      \"text\": %s\r\n    }\r\n  ]\r\n}"
                        % _json_str(sentence()))
                msg["attachments"] = [{"id": aid, "contentType": "application/vnd.microsoft.card.adaptive",
                                       "contentUrl": None, "content": card, "name": None,
                                       "thumbnailUrl": None, "teamsAppId": guid(self.seed, "teamsapp", c.app)}]
                body = {"contentType": "html", "content": "<attachment id=\"%s\"></attachment>" % aid}
            else:
                body = {"contentType": "html",
                        "content": "<p>Build #%d succeeded \u2705 %s</p>" % (r.randrange(1, 9999), esc(sentence()))}
        elif kind == LONG:
            body = {"contentType": "html", "content": self._long_body(r)}
        elif kind == HOSTILE:
            if r.random() < 0.5:
                body = {"contentType": "text", "content": r.choice(hostile.TEXTS)}
            else:
                body = {"contentType": "html", "content": r.choice(hostile.HTML_BODIES)}
        elif kind == CURATED:
            body = self._render_curated(c, i, msg, sender)
        msg["body"] = body
        if reacts:
            rx = [self._reaction(r, c, t) for t in reacts]
            msg["reactions"] = rx
            msg["messageHistory"] = [{"modifiedDateTime": x["createdDateTime"], "actions": "reactionAdded",
                                      "reaction": x} for x in rx]
        if edit:
            msg["lastEditedDateTime"] = fmt_ms(edit)
            msg["etag"] = str(edit)
            b = msg["body"]
            if b["contentType"] == "text":
                b["content"] += " (edited)"
            else:
                b["content"] += "<p>Edit: %s</p>" % esc(sentence())
        if delete:
            msg["deletedDateTime"] = fmt_ms(delete)
            msg["etag"] = str(delete)
            msg["body"] = {"contentType": msg["body"]["contentType"], "content": ""}
            msg["attachments"], msg["mentions"], msg["reactions"] = [], [], []
        msg["lastModifiedDateTime"] = fmt_ms(max((created, edit, delete) + reacts))
        return msg

    def _long_body(self, r):
        para = self.look.get("long_paragraph") or "Lorem ipsum dolor sit amet. "
        intl = self.look.get("international") or [""]
        parts, size, k = ["<h1>Long message</h1>"], 0, 0
        while size < LONG_BYTES:
            k += 1
            p = "<p>%d. %s %s</p>" % (k, html.escape(para), html.escape(r.choice(intl)))
            parts.append(p)
            size += len(p.encode())
        return "".join(parts)

    def _event(self, c, i, r, sender):
        """eventDetail of a systemEventMessage (§3.4): membersAdded, chatRenamed, callEnded."""
        init = self._ident_set(user=sender.ident(self.tenant_id, with_name=False))
        ev = "callEnded" if c.type == "oneOnOne" else r.choice(["membersAdded", "chatRenamed", "callEnded"])
        if i == 0 and c.type != "oneOnOne":
            ev = "membersAdded"
        if ev == "membersAdded":
            who = c.members if i == 0 else [r.choice(c.members)]
            return {"@odata.type": "#microsoft.graph.membersAddedEventMessageDetail",
                    "visibleHistoryStartDateTime": MIN_VISIBLE,
                    "members": [{"id": self.users[m].id, "displayName": None,
                                 "userIdentityType": "aadUser", "tenantId": self.tenant_id}
                                for m in who],
                    "initiator": init}
        if ev == "chatRenamed":
            name = r.choice(hostile.TOPICS) if r.random() < 0.1 else \
                r.choice(self.look["group_topics"])
            return {"@odata.type": "#microsoft.graph.chatRenamedEventMessageDetail",
                    "chatId": c.id, "chatDisplayName": name, "initiator": init}
        secs = r.randrange(20, 5400)
        parts = r.sample(c.members, min(len(c.members), 2 + r.randrange(3)))
        return {"@odata.type": "#microsoft.graph.callEndedEventMessageDetail",
                "callId": guid(self.seed, "call", c.idx, i),
                "callDuration": "PT%dM%dS" % (secs // 60, secs % 60) if secs >= 60 else "PT%dS" % secs,
                "callEventType": "meeting" if c.type == "meeting" else "call",
                "callParticipants": [{"participant": self._ident_set(
                    user=self.users[m].ident(self.tenant_id))} for m in parts],
                "initiator": init}

    # ------------------------------------------------- the "Hostile content" chat
    def _curated(self):
        """Fixed messages of chat 0, most of the hostile strings in one place."""
        try:
            return self._curated_list
        except AttributeError:
            pass
        L = []
        for s in hostile.TEXTS:
            L.append(("text", s, [], None))
        for s in hostile.HTML_BODIES:
            L.append(("html", s, [], None))
        names = hostile.FILE_NAMES
        for k in range(0, len(names), 3):
            L.append(("html", "<p>Files, named to hurt:</p>", names[k:k + 3], None))
        L.append(("mention", None, [], None))
        L.append(("long", None, [], None))
        L.append(("html", "<p>" + "A" * 8000 + "</p><p>one very long word above</p>", [], None))
        if self.big_files:
            L.append(("html", "<p>The full walkthrough video (large):</p>", [BIG_FILE_NAME], None))
        self._curated_list = L
        return L

    def _render_curated(self, c, i, msg, sender):
        kind, text, files, _ = self._curated()[i]
        if kind == "text":
            return {"contentType": "text", "content": text}
        if kind == "mention":
            parts, mentions = [], []
            for k, m in enumerate(c.members):
                u = self.users[m]
                parts.append("<at id=\"%d\">%s</at>" % (k, html.escape(u.display)))
                mentions.append(self._mention(k, user=u))
            msg["mentions"] = mentions
            return {"contentType": "html", "content": "<p>%s please look at this \x1b[5mblink\x1b[0m</p>"
                    % " ".join(parts)}
        if kind == "long":
            body = "<p>" + (hostile.TEXTS[0] + " \u202e" + "\u4e2d\u6587 ") * 600 + "</p>"
            return {"contentType": "html", "content": body[:LONG_BYTES]}
        if files:
            atts = [self._attachment(c, i, k, sender, n) for k, n in enumerate(files)]
            msg["attachments"] = atts
            text += "".join("<attachment id=\"%s\"></attachment>" % a["id"] for a in atts)
        return {"contentType": "html", "content": text}

    # -------------------------------------------------------- hosted, files
    def hosted_ids(self, msg):
        if msg["deletedDateTime"] or not msg["body"]:
            return []
        return HOSTED_RE.findall(msg["body"]["content"] or "")

    def hosted_bytes(self, c, msg, hcid):
        key = "%s/%s/%s" % (c.id, msg["id"], hcid)
        return media.png(key, large=hint(self.seed, "large", key) % 40 == 0)

    def file_status(self, url):
        """200, 403 or 404 for a contentUrl, and its planned size (deterministic)."""
        if not url.startswith("https://%s/personal/" % self.sp_host):
            return 404, 0
        h = hbytes(self.seed, "file", url)
        if url.endswith(urllib.parse.quote(BIG_FILE_NAME, safe="")):
            return (200, 20 * 1024 * 1024) if self.big_files else (404, 0)
        if h[0] < 10:
            return 404, 0                # ~4%: the file was deleted from OneDrive
        if h[0] < 18:
            return 403, 0                # ~3%: sharing link revoked / no access
        n = int.from_bytes(h[1:5], "big")
        if h[5] < 8:
            return 200, 1_000_000 + n % 2_000_000      # ~3%: 1-3 MB
        return 200, 2_000 + n % 300_000

    def file_content(self, url):
        status, size = self.file_status(url)
        if status != 200:
            return status, None
        return 200, media.file_bytes(url, size)

    def file_info(self, url):
        """(sha256, size, status) for the truth; cached."""
        status, _ = self.file_status(url)
        if status != 200:
            return None, None, status
        info = self._file_info.get(url)
        if info is None:
            data = self.file_content(url)[1]
            info = (hashlib.sha256(data).hexdigest(), len(data))
            self._file_info[url] = info
        return info[0], info[1], 200

    # ------------------------------------------------------------ mutation
    def _change(self, c, i, t):
        self.seq += 1
        c.changes.append((self.seq, i))
        c.last_seq[i] = self.seq
        c.modified[i] = t
        c.ver += 1

    def _tick(self):
        t = max(now_ms(), self.last_change_ms + 1)
        self.last_change_ms = t
        return t

    def mutate(self, edit=0.0, delete=0.0, new=0, react=0.0, seed=0):
        """Apply runtime changes (see /_sim/mutate). Earlier states go to versions."""
        rng = random.Random(hint(self.seed, "mutate", seed))
        out = {"edited": 0, "deleted": 0, "new": 0, "reacted": 0}
        with self.lock:
            for c in self.chats:
                self.ensure(c)
            for c in self.chats:
                for i in range(len(c.created)):
                    f = c.flags[i]
                    if f & (F_SYSTEM | F_DELETED):
                        continue
                    roll = rng.random()
                    if roll < delete:
                        self._apply(c, i, "delete", rng)
                        out["deleted"] += 1
                    elif roll < delete + edit and not f & F_APP:
                        self._apply(c, i, "edit", rng)
                        out["edited"] += 1
                    elif roll < delete + edit + react:
                        self._apply(c, i, "react", rng)
                        out["reacted"] += 1
            for _ in range(int(new)):
                c = self.chats[rng.randrange(len(self.chats))]
                t = self._tick()
                if len(c.created) and t <= c.created[-1]:
                    t = c.created[-1] + 1
                    self.last_change_ms = max(self.last_change_ms, t)
                i = len(c.created)
                c.created.append(t)
                c.modified.append(t)
                c.flags.append(0)
                self._change(c, i, t)
                out["new"] += 1
        return out

    def new_chat(self, messages=5, listed=False):
        """A group chat of every user, created now with `messages` new
        messages. Unlisted, it is left out of /users/{id}/chats (created
        after a backup listed the chats) while getAllMessages already
        brings its messages; /_sim/chat/list shows it."""
        with self.lock:
            c = Chat()
            c.idx = len(self.chats)
            c.type = "group"
            c.members = [u.idx for u in self.users if not u.removed]
            c.topic = "New chat %d" % c.idx
            c.curated = False
            c.id = "19:%s@thread.v2" % hbytes(self.seed, "thread-new", c.idx, size=16).hex()
            c.created_ms = self._tick()
            c.updated_ms = c.created_ms
            c.base_count = 0
            c.visible = {}
            c.organizer = c.members[0]
            c.app = 0
            c.unlisted = not listed
            c.created, c.modified, c.flags = array("q"), array("q"), bytearray()
            for _ in range(int(messages)):
                t = self._tick()
                i = len(c.created)
                c.created.append(t)
                c.modified.append(t)
                c.flags.append(0)
                self._change(c, i, t)
            self.chats.append(c)
            self.chat_by_id[c.id] = c
            for m in c.members:
                self.users[m].chats.append(c.idx)
        return c

    def _apply(self, c, i, action, rng):
        cur = self.message(c, i)
        new = copy.deepcopy(cur)
        t = self._tick()
        if t <= c.modified[i]:
            t = c.modified[i] + 1
            self.last_change_ms = t
        ts = fmt_ms(t)
        if action == "edit":
            b = new["body"]
            extra = rng.choice(self.look["sentences"])
            if b["contentType"] == "text":
                b["content"] += " [edited: %s]" % extra
            else:
                b["content"] += "<p>[edited: %s]</p>" % html.escape(extra)
            new["lastEditedDateTime"] = ts
            new["etag"] = str(t)
        elif action == "delete":
            new["deletedDateTime"] = ts
            new["etag"] = str(t)
            new["body"] = {"contentType": new["body"]["contentType"], "content": ""}
            new["attachments"], new["mentions"], new["reactions"] = [], [], []
            c.flags[i] |= F_DELETED
        else:
            rx = self._reaction(rng, c, t)
            new["reactions"].append(rx)
            new["messageHistory"].append({"modifiedDateTime": ts, "actions": "reactionAdded",
                                          "reaction": rx})
        new["lastModifiedDateTime"] = ts
        c.versions.setdefault(i, []).append(cur)
        c.overrides[i] = new
        self._change(c, i, t)

    def remove_user(self, uid):
        u = self.find_user(uid)
        if u is None:
            return False
        u.removed = True
        return True

    def restore_user(self, uid):
        """The user is back in /users (restored from Entra ID's deleted items)."""
        u = self.user_by_id.get(uid) or self.user_by_id.get(uid.lower()) or self.user_by_upn.get(uid.lower())
        if u is None or not u.removed:
            return False
        u.removed = False
        return True

    # ----------------------------------------------------------------- truth
    def truth_user(self, u):
        return {"id": u.id, "userPrincipalName": u.upn, "displayName": u.display,
                "department": u.department, "accountEnabled": u.enabled, "mail": u.mail}

    def truth_chat(self, c, hosted, files):
        """One chat of the ground truth; fills the hosted/files maps as it goes."""
        self.ensure(c)
        with self.lock:
            n = len(c.created)
            msgs = [self.message(c, i) for i in range(n)]
            versions = {msgs[i]["id"]: list(v) for i, v in c.versions.items()}
        for m in msgs:
            for hc in self.hosted_ids(m):
                key = "%s/%s/%s" % (c.id, m["id"], hc)
                info = self._file_info.get(key)
                if info is None:
                    data = self.hosted_bytes(c, m, hc)
                    info = self._file_info[key] = (hashlib.sha256(data).hexdigest(), len(data))
                hosted[key] = {"sha256": info[0], "size": info[1]}
            for a in m["attachments"]:
                if a["contentType"] == "reference" and a["contentUrl"] not in files:
                    sha, size, status = self.file_info(a["contentUrl"])
                    files[a["contentUrl"]] = {"sha256": sha, "size": size, "status": status}
        out = dict(self.chat_obj(c))
        out["members"] = [self.member_obj(c, m) for m in c.members]
        out["messages"] = msgs
        out["versions"] = versions
        out["access"] = c.forbid or 200
        return out

    def summary(self):
        per_user = {u.id: len(u.chats) for u in self.users if not u.removed}
        total = 0
        chats = []
        for c in self.chats:
            n = len(c.created) if c.created is not None else c.base_count
            total += n
            chats.append({"id": c.id, "chatType": c.type, "topic": c.topic,
                          "members": [self.users[m].id for m in c.members], "messages": n,
                          "access": c.forbid or 200})
        return {"tenant_id": self.tenant_id, "domain": self.domain,
                "users": sum(1 for u in self.users if not u.removed),
                "removed_users": [u.id for u in self.users if u.removed],
                "chats": len(self.chats), "messages": total,
                "chats_by_type": dict(collections.Counter(c.type for c in self.chats)),
                "per_user_chats": per_user, "chat_list": chats, "change_seq": self.seq}


def _json_str(s):
    return json.dumps(s, ensure_ascii=False)

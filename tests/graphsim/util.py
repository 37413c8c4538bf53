"""Small helpers shared by the simulator modules: time formats, ids, encodings."""

import base64
import calendar
import hashlib
import re
import time
import uuid

DAY_MS = 86_400_000


def now_ms():
    return int(time.time() * 1000)


def fmt_ms(ms):
    """Graph's DateTimeOffset form with milliseconds: 2024-05-01T10:20:30.123Z."""
    t = time.gmtime(ms // 1000)
    return "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ" % (
        t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, ms % 1000)


def fmt_s(ms):
    """innerError.date form (no fraction, no zone): 2025-02-13T10:17:06."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000))


def fmt_aad(ms):
    """The identity platform's timestamp form: 2016-01-09 02:02:12Z."""
    return time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(ms // 1000))


_TS_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?"
    r"\s*([Zz]|[+\- ]\d{2}:?\d{2})?$")


def parse_ts(text):
    """Parse an OData DateTimeOffset literal to epoch ms; None if malformed.

    Lenient on purpose: a '+' offset that arrived as a space (form decoding)
    is accepted, as are quotes around the literal.
    """
    text = text.strip().strip("'\"")
    m = _TS_RE.match(text)
    if not m:
        return None
    y, mo, d, hh, mi, ss, frac, zone = m.groups()
    try:
        secs = calendar.timegm((int(y), int(mo), int(d), int(hh or 0), int(mi or 0),
                                int(ss or 0), 0, 0, 0))
    except (ValueError, OverflowError):
        return None
    ms = secs * 1000 + (int((frac or "0")[:3].ljust(3, "0")))
    if zone and zone not in ("Z", "z"):
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        off = int(digits[:2]) * 60 + int(digits[2:])
        ms -= sign * off * 60_000
    return ms


def hbytes(*parts, size=32):
    """Deterministic hash bytes of the given parts."""
    return hashlib.blake2b("|".join(str(p) for p in parts).encode(), digest_size=size).digest()


def hint(*parts):
    return int.from_bytes(hbytes(*parts, size=8), "big")


def guid(*parts):
    """A deterministic GUID (version 4 shaped) from the given parts."""
    return str(uuid.UUID(bytes=hbytes(*parts, size=16), version=4))


def b64url(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text):
    if isinstance(text, str):
        text = text.encode()
    return base64.urlsafe_b64decode(text + b"=" * (-len(text) % 4))


def share_id(url):
    """graph-facts §3.5: 'u!' + unpadded base64url of the sharing URL."""
    return "u!" + b64url(url)

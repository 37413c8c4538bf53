"""Deterministic bytes for hosted images (PNG) and shared files.

Everything here is a pure function of its key, so the simulator never has to
store blobs: the same key always yields the same bytes (and the truth can
state their SHA-256).
"""

import hashlib
import struct
import zlib

from util import hbytes


def _chunk(kind, data):
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def png(key, large=False):
    """A valid PNG, different for every key.

    Small ones are a gradient of a few dozen pixels; large ones (~200 KB) are
    incompressible noise, as a photo would be.
    """
    h = hbytes("png", key)
    if large:
        w = ht = 256 + h[0] % 16
        rowlen = w * 3
        noise = hashlib.shake_256(b"png-noise|" + key.encode()).digest(rowlen * ht)
        raw = b"".join(b"\x00" + noise[y * rowlen:(y + 1) * rowlen] for y in range(ht))
        level = 1
    else:
        w = 16 + h[0] % 80
        ht = 16 + h[1] % 80
        r0, g0, b0 = h[2], h[3], h[4]
        stripe = bytes(v for x in range(4) for v in ((r0 + x * 60) & 255, g0, (b0 + x * 30) & 255))
        raw = b"".join(b"\x00" + bytes(((r0 + y * 5) & 255, (g0 + y * 3) & 255, b0)) * (w - 4)
                       + stripe for y in range(ht))
        level = 9
    ihdr = struct.pack(">IIBBBBB", w, ht, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr)
            + _chunk(b"IDAT", zlib.compress(raw, level)) + _chunk(b"IEND", b""))


MIME = {
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".txt": "text/plain",
    ".csv": "text/csv",
    ".png": "image/png",
    ".zip": "application/zip",
    ".mp4": "video/mp4",
}


def mime_of(name):
    low = name.lower()
    dot = low.rfind(".")
    return MIME.get(low[dot:] if dot >= 0 else "", "application/octet-stream")


def file_bytes(url, size):
    """The content of a shared file: a type-looking header then pseudo-random bytes."""
    low = url.lower()
    if low.endswith(".txt") or low.endswith(".csv"):
        line = ("%s\n" % url).encode()
        body = (line * (size // len(line) + 1))[:size]
        return body
    if low.endswith(".pdf"):
        head = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
    elif low.endswith(".png"):
        return png(url)
    elif low[-5:] in (".docx", ".xlsx", ".pptx") or low.endswith(".zip"):
        head = b"PK\x03\x04"
    else:
        head = b""
    return head + hashlib.shake_256(b"file|" + url.encode()).digest(max(0, size - len(head)))

#!/usr/bin/env python3
"""Independent checks of chatvault's export files, for tests/unit/test_export.c.

    export_check.py csv  FILE   EXPECT.json
    export_check.py html DIR    EXPECT.json
    export_check.py eml  DIR    EXPECT.json
    export_check.py pdf  DIR    EXPECT.json

Each check prints "ok - what" or "not ok - what" (the C test numbers them for
TAP) and diagnostics as "# ..."; the exit status is 1 if any check failed.
The files are read with Python's own parsers (csv, html.parser, email), so
the writers are judged by code that shares nothing with them.

EXPECT.json: {"messages": [{"chat", "id", "sender", "upn", "text" (exact
body_text or null), "snippets": [...], "edited", "deleted", "cells": {...}}],
"chats": {chat_id: count}, "pdf_snippets": [...], "pdf_long_marker": str,
"pdf_min_pages": int}
"""

import csv
import email
import email.policy
import html.parser
import io
import json
import os
import re
import subprocess
import sys

FAILED = 0


def check(cond, what, detail=None):
    global FAILED
    print(("ok - " if cond else "not ok - ") + what)
    if not cond:
        FAILED += 1
        if detail is not None:
            for line in str(detail).splitlines()[:20]:
                print("#   " + line[:300])
    return cond


def norm(s):
    """Collapse whitespace, as a reader sees text."""
    return re.sub(r"\s+", " ", s).strip()


CSV_HEADER = ["chat_id", "chat_topic", "chat_type", "message_id", "created", "last_modified",
              "edited", "deleted", "sender_id", "sender_name", "sender_upn", "body_text",
              "attachments", "reactions"]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
TERMINAL_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def csv_cell(value):
    """What the writer must put in a cell for this text (OWASP prefix)."""
    return "'" + value if value.startswith(FORMULA_START) else value


def check_csv(path, exp):
    raw = open(path, "rb").read()
    check(raw.startswith(b"\xef\xbb\xbf"), "csv: UTF-8 BOM present")
    check(b"\0" not in raw, "csv: no NUL byte")
    check(raw.endswith(b"\r\n"), "csv: ends with CRLF")
    text = raw.decode("utf-8")[1:]
    first_line = text.split("\r\n", 1)[0]
    check(first_line == ",".join('"%s"' % h for h in CSV_HEADER), "csv: header line exact, fields quoted",
          first_line)
    rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    check(rows and rows[0] == CSV_HEADER, "csv: header parses to the 14 columns")
    body = rows[1:]
    check(all(len(r) == len(CSV_HEADER) for r in body), "csv: every row has 14 fields")
    check(len(body) == len(exp["messages"]), "csv: one row per message (%d)" % len(exp["messages"]),
          "got %d rows" % len(body))
    # RFC 4180: records end in CRLF; a bare LF may only occur inside a quoted field.
    quoted, bad_eol = False, 0
    for i, ch in enumerate(text):
        if ch == '"':
            quoted = not quoted
        elif ch == "\n" and not quoted and (i == 0 or text[i - 1] != "\r"):
            bad_eol += 1
    check(bad_eol == 0, "csv: records end in CRLF")
    every_quoted = all(line.startswith('"') for line in re.split(r'(?<=")\r\n', text) if line)
    check(every_quoted, "csv: every record starts with a quoted field")
    bad = [c for r in body for c in r if c.startswith(FORMULA_START)]
    check(not bad, "csv: no cell starts with = + - @ TAB CR LF", bad[:5])
    # Tenant text is sanitised in every cell: `cat messages.csv` must not
    # drive the terminal, nor reorder what it shows.
    bad = [(c[:60], "U+%04X" % ord(ch)) for r in rows for c in r for ch in c if TERMINAL_UNSAFE.match(ch)]
    check(not bad, "csv: no control (but LF and TAB), DEL, C1 or bidi control in any cell", bad[:5])

    by_key = {}
    for r in body:
        by_key.setdefault((r[0], r[3]), []).append(r)
    check(all(len(v) == 1 for v in by_key.values()), "csv: no message twice")
    for m in exp["messages"]:
        rs = by_key.get((m["chat"], m["id"]))
        if not check(rs is not None, "csv: row for %s" % m["id"]):
            continue
        r = dict(zip(CSV_HEADER, rs[0]))
        ok = ISO.match(r["created"]) and ISO.match(r["last_modified"])
        ok = ok and r["edited"] == ("true" if m["edited"] else "false")
        ok = ok and r["deleted"] == ("true" if m["deleted"] else "false")
        ok = ok and r["sender_name"] == csv_cell(m["sender"]) and r["sender_upn"] == m["upn"]
        if m["text"] is not None:
            ok = ok and r["body_text"] == csv_cell(m["text"])
        for col, want in m.get("cells", {}).items():
            ok = ok and r[col] == csv_cell(want)
        check(bool(ok), "csv: %s cells as expected" % m["id"],
              json.dumps({k: r[k][:200] for k in r}, ensure_ascii=False) + "\nwant " +
              json.dumps({"text": m["text"], "sender": m["sender"][:50], "upn": m["upn"],
                          "cells": m.get("cells")}, ensure_ascii=False))


# --- HTML -------------------------------------------------------------------

SAFE_TAGS = {"html", "head", "body", "meta", "title", "style", "header", "main", "nav", "h1", "p",
             "a", "ul", "ol", "li", "article", "div", "span", "time", "b", "strong", "i", "em", "u",
             "s", "strike", "blockquote", "pre", "code", "img", "table", "thead", "tbody", "tr", "td",
             "th", "h2", "h3", "h4", "h5", "h6", "hr", "br"}
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


class Page(html.parser.HTMLParser):
    """Collects tags, attributes and the text of every message element."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.attrs, self.problems = [], [], []
        self.stack = []            # open elements: (tag, message id or None, classes)
        self.msgs = {}             # message id -> {"text": [...], "classes": ...}
        self.in_head = False
        self.styles_in_head = 0
        self.csp = self.charset = False
        self.text = []

    VOID = {"br", "hr", "img", "meta"}

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        a = dict(attrs)
        if tag not in SAFE_TAGS:
            self.problems.append("tag <%s>" % tag)
        for name, value in attrs:
            self.attrs.append((tag, name, value))
            if name.startswith("on") or name in ("style", "srcdoc", "formaction", "background"):
                self.problems.append("attribute %s on <%s>" % (name, tag))
        if tag == "head":
            self.in_head = True
        if tag == "style":
            if self.in_head:
                self.styles_in_head += 1
            else:
                self.problems.append("<style> outside head")
        if tag == "meta":
            if a.get("charset", "").lower() == "utf-8":
                self.charset = True
            elif a.get("http-equiv", "").lower() == "content-security-policy":
                self.csp = a.get("content") == CSP
            elif a.get("name") not in ("referrer", "viewport"):
                self.problems.append("meta %r" % a)
        if tag == "a":
            href = a.get("href")
            if href is not None:
                low = re.sub(r"[\x00-\x20]", "", href).lower()
                scheme = re.match(r"^([a-z][a-z0-9+.-]*):", low)
                if scheme:
                    if scheme.group(1) not in ("http", "https", "mailto"):
                        self.problems.append("href %r" % href)
                elif "/" in href or not href.endswith(".html"):
                    self.problems.append("relative href %r" % href)
                if a.get("rel") != "noopener noreferrer" and scheme:
                    self.problems.append("link without rel=noopener noreferrer: %r" % href)
        if tag == "img" and not (a.get("src") or "").startswith("data:image/"):
            self.problems.append("img src %r" % a.get("src"))
        if tag in self.VOID:
            return
        mid = a.get("id")[2:] if (a.get("id") or "").startswith("m-") else None
        self.stack.append((tag, mid))
        if mid is not None:
            self.msgs[mid] = {"text": [], "classes": a.get("class", "")}

    def handle_endtag(self, tag):
        if tag == "head":
            self.in_head = False
        while self.stack:
            t, _ = self.stack.pop()
            if t == tag:
                break

    def handle_data(self, data):
        self.text.append(data)
        for _, mid in self.stack:
            if mid is not None:
                self.msgs[mid]["text"].append(data)


def page_checks(raw, where):
    """Checks every HTML document must pass; returns the parsed page."""
    p = Page()
    p.feed(raw)
    p.close()
    low = raw.lower()
    check(not p.problems, "%s: only allow-listed tags and attributes" % where, "\n".join(p.problems[:10]))
    for bad in ("<script", "javascript:", "vbscript:", "onerror", "onload", "evil/", "<iframe", "<svg",
                "<base", "\x1b", "\u202e", "\0"):
        check(bad not in low, "%s: no %r anywhere" % (where, bad))
    return p


def check_html(path, exp):
    files = sorted(f for f in os.listdir(path) if f.endswith(".html"))
    check("index.html" in files, "html: index.html written")
    check(len(files) == len(exp["chats"]) + 1, "html: one page per chat plus the index", files)
    messages = {}
    for f in files:
        raw = open(os.path.join(path, f), encoding="utf-8").read()
        p = page_checks(raw, "html " + f)
        check(p.charset and p.csp, "html %s: meta charset and the CSP meta" % f)
        check(p.styles_in_head == 1, "html %s: one inline stylesheet, in head" % f)
        check("<!doctype html>" in raw.lower()[:20], "html %s: doctype" % f)
        if f == "index.html":
            links = [v for (t, n, v) in p.attrs if t == "a" and n == "href"]
            check(len(links) == len(exp["chats"]), "html index: links every chat page", links)
            from urllib.parse import unquote
            check(all(unquote(l) in files for l in links), "html index: links resolve to pages")
            text = norm("".join(p.text))
            for chat, count in exp["chats"].items():
                want = "%d message%s" % (count, "" if count == 1 else "s")
                check(want in text, "html index: count %s for %s" % (want, chat))
        for mid, m in p.msgs.items():
            messages.setdefault(mid, []).append(m)
    for m in exp["messages"]:
        got = messages.get(m["id"])
        if not check(got, "html: message %s present" % m["id"]):
            continue
        text = norm("".join(got[0]["text"]))
        missing = [s for s in m["snippets"] if norm(s) not in text]
        check(not missing, "html: text of %s present" % m["id"], "missing %r in %r" % (missing, text[:300]))
        check(("deleted" in got[0]["classes"].split()) == m["deleted"],
              "html: %s deleted mark %s" % (m["id"], m["deleted"]))
        if m["edited"]:
            check(re.search(r"\bedited\b", text) is not None, "html: %s edited mark" % m["id"])


# --- EML --------------------------------------------------------------------

ALLOWED_HEADERS = {"from", "to", "subject", "date", "message-id", "in-reply-to", "references",
                   "x-chatvault-chat-id", "x-chatvault-message-id", "mime-version", "content-type"}


def check_eml(path, exp):
    by_id = {m["id"]: m for m in exp["messages"]}
    chats = {}
    dirs = sorted(d for d in os.listdir(path) if os.path.isdir(os.path.join(path, d)))
    check(len(dirs) == len(exp["chats"]), "eml: one folder per chat", dirs)
    seen_ids = set()
    for d in dirs:
        files = sorted(f for f in os.listdir(os.path.join(path, d)) if f.endswith(".eml"))
        prev_id, first_id, chat_id = None, None, None
        problems = []
        for i, f in enumerate(files):
            raw = open(os.path.join(path, d, f), "rb").read()
            where = "%s/%s" % (d, f)
            long_lines = [len(l) for l in raw.split(b"\r\n") if len(l) > 998]
            if long_lines:
                problems.append("%s: line of %d octets" % (where, long_lines[0]))
            if re.search(rb"(?<!\r)\n|\r(?!\n)", raw):
                problems.append("%s: bare CR or LF" % where)
            msg = email.message_from_bytes(raw, policy=email.policy.default)
            defects = list(msg.defects) + [d for part in msg.walk() for d in part.defects]
            if defects:
                problems.append("%s: defects %r" % (where, defects))
            names = {k.lower() for k in msg.keys()}
            if not names <= ALLOWED_HEADERS:
                problems.append("%s: unexpected headers %r" % (where, names - ALLOWED_HEADERS))
            if msg.get_all("Bcc") is not None:
                problems.append("%s: Bcc header" % where)
            for k in ("From", "Date", "Subject", "Message-ID", "X-Chatvault-Chat-Id",
                      "X-Chatvault-Message-Id", "MIME-Version"):
                if msg[k] is None:
                    problems.append("%s: no %s" % (where, k))
            for k, v in msg.items():
                if "\n" in str(v) or "\r" in str(v):
                    problems.append("%s: line break in decoded %s" % (where, k))
            mid = str(msg["Message-ID"])
            if not re.match(r"^<[0-9a-f]{40}@chatvault\.invalid>$", mid):
                problems.append("%s: Message-ID %r" % (where, mid))
            if mid in seen_ids:
                problems.append("%s: Message-ID repeated" % where)
            seen_ids.add(mid)
            chat_id = str(msg["X-Chatvault-Chat-Id"])
            irt, refs = msg["In-Reply-To"], msg["References"]
            if i == 0:
                first_id = mid
                if irt is not None or refs is not None:
                    problems.append("%s: first message replies to something" % where)
            else:
                refs = str(refs or "").split()
                if str(irt) != prev_id:
                    problems.append("%s: In-Reply-To %r, want %r" % (where, irt, prev_id))
                if not refs or refs[0] != first_id or refs[-1] != prev_id or len(refs) > 11:
                    problems.append("%s: References %r" % (where, refs))
            prev_id = mid
            if msg.get_content_type() != "multipart/alternative":
                problems.append("%s: %s" % (where, msg.get_content_type()))
                continue
            plain = msg.get_body(("plain",)).get_content()
            html_part = msg.get_body(("html",)).get_content()
            m = by_id.get(str(msg["X-Chatvault-Message-Id"]))
            if m is None:
                problems.append("%s: unexpected message %s" % (where, msg["X-Chatvault-Message-Id"]))
                continue
            chats[chat_id] = chats.get(chat_id, 0) + 1
            if m["chat"] != chat_id:
                problems.append("%s: in the folder of another chat" % where)
            for s in m["snippets"]:
                if norm(s) not in norm(plain):
                    problems.append("%s: %r not in the text part %r" % (where, s, plain[:200]))
            if ("[deleted" in plain) != m["deleted"] or ("[edited]" in plain) != m["edited"]:
                problems.append("%s: deleted/edited marks wrong" % where)
            if m.get("from_addr") and msg["From"].addresses[0].addr_spec != m["from_addr"]:
                problems.append("%s: From %r, want %r" % (where, msg["From"].addresses[0].addr_spec,
                                                          m["from_addr"]))
            # Python puts a space between the adjacent encoded words of a
            # folded display name (RFC 2047 6.2 says to drop it); the C test
            # compares the exact name through GMime's parser.
            if m["sender"] and re.sub(r"\s", "", msg["From"].addresses[0].display_name) != \
                    re.sub(r"\s", "", m["sender"]):
                problems.append("%s: From name %r" % (where, msg["From"].addresses[0].display_name[:60]))
            p = Page()
            p.feed(html_part)
            if p.problems or any(b in html_part.lower() for b in ("<script", "javascript:", "evil/", "\x1b")):
                problems.append("%s: unsafe HTML part %r" % (where, p.problems[:5]))
        check(not problems, "eml %s: %d files parse cleanly, headers safe, threaded" % (d, len(files)),
              "\n".join(problems[:15]))
    check(chats == exp["chats"], "eml: one file per message, per chat", "%r\nwant %r" % (chats, exp["chats"]))


# --- PDF --------------------------------------------------------------------

def run(argv):
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)


def check_pdf(path, exp):
    files = sorted(f for f in os.listdir(path) if f.endswith(".pdf"))
    check(len(files) == len(exp["chats"]), "pdf: one file per chat", files)
    texts, long_pages = [], None
    for f in files:
        full = os.path.join(path, f)
        r = run(["qpdf", "--check", full])
        check(r.returncode == 0, "pdf %s: qpdf --check passes" % f, r.stdout.decode() + r.stderr.decode())
        pages = int(run(["qpdf", "--show-npages", full]).stdout.decode().strip() or 0)
        t = run(["pdftotext", "-enc", "UTF-8", full, "-"])
        check(t.returncode == 0, "pdf %s: pdftotext reads it" % f, t.stderr.decode())
        text = t.stdout.decode("utf-8", "replace")
        texts.append(text)
        check(0 < pages < 200, "pdf %s: sane page count (%d)" % (f, pages))
        if exp["pdf_long_marker"] in text:
            long_pages = pages
        check("Page 1" in text, "pdf %s: page numbers" % f)
    alltext = norm("\n".join(texts))
    for s in exp["pdf_snippets"]:
        check(norm(s) in alltext, "pdf: text %r present" % s)
    check(long_pages is not None and long_pages >= exp["pdf_min_pages"],
          "pdf: the long chat spans several pages (%s >= %d)" % (long_pages, exp["pdf_min_pages"]))


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("csv", "html", "eml", "pdf"):
        print(__doc__, file=sys.stderr)
        return 2
    exp = json.load(open(sys.argv[3], encoding="utf-8"))
    {"csv": check_csv, "html": check_html, "eml": check_eml, "pdf": check_pdf}[sys.argv[1]](sys.argv[2], exp)
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())

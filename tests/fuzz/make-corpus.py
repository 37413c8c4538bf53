#!/usr/bin/env python3
"""Write the fuzz targets' seed corpus (tests/fuzz/corpus/) from the Graph
simulator's tenant, its hostile strings and a few identity-platform answers.
Run it again after the simulator learns a new shape; the seeds are kept in
the tree so that make check needs no simulator. Inputs that once found a bug
are named found-* and kept: this script replaces only the other seeds."""
import json, os, sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "graphsim"))
import hostile  # noqa: E402
import tenant   # noqa: E402

out = os.path.join(here, "corpus")


def put(target, name, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main():
    for d, _dirs, files in os.walk(out):
        for f in files:
            if not f.startswith("found-"):
                os.unlink(os.path.join(d, f))
    look = json.load(open(os.path.join(here, "..", "..", "data", "demo-tenant.json")))
    t = tenant.Tenant(look, seed=7, users=12, chats_per_user=3, messages_per_chat=60,
                      epoch_ms=1767225600000)
    # messages: every kind the tenant renders, the curated chat 0 first
    kinds, picked = set(), []
    for c in t.chats:
        for i in range(t.ensure(c).count()):
            m = t.message(c, i)
            body = m.get("body") or {}
            key = (m["messageType"], body.get("contentType"), bool(m["attachments"]),
                   bool(m["mentions"]), bool(m["reactions"]), m["deletedDateTime"] is not None,
                   "<img" in (body.get("content") or ""), c.idx == 0)
            if key not in kinds or (c.idx == 0 and len(picked) < 40):
                kinds.add(key)
                picked.append((c, m))
    for k, (c, m) in enumerate(picked[:48]):
        put("fuzz_message", "msg-%02d.json" % k, json.dumps(m, ensure_ascii=False))
    c0 = t.chats[0]
    chat = t.chat_obj(c0)
    chat["members"] = [t.member_obj(c0, u) for u in c0.members]
    put("fuzz_message", "export-file.json", json.dumps(
        {"chat": chat, "messages": [t.message(c0, i) for i in range(6)]}, ensure_ascii=False))
    put("fuzz_message", "page.json", json.dumps(
        {"@odata.nextLink": "https://graph.microsoft.com/v1.0/x?$skiptoken=abc",
         "value": [t.message(t.chats[1], i) for i in range(4)]}, ensure_ascii=False))

    # bodies: mode byte (bit 0 hooks, bit 1 text, bit 2 keep newlines), then the body
    bodies = [m["body"]["content"] for _c, m in picked if m.get("body")]
    bodies += hostile.HTML_BODIES
    for k, b in enumerate(bodies[:40]):
        put("fuzz_html", "html-%02d" % k, bytes([k % 2]) + b.encode("utf-8", "surrogatepass"))
    for k, s in enumerate(hostile.TEXTS):
        put("fuzz_html", "text-%02d" % k, bytes([2 | 4 | (k % 2)]) + s.encode("utf-8", "surrogatepass"))
    for k, s in enumerate(hostile.TOPICS + hostile.FILE_NAMES + ["CON", "lpt1.txt", "..", "  .hidden", "-rf"]):
        put("fuzz_html", "name-%02d" % k, bytes([2]) + s.encode("utf-8", "surrogatepass"))
    put("fuzz_html", "deep", b"\x01" + b"<div><b>" * 300 + b"deep" + b"</b></div>" * 300)
    put("fuzz_html", "invalid-utf8", b"\x00<p>\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80 \xe2\x80\xae</p>")
    put("fuzz_html", "urls", b"\x00<a href=\" JaVa\tScRiPt:alert(1)\">a</a><a href=\"https://ok.example/?a=1&amp;b=2\">b</a>"
        b"<a href=\"//host/x\">c</a><a href=\"mailto:x@y\">d</a><img src=\"https://graph.microsoft.com/v1.0/chats/"
        b"19:a@thread.v2/messages/1/hostedContents/aWQ=/$value\">")

    # identity: status byte, then a body or a header value
    statuses = [200, 400, 401, 402, 403, 404, 409, 429, 500, 502, 503, 504]
    def ident(name, status, body):
        put("fuzz_identity", name, bytes([statuses.index(status)]) + body.encode())
    ident("token", 200, json.dumps({"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
                                    "access_token": "eyJ0eXAiOiJKV1QifQ.eyJhdWQiOiJ4In0.c2ln"}))
    ident("token-string-expiry", 200, '{"token_type":"Bearer","expires_in":"3599","access_token":"abc.def.ghi"}')
    for code, text in [(7000215, "Invalid client secret provided."),
                       (7000222, "The provided client secret keys for app are expired."),
                       (700016, "Application with identifier 'x' was not found in the directory 'y'."),
                       (90002, "Tenant 'z' not found."),
                       (700027, "Client assertion failed signature validation.")]:
        ident("aadsts-%d" % code, 401 if code != 90002 else 400, json.dumps(
            {"error": "invalid_client", "error_description": "AADSTS%d: %s\r\nTrace ID: 1\r\nTimestamp: 2026-01-01"
             % (code, text), "error_codes": [code], "timestamp": "2026-01-01 00:00:00Z"}))
    ident("graph-403", 403, json.dumps({"error": {"code": "Forbidden", "message":
          "Missing role permissions on the request. API requires one of 'Chat.Read.All, Chat.ReadWrite.All'."}}))
    ident("graph-402", 402, json.dumps({"error": {"code": "PaymentRequired", "message":
          "Evaluation capacity for the application and tenant has been exceeded."}}))
    ident("graph-429", 429, json.dumps({"error": {"code": "TooManyRequests", "message": hostile.TEXTS[0]}}))
    ident("graph-404", 404, '{"error":{"code":"NotFound","message":"\\u202eresu\\u001b[2J"}}')
    ident("retry-seconds", 429, "2.128")
    ident("retry-date", 503, "Wed, 21 Oct 2015 07:28:00 GMT")
    ident("time", 200, "2026-02-28T23:59:59.1234567Z")
    ident("time-offset", 200, "2026-01-01T00:00:00+05:30")
    ident("date", 200, "2026-02-29")
    for k, link in enumerate([
            "https://graph.microsoft.com/v1.0/users/x/chats/getAllMessages?$skiptoken=a%20b",
            "https://graph.microsoft.com:443/v1.0/chats?$top=50",
            "HTTPS://GRAPH.MICROSOFT.COM/v1.0/me",
            "/v1.0/users/a b/chats?$filter=lastModifiedDateTime gt 2026-01-01T00:00:00Z",
            "https://graph.microsoft.com.evil.example/v1.0/x",
            "https://evil.example|@graph.microsoft.com/v1.0/x",
            "https://graph.microsoft.com\\@evil.example/v1.0/x",
            "https://graph.microsoft.com@evil.example/v1.0/x",
            "//evil.example/v1.0/x",
            "http://graph.microsoft.com/v1.0/x"]):
        ident("link-%02d" % k, 200, link)

    # records: a few shapes of bytes; the target seals the genuine ones itself
    put("fuzz_record", "empty", b"")
    put("fuzz_record", "version-byte", b"\x01" + bytes(range(40)))
    put("fuzz_record", "flips", bytes([0, 5, 0, 1, 40, 0, 128]))
    put("fuzz_record", "cut", bytes([1, 17, 0, 0]))
    put("fuzz_record", "tail", bytes([2, 0, 0, 0]) + b"appended")


if __name__ == "__main__":
    main()

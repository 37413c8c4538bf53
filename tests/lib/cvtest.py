"""Helpers for chatvault's integration and console tests.

Each test gets a fresh temporary home, its own Graph simulator on an
ephemeral loopback port, and runs the real chatvault binary exactly as a
user or a script would (CLI.md). Standard library only.
"""
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

CHATVAULT = os.environ.get("CHATVAULT", "chatvault")
GRAPHSIM = os.environ.get("GRAPHSIM", os.path.join(os.path.dirname(__file__), "..", "graphsim", "graphsim.py"))

# Fast but still OWASP-minimum KDF parameters, so each test's store opens quickly.
FAST_KDF = {"CHATVAULT_KDF_MEMORY_KIB": "19456", "CHATVAULT_KDF_ITERATIONS": "2"}


class Sim:
    """A running Graph simulator and what it told us about itself."""

    def __init__(self, workdir, *args):
        self.info_path = os.path.join(workdir, "sim-info.json")
        self.log = open(os.path.join(workdir, "sim.log"), "w")
        self.proc = subprocess.Popen([sys.executable, GRAPHSIM, "--info-file", self.info_path, *args],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while not os.path.exists(self.info_path):
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("graph simulator did not start; see " + self.log.name)
            time.sleep(0.05)
        with open(self.info_path) as f:
            self.info = json.load(f)
        self.base = "http://127.0.0.1:%d" % self.info["port"]

    def app(self, name):
        return self.info["apps"][name]

    def get(self, path):
        with urllib.request.urlopen(self.base + path, timeout=120) as r:
            return json.load(r)

    def post(self, path, body=None):
        data = json.dumps(body or {}).encode()
        req = urllib.request.Request(self.base + path, data=data, method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=120) as r:
            raw = r.read()
            return json.loads(raw) if raw else None

    def truth(self):
        return self.get("/_sim/truth")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()


class Result:
    def __init__(self, proc):
        self.rc = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr

    def json(self):
        return json.loads(self.out)


class ChatvaultTest(unittest.TestCase):
    """Base class: a temp dir, a store home, a passphrase file, helpers."""

    sim_args = ("--users", "6", "--chats-per-user", "3", "--messages-per-chat", "30", "--throttle", "off")

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="cvtest-")
        self.home = os.path.join(self.dir, "home")
        self.passfile = self.write_secret("pass", "correct horse battery staple\n")
        self.sim = None
        self.env = dict(os.environ, **FAST_KDF)
        self.env.pop("CHATVAULT_HOME", None)
        self.env.pop("CHATVAULT_PASSPHRASE_FILE", None)
        self.env["LC_ALL"] = "C.UTF-8"

    def tearDown(self):
        if self.sim:
            self.sim.stop()
        if os.environ.get("CV_KEEP_TMP"):
            print("# kept", self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    def write_secret(self, name, text):
        path = os.path.join(self.dir, name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        return path

    def start_sim(self, *args):
        self.sim = Sim(self.dir, *(args or self.sim_args))
        return self.sim

    def cv(self, *args, ok=True, timeout=600, env=None, home=True):
        cmd = [CHATVAULT]
        if home:
            cmd += ["-H", self.home, "-p", self.passfile]
        cmd += list(args)
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env or self.env)
        res = Result(proc)
        if ok is True and res.rc != 0:
            self.fail("chatvault %s exited %d\nstdout:\n%s\nstderr:\n%s" % (" ".join(args), res.rc, res.out, res.err))
        return res

    def tenant_args(self, app="full", secret=None):
        a = self.sim.app(app)
        args = ["--tenant-id", self.sim.info["tenant_id"], "--client-id", a["client_id"],
                "--login-url", self.sim.info["login_url"], "--graph-url", self.sim.info["graph_url"]]
        if secret is not None or "secret" in a:
            path = self.write_secret("secret-" + app, (secret if secret is not None else a["secret"]) + "\n")
            args += ["--secret-file", path]
        return args

    def setup_tenant(self, app="full", activate=True):
        self.cv("init")
        self.cv("tenant", "add", *self.tenant_args(app))
        self.cv("accounts", "sync")
        if activate:
            self.cv("privchat", "activate", "--all")

    def poll_catalog(self, sql, proc=None, timeout=60, interval=0.05):
        """Run sql (one value) on the store's catalog until it is true, proc
        (if given) has ended, or timeout seconds passed; the last value."""
        deadline, value = time.time() + timeout, None
        while time.time() < deadline and (proc is None or proc.poll() is None):
            db = sqlite3.connect(os.path.join(self.home, "catalog.db"), timeout=5)
            try:
                value = db.execute(sql).fetchone()[0]
            finally:
                db.close()
            if value:
                break
            time.sleep(interval)
        return value

    def backup(self, *args, env=None):
        """Run a backup that must finish. The simulated tenant has shared
        files that answer 403 or 404 on purpose, so exit 3 is accepted when
        every account that did not complete says it was only such files."""
        res = self.cv("backup", *args, ok=None, env=env)
        if res.rc == 3:
            for a in self.cv("--json", "accounts", "list").json():
                if a["status"] not in ("Completed", ""):
                    self.assertEqual(a["status"], "Partially Completed", a)
                    self.assertRegex(a["reason"] or "", r"^\d+ files? could not be downloaded: ", a)
        elif res.rc != 0:
            self.fail("chatvault backup exited %d\nstderr:\n%s" % (res.rc, res.err))
        return res

    def damage_one_record(self, upn):
        """Flip one bit in the middle of a sealed message of upn's chats."""
        db = sqlite3.connect(os.path.join(self.home, "catalog.db"))
        row_id, blob = db.execute(
            "SELECT m.id, m.raw_enc FROM messages m JOIN account_chats ac ON ac.chat = m.chat"
            " JOIN accounts a ON a.id = ac.account WHERE a.upn = ? LIMIT 1", (upn,)).fetchone()
        flipped = bytearray(blob)
        flipped[len(flipped) // 2] ^= 0x01
        db.execute("UPDATE messages SET raw_enc = ? WHERE id = ?", (bytes(flipped), row_id))
        db.commit()
        db.close()

    def download_json(self, upn, *extra):
        out = os.path.join(self.dir, "dl-" + upn.split("@")[0])
        shutil.rmtree(out, ignore_errors=True)
        self.cv("download", "--user", upn, "--format", "json", "--out", out, *extra)
        chats = {}
        for name in os.listdir(out):
            with open(os.path.join(out, name), encoding="utf-8") as f:
                doc = json.load(f)
            chats[doc["chat"]["id"]] = doc
        return chats


def sender(msg):
    frm = msg.get("from") or {}
    who = frm.get("user") or frm.get("application") or {}
    return who.get("id")


def missing_files(truth, chats):
    """How many (message, file) pairs in these chats Graph refuses."""
    n = 0
    for c in chats:
        for m in c["messages"]:
            urls = {a["contentUrl"] for a in m.get("attachments") or []
                    if a.get("contentType") == "reference" and (a.get("contentUrl") or "").startswith("https://")}
            n += sum(1 for u in urls if truth["files"][u]["status"] != 200)
    return n


def kept_content(chat, msg):
    """A message as an export shows it: Graph empties a deleted message's
    body, the store keeps the last content it backed up (the truth's
    versions are the states the simulator served, all backed up here)."""
    if not msg.get("deletedDateTime") or (msg.get("body") or {}).get("content"):
        return msg
    for old in reversed(chat.get("versions", {}).get(msg["id"], [])):
        if (old.get("body") or {}).get("content"):
            return dict(msg, body=old["body"])
    return msg


class TruthChecks:
    """Comparisons of the store's exports with the simulator's ground truth
    (mixed into a ChatvaultTest)."""

    def expected_rc(self, truth=None):
        """3 (Partially Completed) when some shared file is refused, else 0."""
        truth = truth or self.sim.truth()
        return 3 if missing_files(truth, truth["chats"]) else 0

    def expected_status(self):
        return "Partially Completed" if self.expected_rc() else "Completed"

    def check_against_truth(self, truth=None, as_of=None, statuses=True):
        """Every account's JSON download equals the truth's chats exactly;
        returns the number of messages compared."""
        truth = truth or self.sim.truth()
        by_chat = {c["id"]: c for c in truth["chats"]}
        accounts = {a["upn"]: a for a in self.cv("--json", "accounts", "list").json()}
        self.assertEqual(len(accounts), len(truth["users"]))
        extra = ("--as-of", str(as_of)) if as_of else ()
        total = 0
        for user in truth["users"]:
            upn = user["userPrincipalName"]
            expected = {c["id"] for c in truth["chats"]
                        if any(m.get("userId") == user["id"] for m in c["members"])}
            # A shared file that answers 403 or 404 makes the account
            # Partially Completed, and the reason counts them.
            missing = missing_files(truth, [by_chat[c] for c in expected])
            if statuses and missing:
                self.assertEqual(accounts[upn]["status"], "Partially Completed", upn)
                self.assertRegex(accounts[upn]["reason"], r"^%d files? could not be downloaded: " % missing)
            elif statuses:
                self.assertEqual(accounts[upn]["status"], "Completed", upn)
            got = self.download_json(upn, *extra)
            self.assertEqual(set(got), expected, "chats of " + upn)
            if as_of is None:
                # The chats' message counts (added per transaction) agree.
                self.assertEqual(accounts[upn]["messages"], sum(len(by_chat[c]["messages"]) for c in expected),
                                 "messages counted for " + upn)
            for chat_id, doc in got.items():
                want = by_chat[chat_id]
                self.assertEqual(len(doc["chat"]["members"]), len(want["members"]), chat_id)
                msgs = doc["messages"]
                self.assertEqual([m["id"] for m in msgs], [m["id"] for m in want["messages"]], chat_id)
                for g, w in zip(msgs, [kept_content(want, m) for m in want["messages"]]):
                    self.assertEqual(g["body"]["content"], w["body"]["content"], (chat_id, w["id"]))
                    self.assertEqual(g["createdDateTime"], w["createdDateTime"])
                    self.assertEqual(g["lastModifiedDateTime"], w["lastModifiedDateTime"])
                    self.assertEqual(sender(g), sender(w))
                    self.assertEqual(g, w, "every field Graph returned")
                total += len(msgs)
        if as_of is None:
            self.assertTrue(self.check_running_figures(), "no snapshot")
        return total

    def check_running_figures(self):
        """The figures kept as messages are stored agree with a count of the
        messages table: each snapshot's new versions, each chat's newest
        lastModifiedDateTime (its watermark's source). Also right after a
        kill: they are written in the same transactions. Returns the number
        of snapshots."""
        db = sqlite3.connect("file:%s?mode=ro" % os.path.join(self.home, "catalog.db"), uri=True)
        try:
            snaps = db.execute("SELECT id, messages_added, (SELECT count(*) FROM messages m WHERE m.snapshot = s.id)"
                               " FROM snapshots s").fetchall()
            chats = db.execute("SELECT id, newest_modified, (SELECT max(modified) FROM messages m"
                               " WHERE m.chat = c.id) FROM chats c").fetchall()
        finally:
            db.close()
        for sid, kept, counted in snaps:
            self.assertEqual(kept, counted, "versions added by snapshot %d" % sid)
        for cid, kept, newest in chats:
            self.assertEqual(kept, newest, "newest change held in chat %d" % cid)
        return len(snaps)


def main():
    unittest.main(verbosity=2)

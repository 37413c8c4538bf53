"""Backup depth: incremental runs after edits, deletions, reactions and new
messages (compared exactly with the ground truth, old versions through
--as-of), hosted images and shared files byte for byte, chats that start to
answer 403/404, and resuming after the process is killed at random points."""
import base64
import email
import email.policy
import hashlib
import os
import random
import re
import signal
import sqlite3
import subprocess
import time
import zipfile

import urllib.parse

import cvtest


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()


def user_chats(truth, user):
    return [c for c in truth["chats"] if any(m.get("userId") == user["id"] for m in c["members"])]


def expected_files(truth, chats):
    """(sha256 of every stored file, count of refused ones) for these chats,
    one per (message, file) as an export writes them."""
    digests, refused = [], 0
    for c in chats:
        for m in c["messages"]:
            seen = set()
            for key, info in truth["hosted"].items():
                if key.startswith("%s/%s/" % (c["id"], m["id"])):
                    digests.append(info["sha256"])
            for a in m.get("attachments") or []:
                url = a.get("contentUrl") or ""
                if a.get("contentType") != "reference" or not url.startswith("https://") or url in seen:
                    continue
                seen.add(url)
                info = truth["files"][url]
                if info["status"] == 200:
                    digests.append(info["sha256"])
                else:
                    refused += 1
    return sorted(digests), refused


class BackupDepth(cvtest.ChatvaultTest, cvtest.TruthChecks):
    sim_args = ("--users", "10", "--chats-per-user", "4", "--messages-per-chat", "200",
                "--throttle", "off", "--seed", "5")

    def snapshot_ids(self):
        return [s["id"] for s in self.cv("--json", "snapshots").json()]

    def reads(self):
        """Message-reading requests since the last stats reset: per chat
        (/chats/{id}/messages), export windows (getAllMessages) and delta."""
        h = self.sim.get("/_sim/stats")["by_handler"]
        return h.get("messages", 0), h.get("all", 0), h.get("delta", 0)

    def test_per_chat_reads_interleave(self):
        """A chat answers one request a second. A chat task gives its worker
        back while it waits, so even one worker reads the chats' pages
        interleaved rather than chat after chat."""
        self.start_sim()
        self.setup_tenant()
        self.sim.post("/_sim/stats/reset")
        self.backup("--per-chat", env=dict(self.env, CHATVAULT_WORKERS="1"))
        st = self.sim.get("/_sim/stats")
        chats = len(self.sim.truth()["chats"])
        print("# one worker, %d chats: %d message pages, %d switches between chats"
              % (chats, st["by_handler"]["messages"], st["chat_switches"]))
        # Chat after chat would switch once per chat; each has four pages.
        self.assertGreater(st["chat_switches"], 2 * chats)
        self.check_against_truth(statuses=False)

    def test_incremental_versions_and_as_of_per_chat(self):
        """The per-chat path: each chat is read from its watermark."""
        self.start_sim()
        self.setup_tenant()
        self.sim.post("/_sim/stats/reset")
        self.backup("--per-chat")
        first, windows, deltas = self.reads()
        self.assertEqual((windows, deltas), (0, 0))
        before = self.sim.truth()
        snap1 = self.snapshot_ids()[-1]

        changed = self.sim.post("/_sim/mutate", {"edit": 0.03, "delete": 0.02, "new": 40, "react": 0.03,
                                                 "seed": 9})
        self.assertGreater(min(changed.values()), 0, changed)
        self.sim.post("/_sim/stats/reset")
        self.backup("--per-chat")
        second = self.reads()[0]
        chats = len(before["chats"])
        print("# first run: %d chat-message requests; after %s: %d (%d chats)" % (first, changed, second, chats))
        # Each chat is read from its watermark: about one page per chat
        # (plus the images of new messages), not the whole history again.
        self.assertLess(second, first * 0.4)
        self.assertLessEqual(second, 2 * chats + 10)
        self.check_versions_and_as_of(before, snap1)

        # A third run with nothing changed reads one page per chat.
        self.sim.post("/_sim/stats/reset")
        self.backup("--per-chat")
        self.assertLessEqual(self.reads()[0], chats)

    def test_incremental_versions_and_as_of_export(self):
        """The export API path: the first run reads users' exports in
        windows, later runs follow each user's delta link."""
        self.start_sim()
        self.setup_tenant()
        self.sim.post("/_sim/stats/reset")
        self.backup()
        per_chat, windows, deltas = self.reads()
        before = self.sim.truth()
        snap1 = self.snapshot_ids()[-1]
        users = len(before["users"])
        self.assertEqual(per_chat, 0)
        self.assertGreater(windows, 0)
        # The delta rounds read the newest months themselves (their first
        # run starts where the windows stop) and the windows the rest, so
        # pages are full but for one part page per task.
        served = self.sim.get("/_sim/stats")["exported"]
        db = sqlite3.connect(os.path.join(self.home, "catalog.db"))
        tasks = db.execute("SELECT count(*) FROM tasks WHERE kind IN ('window', 'delta')").fetchone()[0]
        rounds = db.execute("SELECT count(*) FROM tasks WHERE kind = 'delta' AND key NOT LIKE '%/0'").fetchone()[0]
        db.close()
        self.assertLessEqual(tasks, users * 5)
        self.assertGreater(rounds, 0)
        self.assertGreater(deltas, rounds)
        self.assertLessEqual(windows + deltas, -(-served // 50) + tasks)
        note = self.cv("--json", "jobs", "list", "--kind", "backup").json()[-1]["note"]
        self.assertRegex(note, r"^export API: \d+ users' exports \(\d+ read in windows")
        # A shared message is fetched about once, not once per member.
        unique = sum(len(c["messages"]) for c in before["chats"] if c.get("access", 200) == 200)
        print("# export path, first run: %d windows pages, %d delta pages, %d messages served for %d unique"
              % (windows, deltas, served, unique))
        self.assertLess(served, unique * 1.5)

        changed = self.sim.post("/_sim/mutate", {"edit": 0.03, "delete": 0.02, "new": 40, "react": 0.03,
                                                 "seed": 9})
        self.sim.post("/_sim/stats/reset")
        self.backup()
        per_chat, windows, deltas = self.reads()
        print("# export path, after %s: %d delta requests, %d messages served" %
              (changed, deltas, self.sim.get("/_sim/stats")["exported"]))
        self.assertEqual((per_chat, windows), (0, 0))
        self.assertLessEqual(deltas, 2 * users)
        self.check_versions_and_as_of(before, snap1)

        # Nothing changed: one delta request per user read, nothing else.
        self.sim.post("/_sim/stats/reset")
        self.backup()
        per_chat, windows, deltas = self.reads()
        self.assertEqual((per_chat, windows), (0, 0))
        self.assertLessEqual(deltas, users)
        self.check_against_truth(self.sim.truth(), statuses=False)

    def check_versions_and_as_of(self, before, snap1):
        # (statuses describe one run: the first run reported the refused files)
        after = self.sim.truth()
        self.check_against_truth(after, statuses=False)
        # The first run is still there, exactly as it was.
        self.check_against_truth(before, as_of=snap1, statuses=False)
        self.assertEqual(len(self.snapshot_ids()), 2)

        # Every earlier state the simulator served is kept as a version.
        db = sqlite3.connect(os.path.join(self.home, "catalog.db"))
        versions = dict(((c, m), n) for c, m, n in db.execute(
            "SELECT c.chat_id, m.message_id, count(*) FROM messages m JOIN chats c ON c.id = m.chat"
            " GROUP BY m.chat, m.message_id"))
        db.close()
        touched = 0
        for c in after["chats"]:
            for mid, old in c["versions"].items():
                self.assertEqual(versions[(c["id"], mid)], len(old) + 1, (c["id"], mid))
                touched += 1
        self.assertGreater(touched, 10)

    def test_files_byte_for_byte(self):
        self.start_sim()
        self.setup_tenant()
        self.backup()
        truth = self.sim.truth()
        checked = 0
        for user in truth["users"][:4]:
            upn = user["userPrincipalName"]
            out = os.path.join(self.dir, "att-" + upn.split("@")[0])
            res = self.cv("download", "--user", upn, "--format", "json", "--attachments", "--out", out)
            want, refused = expected_files(truth, user_chats(truth, user))
            got, unavailable = [], 0
            for root, _, files in os.walk(out):
                if root == out:
                    continue  # the chats' .json pages
                for name in files:
                    if name.endswith(".unavailable.txt"):
                        unavailable += 1
                        with open(os.path.join(root, name), encoding="utf-8") as f:
                            self.assertIn("not available", f.read())
                    else:
                        got.append(sha256_file(os.path.join(root, name)))
            self.assertEqual(sorted(got), want, upn)
            self.assertEqual(unavailable, refused, upn)
            if refused:
                self.assertRegex(res.err, r"%d attachments? (was|were) not available" % refused)
            checked += len(got)
        self.assertGreater(checked, 20)

        # HTML: inline images are embedded (and equal to the stored bytes),
        # nothing points at Graph, files link to their copies.
        hosted = {v["sha256"] for v in truth["hosted"].values()}
        upn = truth["users"][0]["userPrincipalName"]
        out = os.path.join(self.dir, "html")
        self.cv("download", "--user", upn, "--format", "html", "--attachments", "--out", out)
        embedded = 0
        for name in os.listdir(out):
            if not name.endswith(".html"):
                continue
            with open(os.path.join(out, name), encoding="utf-8") as f:
                page = f.read()
            self.assertNotIn("hostedContents", page)
            for url in re.findall(r'href="([^"]+)"', page):
                self.assertNotIn("/personal/", url, "a file link points at OneDrive")
            for data in re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page):
                self.assertIn(hashlib.sha256(base64.b64decode(data)).hexdigest(), hosted)
                embedded += 1
            for href, attrs in re.findall(r'<a href="([^"#:]+)"([^>]*)>', page):
                target = os.path.join(out, *[urllib.parse.unquote(p) for p in href.split("/")])
                self.assertTrue(os.path.isfile(target), href)
                # a file's copy is downloaded, not opened (a .html file
                # would run); the pages link each other plainly
                self.assertEqual(attrs, " download" if "/" in href else "", (name, href))
        self.assertGreater(embedded, 0)

        # EML: the files are MIME parts, byte for byte, and every message
        # still parses without defects.
        out = os.path.join(self.dir, "eml")
        self.cv("download", "--user", upn, "--format", "eml", "--attachments", "--out", out)
        want, refused = expected_files(truth, user_chats(truth, truth["users"][0]))
        got, notes = [], 0
        for root, _, files in os.walk(out):
            for name in files:
                if not name.endswith(".eml"):
                    continue
                with open(os.path.join(root, name), "rb") as f:
                    mail = email.message_from_binary_file(f, policy=email.policy.default)
                self.assertEqual(mail.defects, [], name)
                for part in mail.iter_attachments():
                    self.assertEqual(part.defects, [], name)
                    if part.get_content_type() == "text/plain":
                        self.assertIn("not available", part.get_content())
                        notes += 1
                    else:
                        got.append(hashlib.sha256(part.get_payload(decode=True)).hexdigest())
        self.assertEqual(sorted(got), want)
        self.assertEqual(notes, refused)
        # ... and a second, independent parser (Perl's Email::MIME) agrees.
        emls = [os.path.join(root, n) for root, _, files in os.walk(out) for n in files if n.endswith(".eml")]
        perl = subprocess.run(["perl", os.path.join(os.path.dirname(cvtest.__file__), "eml_parts.pl"), *emls],
                              capture_output=True, text=True)
        self.assertEqual(perl.returncode, 0, perl.stderr)
        parts = [line.split("\t") for line in perl.stdout.splitlines()]
        self.assertEqual(sorted(d for _, t, d in parts if t != "text/plain"), want)
        self.assertEqual(sum(1 for _, t, _ in parts if t == "text/plain"), refused)
        # The job's zip holds the same tree, byte for byte: a file per message
        # plus the attachment folders.
        job = self.cv("--json", "jobs", "list", "--kind", "download").json()[-1]
        tree = {os.path.relpath(os.path.join(root, n), out): sha256_file(os.path.join(root, n))
                for root, _, files in os.walk(out) for n in files}
        with zipfile.ZipFile(job["result"]) as zf:
            self.assertIsNone(zf.testzip())
            inzip = {i.filename: hashlib.sha256(zf.read(i)).hexdigest() for i in zf.infolist()}
        self.assertEqual(inzip, tree)
        self.assertTrue(any("/" in name for name in inzip))

        # PDF: every inline image is drawn (pdfimages lists what the pages hold).
        out = os.path.join(self.dir, "pdf")
        self.cv("download", "--user", upn, "--format", "pdf", "--attachments", "--out", out)
        images = 0
        for name in os.listdir(out):
            if name.endswith(".pdf"):
                listing = subprocess.run(["pdfimages", "-list", os.path.join(out, name)], capture_output=True,
                                         text=True, check=True).stdout
                images += sum(1 for line in listing.splitlines()[2:] if line.strip())
        chats = {c["id"] for c in user_chats(truth, truth["users"][0])}
        self.assertEqual(images, sum(1 for k in truth["hosted"] if k.split("/")[0] in chats))

    def test_chat_answering_403_and_404(self):
        self.start_sim()
        self.setup_tenant()
        self.backup()
        truth = self.sim.truth()
        group = [c for c in truth["chats"] if c["chatType"] == "group" and c["topic"] != "Hostile content"]
        gone, denied = group[0], group[1]
        self.sim.post("/_sim/chat/forbid", {"id": gone["id"], "status": 404})
        self.sim.post("/_sim/chat/forbid", {"id": denied["id"], "status": 403})
        self.sim.post("/_sim/mutate", {"new": 30, "seed": 4})
        # Per chat: a user's export leaves out a chat it may not read, so
        # only a chat's own endpoint says 403 or 404.
        res = self.cv("backup", "--per-chat", ok=None)
        self.assertEqual(res.rc, 3, res.err)
        accounts = {a["upn"]: a for a in self.cv("--json", "accounts", "list").json()}
        ids = {u["id"]: u["userPrincipalName"] for u in truth["users"]}
        for chat, code in ((gone, "404"), (denied, "403")):
            for m in chat["members"]:
                a = accounts[ids[m["userId"]]]
                self.assertEqual(a["status"], "Partially Completed", a)
                self.assertIn("could not be backed up", a["reason"])
        # What was backed up before is still there.
        member = ids[gone["members"][0]["userId"]]
        got = self.download_json(member)
        self.assertEqual([m["id"] for m in got[gone["id"]]["messages"]], [m["id"] for m in gone["messages"]])

    def test_refused_files_asked_again_after_a_week(self):
        """A file refused for good (403, 404) is asked for again a week
        after its last try, since an admin may grant the app Files.Read.All
        or an owner share the file again. A repeat of the refusal an earlier
        run reported is not reported again; a different one is."""
        self.start_sim()
        roles = self.sim.app("full")["permissions"]
        self.sim.post("/_sim/app", {"app": "full",
                                                "permissions": [r for r in roles if r != "Files.Read.All"]})
        self.setup_tenant()
        res = self.cv("backup", ok=None)
        self.assertEqual(res.rc, 3, res.err)
        accounts = self.cv("--json", "accounts", "list").json()
        self.assertTrue(any(a["status"] == "Partially Completed" and "app lacks Files.Read.All" in a["reason"]
                            for a in accounts), accounts)
        truth = self.sim.truth()
        shared = [u for u, f in truth["files"].items() if f["status"] == 200]
        self.assertGreater(len(shared), 5)

        # Granted now, but the refusals are a day old: nothing is asked.
        self.sim.post("/_sim/app", {"app": "full", "permissions": roles})
        self.sim.post("/_sim/stats/reset")
        res = self.cv("backup", ok=None)
        self.assertEqual(res.rc, 0, res.err)
        self.assertEqual(self.sim.get("/_sim/stats")["by_handler"].get("share", 0), 0)

        # A week on, every refused file is asked again: the ones shared
        # now are stored, a file now gone (404) is a new problem, a file
        # still refused (403) was reported already.
        db = sqlite3.connect(os.path.join(self.home, "catalog.db"))
        with db:
            db.execute("UPDATE files SET tried = tried - 8 * 86400000 WHERE status IN (403, 404)")
        db.close()
        self.sim.post("/_sim/stats/reset")
        res = self.cv("backup", ok=None)
        self.assertEqual(res.rc, 3, res.err)
        self.assertGreater(self.sim.get("/_sim/stats")["by_handler"].get("share", 0), len(shared) // 2)
        ids = {u["id"]: u for u in truth["users"]}
        gone = {u for u, f in truth["files"].items() if f["status"] == 404}
        for a in self.cv("--json", "accounts", "list").json():
            user = next(u for u in ids.values() if u["userPrincipalName"] == a["upn"])
            chats = user_chats(truth, user)
            lost = any(att.get("contentUrl") in gone for c in chats for m in c["messages"]
                       for att in m.get("attachments") or [] if att.get("contentType") == "reference")
            if lost:
                self.assertEqual(a["status"], "Partially Completed", a)
                self.assertIn("(404)", a["reason"])
            else:
                self.assertEqual(a["status"], "Completed", a)
            out = os.path.join(self.dir, "files-" + a["upn"].split("@")[0])
            self.cv("download", "--user", a["upn"], "--format", "json", "--attachments", "--out", out)
            got = sorted(sha256_file(os.path.join(r, n)) for r, _, names in os.walk(out) if r != out
                         for n in names if not n.endswith(".unavailable.txt"))
            self.assertEqual(got, expected_files(truth, chats)[0], a["upn"])

        # Just tried again: the next run asks nothing and reports nothing.
        self.sim.post("/_sim/stats/reset")
        res = self.cv("backup", ok=None)
        self.assertEqual(res.rc, 0, res.err)
        self.assertEqual(self.sim.get("/_sim/stats")["by_handler"].get("share", 0), 0)

    def test_account_deactivated_during_the_run(self):
        """An account deactivated while a backup runs stays Deactivated:
        the run neither reports on it nor calls it backed up, and the chats
        no ACTIVE account is in any more are not read."""
        self.start_sim("--users", "6", "--chats-per-user", "2", "--messages-per-chat", "120", "--throttle", "off",
                       "--seed", "12")
        self.setup_tenant()
        self.sim.post("/_sim/config", {"latency_ms": 150})
        truth = self.sim.truth()
        user = truth["users"][0]
        upn = user["userPrincipalName"]
        cmd = [cvtest.CHATVAULT, "-H", self.home, "-p", self.passfile, "backup", "--per-chat"]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=self.env)
        db_path = os.path.join(self.home, "catalog.db")
        deadline = time.time() + 60
        started = False
        while not started and proc.poll() is None and time.time() < deadline:
            time.sleep(0.1)
            db = sqlite3.connect(db_path, timeout=5)
            started = db.execute("SELECT count(*) FROM tasks WHERE kind = 'chat'").fetchone()[0] > 0
            db.close()
        self.assertTrue(started, "the backup ended before its chats were queued")
        self.cv("privchat", "deactivate", upn)
        self.sim.post("/_sim/stats/reset")
        proc.wait(300)
        self.sim.post("/_sim/config", {"latency_ms": 0})
        a = next(a for a in self.cv("--json", "accounts", "list").json() if a["upn"] == upn)
        self.assertEqual((a["privateChat"], a["status"], a["lastBackup"]), ("INACTIVE", "Deactivated", None), a)
        others = [a for a in self.cv("--json", "accounts", "list").json() if a["upn"] != upn]
        self.assertTrue(all(a["status"] in ("Completed", "Partially Completed") for a in others), others)
        # A chat of the deactivated user alone (with others all gone
        # inactive too) is not read; shared chats still are.
        alone = [c for c in user_chats(truth, user)
                 if all(m.get("userId") == user["id"] for m in c["members"] if m.get("userId"))]
        db = sqlite3.connect(db_path)
        for c in alone:
            n = db.execute("SELECT count(*) FROM messages m JOIN chats ch ON ch.id = m.chat WHERE ch.chat_id = ?",
                           (c["id"],)).fetchone()[0]
            self.assertLess(n, len(c["messages"]), c["id"])
        db.close()

    def test_user_removed_from_the_tenant(self):
        """A user removed in Entra ID: the run that meets it says so and
        keeps the backups; after a sync it is no longer backed up and says
        why, and it is not counted as backed up; back in the tenant, it is
        backed up again."""
        self.start_sim("--users", "5", "--chats-per-user", "2", "--messages-per-chat", "20", "--throttle", "off",
                       "--seed", "14")
        self.setup_tenant()
        self.accounts = lambda: {a["upn"]: a for a in self.cv("--json", "accounts", "list").json()}
        self.backup()
        upn = sorted(self.accounts())[0]
        before = self.accounts()[upn]
        self.sim.post("/_sim/user/remove", {"id": upn})
        self.cv("backup", ok=False)
        a = self.accounts()[upn]
        self.assertEqual((a["status"], a["reason"]),
                         ("Partially Completed", "the user no longer exists in the tenant; earlier backups are kept"))
        self.assertEqual(a["messages"], before["messages"])
        out = self.cv("accounts", "sync").err
        self.assertIn("1 no longer in the tenant", out)
        a = self.accounts()[upn]
        self.assertEqual((a["status"], a["inTenant"], a["privateChat"]), ("Deactivated", False, "ACTIVE"), a)
        self.assertIn("no longer in the tenant", a["reason"])
        self.sim.post("/_sim/stats/reset")
        self.assertEqual(self.cv("backup", ok=False).rc, 0)  # refusals reported before are not again
        self.assertEqual(self.accounts()[upn], a, "a run changed an account no longer in the tenant")
        db = sqlite3.connect(os.path.join(self.home, "catalog.db"))
        # What the Dashboard counts: backed up, of the accounts in the tenant.
        [(backed_up, in_tenant)] = db.execute(
            "SELECT (SELECT count(*) FROM accounts WHERE gone = 0 AND last_backup IS NOT NULL),"
            " (SELECT count(*) FROM accounts WHERE gone = 0)").fetchall()
        db.close()
        self.assertEqual((backed_up, in_tenant), (4, 4))
        # Restored in Entra ID: the next sync brings it back, the next run
        # backs it up.
        self.sim.post("/_sim/user/restore", {"id": upn})
        self.cv("accounts", "sync")
        a = self.accounts()[upn]
        self.assertEqual((a["status"], a["reason"], a["inTenant"]), ("", None, True), a)
        self.backup()
        self.assertIn(self.accounts()[upn]["status"], ("Completed", "Partially Completed"))
        # (statuses aside: refusals reported by an earlier run are not again)
        self.check_against_truth(statuses=False)

    def test_resumed_backup_reads_up_to_now(self):
        """A backup killed after some of its reads finished, resumed by the
        next backup command after new messages arrived: the resumed run
        reads up to now, not only what the killed one had left."""
        self.start_sim("--users", "6", "--chats-per-user", "3", "--messages-per-chat", "60", "--throttle", "off",
                       "--seed", "31")
        self.setup_tenant()
        self.backup()
        self.sim.post("/_sim/mutate", {"new": 30, "seed": 5})
        self.sim.post("/_sim/config", {"latency_ms": 500})
        proc = subprocess.Popen([cvtest.CHATVAULT, "-H", self.home, "-p", self.passfile, "backup"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=self.env)
        done = self.poll_catalog("SELECT count(*) FROM tasks t JOIN jobs j ON j.id = t.job"
                                 " WHERE j.id = (SELECT max(id) FROM jobs) AND j.finished IS NULL"
                                 " AND t.kind IN ('delta', 'chat') AND t.state = 'done'"
                                 " AND EXISTS (SELECT 1 FROM tasks u WHERE u.job = j.id"
                                 " AND u.kind IN ('delta', 'chat') AND u.state IN ('queued', 'running'))",
                                 proc, timeout=120)
        proc.kill()
        proc.wait()
        self.assertTrue(done, "the backup ended before any read finished")
        self.sim.post("/_sim/config", {"latency_ms": 0})
        jobs = sorted(self.cv("--json", "jobs", "list", "--kind", "backup").json(), key=lambda j: j["id"])
        self.assertIsNone(jobs[-1]["finished"])
        # New messages after the kill, then "back up now": the same job
        # resumes (nothing is read twice for nothing) and has them all.
        self.sim.post("/_sim/mutate", {"new": 40, "seed": 6})
        self.backup()
        after = sorted(self.cv("--json", "jobs", "list", "--kind", "backup").json(), key=lambda j: j["id"])
        self.assertEqual([j["id"] for j in after], [j["id"] for j in jobs], "the killed job was not resumed")
        self.assertLessEqual(after[-1]["done"], after[-1]["total"], after[-1])
        self.check_against_truth(statuses=False)

    def test_monthly_cap_suspends(self):
        self.start_sim("--users", "6", "--chats-per-user", "3", "--messages-per-chat", "60", "--throttle", "off",
                       "--seed", "8")
        self.cv("init")
        self.cv("tenant", "add", *self.tenant_args(), "--monthly-limit", "150")
        self.cv("accounts", "sync")
        self.cv("privchat", "activate", "--all")
        res = self.cv("backup", ok=None)
        self.assertEqual(res.rc, 3, res.err)
        usage = self.cv("--json", "usage").json()
        # The cap is checked before every page of at most 50 messages, by
        # at most 8 workers at once.
        self.assertGreaterEqual(usage["messages"], 150)
        self.assertLess(usage["messages"], 150 + 8 * 50)
        accounts = self.cv("--json", "accounts", "list").json()
        suspended = [a for a in accounts if a["status"] == "Suspended"]
        self.assertTrue(suspended, accounts)
        for a in suspended:
            self.assertRegex(a["reason"], r"monthly cap of 150 messages is reached .* resume on \d{4}-\d\d-01")

        # For the rest of the month no chat is read at all.
        self.sim.post("/_sim/stats/reset")
        res = self.cv("backup", ok=None)
        self.assertEqual(res.rc, 3, res.err)
        self.assertIn("monthly cap", res.err)
        self.assertEqual(self.reads(), (0, 0, 0))
        self.assertEqual({a["status"] for a in self.cv("--json", "accounts", "list").json()}, {"Suspended"})
        self.assertEqual(self.cv("--json", "jobs", "list").json()[0]["status"], "Suspended")

    def test_usage_counts_every_request(self):
        """usage counts every request made to Graph for the tenant (users,
        chat lists, members, message pages, files, retries) and every 429."""
        self.start_sim("--users", "5", "--chats-per-user", "3", "--messages-per-chat", "60", "--throttle", "strict",
                       "--seed", "9")
        # No pacing on our side, so the strict limits answer 429 now and then.
        env = dict(self.env, CHATVAULT_RATE_SCALE="0")
        self.cv("init")
        self.cv("tenant", "add", *self.tenant_args())
        self.sim.post("/_sim/stats/reset")
        self.cv("accounts", "sync", env=env)
        self.cv("privchat", "activate", "--all")
        self.cv("backup", ok=None, env=env)
        st = self.sim.get("/_sim/stats")
        usage = self.cv("--json", "usage").json()
        self.assertGreater(st["throttled"], 0, st)
        self.assertGreater(st["by_handler"].get("hosted", 0) + st["by_handler"].get("share", 0), 0, st)
        self.assertEqual((usage["requests"], usage["throttled"]), (st["requests"], st["throttled"]), st)
        text = self.cv("usage").out
        self.assertIn("Requests:          %d\n" % st["requests"], text)
        self.assertIn("Answered 429:      %d\n" % st["throttled"], text)

    def early_picks(self):
        """Export tasks queued before the listing ended (their delta task was
        added before the last account's chats were listed)."""
        db = sqlite3.connect(os.path.join(self.home, "catalog.db"))
        try:
            return db.execute("SELECT count(*) FROM tasks WHERE kind = 'delta' AND id <"
                              " (SELECT max(id) FROM tasks WHERE kind = 'listed')").fetchone()[0]
        finally:
            db.close()

    def test_exports_start_while_listing(self):
        """A first backup of many users starts exports while the chats are
        still being listed (30 listings a second would otherwise leave the
        export budget idle), and the plan builds on those picks. Killed
        just after the first pick, the next run finishes it exactly."""
        self.start_sim("--users", "90", "--chats-per-user", "2", "--messages-per-chat", "40",
                       "--throttle", "strict", "--seed", "8")
        self.setup_tenant()
        db_path = os.path.join(self.home, "catalog.db")
        cmd = [cvtest.CHATVAULT, "-H", self.home, "-p", self.passfile, "backup"]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=self.env)
        picked = False
        deadline = time.time() + 60
        while not picked and proc.poll() is None and time.time() < deadline:
            time.sleep(0.02)
            try:
                db = sqlite3.connect(db_path, timeout=5)
                picked = db.execute("SELECT count(*) FROM tasks WHERE kind = 'delta'").fetchone()[0] > 0
                listing = db.execute("SELECT count(*) FROM tasks WHERE kind = 'account'"
                                     " AND state <> 'done'").fetchone()[0]
                db.close()
            except sqlite3.OperationalError:
                pass                  # the catalog is being created
        self.assertTrue(picked, "no export was picked while the listing ran")
        self.assertGreater(listing, 0, "the export was picked after the listing ended")
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        self.check_running_figures()
        self.backup()
        self.assertGreater(self.early_picks(), 0)
        note = [j for j in self.cv("--json", "jobs", "list").json() if j["kind"] == "backup"][0]["note"]
        self.assertRegex(note, r"^export API: \d+ users' exports")
        db = sqlite3.connect(db_path)
        self.assertEqual(db.execute("PRAGMA integrity_check").fetchone()[0], "ok")
        dup = db.execute("SELECT count(*) FROM (SELECT 1 FROM messages GROUP BY chat, message_id, version"
                         " HAVING count(*) > 1)").fetchone()[0]
        db.close()
        self.assertEqual(dup, 0)
        self.check_against_truth()

    def test_resume_after_kill_9(self):
        self.start_sim("--users", "8", "--chats-per-user", "3", "--messages-per-chat", "300",
                       "--throttle", "off", "--latency", "15", "--seed", "6")
        self.setup_tenant()
        rng = random.Random(6)
        cmd = [cvtest.CHATVAULT, "-H", self.home, "-p", self.passfile, "backup"]
        kills = 0
        for _ in range(20):
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=self.env)
            time.sleep(rng.uniform(0.2, 1.2))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            proc.wait()
            # an unfinished run's figures count what it stored so far
            self.check_running_figures()
        self.assertGreaterEqual(kills, 15)
        # A killed process may leave a half-written blob behind; a day-old
        # one is swept when the store opens, a recent one (maybe another
        # process's download in flight) is left alone.
        tmp = os.path.join(self.home, "blobs", "tmp")
        os.makedirs(tmp, exist_ok=True)
        stale, fresh = os.path.join(tmp, "stale.part"), os.path.join(tmp, "fresh.part")
        for path in (stale, fresh):
            with open(path, "wb") as f:
                f.write(b"x" * 100)
        os.utime(stale, (time.time() - 2 * 86400, time.time() - 2 * 86400))
        self.backup()
        self.assertFalse(os.path.exists(stale))
        self.assertTrue(os.path.exists(fresh))
        db = sqlite3.connect(os.path.join(self.home, "catalog.db"))
        self.assertEqual(db.execute("PRAGMA integrity_check").fetchone()[0], "ok")
        dup = db.execute("SELECT count(*) FROM (SELECT 1 FROM messages GROUP BY chat, message_id, version"
                         " HAVING count(*) > 1)").fetchone()[0]
        db.close()
        self.assertEqual(dup, 0)
        self.check_against_truth(statuses=False)


if __name__ == "__main__":
    cvtest.main()

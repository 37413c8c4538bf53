"""The command-line contract (CLI.md) where a tester found the binary apart
from it: --json after the command, usage errors that exit 2 before anything
is opened, JSON that cannot drive a terminal, and tenant changes that keep
backups unless told otherwise."""
import json
import os
import signal
import sqlite3
import subprocess
import time
import unicodedata

import cvtest


class Contract(cvtest.ChatvaultTest, cvtest.TruthChecks):
    def usage_error(self, *args):
        res = self.cv(*args, ok=None)
        self.assertEqual(res.rc, 2, "%s: %s" % (args, res.err))
        self.assertIn("chatvault: ", res.err)
        return res

    def test_usage_errors_exit_2_before_the_store_is_opened(self):
        # No store at all: a usage error is found before the store is.
        secret = self.write_secret("secret", "s3cret\n")
        add = ["tenant", "add", "--tenant-id", "t", "--client-id", "c", "--secret-file", secret]
        for args in (["snapshots", "extra"], ["snapshots", "--tenant"], ["usage", "bogus"],
                     ["jobs", "list", "--kind", "bogus"], ["tenant", "list", "garbage"],
                     ["privchat", "deactivate", "--bogus"], ["accounts", "list", "stray"],
                     ["download", "--user", "u", "--format", "json", "--out", "d", "--zip", "z"],
                     ["download", "--user", "u", "--format", "json", "--out", "d", "--as-of", "garbage"],
                     ["download", "--user", "u", "--format", "json", "--out", "d", "stray"],
                     add + ["--monthly-limit", "abc"], add + ["--monthly-limit", "10x"],
                     add + ["--monthly-limit", "-5"], add + ["--price-per-message", "-1"],
                     add + ["--price-per-message", "NaN"], add + ["--price-per-message", "1e400"],
                     add + ["--cloud", "mars"], add + ["--private-key", secret], add + ["stray"],
                     ["tenant", "update"], ["tenant", "update", "x"], ["tenant", "update", "x", "--tenant-id", "y"],
                     ["tenant", "update", "x", "--monthly-limit", "many"], ["tenant", "remove"],
                     ["tenant", "remove", "x", "--force"]):
            self.usage_error(*args)
        self.assertFalse(os.path.exists(self.home))

    def test_json_after_the_command_and_inert(self):
        self.start_sim("--users", "20", "--chats-per-user", "1", "--messages-per-chat", "20", "--throttle", "off")
        self.setup_tenant()
        for cmd in (["accounts", "list"], ["tenant", "list"], ["snapshots"], ["usage"], ["jobs", "list"]):
            before = self.cv("--json", *cmd)
            after = self.cv(*(cmd + ["--json"]))
            self.assertEqual(json.loads(after.out), json.loads(before.out), cmd)
        raw = self.cv("accounts", "list", "--json").out
        accounts = json.loads(raw)
        # CLI.md's keys are all there, reason too when there is none.
        for a in accounts:
            for key in ("upn", "displayName", "privateChat", "status", "lastBackup", "messages", "reason"):
                self.assertIn(key, a)
        # The hostile names arrive whole, but nothing in the text a
        # terminal shows can reorder it or drive the terminal.
        names = [a["displayName"] for a in accounts]
        self.assertTrue(any("\u202e" in n for n in names), names)
        self.assertTrue(any("\x1b" in n for n in names), names)
        self.assertNotIn("\u202e", raw)
        self.assertNotIn("\x1b", raw)
        self.assertIn("\\u202e", raw)

    def test_tenant_update_changes_the_secret_cap_and_price(self):
        self.start_sim("--users", "6", "--chats-per-user", "2", "--messages-per-chat", "20", "--throttle", "off")
        self.setup_tenant()
        name = self.cv("--json", "tenant", "list").json()[0]["name"]

        self.cv("tenant", "update", name, "--monthly-limit", "500", "--price-per-message", "0.00075")
        usage = self.cv("--json", "usage").json()
        self.assertEqual((usage["monthlyLimit"], usage["pricePerMessage"]), (500, 0.00075))
        self.cv("tenant", "update", name, "--monthly-limit", "none")
        self.assertIsNone(self.cv("--json", "usage").json()["monthlyLimit"])

        # The admin makes a new secret; the old one stops working.
        self.sim.post("/_sim/app", {"app": "full", "secret": "rotated~secret.0123456789"})
        res = self.cv("tenant", "test", name, ok=None)
        self.assertEqual(res.rc, 1, res.err)
        # A wrong one is tested and refused: nothing is saved.
        wrong = self.write_secret("wrong", "still-not-it\n")
        res = self.cv("tenant", "update", name, "--secret-file", wrong, ok=None)
        self.assertEqual(res.rc, 1, res.err)
        self.assertNotIn("still-not-it", res.err)
        self.assertNotIn("Status: Active", res.out)
        # The new one passes the same steps as tenant add, and backups run.
        new = self.write_secret("new", "rotated~secret.0123456789\n")
        res = self.cv("tenant", "update", name, "--secret-file", new)
        self.assertEqual(res.out.strip(), "Status: Active")
        self.assertEqual(self.cv("--json", "tenant", "list").json()[0]["status"], "Active")
        self.cv("privchat", "activate", "--all")
        self.backup()
        with open(os.path.join(self.home, "catalog.db"), "rb") as f:
            self.assertNotIn(b"rotated~secret", f.read())

    def test_backup_refused_sign_in_shows_on_the_tenant(self):
        self.start_sim("--users", "4", "--chats-per-user", "2", "--messages-per-chat", "10", "--throttle", "off")
        self.setup_tenant()
        old = self.sim.app("full")["secret"]
        # The secret is rotated in Entra ID behind our back: the run is
        # refused for every account, and the tenant (the Dashboard's first
        # word) says so, not Active.
        self.sim.post("/_sim/app", {"app": "full", "secret": "rotated~secret.0123456789"})
        self.assertEqual(self.cv("backup", ok=None).rc, 1)
        [t] = self.cv("--json", "tenant", "list").json()
        self.assertEqual(t["status"], "Authentication Error", t)
        self.assertIn("secret", t["reason"], t)
        # The old secret is valid again (the rotation was undone): the next
        # run gets through and the tenant is Active again.
        self.sim.post("/_sim/app", {"app": "full", "secret": old})
        self.backup()
        [t] = self.cv("--json", "tenant", "list").json()
        self.assertEqual((t["status"], t.get("reason")), ("Active", None), t)

    def test_tenant_remove_keeps_backups_unless_told(self):
        self.start_sim("--users", "6", "--chats-per-user", "2", "--messages-per-chat", "30", "--throttle", "off")
        self.setup_tenant()
        self.backup()
        name = self.cv("--json", "tenant", "list").json()[0]["name"]
        blobs = os.path.join(self.home, "blobs")

        def blob_files():
            return [f for root, _, files in os.walk(blobs) if not root.endswith("tmp") for f in files]
        self.assertTrue(blob_files())
        res = self.cv("tenant", "remove", name, ok=None)
        self.assertEqual(res.rc, 1, res.err)
        self.assertIn("--delete-backups", res.err)
        self.assertEqual(len(self.cv("--json", "accounts", "list").json()), 6)

        self.cv("tenant", "remove", name, "--delete-backups")
        self.assertEqual(self.cv("--json", "tenant", "list").json(), [])
        self.assertEqual(blob_files(), [])
        db = sqlite3.connect(os.path.join(self.home, "catalog.db"))
        self.assertEqual(db.execute("SELECT (SELECT count(*) FROM messages) + (SELECT count(*) FROM blobs)"
                                    " + (SELECT count(*) FROM files)").fetchone()[0], 0)
        self.assertEqual(db.execute("PRAGMA integrity_check").fetchone()[0], "ok")
        db.close()

    def test_download_of_a_chat_the_account_is_not_in(self):
        self.start_sim("--users", "6", "--chats-per-user", "2", "--messages-per-chat", "10", "--throttle", "off")
        self.setup_tenant()
        self.backup()
        truth = self.sim.truth()
        user = truth["users"][0]
        mine = {c["id"] for c in truth["chats"] if any(m.get("userId") == user["id"] for m in c["members"])}
        other = next(c["id"] for c in truth["chats"] if c["id"] not in mine)
        out = os.path.join(self.dir, "out")
        for chat in ("19:nope@thread.v2", other):
            res = self.cv("download", "--user", user["userPrincipalName"], "--format", "json", "--chat", chat,
                          "--out", out, ok=None)
            self.assertEqual(res.rc, 1, res.err)
            self.assertIn("no backed-up chat", res.err)
        self.assertFalse(os.path.exists(out))
        self.cv("download", "--user", user["userPrincipalName"], "--format", "json", "--chat", sorted(mine)[0],
                "--out", out)
        self.assertEqual(len(os.listdir(out)), 1)

    def test_tenant_remove_waits_for_a_running_backup(self):
        """Removing a tenant under a backup another process is running
        would pull its rows from under it: refused, naming the job. A
        process that was killed holds nothing up."""
        self.start_sim("--users", "6", "--chats-per-user", "2", "--messages-per-chat", "120", "--throttle", "off")
        self.setup_tenant()
        self.sim.post("/_sim/config", {"latency_ms": 200})
        name = self.cv("--json", "tenant", "list").json()[0]["name"]
        proc = subprocess.Popen([cvtest.CHATVAULT, "-H", self.home, "-p", self.passfile, "backup", "--per-chat"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=self.env)
        deadline = time.time() + 60
        running = 0
        while not running and proc.poll() is None and time.time() < deadline:
            time.sleep(0.1)
            db = sqlite3.connect(os.path.join(self.home, "catalog.db"), timeout=5)
            running = db.execute("SELECT count(*) FROM tasks WHERE state = 'running'").fetchone()[0]
            db.close()
        self.assertTrue(running, "the backup never ran a task")
        res = self.cv("tenant", "remove", name, "--delete-backups", ok=None)
        self.assertEqual(res.rc, 1, res.err)
        self.assertRegex(res.err, r"job \d+ of tenant .* is running")
        self.assertEqual(len(self.cv("--json", "tenant", "list").json()), 1)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        self.sim.post("/_sim/config", {"latency_ms": 0})
        self.cv("tenant", "remove", name, "--delete-backups")
        self.assertEqual(self.cv("--json", "tenant", "list").json(), [])

    def test_interrupted_backup_says_so(self):
        self.start_sim("--users", "4", "--chats-per-user", "2", "--messages-per-chat", "30", "--throttle", "off",
                       "--latency", "300")
        self.setup_tenant()
        proc = subprocess.Popen([cvtest.CHATVAULT, "-H", self.home, "-p", self.passfile, "backup"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=self.env)
        running = self.poll_catalog("SELECT count(*) FROM tasks WHERE state = 'running'", proc)
        self.assertTrue(running, "the backup never ran a task")
        proc.send_signal(signal.SIGINT)
        err = proc.communicate(timeout=60)[1]
        self.assertEqual(proc.returncode, 1, err)
        self.assertRegex(err, r"(?m)^job \d+ interrupted: what it stored is kept, and it resumes the next time")
        self.sim.post("/_sim/config", {"latency_ms": 0})
        self.backup()
        self.check_against_truth(statuses=False)

    def test_missing_key_file_is_named_and_init_refuses(self):
        self.start_sim("--users", "4", "--chats-per-user", "1", "--messages-per-chat", "10", "--throttle", "off")
        self.setup_tenant()
        key = os.path.join(self.home, "key")
        catalog = os.path.join(self.home, "catalog.db")
        os.rename(key, key + ".away")
        with open(catalog, "rb") as f:
            before = f.read()
        res = self.cv("accounts", "list", ok=None)
        self.assertEqual(res.rc, 1)
        self.assertIn("no key file", res.err)
        self.assertNotIn("chatvault init", res.err)
        res = self.cv("init", ok=None)
        self.assertEqual(res.rc, 1)
        self.assertIn("refusing", res.err)
        self.assertFalse(os.path.exists(key))
        with open(catalog, "rb") as f:
            self.assertEqual(f.read(), before)
        os.rename(key + ".away", key)
        self.assertEqual(len(self.cv("--json", "accounts", "list").json()), 4)

    def test_init_after_one_cut_short(self):
        # A catalog with nothing in it and no key: init was killed before
        # it wrote the key, and may simply run again.
        os.makedirs(self.home, mode=0o700)
        db = sqlite3.connect(os.path.join(self.home, "catalog.db"))
        db.execute("CREATE TABLE t (x)")
        db.close()
        os.chmod(os.path.join(self.home, "catalog.db"), 0o600)
        self.cv("init")
        self.assertEqual(self.cv("--json", "tenant", "list").json(), [])

    def test_long_options_are_written_in_full_and_secrets_not_echoed(self):
        """getopt_long took "--secret" for "--secret-file" and printed the
        secret as the file it could not open. Only whole option names are
        options now, on every command, and no message repeats a value."""
        secret = "zJ88Q~not.a.path.0123456789"
        add = ["tenant", "add", "--tenant-id", "t", "--client-id", "c"]
        for args in (add + ["--secret", secret], add + ["--secret=" + secret], add + ["--secret-fil", secret],
                     add + ["--secret-file", "/dev/null", secret],
                     ["download", "--user", "u", "--form", "json", "--out", "d"],
                     ["snapshots", "--ten", "x"], ["privchat", "activate", "--al"], ["backup", "--per"],
                     ["jobs", "list", "--kin", "backup"], ["passwd", "--new-pass", secret],
                     ["tenant", "remove", "x", "--delete"]):
            res = self.usage_error(*args)
            self.assertNotIn(secret, res.err)
            self.assertNotIn("Traceback", res.err)
        res = self.cv("--pass", secret, "tenant", "list", ok=None, home=False)
        self.assertEqual(res.rc, 2, res.err)
        self.assertNotIn(secret, res.err)
        # A secret given where a file is wanted is not repeated either.
        for args in (add + ["--secret-file", secret], add + ["--certificate", secret]):
            res = self.cv(*args, ok=None)
            self.assertEqual(res.rc, 1, res.err)
            self.assertIn("--", res.err)
            self.assertNotIn(secret, res.err)
        res = self.cv("-H", self.home, "-p", secret, "tenant", "list", ok=None, home=False)
        self.assertEqual(res.rc, 1, res.err)
        self.assertNotIn(secret, res.err)
        self.assertIn("--passphrase-file", res.err)
        # --name=value is the same option written in full.
        self.cv("init")
        self.cv("snapshots", "--tenant=nope", ok=None)
        res = self.cv("jobs", "list", "--kind=backup", "--json")
        self.assertEqual(res.json(), [])

    def test_help_after_any_command(self):
        """COMMAND --help printed "unrecognized option '--help'"; the global
        usage left out tenant update and jobs cancel."""
        res = self.cv("--help", home=False)
        self.assertEqual(res.rc, 0, res.err)
        listed = {}
        for line in res.out.split("Commands")[1].splitlines()[1:]:
            words = line.split()
            if line.startswith("  ") and words:
                listed[words[0]] = words[1].split("|") if len(words) > 1 and "|" in words[1] else []
        everything = {"init": [], "passwd": [], "tenant": ["add", "update", "list", "test", "remove"],
                      "accounts": ["sync", "list"], "privchat": ["activate", "deactivate"], "backup": [],
                      "run": [], "snapshots": [], "usage": [], "download": [], "jobs": ["list", "cancel"]}
        self.assertEqual(listed, everything)
        for cmd, subs in everything.items():
            for args in ([cmd, "--help"], [cmd] + subs[:1] + ["--help"], [cmd] + subs[-1:] + ["x", "-h"]):
                res = self.cv(*args, ok=None)
                self.assertEqual((res.rc, res.err), (0, ""), args)
                self.assertTrue(res.out.startswith("Usage: chatvault " + cmd), (args, res.out))
                for sub in subs:
                    self.assertRegex(res.out, r"chatvault %s (\w+\|)*%s\b" % (cmd, sub))
        self.assertIn("--format", self.cv("download", "--help").out)
        self.assertFalse(os.path.exists(self.home))

    def test_backup_of_named_inactive_accounts(self):
        """backup UPN of an INACTIVE account said Completed and exit 0 with
        nothing backed up. None ACTIVE: a failure naming them, nothing
        queued. Some: a warning for each of the others."""
        self.start_sim("--users", "4", "--chats-per-user", "1", "--messages-per-chat", "5", "--throttle", "off")
        self.setup_tenant(activate=False)
        upns = [a["upn"] for a in self.cv("--json", "accounts", "list").json()]
        res = self.cv("backup", upns[0], upns[1], ok=None)
        self.assertEqual(res.rc, 1, res.err)
        self.assertIn(upns[0], res.err)
        self.assertIn(upns[1], res.err)
        self.assertIn("privchat activate", res.err)
        self.assertEqual(self.cv("--json", "jobs", "list").json(), [])

        self.cv("privchat", "activate", upns[2])
        res = self.backup(upns[1], upns[2])
        self.assertRegex(res.err, r"warning: %s .*INACTIVE" % upns[1].replace(".", r"\."))
        self.assertNotIn(upns[2] + " is left out", res.err)
        done = {a["upn"]: a["lastBackup"] for a in self.cv("--json", "accounts", "list").json()}
        self.assertIsNone(done[upns[1]])
        self.assertIsNotNone(done[upns[2]])

    def test_silent_successes_say_what_was_done(self):
        """jobs cancel, tenant update of the cap and tenant remove exited 0
        printing nothing. Each says what it did on stdout (-q: nothing)."""
        self.start_sim("--users", "4", "--chats-per-user", "2", "--messages-per-chat", "120", "--throttle", "off")
        self.setup_tenant()
        name = self.cv("--json", "tenant", "list").json()[0]["name"]
        self.assertEqual(self.cv("tenant", "update", name, "--monthly-limit", "500").out,
                         "Tenant %s updated\n" % name)
        self.assertEqual(self.cv("-q", "tenant", "update", name, "--monthly-limit", "none").out, "")

        # A backup whose process was killed: no process runs it now, and
        # the message says when the cancel takes effect.
        self.sim.post("/_sim/config", {"latency_ms": 200})
        proc = subprocess.Popen([cvtest.CHATVAULT, "-H", self.home, "-p", self.passfile, "backup", "--per-chat"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=self.env)
        deadline = time.time() + 60
        jobs = []
        while not jobs and time.time() < deadline:
            time.sleep(0.1)
            jobs = self.cv("--json", "jobs", "list").json()
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        self.sim.post("/_sim/config", {"latency_ms": 0})
        job = jobs[0]["id"]
        res = self.cv("jobs", "cancel", str(job))
        self.assertRegex(res.out, r"^Job %d: cancel requested; no process is running it now, so it ends as"
                                  r" Cancelled when one next runs the queue" % job)
        self.assertEqual(res.out.count("\n"), 1)

        res = self.cv("tenant", "remove", name, "--delete-backups")
        self.assertEqual(res.out, "Tenant %s removed with its backups\n" % name)

    def test_download_keep_days_zero_and_bad_values(self):
        """CHATVAULT_DOWNLOAD_KEEP_DAYS=0 meant 7, silently, as did any value
        that was not a number. 0 keeps no copy; a bad value is warned of."""
        self.start_sim("--users", "2", "--chats-per-user", "1", "--messages-per-chat", "5", "--throttle", "off")
        self.setup_tenant()
        self.backup()
        upn = self.cv("--json", "accounts", "list").json()[0]["upn"]
        self.cv("download", "--user", upn, "--format", "json", "--out", os.path.join(self.dir, "out"))
        [job] = self.cv("--json", "jobs", "list", "--kind", "download").json()
        for bad in ("abc", "-1", "3d", "1e9", "999999999999"):
            res = self.cv("--json", "jobs", "list", "--kind", "download",
                          env=dict(self.env, CHATVAULT_DOWNLOAD_KEEP_DAYS=bad))
            self.assertRegex(res.err, r"warning: CHATVAULT_DOWNLOAD_KEEP_DAYS='%s' is not a number of days" %
                             bad.replace("-", r"\-"))
            self.assertEqual(res.json()[0]["status"], "Completed", bad)
            self.assertTrue(os.path.exists(job["result"]))
        res = self.cv("--json", "jobs", "list", "--kind", "download", env=dict(self.env, CHATVAULT_DOWNLOAD_KEEP_DAYS="0"))
        self.assertEqual(res.err, "")
        self.assertEqual(res.json()[0]["status"], "Expired")
        self.assertFalse(os.path.exists(job["result"]))

    def test_export_failure_names_the_account_by_upn(self):
        """A user's export that fails is named in the reason people read
        (the task's, and the run's when it ends there, such as a full
        disk) by the account's UPN, not by its Graph object id."""
        self.start_sim("--users", "3", "--chats-per-user", "2", "--messages-per-chat", "10", "--throttle", "off")
        self.setup_tenant()
        self.sim.post("/_sim/config", {"payment_required": True})
        self.backup()
        users = {u["userPrincipalName"]: u["id"] for u in self.sim.truth()["users"]}
        db = sqlite3.connect(os.path.join(self.home, "catalog.db"))
        reasons = [r for (r,) in db.execute("SELECT reason FROM tasks WHERE kind IN ('window', 'delta')"
                                             " AND reason LIKE 'the export of %'")]
        db.close()
        self.assertTrue(reasons, "no export failed")
        for r in reasons:
            self.assertTrue(any(r.startswith("the export of %s: " % upn) for upn in users), r)
            self.assertFalse(any(uid in r for uid in users.values()), r)

    def test_accounts_list_columns_fit_their_content(self):
        """A UPN longer than 34 characters pushed the rest of its row out
        of line. The columns are as wide as their widest cell."""
        self.start_sim("--users", "20", "--chats-per-user", "1", "--messages-per-chat", "5", "--throttle", "off")
        self.setup_tenant()
        long_upn = "a.very.long.user.principal.name.for.columns@" + self.sim.info["domain"]
        db = sqlite3.connect(os.path.join(self.home, "catalog.db"))
        db.execute("UPDATE accounts SET upn = ? WHERE id = (SELECT min(id) FROM accounts)", (long_upn,))
        db.commit()
        db.close()
        lines = self.cv("accounts", "list").out.splitlines()
        self.assertEqual(len(lines), 21)
        header = lines[0]
        self.assertTrue(any(line.startswith(long_upn + " ") for line in lines[1:]), lines)
        def cut(line, col):
            # the line split at a terminal column (wide letters take two)
            w = 0
            for i, ch in enumerate(line):
                if w >= col:
                    return line[:i], line[i:]
                w += 0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1
            return line, ""
        at = header.index("PRIVCHAT")
        end = header.index("MESSAGES") + len("MESSAGES")
        for line in lines[1:]:
            self.assertRegex(cut(line, at)[1], r"^(ACTIVE|INACTIVE) ", line)
            # the message counts end under the end of MESSAGES
            self.assertRegex(cut(line, end)[0], r"\d$", line)

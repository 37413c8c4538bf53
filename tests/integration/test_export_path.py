"""The export API path and the store under pressure: a delta link older than
eight months is replaced by windows, a tenant refused the export API is read
per chat, two processes share one backup through job leases, and a full disk
stops a backup with a clear error, says so on the job and its accounts, and
leaves the store intact."""
import json
import os
import re
import shutil
import sqlite3
import subprocess
import time

import cvtest

DAY_MS = 86400 * 1000


class ExportPath(cvtest.ChatvaultTest, cvtest.TruthChecks):
    sim_args = ("--users", "6", "--chats-per-user", "3", "--messages-per-chat", "60", "--throttle", "off",
                "--seed", "12")

    def reads(self):
        h = self.sim.get("/_sim/stats")["by_handler"]
        return h.get("messages", 0), h.get("all", 0), h.get("delta", 0)

    def note(self):
        return self.cv("--json", "jobs", "list", "--kind", "backup").json()[-1].get("note", "")

    def db(self):
        return sqlite3.connect(os.path.join(self.home, "catalog.db"))

    def test_gap_older_than_eight_months_is_read_in_windows(self):
        self.start_sim()
        self.setup_tenant()
        self.backup()
        # Every account now has a delta link; age them, and the run that
        # left them, past delta's reach. (With only the links aged, the gap
        # is minutes long, and the new delta round reads it by itself.)
        db = self.db()
        links = db.execute("SELECT count(*) FROM accounts WHERE delta_link IS NOT NULL").fetchone()[0]
        self.assertGreater(links, 0)
        db.execute("UPDATE accounts SET delta_from = delta_from - ?", (300 * DAY_MS,))
        db.execute("UPDATE chats SET synced = synced - ? WHERE synced IS NOT NULL", (300 * DAY_MS,))
        db.commit()
        db.close()
        self.sim.post("/_sim/mutate", {"edit": 0.05, "new": 20, "seed": 3})
        self.sim.post("/_sim/stats/reset")
        self.backup()
        per_chat, windows, deltas = self.reads()
        # The gap is read with getAllMessages from the last complete run, and
        # a fresh delta round starts; no chat is read one by one.
        self.assertGreater(windows, 0)
        self.assertGreater(deltas, 0)
        self.assertEqual(per_chat, 0)
        self.assertRegex(self.note(), r"^export API: \d+ users?'s? exports? \([1-9]\d* read in windows")
        self.check_against_truth(statuses=False)
        # The next run trusts the new links again.
        self.sim.post("/_sim/stats/reset")
        self.backup()
        self.assertEqual(self.reads()[:2], (0, 0))

    def test_broken_pages_lose_nothing(self):
        """Message pages that parse but are broken (no value list, messages
        without ids, a next link to the page itself) fail the run with the
        reason, on both paths, and move no resume point or delta link past
        what they held: the next clean run has every message."""
        self.start_sim("--users", "5", "--chats-per-user", "2", "--messages-per-chat", "40", "--throttle", "off",
                       "--seed", "23")
        self.setup_tenant()
        self.backup()
        expect = {"value_null": "a page without its list of items", "no_id": "without a usable id",
                  "self_link": "gave a page itself as the next one"}
        for path in ((), ("--per-chat",)):
            for kind, words in expect.items():
                with self.subTest(kind=kind, path=path):
                    self.sim.post("/_sim/mutate", {"new": 12, "edit": 0.02, "seed": len(kind) + len(path)})
                    self.sim.post("/_sim/break", {"kind": kind})
                    res = self.cv("backup", *path, ok=None, timeout=120)
                    self.assertIn(res.rc, (1, 3), res.err)
                    reasons = " ".join(a["reason"] or "" for a in self.cv("--json", "accounts", "list").json())
                    self.assertIn(words, reasons)
                    self.sim.post("/_sim/break", {"kind": None})
                    self.backup(*path)
                    self.check_against_truth(statuses=False)

    def test_chat_created_after_the_listing_loses_nothing(self):
        """A chat created after a run listed the chats: the exports bring
        its messages in that same run, and their delta links move past
        them, so they are stored then, not left for a next run that would
        never be sent them again."""
        self.start_sim("--users", "5", "--chats-per-user", "2", "--messages-per-chat", "20", "--throttle", "off",
                       "--seed", "29")
        self.setup_tenant()
        self.backup()
        new = self.sim.post("/_sim/chat/new", {"messages": 7})
        self.backup()
        self.sim.post("/_sim/chat/list", {"id": new["id"]})
        self.backup()
        self.check_against_truth(statuses=False)
        db = self.db()
        try:
            [(n,)] = db.execute("SELECT count(*) FROM messages m JOIN chats c ON c.id = m.chat WHERE c.chat_id = ?",
                                (new["id"],)).fetchall()
        finally:
            db.close()
        self.assertEqual(n, 7)

    def test_export_refused_falls_back_to_per_chat(self):
        self.start_sim()
        self.setup_tenant()
        self.sim.post("/_sim/config", {"payment_required": True})
        self.backup()
        note = self.note()
        self.assertIn("read per chat after their export failed", note)
        self.check_against_truth()
        # For a day the tenant is read per chat straight away, and says why.
        self.sim.post("/_sim/stats/reset")
        self.backup()
        per_chat, windows, deltas = self.reads()
        self.assertEqual((windows, deltas), (0, 0))
        self.assertGreater(per_chat, 0)
        self.assertRegex(self.note(), r"^per chat: \d+ chats; the export API was refused: .*402|[Pp]ayment")
        # --per-chat asks for it outright.
        self.backup("--per-chat")
        self.assertTrue(self.note().startswith("per chat (asked for)"))

    def test_two_processes_share_one_backup(self):
        self.start_sim("--users", "8", "--chats-per-user", "3", "--messages-per-chat", "200", "--throttle", "off",
                       "--latency", "20", "--seed", "13")
        self.setup_tenant()
        engine = subprocess.Popen([cvtest.CHATVAULT, "-H", self.home, "-p", self.passfile, "run", "--at", "none"],
                                  env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            backup = subprocess.Popen([cvtest.CHATVAULT, "-H", self.home, "-p", self.passfile, "backup"],
                                      env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            owners = set()
            while backup.poll() is None:
                try:
                    db = self.db()
                    for (owner,) in db.execute("SELECT lease_owner FROM tasks WHERE state = 'running'"):
                        owners.add(owner.split(":")[1] if owner and ":" in owner else owner)
                    db.close()
                except sqlite3.OperationalError:
                    pass
                time.sleep(0.05)
            out, err = backup.communicate()
            self.assertIn(backup.returncode, (0, 3), err)
        finally:
            engine.terminate()
            engine.wait(timeout=60)
        self.assertEqual(engine.returncode, 0, engine.stderr.read())
        # Both processes ran tasks of the one job.
        self.assertGreaterEqual(len(owners), 2, owners)
        self.assertEqual(len(self.cv("--json", "jobs", "list", "--kind", "backup").json()), 1)
        self.check_against_truth()
        db = self.db()
        self.assertEqual(db.execute("PRAGMA integrity_check").fetchone()[0], "ok")
        db.close()

    def test_full_disk_stops_cleanly_and_the_store_survives(self):
        if shutil.which("unshare") is None:
            self.skipTest("unshare(1) is not installed")
        self.start_sim("--users", "6", "--chats-per-user", "3", "--messages-per-chat", "300", "--throttle", "off",
                       "--seed", "14")
        self.setup_tenant()
        self.backup()  # a first run fits
        self.sim.post("/_sim/mutate", {"new": 400, "edit": 0.2, "seed": 5})
        # Room for what is there now (in whole blocks) and a little more.
        used = sum(os.lstat(os.path.join(r, f)).st_blocks * 512 for r, ds, fs in os.walk(self.home)
                   for f in fs + ds)
        mnt = os.path.join(self.dir, "small")
        os.mkdir(mnt)
        cv = "%s -H %s/home -p %s" % (cvtest.CHATVAULT, mnt, self.passfile)
        script = """set -u
mount -t tmpfs -o size={size}k tmpfs {mnt} || exit 97
cp -a {home} {mnt}/home || exit 98
{cv} backup > {d}/out1 2> {d}/err1; echo $? > {d}/rc1
{cv} --json accounts list > {d}/accounts1
{cv} --json jobs list --kind backup > {d}/jobs1
mount -o remount,size=262144k {mnt}
{cv} backup > {d}/out2 2> {d}/err2; echo $? > {d}/rc2
rm -rf {home} && cp -a {mnt}/home {home}
""".format(size=used // 1024 + 160, mnt=mnt, home=self.home, cv=cv, d=self.dir)
        cmd = ["unshare", "-m", "sh", "-c", script] if os.geteuid() == 0 else \
            ["unshare", "-rm", "sh", "-c", script]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=self.env, timeout=900)
        if proc.returncode == 97 or "Operation not permitted" in proc.stderr:
            self.skipTest("cannot mount a small tmpfs here: " + proc.stderr.strip())
        self.assertEqual(proc.returncode, 0, proc.stderr)

        def read(name):
            with open(os.path.join(self.dir, name)) as f:
                return f.read()
        rc1, err1 = int(read("rc1")), read("err1")
        print("# full disk: exit %d: %s" % (rc1, err1.strip().splitlines()[-1] if err1.strip() else ""))
        self.assertNotEqual(rc1, 0)
        self.assertRegex(err1, r"(?i)disk is full|no space left")
        self.assertNotIn("Traceback", err1)
        # Meanwhile the backup and its accounts say why nothing moves (the
        # console sees no stderr), not In Progress.
        job = json.loads(read("jobs1"))[-1]
        self.assertEqual(job["status"], "Retrying")
        self.assertRegex(job.get("reason", ""), r"(?i)disk is full")
        accounts = json.loads(read("accounts1"))
        self.assertEqual({a["status"] for a in accounts}, {"Retrying"})
        for a in accounts:
            self.assertRegex(a["reason"] or "", r"(?i)disk is full", a)
        # With room again the same backup finishes, exact and intact.
        self.assertIn(int(read("rc2")), (0, 3), read("err2"))
        db = self.db()
        self.assertEqual(db.execute("PRAGMA integrity_check").fetchone()[0], "ok")
        db.close()
        self.check_against_truth(statuses=False)
        for a in self.cv("--json", "accounts", "list").json():
            self.assertIn(a["status"], ("Completed", "Partially Completed"), a)
            self.assertNotRegex(a["reason"] or "", r"(?i)disk is full", a)


class BalancedPlan(cvtest.ChatvaultTest, cvtest.TruthChecks):
    """A tenant big enough that the greedy cover's last exports serve mostly
    chats already covered: their chats are read one by one instead, on the
    per-chat budget, while the exports run."""
    sim_args = ("--users", "200", "--chats-per-user", "6", "--messages-per-chat", "10", "--media", "0",
                "--throttle", "off", "--seed", "12")

    def test_last_picks_are_read_per_chat_beside_the_exports(self):
        self.start_sim()
        self.setup_tenant()
        self.sim.post("/_sim/stats/reset")
        self.backup()
        note = self.cv("--json", "jobs", "list", "--kind", "backup").json()[-1]["note"]
        m = re.match(r"^export API: (\d+) users' exports \((\d+) read in windows, (\d+) by delta\), "
                     r"(\d+) chats? per chat", note)
        self.assertIsNotNone(m, note)
        exports, direct = int(m.group(1)), int(m.group(4))
        self.assertEqual(int(m.group(2)) + int(m.group(3)), exports, note)
        h = self.sim.get("/_sim/stats")["by_handler"]
        print("# balanced plan: %s; %d export pages, %d per-chat pages" % (note, h.get("all", 0),
                                                                            h.get("messages", 0)))
        self.assertGreater(exports, 0)
        self.assertGreaterEqual(direct, 5)
        self.assertGreaterEqual(h.get("messages", 0), direct)
        self.check_against_truth()


if __name__ == "__main__":
    cvtest.main()

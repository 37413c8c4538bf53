"""`chatvault run`: the headless engine queues the scheduled backups, once
per slot even with two processes on one store, catches up a slot it missed,
and stops cleanly on SIGTERM."""
import os
import signal
import sqlite3
import subprocess
import time

import cvtest


class Schedule(cvtest.ChatvaultTest):
    def start_run(self, *args):
        cmd = [cvtest.CHATVAULT, "-H", self.home, "-p", self.passfile, "run", *args]
        log = open(os.path.join(self.dir, "run-%d.log" % time.monotonic_ns()), "w+")
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=self.env)
        return proc, log

    def stop_run(self, proc, log):
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(60), 0)
        log.seek(0)
        text = log.read()
        log.close()
        return text

    def backup_jobs(self):
        return [j for j in self.cv("--json", "jobs", "list").json() if j["kind"] == "backup"]

    def test_due_slot_is_queued_once_and_runs(self):
        self.start_sim()
        self.setup_tenant()
        # A slot one minute ago has passed with no backup since: it is due.
        slot = time.strftime("%H:%M", time.localtime(time.time() - 60))
        later = time.strftime("%H:%M", time.localtime(time.time() + 3 * 3600))
        runs = [self.start_run("--at", "%s,%s" % (later, slot)) for _ in range(2)]
        deadline = time.time() + 120
        while time.time() < deadline:
            jobs = self.backup_jobs()
            if jobs and all(j["finished"] for j in jobs):
                break
            time.sleep(0.5)
        outputs = [self.stop_run(*r) for r in runs]
        jobs = self.backup_jobs()
        self.assertEqual(len(jobs), 1, jobs)
        self.assertIn(jobs[0]["status"], ("Completed", "Partially Completed"))
        self.assertTrue(any("scheduled backup queued" in o for o in outputs), outputs)
        self.assertTrue(all("backups every day at" in o for o in outputs), outputs)
        accounts = self.cv("--json", "accounts", "list").json()
        self.assertTrue(all(a["lastBackup"] for a in accounts), accounts)

        # The slot has its backup: a new run does not queue another.
        proc, log = self.start_run("--at", slot)
        time.sleep(3)
        self.stop_run(proc, log)
        self.assertEqual(len(self.backup_jobs()), 1)

    def test_running_backup_is_not_doubled_by_the_next_slot(self):
        self.start_sim()
        self.setup_tenant()
        # A backup queued two hours ago and not finished yet (a long run).
        db = sqlite3.connect(os.path.join(self.home, "catalog.db"))
        db.execute("INSERT INTO jobs (kind, tenant, params, created) SELECT 'backup', id, '{}', ? FROM tenants",
                   (int((time.time() - 7200) * 1000),))
        db.commit()
        db.close()
        slot = time.strftime("%H:%M", time.localtime(time.time() - 60))
        proc, log = self.start_run("--at", slot)
        time.sleep(3)
        out = self.stop_run(proc, log)
        self.assertNotIn("scheduled backup queued", out)
        self.assertEqual(len(self.backup_jobs()), 1)

    def test_no_schedule_and_bad_times(self):
        self.start_sim()
        self.setup_tenant()
        proc, log = self.start_run("--at", "none")
        time.sleep(2)
        out = self.stop_run(proc, log)
        self.assertIn("queued jobs only", out)
        self.assertEqual(self.backup_jobs(), [])
        for bad in ("25:00", "9:00", "09:00,", "09:00;17:00", "noon"):
            res = self.cv("run", "--at", bad, ok=None)
            self.assertEqual(res.rc, 2, bad)
            self.assertIn("is not a list of times", res.err)


if __name__ == "__main__":
    cvtest.main()

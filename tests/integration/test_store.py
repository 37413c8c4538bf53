"""The store: init, passphrases, permissions, tamper detection, exit codes."""
import json
import os
import pty
import select
import sqlite3
import subprocess
import time

import cvtest


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


class Store(cvtest.ChatvaultTest):
    def test_init_prints_recovery_key_and_refuses_overwrite(self):
        res = self.cv("init")
        self.assertRegex(res.out.strip(), r"^[0-9A-Z]{4}(-[0-9A-Z]{4}){7}$")
        self.assertEqual(os.stat(self.home).st_mode & 0o777, 0o700)
        for f in ("key", "catalog.db"):
            self.assertEqual(os.stat(os.path.join(self.home, f)).st_mode & 0o777, 0o600, f)
        again = self.cv("init", ok=False)
        self.assertEqual(again.rc, 1)
        self.assertIn("already exists", again.err)

    def test_wrong_passphrase(self):
        self.cv("init")
        key_before = read_bytes(os.path.join(self.home, "key"))
        wrong = self.write_secret("wrong", "nope\n")
        res = self.cv("-H", self.home, "-p", wrong, "tenant", "list", ok=False, home=False)
        self.assertEqual(res.rc, 1)
        self.assertIn("passphrase", res.err)
        self.assertEqual(read_bytes(os.path.join(self.home, "key")), key_before)

    def test_key_file_of_another_store_is_refused(self):
        """Another store's key file that the same passphrase opens: refused
        at once, naming the cause, not read as a store full of damaged
        records; with its own key back the store works. A store from before
        the check is recognised by its tenant's sealed secret."""
        self.start_sim("--users", "3", "--chats-per-user", "1", "--messages-per-chat", "5", "--throttle", "off")
        self.setup_tenant()
        other = os.path.join(self.dir, "other")
        self.cv("-H", other, "-p", self.passfile, "init", home=False)
        key = os.path.join(self.home, "key")
        own = read_bytes(key)
        for legacy in (False, True):
            if legacy:
                db = sqlite3.connect(os.path.join(self.home, "catalog.db"))
                db.execute("DELETE FROM settings WHERE key = 'key_check'")
                db.commit()
                db.close()
            with open(key, "wb") as f:
                f.write(read_bytes(os.path.join(other, "key")))
            for args in (("accounts", "list"), ("backup",), ("download", "--user", "x@y", "--format", "json",
                                                              "--out", os.path.join(self.dir, "out"))):
                res = self.cv(*args, ok=False)
                self.assertEqual(res.rc, 1, (legacy, args, res.err))
                self.assertIn("does not belong to this store's catalog", res.err)
            with open(key, "wb") as f:
                f.write(own)
            self.assertEqual(len(self.cv("--json", "accounts", "list").json()), 3)

    def test_passwd_rewraps(self):
        self.cv("init")
        new = self.write_secret("new", "a new passphrase\n")
        self.cv("passwd", "--new-passphrase-file", new)
        self.assertEqual(self.cv("tenant", "list", ok=False).rc, 1)
        self.assertEqual(self.cv("-H", self.home, "-p", new, "tenant", "list", home=False).rc, 0)

    def test_recovery_key_sets_a_new_passphrase(self):
        recovery = self.cv("init").out.strip()
        key_before = read_bytes(os.path.join(self.home, "key"))
        new = self.write_secret("new", "the passphrase after recovery\n")
        # a wrong key (the right one with one group changed) is refused and
        # changes nothing
        wrong = self.write_secret("wrong-recovery", recovery[:-4] + ("AAAA" if recovery[-4:] != "AAAA" else "BBBB") + "\n")
        res = self.cv("passwd", "--recovery-key-file", wrong, "--new-passphrase-file", new, ok=False)
        self.assertEqual(res.rc, 1)
        self.assertIn("wrong recovery key", res.err)
        self.assertEqual(read_bytes(os.path.join(self.home, "key")), key_before)
        junk = self.write_secret("junk", "not a key at all\n")
        res = self.cv("passwd", "--recovery-key-file", junk, "--new-passphrase-file", new, ok=False)
        self.assertEqual(res.rc, 1)
        self.assertIn("not a recovery key", res.err)
        # the key as printed, in lower case and without dashes, as people retype it
        typed = self.write_secret("recovery", recovery.replace("-", " ").lower() + "\n")
        res = self.cv("-H", self.home, "passwd", "--recovery-key-file", typed, "--new-passphrase-file", new, home=False)
        self.assertIn("Passphrase changed", res.err)
        self.assertNotIn(recovery, res.out + res.err)
        self.assertEqual(self.cv("tenant", "list", ok=False).rc, 1, "the old passphrase no longer opens it")
        self.assertEqual(self.cv("-H", self.home, "-p", new, "tenant", "list", home=False).rc, 0)
        # the recovery key still works after that (its wrapping is kept)
        again = self.write_secret("again", "and once more\n")
        self.cv("-H", self.home, "passwd", "--recovery-key-file", typed, "--new-passphrase-file", again, home=False)
        self.assertEqual(self.cv("-H", self.home, "-p", again, "tenant", "list", home=False).rc, 0)

    def test_recovery_key_asked_on_the_terminal(self):
        recovery = self.cv("init").out.strip()
        new = self.write_secret("new", "typed after recovery\n")
        pid, fd = pty.fork()
        if pid == 0:
            os.execve(cvtest.CHATVAULT, [cvtest.CHATVAULT, "-H", self.home, "passwd", "--recovery",
                                         "--new-passphrase-file", new], self.env)
        seen, answered, deadline = b"", False, time.monotonic() + 60
        while time.monotonic() < deadline:
            if not select.select([fd], [], [], 1)[0]:
                continue
            try:
                chunk = os.read(fd, 1024)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
            if not answered and b"Recovery key: " in seen:
                os.write(fd, recovery.encode() + b"\n")
                answered = True
        if time.monotonic() >= deadline:
            os.kill(pid, 9)
        _pid, status = os.waitpid(pid, 0)
        os.close(fd)
        self.assertTrue(answered, seen)
        self.assertEqual(os.waitstatus_to_exitcode(status), 0, seen)
        self.assertNotIn(recovery.encode(), seen, "the key is not echoed")
        self.assertEqual(self.cv("-H", self.home, "-p", new, "tenant", "list", home=False).rc, 0)

    def test_readable_store_refused(self):
        self.cv("init")
        os.chmod(os.path.join(self.home, "key"), 0o644)
        res = self.cv("tenant", "list", ok=False)
        self.assertEqual(res.rc, 1)
        self.assertIn("chmod", res.err)

    def test_no_passphrase_without_terminal(self):
        self.cv("init")
        res = subprocess.run([cvtest.CHATVAULT, "-H", self.home, "tenant", "list"], capture_output=True,
                             text=True, stdin=subprocess.DEVNULL, env=self.env, start_new_session=True)
        self.assertEqual(res.returncode, 1)
        self.assertIn("--passphrase-file", res.stderr)

    def test_new_passphrase_has_a_minimum_length(self):
        # One character was accepted. Eight at least, counted in
        # characters: seven two-byte letters are still seven.
        for short in ("x", "1234567", "\u00e9" * 7):
            pf = self.write_secret("short", short + "\n")
            res = self.cv("-H", self.home, "-p", pf, "init", ok=None, home=False)
            self.assertEqual(res.rc, 1, (short, res.err))
            self.assertIn("at least 8 characters", res.err)
            self.assertFalse(os.path.exists(os.path.join(self.home, "key")))
        self.cv("init")
        res = self.cv("passwd", "--new-passphrase-file", self.write_secret("short", "1234567\n"), ok=None)
        self.assertEqual(res.rc, 1, res.err)
        self.assertIn("at least 8 characters", res.err)
        self.assertEqual(self.cv("tenant", "list").rc, 0, "the old passphrase still opens the store")
        self.cv("passwd", "--new-passphrase-file", self.write_secret("eight", "\u00e9" * 8 + "\n"))

    def test_passwd_without_terminal_names_its_own_options(self):
        # The store passphrase came with -p: what is missing is the new one
        # (or the recovery key), and the message names the option for it.
        self.cv("init")
        for extra, option in (([], "--new-passphrase-file"), (["--recovery"], "--recovery-key-file")):
            res = subprocess.run([cvtest.CHATVAULT, "-H", self.home, "-p", self.passfile, "passwd", *extra],
                                 capture_output=True, text=True, stdin=subprocess.DEVNULL, env=self.env,
                                 start_new_session=True)
            self.assertEqual(res.returncode, 1, res.stderr)
            self.assertIn(option, res.stderr)
            self.assertNotIn("give --passphrase-file", res.stderr)

    def test_usage_errors_exit_2(self):
        self.assertEqual(self.cv("frobnicate", ok=False).rc, 2)
        self.assertEqual(subprocess.run([cvtest.CHATVAULT], capture_output=True, stdin=subprocess.DEVNULL).returncode, 2)

    def test_tampered_record_detected_others_readable(self):
        self.start_sim()
        self.setup_tenant()
        self.backup()
        upn = self.cv("--json", "accounts", "list").json()[0]["upn"]
        before = self.download_json(upn)
        total = sum(len(d["messages"]) for d in before.values())
        self.damage_one_record(upn)
        out = os.path.join(self.dir, "after")
        res = self.cv("download", "--user", upn, "--format", "json", "--out", out, ok=False)
        self.assertEqual(res.rc, 3, res.err)
        self.assertIn("integrity", res.err)
        after = 0
        for name in os.listdir(out):
            with open(os.path.join(out, name), encoding="utf-8") as f:
                after += len(json.load(f)["messages"])
        self.assertEqual(after, total - 1)

    def test_zip_download(self):
        import zipfile
        self.start_sim()
        self.setup_tenant()
        self.backup()
        upn = self.cv("--json", "accounts", "list").json()[0]["upn"]
        z = os.path.join(self.dir, "out.zip")
        self.cv("download", "--user", upn, "--format", "json", "--zip", z)
        with zipfile.ZipFile(z) as zf:
            names = zf.namelist()
            self.assertTrue(names and all(n.endswith(".json") and "/" not in n and not n.startswith(".")
                                          for n in names), names)
            self.assertEqual(len(names), len(self.download_json(upn)))

    def test_date_range(self):
        import json
        self.start_sim()
        self.setup_tenant()
        self.backup()
        upn = self.cv("--json", "accounts", "list").json()[0]["upn"]
        every = [m for d in self.download_json(upn).values() for m in d["messages"]]
        days = sorted({m["createdDateTime"][:10] for m in every})
        lo, hi = days[len(days) // 4], days[3 * len(days) // 4]
        some = [m for d in self.download_json(upn, "--from", lo, "--to", hi).values() for m in d["messages"]]
        want = sorted(m["id"] for m in every if lo <= m["createdDateTime"][:10] <= hi)
        self.assertEqual(sorted(m["id"] for m in some), want)


if __name__ == "__main__":
    cvtest.main()

#!/usr/bin/env python3
"""The console, driven in tmux: keys in with send-keys, the screen read back
with capture-pane, and the store checked afterwards through the CLI.

Each test gets its own tmux server (a private -L socket), a fresh store and,
where it needs one, its own Graph simulator. Screens are polled until the
expected text appears (never a blind sleep); every screen captured is kept
so a test can assert that something (a secret) never appeared.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import unicodedata
import uuid

import cvtest

TMUX = shutil.which("tmux")
SRCDIR = os.environ.get("CV_SRCDIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
WAIT = 20.0            # seconds to wait for a screen before failing

# The wrapper the pane runs: the console (its pid recorded, then exec'd so
# the pid is the console's), then its exit status and the terminal modes it
# left behind, then an idle process so the pane and its contents stay.
RUN_SH = r"""#!/bin/sh
sh -c 'echo $$ > "$0"; exec "$@"' "$CVUI_PIDFILE" "$CVUI_CHATVAULT"
rc=$?
printf 'CV-EXIT=%s\n' "$rc"
printf 'STTY:'
stty -a | tr ' ;' '\n\n' | grep -E '^-?(icanon|echo|icrnl|isig|opost)$' | tr '\n' ' '
printf ':STTY\n'
exec sleep 3600
"""

TMUX_CONF = """set -g status off
set -g remain-on-exit on
set -g history-limit 2000
set -g set-clipboard external
"""


def cols(s):
    """Display columns of s, as a terminal counts them."""
    n = 0
    for ch in s:
        if unicodedata.combining(ch):
            continue
        n += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return n


def col_of(line, index):
    """The display column where line[index] starts."""
    return cols(line[:index])


def parse_po(path):
    """msgid -> msgstr of a .po file (no plurals, no fuzzy, no context)."""
    out = {}
    if not os.path.exists(path):
        return out
    entry, field, fuzzy = {}, None, False

    def flush():
        if not fuzzy and "msgctxt" not in entry and entry.get("msgid") and entry.get("msgstr"):
            out[entry["msgid"]] = entry["msgstr"]

    def unq(s):
        return json.loads(s) if s.startswith('"') else ""

    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.strip()
            if not line:
                flush()
                entry, field, fuzzy = {}, None, False
            elif line.startswith("#,"):
                fuzzy = "fuzzy" in line
            elif line.startswith("#"):
                continue
            elif line.startswith('"') and field:
                entry[field] += unq(line)
            else:
                key, _, rest = line.partition(" ")
                field = key
                entry[field] = unq(rest.strip())
    flush()
    return out


class Console(cvtest.ChatvaultTest):
    sim_args = ("--users", "6", "--chats-per-user", "2", "--messages-per-chat", "4", "--throttle", "off")

    # ------------------------------------------------------------ helpers
    def setUp(self):
        if not TMUX:
            self.skipTest("tmux is not installed")
        super().setUp()
        self.sock = "cvui-%d-%s" % (os.getpid(), uuid.uuid4().hex[:8])
        self.session = "cv"
        self.tmux_started = False
        self.screens = []
        self.tmux_conf = os.path.join(self.dir, "tmux.conf")
        with open(self.tmux_conf, "w") as f:
            f.write(TMUX_CONF)
        self.run_sh = os.path.join(self.dir, "run.sh")
        with open(self.run_sh, "w") as f:
            f.write(RUN_SH)
        self.pidfile = os.path.join(self.dir, "console.pid")
        os.makedirs(os.path.join(self.dir, "config"), exist_ok=True)
        self.tmux_env = dict(self.env)
        self.tmux_env.pop("TMUX", None)
        self.tmux_env.setdefault("TERM", "xterm")

    def tearDown(self):
        if self.tmux_started:
            self.tmux("kill-server", ok=False)
        super().tearDown()

    def tmux(self, *args, ok=True):
        proc = subprocess.run([TMUX, "-f", self.tmux_conf, "-L", self.sock, *args], capture_output=True,
                              text=True, env=self.tmux_env, timeout=30)
        if ok and proc.returncode != 0:
            self.fail("tmux %s: %s" % (" ".join(args), proc.stderr.strip()))
        return proc.stdout

    def start_console(self, width=100, height=30, env=None, wait=" chatvault "):
        """Run the console in a fresh tmux session of width x height."""
        binary = shutil.which(cvtest.CHATVAULT) or os.path.abspath(cvtest.CHATVAULT)
        cenv = {
            "CHATVAULT_HOME": self.home,
            "CHATVAULT_PASSPHRASE_FILE": self.passfile,
            "XDG_CONFIG_HOME": os.path.join(self.dir, "config"),
            "LC_ALL": "C.UTF-8",
            "LANG": "C.UTF-8",
            "LANGUAGE": "",
            "CVUI_PIDFILE": self.pidfile,
            "CVUI_CHATVAULT": binary,
        }
        cenv.update(cvtest.FAST_KDF)
        if os.environ.get("CHATVAULT_LOCALEDIR"):
            cenv["CHATVAULT_LOCALEDIR"] = os.environ["CHATVAULT_LOCALEDIR"]
        cenv.update(env or {})
        args = ["new-session", "-d", "-s", self.session, "-x", str(width), "-y", str(height)]
        for k, v in cenv.items():
            args += ["-e", "%s=%s" % (k, v)]
        args += ["sh " + self.run_sh]
        self.tmux(*args)
        self.tmux_started = True
        self.width, self.height = width, height
        if wait:
            return self.wait_for(wait)
        return None

    def screen(self):
        text = self.tmux("capture-pane", "-p", "-t", self.session)
        self.screens.append(text)
        return text

    def lines(self, text=None):
        lines = (text if text is not None else self.screen()).split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        return lines

    def wait_for(self, what, timeout=WAIT, gone=False):
        """Poll the screen until what (text, compiled regex or predicate) shows
        (or, with gone, no longer shows). Returns the screen."""
        deadline = time.time() + timeout
        while True:
            s = self.screen()
            if isinstance(what, str):
                hit = what in s
            elif hasattr(what, "search"):
                hit = what.search(s) is not None
            else:
                hit = bool(what(s))
            if hit != gone:
                return s
            if time.time() > deadline:
                self.fail("timed out after %.0f s waiting for %s%r; the screen:\n%s" %
                          (timeout, "the end of " if gone else "", getattr(what, "pattern", what), s))
            time.sleep(0.05)

    def keys(self, *k):
        """Send tmux key names (Enter, Escape, F10, C-u, ...) or characters."""
        self.tmux("send-keys", "-t", self.session, *k)

    def type(self, text):
        self.tmux("send-keys", "-t", self.session, "-l", text)

    def display(self, fmt):
        return self.tmux("display-message", "-p", "-t", self.session, fmt).rstrip("\n")

    def status_line(self, s=None):
        return self.lines(s)[-2]

    def bar_line(self, s=None):
        return self.lines(s)[-1]

    def redraw(self):
        """Ctrl-L: drops the one-line feedback so the status line shows counts."""
        self.keys("C-l")

    def console_pid(self):
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                with open(self.pidfile) as f:
                    return int(f.read().strip())
            except (OSError, ValueError):
                time.sleep(0.05)
        self.fail("the console's pid file never appeared")

    def wait_exit(self, timeout=WAIT):
        """Wait for the console to exit; check its status and that the
        terminal was given back (main screen, cursor shown, cooked modes)."""
        s = self.wait_for(re.compile(r"CV-EXIT=\d+"), timeout)
        s = self.wait_for(":STTY", 5)
        rc = int(re.search(r"CV-EXIT=(\d+)", s).group(1))
        self.assertEqual(rc, 0, "the console exited %d:\n%s" % (rc, s))
        modes = re.search(r"STTY:(.*):STTY", s.replace("\n", "")).group(1).split()
        for m in ("icanon", "echo", "icrnl", "isig", "opost"):
            self.assertIn(m, modes, "terminal mode %s not restored: %s" % (m, modes))
        self.assertEqual(self.display("#{alternate_on}"), "0", "still on the alternate screen")
        self.assertEqual(self.display("#{cursor_flag}"), "1", "the cursor is still hidden")
        self.assertEqual(self.display("#{keypad_cursor_flag}"), "0", "the cursor keys are still in application mode")
        self.assertNotIn(" chatvault ", s, "the console's screen was left behind:\n" + s)
        return s

    def quit(self):
        """F10, answering y when it asks because jobs run; wait for the exit."""
        self.keys("F10")
        s = self.wait_for(lambda s: "CV-EXIT=" in s or "Quit chatvault?" in s)
        if "Quit chatvault?" in s:
            self.keys("y")
        return self.wait_exit()

    def accounts(self):
        return {a["upn"]: a for a in self.cv("--json", "accounts", "list").json()}

    def truth_users(self):
        return self.sim.truth()["users"]

    def row_upns(self, s):
        """The UPNs in the rows of an account table (wide enough not to cut them)."""
        return set(re.findall(r"^[* ] (\S+@\S+\.onmicrosoft\.com)\s", s, re.M))

    def store_with_tenant(self, activate=False, sim_args=None):
        self.start_sim(*(sim_args or self.sim_args))
        self.setup_tenant(activate=activate)
        return self.accounts()

    # ------------------------------------------------- 1. tabs and help
    def test_tabs_keys_and_help(self):
        self.store_with_tenant()
        self.start_console(120, 40)
        dash = self.wait_for("backed up 0/0")
        self.assertRegex(dash, r"1 Dashboard\s+2 Private Chat\s+5 System Status")
        self.assertIn(self.sim.info["domain"], self.lines(dash)[0])
        self.assertRegex(self.status_line(dash), r"6 accounts · 0 jobs running · last refresh \d\d:\d\d:\d\d")
        self.assertRegex(self.bar_line(dash), r"^F1\s*Help F2\s*Tenant F5\s*Refresh F10\s*Quit")

        markers = {"dash": "backed up 0/0", "priv": "Private chat", "status": "No backup has run yet"}

        def on(tab):
            s = self.wait_for(markers[tab])
            for other, m in markers.items():
                if other != tab:
                    self.assertNotIn(m, s, "%s shows on the %s tab" % (m, tab))
            return s

        self.keys("2")
        priv = on("priv")
        self.assertEqual(priv.count("INACTIVE"), 6)
        self.assertRegex(self.status_line(priv), r"^ 0 tagged · 0 jobs running")
        self.assertIn("F9", self.bar_line(priv))
        self.assertRegex(self.bar_line(priv), r"F7\s*Backup F8\s*Download F9\s*Activate")
        self.keys("5")
        status = on("status")
        self.assertIn("Backups", status)
        self.keys("1")
        on("dash")
        # Tab cycles forward, BTab backward, both wrapping.
        for tab in ("priv", "status", "dash"):
            self.keys("Tab")
            on(tab)
        for tab in ("status", "priv", "dash"):
            self.keys("BTab")
            on(tab)

        # ? opens the help: every command of the command table, with its keys.
        self.keys("?")
        helps = self.wait_for("Help: every command")
        self.assertRegex(helps, r"(?m)^ a F9\s+activate\s+activate private chat backup")
        self.keys("Escape")
        on("dash")
        self.keys("F1")
        self.wait_for("Help: every command")
        self.keys("End")
        end = self.wait_for(re.compile(r"(?m)^ F10\s+quit\s"))
        m = re.search(r"lines (\d+)-(\d+) of (\d+)", self.status_line(end))
        self.assertIsNotNone(m, self.status_line(end))
        self.assertEqual(m.group(2), m.group(3))
        with open(os.path.join(SRCDIR, "ui", "command.c"), encoding="utf-8") as f:
            table = re.findall(r'\{CMD_\w+, "([\w-]+)", "([^"]*)"', f.read())
        self.assertGreater(len(table), 30)
        help_text = helps + end
        for name, keys in table:
            self.assertRegex(help_text, r"(?m)^ %s\s+%s\s" % (re.escape(keys), re.escape(name)),
                             "help lacks %s (%s)" % (name, keys))
        self.keys("q")                 # q backs out of the help, it does not quit
        on("dash")
        self.keys("q")                 # and at the top level quits
        self.wait_exit()

    # --------------------------------------- 2. tag all + activate, 200 accounts
    def test_tag_all_activate_200(self):
        before = self.store_with_tenant(sim_args=("--users", "200", "--chats-per-user", "1",
                                                  "--messages-per-chat", "2", "--throttle", "off"))
        self.assertEqual(len(before), 200)
        self.assertEqual({a["privateChat"] for a in before.values()}, {"INACTIVE"})
        self.start_console(120, 40)
        self.keys("2")
        self.wait_for("0 tagged")
        self.keys("*")
        s = self.wait_for("200 more accounts tagged")
        self.assertEqual(len(re.findall(r"(?m)^\* ", s)), 40 - 6, "every visible row is marked tagged")
        self.redraw()
        self.wait_for(re.compile(r"(?m)^ 200 tagged · "))
        self.keys("a")
        s = self.wait_for("Proceed? [y/N]")
        self.assertIn("Activate private chat backup for 200 accounts:", s)
        self.assertNotIn("hidden by the filter", s)
        self.keys("y")
        s = self.wait_for("200 accounts activated")
        self.assertEqual(s.count("INACTIVE"), 0)
        self.quit()
        after = self.accounts()
        self.assertEqual(set(after), set(before))
        self.assertEqual({a["privateChat"] for a in after.values()}, {"ACTIVE"})

    # --------------------------------------------------- 3. tag by pattern
    def test_tag_pattern(self):
        self.store_with_tenant(sim_args=("--users", "20", "--chats-per-user", "1", "--messages-per-chat", "2",
                                         "--throttle", "off"))
        users = self.truth_users()

        def matches(pattern):
            rx = re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern),
                            re.I | re.A | re.S)
            return {u["userPrincipalName"] for u in users
                    if rx.fullmatch(u["userPrincipalName"]) or rx.fullmatch(u["displayName"] or "")}

        for pattern in ("m*", "a*", "*son@*", "*e?@*", "j*", "s*"):
            want = matches(pattern)
            if 2 <= len(want) < len(users) // 2:
                break
        else:
            self.fail("no pattern picks a proper subset of the simulated users")
        self.start_console(160, 40)
        self.keys("2")
        self.wait_for("0 tagged")
        self.keys("T")
        self.wait_for("Tag accounts matching (* and ?):")
        self.type(pattern)
        self.keys("Enter")
        self.wait_for("%d more account%s tagged" % (len(want), "" if len(want) == 1 else "s"))
        self.redraw()
        s = self.wait_for(re.compile(r"(?m)^ %d tagged · " % len(want)))
        tagged = set(re.findall(r"^\* (\S+@\S+)\s", s, re.M))
        self.assertEqual(tagged, want, "pattern %r" % pattern)
        self.keys("a")
        s = self.wait_for("Proceed? [y/N]")
        self.assertIn("for %d accounts" % len(want), s)
        self.keys("y")
        self.wait_for("%d accounts activated" % len(want))
        self.quit()
        active = {u for u, a in self.accounts().items() if a["privateChat"] == "ACTIVE"}
        self.assertEqual(active, want)

    # ------------------------------------------------------- 4. the filter
    def test_filter(self):
        self.store_with_tenant(sim_args=("--users", "20", "--chats-per-user", "1", "--messages-per-chat", "2",
                                         "--throttle", "off"))
        users = self.truth_users()
        by_dept = {}
        for u in users:
            by_dept.setdefault(u["department"], set()).add(u["userPrincipalName"])
        depts = sorted((d for d in by_dept if d and len(by_dept[d]) < len(users)), key=lambda d: -len(by_dept[d]))
        dept, other = depts[0], depts[1]
        want, hide = by_dept[dept], by_dept[other]
        self.start_console(160, 40)
        self.keys("2")
        s = self.wait_for("0 tagged")
        self.assertEqual(self.row_upns(s), {u["userPrincipalName"] for u in users})

        # A field filter shows only the matching rows and says so.
        self.keys("f")
        self.wait_for("Filter (text or field=value):")
        self.type("dept=" + dept)
        self.keys("Enter")
        s = self.wait_for("filter: dept=" + dept)
        self.assertEqual(self.row_upns(s), want)
        self.assertRegex(self.status_line(s), r"^ 0 tagged · filter: dept=%s · " % re.escape(dept))

        # * tags only what the filter shows.
        self.keys("*")
        self.wait_for("%d more accounts tagged" % len(want))
        self.redraw()
        s = self.wait_for(re.compile(r"(?m)^ %d tagged · filter:" % len(want)))
        self.assertNotIn("hidden by filter", s)

        # Esc clears the filter: every row again, the tags kept.
        self.keys("Escape")
        s = self.wait_for("filter cleared")
        self.assertEqual(self.row_upns(s), {u["userPrincipalName"] for u in users})
        self.assertEqual(set(re.findall(r"^\* (\S+@\S+)\s", s, re.M)), want)
        self.redraw()
        s = self.wait_for(re.compile(r"(?m)^ %d tagged · \d+ jobs? running" % len(want)))
        self.assertNotIn("filter:", self.status_line(s))

        # A filter that hides the tagged rows says how many it hides.
        self.keys("f")
        self.wait_for("Filter (text or field=value):")
        self.keys("C-u")
        self.type("dept=" + other)
        self.keys("Enter")
        s = self.wait_for("filter: dept=" + other)
        self.assertEqual(self.row_upns(s), hide)
        self.assertRegex(self.status_line(s), r"^ %d tagged \(%d hidden by filter\) · filter: dept=%s" %
                         (len(want), len(want), re.escape(other)))
        # ... and so does the confirmation, which acts on the tagged rows.
        self.keys("a")
        s = self.wait_for("Proceed? [y/N]")
        flat = re.sub(r"[│|]\s*\n\s*[│|]", " ", s)
        flat = re.sub(r"\s+", " ", flat)
        self.assertIn("for %d accounts" % len(want), flat)
        self.assertIn("%d of them are hidden by the filter" % len(want), flat)
        self.keys("y")
        self.wait_for("%d accounts activated" % len(want))

        # A text filter matches UPN, name or department, case-insensitively.
        self.keys("f")
        self.wait_for("Filter (text or field=value):")
        self.keys("C-u")
        needle = sorted(want)[0].split("@")[0].split(".")[-1][:4].upper()
        self.type(needle)
        self.keys("Enter")
        s = self.wait_for("filter: " + needle)
        text_want = {u["userPrincipalName"] for u in users
                     if any(needle.lower() in (u[k] or "").lower() for k in ("userPrincipalName", "displayName", "department"))}
        self.assertEqual(self.row_upns(s), text_want)

        # An unknown field is refused and the filter stays as it was.
        self.keys("f")
        self.wait_for("Filter (text or field=value):")
        self.keys("C-u")
        self.type("colour=red")
        self.keys("Enter")
        s = self.wait_for("unknown filter field")
        self.keys("C-l")
        s = self.wait_for("filter: " + needle)
        self.quit()
        active = {u for u, a in self.accounts().items() if a["privateChat"] == "ACTIVE"}
        self.assertEqual(active, want)

    # ------------------------------------------ 5. the confirmation's default
    def test_confirmation_defaults_to_no(self):
        before = self.store_with_tenant()
        self.start_console(120, 30)
        self.keys("2")
        s = self.wait_for("0 tagged")
        first = sorted(before)[0]
        self.assertRegex(s, r"(?m)^  %s" % re.escape(first[:20]))
        for answer in ("Enter", "n", "Escape", "q", "x"):
            self.keys("a" if answer != "x" else "F9")
            s = self.wait_for("Proceed? [y/N]")
            self.assertIn("Activate private chat backup for 1 account:", s)
            self.keys(answer)
            if answer == "x":
                # Any other key keeps the question open; then n.
                time.sleep(0.3)
                self.assertIn("Proceed? [y/N]", self.screen())
                self.keys("n")
            s = self.wait_for("nothing changed")
            self.assertNotIn("Proceed?", s)
            self.assertEqual(s.count("INACTIVE"), 6, "after %s" % answer)
            self.assertEqual({a["privateChat"] for a in self.accounts().values()}, {"INACTIVE"},
                             "answering %s changed the store" % answer)
        # y does act, on the cursor row only.
        self.keys("a")
        self.wait_for("Proceed? [y/N]")
        self.keys("y")
        self.wait_for("1 account activated")
        self.quit()
        active = {u for u, a in self.accounts().items() if a["privateChat"] == "ACTIVE"}
        self.assertEqual(active, {first})

    # ----------------------------------------------- 6. the credential form
    def test_credential_form(self):
        sim = self.start_sim()
        self.cv("init")
        secret = sim.app("full")["secret"]
        wrong = "wrong-" + secret[6:]
        self.start_console(120, 40)
        s = self.wait_for("No tenant is connected yet.")
        self.assertIn("2 Private Chat", s)
        self.assertIn("Press Enter or C to open the credential form.", s)
        self.keys("Enter")
        s = self.wait_for("Connect a tenant")
        for label in ("Tenant (domain or ID)", "Application (client) ID", "Client secret", "Login URL",
                      "Graph URL", "[ Test & Save Connection ]"):
            self.assertIn(label, s)

        def field(text, tabs=1):
            self.keys("C-u")
            if text:
                self.type(text)
            self.keys(*(["Tab"] * tabs))

        field(sim.info["tenant_id"])
        field(sim.app("full")["client_id"])
        field(wrong)
        field("")                                 # certificate
        field("")                                 # test user
        field(sim.info["login_url"])
        field(sim.info["graph_url"])
        s = self.wait_for(sim.info["graph_url"])
        self.assertIn("*" * len(wrong), s)
        self.keys("Enter")
        s = self.wait_for(re.compile(r"✗\s+Get an access token: .+"))
        self.assertIn("Get an access token: the client secret is not valid", s)
        self.assertNotIn("Status: Active", s)
        self.assertEqual(self.cv("--json", "tenant", "list").json(), [])

        # Fix the secret: back up to its field, clear it, type the right one.
        self.keys(*["BTab"] * 5)
        self.keys("C-u")
        self.type(secret)
        self.keys(*["Tab"] * 5)
        self.wait_for(lambda s: "*" * len(secret) in s)
        self.keys("Enter")
        s = self.wait_for("Status: Active")
        for step in ("Get an access token", "List users", "Save the connection"):
            self.assertRegex(s, r"✓ ok\s+%s" % step)
        self.keys("Enter")                        # "press any key"
        s = self.wait_for(re.compile(r"tenant saved; 6 accounts synced"))
        self.assertEqual(s.count("INACTIVE"), 6)
        tenants = self.cv("--json", "tenant", "list").json()
        self.assertEqual([(t["tenantId"], t["clientId"], t["status"]) for t in tenants],
                         [(sim.info["tenant_id"], sim.app("full")["client_id"], "Active")])
        self.assertEqual(len(self.accounts()), 6)
        self.quit()
        for shot in self.screens:
            self.assertNotIn(secret, shot)
            self.assertNotIn(wrong, shot)
            self.assertNotIn(secret[:12], shot)
        log = os.path.join(self.home, "console.log")
        if os.path.exists(log):
            with open(log, encoding="utf-8", errors="replace") as f:
                text = f.read()
            self.assertNotIn(secret, text)
            self.assertNotIn(wrong, text)

    # ------------------------------------------ 7. hostile text in the pager
    def test_hostile_chat_is_inert(self):
        self.store_with_tenant(activate=True)
        self.cv("backup")
        truth = self.sim.truth()
        hostile = [c for c in truth["chats"] if c["topic"] == "Hostile content"][0]
        uid = hostile["members"][0]["userId"]
        upn = [u["userPrincipalName"] for u in truth["users"] if u["id"] == uid][0]
        self.start_console(160, 50)
        title = self.display("#{pane_title}")
        self.keys("2")
        self.wait_for("0 tagged")
        self.keys("f")
        self.wait_for("Filter (text or field=value):")
        self.type("upn=" + upn)
        self.keys("Enter")
        s = self.wait_for("filter: upn=" + upn)
        self.assertEqual(self.row_upns(s), {upn})
        self.keys("Enter")
        s = self.wait_for("Chats of ")
        rows = self.lines(s)[3:-3]
        idx = [i for i, line in enumerate(rows) if "Hostile content" in line]
        self.assertTrue(idx, "no 'Hostile content' row:\n" + s)
        self.keys(*["Down"] * idx[0])
        self.keys("Enter")
        s = self.wait_for(re.compile(r"(?m)^──Hostile content"))
        # Page through the whole chat so every line has been drawn once.
        for _ in range(100):
            m = re.search(r"lines (\d+)-(\d+) of (\d+)", self.status_line(s))
            if m and m.group(2) == m.group(3):
                break
            self.keys("NPage")
            prev = m.group(0) if m else ""
            s = self.wait_for(lambda s: re.search(r"lines \d+-\d+ of \d+", s) and prev not in s)
        self.keys("/")
        self.type("RED ALERT")
        self.keys("Enter")
        s = self.wait_for("^[[31mRED ALERT^[[0m")
        line = [x for x in self.lines(s) if "RED ALERT" in x][0]
        styled = self.tmux("capture-pane", "-p", "-e", "-t", self.session)
        sline = [x for x in styled.split("\n") if "RED ALERT" in x][0]
        self.assertNotRegex(sline, r"\x1b\[(?:[0-9;]*;)?31(?:;[0-9;]*)?m", "the message's own escape coloured it")
        self.keys("/")
        self.type("reversed")
        self.keys("Enter")
        s = self.wait_for("<U+202E>This whole sentence is reversed<U+202C>")
        self.keys("/")
        self.type("terminal title")
        self.keys("Enter")
        s = self.wait_for("^[]0;pwned^G this sets the terminal title")
        self.assertIn(line.strip()[:10], line)
        self.assertEqual(self.display("#{pane_title}"), title, "the chat changed the terminal title")
        self.assertNotIn("pwned", self.display("#{pane_title}"))
        self.assertNotIn("c1title", self.display("#{pane_title}"))
        self.assertEqual(self.tmux("list-buffers").strip(), "", "the chat wrote the clipboard (OSC 52)")
        self.assertEqual(self.display("#{alternate_on}"), "1")
        self.keys("Escape")
        self.wait_for("Chats of ")
        self.keys("Escape")
        self.wait_for("filter: upn=")
        self.quit()
        self.assertEqual(self.tmux("list-buffers").strip(), "")

    # ------------------------------------------------------------ 8. resize
    def test_resize(self):
        self.store_with_tenant()
        self.start_console(120, 40)
        self.keys("2")
        self.wait_for("0 tagged")

        def norm(s):
            return re.sub(r"\d\d:\d\d:\d\d", "HH:MM:SS", s)

        def check_layout(s, w, h):
            lines = self.lines(s)
            self.assertEqual(len(lines), h, s)
            self.assertTrue(all(cols(x) <= w for x in lines), s)
            self.assertTrue(lines[0].startswith(" chatvault "), s)
            self.assertEqual(lines[1], "─" * w, "the rule under the tabs")
            self.assertEqual(lines[h - 3], "─" * w, "the rule over the status line")
            self.assertRegex(lines[h - 2], r"^ 0 tagged · 0 jobs running · last refresh")
            self.assertRegex(lines[h - 1], r"^F1\s*Help F2\s*Tenant")
            self.assertRegex(lines[2], r"^  Account▲ ")
            self.assertEqual(sum("INACTIVE" in x for x in lines), 6)
            self.assertTrue(all(x.strip() == "" for x in lines[9:h - 3]), "garbage below the rows:\n" + s)

        big = self.screen()
        check_layout(big, 120, 40)
        self.assertIn("Department", big)
        self.tmux("resize-window", "-t", self.session, "-x", "80", "-y", "24")
        small = self.wait_for(lambda s: len(self.lines(s)) == 24 and "F1" in self.lines(s)[-1]
                              and "0 tagged" in self.lines(s)[-2])
        check_layout(small, 80, 24)
        self.assertNotIn("Department", small)          # narrower: fewer columns, not more chrome
        self.tmux("resize-window", "-t", self.session, "-x", "40", "-y", "10")
        tiny = self.wait_for("Terminal too small")
        self.assertRegex(self.lines(tiny)[0], r"^Terminal too small: 40x10, need \d+x\d+")
        self.assertTrue(all(x.strip() == "" for x in self.lines(tiny)[1:]), tiny)
        # Keys still work while too small, and the layout comes back.
        self.keys("5")
        self.tmux("resize-window", "-t", self.session, "-x", "120", "-y", "40")
        s = self.wait_for("No backup has run yet")
        self.keys("2")
        again = self.wait_for(lambda s: "0 tagged" in s and "Private chat" in s)
        self.assertEqual(norm(again), norm(big), "120x40 after resizing differs from the first 120x40")
        self.tmux("resize-window", "-t", self.session, "-x", "80", "-y", "24")
        again = self.wait_for(lambda s: len(self.lines(s)) == 24 and "0 tagged" in self.lines(s)[-2])
        self.assertEqual(norm(again), norm(small))
        self.quit()

    # ---------------------------------------------------------- 9. C locale
    def test_c_locale_is_ascii(self):
        before = self.store_with_tenant()
        non_ascii = [a for a in before.values() if any(ord(c) > 127 for c in a["displayName"])]
        self.assertTrue(non_ascii, "the tenant has no non-ASCII names to test with")
        self.start_console(120, 30, env={"LC_ALL": "C", "LANG": "C"})
        dash = self.wait_for("backed up 0/0")
        self.keys("2")
        priv = self.wait_for("Private chat")
        self.keys("5")
        stat = self.wait_for("No backup has run yet")
        self.keys("?")
        helps = self.wait_for("Help: every command")
        self.keys("Escape")
        self.wait_for("No backup has run yet")
        for name, s in (("Dashboard", dash), ("Private Chat", priv), ("System Status", stat), ("help", helps)):
            bad = sorted({c for c in s if ord(c) > 127})
            self.assertEqual(bad, [], "non-ASCII on the %s screen in the C locale:\n%s" % (name, s))
        self.assertRegex(self.lines(priv)[0], r"^ chatvault  %s v " % re.escape(self.sim.info["domain"]))
        self.assertEqual(self.lines(priv)[1], "-" * 120)
        self.assertIn("Account^", priv)
        for a in non_ascii:
            shown = "".join("?" if ord(c) > 127 else c for c in a["displayName"])
            self.assertIn(shown[:20], priv)
        # The status line's separators are ASCII too, not a '?' for the middle dot.
        self.assertNotRegex(self.status_line(priv), r"tagged \? |running \? ",
                            "the status line's separator shows as '?' in the C locale")
        self.keys("2")
        self.wait_for("0 tagged")
        self.keys("a")
        s = self.wait_for("Proceed? [y/N]")
        self.assertIn("Activate private chat backup for 1 account:", s)
        self.keys("n")
        self.wait_for("nothing changed")
        self.quit()

    # ------------------------------------------------- 10. German catalogue
    def test_german(self):
        have = subprocess.run(["locale", "-a"], capture_output=True, text=True).stdout.lower().split()
        if "de_de.utf8" not in have and "de_de.utf-8" not in have:
            self.skipTest("the de_DE.UTF-8 locale is not installed")
        localedir = os.environ.get("CHATVAULT_LOCALEDIR")
        self.assertTrue(localedir and os.path.exists(os.path.join(localedir, "de", "LC_MESSAGES", "chatvault.mo")),
                        "no German catalogue under CHATVAULT_LOCALEDIR=%r (make tests/locale/de/LC_MESSAGES/chatvault.mo)"
                        % localedir)
        de = parse_po(os.path.join(SRCDIR, "po", "de.po"))
        self.store_with_tenant()
        self.start_console(120, 30, env={"LANG": "de_DE.UTF-8", "LC_ALL": "de_DE.UTF-8", "LANGUAGE": "de"})
        s = self.wait_for("Systemstatus")
        self.assertRegex(self.lines(s)[0], r"1 \S.*\s2 Privatchat\s+5 Systemstatus\s*$")
        self.keys("2")
        s = self.wait_for(lambda s: "INACTIVE" in s or de.get("INACTIVE", "\0") in s)
        lines = self.lines(s)
        header = lines[2]
        titles = ["Account", "Name", "Department", "Private chat", "Backup status", "Last backup", "Chats", "Messages"]
        german = [de[t] for t in titles if de.get(t) and de[t] != t]
        self.assertTrue(german, "no column title of the Private Chat tab is translated in po/de.po")
        for t in german:
            self.assertIn(t, header, "the translated column title %r is missing:\n%s" % (t, header))
        # Columns line up: each value starts (or, for counts, ends) where its title does.
        word = de.get("INACTIVE", "INACTIVE")
        title = de.get("Private chat", "Private chat")
        x_title = col_of(header, header.index(title))
        rows = [x for x in lines[3:] if word in x]
        self.assertEqual(len(rows), 6, s)
        for r in rows:
            self.assertEqual(col_of(r, r.index(word)), x_title, "the private chat column is misaligned:\n%s" % s)
        msgs = de.get("Messages", "Messages")
        end_title = col_of(header, header.index(msgs) + len(msgs))
        for r in rows:
            m = re.search(r"(\d+)\s*$", r)
            self.assertEqual(col_of(r, m.end(1)), end_title, "the message counts are misaligned:\n%s" % s)
        self.assertTrue(all(cols(x) <= 120 for x in lines))
        self.quit()

    # ------------------------------------ 11. live progress of another process
    def test_live_progress_of_cli_backup(self):
        self.store_with_tenant(activate=True, sim_args=("--users", "4", "--chats-per-user", "4",
                                                        "--messages-per-chat", "20", "--throttle", "off",
                                                        "--latency", "250"))
        self.start_console(120, 30)
        self.wait_for("backed up 0/4")
        cmd = [cvtest.CHATVAULT, "-H", self.home, "-p", self.passfile, "backup"]
        log = open(os.path.join(self.dir, "backup.out"), "w")
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=self.env)
        try:
            s = self.wait_for(re.compile(r"#\d+ backup .*In Progress .*\d+%"), 30)
            self.assertIn("Running jobs", s)
            self.assertRegex(self.status_line(s), r"1 job running")
            job = re.search(r"#(\d+) backup", s).group(1)
            s = self.wait_for(lambda s: "Running jobs" not in s and "backed up 4/4" in s, 60)
            self.assertEqual(s.count("Completed"), 4, s)
            self.assertRegex(self.status_line(s), r"0 jobs running")
        finally:
            rc = proc.wait(120)
            log.close()
        self.assertEqual(rc, 0)
        jobs = self.cv("--json", "jobs", "list").json()
        self.assertEqual([(str(j["id"]), j["status"]) for j in jobs], [(job, "Completed")])
        self.keys("5")
        s = self.wait_for("Backups")
        self.assertRegex(s, r"(?m)^\s+%s .*Completed\s+%d/%d" % (job, jobs[0]["done"], jobs[0]["total"]))
        self.quit()

    # ---------------------------------------------------------- quitting
    def test_quit_keys_restore_terminal(self):
        self.cv("init")
        self.start_console(80, 24)
        self.wait_for("No tenant is connected yet.")
        self.keys("F10")
        self.wait_exit()
        self.tmux("kill-server")
        self.tmux_started = False
        os.unlink(self.pidfile)
        self.start_console(80, 24)
        self.wait_for("No tenant is connected yet.")
        self.keys("q")
        self.wait_exit()

    def test_sigterm_exits_cleanly(self):
        self.store_with_tenant()
        self.start_console(100, 30)
        self.keys("2")
        self.wait_for("0 tagged")
        # Even with a confirmation open: the terminal comes back, nothing changes.
        self.keys("a")
        self.wait_for("Proceed? [y/N]")
        os.kill(self.console_pid(), signal.SIGTERM)
        self.wait_exit()
        self.assertEqual({a["privateChat"] for a in self.accounts().values()}, {"INACTIVE"})


if __name__ == "__main__":
    cvtest.main()

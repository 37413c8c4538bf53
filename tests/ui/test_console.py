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
import sqlite3
import subprocess
import sys
import time
import unicodedata
import uuid

import cvtest

TMUX = shutil.which("tmux")
SRCDIR = os.environ.get("CV_SRCDIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
WAIT = 20.0            # seconds to wait for a screen before failing
SETTLE = 0.04          # and for it to hold still once it shows

# The wrapper the pane runs: the console (its pid recorded, then exec'd so
# the pid is the console's), then its exit status and the terminal modes it
# left behind, then an idle process so the pane and its contents stay. The
# wrapper outlives a Ctrl-C (a handler, not an ignore, so the console
# starts with SIGINT at its default).
RUN_SH = r"""#!/bin/sh
trap : INT
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


def ascii_lower(text):
    """Lower case as sqlite's LIKE and NOCASE fold: ASCII letters only."""
    return "".join(c.lower() if "A" <= c <= "Z" else c for c in text)


def ascii_shown(text):
    """What the console shows for untrusted text in a non-UTF-8 locale."""
    out = []
    for ch in text:
        cp = ord(ch)
        if 0x202a <= cp <= 0x202e or 0x2066 <= cp <= 0x2069 or cp in (0x200e, 0x200f, 0x061c):
            out.append("<U+%04X>" % cp)
        elif cp > 127:
            out.append("?")
        else:
            out.append(ch)
    return "".join(out)


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


class Console(cvtest.ChatvaultTest, cvtest.TruthChecks):
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
        self.stop_console_server()
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

    def stop_console_server(self):
        """End this test's tmux server (and its socket file); the next
        start_console gets a new one."""
        if self.tmux_started:
            path = self.tmux("display-message", "-p", "#{socket_path}", ok=False).strip()
            self.tmux("kill-server", ok=False)
            self.tmux_started = False
            if path.endswith("/" + self.sock) and os.path.exists(path):
                os.unlink(path)
        self.sock = "cvui-%d-%s" % (os.getpid(), uuid.uuid4().hex[:8])
        if os.path.exists(self.pidfile):
            os.unlink(self.pidfile)

    def screen(self):
        text = self.tmux("capture-pane", "-p", "-t", self.session)
        self.screens.append(text)
        return text

    def lines(self, text=None):
        lines = (text if text is not None else self.screen()).split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        return lines

    def wait_for(self, what, timeout=WAIT, gone=False, settle=SETTLE):
        """Poll the screen until what (text, compiled regex or predicate) shows
        (or, with gone, no longer shows) on a screen that then holds still for
        settle seconds: capture-pane can catch a frame half sent, its top new
        and its status line old. Returns the screen."""
        deadline = time.time() + timeout
        last = None
        while True:
            s = self.screen()
            if isinstance(what, str):
                hit = what in s
            elif hasattr(what, "search"):
                hit = what.search(s) is not None
            else:
                hit = bool(what(s))
            if hit != gone:
                if not settle or s == last:
                    return s
                last = s
                time.sleep(settle)
                continue
            last = None
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

    def wait_layout(self, w, h, text=""):
        """Wait until the console has redrawn for w x h: until then tmux
        shows the old screen cut or padded to the new size."""
        def ok(s):
            lines = self.lines(s)
            return (len(lines) == h and lines[0].startswith(" chatvault ") and lines[1] == "─" * w
                    and cols(lines[0]) >= w - 2 and lines[h - 3] == "─" * w and lines[h - 1].startswith("F1")
                    and text in s)
        return self.wait_for(ok, settle=0.2)

    PAGER = re.compile(r"(?m)^ lines (\d+)-(\d+) of (\d+) · ")

    def page_through(self, s):
        """PgDn through the pager shown in s to its end; the text of every page."""
        pages = [s]
        for _ in range(500):
            m = self.PAGER.search(s)
            self.assertIsNotNone(m, "no pager status line:\n" + s)
            if m.group(2) == m.group(3):
                return "\n".join(pages)
            self.keys("NPage")
            s = self.wait_for(lambda s, first=m.group(1): self.PAGER.search(s)
                              and self.PAGER.search(s).group(1) != first)
            pages.append(s)
        self.fail("the pager never reached its end")

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
        s = self.wait_for(lambda s: "Help: every command" in s and self.PAGER.search(s))
        help_text = self.page_through(s)
        self.assertRegex(help_text, r"(?m)^ F10\s+quit\s")
        self.keys("Home")
        self.wait_for(re.compile(r"(?m)^ lines 1-"))
        with open(os.path.join(SRCDIR, "ui", "command.c"), encoding="utf-8") as f:
            table = re.findall(r'\{CMD_\w+, "([\w-]+)", "([^"]*)"', f.read())
        self.assertGreater(len(table), 30)
        for name, keys in table:
            keys = keys.replace("\\\\", "\\")        # the C string's escapes
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
        # five names, then a count of the rest, not a bare ellipsis
        flat = re.sub(r"\s+", " ", re.sub(r"[│|]\s*\n\s*[│|]", " ", s))
        self.assertIn(" and 195 more.", flat)
        self.assertNotIn("...", flat)
        self.assertNotIn("hidden by the filter", s)
        self.keys("y")
        s = self.wait_for("200 accounts activated")
        self.assertEqual(s.count("INACTIVE"), 0)
        # The ends of the table: G the last account, g the first.
        self.keys("G")
        last = sorted(before)[-1]
        s = self.wait_for(lambda s: self.lines(s)[-4].startswith("* " + last[:15]))
        self.keys("g")
        self.wait_for(lambda s: self.lines(s)[3].startswith("* " + sorted(before)[0][:15]))
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
                     if any(needle.lower() in ascii_lower(u[k] or "")
                            for k in ("userPrincipalName", "displayName", "department"))}
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

    def test_space_untag_and_command_prompt(self):
        before = self.store_with_tenant()
        upns = sorted(before)
        self.start_console(160, 30)
        self.keys("2")
        self.wait_for("0 tagged")
        # Space tags the row and moves down, so two presses tag two rows.
        self.keys("Space", "Space")
        s = self.wait_for(re.compile(r"(?m)^ 2 tagged · "))
        self.assertEqual(set(re.findall(r"^\* (\S+)\s", s, re.M)), set(upns[:2]))
        self.keys("k", "Space")            # up one and untag it
        s = self.wait_for(re.compile(r"(?m)^ 1 tagged · "))
        self.keys("U")
        s = self.wait_for("all accounts untagged")
        self.assertNotRegex(s, r"(?m)^\* ")
        # The : prompt completes command names and runs them.
        self.keys(":")
        self.type("deac")
        self.keys("Tab")
        s = self.wait_for(re.compile(r"(?m)^: ?deactivate\s*$"))
        self.keys("Enter")
        s = self.wait_for("Proceed? [y/N]")
        self.assertIn("Deactivate private chat backup for 1 account:", s)
        self.keys("n")
        self.wait_for("nothing changed")
        self.keys(":")
        self.type("frobnicate")
        self.keys("Enter")
        self.wait_for("no command 'frobnicate'")
        self.keys(":")
        self.type("status")
        self.keys("Enter")
        self.wait_for("No backup has run yet")
        self.keys(":")
        self.type("quit")
        self.keys("Enter")
        self.wait_exit()
        self.assertEqual({a["privateChat"] for a in self.accounts().values()}, {"INACTIVE"})

    def test_help_wraps_under_the_description(self):
        self.store_with_tenant()
        self.start_console(100, 30)
        self.keys("?")
        s = self.wait_for(lambda s: "Help: every command" in s and self.PAGER.search(s))
        rows = self.lines(self.page_through(s))
        # A long description goes on under itself (column 33), not at column 1.
        d = [i for i, x in enumerate(rows) if re.match(r" d\s+deactivate\s+deactivate private chat", x)]
        self.assertTrue(d, "no entry for d in the help")
        self.assertRegex(rows[d[0] + 1], r"^ {33}\S", "the d entry's second row:\n" + "\n".join(rows[d[0]:d[0] + 2]))
        self.assertIn("(asks first)", rows[d[0] + 1])
        for x in rows:
            if x.startswith("  "):
                self.assertRegex(x, r"^ {33}\S", "a help row that is not under its description")
        self.keys("q")
        self.wait_for("backed up 0/0")
        self.quit()

    def test_bar_at_the_minimum_width_keeps_quit(self):
        self.store_with_tenant()
        self.start_console(60, 15)
        self.keys("2")
        s = self.wait_for("0 tagged")
        bar = self.bar_line(s)
        self.assertLessEqual(cols(bar), 60)
        self.assertNotIn("…", bar, "a label is cut: " + bar)
        # Help and Quit stay, and the tab's own actions; a global
        # convenience (F5, also R) gives way.
        self.assertRegex(bar, r"^F1\s*Help .*F7\s*Backup F8\s*Download F9\s*Activate F10\s*Quit\s*$")
        self.assertNotIn("Refresh", bar)
        self.tmux("resize-window", "-t", self.session, "-x", "80", "-y", "24")
        s = self.wait_layout(80, 24, "0 tagged")
        self.assertRegex(self.bar_line(s), r"^F1\s*Help F2\s*Tenant F5\s*Refresh F7\s*Backup F8\s*Download "
                         r"F9\s*Activate F10\s*Quit\s*$")
        self.quit()

    def test_backup_of_inactive_refuses_before_asking(self):
        self.store_with_tenant()
        self.start_console(100, 30)
        self.keys("2")
        self.wait_for("0 tagged")
        # The cursor row, then every row tagged: none is ACTIVE, so no question.
        for keys in (("F7",), ("*", "F7")):
            seen = len(self.screens)
            self.keys(*keys)
            s = self.wait_for(lambda s: "none of the selected accounts is ACTIVE" in s or "Proceed?" in s)
            self.assertNotIn("Proceed?", s, "F7 asked before refusing:\n" + s)
            self.assertFalse([x for x in self.screens[seen:] if "Proceed?" in x])
            self.keys("C-l")
            self.wait_for("none of the selected accounts", gone=True)
        # With one ACTIVE among the tagged it asks, naming them all.
        self.keys("U", "a")
        self.wait_for("Proceed? [y/N]")
        self.keys("y")
        self.wait_for("1 account activated")
        self.keys("*", "F7")
        s = self.wait_for("Proceed? [y/N]")
        self.assertIn("Back up the ACTIVE ones of 6 accounts:", s)
        self.keys("n")
        self.wait_for("Proceed?", gone=True)
        self.quit()
        self.assertEqual(self.cv("--json", "jobs", "list").json(), [])

    def cursor_row(self):
        """The text of the row drawn as the cursor (bold black on white)."""
        styled = self.tmux("capture-pane", "-p", "-e", "-t", self.session)
        rows = [re.sub(r"\x1b\[[0-9;]*m", "", x) for x in styled.split("\n") if "\x1b[30m\x1b[47m" in x]
        return rows[0] if len(rows) == 1 else None

    def test_search_wraps_around(self):
        users = self.store_with_tenant()
        order = sorted(users, key=lambda u: ascii_lower(u).encode("utf-8"))
        truth = {u["userPrincipalName"]: u for u in self.truth_users()}
        counts = {}
        for u in truth.values():
            counts[u["department"]] = counts.get(u["department"], 0) + 1
        needle = [d for d, k in sorted(counts.items(), key=lambda x: -x[1]) if d and 2 <= k < len(users)][0]
        hits = [u for u in order if any(ascii_lower(needle) in ascii_lower(truth[u][k] or "")
                                        for k in ("userPrincipalName", "displayName", "department"))]
        self.assertGreaterEqual(len(hits), 2)
        self.start_console(160, 30)
        self.keys("2")
        self.wait_for("0 tagged")

        def at(upn, said=None):
            s = self.wait_for(lambda s: (self.cursor_row() or "").startswith("  %s " % upn), settle=0.1)
            if said:
                self.assertIn(said, self.status_line(s))
            else:
                self.assertNotIn("search hit", self.status_line(s))

        self.keys("G")
        at(order[-1])
        # From the last row a search goes on at the top, and says so.
        self.keys("/")
        self.wait_for(re.compile(r"(?m)^/"))
        self.type(needle)
        self.keys("Enter")
        at(hits[0], "search hit BOTTOM, continuing at TOP")
        for h in hits[1:]:
            self.keys("n")
            at(h)
        self.keys("n")
        at(hits[0], "search hit BOTTOM, continuing at TOP")
        self.keys("N")
        at(hits[-1], "search hit TOP, continuing at BOTTOM")
        self.keys("N")
        at(hits[-2])
        # The pager says so too: six commands ask first.
        self.keys("?")
        self.wait_for("Help: every command")
        self.keys("/")
        self.type("(asks first)")
        self.keys("Enter")
        seen = [self.wait_for(lambda s: "(asks first)" in (self.cursor_row() or "")) and self.cursor_row()]
        for _ in range(6):
            self.keys("n")
            s = self.wait_for(lambda s: self.cursor_row() not in (None, seen[-1]), settle=0.1)
            seen.append(self.cursor_row())
            self.assertEqual("search hit" in self.status_line(s), len(seen) == 7, self.status_line(s))
        self.assertEqual(seen[-1], seen[0])
        self.assertEqual(len(set(seen)), 6)
        self.keys("Escape")
        self.wait_for("0 tagged")
        self.quit()

    def test_keys_file_rebinds_everywhere(self):
        self.store_with_tenant()
        os.makedirs(os.path.join(self.dir, "config", "chatvault"))
        with open(os.path.join(self.dir, "config", "chatvault", "keys"), "w") as f:
            f.write("# test bindings\nbind F6 activate\nunbind F9\nbind x tag\nbind F3 nosuchcommand\n")
        self.start_console(120, 30)
        s = self.wait_for("line 5: expected 'bind KEY COMMAND' or 'unbind KEY'")
        self.keys("2")
        s = self.wait_for("0 tagged")
        self.assertRegex(self.bar_line(s), r"F6\s*Activate")
        self.assertNotIn("F9", self.bar_line(s))
        self.keys("x")
        self.wait_for(re.compile(r"(?m)^ 1 tagged · "))
        self.keys("F9")                    # unbound: nothing happens
        time.sleep(0.3)
        self.assertNotIn("Proceed?", self.screen())
        self.keys("F6")
        s = self.wait_for("Proceed? [y/N]")
        self.assertIn("Activate private chat backup for 1 account:", s)
        self.keys("Escape")
        self.wait_for("nothing changed")
        self.keys("?")
        s = self.wait_for("Help: every command")
        self.assertRegex(s, r"(?m)^ a F6\s+activate\s")
        self.assertRegex(s, r"(?m)^ Space x\s+tag\s")
        self.keys("Escape")
        self.wait_for("0 jobs running")
        self.quit()

    def test_chat_list_titles_fit(self):
        self.store_with_tenant(activate=True)
        self.backup()
        for width in (80, 120):
            self.start_console(width, 24)
            self.keys("2")
            self.wait_for("0 tagged")
            self.keys("Enter")
            s = self.wait_for("Chats of ")
            header = self.lines(s)[2]
            for title in ("Chat", "Type", "Messages", "Last activity"):
                self.assertRegex(header, r"(^|\s)%s(\s|$)" % re.escape(title),
                                 "the chat list's column title %r is cut at %d columns:\n%s" % (title, width, s))
            self.keys("q")
            self.wait_for("0 tagged")
            self.quit()
            self.stop_console_server()

    def test_sort_columns(self):
        users = self.store_with_tenant()
        names = {u: a["displayName"] for u, a in users.items()}

        def nocase(text):
            # sqlite's NOCASE: ASCII letters folded, then bytes compared
            return ascii_lower(text).encode("utf-8")

        def order(s):
            return re.findall(r"^[* ] (\S+@\S+)\s", s, re.M)

        self.start_console(160, 30)
        self.keys("2")
        s = self.wait_for("0 tagged")
        self.assertRegex(self.lines(s)[2], r"^  Account▲ ")
        by_upn = sorted(users, key=nocase)
        self.assertEqual(order(s), by_upn)
        self.keys("I")
        s = self.wait_for("Account▼")
        self.assertEqual(order(s), by_upn[::-1])
        self.keys("I", ">")
        s = self.wait_for("Name▲")
        self.assertNotIn("Account▲", s)
        self.assertEqual(order(s), sorted(users, key=lambda u: nocase(names[u])))
        self.keys("<")
        s = self.wait_for("Account▲")
        self.assertEqual(order(s), by_upn)
        self.quit()

    def test_live_updates_and_pause(self):
        self.store_with_tenant()
        self.start_console(120, 30)
        self.keys("2")
        s = self.wait_for("0 tagged")
        self.assertEqual(s.count("INACTIVE"), 6)
        # Another process's change shows without a key press.
        self.cv("privchat", "activate", "--all")
        s = self.wait_for(lambda s: s.count("ACTIVE") == 6 and "INACTIVE" not in s, 10)
        # Z pauses: the screen keeps what it showed and says so.
        self.keys("Z")
        self.wait_for("live updates paused; Z resumes")
        self.redraw()
        s = self.wait_for("updates paused (Z)")
        self.cv("privchat", "deactivate", "--all")
        time.sleep(2.5)                    # longer than the console's 1 s look for changes
        s = self.screen()
        self.assertNotIn("INACTIVE", s, "a paused console updated its rows")
        self.keys("Z")
        self.wait_for("live updates resumed")
        s = self.wait_for(lambda s: s.count("INACTIVE") == 6, 10)
        # F2 switches between the tenant and all tenants.
        self.keys("F2")
        s = self.wait_for("showing all tenants")
        self.assertRegex(self.lines(s)[0], r"^ chatvault  all tenants ▾ ")
        self.assertEqual(s.count("INACTIVE"), 6)
        self.keys("F2")
        s = self.wait_for("showing " + self.sim.info["domain"])
        self.assertRegex(self.lines(s)[0], r"^ chatvault  %s ▾ " % re.escape(self.sim.info["domain"]))
        self.quit()

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

    def test_credential_form_wraps_errors_at_80(self):
        sim = self.start_sim()
        self.cv("init")
        self.start_console(80, 24)
        self.wait_for("No tenant is connected yet.")
        self.keys("Enter")
        self.wait_for("Connect a tenant")
        for text in (sim.info["tenant_id"], sim.app("full")["client_id"], "wrong-secret", "", "",
                     sim.info["login_url"], sim.info["graph_url"]):
            if text:
                self.type(text)
            self.keys("Tab")
        self.wait_for(sim.info["graph_url"])
        self.keys("Enter")
        s = self.wait_for(re.compile(r"✗\s+Get an access token: "), settle=0.3)
        lines = self.lines(s)
        start = [i for i, x in enumerate(lines) if "Test & Save Connection:" in x][0]
        rows = lines[start + 1:-3]
        self.assertTrue(all(cols(x) <= 80 for x in rows), s)
        self.assertFalse([x for x in rows if "…" in x], "an error line is cut instead of wrapped:\n" + s)
        flat = re.sub(r"\s+", " ", "\n".join(rows))
        advice = ("the client secret is not valid: copy the secret's Value, not its Secret ID, from the app "
                  "registration (Certificates & secrets) (AADSTS7000215)")
        self.assertIn("✗ Get an access token: " + advice, flat)
        self.assertEqual(flat.count(advice), 2, "the step and the form's last line both say it:\n" + s)
        self.keys("Escape")
        self.wait_for("No tenant is connected yet.")
        self.quit()
        self.assertEqual(self.cv("--json", "tenant", "list").json(), [])

    # ------------------------------------------ 7. hostile text in the pager
    def test_hostile_chat_is_inert(self):
        self.store_with_tenant(activate=True)
        self.backup()
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
        s = self.wait_for(lambda s: "──Hostile content" in s and self.PAGER.search(s))
        # Page through the whole chat so every line has been drawn once.
        self.page_through(s)
        self.keys("/")
        self.type("RED ALERT")
        self.keys("Enter")
        s = self.wait_for("^[[31mRED ALERT^[[0m")
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

    def test_line_feed_in_tenant_text_stays_on_its_line(self):
        # From 30 users on the simulated tenant has Trudy, whose display
        # name holds a line feed; she writes in the "Hostile content" chat,
        # whose files include one named with line feeds.
        self.store_with_tenant(activate=True, sim_args=("--users", "30", "--chats-per-user", "1",
                                                        "--messages-per-chat", "4", "--throttle", "off"))
        truth = self.sim.truth()
        trudy = [u for u in truth["users"] if "\n" in (u["displayName"] or "")][0]
        self.assertEqual(trudy["displayName"], "../../etc/passwd Trudy\nNewline")
        name = trudy["displayName"].replace("\n", "^J")
        self.backup()
        self.start_console(160, 50)
        self.keys("2")
        self.wait_for("0 tagged")
        self.keys("f")
        self.wait_for("Filter (text or field=value):")
        self.type("upn=" + trudy["userPrincipalName"])
        self.keys("Enter")
        self.wait_for("filter: upn=")
        # The confirmation names her on one line: no forged "Newline" row.
        self.keys("d")
        s = self.wait_for("Proceed? [y/N]")
        flat = re.sub(r"\s+", " ", re.sub(r"[│|]\s*\n\s*[│|]", " ", s))
        self.assertIn("Deactivate private chat backup for 1 account: %s." % name, flat, s)
        self.assertNotRegex(s, r"(?m)^\s*│\s*Newline", "the name's line feed broke the dialog's line:\n" + s)
        self.keys("n")
        self.wait_for("nothing changed")
        # The pager: her messages' heading lines and the file names stay whole.
        self.keys("Enter")
        s = self.wait_for("Chats of ")
        self.assertIn("Chats of %s" % name, self.lines(s)[1])
        rows = self.lines(s)[3:-3]
        idx = [i for i, line in enumerate(rows) if "Hostile content" in line]
        self.assertTrue(idx, "no 'Hostile content' row:\n" + s)
        self.keys(*["Down"] * idx[0])
        self.keys("Enter")
        s = self.wait_for(lambda s: "──Hostile content" in s and self.PAGER.search(s))
        text = self.page_through(s)
        self.assertRegex(text, r"(?m)^ %s  \d{4}-\d\d-\d\d \d\d:\d\d" % re.escape(name))
        self.assertNotRegex(text, r"(?m)^ Newline  \d{4}-", "a sender's line feed forged a message heading")
        self.assertIn("multi^Jline^Jname.txt", text)
        self.assertNotRegex(text, r"(?m)^ (line|name\.txt)\b", "a file name's line feed started a line")
        self.keys("Escape")
        self.wait_for("Chats of ")
        self.quit()
        self.assertEqual({a["privateChat"] for a in self.accounts().values()}, {"ACTIVE"})

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

        big = self.wait_layout(120, 40, "0 tagged")
        check_layout(big, 120, 40)
        self.assertIn("Department", big)
        self.tmux("resize-window", "-t", self.session, "-x", "80", "-y", "24")
        small = self.wait_layout(80, 24, "0 tagged")
        check_layout(small, 80, 24)
        self.assertNotIn("Department", small)          # narrower: fewer columns, not more chrome
        self.tmux("resize-window", "-t", self.session, "-x", "40", "-y", "10")
        tiny = self.wait_for("Terminal too small")
        self.assertRegex(self.lines(tiny)[0], r"^Terminal too small: 40x10, need \d+x\d+")
        self.assertTrue(all(x.strip() == "" for x in self.lines(tiny)[1:]), tiny)
        # Keys still work while too small, and the layout comes back.
        self.keys("5")
        self.tmux("resize-window", "-t", self.session, "-x", "120", "-y", "40")
        self.wait_layout(120, 40, "No backup has run yet")
        self.keys("2")
        again = self.wait_layout(120, 40, "0 tagged")
        self.assertEqual(norm(again), norm(big), "120x40 after resizing differs from the first 120x40")
        self.tmux("resize-window", "-t", self.session, "-x", "80", "-y", "24")
        again = self.wait_layout(80, 24, "0 tagged")
        self.assertEqual(norm(again), norm(small), "80x24 after resizing differs from the first 80x24")
        self.quit()

    def test_too_small_confirmation_accepts_nothing(self):
        self.store_with_tenant(activate=True)
        self.start_console(80, 24)
        self.keys("2")
        self.wait_for("0 tagged")
        self.tmux("resize-window", "-t", self.session, "-x", "40", "-y", "10")
        self.wait_for("Terminal too small", settle=0.3)
        # d asks a question nobody can see; y must not answer it.
        self.keys("d", "y")
        self.tmux("resize-window", "-t", self.session, "-x", "80", "-y", "24")
        s = self.wait_layout(80, 24)
        s = self.wait_for(lambda s: "Proceed? [y/N]" in s or "deactivated" in s)
        self.assertEqual({a["privateChat"] for a in self.accounts().values()}, {"ACTIVE"},
                         "y answered a confirmation shown as 'Terminal too small'")
        self.assertIn("Deactivate private chat backup for 1 account:", s)
        self.keys("n")
        self.wait_for("nothing changed")
        # Shown, it answers as ever; too small again, n and Esc still decline.
        self.tmux("resize-window", "-t", self.session, "-x", "40", "-y", "10")
        self.wait_for("Terminal too small", settle=0.3)
        self.keys("d", "Escape")
        self.tmux("resize-window", "-t", self.session, "-x", "80", "-y", "24")
        s = self.wait_layout(80, 24, "nothing changed")
        self.assertNotIn("Proceed?", s)
        self.quit()
        self.assertEqual({a["privateChat"] for a in self.accounts().values()}, {"ACTIVE"})

    def shrink_and_send(self, *keys, text=None):
        """Make the terminal too small, send keys (and text) there, give
        them time to arrive while it is small, then restore 80x24."""
        self.tmux("resize-window", "-t", self.session, "-x", "40", "-y", "10")
        self.wait_for("Terminal too small", settle=0.3)
        if keys:
            self.keys(*keys)
        if text:
            self.type(text)
        time.sleep(0.5)
        self.tmux("resize-window", "-t", self.session, "-x", "80", "-y", "24")

    def test_too_small_forms_take_no_keys(self):
        self.store_with_tenant(activate=True)
        self.start_console(80, 24)
        self.keys("2")
        self.wait_for("0 tagged")
        # The download form: Right would change the format, Up puts the
        # focus on the button and Enter would queue a download, all unseen.
        self.keys("F8")
        self.wait_for("Download the chats of ")
        self.shrink_and_send("Right", "Up", "Enter")
        s = self.wait_layout(80, 24)
        self.assertIn("Download the chats of ", s, "the download form acted while too small:\n" + s)
        self.assertRegex(s, r"Format\s+< json >")
        self.assertEqual(self.cv("--json", "jobs", "list").json(), [], "a download was queued unseen")
        # Shown again, it takes keys as ever; Esc cancels even unseen.
        self.keys("Right")
        self.wait_for(re.compile(r"Format\s+< (?!json)\w+ >"))
        self.shrink_and_send("Escape")
        s = self.wait_layout(80, 24, "0 tagged")
        self.assertNotIn("Download the chats of ", s)

        # The credential form: typing, moving to the button and Enter
        # would run Test & Save Connection on what was typed.
        self.keys("C")
        self.wait_for("Connect a tenant")
        self.shrink_and_send("Up", "Enter", text="unseen-tenant")
        s = self.wait_layout(80, 24, "Connect a tenant")
        self.assertNotIn("unseen-tenant", s, "typing reached a form shown as 'Terminal too small'")
        self.assertNotIn("Fill in the tenant", s, "Test & Save Connection ran unseen:\n" + s)
        self.type("seen-tenant")
        self.wait_for(re.compile(r"Tenant \(domain or ID\)\s+seen-tenant"))
        self.keys("Escape")
        self.wait_for(lambda s: "Connect a tenant" not in s and "0 tagged" in s)
        self.quit()
        self.assertEqual(len(self.cv("--json", "tenant", "list").json()), 1)
        self.assertEqual(self.cv("--json", "jobs", "list").json(), [])

    def test_too_small_prompts_take_no_keys(self):
        self.store_with_tenant()
        self.start_console(80, 24)
        self.keys("2")
        self.wait_for("0 tagged")
        # ':quit' and Enter typed into a prompt nobody sees must not quit.
        self.shrink_and_send(":", "q", "u", "i", "t", "Enter")
        s = self.wait_layout(80, 24)
        self.assertNotIn("CV-EXIT", s, "':quit' typed while too small quit the console")
        self.assertEqual(self.status_line(s).rstrip(), ":", "the prompt took keys unseen:\n" + s)
        self.keys("Escape")
        self.wait_for(re.compile(r"(?m)^ 0 tagged · "))
        # The filter and search prompts: nothing typed unseen is applied.
        for key, label in (("f", "Filter (text or field=value):"), ("/", "/")):
            self.shrink_and_send(key, "Enter", text="upn=nobody*")
            s = self.wait_layout(80, 24)
            self.assertEqual(self.status_line(s).rstrip(), label, "the %s prompt took keys unseen:\n%s" % (key, s))
            self.assertEqual(s.count("INACTIVE"), 6, s)
            self.keys("Escape")
            s = self.wait_for(re.compile(r"(?m)^ 0 tagged · "))
            self.assertNotIn("filter:", s)
        # Esc still cancels a prompt unseen.
        self.shrink_and_send("f", "Escape")
        s = self.wait_layout(80, 24, "0 tagged")
        self.assertNotIn("Filter (text", s)
        self.quit()

    def test_resize_under_dialog_and_form(self):
        self.store_with_tenant()
        self.start_console(80, 24)
        self.keys("2")
        self.wait_for("0 tagged")
        # A confirmation is laid out again for the new size, and still answers.
        self.keys("a")
        self.wait_for("Proceed? [y/N]")
        self.tmux("resize-window", "-t", self.session, "-x", "120", "-y", "40")
        s = self.wait_layout(120, 40, "Proceed? [y/N]")
        top = [x for x in self.lines(s) if "┌─Activate private chat backup" in x]
        self.assertEqual(len(top), 1, s)
        self.assertEqual(col_of(top[0], top[0].index("┌")), (120 - 70) // 2, "the dialog is not centred:\n" + s)
        self.keys("n")
        s = self.wait_for("nothing changed")
        self.assertEqual(s.count("INACTIVE"), 6)
        self.assertNotIn("┌", s)
        # The credential form keeps what was typed across resizes.
        self.keys("C")
        self.wait_for("Connect a tenant")
        self.type("tenant-abc")
        self.keys("Tab")
        self.type("client-def")
        self.wait_for("client-def")
        self.tmux("resize-window", "-t", self.session, "-x", "40", "-y", "10")
        tiny = self.wait_for("Terminal too small", settle=0.3)
        self.tmux("resize-window", "-t", self.session, "-x", "100", "-y", "30")
        s = self.wait_layout(100, 30, "Connect a tenant")
        self.assertRegex(s, r"Tenant \(domain or ID\)\s+tenant-abc")
        self.assertRegex(s, r"Application \(client\) ID\s+client-def")
        self.keys("Escape")
        s = self.wait_for(lambda s: "Connect a tenant" not in s and "0 tagged" in s)
        self.assertEqual(self.cv("--json", "tenant", "list").json()[0]["tenantId"], self.sim.info["tenant_id"])
        self.quit()
        # Below the minimum the screen is the one line, not the form drawn over it.
        self.assertTrue(all(x.strip() == "" for x in self.lines(tiny)[1:]),
                        "the credential form is drawn over 'Terminal too small':\n" + tiny)

    # ------------------------------------------- another process's lock
    def hold_write_lock(self, seconds):
        """Another process holding the catalog's write lock for seconds (a
        long transaction of the CLI or a script); returns it once held."""
        code = ("import sqlite3, sys, time\n"
                "db = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
                "db.execute('BEGIN EXCLUSIVE')\n"
                "print('locked', flush=True)\n"
                "time.sleep(float(sys.argv[2]))\n")
        proc = subprocess.Popen([sys.executable, "-c", code, os.path.join(self.home, "catalog.db"), str(seconds)],
                                stdout=subprocess.PIPE, text=True)
        self.addCleanup(proc.wait)
        self.addCleanup(proc.kill)
        self.addCleanup(proc.stdout.close)
        self.assertEqual(proc.stdout.readline().strip(), "locked")
        return proc

    def privchat_in_store(self):
        """UPN -> privchat flag, read from the catalog itself: a reader is
        not held up by the lock (WAL), where the CLI would wait for it."""
        db = sqlite3.connect(os.path.join(self.home, "catalog.db"))
        try:
            return dict(db.execute("SELECT upn, privchat FROM accounts"))
        finally:
            db.close()

    def test_store_busy_keeps_the_console_alive(self):
        self.store_with_tenant(activate=True)
        self.start_console(100, 30)
        self.keys("2")
        self.wait_for("0 tagged")
        waiting = re.compile(r"(?m)^ the store is busy: another process is writing to it; waiting \d+s")
        # Held for a while: the confirmed action waits, says so on the
        # status line, and is carried out once the lock is released.
        lock = self.hold_write_lock(4)
        self.keys("d")
        self.wait_for("Proceed? [y/N]")
        self.keys("y")
        self.wait_for(waiting, 3)
        self.assertEqual(set(self.privchat_in_store().values()), {1})
        self.assertIsNone(lock.poll(), "the lock was released before the console was seen waiting")
        self.wait_for("1 account deactivated", 15)
        self.assertEqual(sorted(self.privchat_in_store().values()), [0, 1, 1, 1, 1, 1])

        # Held for long: any key gives up at once and the action fails
        # plainly, changing nothing; meanwhile the console reads and
        # switches tabs without waiting for the lock.
        lock = self.hold_write_lock(120)
        before = self.privchat_in_store()
        self.keys("End", "a")
        self.wait_for("Proceed? [y/N]")
        self.keys("y")
        self.wait_for(waiting, 3)
        t0 = time.time()
        self.keys("x")
        s = self.wait_for("the store is busy: another process is writing to it; nothing changed, try again", 3)
        self.assertLess(time.time() - t0, 2, "giving up the wait took %.1f s" % (time.time() - t0))
        self.assertEqual(self.privchat_in_store(), before)
        self.assertEqual(s.count("INACTIVE"), 1, s)
        for key, marker in (("5", "Backups"), ("1", "backed up"), ("2", "0 tagged")):
            t0 = time.time()
            self.keys(key)
            self.wait_for(marker, 3)
            self.assertLess(time.time() - t0, 2, "tab %s took %.1f s with the store locked" % (key, time.time() - t0))
        self.assertIsNone(lock.poll(), "the lock was released before the tabs were tried")
        lock.kill()
        lock.wait()
        self.quit()
        self.assertEqual(self.privchat_in_store(), before)

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
            # One '?' per character (not per byte); bidi controls by name.
            shown = ascii_shown(a["displayName"])
            row = [x for x in self.lines(priv) if x.startswith("  " + a["upn"][:12])][0]
            self.assertIn(" %s" % shown[:10], row)
        self.keys("2")
        self.wait_for("0 tagged")
        self.keys("a")
        s = self.wait_for("Proceed? [y/N]")
        self.assertIn("Activate private chat backup for 1 account:", s)
        self.keys("n")
        self.wait_for("nothing changed")
        self.quit()
        # The console's own separators fall back to ASCII too: a '?' where
        # the UTF-8 locale has a middle dot is a replacement, not a fallback.
        self.assertNotRegex(self.status_line(priv), r"tagged \? |running \? ",
                            "the status line's separator shows as '?' in the C locale")
        self.assertNotRegex(dash, r"backed up \d+/\d+ \? last run",
                            "the Dashboard's separator shows as '?' in the C locale")

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
        titles = ["Account", "Name", "Department", "Private chat", "Backup status", "Last backup", "Chats", "Messages"]
        german = [de[t] for t in titles if de.get(t) and de[t] != t]
        self.assertTrue(german, "no column title of the Private Chat tab is translated in po/de.po")
        word = de.get("INACTIVE", "INACTIVE")
        for width, height in ((120, 30), (80, 24)):
            if width != 120:
                self.tmux("resize-window", "-t", self.session, "-x", str(width), "-y", str(height))
            s = self.wait_layout(width, height)
            self.assertEqual(s.count(word), 6, s)
            lines = self.lines(s)
            header = lines[2]
            self.assertTrue(all(cols(x) <= width for x in lines), s)
            shown = [t for t in german if t in header]
            self.assertTrue(shown, "no German column title at %d columns:\n%s" % (width, s))
            for t in ("Private chat", "Backup status", "Last backup", "Messages"):
                self.assertIn(de.get(t, t), header, "%r missing at %d columns:\n%s" % (de.get(t, t), width, s))
            # Columns line up: each value starts (or, for counts, ends) where its title does.
            rows = [x for x in lines[3:] if word in x]
            self.assertEqual(len(rows), 6, s)
            x_title = col_of(header, header.index(de.get("Private chat", "Private chat")))
            x_status = col_of(header, header.index(de.get("Backup status", "Backup status")))
            msgs = de.get("Messages", "Messages")
            end_msgs = col_of(header, header.index(msgs) + len(msgs))
            for r in rows:
                self.assertEqual(col_of(r, r.index(word)), x_title,
                                 "the private chat column is misaligned at %d columns:\n%s" % (width, s))
                self.assertEqual(col_of(r, r.index(" - ") + 1), x_status,
                                 "the backup status column is misaligned at %d columns:\n%s" % (width, s))
                m = re.search(r"(\d+)\s*$", r)
                self.assertEqual(col_of(r, m.end(1)), end_msgs,
                                 "the message counts are misaligned at %d columns:\n%s" % (width, s))
        self.quit()

    # ------------------------------------ the scheduler's next run
    def test_dashboard_shows_next_scheduled_run(self):
        self.store_with_tenant(activate=True)
        s = self.start_console(120, 30)
        s = self.wait_for("backed up")
        self.assertIn("next run not scheduled", s)
        later = time.strftime("%H:%M", time.localtime(time.time() + 2 * 3600))
        log = open(os.path.join(self.dir, "run.out"), "w")
        proc = subprocess.Popen([cvtest.CHATVAULT, "-H", self.home, "-p", self.passfile, "run", "--at", later],
                                stdout=log, stderr=subprocess.STDOUT, env=self.env)
        try:
            self.wait_for(re.compile(r"next run (\d\d-\d\d )?" + later), 30)
        finally:
            proc.send_signal(signal.SIGTERM)
            self.assertEqual(proc.wait(60), 0)
            log.close()
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
            self.assertRegex(self.status_line(s), r"0 jobs run")
        finally:
            rc = proc.wait(120)
            log.close()
        self.assertEqual(rc, self.expected_rc())
        jobs = self.cv("--json", "jobs", "list").json()
        self.assertEqual([(str(j["id"]), j["status"]) for j in jobs], [(job, self.expected_status())])
        self.keys("5")
        s = self.wait_for("Backups")
        self.assertRegex(s, r"(?m)^\s+%s .*Completed\s+%d/%d" % (job, jobs[0]["done"], jobs[0]["total"]))
        self.quit()

    ROW_COUNTS = re.compile(r"(?m)^[* ] (\S+@\S+)\s(.*?)\s(\d+)\s+(\d+)\s*$")

    def row_counts(self, s):
        """UPN -> (Completed?, chats, messages) of an account table's rows."""
        return {m.group(1): ("Completed" in m.group(2), int(m.group(3)), int(m.group(4)))
                for m in self.ROW_COUNTS.finditer(s)}

    def test_account_counts_rise_during_a_backup(self):
        self.store_with_tenant(activate=True, sim_args=("--users", "4", "--chats-per-user", "4",
                                                        "--messages-per-chat", "20", "--throttle", "off"))
        self.sim.post("/_sim/config", {"latency_ms": 300})
        self.start_console(160, 30)
        self.keys("2")
        s = self.wait_for("0 tagged")
        self.assertEqual({r[1:] for r in self.row_counts(s).values()}, {(0, 0)}, s)
        self.keys("*", "F7")
        self.wait_for("Proceed? [y/N]")
        self.keys("y")
        self.wait_for("1 backup job queued")
        self.redraw()
        # While the job runs, the rows count what is stored so far: some
        # account shows messages before the run finishes with it.
        frames = []

        def live(s):
            rows = self.row_counts(s)
            if frames and "· 0 jobs running ·" in self.status_line(s):
                self.fail("the backup ended with every count still 0 while it ran:\n" + s)
            if "· 1 job running ·" in self.status_line(s) and len(rows) == 4:
                frames.append(rows)
                return any(m > 0 and not done for done, _, m in rows.values())
            return False
        self.wait_for(live, 60)
        s = self.wait_for(lambda s: "· 0 jobs running ·" in self.status_line(s), 120)
        final = self.row_counts(s)
        stored = self.accounts()
        self.assertEqual({u: r[1:] for u, r in final.items()},
                         {u: (a["chats"], a["messages"]) for u, a in stored.items()}, s)
        self.assertTrue(all(a["messages"] > 0 for a in stored.values()), stored)
        for rows in frames:
            for upn, (_, chats, msgs) in rows.items():
                self.assertLessEqual(chats, final[upn][1], "a live count passed the final one")
                self.assertLessEqual(msgs, final[upn][2], "a live count passed the final one")
        self.quit()

    def test_dashboard_progress_never_goes_back(self):
        self.store_with_tenant(activate=True, sim_args=("--users", "12", "--chats-per-user", "3",
                                                        "--messages-per-chat", "20", "--throttle", "off"))
        # Slow answers and two workers: the run lists the accounts' chats
        # for seconds before it plans the rest, slow enough to watch.
        self.sim.post("/_sim/config", {"latency_ms": 300})
        self.start_console(120, 30, env={"CHATVAULT_WORKERS": "2"})
        self.keys("2")
        self.wait_for("0 tagged")
        self.keys("*", "F7")
        self.wait_for("Proceed? [y/N]")
        self.keys("y")
        self.wait_for("1 backup job queued")
        self.keys("1")
        row = re.compile(r"(?m)^ #(\d+) backup .*$")
        seen = []           # (percentage or None, done, total) as shown
        prev = [None]

        def watch(s):
            # A row counts once two captures agree (not a frame half sent).
            m = row.search(s)
            line = m.group(0) if m else None
            steady, prev[0] = line is not None and line == prev[0], line
            # (A job's reason, when it has one, takes the count's place.)
            count = steady and re.search(r"(\d+)/(\d+)( so far)?\s*$", line)
            if count:
                pct = re.search(r"(\d+)%", line)
                self.assertEqual(pct is None, count.group(3) is not None,
                                 "a percentage goes with a final total only:\n" + line)
                if pct is None:
                    self.assertIn("planning the run", line)
                shot = (int(pct.group(1)) if pct else None, int(count.group(1)), int(count.group(2)))
                if not seen or seen[-1] != shot:
                    seen.append(shot)
            return "Running jobs" not in s and seen
        self.wait_for(watch, 120, settle=0)
        job = self.cv("--json", "jobs", "list").json()[0]
        self.assertTrue([x for x in seen if x[0] is None], "the listing phase was never seen: %s" % seen)
        self.assertTrue([x for x in seen if x[0] is not None], "no percentage was ever shown: %s" % seen)
        first = [i for i, x in enumerate(seen) if x[0] is not None][0]
        self.assertTrue(all(x[0] is None for x in seen[:first]) and all(x[0] is not None for x in seen[first:]),
                        "counts without a percentage after a percentage: %s" % seen)
        for a, b in zip(seen, seen[1:]):
            self.assertLessEqual(a[1], b[1], "the done count went back: %s" % seen)
            if a[0] is not None:
                self.assertLessEqual(a[0], b[0], "the percentage went back: %s" % seen)
        for pct, done, total in seen[first:]:
            self.assertEqual(total, job["total"], "a percentage of a total that was not final: %s" % seen)
            self.assertEqual(pct, 100 * done // total)
        self.quit()

    def test_backup_from_console_quit_and_resume(self):
        slow = ("--users", "4", "--chats-per-user", "4", "--messages-per-chat", "20", "--throttle", "off",
                "--latency", "400")
        self.store_with_tenant(activate=True, sim_args=slow)
        self.start_console(100, 30)
        self.keys("2")
        self.wait_for("0 tagged")
        self.keys("*", "F7")
        s = self.wait_for("Proceed? [y/N]")
        self.assertIn("Back up the ACTIVE ones of 4 accounts:", s)
        self.keys("y")
        self.wait_for("1 backup job queued")
        self.keys("1")
        s = self.wait_for(re.compile(r"#\d+ backup .*In Progress"))
        # F10 with a job running asks first; No keeps the console.
        self.keys("F10")
        s = self.wait_for("Quit chatvault?")
        self.assertIn("1 job is running.", re.sub(r"\s+", " ", s))
        self.keys("n")
        self.wait_for("Quit chatvault?", gone=True)
        time.sleep(0.3)
        self.assertNotIn("CV-EXIT", self.screen())
        self.keys("q")                     # q on a tab asks too
        self.wait_for("Quit chatvault?")
        self.keys("y")
        t0 = time.time()
        self.wait_exit(timeout=15)
        self.assertLess(time.time() - t0, 10, "quitting waited for the whole job")
        jobs = self.cv("--json", "jobs", "list").json()
        self.assertEqual(len(jobs), 1)
        # Left unfinished (the simulator's latency makes the run take seconds)...
        self.assertNotEqual(jobs[0]["status"], "Completed")
        self.assertIsNone(jobs[0]["finished"])
        # ... and the next console resumes it by itself.
        self.stop_console_server()
        self.start_console(100, 30)
        self.wait_for("backed up 4/4", 60)
        jobs = self.cv("--json", "jobs", "list").json()
        self.assertEqual([(j["id"], j["status"]) for j in jobs], [(jobs[0]["id"], self.expected_status())])
        self.quit()
        statuses = {a["status"] for a in self.accounts().values()}
        self.assertLessEqual(statuses, {"Completed", "Partially Completed"} if self.expected_rc() else {"Completed"})

    def test_quit_while_another_process_holds_the_store(self):
        slow = ("--users", "4", "--chats-per-user", "4", "--messages-per-chat", "20", "--throttle", "off",
                "--latency", "300")
        self.store_with_tenant(activate=True, sim_args=slow)
        self.start_console(100, 30)
        self.keys("2")
        self.wait_for("0 tagged")
        self.keys("*", "F7")
        self.wait_for("Proceed? [y/N]")
        self.keys("y")
        self.keys("1")
        self.wait_for(re.compile(r"#\d+ backup .*In Progress"))
        # A script's long transaction: every worker that comes to write
        # waits for it. Quitting must not sit out the workers' lock waits
        # (30 s each, twice over when a failed page was then recorded).
        lock = self.hold_write_lock(300)
        time.sleep(1.5)
        self.keys("q")
        self.wait_for("Quit chatvault?")
        self.keys("y")
        t0 = time.time()
        self.wait_exit(timeout=40)
        self.assertLess(time.time() - t0, 10, "quitting waited out the other process's lock")
        lock.kill()
        lock.wait()
        # Nothing was failed for the wait: the next console finishes the
        # same job, with every message.
        self.stop_console_server()
        self.start_console(100, 30)
        self.wait_for("backed up 4/4", 60)
        jobs = self.cv("--json", "jobs", "list").json()
        self.assertEqual([j["status"] for j in jobs], [self.expected_status()])
        self.quit()
        self.assertGreater(self.check_against_truth(), 0)

    def test_removed_user_is_not_counted_and_says_why(self):
        accounts = self.store_with_tenant(activate=True)
        self.backup()
        upn = sorted(accounts)[0]
        self.sim.post("/_sim/user/remove", {"id": upn})
        self.cv("accounts", "sync")
        n = len(accounts) - 1
        self.start_console(160, 30)
        self.wait_for("backed up %d/%d" % (n, n))
        self.keys("2")
        s = self.wait_for(upn)
        row = next(line for line in self.lines(s) if upn in line)
        self.assertIn("Deactivated", row)
        self.quit()

    def test_download_dialog(self):
        self.store_with_tenant(activate=True)
        self.backup()
        truth = self.sim.truth()
        accounts = self.accounts()
        upn = sorted(accounts)[0]
        uid = [u["id"] for u in truth["users"] if u["userPrincipalName"] == upn][0]
        want = sum(len(c["messages"]) for c in truth["chats"] if any(m["userId"] == uid for m in c["members"]))
        self.assertEqual(accounts[upn]["messages"], want)
        self.start_console(120, 30)
        self.keys("2")
        self.wait_for("0 tagged")
        self.keys("F8")
        s = self.wait_for("Download the chats of ")
        self.assertRegex(s, r"Format\s+< json >")
        self.keys("Right")
        self.wait_for(re.compile(r"Format\s+< (?!json)\w+ >"))
        self.keys("Left")
        self.wait_for(re.compile(r"Format\s+< json >"))
        self.assertRegex(s, r"Content\s+< Text only >")
        self.keys("Tab", "Right")                 # the content choice
        self.wait_for(re.compile(r"Content\s+< With attachments >"))
        self.keys("Left", "Tab")
        self.wait_for(re.compile(r"Content\s+< Text only >"))
        self.type("2001-02-30")                   # not a date
        self.keys("Tab", "Tab", "Tab", "Enter")
        self.wait_for("'2001-02-30' is not a date YYYY-MM-DD")
        self.keys("Up", "Up", "Up", "C-u", "Down", "Down", "Down", "Enter")
        s = self.wait_for(re.compile(r"download job (\d+) queued"))
        job = int(re.search(r"download job (\d+) queued", s).group(1))
        self.keys("5")
        s = self.wait_for(re.compile(r"(?m)^\s+%d .*Completed" % job))
        self.assertIn("Downloads", s)
        jobs = {j["id"]: j for j in self.cv("--json", "jobs", "list").json()}
        j = jobs[job]
        self.assertEqual((j["kind"], j["status"], j["done"], j["total"]), ("download", "Completed", want, want))
        self.assertRegex(s, r"(?m)^\s+%d .*Completed\s+%d/%d " % (job, want, want))
        import zipfile
        with zipfile.ZipFile(j["result"]) as z:
            got = sum(len(json.loads(z.read(n))["messages"]) for n in z.namelist())
        self.assertEqual(got, want)

        # With attachments: the chats' files come along in "… files" folders.
        self.keys("2")
        self.wait_for("0 tagged")
        self.keys("F8")
        self.wait_for("Download the chats of ")
        self.keys("Tab", "Right")
        self.wait_for(re.compile(r"Content\s+< With attachments >"))
        self.keys("Tab", "Tab", "Tab", "Tab", "Enter")
        s = self.wait_for(re.compile(r"download job (\d+) queued"))
        job2 = int(re.search(r"download job (\d+) queued", s).group(1))
        self.keys("5")
        self.wait_for(re.compile(r"(?m)^\s+%d .*Completed" % job2))
        j2 = {j["id"]: j for j in self.cv("--json", "jobs", "list").json()}[job2]
        with zipfile.ZipFile(j2["result"]) as z:
            names = z.namelist()
        self.assertTrue(any(" files/" in n for n in names), names)
        self.quit()

    def test_status_cursor_moves_over_jobs_only(self):
        self.store_with_tenant(activate=True)
        self.backup()
        self.backup()
        self.download_json(sorted(self.accounts())[0])
        kinds = {j["id"]: j["kind"] for j in self.cv("--json", "jobs", "list").json()}
        self.assertEqual(sorted(kinds.values()), ["backup", "backup", "download"])
        self.start_console(120, 30)
        self.keys("5")
        s = self.wait_for("Downloads")
        body = self.lines(s)[2:-3]
        order = [int(x) for x in re.findall(r"(?m)^\s+(\d+) ", "\n".join(body))]
        self.assertEqual(sorted(order), sorted(kinds), s)
        self.assertEqual([kinds[j] for j in order], ["backup", "backup", "download"])

        def cursor_job():
            """The job under the cursor, as r's question names it."""
            self.keys("r")
            s = self.wait_for(lambda s: "Proceed? [y/N]" in s or "pick a finished job" in s)
            self.assertNotIn("pick a finished job", s, "the cursor is not on a job:\n" + s)
            m = re.search(r"Run (\w+) job (\d+) for", re.sub(r"\s+", " ", re.sub(r"[│|]\s*\n\s*[│|]", " ", s)))
            self.keys("n")
            self.wait_for("Proceed?", gone=True)
            return int(m.group(2))

        # It starts on the first job, and moves from job to job over the
        # Downloads heading and column titles.
        for keys, want in (((), 0), (("Down",), 1), (("Down",), 2), (("Down",), 2), (("Up",), 1), (("Up",), 0),
                           (("Up",), 0), (("End",), 2), (("Home",), 0), (("NPage",), 2), (("PPage",), 0),
                           (("G",), 2), (("k",), 1), (("g",), 0)):
            if keys:
                self.keys(*keys)
            self.assertEqual(cursor_job(), order[want], "after %s" % (keys or "opening the tab",))
        # The headings stay in view above the first job.
        self.keys("Home")
        s = self.wait_for("Backups")
        self.assertEqual(self.lines(s)[2].strip(), "Backups")
        self.quit()

    # ---------------------------------------------------------- quitting
    def test_quit_f10_restores_terminal(self):
        self.cv("init")
        self.start_console(80, 24)
        self.wait_for("No tenant is connected yet.")
        self.keys("F10")
        self.wait_exit()

    def test_quit_q_at_top_level(self):
        self.store_with_tenant()
        self.start_console(80, 24)
        self.wait_for("backed up 0/0")
        self.keys("2")
        self.wait_for("0 tagged")
        self.keys("Enter")                 # an account's chats: q backs out of it
        self.wait_for("Chats of ")
        self.keys("q")
        self.wait_for("0 tagged")
        self.keys("q")                     # at the top level q quits (no jobs: no question)
        self.wait_exit()

    def test_ctrl_c_exits_cleanly(self):
        self.cv("init")
        self.start_console(80, 24)
        self.wait_for("No tenant is connected yet.")
        self.keys("C-c")
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

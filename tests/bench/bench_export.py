"""make bench: downloads of one account with about 100,000 messages.

Backs the account up from the simulator (throttling off on both sides, so
the figure is local work), then downloads it in every format, text only and
with attachments, and reports messages per second, wall time, the result's
size and the peak RSS of the chatvault process (VmHWM). Prints a
Markdown table for doc/benchmarks.md. Not a test: nothing here can fail on
speed.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import cvtest  # noqa: E402

SIM = ("--users", "3", "--chats-per-user", "4", "--messages-per-chat", "40000", "--throttle", "off",
       "--seed", "3", "--epoch", "2026-11-01")


def high_water(pid):
    """VmHWM of a running process in KiB (0 once it is gone)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def run(args, env):
    """Run chatvault; return (seconds, peak RSS in MiB, exit status).

    The peak is VmHWM sampled every 20 ms: wait4's ru_maxrss would also
    count this Python process, whose size a forked child inherits."""
    t0 = time.monotonic()
    err = open(os.path.join(tempfile.gettempdir(), "cvbench-%d.err" % os.getpid()), "w+")
    proc = subprocess.Popen([cvtest.CHATVAULT] + args, env=env, stdout=subprocess.DEVNULL, stderr=err)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, high_water(proc.pid))
        time.sleep(0.02)
    elapsed = time.monotonic() - t0
    err.seek(0)
    text = err.read()
    err.close()
    os.unlink(err.name)
    if proc.returncode not in (0, 3):
        sys.exit("chatvault %s failed (%d):\n%s" % (" ".join(args), proc.returncode, text))
    return elapsed, peak / 1024.0, proc.returncode


def tree_size(path):
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            total += os.path.getsize(os.path.join(root, f))
    return total


def main():
    work = tempfile.mkdtemp(prefix="cvbench-")
    try:
        sim = cvtest.Sim(work, *SIM)
        home = os.path.join(work, "home")
        passfile = os.path.join(work, "pass")
        with open(os.open(passfile, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write("bench passphrase\n")
        env = dict(os.environ, **cvtest.FAST_KDF, CHATVAULT_RATE_SCALE="0", LC_ALL="C.UTF-8")
        base = ["-H", home, "-p", passfile, "-q"]
        app = sim.app("full")
        secret = os.path.join(work, "secret")
        with open(os.open(secret, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write(app["secret"] + "\n")
        run(base + ["init"], env)
        run(base + ["tenant", "add", "--tenant-id", sim.info["tenant_id"], "--client-id", app["client_id"],
                    "--secret-file", secret, "--login-url", sim.info["login_url"], "--graph-url",
                    sim.info["graph_url"]], env)
        run(base + ["accounts", "sync"], env)
        summary = sim.get("/_sim/truth/summary")
        per_user = {}
        for c in summary["chat_list"]:
            for m in c["members"]:
                per_user[m] = per_user.get(m, 0) + c["messages"]
        uid, messages = max(per_user.items(), key=lambda kv: kv[1])
        upn = sim.get("/_sim/truth?chat=" + [c["id"] for c in summary["chat_list"] if uid in c["members"]][0])
        upn = [u["userPrincipalName"] for u in upn["users"] if u["id"] == uid][0]
        run(base + ["privchat", "activate", upn], env)
        secs, rss, _ = run(base + ["backup", upn], env)
        print("# backup of %s: %d messages in %.1f s (%.0f messages/s, throttling off), peak RSS %.0f MiB"
              % (upn, messages, secs, messages / secs, rss))
        print()
        print("| format | content | wall s | messages/s | output MiB | peak RSS MiB |")
        print("|---|---|---|---|---|---|")
        for fmt in ("json", "csv", "html", "eml", "pdf"):
            for attach in (False, True):
                out = os.path.join(work, "out-%s-%d" % (fmt, attach))
                args = base + ["download", "--user", upn, "--format", fmt, "--out", out]
                if attach:
                    args.append("--attachments")
                secs, rss, _ = run(args, env)
                print("| %s | %s | %.1f | %.0f | %.0f | %.0f |" % (
                    fmt, "with attachments" if attach else "text only", secs, messages / secs,
                    tree_size(out) / 1048576.0, rss))
                sys.stdout.flush()
                shutil.rmtree(out, ignore_errors=True)
        sim.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

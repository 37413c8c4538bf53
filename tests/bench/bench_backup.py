"""make bench: a backup of a large tenant at Graph's strict limits.

A simulated tenant of 500 users and about a million messages, with history
reaching two years back (older than delta's eight months), is backed up
through the strict throttling (no burst at all) with 16 workers. Reported:

- unique messages stored per second, against the ceiling the limits allow
  for this tenant. getAllMessages gets 200 requests/s of 50 messages, and a
  message is served once for every user whose export is read; beside it,
  /chats/{id}/messages gets 20 requests/s of 50 messages, one a second per
  chat. The ceiling reads the chats through a greedy cover by users'
  exports (knowing every chat's size) and the chats its last picks would
  add one by one, cut where the two finish soonest: unique messages over
  that time. The ceiling of the exports alone is printed beside it;
- requests answered 429, as a count and a share;
- the client's CPU seconds per 100,000 messages, and its peak RSS;
- an incremental run after 1% of the messages were edited: requests, time;
- local ingest: the same backup with throttling off on both sides, in
  messages per CPU-second of the client.

Image and file messages are left out of this tenant (--media 0): their
requests have ceilings of their own (20/s per tenant, 1/s per chat) that
the download benchmark covers. Not a test: nothing here fails on speed.
"""
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import cvtest  # noqa: E402

USERS = int(os.environ.get("CV_BENCH_USERS", "500"))
PER_CHAT = os.environ.get("CV_BENCH_MESSAGES_PER_CHAT", "1450")
SIM = ("--users", str(USERS), "--chats-per-user", "6", "--messages-per-chat", PER_CHAT,
       "--history-days", "730", "--media", "0", "--throttle", "strict", "--seed", "21",
       "--epoch", "2026-11-01")
WORKERS = "16"


def run(args, env):
    """Run chatvault: (wall seconds, CPU seconds, peak RSS MiB, exit status)."""
    t0 = time.monotonic()
    err = tempfile.TemporaryFile(mode="w+")
    proc = cvtest.subprocess.Popen([cvtest.CHATVAULT] + args, env=env, stdout=cvtest.subprocess.DEVNULL,
                                   stderr=err)
    peak = 0
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        try:
            with open("/proc/%d/status" % proc.pid) as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]))
        except OSError:
            pass
        time.sleep(0.05)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - t0
    err.seek(0)
    text = err.read()
    if proc.returncode not in (0, 3):
        sys.exit("chatvault %s failed (%d):\n%s" % (" ".join(args), proc.returncode, text))
    return wall, usage.ru_utime + usage.ru_stime, peak / 1024.0, proc.returncode


EXPORT_PER_S = 200 * 50      # getAllMessages: 200 requests/s of 50 messages
CHAT_PER_S = 20 * 50         # /chats/{id}/messages: 20 requests/s of 50
CHAT_ONE_PER_S = 50          # and one request a second per chat


def best_cover(summary):
    """(unique messages, messages served by a greedy cover of the chats by
    users' exports, seconds of the best plan that reads the cover's last
    picks' chats one by one instead)."""
    chats = [c for c in summary["chat_list"] if c["access"] == 200]
    by_user = {}
    for i, c in enumerate(chats):
        for m in c["members"]:
            by_user.setdefault(m, []).append(i)
    covered = [False] * len(chats)
    picks = []                 # (messages served, chats it covered first)
    while not all(covered):
        def score(u):
            cost = sum(chats[i]["messages"] for i in by_user[u])
            gain = sum(chats[i]["messages"] for i in by_user[u] if not covered[i])
            return gain / max(1, cost), cost
        user = max(by_user, key=lambda u: score(u)[0])
        first = [i for i in by_user[user] if not covered[i]]
        picks.append((score(user)[1], first))
        for i in by_user.pop(user):
            covered[i] = True
    unique = sum(c["messages"] for c in chats)
    served = sum(p[0] for p in picks)
    # Keep the first k picks; the chats of the rest are read one by one.
    best, exported, direct, longest = None, served, 0, 0
    for k in range(len(picks), -1, -1):
        t = max(exported / EXPORT_PER_S, direct / CHAT_PER_S, longest / CHAT_ONE_PER_S)
        best = t if best is None else min(best, t)
        if k:
            exported -= picks[k - 1][0]
            for i in picks[k - 1][1]:
                direct += chats[i]["messages"]
                longest = max(longest, chats[i]["messages"])
    return unique, served, best


def store(work, name, sim, env):
    home = os.path.join(work, name)
    passfile = os.path.join(work, "pass")
    if not os.path.exists(passfile):
        with open(os.open(passfile, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write("bench passphrase\n")
    app = sim.app("full")
    secret = os.path.join(work, "secret")
    with open(os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
        f.write(app["secret"] + "\n")
    base = ["-H", home, "-p", passfile, "-q"]
    run(base + ["init"], env)
    run(base + ["tenant", "add", "--tenant-id", sim.info["tenant_id"], "--client-id", app["client_id"],
                "--secret-file", secret, "--login-url", sim.info["login_url"], "--graph-url",
                sim.info["graph_url"]], env)
    run(base + ["accounts", "sync"], env)
    run(base + ["privchat", "activate", "--all"], env)
    return base


def main():
    work = tempfile.mkdtemp(prefix="cvbench-")
    try:
        sim = cvtest.Sim(work, *SIM)
        env = dict(os.environ, **cvtest.FAST_KDF, LC_ALL="C.UTF-8", CHATVAULT_WORKERS=WORKERS)
        summary = sim.get("/_sim/truth/summary")
        unique, served, seconds = best_cover(summary)
        ceiling = unique / seconds
        print("# tenant: %d users, %d chats, %d messages; a cover by exports alone serves %d (%.2f per "
              "message): %.0f messages/s; with chats read one by one beside it: %.1f s, %.0f messages/s"
              % (summary["users"], summary["chats"], unique, served, served / unique,
                 EXPORT_PER_S * unique / served, seconds, ceiling))

        # CV_BENCH_PARTS=ingest measures local ingest alone.
        parts = os.environ.get("CV_BENCH_PARTS", "strict,ingest").split(",")
        if "strict" in parts:
            strict_runs(work, sim, env, unique, ceiling)
        if "ingest" in parts:
            sim.post("/_sim/config", {"throttle": "off"})
            env_off = dict(env, CHATVAULT_RATE_SCALE="0")
            base = store(work, "home-off", sim, env_off)
            sim.post("/_sim/stats/reset")
            wall, cpu, rss, _ = run(base + ["backup"], env_off)
            served = sim.get("/_sim/stats")["exported"]
            print("# local ingest, throttling off: %.1f s, CPU %.1f s = %.0f unique messages per CPU-second "
                  "(%.2f s per 100k); %d messages received = %.0f per CPU-second; peak RSS %.0f MiB"
                  % (wall, cpu, unique / cpu, cpu * 1e5 / unique, served, served / cpu, rss))
        sim.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def strict_runs(work, sim, env, unique, ceiling):
    """The first backup at the strict limits, then an incremental one."""
    base = store(work, "home", sim, env)
    sim.post("/_sim/stats/reset")
    wall, cpu, rss, _ = run(base + ["backup"], env)
    st = sim.get("/_sim/stats")
    print("# first backup, strict limits, %s workers: %.1f s, %.0f messages/s = %.2f of the ceiling "
          "(%.0f/s); %d requests, %d answered 429 (%.2f%%); %d messages served; "
          "CPU %.1f s (%.2f s per 100k messages); peak RSS %.0f MiB; 429s by class %s"
          % (WORKERS, wall, unique / wall, unique / wall / ceiling, ceiling, st["requests"], st["throttled"],
             100.0 * st["throttled"] / max(1, st["requests"]), st["exported"], cpu, cpu * 1e5 / unique, rss, st["throttled_by_class"]))
    sys.stdout.flush()

    changed = sim.post("/_sim/mutate", {"edit": 0.01, "seed": 3})
    sim.post("/_sim/stats/reset")
    wall, cpu, rss, _ = run(base + ["backup"], env)
    st = sim.get("/_sim/stats")
    print("# incremental after %s: %.1f s, %d requests (%s), %d answered 429, %d messages served, "
          "CPU %.1f s" % (changed, wall, st["requests"], st["by_handler"], st["throttled"], st["exported"],
                          cpu))
    sys.stdout.flush()


if __name__ == "__main__":
    main()

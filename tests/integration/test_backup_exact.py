"""End to end: back up a simulated tenant and compare every exported message
with the simulator's ground truth, field for field; also under faults."""
import cvtest


def sender(msg):
    frm = msg.get("from") or {}
    who = frm.get("user") or frm.get("application") or {}
    return who.get("id")


class BackupExact(cvtest.ChatvaultTest):
    sim_args = ("--users", "50", "--chats-per-user", "10", "--messages-per-chat", "100",
                "--throttle", "off", "--seed", "7")

    def check_against_truth(self):
        truth = self.sim.truth()
        by_chat = {c["id"]: c for c in truth["chats"]}
        accounts = {a["upn"]: a for a in self.cv("--json", "accounts", "list").json()}
        self.assertEqual(len(accounts), len(truth["users"]))
        total = 0
        for user in truth["users"]:
            upn = user["userPrincipalName"]
            self.assertEqual(accounts[upn]["status"], "Completed", upn)
            expected = {c["id"] for c in truth["chats"]
                        if any(m.get("userId") == user["id"] for m in c["members"])}
            got = self.download_json(upn)
            self.assertEqual(set(got), expected, "chats of " + upn)
            for chat_id, doc in got.items():
                want = by_chat[chat_id]
                self.assertEqual(len(doc["chat"]["members"]), len(want["members"]), chat_id)
                msgs = doc["messages"]
                self.assertEqual([m["id"] for m in msgs], [m["id"] for m in want["messages"]], chat_id)
                for g, w in zip(msgs, want["messages"]):
                    self.assertEqual(g["body"]["content"], w["body"]["content"], (chat_id, w["id"]))
                    self.assertEqual(g["createdDateTime"], w["createdDateTime"])
                    self.assertEqual(g["lastModifiedDateTime"], w["lastModifiedDateTime"])
                    self.assertEqual(sender(g), sender(w))
                    self.assertEqual(g, w, "every field Graph returned")
                total += len(msgs)
        return total

    def test_full_backup_matches_truth(self):
        self.start_sim()
        self.setup_tenant()
        res = self.cv("backup")
        self.assertEqual(res.rc, 0)
        self.assertGreater(self.check_against_truth(), 5000)
        # The run is a snapshot.
        snaps = self.cv("--json", "snapshots").json()
        self.assertEqual(len(snaps), 1)
        self.assertEqual(snaps[0]["status"], "Completed")

    def test_backup_under_faults_and_token_expiry(self):
        # 5% injected faults (5xx, resets, truncated bodies, slow answers)
        # and tokens that expire every few seconds mid-run.
        self.start_sim(*self.sim_args, "--fault-rate", "0.05", "--token-lifetime", "3")
        self.setup_tenant()
        res = self.cv("backup")
        self.assertEqual(res.rc, 0, res.err)
        self.check_against_truth()
        self.assertGreater(self.sim.get("/_sim/stats")["faults"], 10)


class ThrottlingStorm(BackupExact):
    """Graph's documented limits enforced with no burst allowance: the
    backup must still be exact, and the client should keep 429s rare."""
    sim_args = ("--users", "12", "--chats-per-user", "4", "--messages-per-chat", "120",
                "--throttle", "strict", "--seed", "11")

    def test_full_backup_matches_truth(self):
        self.start_sim()
        self.setup_tenant()
        self.sim.post("/_sim/stats/reset")
        res = self.cv("backup")
        self.assertEqual(res.rc, 0, res.err)
        self.check_against_truth()
        stats = self.sim.get("/_sim/stats")
        share = stats["throttled"] / max(1, stats["requests"])
        print("# strict throttling: %d requests, %d answered 429 (%.1f%%)"
              % (stats["requests"], stats["throttled"], 100 * share))
        self.assertLess(share, 0.25)

    test_backup_under_faults_and_token_expiry = None


if __name__ == "__main__":
    cvtest.main()

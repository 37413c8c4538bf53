"""End to end: back up a simulated tenant and compare every exported message
with the simulator's ground truth, field for field; also under faults."""
import cvtest


class BackupExact(cvtest.ChatvaultTest, cvtest.TruthChecks):
    sim_args = ("--users", "50", "--chats-per-user", "10", "--messages-per-chat", "100",
                "--throttle", "off", "--seed", "7")

    def test_full_backup_matches_truth(self):
        self.start_sim()
        self.setup_tenant()
        res = self.cv("backup", ok=None)
        self.assertEqual(res.rc, self.expected_rc(), res.err)
        self.assertGreater(self.check_against_truth(), 5000)
        # The run is a snapshot.
        snaps = self.cv("--json", "snapshots").json()
        self.assertEqual(len(snaps), 1)
        self.assertEqual(snaps[0]["status"], "Partially Completed" if self.expected_rc() else "Completed")

    def test_backup_under_faults_and_token_expiry(self):
        # 5% injected faults (5xx, resets, truncated bodies, slow answers)
        # and tokens that expire every few seconds mid-run.
        self.start_sim(*self.sim_args, "--fault-rate", "0.05", "--token-lifetime", "3")
        self.setup_tenant()
        res = self.cv("backup", ok=None)
        self.assertEqual(res.rc, self.expected_rc(), res.err)
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
        res = self.cv("backup", ok=None)
        self.assertEqual(res.rc, self.expected_rc(), res.err)
        self.check_against_truth()
        stats = self.sim.get("/_sim/stats")
        share = stats["throttled"] / max(1, stats["requests"])
        print("# strict throttling: %d requests, %d answered 429 (%.1f%%)"
              % (stats["requests"], stats["throttled"], 100 * share))
        # (the bench measures the share on a big tenant: under 1%)
        self.assertLess(share, 0.03)

    test_backup_under_faults_and_token_expiry = None


if __name__ == "__main__":
    cvtest.main()

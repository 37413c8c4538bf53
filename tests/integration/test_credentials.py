"""Test & Save Connection: every failure is named, nothing is saved on
failure, and certificate credentials work with PS256 and RS256."""
import os
import subprocess

import cvtest


class Credentials(cvtest.ChatvaultTest):
    def setUp(self):
        super().setUp()
        self.start_sim()
        self.cv("init")

    def assert_not_saved(self):
        self.assertEqual(self.cv("--json", "tenant", "list").json(), [])

    def add_fails(self, args, *phrases):
        res = self.cv("tenant", "add", *args, ok=False)
        self.assertEqual(res.rc, 1, res.err)
        for p in phrases:
            self.assertIn(p, res.err)
        self.assertNotIn("Status: Active", res.out)
        self.assert_not_saved()
        return res

    def test_right_secret_saves(self):
        res = self.cv("tenant", "add", *self.tenant_args("full"))
        self.assertEqual(res.out.strip(), "Status: Active")
        tenants = self.cv("--json", "tenant", "list").json()
        self.assertEqual(len(tenants), 1)
        self.assertEqual(tenants[0]["status"], "Active")
        self.assertEqual(tenants[0]["name"], self.sim.info["domain"])
        # The secret is not stored in plain text anywhere in the store.
        secret = self.sim.app("full")["secret"].encode()
        for root, _, files in os.walk(self.home):
            for f in files:
                with open(os.path.join(root, f), "rb") as fh:
                    self.assertNotIn(secret, fh.read(), f)

    def test_export_api_refused_is_named_and_still_saves(self):
        # A tenant refused getAllMessages (402) still backs up, chat by
        # chat: Test & Save passes and says so, in plain words.
        res = self.cv("tenant", "add", *self.tenant_args("full"))
        self.assertIn("[ok]     Read through the export API\n", res.err)
        self.cv("tenant", "remove", self.sim.info["domain"])
        self.sim.post("/_sim/config", {"payment_required": True})
        res = self.cv("tenant", "add", *self.tenant_args("full"))
        self.assertEqual(res.out.strip(), "Status: Active")
        line = next(l for l in res.err.splitlines() if "Read through the export API" in l)
        self.assertRegex(line, r"^  \[ok\]     Read through the export API: not available, so backups will read each "
                               r"chat by itself, which is slower \(.*(402|[Pp]ayment|billing).*\)$")

    def test_wrong_secret(self):
        res = self.add_fails(self.tenant_args("full", secret="not-the-secret"), "secret")
        self.assertNotIn("not-the-secret", res.err)

    def test_expired_secret(self):
        self.add_fails(self.tenant_args("expired"), "expired")

    def test_app_not_found(self):
        args = self.tenant_args("full")
        args[args.index("--client-id") + 1] = "00000000-0000-0000-0000-000000000bad"
        self.add_fails(args, "00000000-0000-0000-0000-000000000bad")

    def test_tenant_not_found(self):
        args = self.tenant_args("full")
        args[args.index("--tenant-id") + 1] = "nosuchtenant.onmicrosoft.com"
        self.add_fails(args, "nosuchtenant.onmicrosoft.com")

    def test_missing_chat_permission_is_named(self):
        self.add_fails(self.tenant_args("nochat"), "Chat.Read.All")

    def test_missing_user_permission_is_named(self):
        self.add_fails(self.tenant_args("nouser"), "User.Read.All")

    def test_no_network(self):
        args = self.tenant_args("full")
        # A port nobody listens on.
        args[args.index("--login-url") + 1] = "http://127.0.0.1:9/login"
        self.add_fails(args)

    def test_plain_http_refused_off_loopback(self):
        args = self.tenant_args("full")
        args[args.index("--login-url") + 1] = "http://login.example.invalid/login"
        self.add_fails(args)


class Certificate(cvtest.ChatvaultTest):
    def setUp(self):
        super().setUp()
        self.key = os.path.join(self.dir, "key.pem")
        self.cert = os.path.join(self.dir, "cert.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", self.key,
                        "-out", self.cert, "-days", "2", "-subj", "/CN=chatvault-test"],
                       check=True, capture_output=True)
        self.start_sim(*self.sim_args, "--app-cert", self.cert)
        self.cv("init")

    def cert_args(self, *extra):
        a = self.sim.app("cert")
        return ["--tenant-id", self.sim.info["tenant_id"], "--client-id", a["client_id"],
                "--login-url", self.sim.info["login_url"], "--graph-url", self.sim.info["graph_url"],
                "--certificate", self.cert, "--private-key", self.key, *extra]

    def test_ps256_certificate_backup(self):
        self.assertEqual(self.cv("tenant", "add", *self.cert_args()).out.strip(), "Status: Active")
        self.cv("accounts", "sync")
        self.cv("privchat", "activate", "--all")
        self.backup()
        accounts = self.cv("--json", "accounts", "list").json()
        # backup() has checked that any Partially Completed is only refused files
        self.assertTrue(all(a["status"] in ("Completed", "Partially Completed") and a["messages"] > 0
                            for a in accounts), accounts)

    def test_rs256_certificate(self):
        self.assertEqual(self.cv("tenant", "add", *self.cert_args("--rs256")).out.strip(), "Status: Active")

    def test_unregistered_certificate_rejected(self):
        other_key = os.path.join(self.dir, "k2.pem")
        other = os.path.join(self.dir, "c2.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", other_key,
                        "-out", other, "-days", "2", "-subj", "/CN=other"], check=True, capture_output=True)
        args = self.cert_args()
        args[args.index("--certificate") + 1] = other
        args[args.index("--private-key") + 1] = other_key
        res = self.cv("tenant", "add", *args, ok=False)
        self.assertEqual(res.rc, 1)
        self.assertIn("certificate", res.err.lower())
        self.assertEqual(self.cv("--json", "tenant", "list").json(), [])


if __name__ == "__main__":
    cvtest.main()

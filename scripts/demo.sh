#!/bin/sh
# make demo: start the Graph simulator with the demo tenant, create a
# throwaway store, add the tenant (Test & Save Connection), sync and activate
# its accounts, then open the console on it (on a terminal) to activate
# accounts, back them up and read their chats; without a terminal the same
# steps run headless.
set -eu
srcdir=${CV_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
cv=${CHATVAULT:-./chatvault}
work=$(mktemp -d /tmp/chatvault-demo.XXXXXX)
sim_pid=
cleanup() {
    [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

python3 "$srcdir/tests/graphsim/graphsim.py" --demo --info-file "$work/sim.json" 2>"$work/sim.log" &
sim_pid=$!
i=0
while [ ! -s "$work/sim.json" ]; do
    i=$((i + 1)); [ $i -lt 200 ] || { echo "demo: the simulator did not start" >&2; cat "$work/sim.log" >&2; exit 1; }
    sleep 0.1
done
field() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$work/sim.json" "$1"; }

umask 077
printf 'demo passphrase\n' > "$work/pass"
field "d['apps']['full']['secret']" > "$work/secret"
export CHATVAULT_HOME="$work/store" CHATVAULT_PASSPHRASE_FILE="$work/pass"
export CHATVAULT_KDF_MEMORY_KIB=19456 CHATVAULT_KDF_ITERATIONS=2

echo "== chatvault init"
"$cv" init >/dev/null
echo "== chatvault tenant add (against the simulated tenant $(field "d['domain']"))"
"$cv" tenant add --tenant-id "$(field "d['tenant_id']")" --client-id "$(field "d['apps']['full']['client_id']")" \
    --secret-file "$work/secret" --login-url "$(field "d['login_url']")" --graph-url "$(field "d['graph_url']")"
echo "== chatvault accounts sync"
"$cv" accounts sync
if [ -t 0 ] && [ -t 1 ]; then
    echo "== chatvault (the console)"
    echo "Press 2 for Private Chat, * to tag every account, a to activate them, F7 to back them up;"
    echo "watch the run on the Dashboard (1) or in System Status (5); Enter opens an account's chats."
    sleep 2
    "$cv"
else
    # No terminal (CI, a pipe): show the same steps headless.
    echo "== chatvault privchat activate --all"
    "$cv" privchat activate --all
    echo "== chatvault backup"
    "$cv" backup
    echo "== chatvault accounts list"
    "$cv" accounts list
fi

#!/usr/bin/env bash
# The load benchmark of `loyalty serve` (README, *Bench*): wrk, a real
# HTTP load generator, against a release build on an embedded ledger.
#   benches/serve/load.sh [purchase|quote] [SECONDS] [CONNECTIONS]
# `purchase` posts purchases (each answered once durable); `quote` asks
# quotes. Needs wrk (Debian: apt-get install wrk), curl and python3.
# On PostgreSQL: LEDGER=postgres://USER@HOST/DB (an empty database), and
# INSTANCES=2 for two instances, each loaded by a wrk of its own with
# half the connections.
set -euo pipefail
cd "$(dirname "$0")/../.."
what=${1:-purchase}
seconds=${2:-20}
connections=${3:-32}
members=${MEMBERS:-10000}
port=${PORT:-18080}
cargo build --release --quiet
bin=${CARGO_TARGET_DIR:-.target}/release/loyalty
work=$(mktemp -d)
ledger=${LEDGER:-$work/ledger.db}
instances=${INSTANCES:-1}
servers=()
trap 'kill ${servers[*]} 2>/dev/null; wait ${servers[*]} 2>/dev/null; rm -rf "$work"' EXIT
for i in $(seq 0 $((instances - 1))); do
  "$bin" serve programs/kohls.loy --ledger "$ledger" --listen "127.0.0.1:$((port + i))" \
    >"$work/out$i" 2>"$work/err$i" &
  servers+=($!)
  for _ in $(seq 100); do grep -q listening "$work/out$i" 2>/dev/null && break; sleep 0.1; done
done
# Members to buy: enrolled in one request.
python3 - "$members" >"$work/enroll.json" <<'PY'
import json, sys
n = int(sys.argv[1])
print(json.dumps([{"id": f"enroll-{i}", "type": "enroll", "member": f"m{i}"} for i in range(n)]))
PY
curl -sf -X POST "127.0.0.1:$port/v1/events" --data-binary @"$work/enroll.json" >/dev/null
echo "$what: $connections connections for ${seconds}s, $members members, $instances instance(s) on $ledger"
loads=()
for i in $(seq 0 $((instances - 1))); do
  MEMBERS=$members wrk -t$((2 / instances)) -c$((connections / instances)) -d"${seconds}s" --latency \
    -s "benches/serve/$what.lua" "http://127.0.0.1:$((port + i))" >"$work/wrk$i" &
  loads+=($!)
done
wait "${loads[@]}"
for i in $(seq 0 $((instances - 1))); do cat "$work/wrk$i"; done

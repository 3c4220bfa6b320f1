#!/usr/bin/env bash
# Webhook ingest benchmark: noisegate's `POST /api/v1/alertmanager` (decode, engine, outputs
# to Kafka when NOISEGATE_BENCH_KAFKA is set, else outputs off; answer) against a real
# Alertmanager's own ingest (`POST /api/v2/alerts`) of the same alerts, and against a no-op
# HTTP server on noisegate's own stack (benches/http_ceiling.rs: the transport ceiling), all
# loaded by wrk on loopback, one after the other in one run.
# usage: [NOISEGATE_BENCH_KAFKA=127.0.0.1:9092] scripts/bench-webhooks.sh [SECONDS] [CONNECTIONS]
# needs: wrk, prometheus-alertmanager (Debian); with Kafka: a broker, python3 confluent-kafka.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${2:-16}
broker=${NOISEGATE_BENCH_KAFKA:-}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT
cargo build --release --quiet
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"

# The same 2 alerts (a real Alertmanager payload from the fixtures), as each side wants them.
fixture=../shared/fixtures/zulip-webhook-fixtures/alertmanager/alert.json
python3 - "$fixture" "$work" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
open(f"{sys.argv[2]}/webhook.json", "w").write(json.dumps(d))
alerts = [{"labels": a["labels"], "annotations": a["annotations"]} for a in d["alerts"]]
open(f"{sys.argv[2]}/am-alerts.json", "w").write(json.dumps(alerts))
PY
cat > "$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open(os.getenv("BODY"), "r")
wrk.body = f:read("*a")
f:close()
LUA

id=bench-webhooks-$(date +%s%N)
if [ -n "$broker" ]; then
  for t in pages tickets clusters dl; do
    python3 tests/kafka/kafka_tool.py create --bootstrap "$broker" --topic "$id.$t"
  done
  topics="pages = \"$id.pages\"
tickets = \"$id.tickets\"
clusters = \"$id.clusters\"
deadletter = \"$id.dl\""
  echo "outputs: Kafka at $broker"
else
  broker=127.0.0.1:9
  topics='pages = ""
tickets = ""
clusters = ""
deadletter = ""'
  echo "outputs: off (set NOISEGATE_BENCH_KAFKA for Kafka outputs)"
fi
cat > "$work/ng.toml" <<EOF
[metrics]
listen = ""
[webhooks]
listen = "127.0.0.1:18181"
queue = 4096
[kafka]
brokers = "$broker"
state_dir = "$work/state"
[kafka.topics]
$topics
EOF
RUST_LOG=warn target/release/noisegate run --config "$work/ng.toml" 2>"$work/ng.log" &
cat > "$work/am.yml" <<'EOF'
route:
  receiver: blackhole
receivers:
  - name: blackhole
EOF
prometheus-alertmanager --config.file="$work/am.yml" --storage.path="$work/am" \
  --web.listen-address=127.0.0.1:19193 --cluster.listen-address= 2>"$work/am.log" &
ceiling=$(cargo bench --bench http_ceiling --no-run --message-format=json 2>/dev/null |
  python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "http_ceiling":
        print(m["executable"])')
"$ceiling" 127.0.0.1:18282 &
sleep 3

run() { # name url body
  BODY=$3 wrk -t2 -c"$conns" -d"${secs}s" -s "$work/post.lua" "$2" | tee "$work/$1.txt" |
    awk -v n="$1" '/Requests\/sec/ {print n": "$2" requests/s, "$2*2" alerts/s"} /Latency/ {print n": latency avg "$2", max "$4} /Non-2xx/ {print n": NON-2xx "$0}'
}
run noisegate http://127.0.0.1:18181/api/v1/alertmanager "$work/webhook.json"
run alertmanager http://127.0.0.1:19193/api/v2/alerts "$work/am-alerts.json"
run ceiling http://127.0.0.1:18282/api/v1/alertmanager "$work/webhook.json"
ng=$(awk '/Requests\/sec/ {print $2}' "$work/noisegate.txt")
am=$(awk '/Requests\/sec/ {print $2}' "$work/alertmanager.txt")
ce=$(awk '/Requests\/sec/ {print $2}' "$work/ceiling.txt")
python3 -c "print(f'ratio noisegate / alertmanager: {float($ng)/float($am):.1f}x; noisegate / no-op ceiling: {float($ng)/float($ce):.2f}; ceiling / alertmanager: {float($ce)/float($am):.1f}x')"

#!/usr/bin/env bash
# Regenerates examples/alerts.ndjson: 24 h of generated traffic (seed 7) followed by five real
# payloads, one per wire format, each compacted to one line. Run from anywhere.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
out="$here/alerts.ndjson"
fixtures="$here/fixtures"

cd "$repo"
cargo run --release --quiet -- gen --seed 7 --hours 24 > "$out.tmp"

for f in \
  alertmanager-alert.json \
  grafana-alert-9-mixed.json \
  pagerduty-acknowledged_v3.json \
  pagerduty-enqueue_example_event.json \
  otlp_http_json_logs.json
do
  python3 -c 'import json, sys
with open(sys.argv[1], encoding="utf-8") as f:
    print(json.dumps(json.load(f), separators=(",", ":")))' "$fixtures/$f" >> "$out.tmp"
done

mv "$out.tmp" "$out"
echo "wrote $out ($(wc -l < "$out") lines, $(wc -c < "$out") bytes)"

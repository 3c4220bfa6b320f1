#!/usr/bin/env bash
# Reproducible end-to-end replay benchmark: generates traffic with the built-in generator
# (fixed seed), replays it in release mode, and prints the summary's throughput.
# usage: scripts/bench-replay.sh [HOURS] [SEED]     (defaults: 168 hours = one week, seed 7)
set -euo pipefail
cd "$(dirname "$0")/.."
hours=${1:-168}
seed=${2:-7}
work=${BENCH_DIR:-$(mktemp -d)}
cargo build --release --quiet
bin=target/release/noisegate
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
"$bin" gen --seed "$seed" --hours "$hours" --out "$work/input.ndjson"
echo "input: $(wc -l < "$work/input.ndjson") lines, $(du -h "$work/input.ndjson" | cut -f1)"
# Warm the page cache so the first run is not a disk benchmark.
cat "$work/input.ndjson" > /dev/null
for run in 1 2 3; do
  "$bin" replay --quiet --out "$work/out" "$work/input.ndjson" > /dev/null
  python3 - "$work/out/summary.json" "$run" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
print(f"run {sys.argv[2]}: {s['events_in']} payloads, {s['alert_events']} alert events in "
      f"{s['elapsed_seconds']:.3f} s = {s['events_per_second']:.0f} payloads/s, "
      f"{s['alert_events_per_second']:.0f} alert events/s")
PY
done

#!/usr/bin/env bash
# Generates each labelled scenario, replays it with the shipped config, and evaluates the
# result against its ground truth beside the Alertmanager-style baseline.
# usage: scripts/eval-scenarios.sh [SEED] [SCENARIO...]   (default seed 2; all five scenarios)
set -euo pipefail
cd "$(dirname "$0")/.."
seed=${1:-2}
shift || true
scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(steady storm flapping transient mixed)
work=${EVAL_DIR:-$(mktemp -d)}
mkdir -p "$work"
cargo build --release --quiet
bin=target/release/noisegate
for sc in "${scenarios[@]}"; do
  echo "=== $sc (seed $seed)"
  "$bin" gen --scenario "$sc" --seed "$seed" --out "$work/$sc.ndjson" --truth-out "$work/$sc.truth"
  "$bin" replay --quiet --config config/noisegate.toml --out "$work/$sc-out" "$work/$sc.ndjson" | grep -E "alert events|elapsed"
  "$bin" eval --truth "$work/$sc.truth" --clusters "$work/$sc-out/clusters.ndjson" \
    --input "$work/$sc.ndjson" --config config/noisegate.toml --out "$work/$sc-eval.json"
  rm -f "$work/$sc.ndjson"
done
echo "results in $work"

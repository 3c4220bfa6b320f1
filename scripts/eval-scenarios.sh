#!/usr/bin/env bash
# Generates each labelled scenario, replays it with the shipped config, and evaluates the
# result against its ground truth beside the Alertmanager-style baseline.
# usage: scripts/eval-scenarios.sh [SEED] [SCENARIO...]   (default seed 2; all five scenarios)
# WARM_SEED=N: first replay `mixed` of seed N (another week of the same system) and start
# every evaluated replay from the rules.json it wrote (`[engine] learned_rules`).
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
config=config/noisegate.toml
if [ -n "${WARM_SEED:-}" ]; then
  echo "=== learning from mixed (seed $WARM_SEED)"
  "$bin" gen --scenario mixed --seed "$WARM_SEED" --out "$work/warm.ndjson" --truth-out "$work/warm.truth"
  "$bin" replay --quiet --config "$config" --out "$work/warm-out" "$work/warm.ndjson" | grep -E "alert events|elapsed"
  rm -f "$work/warm.ndjson"
  cp config/topology.toml "$work/topology.toml"
  sed "s|^learned_rules = \"\"|learned_rules = \"warm-out/rules.json\"|" "$config" > "$work/noisegate.toml"
  grep -q '^learned_rules = "warm-out/rules.json"' "$work/noisegate.toml"
  config="$work/noisegate.toml"
fi
for sc in "${scenarios[@]}"; do
  echo "=== $sc (seed $seed)"
  "$bin" gen --scenario "$sc" --seed "$seed" --out "$work/$sc.ndjson" --truth-out "$work/$sc.truth"
  "$bin" replay --quiet --config "$config" --out "$work/$sc-out" "$work/$sc.ndjson" | grep -E "alert events|elapsed"
  "$bin" eval --truth "$work/$sc.truth" --clusters "$work/$sc-out/clusters.ndjson" \
    --input "$work/$sc.ndjson" --config "$config" --out "$work/$sc-eval.json"
  rm -f "$work/$sc.ndjson"
done
echo "results in $work"

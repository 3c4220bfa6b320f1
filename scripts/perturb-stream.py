#!/usr/bin/env python3
"""Rewrites a labelled stream (`noisegate gen --scenario ...`) the way real deployments
deliver it, to measure how eval results hold up (QUALITY.md, "Delivery as it happens").
The ground truth is unchanged. Streams line by line (a week is gigabytes).
usage: scripts/perturb-stream.py MODE SEED < in.ndjson > out.ndjson
  ha        every Alertmanager webhook delivered twice (HA pair), the copy 1-20 lines later
  jitter    delivery order shuffled within ~60 lines (about a minute of a week's traffic;
            JITTER_LINES=N for another window)
  noresolve Alertmanager receivers with send_resolved: false (resolved alerts never sent)
"""
import heapq, json, os, random, sys
mode, seed = sys.argv[1], int(sys.argv[2])
rng = random.Random(seed)
window = float(os.environ.get("JITTER_LINES", "60"))
inp = sys.stdin.buffer
out = sys.stdout.buffer
heap = []  # (key, seq, line)
seq = 0
for i, l in enumerate(inp):
    if not l.endswith(b"\n"): l += b"\n"
    if mode == "ha":
        while heap and heap[0][0] <= i:
            out.write(heapq.heappop(heap)[2])
        out.write(l)
        if l.startswith(b'{"receiver"'):
            seq += 1; heapq.heappush(heap, (i + rng.randint(1, 20), seq, l))
    elif mode == "jitter":
        seq += 1; heapq.heappush(heap, (i + rng.uniform(0, window), seq, l))
        while heap and heap[0][0] <= i:
            out.write(heapq.heappop(heap)[2])
    elif mode == "noresolve":
        if l.startswith(b'{"receiver"') and b'"resolved"' in l:
            w = json.loads(l)
            w["alerts"] = [a for a in w["alerts"] if a.get("status") != "resolved"]
            if not w["alerts"]: continue
            w["status"] = "firing"
            l = json.dumps(w, separators=(",", ":")).encode() + b"\n"
        out.write(l)
    else:
        sys.exit("unknown mode " + mode)
while heap:
    out.write(heapq.heappop(heap)[2])

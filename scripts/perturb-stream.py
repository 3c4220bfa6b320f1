#!/usr/bin/env python3
"""Rewrites a labelled stream (`noisegate gen --scenario ...`) the way real deployments
deliver it, to measure how eval results hold up (QUALITY.md, "Delivery as it happens").
The ground truth is unchanged. Streams line by line (a week is gigabytes).
usage: scripts/perturb-stream.py MODE SEED < in.ndjson > out.ndjson
  ha        every Alertmanager webhook delivered twice (HA pair), the copy 1-20 lines later
  jitter    delivery order shuffled within ~60 lines (about a minute of a week's traffic;
            JITTER_LINES=N for another window)
  noresolve Alertmanager receivers with send_resolved: false (resolved alerts never sent)
  ahead     from line AHEAD_AT on (default 220000), the first Alertmanager notification of
            an alert that has just started comes from a Prometheus whose clock is a day
            ahead: that alert's startsAt/endsAt are +24 h in it and in every later
            notification of it (AHEAD_EVERY=N: so is every Nth new alert after it;
            AHEAD_HOURS=H: H hours ahead instead, negative for a clock behind)
  repeat    Alertmanager with a longer repeat_interval (REPEAT_HOURS, default 12, as
            kube-prometheus ships): a notification whose group and alerts are unchanged
            since the group's last delivered one is dropped until REPEAT_HOURS have passed
            (the stream's present: its newest startsAt so far)
  shadow    noisegate trialled beside an Alertmanager that pages PagerDuty itself: a PagerDuty
            webhook naming an alert (its incident_key a fingerprint) names instead the key
            Alertmanager's PagerDuty integration gave the alert's group (SHA-256 of the
            groupKey of the first notification it came in)
"""
import datetime, heapq, json, os, random, sys
mode, seed = sys.argv[1], int(sys.argv[2])
rng = random.Random(seed)
window = float(os.environ.get("JITTER_LINES", "60"))
ahead_at = int(os.environ.get("AHEAD_AT", "220000"))
ahead_every = int(os.environ.get("AHEAD_EVERY", "0"))
ahead_hours = float(os.environ.get("AHEAD_HOURS", "24"))
repeat_s = float(os.environ.get("REPEAT_HOURS", "12")) * 3600
last_sent = {}  # groupKey -> (content, seconds)
marked, marked_names, new_alerts = set(), set(), 0
now, now_minus_5m = "", ""
import re, hashlib
STARTS = re.compile(rb'"startsAt":"([^"]+)"')
FP = re.compile(rb'"fingerprint":"([0-9a-f]{16})"')
GK = re.compile(rb'"groupKey":"((?:[^"\\]|\\.)*)"')
KEY = re.compile(rb'"incident_key":"([0-9a-f]{16})"')
group_of, shadowed = {}, 0  # Alertmanager fingerprint -> its group's PagerDuty dedup_key

def day_ahead(t):
    if t.startswith("0001-"): return t  # Go's zero time: no end
    d = datetime.datetime.fromisoformat(t.replace("Z", "+00:00")) + datetime.timedelta(hours=ahead_hours)
    return d.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"

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
    elif mode == "ahead":
        if l.startswith(b'{"receiver"'):
            # The stream's present, roughly: the newest startsAt so far (ISO times sort as text).
            newest = max((m.group(1).decode() for m in STARTS.finditer(l)), default="")
            if newest > now:
                now = newest
                now_minus_5m = (datetime.datetime.fromisoformat(now[:19])
                                - datetime.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S")
            if i >= ahead_at and (not marked or ahead_every or any(n in l for n in marked_names)):
                w = json.loads(l)
                changed = False
                for a in w["alerts"]:
                    key = json.dumps(a["labels"], sort_keys=True)
                    if key not in marked and a["status"] == "firing" and a["startsAt"] >= now_minus_5m:
                        if not marked or (ahead_every and new_alerts % ahead_every == 0):
                            marked.add(key); marked_names.add(a["labels"]["alertname"].encode())
                        new_alerts += 1
                    if key in marked:
                        a["startsAt"] = day_ahead(a["startsAt"]); a["endsAt"] = day_ahead(a["endsAt"])
                        changed = True
                if changed:
                    l = json.dumps(w, separators=(",", ":")).encode() + b"\n"
        out.write(l)
    elif mode == "repeat":
        if l.startswith(b'{"receiver"'):
            newest = max((m.group(1).decode() for m in STARTS.finditer(l)), default="")
            if newest > now:
                now = newest
            w = json.loads(l)
            content = sorted((json.dumps(a["labels"], sort_keys=True), a["status"], a["startsAt"])
                             for a in w["alerts"])
            t = datetime.datetime.fromisoformat(now[:19]).timestamp()
            last = last_sent.get(w.get("groupKey"))
            if last and last[0] == content and t - last[1] < repeat_s:
                continue
            last_sent[w.get("groupKey")] = (content, t)
        out.write(l)
    elif mode == "shadow":
        if l.startswith(b'{"receiver"'):
            for fp in FP.findall(l):
                if fp not in group_of:
                    m = GK.search(l)
                    if m:
                        gk = json.loads(b'"' + m.group(1) + b'"')
                        group_of[fp] = hashlib.sha256(gk.encode()).hexdigest().encode()
        elif l.startswith(b'{"event":'):
            m = KEY.search(l)
            if m and m.group(1) in group_of:
                l = l[:m.start(1)] + group_of[m.group(1)] + l[m.end(1):]
                shadowed += 1
        out.write(l)
    else:
        sys.exit("unknown mode " + mode)
while heap:
    out.write(heapq.heappop(heap)[2])
if mode == "shadow":
    print(f"shadow: {shadowed} PagerDuty webhooks now name an Alertmanager group", file=sys.stderr)

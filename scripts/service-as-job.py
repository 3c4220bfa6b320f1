#!/usr/bin/env python3
"""Rewrites a `noisegate gen` stream into a plain-Prometheus world: each Alertmanager
alert's `service` label becomes its `job` label (replacing the job it had), so nothing but
the scrape job names the service, as with rule sets such as awesome-prometheus-alerts.
OTLP records keep `service.name`; PagerDuty events are copied unchanged. Alertmanager's
`fingerprint` field is left as it was, so `noisegate eval` still matches every alert to the
truth through the record's `source_id`.

usage: scripts/service-as-job.py IN.ndjson OUT.ndjson   (QUALITY.md, 2026-12-06 (5))
"""
import json
import sys

src, dst = sys.argv[1], sys.argv[2]
rewritten = 0
with open(src) as inp, open(dst, "w") as out:
    for line in inp:
        d = json.loads(line) if '"alerts"' in line else None
        if not isinstance(d, dict) or not isinstance(d.get("alerts"), list):
            out.write(line)
            continue
        for a in d["alerts"]:
            labels = a.get("labels") or {}
            if "service" in labels:
                labels["job"] = labels.pop("service")
        for k in ("groupLabels", "commonLabels"):
            if "service" in (d.get(k) or {}):
                d[k]["job"] = d[k].pop("service")
        out.write(json.dumps(d, separators=(",", ":")) + "\n")
        rewritten += 1
print(f"{rewritten} Alertmanager payloads rewritten", file=sys.stderr)

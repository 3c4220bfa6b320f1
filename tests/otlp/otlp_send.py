#!/usr/bin/env python3
"""A real OTLP exporter (PyPI opentelemetry-sdk + opentelemetry-exporter-otlp-proto-http and
-grpc) sending log records to noisegate's OTLP receivers, the way an instrumented service does.

usage: otlp_send.py ENDPOINT [--gzip] [--grpc] [--cafile PEM] [--token TOKEN] [--timeout S]
  gRPC: ENDPOINT is host:port. --cafile turns on TLS trusting that CA; --token sends
  `authorization: Bearer TOKEN`.
Sends one alert record (alertname DatabaseDown, critical) and one plain log line (no rule
name: not an alert), then flushes. Exits 1 if any export did not succeed.
"""
import argparse
import logging
import sys

from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource

ap = argparse.ArgumentParser()
ap.add_argument("endpoint")
ap.add_argument("--gzip", action="store_true")
ap.add_argument("--grpc", action="store_true")
ap.add_argument("--cafile")
ap.add_argument("--token")
ap.add_argument("--timeout", type=float, default=10.0)
a = ap.parse_args()
headers = {"authorization": f"Bearer {a.token}"} if a.token else None
if a.grpc:
    import grpc
    from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcExporter

    compression = grpc.Compression.Gzip if a.gzip else grpc.Compression.NoCompression
    if a.cafile:
        with open(a.cafile, "rb") as f:
            creds = grpc.ssl_channel_credentials(root_certificates=f.read())
        exporter = GrpcExporter(endpoint=a.endpoint, insecure=False, credentials=creds,
                                headers=headers, timeout=a.timeout, compression=compression)
    else:
        exporter = GrpcExporter(endpoint=a.endpoint, insecure=True, headers=headers,
                                timeout=a.timeout, compression=compression)
else:
    exporter = OTLPLogExporter(
        endpoint=a.endpoint,
        certificate_file=a.cafile,
        headers=headers,
        timeout=a.timeout,
        compression=Compression.Gzip if a.gzip else Compression.NoCompression,
    )

results = []
_export = exporter.export


def export(batch):
    r = _export(batch)
    results.append(r)
    return r


exporter.export = export
provider = LoggerProvider(resource=Resource.create({"service.name": "db", "team": "storage"}))
provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
handler = LoggingHandler(level=logging.INFO, logger_provider=provider)
log = logging.getLogger("otlp-send")
log.setLevel(logging.INFO)
log.addHandler(handler)
log.critical("database is down", extra={"alertname": "DatabaseDown", "alert.status": "firing"})
log.info("a plain log line, not an alert")
provider.force_flush()
provider.shutdown()
ok = bool(results) and all(getattr(r, "name", "") == "SUCCESS" for r in results)
print("export:", "ok" if ok else "failed", results)
sys.exit(0 if ok else 1)

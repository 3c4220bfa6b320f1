#!/usr/bin/env python3
"""A real OTLP exporter (PyPI opentelemetry-sdk + opentelemetry-exporter-otlp-proto-http)
sending log records to noisegate's OTLP/HTTP receiver, the way an instrumented service does.

usage: otlp_send.py ENDPOINT [--gzip | --grpc]   (gRPC: ENDPOINT is host:port)
Sends one alert record (alertname DatabaseDown, critical) and one plain log line (no rule
name: not an alert), then flushes. Exits non-zero if the export fails.
"""
import logging
import sys

from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource

endpoint = sys.argv[1]
gzip = "--gzip" in sys.argv[2:]
if "--grpc" in sys.argv[2:]:
    from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcExporter

    exporter = GrpcExporter(endpoint=endpoint, insecure=True)
else:
    exporter = OTLPLogExporter(
        endpoint=endpoint,
        compression=Compression.Gzip if gzip else Compression.NoCompression,
    )
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

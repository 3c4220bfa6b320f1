#!/usr/bin/env python3
"""External Kafka client for noisegate's live tests: librdkafka through PyPI confluent-kafka,
so the broker is exercised by a client noisegate does not share code with.

  create    --bootstrap B --topic T [--partitions N] [--compact]
  produce   --bootstrap B --topic T --file F [--base64]   one message per line, in order
  consume   --bootstrap B --topic T --out F               everything up to the high watermark
  committed --bootstrap B --group G --topic T             the group's committed offsets (JSON)
"""
import argparse
import base64
import json
import sys
import time

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic


def create(a):
    admin = AdminClient({"bootstrap.servers": a.bootstrap})
    cfg = {"cleanup.policy": "compact"} if a.compact else {}
    fs = admin.create_topics([NewTopic(a.topic, num_partitions=a.partitions, replication_factor=1, config=cfg)])
    for _, f in fs.items():
        try:
            f.result(timeout=30)
        except Exception as e:  # already exists is fine for reruns
            if "TOPIC_ALREADY_EXISTS" not in str(e):
                raise


def produce(a):
    p = Producer({
        "bootstrap.servers": a.bootstrap,
        "enable.idempotence": True,
        "acks": "all",
        # One message per record batch: tansu 0.6 answers a fetch from an offset inside a
        # batch with the *next* batch, skipping the rest of the one asked for (a broker bug
        # any client sees; noisegate logs it as "input offset jumped"). With one-message
        # batches every offset is a batch start, so restarts from a checkpoint are exact.
        "linger.ms": 0 if a.batch == 1 else 20,
        "batch.num.messages": a.batch,
        "queue.buffering.max.messages": 1000000,
        "message.max.bytes": 10_000_000,
    })
    failed = []

    def cb(err, _msg):
        if err is not None:
            failed.append(str(err))

    n = 0
    start = time.time()
    with open(a.file, "rb") as f:
        for line in f:
            line = line.rstrip(b"\n")
            if not line.strip():
                continue
            value = base64.b64decode(line) if a.base64 else line
            if a.rate:
                # Paced: a live stream, not a backlog.
                due = start + n / a.rate
                while time.time() < due:
                    p.poll(min(0.05, max(0.0, due - time.time())))
            while True:
                try:
                    p.produce(a.topic, value=value, on_delivery=cb)
                    break
                except BufferError:
                    p.poll(0.1)
            n += 1
            if n % 1000 == 0:
                p.poll(0)
    left = p.flush(120)
    if left or failed:
        sys.exit(f"produce: {left} not flushed, {len(failed)} failed: {failed[:3]}")
    print(n)


def consume(a):
    c = Consumer({
        "bootstrap.servers": a.bootstrap,
        "group.id": f"kafka-tool-{time.time_ns()}",
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
    })
    md = c.list_topics(a.topic, timeout=30)
    parts = sorted(md.topics[a.topic].partitions.keys())
    end = {}
    for p in parts:
        lo, hi = c.get_watermark_offsets(TopicPartition(a.topic, p), timeout=30)
        end[p] = hi
    c.assign([TopicPartition(a.topic, p, 0) for p in parts])
    pos = {p: 0 for p in parts}
    out = open(a.out, "w")
    # tansu 0.6 reports a high watermark that can lag the log end (the base offset of the
    # last batch), so read at least to the watermark and then until the topic stays quiet.
    deadline = time.time() + 300
    last = time.time()
    while any(pos[p] < end[p] for p in parts) or time.time() - last < a.idle:
        if time.time() > deadline:
            sys.exit(f"consume: timed out at {pos} of {end}")
        m = c.poll(0.2)
        if m is None:
            continue
        last = time.time()
        if m.error():
            continue
        pos[m.partition()] = m.offset() + 1
        v = m.value() or b""
        try:
            value = v.decode("utf-8")
            b64 = None
        except UnicodeDecodeError:
            value, b64 = None, base64.b64encode(v).decode()
        out.write(json.dumps({
            "partition": m.partition(),
            "offset": m.offset(),
            "timestamp": m.timestamp()[1],
            "key": (m.key() or b"").decode("utf-8", "replace"),
            "headers": {k: (hv or b"").decode("utf-8", "replace") for k, hv in (m.headers() or [])},
            "value": value,
            "value_b64": b64,
        }) + "\n")
    out.close()
    c.close()


def committed(a):
    c = Consumer({"bootstrap.servers": a.bootstrap, "group.id": a.group, "enable.auto.commit": False})
    md = c.list_topics(a.topic, timeout=30)
    parts = [TopicPartition(a.topic, p) for p in sorted(md.topics[a.topic].partitions.keys())]
    res = c.committed(parts, timeout=30)
    print(json.dumps({str(tp.partition): tp.offset for tp in res}))
    c.close()


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("create", "produce", "consume", "committed"):
        s = sub.add_parser(name)
        s.add_argument("--bootstrap", required=True)
        s.add_argument("--topic", required=True)
        if name == "create":
            s.add_argument("--partitions", type=int, default=1)
            s.add_argument("--compact", action="store_true")
        if name == "produce":
            s.add_argument("--file", required=True)
            s.add_argument("--base64", action="store_true")
            s.add_argument("--batch", type=int, default=1)
            s.add_argument("--rate", type=float, default=0, help="messages per second (0: as fast as possible)")
        if name == "consume":
            s.add_argument("--out", required=True)
            s.add_argument("--idle", type=float, default=2.0)
        if name == "committed":
            s.add_argument("--group", required=True)
    a = ap.parse_args()
    {"create": create, "produce": produce, "consume": consume, "committed": committed}[a.cmd](a)


if __name__ == "__main__":
    main()

"""What log compaction could ever take out of a worker's changelog: the processor is driven over a
run's inbound stream (as the Kafka runtime publishes it) with a store that packs each message's
writes into one record as the worker does (`changelog.pack`), pruning stored answers a set
number of messages behind (the committed offset). It prints the bytes written by key kind, the
bytes in records that still hold some key's latest write (what a tombstone per dead record
would leave), and the bytes of the keys alive at the end (what per-key records, compacted,
would leave).

    python -m claimsim.benchmarks.loadtest.changelog_bytes RUN_DIR [--partitions 4]
        [--items 200] [--lag 5]
"""

from __future__ import annotations

import argparse
from collections import defaultdict, deque
from pathlib import Path

from claimsim.adjudication.engine.context import Settings
from claimsim.adjudication.runtimes.processor import PartitionProcessor
from claimsim.adjudication.runtimes.streaming.changelog import pack
from claimsim.adjudication.runtimes.streaming.producer import InboundBatcher, plan_stream
from claimsim.events.reference import ReferenceData


class RecordingStore:
    """A dict store that lists the writes made since the last `take()`."""

    def __init__(self) -> None:
        self.data: dict[bytes, bytes] = {}
        self.pending: list[tuple[bytes, bytes | None]] = []

    def get(self, key, default=None):
        return self.data.get(key, default)

    def items(self):
        return self.data.items()

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self.data[key] = value
        self.pending.append((key, value))

    def delete(self, key: bytes) -> None:
        del self.data[key]
        self.pending.append((key, None))

    def take(self) -> list[tuple[bytes, bytes | None]]:
        out, self.pending = self.pending, []
        return out


def measure(run: Path, partitions: int, items: int, lag: int) -> dict:
    reference = ReferenceData.load(run)
    processor = PartitionProcessor(reference, Settings())  # the bytes, not the answers, matter here
    store = RecordingStore()
    records: list[int] = []  # packed record sizes, in changelog order
    latest: dict[bytes, int] = {}  # key -> the record holding its latest write
    by_kind: dict[str, int] = defaultdict(int)
    kept: dict[int, deque[list[bytes]]] = defaultdict(deque)

    def message(partition: int, value: bytes) -> None:
        answers = kept[partition]
        while len(answers) > lag:  # the committed offset passed them: prune as the worker does
            for key in answers.popleft():
                store.delete(key)
        processor.process(partition, value, store)
        writes = store.take()
        answers.append([k for k, v in writes if v is not None and k[:2] == b"r:"])
        for key, value in writes:
            latest[key] = len(records)
            by_kind[key[:2].decode()] += len(key) + len(value or b"") + 8
        records.append(len(pack(writes)))

    batcher = InboundBatcher(partitions, items)
    for item in plan_stream(run):
        for p, _, value in batcher.add(item):
            message(p, value)
    for p, _, value in batcher.flush():
        message(p, value)
    live_records = set(latest.values())
    return {"records": len(records), "bytes": sum(records), "by_kind": dict(by_kind),
            "live_record_bytes": sum(records[i] for i in live_records),
            "live_keys": len(store.data),
            "live_key_bytes": sum(len(k) + len(v) + 8 for k, v in store.data.items())}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m claimsim.benchmarks.loadtest.changelog_bytes",
                                 description=__doc__.splitlines()[0])
    ap.add_argument("run_dir", type=Path)
    ap.add_argument("--partitions", type=int, default=4)
    ap.add_argument("--items", type=int, default=200, help="inputs per inbound message")
    ap.add_argument("--lag", type=int, default=5, help="messages between a message and its commit")
    args = ap.parse_args(argv)
    m = measure(args.run_dir, args.partitions, args.items, args.lag)
    mb = 1e6
    print(f"{m['records']:,} changelog records, {m['bytes'] / mb:,.1f} MB")
    kinds = sorted(m["by_kind"].items())
    print("written by key kind: " + ", ".join(f"{k} {v / mb:,.1f} MB" for k, v in kinds))
    dead = (m["bytes"] - m["live_record_bytes"]) / mb
    print(f"records still holding a key's latest write: {m['live_record_bytes'] / mb:,.1f} MB"
          f" (a tombstone per dead record removes {dead:,.1f} MB)")
    print(f"keys alive at the end: {m['live_keys']:,}, {m['live_key_bytes'] / mb:,.1f} MB"
          " (per-key records, compacted)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The generic projection runner: feed a log's events, from a position, to a projection, keeping a
checkpoint (last seq applied, its hash, and the projection's state) so a projection resumes where
it stopped instead of replaying from seq 0.

A checkpoint is an optimisation, never a second truth: it records the hash of the entry it stopped
at, and a checkpoint whose entry no longer matches the log is refused (rebuild from scratch).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import orjson

from claimsim.events.encoding import canonical
from claimsim.events.files import whole_and_on_disk
from claimsim.events.log import read


class Projection(Protocol):
    """A fold over envelopes. `state()` must be JSON-able; `restore()` takes it back.

    A projection may also read the log its own way: `envelopes(log_dir, from_seq)`, what
    `ProjectionRunner.run` then folds instead of `log.read`'s envelopes (each with its `seq` and
    `hash`, which the runner records); the projections' follower decodes only what it reads."""

    name: str

    def apply(self, envelope: dict[str, Any]) -> None: ...

    def state(self) -> Any: ...

    def restore(self, state: Any) -> None: ...


class StaleCheckpoint(Exception):
    pass


# A checkpoint is canonical JSON: its head's keys (last_hash, last_seq, projection), then the
# state, whose key sorts last. `save_checkpoint` writes it so; `checkpoint_head` reads the head.
STATE_KEY = b',"state":'


def checkpoint_head(path: Path) -> tuple[dict[str, Any] | None, int]:
    """A checkpoint's head (projection, last seq and hash) and the byte offset its state starts
    at, without reading the state; (None, 0) for a file that does not start with a head."""
    with open(path, "rb") as f:
        start = f.read(1 << 16)
    at = start.find(STATE_KEY)
    if at < 0:
        return None, 0
    try:
        head = orjson.loads(start[:at] + b"}")
    except orjson.JSONDecodeError:
        return None, 0
    return (head if isinstance(head, dict) else None), at + len(STATE_KEY)


class ProjectionRunner:
    def __init__(
        self,
        log_dir: Path | str,
        projection: Projection,
        checkpoint: Path | str | None = None,
        *,
        checkpoint_every: int = 100_000,
    ):
        self.log_dir = Path(log_dir)
        self.projection = projection
        self.checkpoint = Path(checkpoint) if checkpoint else None
        self.checkpoint_every = checkpoint_every
        self.last_seq = -1
        self.last_hash: str | None = None
        if self.checkpoint and self.checkpoint.exists():
            self._load_checkpoint()

    def _load_checkpoint(self) -> None:
        saved = orjson.loads(self.checkpoint.read_bytes())
        if saved.get("projection") != self.projection.name:
            raise StaleCheckpoint(
                f"{self.checkpoint}: checkpoint of {saved.get('projection')!r}, not {self.projection.name!r}"
            )
        seq, digest = saved["last_seq"], saved["last_hash"]
        if seq >= 0:
            entry = next(read(self.log_dir, seq), None)
            if entry is None or entry["seq"] != seq or entry["hash"] != digest:
                raise StaleCheckpoint(
                    f"{self.checkpoint}: checkpoint at seq {seq} does not match the log; rebuild it"
                )
        self.projection.restore(saved["state"])
        self.last_seq, self.last_hash = seq, digest

    def save_checkpoint(self) -> None:
        """Write the checkpoint: canonical JSON of projection, position and state. A projection
        with `state_pieces()` (its state's canonical bytes in pieces) is written piece by piece,
        the same bytes without the whole state in memory as objects and as bytes at once."""
        if self.checkpoint is None:
            return
        head = {"projection": self.projection.name, "last_seq": self.last_seq,
                "last_hash": self.last_hash}
        pieces = getattr(self.projection, "state_pieces", None)
        self.checkpoint.parent.mkdir(parents=True, exist_ok=True)
        with whole_and_on_disk(self.checkpoint) as f:
            if pieces is None:
                f.write(canonical({**head, "state": self.projection.state()}))
            else:  # "state" sorts after the head's keys: the head, then the state, then "}"
                f.write(canonical(head)[:-1] + STATE_KEY)
                for piece in pieces():
                    f.write(piece)
                f.write(b"}")

    def run(
        self,
        until_seq: int | None = None,
        *,
        on_event: Callable[[dict[str, Any]], None] | None = None,
    ) -> int:
        """Apply every event after the checkpoint (up to `until_seq` inclusive); returns how many."""
        applied = 0
        apply = self.projection.apply
        envelopes = getattr(self.projection, "envelopes", read)
        for env in envelopes(self.log_dir, self.last_seq + 1):
            if until_seq is not None and env["seq"] > until_seq:
                break
            apply(env)
            self.last_seq, self.last_hash = env["seq"], env["hash"]
            applied += 1
            if on_event is not None:
                on_event(env)
            if self.checkpoint and applied % self.checkpoint_every == 0:
                self.save_checkpoint()
        if applied:
            self.save_checkpoint()
        return applied

"""When each input's family comes back: for input seq s, the seq of the next input with the same key
(`NextUse.get`), found by reading the input log's raw lines a window ahead of the inputs being
adjudicated. The bounded family cache (`runtimes.familycache`) uses it to evict the family needed
last instead of the one used longest ago.

Why: a family's inputs come in bursts (an enrollment and its first claims, a claim and its
duplicate or replacement) with weeks between them, so least-recently-used keeps families whose
burst is over and drops ones about to come back. Replayed over the input keys of a year at 300,000
members (180,875 families, 2,310,801 inputs) with 32,768 cached families: 35.8 % of inputs found
their family cached with least-recently-used, 64.3 % evicting the family needed last as seen
262,144 inputs ahead (64.3 % too with the whole future known); a window of 16,384 gained nothing,
65,536 gave 45.7 %, 131,072 gave 62.3 %. At 1,000,000 members (602,647 families, 7,705,444
inputs) 18.7 % against 43.2 % (with 65,536 cached: 26.3 % against 54.5 %). The window a cache
needs scales with the cache, not the population: `WINDOW_PER_FAMILY` inputs per cached family.

Only speed depends on these hints, never an answer: a line that is not an envelope in the log's
canonical layout gives a wrong key or none, an incomplete last line ends the hints, and a wrong
hint only keeps a family cached that is not needed. Memory: a map of the window's keys to their
last seq and a list of next seqs by seq, bounded by the window whatever the population (at
300,000 members, a window of 262,144 held in two maps: peak RSS 564 MiB against 504 without it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from claimsim.events.log import segment_files

# The window, in inputs, per cached family (module docstring). 8: with next uses in a list rather
# than a map, a window of 262,144 over the 100,000-member run's keys alone peaked 10 MB above one
# of 131,072, and 13.6 % of inputs missed the cache against 15.6 % (16: 13.6 % too). It was 4
# with two maps: at 300,000 members the window of 131,072 that gives the default cache kept
# 62.3 % of inputs cached against 64.3 % at 262,144, for half the maps; at 1,000,000 members 8
# took `adjudicate`'s peak from 567,700 KiB to 675,944, and `claimsim run`, which holds a million
# members' payer state beside the cache, had under 100 MB of its 2 GB to spare (the run clock
# adjudicates without the look-ahead, though: `scenarios.runclock`).
WINDOW_PER_FAMILY = 8
KEY = b'"key":'
AFTER_KEY = b',"seq":'  # an envelope's fields are in sorted order: "key" is followed by "seq"


def raw_keys(directory: Path, start: int, chunk: int = 1 << 20) -> Iterator[list[bytes]]:
    """The raw JSON of each input's key from seq `start` on, in seq order, a list per piece of
    about `chunk` bytes of the log (a line that is not an envelope in the canonical layout gives
    some other bytes, still one item per line); stops at the end of what is written."""
    for f in segment_files(directory, start):
        while lines := f.readlines(chunk):
            torn = lines[-1][-1:] != b"\n"  # being written (or torn): the hints stop there
            if torn:
                lines.pop()
            # "key" is the last field of an envelope holding a string of the input's
            yield [line[(at := line.rfind(KEY)) + len(KEY):line.find(AFTER_KEY, at)]
                   for line in lines]
            if torn:
                return


class NextUse:
    """Next-use seqs for inputs from `start`, looking at least `window` inputs ahead of the one
    asked about (`get`, in increasing seq order: a seq not asked about is skipped)."""

    __slots__ = ("_pieces", "_ahead", "_window", "_latest", "_next", "_base", "_prune_at")

    def __init__(self, directory: Path | str, start: int, window: int):
        self._pieces = raw_keys(Path(directory), start)
        self._ahead = start  # the next seq to read
        self._window = window
        self._latest: dict[bytes, int] = {}  # key -> the last seq read with it
        # seq `_base + i` -> the next seq with its key (None: not read yet, or none), a list
        # indexed by seq rather than a dict (a `get` is then one index, not a pop; 1.3-1.7 us an
        # input at 100,000 members against 1.8-2.0, and some 8 bytes a seq instead of a map's)
        self._next: list[int | None] = []
        self._base = start
        self._prune_at = start + window

    def get(self, seq: int) -> int | None:
        """The seq of the next input after `seq` with its key, if read (None: not within the
        window, or not known)."""
        while seq + self._window >= self._ahead:
            self._read(seq)
        i = seq - self._base
        return self._next[i] if 0 <= i < len(self._next) else None

    def _read(self, seq: int) -> None:
        """Read the next piece of keys; forget, once per window, what lies behind `seq`."""
        if seq >= self._prune_at:  # in bulk: per input it would cost more than the reading
            self._latest = {k: s for k, s in self._latest.items() if s >= seq}
            del self._next[:seq - self._base]
            self._base = seq
            self._prune_at = seq + self._window
        keys = next(self._pieces, None)
        if keys is None:  # the end of what is written: nothing more to read
            self._ahead = 1 << 62
            return
        latest, nxt, ahead, base = self._latest, self._next, self._ahead, self._base
        nxt.extend([None] * len(keys))
        for key in keys:
            prev = latest.get(key)
            if prev is not None:  # (never behind `base`: `_latest` is pruned with it)
                nxt[prev - base] = ahead
            latest[key] = ahead
            ahead += 1
        self._ahead = ahead


class WhenNeeded:
    """A `NextUse` started only once `needed()` is true (the embedded runtime: once its cache is
    half full), from the seq then asked about; until then every next use is unknown (None).

    A cache that never fills half way needs no hints: such a run neither reads the input log a
    second time nor holds the window's maps (a window of 8 inputs per cached family is longer
    than the whole of a run that small). `claimsim adjudicate` of 100,000 members (60,221
    families in a cache of 65,536) starts it part way through, and never evicts. Families cached
    before the start are of unknown next use, so they go first, least recently used first, as
    without hints."""

    __slots__ = ("_directory", "_window", "_needed", "_ahead")

    def __init__(self, directory: Path | str, window: int, needed: Callable[[], bool]):
        self._directory, self._window, self._needed = Path(directory), window, needed
        self._ahead: NextUse | None = None

    def get(self, seq: int) -> int | None:
        ahead = self._ahead
        if ahead is None:
            if not self._needed():
                return None
            ahead = self._ahead = NextUse(self._directory, seq, self._window)
        return ahead.get(seq)

    @property
    def started(self) -> bool:
        return self._ahead is not None

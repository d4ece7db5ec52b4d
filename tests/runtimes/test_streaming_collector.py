"""The worker's own garbage collection: automatic collection off, a collection (and a freeze of
what survives) every so many answers and at least every so many seconds, so garbage cycles are
still freed and long-lived family states are not scanned again."""

from __future__ import annotations

import gc
import weakref

import pytest

from claimsim.adjudication.runtimes.streaming.collector import Collector


class Node:
    pass


def cycle() -> weakref.ref:
    a, b = Node(), Node()
    a.other, b.other = b, a
    return weakref.ref(a)


@pytest.fixture
def collector():
    was = gc.isenabled()
    c = Collector(freeze_every=100, at_least_every_s=3600)
    yield c
    gc.unfreeze()
    if was:
        gc.enable()


def test_a_started_collector_collects_every_freeze_every_answers_and_frees_cycles(collector):
    collector.start()
    assert not gc.isenabled()
    garbage = cycle()
    collector.answered(99)
    assert collector.collections == 0 and garbage() is not None  # nothing collects it yet
    collector.answered(1)  # the 100th answer
    assert collector.collections == 1 and garbage() is None
    assert gc.get_freeze_count() > 0  # the survivors are out of later collections' way
    collector.answered(99)
    assert collector.collections == 1  # counted from the last collection


def test_an_idle_worker_still_collects_on_its_timer(collector, monkeypatch):
    collector.start()
    garbage = cycle()
    collector.tick()
    assert collector.collections == 0 and garbage() is not None  # not due yet
    monkeypatch.setattr(collector, "at_least_every_s", 0.0)
    collector.tick()
    assert collector.collections == 1 and garbage() is None


def test_thaw_gives_frozen_objects_back_and_an_unstarted_collector_does_nothing(collector):
    collector.answered(1000)
    collector.tick()
    assert collector.collections == 0  # not started: Python's own collector is in charge
    collector.start()
    collector.answered(100)
    assert gc.get_freeze_count() > 0
    collector.thaw()
    assert gc.get_freeze_count() == 0

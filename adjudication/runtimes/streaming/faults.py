"""Faults a test injects into a worker process (`CLAIMSIM_WORKER_FAULT`), for the ones faust and
aiokafka produce only by chance. `stall` and `drop` act in the agent (app.py); the two here act on
the group leader's first partition assignment, which is computed with the run's topics missing
from the cluster metadata, as a leader did just after a broker restart (its log: "Ignoring missing
topic" for the inbound, changelog and assignor topics): every partition of the run is left
unassigned while the group is stable.

- `blind-metadata`: the consumer's cluster metadata itself lacks the run's topics from that
  assignment until its next metadata update, as after the restart. aiokafka's leader takes its
  snapshot of the subscription's partitions from the same metadata, so the update that shows the
  topics again makes it rejoin by itself (`BaseCoordinator._handle_metadata_update`).
- `blind-assign`: only faust's assignor sees the metadata without the run's topics; aiokafka's
  snapshot is taken from the real metadata, so no update ever looks like a change to it and the
  group stays stable with nothing assigned: what the worker's own orphan watch
  (`orphans.OrphanWatch`) must end.
- `blind-assign-every`: the same on every assignment this process makes, so the rebalances the
  watch asks for leave the partitions to nobody too, until its last resort (a restart in place,
  whose new process has no fault).

Only the group's leader runs the assignor; a fault acts once per process (but the last), on the
first assignment of a group of at least N members with `FAULT@N` (default 1).
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)

BLIND_FAULTS = ("blind-metadata", "blind-assign", "blind-assign-every")


def blind_fault(fault: str | None) -> tuple[str, int] | None:
    """(one of `BLIND_FAULTS`, members) for such a fault, else None."""
    name, _, members = (fault or "").partition("@")
    if name not in BLIND_FAULTS:
        return None
    return name, int(members or 1)


class _WithoutTopics:
    """A cluster metadata in which the run's topics (`prefix`-*) have no partitions."""

    def __init__(self, cluster: Any, prefix: str):
        self._cluster, self._prefix = cluster, prefix + "-"

    def partitions_for_topic(self, topic: str):
        if topic.startswith(self._prefix):
            return None
        return self._cluster.partitions_for_topic(topic)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cluster, name)


def _hide_until_next_update(cluster: Any, prefix: str) -> None:
    """Make `cluster` (aiokafka's, shared by the consumer) lack the run's topics until its next
    metadata update, which restores them before its listeners (the coordinator's) hear of it."""
    blind = _WithoutTopics(cluster, prefix)
    update = cluster.update_metadata

    def update_once(metadata) -> None:
        del cluster.partitions_for_topic, cluster.update_metadata
        log.warning("fault injected: the run's topics are back in the metadata")
        update(metadata)

    cluster.partitions_for_topic = blind.partitions_for_topic
    cluster.update_metadata = update_once


def blind_first_assignment(app: Any, prefix: str, fault: str, members: int = 1) -> None:
    """Make this process's first assignment as the leader of a group of at least `members`
    members blind to the run's topics."""
    assignor = app.assignor  # faust's, the one object aiokafka's coordinator calls
    assign = assignor.assign

    def blind(cluster, member_metadata):
        if len(member_metadata) < members:
            return assign(cluster, member_metadata)
        if fault != "blind-assign-every":
            del assignor.assign  # once
        log.warning("fault injected (%s): assigning on a metadata without the run's topics", fault)
        if fault == "blind-metadata":
            _hide_until_next_update(cluster, prefix)
            return assign(cluster, member_metadata)
        return assign(_WithoutTopics(cluster, prefix), member_metadata)

    assignor.assign = blind

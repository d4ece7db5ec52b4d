"""Fuzzing the other input boundaries: Kafka messages as the streaming worker receives them (bytes
from anyone who can produce to the topic), and scenario files as users write them. The promise
at each: no traceback escapes; bad input becomes a dead letter (Kafka) or a one-line user error
(scenarios); every well-formed input still gets exactly one answer.

Size: `CLAIMSIM_FUZZ_EXAMPLES` (default 100), as in test_fuzz_core.
"""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from claimsim.adjudication.engine import ANSWER_TYPES
from claimsim.adjudication.runtimes.processor import PartitionProcessor
from claimsim.adjudication.runtimes.streaming.wire import encode_items
from claimsim.events.errors import UserError
from claimsim.scenarios.spec import load, validate

from ..fixtures.adjudication import reference
from claimsim.adjudication.engine import Settings
from .conftest import COUNTS
from .test_fuzz_core import FUZZ, broken_claims, json_values

pytestmark = pytest.mark.fuzz


@st.composite
def envelopes(draw) -> dict:
    """An input envelope whose header may be fine and whose data may be anything."""
    env = {"seq": draw(st.integers(0, 50)), "type": draw(st.sampled_from(
        ["claim.submitted", "member.enrolled", "member.terminated", "claim.other"])),
        "v": draw(st.sampled_from([1, 1, 1, 2, 0, "1"])), "at": "2025-03-10",
        "key": draw(st.sampled_from(["M1", "M2", ""])), "cause": None,
        "data": draw(st.one_of(st.fixed_dictionaries({"claim": broken_claims()}), json_values))}
    for name in draw(st.lists(st.sampled_from(sorted(env)), max_size=2)):
        env[name] = draw(json_values)
    return env


messages = st.one_of(
    st.binary(max_size=200),
    json_values.map(orjson.dumps),
    envelopes().map(orjson.dumps),
    st.lists(envelopes(), min_size=1, max_size=4).map(orjson.dumps),
    st.lists(envelopes(), min_size=1, max_size=3).map(
        lambda items: encode_items([orjson.dumps(i) for i in items], 0)),
)


@FUZZ
@given(batch=st.lists(messages, min_size=1, max_size=6))
def test_any_kafka_message_is_answered_or_dead_lettered_never_raised(batch):
    processor = PartitionProcessor(reference(), Settings())
    store: dict[bytes, bytes] = {}
    for value in batch:
        COUNTS["kafka: messages"] += 1
        out = processor.process(0, value, store)
        COUNTS["kafka: dead letters"] += len(out.dead)
        COUNTS["kafka: answers"] += len(out.ledger)
        assert out.gap is None or out.gap[1] > out.gap[0]
        for event in out.ledger:
            assert event["type"] in ANSWER_TYPES
        for reason, _raw in out.dead:
            assert isinstance(reason, str) and reason


def _builtin_data(name: str = "demo") -> dict:
    return load(name)[1]


@st.composite
def scenario_data(draw) -> dict:
    """A built-in scenario's data with one to three leaves replaced by any JSON/TOML value."""
    data = _builtin_data(draw(st.sampled_from(["demo", "cpcplus", "pcf", "mcp", "multipayer"])))
    for _ in range(draw(st.integers(1, 3))):
        node, path = data, []
        while isinstance(node, dict) and node and draw(st.booleans()):
            key = draw(st.sampled_from(sorted(node)))
            path.append(key)
            if not isinstance(node[key], dict):
                break
            node = node[key]
        target = data
        for key in path[:-1]:
            target = target[key]
        if path and isinstance(target, dict):
            target[path[-1]] = draw(json_values)
        else:
            data[draw(st.text(max_size=12))] = draw(json_values)
    return data


@FUZZ
@given(data=scenario_data())
def test_any_scenario_data_validates_or_is_a_one_line_user_error(data):
    COUNTS["scenario: data"] += 1
    try:
        validate(data, "fuzz.toml")
    except UserError as e:
        assert "fuzz.toml" in str(e)


@FUZZ
@given(content=st.one_of(st.binary(max_size=300),
                         st.text(max_size=300).map(lambda t: t.encode("utf-8")),
                         st.just(b"\xef\xbb\xbfscenario = 'x'\n")))
def test_any_scenario_file_loads_or_is_a_one_line_user_error(tmp_path_factory, content):
    path = tmp_path_factory.mktemp("fuzz") / "s.toml"
    path.write_bytes(content)
    COUNTS["scenario: files"] += 1
    try:
        load(str(path))
    except UserError as e:
        assert "s.toml" in str(e) and "\n" not in str(e)

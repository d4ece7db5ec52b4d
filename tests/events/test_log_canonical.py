"""A log line whose hash holds over its bytes as written but not over their canonical encoding
(the chain's definition, DESIGN.md "Event log"): `log verify` says so by name, apart from an
edited line."""

from __future__ import annotations

from claimsim.events.encoding import GENESIS_HASH, line_chain_hash
from claimsim.events.log_verify import verify


def test_a_line_not_in_canonical_form_is_named_as_such(tmp_path):
    log = tmp_path / "log"
    log.mkdir()
    # `data`'s keys out of order and spaced: valid JSON, not what a claimsim writer writes.
    head = (b'{"at":"2025-01-01","cause":null,"data":{"b": 1, "a": 2},"key":"K","seq":0,'
            b'"type":"no_effect","v":1')
    digest = line_chain_hash(GENESIS_HASH, head + b',"prev":"x"}')
    line = head + f',"prev":"{GENESIS_HASH}","hash":"{digest}"}}\n'.encode()
    (log / "000000000000.jsonl").write_bytes(line)
    result = verify(log, check_types=False)
    assert (result.problem.value, result.seq) == ("edited", 0)
    assert result.message.startswith("not in canonical form (its hash holds over its bytes")
    edited = line.replace(b'"b": 1', b'"b": 9')
    (log / "000000000000.jsonl").write_bytes(edited)
    assert verify(log, check_types=False).message == "content does not match its hash"

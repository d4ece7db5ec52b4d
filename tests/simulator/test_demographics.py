"""Members' race, ethnicity and preferred language (DOMAIN.md §9): drawn on their own random
stream (turning them off changes nothing else the simulator draws), omitted from the event when
absent (old logs keep their bytes), close to the configured mix, and a group effect moves only its
own group."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from pathlib import Path

import pytest

from claimsim.events.input import MemberEnrolled
from claimsim.events.log import read
from claimsim.scenarios.region import simulate_scenario
from claimsim.simulator.config import DemographicsConfig, GroupEffect
from claimsim.simulator.demographics import Demographics

from ..scenarios.test_builtin_scenarios import small

FIELDS = ("race", "ethnicity", "language")


def test_an_enrollment_without_demographics_keeps_its_old_bytes():
    e = MemberEnrolled(member_id="M1", subscriber_id="M1", payer_id="P", plan_id="PL",
                       start=dt.date(2025, 1, 1), birth_date=dt.date(1960, 1, 1), sex="F")
    assert not set(FIELDS) & set(e.model_dump(mode="json"))
    with_groups = e.model_copy(update={"language": "spanish"})
    assert with_groups.model_dump(mode="json")["language"] == "spanish"


def test_draws_follow_the_mix_and_effects_apply_to_their_group_only():
    d = Demographics(DemographicsConfig(group_effects={"language:spanish": GroupEffect(alignment_delta_bp=-500)}),
                     random.Random(7))
    drawn = [d.draw() for _ in range(20_000)]
    languages = Counter(g["language"] for g in drawn)
    assert abs(languages["english"] / 20_000 - 0.78) < 0.015  # mix 78 %, sd ~0.3 %
    assert abs(languages["spanish"] / 20_000 - 0.13) < 0.01
    assert d.alignment_delta_bp({"language": "spanish", "race": "white"}) == -500
    assert d.alignment_delta_bp({"language": "english", "race": "white"}) == 0


def test_an_unknown_group_effect_is_a_settings_error():
    with pytest.raises(ValueError, match="dimension:group"):
        DemographicsConfig(group_effects={"language:klingon": GroupEffect()})


def _inputs(run_dir: Path) -> list[dict]:
    out = []
    for env in read(run_dir / "input"):
        data = {k: v for k, v in env["data"].items() if k not in FIELDS}
        out.append((env["type"], env["at"], env["key"], data))
    return out


def test_demographics_draw_on_their_own_stream(tmp_path):
    on = small("multipayer", members=300, months=6)
    off = on.model_copy(update={"demographics": DemographicsConfig(enabled=False)})
    simulate_scenario(on, tmp_path / "on")
    simulate_scenario(off, tmp_path / "off")
    # Every input event the same but for the three fields; the truth log byte for byte.
    assert _inputs(tmp_path / "on") == _inputs(tmp_path / "off")
    truth = [sorted((tmp_path / d / "truth").glob("*.jsonl")) for d in ("on", "off")]
    assert [p.read_bytes() for p in truth[0]] == [p.read_bytes() for p in truth[1]]
    enrolled = [e["data"] for e in read(tmp_path / "on" / "input") if e["type"] == "member.enrolled"]
    assert enrolled and all(set(FIELDS) <= set(d) for d in enrolled)
    assert not any(set(FIELDS) & set(e["data"]) for e in read(tmp_path / "off" / "input")
                   if e["type"] == "member.enrolled")

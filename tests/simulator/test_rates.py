"""Statistical behaviour of the simulator on fixed seeds: churn and alignment at their configured
rates, visit rates rising with true risk, and avoidable referrals (true leakage) rising with the
referral propensity and with the hybrid % that drives it."""

from __future__ import annotations

import math
from collections import defaultdict

from claimsim.events.programs import ProgramKind, ProgramSettings
from claimsim.simulator.config import (
    EnrollmentConfig,
    ReferralConfig,
    RegionConfig,
    SimConfig,
)
from claimsim.simulator.model import simulate
from claimsim.simulator.utilization import UtilizationConfig

_NO_VISITS = {"pcp_visits_milli": 0, "specialist_visits_milli": 0, "urgent_care_visits_milli": 0,
              "ed_visits_milli": 0, "admissions_milli": 0, "nursing_facility_visits_milli": 0,
              "therapy_visits_milli": 0}
NO_CARE = UtilizationConfig(
    profiles={lob: {band: p.model_copy(update=_NO_VISITS) for band, p in bands.items()}
              for lob, bands in UtilizationConfig().profiles.items()},
    preventive_uptake_bp=0, ccm_monthly_bp=0)


def _no_away(**settings) -> UtilizationConfig:
    """Utilization with no random away-from-PCP visits: the region's share and every care
    profile's extra set to 0."""
    profiles = {lob: {band: p.model_copy(update={"away_visit_bp": 0}) for band, p in bands.items()}
                for lob, bands in UtilizationConfig().profiles.items()}
    return UtilizationConfig(profiles=profiles, away_visit_bp=0, **settings)


def _run(config: SimConfig):
    inputs: list[dict] = []
    truth: list[dict] = []
    summary = simulate(config, inputs.append, truth.append)
    return inputs, truth, summary


def test_terminations_new_enrollments_and_alignment_match_their_configured_rates():
    """20 000 members (about 9 000 families) x 12 months, no care (enrollment only):
    terminations 2.00 %/month of active families, new families 3.00 %/month, alignment 10 %.
    Tolerance: 4 binomial standard errors over about 110 000 family-months (~0.17 points)."""
    config = SimConfig(
        seed=11, members=20_000, months=12, runout_months=0, utilization=NO_CARE,
        enrollment=EnrollmentConfig(monthly_termination_bp=200, monthly_new_enrollment_bp=300,
                                    alignment_bp=1000),
    )
    inputs, _, summary = _run(config)
    family_start: dict[str, str] = {}
    family_end: dict[str, str] = {}
    terminated_at: dict[str, str] = {}
    for e in inputs:
        d = e["data"]
        if e["type"] == "member.enrolled":
            family_start.setdefault(d["subscriber_id"], d["start"])
        elif e["type"] == "member.terminated":
            family_end[d["subscriber_id"]] = d["end"]
            terminated_at[d["subscriber_id"]] = e["at"]
    month_starts = sorted({s for s in family_start.values()} | {f"2025-{m:02d}-01" for m in range(2, 13)})
    exposure = terminations = new = 0
    for first in (f"2025-{m:02d}-01" for m in range(2, 13)):
        active = [f for f, s in family_start.items()
                  if s < first and family_end.get(f, "9999") >= first]
        exposure += len(active)
        terminations += sum(1 for f in active if terminated_at.get(f) == first)
        new += sum(1 for s in family_start.values() if s == first)
    assert month_starts  # the run has monthly changes at all
    p = 0.02
    tolerance = 4 * math.sqrt(p * (1 - p) / exposure)
    assert abs(terminations / exposure - p) < tolerance, (terminations, exposure)
    assert abs(new / exposure - 0.03) < 4 * math.sqrt(0.03 / exposure), (new, exposure)
    assert summary.terminated_families == terminations and summary.new_families == new

    members = sum(1 for e in inputs if e["type"] == "member.enrolled")
    aligned = len({e["data"]["member_id"] for e in inputs if e["type"] == "alignment.declared"})
    assert abs(aligned / members - 0.10) < 4 * math.sqrt(0.09 / members)


def test_visit_rates_rise_with_true_risk():
    """Members ranked by true risk into quartiles: claims per member rise quartile by quartile,
    and the top quartile has at least twice the bottom one's (rates scale with risk)."""
    inputs, truth, _ = _run(SimConfig(seed=12, members=3000, months=12))
    risk = {e["data"]["member_id"]: e["data"]["risk_milli"] for e in truth
            if e["type"] == "truth.member" and e["at"] == "2025-01-01"}
    claims = defaultdict(int)
    for e in inputs:
        if e["type"] == "claim.submitted":
            c = e["data"]["claim"]
            if c.get("frequency") == "1" and "-" not in c["claim_id"][8:]:
                claims[c.get("member_id")] += 1
    ranked = sorted(risk, key=lambda m: (risk[m], m))
    q = len(ranked) // 4
    means = [sum(claims[m] for m in ranked[i * q:(i + 1) * q]) / q for i in range(4)]
    assert means == sorted(means) and len(set(means)) == 4, means
    assert means[3] > 2 * means[0], means


def _avoidable(truth) -> int:
    return sum(1 for e in truth if e["type"] == "truth.referral" and e["data"]["avoidable"])


def test_true_leakage_rises_monotonically_with_the_avoidable_referral_propensity():
    """Same seed, propensity 0 % .. 100 %: avoidable referrals never fall and end far higher;
    necessary referrals do not move (their draws are the same numbers)."""
    counts, necessary = [], set()
    for base in (0, 1000, 2500, 5000, 10_000):
        config = SimConfig(seed=13, members=1200, months=6, referrals=ReferralConfig(
            avoidable_base_bp=base, avoidable_slope_bp=0, avoidable_spread_bp=0))
        _, truth, _ = _run(config)
        counts.append(_avoidable(truth))
        necessary.add(sum(1 for e in truth if e["type"] == "truth.referral"
                          and not e["data"]["avoidable"]))
    assert counts == sorted(counts) and counts[0] == 0 and counts[-1] > 4 * counts[1] > 0, counts
    assert len(set(counts)) == len(counts), counts
    assert len(necessary) == 1


def test_leakage_rises_with_the_hybrid_percentage_of_the_practices_program():
    """CPC+ Track 2 practices refer more avoidable services out when 65 % of their FFS is
    withheld than at 0 % (propensity = 10 % + 50 % x h); FFS practices do not change."""
    by_hybrid = {}
    for hybrid in (0, 4000, 6500):
        programs = {k: ProgramSettings(kind=k) for k in ProgramKind}
        programs[ProgramKind.CPCP_T2] = ProgramSettings(kind=ProgramKind.CPCP_T2, hybrid_bp=hybrid)
        config = SimConfig(
            seed=14, members=2500, months=6,
            region=RegionConfig(programs=programs),
            referrals=ReferralConfig(avoidable_base_bp=1000, avoidable_slope_bp=5000,
                                     avoidable_spread_bp=0),
        )
        _, truth, _ = _run(config)
        # The default region gives practice PC003 CPC+ Track 2 with every payer, PC001 FFS.
        from_practice = defaultdict(int)
        for e in truth:
            if e["type"] == "truth.referral" and e["data"]["avoidable"]:
                from_practice[e["data"]["from_practice"]] += 1
        by_hybrid[hybrid] = from_practice
    t2 = [by_hybrid[h]["PC003"] for h in (0, 4000, 6500)]
    assert t2[0] < t2[1] < t2[2], t2
    assert by_hybrid[0]["PC001"] == by_hybrid[6500]["PC001"] > 0


def _pcp_visits(inputs, truth):
    """(member, practice billed, member's true PCP) for each original primary-care E&M claim."""
    true_pcp = {e["data"]["member_id"]: e["data"]["true_pcp"] for e in truth
                if e["type"] == "truth.member"}
    out = []
    for e in inputs:
        if e["type"] != "claim.submitted":
            continue
        c = e["data"]["claim"]
        if c["claim_id"].startswith("C") and c["claim_id"][-2] != "-" \
                and c["billing_tin"].startswith("PC") and c["lines"][0]["procedure"].startswith("992"):
            out.append((c["member_id"], c["billing_tin"], true_pcp[c["member_id"]]))
    return out


def test_members_see_other_practices_only_when_their_pcp_is_over_capacity():
    """With no random away visits, a member goes elsewhere only if the PCP's panel is past its
    capacity: every away visit belongs to an over-capacity practice's member, and there are some."""
    stable = EnrollmentConfig(monthly_termination_bp=0, monthly_new_enrollment_bp=0,
                              monthly_pcp_switch_bp=0)
    common = dict(seed=15, members=3000, months=3, enrollment=stable)
    region_cfg = RegionConfig(capacity_bp=(6000, 12_000))
    never = SimConfig(**common, region=region_cfg, utilization=_no_away(at_capacity_away_bp=0))
    full = SimConfig(**common, region=region_cfg, utilization=_no_away(at_capacity_away_bp=5000))
    inputs, truth, _ = _run(never)
    assert all(billed == pcp for _, billed, pcp in _pcp_visits(inputs, truth))

    inputs, truth, _ = _run(full)
    from claimsim.simulator.region import build_region

    capacity = {p.practice_id: p.panel_capacity for p in build_region(full).reference.practices}
    panel = defaultdict(int)
    for e in truth:
        if e["type"] == "truth.member":
            panel[e["data"]["true_pcp"]] += 1
    over = {p for p, n in panel.items() if n > capacity[p]}
    visits = _pcp_visits(inputs, truth)
    away = [(m, pcp) for m, billed, pcp in visits if billed != pcp]
    assert over and away
    assert {pcp for _, pcp in away} <= over
    share_over = len(away) / sum(1 for _, _, pcp in visits if pcp in over)
    assert 0.35 < share_over < 0.65  # at_capacity_away_bp = 50 %

"""Fee schedules: the allowed amount per procedure code, per plan year.

The default is shaped like CMS's national Medicare physician fee schedule (non-facility, 2025
conversion factor $32.35) and clinical laboratory fee schedule for the codes we use; 2026 applies
the published 2026 update (about +3.3 % for the non-APM conversion factor), and 2023 and 2024
(for re-pricing ingested history) scale 2025 by the ratio of those years' conversion factors
($33.8872 for 2023; $33.2875 for 2024, the rate in force from March 2024). They are realistic
shapes, not a copy of CMS's files: a scenario can supply its own.
"""

from __future__ import annotations

from pydantic import Field

from claimsim.events.codes import PROCEDURE_GROUPS
from claimsim.events.money import BasisPoints, Cents, apply_rate
from claimsim.events.plans import Frozen

# Cents, 2025, national non-facility amounts rounded to PFS-like values.
_PFS_2025: dict[str, Cents] = {
    # Office/outpatient E&M
    "99202": 7_289, "99203": 11_407, "99204": 17_028, "99205": 22_476,
    "99211": 2_329, "99212": 5_629, "99213": 9_070, "99214": 12_816, "99215": 18_074,
    # AWV / IPPE
    "G0438": 17_050, "G0439": 13_007, "G0402": 17_033,
    # Preventive medicine (new 99381-99387, established 99391-99397)
    "99381": 11_512, "99382": 12_061, "99383": 12_497, "99384": 13_498, "99385": 13_017,
    "99386": 15_208, "99387": 16_494,
    "99391": 10_434, "99392": 11_134, "99393": 11_070, "99394": 12_033, "99395": 12_500,
    "99396": 13_498, "99397": 14_630,
    # Transitional and chronic care management
    "99495": 20_127, "99496": 27_293, "99490": 6_046, "99491": 8_220, "99487": 13_138,
    "99489": 7_012,
    # Interprofessional e-consults
    "99451": 3_723, "99452": 3_723,
    # Office consultations (specialist E&M)
    "99242": 9_005, "99243": 13_592, "99244": 19_544, "99245": 24_555,
    # Emergency department E&M (professional)
    "99281": 1_256, "99282": 4_011, "99283": 6_792, "99284": 11_676, "99285": 17_115,
    # Imaging (global)
    "71046": 3_139, "73030": 3_366, "73562": 4_106, "70450": 11_005, "72148": 21_784,
    "76700": 11_972, "77067": 13_247,
    # Lab (CLFS) and venipuncture
    "36415": 300, "80053": 1_056, "80061": 1_339, "83036": 971, "84443": 1_680,
    "85025": 777, "81002": 319,
    # Office procedures a PCP can do
    "93000": 1_701, "69210": 5_045, "11102": 10_980, "20610": 6_511, "17110": 11_952,
    "11200": 9_734,
}

# Codes added for facility physician visits, therapy and more lab tests (facility rates for the
# hospital and nursing-facility visits, non-facility for therapy; CLFS for the labs), shaped like
# the same 2025 schedules.
_PFS_2025.update({
    # Hospital inpatient: initial, subsequent, discharge day; inpatient consultations
    "99221": 10_349, "99222": 13_695, "99223": 18_209, "99231": 4_303, "99232": 6_997,
    "99233": 10_478, "99238": 7_004, "99239": 10_015,
    "99252": 7_158, "99253": 10_301, "99254": 14_433,
    # Nursing facility subsequent care
    "99307": 4_553, "99308": 7_100, "99309": 10_019, "99310": 14_670,
    # Physical/occupational therapy: evaluations and timed (15-minute) treatment units
    "97161": 10_264, "97162": 10_264, "97110": 2_928, "97112": 3_365, "97140": 2_684,
    "97530": 3_494,
    # Lab (CLFS): BMP, vitamin D, PSA, PT/INR, creatinine, urine culture
    "80048": 836, "82306": 2_959, "84153": 1_825, "85610": 429, "82570": 530, "87086": 804,
})

# HbA1c codes of the claims-based quality measure (DOMAIN.md §9) that the default schedule lists
# only when a region simulates HbA1c tests (`default_fee_schedule(hba1c=True)`), so default
# regions keep their reference data digest: 83037 (point-of-care, paid at 83036's rate since
# 2008) and the CPT II result codes, which are reporting codes billed and allowed at $0.
HBA1C_2025: dict[str, Cents] = {"83037": 971, "3044F": 0, "3045F": 0, "3046F": 0}

FEE_SCHEDULE_2026_UPDATE_BP: BasisPoints = 10_330  # +3.30 %
# Each year's amounts relative to 2025 (conversion factor ratios, basis points).
FEE_SCHEDULE_YEAR_BP: dict[int, BasisPoints] = {
    2023: 10_476,  # 33.8872 / 32.3465
    2024: 10_291,  # 33.2875 / 32.3465
    2025: 10_000,
    2026: FEE_SCHEDULE_2026_UPDATE_BP,
}
DEFAULT_YEARS: tuple[int, ...] = (2025, 2026)  # what a simulated region is priced with


class FeeSchedule(Frozen):
    fee_schedule_id: str
    amounts: dict[int, dict[str, Cents]] = Field(default_factory=dict)  # year -> code -> cents

    def allowed_for(self, year: int, code: str) -> Cents | None:
        """The schedule amount for one unit, or None if the code is not on it that year."""
        table = self.amounts.get(year)
        if table is None:
            raise KeyError(
                f"fee schedule {self.fee_schedule_id} has no amounts for {year}"
                f" (defined: {sorted(self.amounts)})"
            )
        return table.get(code)


def pfs_amounts(year: int) -> dict[str, Cents]:
    """The default schedule's amounts for one year (KeyError naming the years shipped)."""
    if year not in FEE_SCHEDULE_YEAR_BP:
        raise KeyError(f"the default fee schedule has no amounts for {year}"
                       f" (shipped: {sorted(FEE_SCHEDULE_YEAR_BP)})")
    if year == 2025:
        return dict(_PFS_2025)
    return {c: apply_rate(a, FEE_SCHEDULE_YEAR_BP[year]) for c, a in _PFS_2025.items()}


def default_fee_schedule(years: tuple[int, ...] = DEFAULT_YEARS, *,
                         hba1c: bool = False) -> FeeSchedule:
    """The default schedule; `hba1c` adds `HBA1C_2025`'s codes (scaled by year like the rest)."""
    missing = set(PROCEDURE_GROUPS) - set(_PFS_2025)
    assert not missing, f"default fee schedule lacks {sorted(missing)}"
    amounts = {y: pfs_amounts(y) for y in years}
    if hba1c:
        for y, table in amounts.items():
            table.update({c: apply_rate(a, FEE_SCHEDULE_YEAR_BP[y]) for c, a in HBA1C_2025.items()})
    return FeeSchedule(fee_schedule_id="pfs-national", amounts=amounts)

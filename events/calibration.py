"""Utilization targets a payer would check first, per line of business and age band, with sources.

Reference data, like the fee schedule: the simulator's default visit rates are chosen so a run
meets these targets (`claimsim calibrate SCENARIO` measures a run against them), and a reader can
trace every target to a public figure. Values are in thousandths (14 claims per member-year =
14_000; a share of 80 % = 800), so the table holds integers only. Children's cells have no target
for the rarest services (hospital visits, specialist visits, referrals): a regional sample holds
too few of them for a 10 % check to mean anything.

Each target says how it was obtained: `read` (the figure is printed in the source for that group),
`derived` (arithmetic on printed figures, shown in the note) or `judgement` (no public figure for
that exact group; the note says what anchors it). Age bands are the member's age at the start of
the run: Medicare members are all 65+ in the simulator, Medicaid and commercial members under 65.

Where sources disagree, and what we chose:
- Medicare professional claims per member-year: the DE-SynPUF carrier file (CMS synthetic claims,
  2008-2010; Sample 1 holds 4,741,335 carrier claims for 116,352 / 114,538 / 112,754 beneficiaries)
  gives 13.8 carrier claims per beneficiary-year on *all* beneficiaries, including months in
  Medicare Advantage or without Part B, which have no carrier claims, so per FFS member-year it
  is higher (about 18); but the carrier file also holds ambulance, anesthesia, ASC, radiology and
  pathology reads of hospital services, and supplier claims that the simulator does not model.
  We take 14: the printed ratio, which the two corrections roughly cancel.
- Office visits: MEPS (survey, all office-based providers) and NAMCS (physician offices only)
  disagree by about 1.5x for 65+: we use NAMCS 2018 for physician E&M, because a payer's E&M lines
  come from physicians and NPs billing under them, and MEPS counts therapists, chiropractors and
  others as "office-based visits".
- ED visits: NHAMCS (visits per 100 persons, by age and payer) rather than HCUP NEDS
  (hospital-affiliated EDs only, by payer of the visit, not per enrollee).
- Referrals: Barnett et al. (NAMCS 1999-2009) give 9.3 % of all office visits resulting in a
  referral, needed or discretionary. The simulator's discretionary referrals are the avoidable
  ones the payment model moves (the what-if's subject), so the target is the needed part only:
  about 60 % of the rate (judgement), more for Medicare (sicker).
- Lines per claim and labs/imaging per visit have no printed figure we could verify for these
  groups (the carrier files give up to 13 lines per claim; NAMCS gives order rates, not lines):
  they are judgement, marked so, and the weakest rows of the table.

Choices where DOMAIN.md is silent: the metrics' definitions (below, `Metric`), counted from what a
payer sees: original claims (frequency 1, once per claim id) by service date, member-years from
enrollment; "own PCP" is the simulator's true PCP (a payer would use its attribution).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from claimsim.events.plans import LineOfBusiness


class AgeBand(StrEnum):
    """Age at the start of the run (names usable in TOML keys and `--vary` paths)."""

    UNDER_18 = "under_18"
    ADULT = "18_64"
    SENIOR = "65_plus"


def age_band(age: int) -> AgeBand:
    return AgeBand.UNDER_18 if age < 18 else AgeBand.ADULT if age < 65 else AgeBand.SENIOR


class Metric(StrEnum):
    """What a target measures (per member-year unless it says "per")."""

    CLAIMS = "claims_pmy"  # original professional claims
    PCP_EM = "pcp_office_em_pmy"  # office E&M lines billed by primary-care practices
    SPECIALIST_EM = "specialist_office_em_pmy"  # office E&M/consult lines billed by specialists
    ED = "ed_visits_pmy"  # ED E&M lines
    FACILITY_EM = "facility_visits_pmy"  # hospital inpatient and nursing-facility visit lines
    LAB_PER_VISIT = "lab_lines_per_office_visit"  # lab lines (any biller) / office E&M lines
    IMAGING_PER_VISIT = "imaging_per_office_visit"  # imaging lines / office E&M lines
    OWN_PCP_SHARE = "own_pcp_share_of_pcp_em"  # primary-care E&M lines billed by the member's PCP
    # Necessary referrals to specialists / primary-care E&M lines: the need. Referrals a practice
    # makes by choice (avoidable, moved by its payment model) are the scenario's behaviour.
    REFERRALS = "needed_referrals_per_pcp_visit"
    LINES_PER_CLAIM = "lines_per_claim"


@dataclass(frozen=True, slots=True)
class Source:
    key: str
    citation: str
    year: int  # the data year
    url: str


SOURCES: dict[str, Source] = {s.key: s for s in (
    Source("synpuf", "CMS, 2008-2010 Data Entrepreneurs' Synthetic Public Use File (DE-SynPUF),"
           " record counts of Sample 1: 4,741,335 carrier claims (up to 13 lines each) for"
           " 116,352 / 114,538 / 112,754 beneficiaries in 2008 / 2009 / 2010", 2009,
           "https://www.cms.gov/data-research/statistics-trends-and-reports/"
           "medicare-claims-synthetic-public-use-files"),
    Source("bsa_carrier", "CMS, BSA Carrier Line Items PUF (5 % sample of carrier claim lines,"
           " up to 13 lines per claim, with place of service and BETOS code)", 2010,
           "https://www.cms.gov/data-research/statistics-trends-and-reports/"
           "basic-stand-alone-medicare-claims-public-use-files/bsa-carrier-line-items-puf"),
    Source("namcs2018", "NCHS Data Brief No. 408 (2021), Characteristics of office-based"
           " physician visits, 2018: 267 visits per 100 persons; 153 (ages 1-17), 173 (18-44),"
           " 302 (45-64), 550 (65+); adults get more imaging and labs than children", 2018,
           "https://www.cdc.gov/nchs/products/databriefs/db408.htm"),
    Source("nhamcs2019", "NCHS Data Brief No. 434 (2022), Emergency department"
           " visit rates by selected characteristics, 2019: 47 visits per 100 people, 66 for 75+;"
           " highest for Medicaid/CHIP, lowest for private insurance", 2019,
           "https://www.cdc.gov/nchs/products/databriefs/db434.htm"),
    Source("barnett2012", "Barnett ML, Song Z, Landon BE. Trends in physician referrals in the"
           " United States, 1999-2009. Arch Intern Med 2012;172(2):163-170: 9.3 % of visits"
           " resulted in a referral in 2009", 2009,
           "https://jamanetwork.com/journals/jamainternalmedicine/fullarticle/1108703"),
    Source("pham2007", "Pham HH, Schrag D, O'Malley AS, Wu B, Bach PB. Care patterns in Medicare"
           " and their implications for pay for performance. NEJM 2007;356:1130-1139:"
           " beneficiaries saw a median of 2 primary care physicians a year", 2005,
           "https://www.nejm.org/doi/full/10.1056/NEJMsa063979"),
    Source("medpac2023", "MedPAC, Health Care Spending and the Medicare Program (data book,"
           " July 2023): FFS inpatient stays about 250 per 1,000 beneficiaries; SNF and"
           " physician-service use per beneficiary", 2021,
           "https://www.medpac.gov/document/july-2023-data-book/"),
    Source("meps2021", "AHRQ, Medical Expenditure Panel Survey household component summary"
           " tables: office-based visits per person by age and insurance (public-only under 65"
           " above private; children about 3, privately insured adults about 4)", 2021,
           "https://meps.ahrq.gov/mepstrends/hc_use/"),
    Source("hcci2021", "Health Care Cost Institute, 2021 Health Care Cost and Utilization Report"
           " (2023): commercial (ESI, under 65) professional-service use per 1,000 and primary"
           " care office visits per 1,000", 2021,
           "https://healthcostinstitute.org/health-care-cost-and-utilization-report/"),
)}


@dataclass(frozen=True, slots=True)
class Target:
    lob: LineOfBusiness
    band: AgeBand
    metric: Metric
    milli: int  # the target x 1000
    sources: tuple[str, ...]
    basis: str  # read | derived | judgement
    note: str

    @property
    def value(self) -> float:
        return self.milli / 1000


# The cells the simulator populates: Medicare members are 65+, the others under 65.
CELLS: tuple[tuple[LineOfBusiness, AgeBand], ...] = (
    (LineOfBusiness.MEDICARE_FFS, AgeBand.SENIOR),
    (LineOfBusiness.MEDICARE_ADVANTAGE, AgeBand.SENIOR),
    (LineOfBusiness.MEDICAID, AgeBand.UNDER_18),
    (LineOfBusiness.MEDICAID, AgeBand.ADULT),
    (LineOfBusiness.COMMERCIAL, AgeBand.UNDER_18),
    (LineOfBusiness.COMMERCIAL, AgeBand.ADULT),
)

# Per metric: (values per cell in CELLS order, in thousandths; sources; basis; note).
# None: no target for that cell.
_ROWS: dict[Metric, tuple[tuple[int | None, ...], tuple[str, ...], str, str]] = {
    Metric.CLAIMS: (
        (14_000, 12_600, 3_600, 7_000, 3_200, 5_500), ("synpuf", "meps2021", "hcci2021"),
        "derived",
        "Medicare FFS: DE-SynPUF Sample 1 carrier claims / beneficiary-years = 13.8 (see the"
        " module docstring); MA 10 % below FFS (MedPAC: lower use in MA). Under 65: office"
        " visits (MEPS) x about 1.4 claims per visit for labs, imaging and services billed apart"),
    Metric.PCP_EM: (
        (2_500, 2_600, 1_500, 2_100, 1_400, 1_600), ("namcs2018", "hcci2021"), "derived",
        "NAMCS 2018 office visits per person x the share to primary care (about 45 % at 65+,"
        " 55-60 % for adults, 90 % of children's visits to pediatrics/family medicine);"
        " Medicaid adults higher, commercial adults from HCCI's primary-care visits per 1,000"),
    Metric.SPECIALIST_EM: (
        (3_000, 2_700, None, 1_300, None, 1_100), ("namcs2018",), "derived",
        "NAMCS 2018 office visits per person minus the primary-care share (65+: 5.5 x 55 %)."
        " No target for children (about 0.3 a year): specialists see them mostly on referral,"
        " which the payment model moves, and a regional sample holds a few hundred such lines"),
    Metric.ED: (
        (600, 550, 550, 950, 250, 230), ("nhamcs2019",), "read",
        "NHAMCS 2019 visits per 100 by age and payer: 65+ about 55-66 (FFS sicker than MA);"
        " Medicaid/CHIP highest (adults about 95, children about 55); private lowest (about 25)"),
    Metric.FACILITY_EM: (
        (2_000, 1_600, None, 500, None, 300), ("medpac2023",), "derived",
        "FFS stays about 250 per 1,000 x about 4 physician visit lines per stay (admission,"
        " daily visits, discharge; consults) plus nursing-facility visits (about 1 per"
        " member-year); MA 20 % fewer stays; adults under 65 from stay rates of 70-110 per"
        " 1,000. No target for children: under 100 stays a year in a 20,000-member region"),
    Metric.LAB_PER_VISIT: (
        (1_000, 1_000, 300, 700, 300, 700), ("namcs2018", "bsa_carrier"), "judgement",
        "NAMCS: blood tests at about 30-40 % of adult visits, fewer for children; a draw is the"
        " venipuncture line plus a panel of 1-4 tests; independent-lab claims for chronic"
        " monitoring add more for Medicare (BETOS tests are the largest carrier line group)"),
    Metric.IMAGING_PER_VISIT: (
        (200, 180, 60, 150, 60, 140), ("namcs2018",), "judgement",
        "NAMCS: imaging ordered or provided at 10-20 % of adult visits, a few % for children"),
    Metric.OWN_PCP_SHARE: (
        (800, 850, 750, 720, 800, 780), ("pham2007",), "judgement",
        "Pham 2007: Medicare beneficiaries see a median of 2 primary care physicians a year;"
        " their usual practice gives most but not all primary-care visits; MA HMOs steer more;"
        " Medicaid adults churn between clinics most"),
    Metric.REFERRALS: (
        (75, 75, None, 55, None, 55), ("barnett2012",), "judgement",
        "9.3 % of visits referred (2009), of which we take about 60 % as needed (the rest"
        " discretionary: the simulator's avoidable referrals, which the payment model moves);"
        " 65+ higher (sicker; MA as FFS: HMO rules cut self-referral, not PCP referrals)."
        " No target for children: too few referrals in a regional sample"),
    Metric.LINES_PER_CLAIM: (
        (1_800, 1_800, 1_300, 1_600, 1_300, 1_600), ("synpuf", "bsa_carrier"), "judgement",
        "Carrier claims hold up to 13 lines; E&M claims mostly one line, lab and therapy claims"
        " several: about 2 per claim for Medicare, fewer for younger members with fewer panels"),
}

TARGETS: tuple[Target, ...] = tuple(
    Target(lob, band, metric, values[i], sources, basis, note)
    for metric, (values, sources, basis, note) in _ROWS.items()
    for i, (lob, band) in enumerate(CELLS) if values[i] is not None
)


def target(lob: LineOfBusiness, band: AgeBand, metric: Metric) -> Target:
    for t in TARGETS:
        if (t.lob, t.band, t.metric) == (lob, band, metric):
            return t
    raise KeyError(f"no calibration target for {lob.value} {band.value} {metric.value}")

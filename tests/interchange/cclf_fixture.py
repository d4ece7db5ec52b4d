"""A small CCLF5 + CCLF8 pair, written field by field at the positions of the CCLF Information
Packet's record layouts (the table below is typed from the packet, independently of the reader's
own layout, so a misplaced field in either shows up as a failing test).

Beneficiaries: B1 (QMB no, born 1950), B2 (born 1948), and bad records. Claims (Medicare FFS,
service year 2024, received on CLM_EFCTV_DT):
- chain CN1: 1001 original (99214 + 36415, 2024-02-06, processed 02-20) at TIN 123456789 by a
  family physician; 1002 cancels it and 1003 adjusts it to 99213 + 36415, both processed 03-10.
- 3001: 99245 at a cardiology TIN 987654321 for B1 (2024-03-15, processed 03-29).
- chain CN2: 2001 AWV G0438 for B2 by a nurse practitioner (04-02, processed 04-16); 2002
  cancels it on 05-01.
- bad records: an adjustment with no original (4002), a DMEPOS line (type 72), an adjustment
  type 5, a record cut short, a blank MBI, an unknown beneficiary.
"""

from __future__ import annotations

from pathlib import Path

# (field, 1-based start, length), from the CCLF Information Packet.
CCLF5_LAYOUT = {
    "CUR_CLM_UNIQ_ID": (1, 13), "CLM_LINE_NUM": (14, 10), "BENE_MBI_ID": (24, 11),
    "BENE_HIC_NUM": (35, 11), "CLM_TYPE_CD": (46, 2), "CLM_FROM_DT": (48, 10),
    "CLM_THRU_DT": (58, 10), "RNDRG_PRVDR_TYPE_CD": (68, 3), "RNDRG_PRVDR_FIPS_ST_CD": (71, 2),
    "CLM_PRVDR_SPCLTY_CD": (73, 2), "CLM_FED_TYPE_SRVC_CD": (75, 1), "CLM_POS_CD": (76, 2),
    "CLM_LINE_FROM_DT": (78, 10), "CLM_LINE_THRU_DT": (88, 10), "CLM_LINE_HCPCS_CD": (98, 5),
    "CLM_LINE_CVRD_PD_AMT": (103, 15), "CLM_LINE_PRMRY_PYR_CD": (118, 1),
    "CLM_LINE_DGNS_CD": (119, 7), "CLM_RNDRG_PRVDR_TAX_NUM": (126, 10),
    "RNDRG_PRVDR_NPI_NUM": (136, 10), "CLM_CARR_PMT_DNL_CD": (146, 2),
    "CLM_PRCSG_IND_CD": (148, 2), "CLM_ADJSMT_TYPE_CD": (150, 2), "CLM_EFCTV_DT": (152, 10),
    "CLM_IDR_LD_DT": (162, 10), "CLM_CNTL_NUM": (172, 40), "BENE_EQTBL_BIC_HICN_NUM": (212, 11),
    "CLM_LINE_ALOWD_CHRG_AMT": (223, 17), "CLM_LINE_SRVC_UNIT_QTY": (240, 24),
    "HCPCS_1_MDFR_CD": (264, 2), "CLM_DISP_CD": (274, 2), "CLM_DGNS_1_CD": (276, 7),
    "CLM_DGNS_2_CD": (283, 7), "DGNS_PRCDR_ICD_IND": (332, 1), "HCPCS_BETOS_CD": (361, 3),
}
CCLF5_RECORD = 363
CCLF8_LAYOUT = {
    "BENE_MBI_ID": (1, 11), "BENE_HIC_NUM": (12, 11), "BENE_FIPS_STATE_CD": (23, 2),
    "BENE_FIPS_CNTY_CD": (25, 3), "BENE_ZIP_CD": (28, 5), "BENE_DOB": (33, 10),
    "BENE_SEX_CD": (43, 1), "BENE_RACE_CD": (44, 1), "BENE_AGE": (45, 3),
    "BENE_MDCR_STUS_CD": (48, 2), "BENE_DUAL_STUS_CD": (50, 2), "BENE_DEATH_DT": (52, 10),
    "BENE_RNG_BGN_DT": (62, 10), "BENE_RNG_END_DT": (72, 10), "BENE_1ST_NAME": (82, 30),
    "BENE_LAST_NAME": (127, 40), "BENE_PART_A_ENRLMT_BGN_DT": (169, 10),
    "BENE_PART_B_ENRLMT_BGN_DT": (179, 10),
}
CCLF8_RECORD = 549

FAMILY_TIN, CARDIOLOGY_TIN = "123456789", "987654321"
FAMILY_NPI, NP_NPI, CARDIOLOGY_NPI = "1111111111", "1111111112", "2222222222"


def record(layout: dict[str, tuple[int, int]], length: int, **values: str) -> str:
    """A fixed-width record: each value left-justified in its field, blanks elsewhere."""
    out = [" "] * length
    for name, value in values.items():
        start, width = layout[name]
        assert len(value) <= width, (name, value)
        out[start - 1:start - 1 + width] = value.ljust(width)
    return "".join(out)


def _line(claim: str, line: int, mbi: str, code: str, day: str, processed: str, tin: str,
          npi: str, specialty: str, allowed: str, paid: str, *, adjustment: str = "0",
          chain: str = "", claim_type: str = "71", dx: str = "I10") -> str:
    return record(
        CCLF5_LAYOUT, CCLF5_RECORD, CUR_CLM_UNIQ_ID=claim, CLM_LINE_NUM=str(line),
        BENE_MBI_ID=mbi, CLM_TYPE_CD=claim_type, CLM_FROM_DT=day, CLM_THRU_DT=day,
        CLM_PRVDR_SPCLTY_CD=specialty, CLM_POS_CD="11", CLM_LINE_FROM_DT=day, CLM_LINE_THRU_DT=day,
        CLM_LINE_HCPCS_CD=code, CLM_LINE_CVRD_PD_AMT=paid.rjust(15), CLM_LINE_DGNS_CD=dx,
        CLM_RNDRG_PRVDR_TAX_NUM=tin, RNDRG_PRVDR_NPI_NUM=npi, CLM_ADJSMT_TYPE_CD=adjustment,
        CLM_EFCTV_DT=processed, CLM_IDR_LD_DT=processed, CLM_CNTL_NUM=chain or f"CN{claim}",
        CLM_LINE_ALOWD_CHRG_AMT=allowed.rjust(17), CLM_LINE_SRVC_UNIT_QTY="1.0000".rjust(24),
        CLM_DGNS_1_CD=dx, DGNS_PRCDR_ICD_IND="0")


def cclf5_records() -> list[str]:
    fam = dict(tin=FAMILY_TIN, npi=FAMILY_NPI, specialty="08")
    return [
        _line("1001", 1, "B1", "99214", "2024-02-06", "2024-02-20", **fam, allowed="131.89",
              paid="0.00", chain="CN1", dx="E119"),
        _line("1001", 2, "B1", "36415", "2024-02-06", "2024-02-20", **fam, allowed="3.09",
              paid="0.00", chain="CN1"),
        _line("1002", 1, "B1", "99214", "2024-02-06", "2024-03-10", **fam, allowed="-131.89",
              paid="-0.00", chain="CN1", adjustment="1"),
        _line("1002", 2, "B1", "36415", "2024-02-06", "2024-03-10", **fam, allowed="-3.09",
              paid="-0.00", chain="CN1", adjustment="1"),
        _line("1003", 1, "B1", "99213", "2024-02-06", "2024-03-10", **fam, allowed="93.34",
              paid="0.00", chain="CN1", adjustment="2"),
        _line("1003", 2, "B1", "36415", "2024-02-06", "2024-03-10", **fam, allowed="3.09",
              paid="0.00", chain="CN1", adjustment="2"),
        _line("3001", 1, "B1", "99245", "2024-03-15", "2024-03-29", tin=CARDIOLOGY_TIN,
              npi=CARDIOLOGY_NPI, specialty="06", allowed="252.70", paid="87.30", dx="I509"),
        _line("2001", 1, "B2", "G0438", "2024-04-02", "2024-04-16", tin=FAMILY_TIN, npi=NP_NPI,
              specialty="50", allowed="175.46", paid="175.46", chain="CN2", dx="Z0000"),
        _line("2002", 1, "B2", "G0438", "2024-04-02", "2024-05-01", tin=FAMILY_TIN, npi=NP_NPI,
              specialty="50", allowed="-175.46", paid="-175.46", chain="CN2", adjustment="1",
              dx="Z0000"),
        # bad records, in order: orphan adjustment (rejected after grouping), DMEPOS,
        # adjustment type 5, cut short, blank MBI, unknown beneficiary
        _line("4002", 1, "B1", "99213", "2024-05-06", "2024-05-20", **fam, allowed="93.34",
              paid="74.67", chain="CN4", adjustment="2"),
        _line("5001", 1, "B1", "E0601", "2024-05-06", "2024-05-20", **fam, allowed="50.00",
              paid="40.00", claim_type="72"),
        _line("5002", 1, "B1", "99213", "2024-05-06", "2024-05-20", **fam, allowed="93.34",
              paid="74.67", adjustment="5"),
        _line("5003", 1, "B1", "99213", "2024-05-06", "2024-05-20", **fam, allowed="93.34",
              paid="74.67")[:200],
        _line("5004", 1, "", "99213", "2024-05-06", "2024-05-20", **fam, allowed="93.34",
              paid="74.67"),
        _line("5005", 1, "B9", "99213", "2024-05-06", "2024-05-20", **fam, allowed="93.34",
              paid="74.67"),
    ]


def cclf8_records() -> list[str]:
    def bene(mbi: str, dob: str, sex: str, **kw: str) -> str:
        return record(CCLF8_LAYOUT, CCLF8_RECORD, BENE_MBI_ID=mbi, BENE_DOB=dob, BENE_SEX_CD=sex,
                      BENE_RNG_BGN_DT=kw.pop("start", "2024-01-01"),
                      BENE_RNG_END_DT=kw.pop("end", "2024-12-31"),
                      BENE_PART_B_ENRLMT_BGN_DT="2015-01-01", BENE_1ST_NAME="TEST", **kw)
    return [
        bene("B1", "1950-03-01", "2"),
        bene("B2", "1948-06-15", "1", BENE_DUAL_STUS_CD="NA"),
        bene("B7", "1950-03-01", "7"),  # bad sex code
        bene("B8", "1950-03-01", "1")[:60],  # cut short
    ]


def write(directory: Path) -> tuple[Path, Path]:
    cclf5, cclf8 = directory / "CCLF5.txt", directory / "CCLF8.txt"
    cclf5.write_text("\n".join(cclf5_records()) + "\n")
    cclf8.write_text("\n".join(cclf8_records()) + "\n")
    return cclf5, cclf8

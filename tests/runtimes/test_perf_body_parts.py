"""`benchmarks.perf_body` gives each perf sample of the adjudication loop to the part it falls in:
a sample is read from `perf script`'s text (outermost frame last there), and the innermost part
named on its stack wins inside the core."""

from claimsim.benchmarks.perf_body import part_of, stacks, table

# Two samples as `perf script` prints them: a header line, then one frame a line, innermost first.
SCRIPT = """\
python 123 1.000: 2002002 cpu-clock:ppp:
\t    7f0000000001 _PyObject_Malloc+0x21 (/lib/libpython3.11.so)
\t    7f0000000002 CPyDict_Build+0x10 (/x/native__mypyc.so)
\t    7f0000000003 CPyDef_line_results___line_result+0x55 (/x/native__mypyc.so)
\t    7f0000000004 CPyDef_claims____adjudicate_lines+0x99 (/x/native__mypyc.so)
\t    7f0000000005 CPyDef_claims___adjudicate_claim+0x12 (/x/native__mypyc.so)
\t    7f0000000006 CPyDef_core___adjudicate+0x40 (/x/native__mypyc.so)
\t    7f0000000007 _PyEval_EvalFrameDefault+0x777 (/lib/libpython3.11.so)

python 123 1.002: 2002002 cpu-clock:ppp:
\t    7f0000000011 SHA256_Update+0x1 (/lib/libcrypto.so.3)
\t    7f0000000012 EVP_update+0x8 (/lib/libpython3.11.so)
\t    7f0000000013 gen_iternext+0x33 (/lib/libpython3.11.so)
\t    7f0000000014 _PyEval_EvalFrameDefault+0x777 (/lib/libpython3.11.so)
"""


def test_samples_are_read_outermost_frame_first_without_offsets():
    first, second = list(stacks(SCRIPT.splitlines()))
    assert first[0] == "_PyEval_EvalFrameDefault"
    assert first[-1] == "_PyObject_Malloc"
    assert second == ["_PyEval_EvalFrameDefault", "gen_iternext", "EVP_update", "SHA256_Update"]


def test_a_line_result_inside_the_line_pass_counts_as_line_results():
    first, _ = stacks(SCRIPT.splitlines())
    assert part_of(first) == ("engine", "line results and adjustments (line_results)")


def test_hashing_inside_the_reader_generator_is_the_input_check_not_the_ledger():
    _, second = stacks(SCRIPT.splitlines())
    assert part_of(second) == ("input read and check", "sha256 of each line")
    assert part_of(["_PyEval_EvalFrameDefault", "EVP_update", "SHA256_Update"]) == (
        "ledger", "sha256 of each entry")


def test_table_gives_each_part_then_its_details_as_shares_of_all_samples():
    samples = list(stacks(SCRIPT.splitlines())) + [["_PyEval_EvalFrameDefault", "list_dealloc"]] * 2
    assert table(samples) == [
        ("runtime's Python (glue)", "", 0.5),
        ("runtime's Python (glue)", "freeing inputs and answers", 0.5),
        ("engine", "", 0.25),
        ("engine", "line results and adjustments (line_results)", 0.25),
        ("input read and check", "", 0.25),
        ("input read and check", "sha256 of each line", 0.25),
    ]

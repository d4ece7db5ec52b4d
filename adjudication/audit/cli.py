"""`claimsim attribute RUN_DIR [--as-of DATE] [--out FILE]` and `claimsim audit {verify,replay,
explain,as-of,diff}`: read-only views of a run directory rebuilt from its logs (DESIGN.md "CLI").

Read-only means it: none of these commands writes into the run directory; a file is written only
where `--out` names one.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from claimsim.events.errors import UserError
from claimsim.events.money import dollars


def register(sub: argparse._SubParsersAction) -> None:
    a = sub.add_parser("attribute", help="attribute a run's members as of a date: the per-practice"
                                         " summary, and the per-member list to --out")
    a.add_argument("run_dir", metavar="RUN_DIR")
    a.add_argument("--as-of", metavar="YYYY-MM-DD",
                   help="attribution date: what the payer had decided by then in the run clock's"
                        " terms (default: the run's last paid boundary, else its last date)")
    a.add_argument("--out", metavar="FILE", type=Path,
                   help="write the per-member list (payer_id,practice_id,member_id,basis) to FILE")
    a.set_defaults(func=_damage_named(cmd_attribute))

    p = sub.add_parser("audit", help="verify, replay, explain, rebuild as of, or diff runs")
    audit = p.add_subparsers(dest="audit_command", required=True,
                             metavar="{verify,replay,explain,as-of,diff,keygen}")
    v = audit.add_parser("verify", help="every log's chain and the projection checkpoint")
    v.add_argument("run_dir", metavar="RUN_DIR")
    v.add_argument("--public-key", metavar="FILE", default=None,
                   help="check the ledger's signed heads against this Ed25519 public key")
    v.set_defaults(func=_damage_named(cmd_verify))
    k = audit.add_parser("keygen", help="make an Ed25519 key pair for signing ledgers")
    k.add_argument("prefix", metavar="PREFIX", help="writes PREFIX.key (private, 0600) and PREFIX.pub")
    k.set_defaults(func=_damage_named(cmd_keygen))
    r = audit.add_parser("replay", help="rebuild everything from seq 0 and compare with the ledger")
    r.add_argument("run_dir", metavar="RUN_DIR")
    r.set_defaults(func=_damage_named(cmd_replay))
    e = audit.add_parser("explain", help="explain a claim or a practice's monthly payment")
    explain = e.add_subparsers(dest="explain_command", required=True, metavar="{claim,payment,member}")
    c = explain.add_parser("claim", help="every event that touched a claim, each line's arithmetic")
    c.add_argument("run_dir", metavar="RUN_DIR")
    c.add_argument("claim_id", metavar="ID")
    c.set_defaults(func=_damage_named(cmd_explain_claim))
    m = explain.add_parser("payment", help="how a practice's net for a month was made")
    m.add_argument("run_dir", metavar="RUN_DIR")
    m.add_argument("practice", metavar="PRACTICE")
    m.add_argument("month", metavar="YYYY-MM")
    m.set_defaults(func=_damage_named(cmd_explain_payment))
    w = explain.add_parser("member", help="why a member is attributed where they are: visits, pre-steps, tie-break")
    w.add_argument("run_dir", metavar="RUN_DIR")
    w.add_argument("member_id", metavar="MEMBER")
    w.add_argument("--as-of", metavar="YYYY-MM-DD",
                   help="the date the rules are applied on (default: the run's last boundary)")
    w.set_defaults(func=_damage_named(cmd_explain_member))
    s = audit.add_parser("as-of", help="the monthly snapshots rebuilt as of a ledger seq or a date")
    s.add_argument("run_dir", metavar="RUN_DIR")
    s.add_argument("position", metavar="SEQ|DATE",
                   help="a ledger seq, or a date: the run clock's position on it (inputs received"
                        " before it, epoch facts of boundaries on or before it)")
    s.add_argument("--out", metavar="FILE", type=Path, help="write the snapshots to FILE (CSV)")
    s.set_defaults(func=_damage_named(cmd_as_of))
    d = audit.add_parser("diff", help="where two runs' ledgers diverge and which snapshots differ")
    d.add_argument("run_a", metavar="RUN_A")
    d.add_argument("run_b", metavar="RUN_B")
    d.add_argument("--lines", action="store_true",
                   help="compare the runs' final-action line results claim by claim and line by"
                        " line instead (e.g. a run and its Tuva round trip); claims with reversal"
                        " history are counted apart")
    d.add_argument("--out", metavar="FILE", type=Path,
                   help="with --lines: every differing field to FILE (CSV)")
    d.set_defaults(func=_damage_named(cmd_diff))


def _damage_named(command):
    """`command`, with a log line that is not JSON met on the way made a one-line error (the
    checks that look for damage, `audit verify` and `log verify`, name its seq)."""
    import functools

    @functools.wraps(command)
    def guarded(args: argparse.Namespace) -> int:
        import orjson

        try:
            return command(args)
        except orjson.JSONDecodeError as e:
            raise UserError(f"a log line of the run is not JSON ({e}); `claimsim audit verify`"
                            " names the damage") from None
    return guarded


def _date(value: str, what: str) -> str:
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise UserError(f"{what} {value!r}: not a YYYY-MM-DD date") from None


def cmd_attribute(args: argparse.Namespace) -> int:
    from claimsim.adjudication.projections.epochs import CLOCK_FILE, Plan
    from claimsim.adjudication.audit.as_of import ledger_position
    from claimsim.adjudication.audit.run_dir import fold, require_run
    from claimsim.adjudication.audit.tables import (accuracy_rows, attribution_runs,
                                                    iter_attribution_rows, table, true_pcps,
                                                    write_csv)

    from claimsim.adjudication.audit.positions import LedgerSpan


    run_dir = require_run(args.run_dir)
    # Before the ledger's first date nothing is known; after its last, the lists stand (a run
    # adjudicated part way says so below, the default date's as an asked one: its later claims
    # are not in them).
    span = LedgerSpan.of(run_dir)
    if args.as_of is not None:
        as_of = span.check_not_before(_date(args.as_of, "--as-of"), "--as-of")
    elif (run_dir / CLOCK_FILE).exists():
        plan = Plan.load(run_dir)
        paid = [b for b in plan.boundaries if b < plan.service_end]
        as_of = paid[-1] if paid else plan.boundaries[-1]
    else:
        as_of = span.last_at
    # The run clock's position on the date: what the payer had decided by then.
    state = fold(run_dir, until_seq=ledger_position(run_dir, as_of))
    # Each payer's practice lists, kept as Attribution records; their rows are made one at a time.
    runs = attribution_runs(state, as_of)
    counts: dict[tuple[str, str], dict[str, int]] = {}
    attributed: dict[str, str] = {}  # member -> practice (a later payer's run wins, as in the list)
    n_rows = 0
    for r in iter_attribution_rows(runs):
        c = counts.setdefault((r["payer_id"], r["practice_id"]), {"members": 0})
        c["members"] += 1
        c[r["basis"]] = c.get(r["basis"], 0) + 1
        attributed[r["member_id"]] = r["practice_id"]
        n_rows += 1
    bases = ["voluntary", "awv", "ccm", "plurality"]
    summary = [{"payer_id": p, "practice_id": pr, "members": c["members"],
                **{b: c.get(b, 0) for b in bases}} for (p, pr), c in sorted(counts.items())]
    print(f"attribution as of {as_of}")
    print(table(summary, ["payer_id", "practice_id", "members", *bases], set()))
    accuracy = accuracy_rows(state, true_pcps(run_dir, as_of), as_of, attributed)
    if any(r["members"] for r in accuracy):
        print("accuracy (simulator truth): " + ", ".join(
            f"{r['payer_id']} {r['true_pcp']:,}/{r['members']:,} ({r['accuracy_bp'] / 100:.1f} %)"
            for r in accuracy))
    if as_of > span.last_at:
        _note_unadjudicated(run_dir, span.last_at)
    if args.out is not None:
        columns = ["payer_id", "practice_id", "member_id", "basis"]
        path = write_csv(args.out, iter_attribution_rows(runs), columns=columns, only_columns=True)
        print(f"wrote {path} ({n_rows:,} members)")
    else:
        print(f"{n_rows:,} members attributed (--out FILE writes the list)")
    return 0


def _note_unadjudicated(run_dir: Path, ledger_end: str) -> None:
    """Say so when a date past the ledger's end meets a run adjudicated part way: the lists are
    the payer's as of its last entry, without the inputs after it (one more pass of the ledger,
    only then)."""
    from claimsim.events.ignored import answered_inputs
    from claimsim.events.log import last_envelope

    last_input = last_envelope(run_dir / "input")
    answered = answered_inputs(run_dir / "ledger")[1]
    if last_input is not None and answered < last_input["seq"]:
        print(f"note: the run is adjudicated through input seq {answered:,} of"
              f" 0..{last_input['seq']:,} (its ledger ends on {ledger_end}): these lists are the"
              " payer's as of then, without the inputs after it")


def cmd_verify(args: argparse.Namespace) -> int:
    from claimsim.adjudication.audit.verify import verify_run

    from claimsim.adjudication.audit.completeness import ONLY_REPLAY

    checks = verify_run(args.run_dir, args.public_key)
    for c in checks:
        print(f"{'OK  ' if c.ok else 'FAIL'} {c.name}: {c.message}")
    print(f"note: {ONLY_REPLAY}")
    return 0 if all(c.ok for c in checks) else 1


def cmd_keygen(args: argparse.Namespace) -> int:
    from claimsim.events.signing import generate_keypair

    private, public, key_id = generate_keypair(args.prefix)
    print(f"key {key_id}: private key {private} (keep it secret; `--signing-key {private}` signs"
          f" a run), public key {public} (give it to auditors: `audit verify --public-key`)")
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from claimsim.adjudication.audit.replay import replay
    from claimsim.adjudication.audit.run_dir import require_run
    from claimsim.events.log_verify import verify

    run_dir = require_run(args.run_dir)
    chain = verify(run_dir / "ledger")  # the replay reads a whole chain; a broken one stops it
    if not chain.ok:
        print(f"{run_dir}: replay not run: ledger/ broken at seq {chain.seq}:"
              f" {chain.problem.value}: {chain.message} ({chain.location})", file=sys.stderr)
        return 1
    if chain.count == 0:
        print(f"{run_dir}: replay not run: the ledger holds no entries", file=sys.stderr)
        return 1
    total = chain.count
    with tqdm(total=total, unit="event", file=sys.stderr, disable=not sys.stderr.isatty(),
              mininterval=0.5) as bar:
        def phase(what: str, of: int) -> None:  # a large run's passes, then its fold
            bar.set_description(what)
            bar.unit = "event" if what.startswith(("folding", "replaying")) else "input"
            bar.reset(total=of or None)

        result = replay(run_dir, on_event=lambda env: bar.update(1), on_phase=phase,
                        on_inputs=bar.update)
    if not result.ok:
        print(f"{run_dir}: replay differs: {result.difference}", file=sys.stderr)
        return 1
    from claimsim.adjudication.audit.completeness import completeness, scan

    whole = completeness(run_dir, scan(run_dir))
    if not whole.ok:
        print(f"{run_dir}: replay reproduces the {result.events:,} ledger entries written, but the run"
              f" is incomplete: {whole.message.removeprefix('INCOMPLETE: ')}")
        return 1
    print(f"{run_dir}: replay from seq 0 reproduces all {result.events:,} ledger entries")
    return 0


def cmd_explain_claim(args: argparse.Namespace) -> int:
    from claimsim.adjudication.audit.explain import explain_claim

    print("\n".join(explain_claim(args.run_dir, args.claim_id)))
    return 0


def cmd_explain_payment(args: argparse.Namespace) -> int:
    from claimsim.adjudication.audit.explain import explain_payment

    if len(args.month) != 7 or args.month[4] != "-":
        raise UserError(f"MONTH {args.month!r}: expected YYYY-MM")
    _date(args.month + "-01", "MONTH")
    from claimsim.adjudication.audit.positions import LedgerSpan
    from claimsim.adjudication.audit.replay import require_run

    LedgerSpan.of(require_run(args.run_dir)).check_month(args.month)
    print("\n".join(explain_payment(args.run_dir, args.practice, args.month)))
    return 0


def cmd_explain_member(args: argparse.Namespace) -> int:
    from claimsim.adjudication.audit.explain import explain_member

    as_of = _date(args.as_of, "--as-of") if args.as_of else None
    print("\n".join(explain_member(args.run_dir, args.member_id, as_of)))
    return 0


def cmd_as_of(args: argparse.Namespace) -> int:
    from claimsim.adjudication.audit.as_of import ledger_position
    from claimsim.adjudication.audit.run_dir import fold, require_run
    from claimsim.adjudication.audit.tables import snapshot_rows, table, write_csv

    from claimsim.adjudication.audit.positions import LedgerSpan

    run_dir = require_run(args.run_dir)
    span = LedgerSpan.of(run_dir)
    position = args.position
    digits = position[1:] if position.startswith("-") else position
    if digits.isascii() and digits.isdecimal():  # a seq (ASCII digits only; a negative is named)
        state = fold(run_dir, until_seq=span.check_seq(int(position)))
    else:
        day = span.check_date(_date(args.position, "SEQ|DATE"))
        state = fold(run_dir, until_seq=ledger_position(run_dir, day))
    rows = snapshot_rows(state)
    by_month: dict[str, dict[str, int]] = {}
    names = ["member_months", "prospective_total", "prospective_adjustments",
             "ffs_paid_by_service_date", "capitation_offsets", "net"]
    for r in rows:
        agg = by_month.setdefault(r["month"], dict.fromkeys(names, 0))
        for n in names:
            agg[n] += r[n]
    print(f"{run_dir} as of ledger seq {state.last_seq:,} ({state.last_at})")
    print(table([{"month": m, **v} for m, v in sorted(by_month.items())],
                ["month", *names], set(names) - {"member_months"}))
    note = f"{len(rows):,} payer x practice x month snapshots; net {dollars(sum(r['net'] for r in rows))}"
    if args.out is not None:
        path = write_csv(args.out, rows, columns=["payer_id", "practice_id", "month"])
        print(f"wrote {path} ({note})")
    else:
        print(f"{note} (--out FILE writes them)")
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    from claimsim.adjudication.audit.diff import ledger_diff

    if args.lines:
        return _diff_lines(args)
    if args.out is not None:
        raise UserError("--out: only with --lines")
    lines = ledger_diff(args.run_a, args.run_b)
    print("\n".join(lines))
    return 0 if lines[0] == "ledgers identical" else 1


def _diff_lines(args: argparse.Namespace) -> int:
    from claimsim.adjudication.audit.line_diff import compare_lines, write_differences
    from claimsim.adjudication.audit.run_dir import require_run

    a, b = require_run(args.run_a), require_run(args.run_b)
    diff = compare_lines(a, b)
    width = max(len(k) for k, _ in diff.rows())
    print("\n".join(f"{k:<{width}}  {v}" for k, v in diff.rows()))
    if args.out is not None:
        print(f"every differing field: {write_differences(args.out, diff)}")
    print("same line results" if diff.same else "DIFFERENT line results")
    return 0 if diff.same else 1

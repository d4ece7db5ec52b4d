#!/usr/bin/env bash
# Runs the same `claimsim run` with two installs (OLD, NEW: their claimsim commands) and compares
# the sha256 of every file under reports/ (CSV, Parquet, PNG, HTML), and of the ledger. Prints one
# line per run and each file that differs; exits 1 if any does. A change meant to move no report
# byte (a cheaper fold) runs it against main's install:
#   OLD=/work/main/.venv/bin/claimsim NEW=.venv/bin/claimsim scripts/reports-identical.sh
# Optional: MEMBERS (3000), MONTHS (12), SEED (3), SOURCES ("drawn claims": --quality-source),
# SKIP (a grep -E pattern of report files to leave out, e.g. one that holds timings; none does now).
set -euo pipefail
OLD=${OLD:?the old claimsim command}; NEW=${NEW:-.venv/bin/claimsim}
MEMBERS=${MEMBERS:-3000}; MONTHS=${MONTHS:-12}; SEED=${SEED:-3}; SOURCES=${SOURCES:-drawn claims}
SKIP=${SKIP:-^$}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
digests() {  # DIR -> "sha256  path" per report file, and the ledger's
  (cd "$1/reports" && find . -type f | sort | grep -Ev "$SKIP" | xargs sha256sum)
  echo "$(cat $(ls "$1"/ledger/*.jsonl | sort) | sha256sum | cut -c1-64)  ledger"
}
status=0
for source in $SOURCES; do
  for side in OLD NEW; do
    "${!side}" run --members "$MEMBERS" --months "$MONTHS" --seed "$SEED" --quality-source "$source" \
      --no-progress --out "$tmp/$side-$source" >"$tmp/$side-$source.log" 2>&1 \
      || { echo "$side $source: run failed: $(tail -1 "$tmp/$side-$source.log")"; exit 1; }
    digests "$tmp/$side-$source" >"$tmp/$side-$source.sha"
  done
  files=$(wc -l <"$tmp/NEW-$source.sha")
  if cmp -s "$tmp/OLD-$source.sha" "$tmp/NEW-$source.sha"; then
    echo "--quality-source $source: identical ($((files - 1)) report files and the ledger)"
  else
    echo "--quality-source $source: DIFFERENT"; diff "$tmp/OLD-$source.sha" "$tmp/NEW-$source.sha" || true
    status=1
  fi
done
exit $status

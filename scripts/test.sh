#!/usr/bin/env bash
# Set up everything the test suite needs and run all of it: a venv with the pinned packages
# (constraints.txt), the real Kafka broker (scripts/kafka, unless KAFKA_BOOTSTRAP_SERVERS already
# points at one), then pytest. Extra arguments go to pytest. Exits non-zero if any test fails
# or if no test ran at all.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "test.sh: creating .venv" >&2
  "$PYTHON" -m venv .venv
fi
echo "test.sh: installing claimsim and test dependencies (pinned by constraints.txt)" >&2
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install -q --disable-pip-version-check -c constraints.txt -e ".[test]"

# The browser test of the HTML report needs Debian's chromium (no browser downloads here).
if ! command -v chromium >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "test.sh: installing chromium for the browser test (apt-get)" >&2
    apt-get update -qq >&2 && apt-get install -y -qq chromium >&2 \
      || echo "test.sh: could not install chromium; the browser test will say so" >&2
  else
    echo "test.sh: no chromium and no root apt-get; the browser test will say so" >&2
  fi
fi

started_broker=0
if [ -z "${KAFKA_BOOTSTRAP_SERVERS:-}" ]; then
  echo "test.sh: starting the local Kafka broker (scripts/kafka/start.sh)" >&2
  PYTHON=.venv/bin/python eval "$(scripts/kafka/start.sh)"
  started_broker=1
fi
cleanup() {
  if [ "$started_broker" = 1 ]; then scripts/kafka/stop.sh >&2 || true; fi
}
trap cleanup EXIT
export KAFKA_BOOTSTRAP_SERVERS
export CLAIMSIM_REQUIRE_KAFKA=1

set +e
.venv/bin/python -m pytest "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "test.sh: pytest collected no tests; that is a failure here" >&2
  exit 1
fi
exit "$rc"

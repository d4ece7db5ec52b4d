#!/usr/bin/env bash
# Stop the broker started by start.sh: SIGTERM, wait up to $KAFKA_STOP_TIMEOUT
# seconds (default 30) for a clean shutdown, then SIGKILL. Removes the pid file.
# Idempotent: succeeds when nothing is running.
#   --clean   also delete the data dir (topics, offsets, logs): next start re-formats.
set -euo pipefail
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)/_common.sh"

clean=0
for arg in "$@"; do
  case "$arg" in
    --clean) clean=1 ;;
    -h|--help) sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $arg" ;;
  esac
done

if pid="$(running_pid)"; then
  log "stopping broker (pid $pid) ..."
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + KAFKA_STOP_TIMEOUT))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.5; done
  if kill -0 "$pid" 2>/dev/null; then
    log "broker did not exit within ${KAFKA_STOP_TIMEOUT}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
  fi
  log "broker stopped"
else
  log "broker not running"
fi
rm -f "$KAFKA_PID_FILE"

if [[ $clean -eq 1 && -d "$KAFKA_DATA_DIR" ]]; then
  # Guard against a mistyped KAFKA_DATA_DIR: only wipe a dir that looks like ours.
  if [[ "$KAFKA_DATA_DIR" == "/" || "$KAFKA_DATA_DIR" == "${HOME:-/}" ]] ||
    { [[ -n "$(ls -A "$KAFKA_DATA_DIR")" ]] &&
      [[ ! -e "$KAFKA_DATA_DIR/server.properties" && ! -d "$KAFKA_DATA_DIR/kraft-logs" ]]; }; then
    die "refusing to delete $KAFKA_DATA_DIR: it does not look like a broker data dir"
  fi
  log "removing data dir $KAFKA_DATA_DIR"
  rm -rf "$KAFKA_DATA_DIR"
fi

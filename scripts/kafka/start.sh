#!/usr/bin/env bash
# Start a single-node Apache Kafka broker (KRaft mode) in the background on
# 127.0.0.1:$KAFKA_PORT (default 9092) and wait until it answers metadata
# requests. Fetches the jars first and formats the storage on first use.
#
# Idempotent: if our broker is already running, says so and exits 0.
# On success prints ONE line to stdout, so callers can:
#     eval "$(scripts/kafka/start.sh)"
#     -> export KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092
# Everything else goes to stderr. On failure prints the broker log tail, exits 1.
set -euo pipefail
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)/_common.sh"

case "${1:-}" in
  "") ;;
  -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) die "unknown argument: $1" ;;
esac

BOOTSTRAP="$KAFKA_HOST:$KAFKA_PORT"
START_DIR="$PWD"  # where a relative $PYTHON is found
CP="$KAFKA_JAR_DIR/*"
LOG4J_OPTS=(-Dlog4j.configuration="file:$KAFKA_SCRIPT_DIR/log4j.properties" -Dkafka.logs.dir="$KAFKA_LOG_DIR")
TOOLS_LOG4J_OPTS=(-Dlog4j.configuration="file:$KAFKA_SCRIPT_DIR/tools-log4j.properties")

# The interpreter for wait_ready.py, as an absolute path: the launch below changes directory, and
# a relative $PYTHON (say .venv/bin/python) would then not be found and every readiness probe would
# start a JVM instead (a few seconds each under load; measured: ready 3.8 s after the broker had
# started, against 0.3 s with the Python probe).
pick_python() {
  if [[ -n "${PYTHON:-}" ]]; then
    if [[ "$PYTHON" == */* && "$PYTHON" != /* ]]; then
      printf '%s\n' "$START_DIR/$PYTHON"
    else
      printf '%s\n' "$PYTHON"
    fi
  elif [[ -x "$KAFKA_REPO_ROOT/.venv/bin/python" ]]; then
    printf '%s\n' "$KAFKA_REPO_ROOT/.venv/bin/python"
  else
    printf '%s\n' python3
  fi
}

# wait_ready TIMEOUT [PID]: 0 = broker answers metadata, 1 = timeout, 2 = PID died.
wait_ready() {
  local timeout="$1" pid="${2:-}" py rc=0
  py="$(pick_python)"
  if command -v "$py" >/dev/null 2>&1; then
    "$py" "$KAFKA_SCRIPT_DIR/wait_ready.py" "$BOOTSTRAP" "$timeout" ${pid:+"$pid"} || rc=$?
    [[ $rc -ne 3 ]] && return $rc
    log "aiokafka not importable by '$py'; probing with the Java admin tool instead"
  else
    log "no Python at '$py'; probing with the Java admin tool instead (slower)"
  fi
  # Fallback: Kafka's own BrokerApiVersionsCommand (one JVM per attempt, slower).
  local deadline=$((SECONDS + ${timeout%.*}))
  while ((SECONDS < deadline)); do
    if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then return 2; fi
    if port_open "$KAFKA_HOST" "$KAFKA_PORT" &&
      timeout 20 "$JAVA" -Xmx128m -cp "$CP" "${TOOLS_LOG4J_OPTS[@]}" \
        kafka.admin.BrokerApiVersionsCommand --bootstrap-server "$BOOTSTRAP" 2>/dev/null |
      grep -q "^$KAFKA_HOST:$KAFKA_PORT"; then
      return 0
    fi
    sleep 1
  done
  return 1
}

print_log_tail() {
  local f
  for f in "$KAFKA_LOG_DIR/kafkaServer.out" "$KAFKA_LOG_DIR/server.log"; do
    if [[ -s "$f" ]]; then
      log "---- last 40 lines of $f ----"
      tail -n 40 "$f" >&2
    fi
  done
}

success() {
  printf 'export KAFKA_BOOTSTRAP_SERVERS=%s\n' "$BOOTSTRAP"
}

# ---------------------------------------------------------------- running?
if pid="$(running_pid)"; then
  if wait_ready "$KAFKA_START_TIMEOUT" "$pid"; then
    log "broker already running (pid $pid) on $BOOTSTRAP"
    success
    exit 0
  fi
  print_log_tail
  die "broker process $pid is running but does not answer on $BOOTSTRAP; try scripts/kafka/stop.sh"
fi
if [[ -f "$KAFKA_PID_FILE" ]]; then
  log "removing stale pid file $KAFKA_PID_FILE"
  rm -f "$KAFKA_PID_FILE"
fi
for port in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
  if port_open "$KAFKA_HOST" "$port"; then
    die "port $KAFKA_HOST:$port is already in use by another process (not started by this script for $KAFKA_DATA_DIR); set KAFKA_PORT / KAFKA_CONTROLLER_PORT, or stop it"
  fi
done

# ---------------------------------------------------------------- prepare
command -v "$JAVA" >/dev/null || die "java ('$JAVA') not found; install a JDK/JRE >= 11 (17 recommended)"
"$KAFKA_SCRIPT_DIR/fetch.sh"
mkdir -p "$KAFKA_LOG_DIR" "$KAFKA_KRAFT_DIR"

# Render the config template (every start, so port overrides take effect).
sed -e "s|@KAFKA_PORT@|$KAFKA_PORT|g" \
    -e "s|@KAFKA_CONTROLLER_PORT@|$KAFKA_CONTROLLER_PORT|g" \
    -e "s|@KAFKA_LOG_DIRS@|$KAFKA_KRAFT_DIR|g" \
    "$KAFKA_SCRIPT_DIR/server.properties" >"$KAFKA_CONFIG.tmp"
mv "$KAFKA_CONFIG.tmp" "$KAFKA_CONFIG"

# Format the storage once; later starts reuse it (and its topics/offsets).
if [[ ! -f "$KAFKA_KRAFT_DIR/meta.properties" ]]; then
  cluster_id="$("$JAVA" -cp "$CP" "${TOOLS_LOG4J_OPTS[@]}" kafka.tools.StorageTool random-uuid)"
  log "formatting storage in $KAFKA_KRAFT_DIR (cluster id $cluster_id)"
  if ! "$JAVA" -cp "$CP" "${TOOLS_LOG4J_OPTS[@]}" kafka.tools.StorageTool format \
      -t "$cluster_id" -c "$KAFKA_CONFIG" >"$KAFKA_LOG_DIR/format.out" 2>&1; then
    cat "$KAFKA_LOG_DIR/format.out" >&2
    die "formatting the Kafka storage failed"
  fi
fi

# ---------------------------------------------------------------- launch
log "starting broker on $BOOTSTRAP (controller $KAFKA_HOST:$KAFKA_CONTROLLER_PORT, data $KAFKA_DATA_DIR)"
t0=$SECONDS
cd "$KAFKA_DATA_DIR"
# shellcheck disable=SC2086  # KAFKA_OPTS is deliberately word-split
setsid nohup "$JAVA" -Xmx"$KAFKA_HEAP" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
  -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
  "${LOG4J_OPTS[@]}" -Dclaimsim.kafka.data="$KAFKA_DATA_DIR" ${KAFKA_OPTS:-} \
  -cp "$CP" kafka.Kafka "$KAFKA_CONFIG" \
  >"$KAFKA_LOG_DIR/kafkaServer.out" 2>&1 </dev/null &
pid=$!
echo "$pid" >"$KAFKA_PID_FILE"

rc=0
wait_ready "$KAFKA_START_TIMEOUT" "$pid" || rc=$?
if [[ $rc -eq 0 ]]; then
  log "broker ready (pid $pid) in $((SECONDS - t0)) s; logs in $KAFKA_LOG_DIR"
  success
  exit 0
fi

if [[ $rc -eq 2 ]]; then
  log "broker process $pid exited during startup"
else
  log "broker did not answer on $BOOTSTRAP within ${KAFKA_START_TIMEOUT}s; stopping it"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -KILL "$pid" 2>/dev/null || true
fi
rm -f "$KAFKA_PID_FILE"
print_log_tail
die "Kafka broker failed to start"

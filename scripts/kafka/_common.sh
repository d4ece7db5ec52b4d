# Shared settings for fetch.sh / start.sh / stop.sh. Sourced, not executed.
# shellcheck shell=bash disable=SC2034  # variables are used by the sourcing scripts

KAFKA_SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
KAFKA_REPO_ROOT="$(cd "$KAFKA_SCRIPT_DIR/../.." && pwd -P)"

# Where the jars go (fetch.sh) and where broker data + logs go (start.sh).
# KAFKA_HOME_DIR moves both at once; the finer-grained variables win.
if [[ -n "${KAFKA_HOME_DIR:-}" ]]; then
  KAFKA_CACHE_DIR="${KAFKA_CACHE_DIR:-$KAFKA_HOME_DIR/.cache}"
  KAFKA_DATA_DIR="${KAFKA_DATA_DIR:-$KAFKA_HOME_DIR/data}"
fi
KAFKA_CACHE_DIR="${KAFKA_CACHE_DIR:-$KAFKA_SCRIPT_DIR/.cache}"
KAFKA_DATA_DIR="${KAFKA_DATA_DIR:-$KAFKA_SCRIPT_DIR/data}"
# Make both absolute (the broker's config and pid check rely on it).
[[ "$KAFKA_CACHE_DIR" == /* ]] || KAFKA_CACHE_DIR="$PWD/$KAFKA_CACHE_DIR"
[[ "$KAFKA_DATA_DIR" == /* ]] || KAFKA_DATA_DIR="$PWD/$KAFKA_DATA_DIR"
KAFKA_JAR_DIR="$KAFKA_CACHE_DIR/jars"

KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_HOST=127.0.0.1
KAFKA_HEAP="${KAFKA_HEAP:-512m}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-60}"
KAFKA_STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-30}"
JAVA="${JAVA:-java}"
MVN="${MVN:-mvn}"

KAFKA_PID_FILE="$KAFKA_DATA_DIR/kafka.pid"
KAFKA_LOG_DIR="$KAFKA_DATA_DIR/logs"        # log4j output (server.log, ...)
KAFKA_KRAFT_DIR="$KAFKA_DATA_DIR/kraft-logs" # log.dirs: topic data + metadata
KAFKA_CONFIG="$KAFKA_DATA_DIR/server.properties"

# Human messages go to stderr so stdout stays `eval`-able.
log() { printf '[kafka] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# Jars present and complete? (marker written by fetch.sh after a full copy)
jars_present() {
  [[ -f "$KAFKA_JAR_DIR/.complete" ]] && compgen -G "$KAFKA_JAR_DIR/kafka_2.13-*.jar" >/dev/null
}

# Is PID a broker JVM started by start.sh for this data dir?
is_our_broker() {
  local pid="$1"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  local cmdline
  cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
  [[ "$cmdline" == *"kafka.Kafka"* && "$cmdline" == *"-Dclaimsim.kafka.data=$KAFKA_DATA_DIR "* ]]
}

# Prints the broker pid if the pid file names a live broker of ours.
running_pid() {
  [[ -f "$KAFKA_PID_FILE" ]] || return 1
  local pid
  pid="$(cat "$KAFKA_PID_FILE" 2>/dev/null || true)"
  is_our_broker "$pid" || return 1
  printf '%s\n' "$pid"
}

# Something accepts TCP connections on host:port?
port_open() {
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

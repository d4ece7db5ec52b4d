#!/usr/bin/env bash
# Download the Apache Kafka broker jars (and their runtime dependencies) from
# Maven Central into $KAFKA_CACHE_DIR/jars (default scripts/kafka/.cache/jars).
# Idempotent: does nothing when the jars are already there (use --force to redo).
set -euo pipefail
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)/_common.sh"

force=0
for arg in "$@"; do
  case "$arg" in
    -f|--force) force=1 ;;
    -h|--help) sed -n '2,4p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $arg" ;;
  esac
done

if [[ $force -eq 0 ]] && jars_present; then
  log "jars already present in $KAFKA_JAR_DIR"
  exit 0
fi

command -v "$MVN" >/dev/null || die "maven ('$MVN') not found; install it (e.g. apt-get install maven)"
command -v "$JAVA" >/dev/null || die "java ('$JAVA') not found; install a JDK/JRE >= 11 (17 recommended)"

log "fetching Kafka jars with maven into $KAFKA_JAR_DIR ..."
tmp="$KAFKA_CACHE_DIR/jars.tmp.$$"
trap 'rm -rf "$tmp"' EXIT
rm -rf "$tmp"
mkdir -p "$tmp"
start=$SECONDS
"$MVN" -q -B -Dstyle.color=never -f "$KAFKA_SCRIPT_DIR/pom.xml" dependency:copy-dependencies \
  -DincludeScope=runtime -DoutputDirectory="$tmp" 2>&1 |
  # Debian's maven prints bare ANSI resets even with -q -B: drop them.
  sed -e 's/\x1b\[[0-9;]*m//g' -e '/^[[:space:]]*$/d' >&2 ||
  die "maven failed to fetch the Kafka jars"
compgen -G "$tmp/kafka_2.13-*.jar" >/dev/null || die "maven finished but kafka_2.13 jar is missing"
touch "$tmp/.complete"
rm -rf "$KAFKA_JAR_DIR"
mv "$tmp" "$KAFKA_JAR_DIR"
trap - EXIT
log "fetched $(find "$KAFKA_JAR_DIR" -name '*.jar' | wc -l) jars ($(du -sh "$KAFKA_JAR_DIR" | cut -f1)) in $((SECONDS - start)) s"

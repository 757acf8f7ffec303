#!/usr/bin/env bash
# Where ingestd's CPU goes, per acknowledged request (README "Benchmarks", issue 15 item 1).
# A private broker on free loopback ports; then, for INGEST_ACK=durable and =enqueued, a fresh
# ingestd driven open loop by
#   ingestctl bench --source github --rate $RATE --concurrency 64 --duration $DURATION
#                   --body-bytes 2048
# after a warm-up run of $WARMUP at the same rate. Over the measured run (bench start to the end
# of its load; not its Kafka check) it samples ingestd's per-thread CPU and context switches
# from /proc, its syscalls per thread (perf stat, raw_syscalls:sys_enter) and the broker JVM's
# CPU, divides them by the requests bench saw acknowledged, and prints a markdown table per
# mode (tests/bench/proc_snapshot.py, tests/bench/cpu_table.py).
#
# Usage: tests/bench/cpu_breakdown.sh [build dir]
#   RATE=10000 DURATION=20s WARMUP=8s   offered load, measured run, warm-up run (the broker's JIT
#                                       needs the longer warm-up: 3 s left it busy compiling)
#   ACK_MODES="durable enqueued"        which INGEST_ACK modes, in order
#   PROFILE=1                           also `perf record -F 999 -g -e cpu-clock` ingestd over
#                                       the window and print the top 25 symbols by self time
#   PROFILE_DIR=DIR                     keep the perf.data files there (for `perf report -g`)
#   INGEST_CONFIG=FILE                  an ingestd config file, e.g. with kafka.properties to
#                                       try producer settings (default: none)
# Installs linux-perf (deploy/install-deps.sh) when perf is missing. Exit 1 when a bench run failed or
# reported missing > 0. Leaves nothing running.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD_DIR=${1:-$ROOT/build}
INGESTD=$BUILD_DIR/ingest/ingestd
INGESTCTL=$BUILD_DIR/ctl/ingestctl
HERE=$ROOT/tests/bench
PYTHON=/usr/bin/python3  # Debian's: the one on PATH may be another
RATE=${RATE:-10000}
DURATION=${DURATION:-20s}
WARMUP=${WARMUP:-8s}
ACK_MODES=${ACK_MODES:-durable enqueued}
PROFILE=${PROFILE:-0}
PROFILE_DIR=${PROFILE_DIR:-}
BENCH_ARGS=(--source github --rate "$RATE" --concurrency 64 --body-bytes 2048)
WORK=$(mktemp -d /tmp/cpu-breakdown.XXXXXX)

# shellcheck source=tests/bench/lib.sh
source "$HERE/lib.sh"

# perf processes and the bench run in flight, stopped by cleanup however the script ends.
declare -A PERF_PIDS=()
BENCH_PID=
cleanup() {
  [[ -n "$BENCH_PID" ]] && kill -TERM "$BENCH_PID" 2>/dev/null && wait "$BENCH_PID" || true
  for pid in "${PERF_PIDS[@]}"; do kill -INT "$pid" 2>/dev/null && wait "$pid" || true; done
  bench_cleanup
}
trap cleanup EXIT
trap 'exit 130' INT  # stop at once (^C also reaches ingestd, which would end the run anyway)
trap 'exit 143' TERM

die() { echo "cpu_breakdown: $*" >&2; exit 1; }

ensure_perf() {
  perf version >/dev/null 2>&1 && return 0
  "$ROOT/deploy/install-deps.sh" linux-perf || die "could not install linux-perf"
  perf version >/dev/null 2>&1 || die "perf does not run after installing linux-perf"
}

# Starts `perf $1` (stat or record; its further arguments follow) on ingestd, disabled:
# perf_each enable/disable switch it through its control fifo, so that its window is the /proc
# snapshots' and the load cannot start before perf is attached. The fifos stay open read-write
# here, so neither side blocks on the other's open; a perf that died shows as a missing ack.
declare -A PERF_CTL=() PERF_ACK=()
perf_start() {
  local name=$1 ctl ack
  shift
  mkfifo "$WORK/$name.ctl" "$WORK/$name.ack"
  exec {ctl}<>"$WORK/$name.ctl" {ack}<>"$WORK/$name.ack"
  PERF_CTL[$name]=$ctl
  PERF_ACK[$name]=$ack
  perf "$name" -D -1 --control "fifo:$WORK/$name.ctl,$WORK/$name.ack" -p "$INGESTD_PID" "$@" \
    2>>"$WORK/perf-$name.log" &
  PERF_PIDS[$name]=$!
}
perf_each() {
  local name reply
  for name in "${!PERF_PIDS[@]}"; do
    echo "$1" >&"${PERF_CTL[$name]}"
    # perf answers "ack\n" and a NUL, which read drops.
    read -r -t 10 reply <&"${PERF_ACK[$name]}" && [[ "$reply" == *ack ]] ||
      { cat "$WORK/perf-$name.log" >&2; die "perf $name did not acknowledge '$1'"; }
  done
}
perf_stop_all() {
  local name ctl ack
  for name in "${!PERF_PIDS[@]}"; do
    kill -INT "${PERF_PIDS[$name]}"
    wait "${PERF_PIDS[$name]}" || true  # perf exits non-zero on SIGINT
    ctl=${PERF_CTL[$name]} ack=${PERF_ACK[$name]}
    exec {ctl}>&- {ack}>&-
    unset "PERF_PIDS[$name]" "PERF_CTL[$name]" "PERF_ACK[$name]"
    rm -f "$WORK/$name.ctl" "$WORK/$name.ack"
  done
}

snapshot() {
  kill -0 "$INGESTD_PID" 2>/dev/null || { tail -5 "$WORK/ingestd.log" >&2; die "ingestd has exited"; }
  "$PYTHON" "$HERE/proc_snapshot.py" --threads "$INGESTD_PID" --process "broker=$(kafka_pid)" >"$1"
}

# One ack mode: warm-up, then the measured run; prints the table (and the profile). Sets
# FAILED when bench failed or reported missing > 0 (and goes on to the next mode).
FAILED=0
measure() {
  local mode=$1 dir=$WORK/$1 status=0
  mkdir -p "$dir"
  export INGEST_ACK=$mode
  start_ingestd
  "$INGESTCTL" bench "${BENCH_ARGS[@]}" --duration "$WARMUP" >"$dir/warmup.log" 2>&1 ||
    { cat "$dir/warmup.log" >&2; die "the warm-up run failed (INGEST_ACK=$mode)"; }

  perf_start stat --per-thread -x, -e raw_syscalls:sys_enter -o "$dir/perf-stat.csv"
  if [[ "$PROFILE" == 1 ]]; then
    perf_start record -F 999 -g -e cpu-clock -o "$dir/perf.data" --quiet
  fi
  perf_each enable
  snapshot "$dir/before.json"
  "$INGESTCTL" bench "${BENCH_ARGS[@]}" --duration "$DURATION" >"$dir/bench.log" 2>&1 &
  BENCH_PID=$!
  wait_for_load "$BENCH_PID" "$dir/bench.log"
  snapshot "$dir/after.json"
  perf_each disable
  perf_stop_all
  wait "$BENCH_PID" || status=1  # bench exits 1 when missing > 0 or its Kafka check failed
  BENCH_PID=
  stop_ingestd

  "$PYTHON" "$HERE/cpu_table.py" --title "INGEST_ACK=$mode" --before "$dir/before.json" \
    --after "$dir/after.json" --bench-log "$dir/bench.log" --perf-stat "$dir/perf-stat.csv"
  grep -E '^(requests|check) ' "$dir/bench.log" | sed 's/^/    /' || true
  if [[ "$status" != 0 ]]; then
    FAILED=1
    echo
    echo "**bench failed (INGEST_ACK=$mode):**"
    grep -v '^{' "$dir/bench.log" | sed 's/^/    /'
  fi
  if [[ "$PROFILE" == 1 ]]; then
    echo
    echo "Top 25 symbols by self time (perf record -F 999 -g -e cpu-clock, INGEST_ACK=$mode):"
    echo
    # awk, not head: reading to the end spares perf a SIGPIPE (pipefail). perf 6.1 adds IPC
    # columns that cpu-clock samples cannot fill ("-  -"): cut.
    perf report -i "$dir/perf.data" --stdio --no-children --sort symbol -g none 2>/dev/null |
      awk '/^# Samples:/ { sub(/^# /, ""); print "    " $0; next } /^#/ || NF == 0 { next }
           n++ < 25 { sub(/[ \t]+-[ \t]+-[ \t]*$/, ""); print "    " $0 }'
    if [[ -n "$PROFILE_DIR" ]]; then
      mkdir -p "$PROFILE_DIR"
      cp "$dir/perf.data" "$PROFILE_DIR/perf-$mode.data"
    fi
  fi
  echo
}

[[ -x "$INGESTD" && -x "$INGESTCTL" ]] || die "build first: $INGESTD and $INGESTCTL"
ensure_perf
if [[ "$PROFILE" == 1 ]] && ! readelf -S "$INGESTD" | grep -q '\.symtab'; then
  echo "cpu_breakdown: warning: $INGESTD is stripped: the profile shows only addresses" >&2
fi

export KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT
export TOPIC_PREFIX=bench.
export INGEST_LISTEN=127.0.0.1:$INGEST_PORT
export INGEST_CONFIG=${INGEST_CONFIG:-}
export GITHUB_WEBHOOK_SECRET=cpu-breakdown-secret
export LOG_LEVEL=warn

start_kafka
"$INGESTCTL" topics create >/dev/null

echo "## CPU per acknowledged request: open loop at $RATE req/s, 64 connections, 2048-byte" \
  "GitHub bodies, $DURATION measured after a $WARMUP warm-up"
echo
for mode in $ACK_MODES; do
  measure "$mode"
done
[[ "$FAILED" == 0 ]] || die "a bench run failed or found acknowledged events missing (see above)"

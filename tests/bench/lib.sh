# shellcheck shell=bash
# Shared by the shell benchmarks in tests/bench (sourced, not run): a private Kafka broker on
# free loopback ports, one ingestd, and the waits between them. The caller sets ROOT, WORK (a
# scratch directory it owns), INGESTD and INGESTCTL, and calls bench_cleanup from its EXIT
# trap so that nothing is left running however the script ends.

# shellcheck source=deploy/owner_watchdog.sh
source "$ROOT/deploy/owner_watchdog.sh"  # terminate (stop_ingestd), watch_owner, stop_watchdog

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
KAFKA_PORT=$(free_port)
CONTROLLER_PORT=$(free_port)
INGEST_PORT=$(free_port)

INGESTD_PID=
bench_cleanup() {
  stop_ingestd || true
  "$ROOT/deploy/kafka-local.sh" stop --dir "$WORK/kafka" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}

# --owner-pid: the broker also goes when this script does, even on SIGKILL.
start_kafka() {
  "$ROOT/deploy/kafka-local.sh" start --dir "$WORK/kafka" --port "$KAFKA_PORT" \
    --controller-port "$CONTROLLER_PORT" --owner-pid $$ >/dev/null
}
stop_kafka() { "$ROOT/deploy/kafka-local.sh" stop --dir "$WORK/kafka" >/dev/null; }
kafka_pid() { cat "$WORK/kafka/broker.pid"; }

# wait_healthy NAME PID PORT LOG [SECONDS]: until the server NAME (pid PID, log LOG) answers
# GET /healthz on 127.0.0.1:PORT. Fails, with the end of LOG, as soon as PID has exited, or
# after SECONDS (60): a server that never gets ready must not hang a benchmark. A server still
# running then is left to the caller's clean-up, which stops it.
wait_healthy() {
  local name=$1 pid=$2 port=$3 log=$4 limit=${5:-60}
  local deadline=$((SECONDS + limit))
  # --max-time: a listener that accepts and never answers must not outlast the deadline.
  until curl -fsS --max-time 2 "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 30 "$log" >&2
      echo "bench: $name exited before it answered /healthz (the end of its log above)" >&2
      return 1
    fi
    if ((SECONDS >= deadline)); then
      tail -n 30 "$log" >&2
      echo "bench: $name did not answer /healthz on 127.0.0.1:$port within $limit s (the end of its log above)" >&2
      return 1
    fi
    sleep 0.1
  done
}

# Starts ingestd with the environment as it is now (log in $WORK/ingestd.log) and waits until it
# answers /healthz (wait_healthy).
start_ingestd() {
  "$INGESTD" >"$WORK/ingestd.log" 2>&1 &
  INGESTD_PID=$!
  wait_healthy ingestd "$INGESTD_PID" "$INGEST_PORT" "$WORK/ingestd.log"
}
# Bounded: ingestd takes SIGTERM only once it serves (it blocks the signal before that), so one
# stuck while starting is killed after the grace rather than waited for forever.
stop_ingestd() {
  [[ -n "$INGESTD_PID" ]] || return 0
  terminate "$INGESTD_PID" 15 || true
  wait "$INGESTD_PID" 2>/dev/null || true  # reap it (it is our child)
  INGESTD_PID=
}

metric() {
  curl -fsS "http://127.0.0.1:$INGEST_PORT/metrics" | awk -v m="$1" '$1 == m { print $2 }'
}
# wait_for_metric_zero NAME [SECONDS]: until ingestd's NAME is 0; fails after SECONDS (600)
# or as soon as ingestd is gone.
wait_for_metric_zero() {
  local deadline=$((SECONDS + ${2:-600}))
  until [[ "$(metric "$1")" == "0" ]]; do
    if ((SECONDS >= deadline)) || { [[ -n "${INGESTD_PID:-}" ]] && ! kill -0 "$INGESTD_PID" 2>/dev/null; }; then
      echo "bench: $1 did not reach 0 (ingestd gone or ${2:-600} s passed)" >&2
      return 1
    fi
    sleep 0.05
  done
}

# Waits until bench (pid $1) has printed its load report to $2: the load is over and the
# Kafka check comes next. (-s: bench, started in the background, may not have created $2 yet.)
wait_for_load() {
  until grep -qs '^throughput' "$2"; do
    if ! kill -0 "$1" 2>/dev/null; then
      grep -qs '^throughput' "$2" && return 0
      cat "$2"
      echo "bench ended early" >&2
      exit 1
    fi
    sleep 0.05
  done
}

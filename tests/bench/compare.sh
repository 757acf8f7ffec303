#!/usr/bin/env bash
# ingestd side by side with what users would run instead (README "Benchmarks", issue 15), in
# one run: a private Kafka broker on free loopback ports, then one system at a time, each
# loaded by `ingestctl bench --source github --concurrency 64 --duration $DURATION
# --body-bytes 2048` (closed loop, signed 2 KB GitHub pushes) with --server-pid and
# --broker-pid (CPU per acknowledged request):
#   ingestd INGEST_ACK=durable, ingestd INGEST_ACK=enqueued, GET /healthz on ingestd (the HTTP
#   ceiling), the Go peer (tests/bench/peers/go-franz: net/http + franz-go) and the Flask peer
#   (tests/bench/peers/flask: Flask + confluent-kafka under gunicorn);
# then ingestd durable open loop (--rate) at each of RATES. Every webhook run's Kafka check
# reads webhooks.github, where the peers write too, so "missing" is checked for every system.
# Prints each run, then one markdown table and the ratios. Exits 1 when any run reports
# missing > 0 or fails; leaves nothing running however it ends.
#
# Knobs (environment): DURATION (20s), RATES ("5000 10000 20000"), WARMUP (2s: a discarded
# closed-loop run of that length before each system's measured runs; 0 for none), BUILD_DIR
# (build), KAFKA_HEAP (512m, deploy/kafka-local.sh), GUNICORN_WORKERS (4), GUNICORN_THREADS (16),
# BASELINE_INGESTD (an ingestd binary of an earlier build: its durable runs, closed loop and at
# each of RATES, follow this build's, and the ratios compare the two).
# Installs what it needs when missing (Debian's python3-flask, gunicorn,
# python3-confluent-kafka; `go build` of the peer, which fetches franz-go as a Go module).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
INGESTD=$BUILD_DIR/ingest/ingestd
INGESTCTL=$BUILD_DIR/ctl/ingestctl
DURATION=${DURATION:-20s}
RATES=${RATES:-5000 10000 20000}
WARMUP=${WARMUP:-2s}
# Python's GIL holds one process to one core, so at least one worker per core; each request
# holds its thread until the broker's ack, so the threads carry the concurrency: 4 x 16 = 64
# requests in flight, one per bench connection, and none waits for a thread. gthread keeps
# connections alive (sync workers close each after its answer); 2 x cores + 1 sync workers,
# gunicorn's rule of thumb, would leave 59 of the 64 connections queued.
GUNICORN_WORKERS=${GUNICORN_WORKERS:-4}
GUNICORN_THREADS=${GUNICORN_THREADS:-16}
PYTHON=/usr/bin/python3  # Debian's, with Debian's modules (a pyenv python3 may come first)
WORK=$(mktemp -d /tmp/compare-bench.XXXXXX)
RESULTS=$WORK/results.jsonl

die() { echo "compare: $*" >&2; exit 1; }
[[ -x "$INGESTD" && -x "$INGESTCTL" ]] || die "build ingestd and ingestctl first (BUILD_DIR=$BUILD_DIR)"

# shellcheck source=tests/bench/lib.sh
# free_port, start_kafka, kafka_pid, wait_healthy, bench_cleanup, and (from
# deploy/owner_watchdog.sh) terminate, watch_owner, stop_watchdog
source "$ROOT/tests/bench/lib.sh"

SERVER_PID=
BENCH_PID=
WATCHERS=()
cleanup() {
  [[ -n "$BENCH_PID" ]] && kill -TERM "$BENCH_PID" 2>/dev/null || true
  stop_server
  for w in "${WATCHERS[@]}"; do stop_watchdog "$w"; done
  bench_cleanup  # the broker, then $WORK
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Even when this script is killed outright (no trap runs), `pid` does not outlive it: the
# watchdog, a subshell that outlives this script, runs terminate with a 5 s grace.
tie_to_script() {
  local pid=$1
  watch_owner $$ "$pid" "$WORK/watchdog-$pid.pid" terminate "$pid" 5
  disown "$!"  # stop_watchdog kills it: no "Killed" job report from this shell
  WATCHERS+=("$WORK/watchdog-$pid.pid")
}

# 10 s for the server's own shutdown; then `wait` reaps it (it is this shell's job).
stop_server() {
  [[ -n "$SERVER_PID" ]] || return 0
  terminate "$SERVER_PID" 10 || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
}

# Starts "$@" in the background as the server under test and waits for its /healthz on `port`
# (60 s; the clean-up stops a server that is running but never got ready).
start_server() {
  local name=$1 port=$2
  shift 2
  "$@" >"$WORK/$name.log" 2>&1 &
  SERVER_PID=$!
  tie_to_script "$SERVER_PID"
  wait_healthy "$name" "$SERVER_PID" "$port" "$WORK/$name.log" 60 || exit 1
}

FAILED_RUNS=()
# bench LABEL ARGS...: one measured run against the current server; its JSON line, with the
# label, goes to $RESULTS.
bench() {
  local label=$1
  shift
  local log=$WORK/bench.log
  echo
  echo "== $label"
  "$INGESTCTL" bench --concurrency 64 --duration "$DURATION" --body-bytes 2048 \
    --server-pid "$SERVER_PID" --broker-pid "$BROKER_PID" "$@" >"$log" 2>&1 &
  BENCH_PID=$!
  tie_to_script "$BENCH_PID"
  local rc=0
  wait "$BENCH_PID" || rc=$?
  BENCH_PID=
  cat "$log"
  local json
  json=$(grep '^{"url"' "$log" | tail -1 || true)
  ((rc == 0)) || FAILED_RUNS+=("$label (exit $rc)")
  # A run that printed no result line failed, whatever its exit code.
  [[ -n "$json" ]] || { json='{}'; ((rc != 0)) || FAILED_RUNS+=("$label (no result line)"); }
  LABEL=$label JSON=$json "$PYTHON" -c \
    'import json, os; r = json.loads(os.environ["JSON"]); r["label"] = os.environ["LABEL"]; print(json.dumps(r))' \
    >>"$RESULTS"
}

# A discarded run first (bench has no warm-up of its own): without it the first requests pay
# for connecting, the producers' id and metadata requests, the broker's JIT; a Flask worker's
# first answers then take a second and make up its p99.
warm_up() {
  [[ "$WARMUP" != 0 && -n "$WARMUP" ]] || return 0
  echo "== warm-up, $WARMUP (not measured)"
  "$INGESTCTL" bench --concurrency 64 --duration "$WARMUP" --body-bytes 2048 "$@" \
    >"$WORK/warmup.log" 2>&1 || { cat "$WORK/warmup.log"; die "warm-up run failed"; }
}

install_missing() {
  # The Flask peer's packages (python3-confluent-kafka is in the standard list), with sudo when
  # not root, through the project's one installer.
  "$ROOT/deploy/install-deps.sh" python3-flask gunicorn ||
    die "could not install the Flask peer's packages"
  local go
  go=$(command -v go || echo /usr/local/go/bin/go)
  [[ -x "$go" ]] || die "Go is not installed (the go-franz peer needs Go 1.26)"
  # GOTOOLCHAIN=local: build with the installed Go, never fetch another toolchain.
  (cd "$ROOT/tests/bench/peers/go-franz" &&
    GOTOOLCHAIN=local GOFLAGS=-buildvcs=false "$go" build -o "$WORK/go-franz" .) ||
    die "go build of tests/bench/peers/go-franz failed"
}

install_missing

start_kafka  # on free ports, stopped by kafka-local.sh's --owner-pid if this script is killed
BROKER_PID=$(kafka_pid)
# Killed outright, this script leaves its temporary directory to a watcher, which removes it
# once the broker (stopped by kafka-local.sh's --owner-pid) is gone.
(
  while kill -0 $$ 2>/dev/null; do sleep 1; done
  for _ in $(seq 120); do kill -0 "$BROKER_PID" 2>/dev/null || break; sleep 1; done
  rm -rf "$WORK"
) >/dev/null 2>&1 &

export KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT
export TOPIC_PREFIX=webhooks.
TOPIC=${TOPIC_PREFIX}github  # what bench's Kafka check reads for --source github
export INGEST_CONFIG=
export GITHUB_WEBHOOK_SECRET=compare-bench-secret
export LOG_LEVEL=warn
"$INGESTCTL" topics create >/dev/null

BASELINE_INGESTD=${BASELINE_INGESTD:-}
[[ -z "$BASELINE_INGESTD" || -x "$BASELINE_INGESTD" ]] ||
  die "BASELINE_INGESTD=$BASELINE_INGESTD is not an executable"

# start_ingestd_as ACK [BINARY]: ingestd as the server under test (lib.sh's start_ingestd runs the
# one ingestd of a single-server bench; this one goes through start_server, like the peers).
start_ingestd_as() {
  local ack=$1 binary=${2:-$INGESTD}
  INGEST_PORT=$(free_port)
  start_server "ingestd-$ack" "$INGEST_PORT" \
    env INGEST_ACK="$ack" INGEST_LISTEN="127.0.0.1:$INGEST_PORT" "$binary"
}
webhook_url() { echo "http://127.0.0.1:$1/webhooks/github"; }

start_ingestd_as durable
warm_up --source github --url "$(webhook_url "$INGEST_PORT")"
bench "ingestd durable" --source github --url "$(webhook_url "$INGEST_PORT")"
bench "GET /healthz on ingestd (the ceiling)" --target healthz \
  --url "http://127.0.0.1:$INGEST_PORT/healthz"
stop_server

start_ingestd_as enqueued
warm_up --source github --url "$(webhook_url "$INGEST_PORT")"
bench "ingestd enqueued" --source github --url "$(webhook_url "$INGEST_PORT")"
stop_server

GO_PORT=$(free_port)
start_server go-franz "$GO_PORT" \
  "$WORK/go-franz" -listen "127.0.0.1:$GO_PORT" -brokers "$KAFKA_BROKERS" -topic "$TOPIC"
warm_up --source github --url "$(webhook_url "$GO_PORT")"
bench "Go net/http + franz-go" --source github --url "$(webhook_url "$GO_PORT")"
stop_server

FLASK_PORT=$(free_port)
start_server flask "$FLASK_PORT" env TOPIC="$TOPIC" \
  "$PYTHON" -m gunicorn --chdir "$ROOT/tests/bench/peers/flask" --bind "127.0.0.1:$FLASK_PORT" \
  --worker-class gthread --workers "$GUNICORN_WORKERS" --threads "$GUNICORN_THREADS" \
  --log-level warning app:app
warm_up --source github --url "$(webhook_url "$FLASK_PORT")"
bench "Flask + confluent-kafka (gunicorn, $GUNICORN_WORKERS x $GUNICORN_THREADS gthread)" \
  --source github --url "$(webhook_url "$FLASK_PORT")"
stop_server

# open_loop LABEL [BINARY]: ingestd durable at each of RATES.
open_loop() {
  start_ingestd_as durable "${2:-$INGESTD}"
  warm_up --source github --url "$(webhook_url "$INGEST_PORT")"
  for rate in $RATES; do
    bench "$1, open loop at $rate/s" --source github --rate "$rate" \
      --url "$(webhook_url "$INGEST_PORT")"
  done
  stop_server
}
open_loop "ingestd durable"

if [[ -n "$BASELINE_INGESTD" ]]; then
  start_ingestd_as durable "$BASELINE_INGESTD"
  warm_up --source github --url "$(webhook_url "$INGEST_PORT")"
  bench "baseline ingestd durable" --source github --url "$(webhook_url "$INGEST_PORT")"
  stop_server
  open_loop "baseline ingestd durable" "$BASELINE_INGESTD"
fi

echo
table_rc=0
"$PYTHON" - "$RESULTS" <<'EOF' || table_rc=$?
import json, sys

runs = [json.loads(line) for line in open(sys.argv[1])]

def num(r, field, fmt):
    v = r.get(field)
    return "n/a" if v is None else fmt.format(v)

print("| system | req/s | p50 | p99 | p99.9 | server CPU µs/req | broker CPU µs/req | missing |")
print("| --- | --- | --- | --- | --- | --- | --- | --- |")
for r in runs:
    print(f"| {r['label']} | {num(r, 'rps', '{:,.0f}')} | {num(r, 'p50_ms', '{:.2f} ms')} "
          f"| {num(r, 'p99_ms', '{:.2f} ms')} | {num(r, 'p999_ms', '{:.2f} ms')} "
          f"| {num(r, 'server_cpu_us_per_req', '{:.1f}')} "
          f"| {num(r, 'broker_cpu_us_per_req', '{:.1f}')} | {num(r, 'missing', '{}')} |")

by_label = {r["label"]: r for r in runs}
durable = by_label.get("ingestd durable", {})
ceiling = by_label.get("GET /healthz on ingestd (the ceiling)", {})
peers = [r for r in runs if r["label"].startswith(("Go ", "Flask "))]
print()
def ratio(a, b):
    return f"{a / b:.2f}x" if a and b else "n/a"
if durable.get("rps") and peers:
    best = max(peers, key=lambda r: r.get("rps") or 0)
    print(f"- ingestd durable req/s / best peer's ({best['label']}): "
          f"{ratio(durable['rps'], best.get('rps'))}")
if durable.get("rps") and ceiling.get("rps"):
    print(f"- ingestd durable req/s / the /healthz ceiling: {ratio(durable['rps'], ceiling['rps'])}")
for peer in peers:
    for side in ("server", "broker"):
        field = f"{side}_cpu_us_per_req"
        print(f"- {side} CPU per request, {peer['label']} / ingestd durable: "
              f"{ratio(peer.get(field), durable.get(field))}")

# This build against the baseline build, run by run (closed loop, then each open-loop rate).
for r in runs:
    base = by_label.get("baseline " + r["label"])
    if not base:
        continue
    print(f"- {r['label']}, this build / baseline: req/s {ratio(r.get('rps'), base.get('rps'))}, "
          f"ingestd CPU per request {ratio(r.get('server_cpu_us_per_req'), base.get('server_cpu_us_per_req'))}, "
          f"broker CPU per request {ratio(r.get('broker_cpu_us_per_req'), base.get('broker_cpu_us_per_req'))}")

missing = [r["label"] for r in runs if r.get("missing")]
if missing:
    print("\nacknowledged but missing from Kafka: " + ", ".join(missing))
    sys.exit(1)
EOF
if ((${#FAILED_RUNS[@]})); then
  printf 'compare: failed run: %s\n' "${FAILED_RUNS[@]}" >&2
  exit 1
fi
exit "$table_rc"

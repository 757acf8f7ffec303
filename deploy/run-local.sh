#!/usr/bin/env bash
# Runs the whole system locally, without Docker: installs what is missing, builds, starts a
# real single-node Kafka (KRaft, 127.0.0.1:${KAFKA_PORT:-9092}), creates the topics, then starts
# every service binary that the build has, with the demo configuration in deploy/demo/.
# Ctrl-C stops everything it started. Data lives in ${WI_RUN_DIR:-.run/} and survives restarts,
# so events can be replayed later.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
RUN_DIR=${WI_RUN_DIR:-$ROOT/.run}
KAFKA_PORT=${KAFKA_PORT:-9092}
step() { printf '\n==> %s\n' "$*"; }

step "dependencies"
"$ROOT/deploy/install-deps.sh"
"$ROOT/deploy/kafka-local.sh" fetch

step "build"
cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C "$BUILD_DIR" -j2

mkdir -p "$RUN_DIR/logs"
PIDS=()
cleanup() {
  trap - EXIT INT TERM
  step "stopping"
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  "$ROOT/deploy/kafka-local.sh" stop --dir "$RUN_DIR/kafka"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

step "kafka on 127.0.0.1:$KAFKA_PORT"
"$ROOT/deploy/kafka-local.sh" start --dir "$RUN_DIR/kafka" --port "$KAFKA_PORT" \
  --controller-port "$((KAFKA_PORT + 1))" --owner-pid $$
export KAFKA_BROKERS="127.0.0.1:$KAFKA_PORT"
export INGEST_CONFIG=${INGEST_CONFIG:-$ROOT/deploy/demo/config.yaml}
# ingestd keeps acknowledging through Kafka restarts: records wait here until Kafka is back.
export INGEST_SPOOL_DIR=${INGEST_SPOOL_DIR:-$RUN_DIR/spool}
export WORKER_METRICS_LISTEN=${WORKER_METRICS_LISTEN:-127.0.0.1:9103}
# Demo secrets only: never use these for a real endpoint.
set -a
# shellcheck source=demo/demo.env
source "$ROOT/deploy/demo/demo.env"
set +a

step "topics"
"$BUILD_DIR/ctl/ingestctl" topics create

step "services"
started=()
for svc in ingestd dropbox-worker chargify-worker deploy-worker; do
  bin=$(find "$BUILD_DIR" -maxdepth 3 -type f -name "$svc" -perm -u+x | head -n 1)
  [[ -n "$bin" ]] || continue
  "$bin" >"$RUN_DIR/logs/$svc.log" 2>&1 &
  PIDS+=($!)
  started+=("$svc")
  echo "started $svc (pid $!, log $RUN_DIR/logs/$svc.log)"
done
((${#started[@]})) || echo "(no service binaries are built yet: only Kafka and the topics are up)"

cat <<EOF

webhook-ingest is running.
  Kafka:    $KAFKA_BROKERS   (data in $RUN_DIR/kafka)
  Watch:    KAFKA_BROKERS=$KAFKA_BROKERS $BUILD_DIR/ctl/ingestctl tail webhooks.github
EOF
if [[ " ${started[*]} " == *" ingestd "* ]]; then
  echo "  Send:     GITHUB_WEBHOOK_SECRET=$GITHUB_WEBHOOK_SECRET $BUILD_DIR/ctl/ingestctl send github --file $ROOT/deploy/demo/github-push.json --event push"
fi
echo "  Stop:     Ctrl-C"
# Wait until interrupted, or until a service dies (then say which and stop the rest).
while true; do
  for i in "${!PIDS[@]}"; do
    if ! kill -0 "${PIDS[$i]}" 2>/dev/null; then
      echo "run-local: ${started[$i]} exited; see $RUN_DIR/logs/${started[$i]}.log" >&2
      exit 1
    fi
  done
  "$ROOT/deploy/kafka-local.sh" status --dir "$RUN_DIR/kafka" >/dev/null || { echo "run-local: Kafka exited; see $RUN_DIR/kafka/broker.log" >&2; exit 1; }
  sleep 2
done

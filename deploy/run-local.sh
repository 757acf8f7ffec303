#!/usr/bin/env bash
# Runs the whole system locally, without Docker: installs what is missing, builds, starts a
# real single-node Kafka (KRaft, 127.0.0.1:${KAFKA_PORT:-9092}), creates the topics, makes a
# demo deploy target, then starts ingestd and every worker the build has, each with what it
# talks to: deploy-worker with the demo target (a throwaway bare origin and a live clone),
# chargify-worker with a real SMTP server that keeps the mail (tests/standins/smtp_recorder.py),
# dropbox-worker with the Dropbox API stand-in (tests/standins/dropbox_api.py --demo).
# Everything listens on 127.0.0.1 only and uses the published demo secrets (deploy/demo/).
# It prints one ready-to-paste `ingestctl send` line per provider and where to see the result.
# Ctrl-C stops everything it started and exits 0. Data lives in ${WI_RUN_DIR:-.run/} and
# survives restarts, so events can be replayed later (rm -rf it for a fresh start).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
RUN_DIR=${WI_RUN_DIR:-$ROOT/.run}
KAFKA_PORT=${KAFKA_PORT:-9092}
INGEST_PORT=${INGEST_PORT:-8080}
step() { printf '\n==> %s\n' "$*"; }

step "dependencies"
"$ROOT/deploy/install-deps.sh"
"$ROOT/deploy/kafka-local.sh" fetch

step "build"
cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
# Only the programs this runs (not the tests); a worker that does not exist yet is left out.
targets=()
for t in ingestctl ingestd deploy-worker chargify-worker dropbox-worker; do
  ninja -C "$BUILD_DIR" -t query "$t" >/dev/null 2>&1 && targets+=("$t")
done
ninja -C "$BUILD_DIR" -j2 "${targets[@]}"

mkdir -p "$RUN_DIR/logs"
PIDS=()
NAMES=()
stop_requested=0
cleanup() {
  trap - EXIT INT TERM
  step "stopping"
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  "$ROOT/deploy/kafka-local.sh" stop --dir "$RUN_DIR/kafka"
}
trap cleanup EXIT
# Ctrl-C reaches every process of the terminal's group at once; the services may exit before
# this script sees the signal, so a stop request is noted here and never reported as a crash.
trap 'stop_requested=1' INT TERM

# start NAME LOG COMMAND...: a background service whose death the loop below watches.
start() {
  local name=$1 log=$2
  shift 2
  "$@" >"$log" 2>&1 </dev/null &
  PIDS+=($!)
  NAMES+=("$name")
  echo "started $name (pid $!, log $log)"
}

# The stand-ins run on Debian's Python, which has python3-aiosmtpd (a python3 earlier on PATH,
# e.g. pyenv's, may not).
# first_line LOG: the JSON line a stand-in prints when it is ready (within 20 s).
first_line() {
  local log=$1
  for _ in $(seq 1 100); do
    if [[ -s "$log" ]] && head -n 1 "$log" | grep -q '^{'; then head -n 1 "$log"; return 0; fi
    sleep 0.2
  done
  echo "run-local: no ready line in $log:" >&2
  tail -n 20 "$log" >&2
  return 1
}

json_field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

find_bin() {
  [[ " ${targets[*]} " == *" $1 "* ]] || return 0
  find "$BUILD_DIR" -maxdepth 3 -type f -name "$1" -perm -u+x | head -n 1
}

step "kafka on 127.0.0.1:$KAFKA_PORT"
"$ROOT/deploy/kafka-local.sh" start --dir "$RUN_DIR/kafka" --port "$KAFKA_PORT" \
  --controller-port "$((KAFKA_PORT + 1))" --owner-pid $$
export KAFKA_BROKERS="127.0.0.1:$KAFKA_PORT"
# Demo secrets only: never use these for a real endpoint (hence loopback only).
set -a
# shellcheck source=demo/demo.env
source "$ROOT/deploy/demo/demo.env"
set +a
export INGEST_LISTEN="127.0.0.1:$INGEST_PORT"
# ingestd keeps acknowledging through Kafka restarts: records wait here until Kafka is back.
export INGEST_SPOOL_DIR=${INGEST_SPOOL_DIR:-$RUN_DIR/spool}

step "demo deploy target"
"$ROOT/deploy/demo/make-deploy-target.sh" "$RUN_DIR/deploy-target"
# The demo configuration plus the target; every binary reads this file.
export INGEST_CONFIG="$RUN_DIR/config.yaml"
{
  cat "$ROOT/deploy/demo/config.yaml"
  cat <<YAML
# Added by deploy/run-local.sh: the demo deploy target (deploy/demo/make-deploy-target.sh).
deploy:
  targets:
    - repo: example/app
      branch: main
      dir: $RUN_DIR/deploy-target/live
      commands:
        - [./deploy.sh]
      timeout_s: 30
YAML
  # The demo account's existing entries appear on dropbox.changes at the first notification.
  grep -q '^dropbox:' "$ROOT/deploy/demo/config.yaml" || printf 'dropbox:\n  initial_sync: emit\n'
} >"$INGEST_CONFIG"

step "topics"
"$BUILD_DIR/ctl/ingestctl" topics create

step "services"
started=" "
if bin=$(find_bin ingestd) && [[ -n "$bin" ]]; then
  start ingestd "$RUN_DIR/logs/ingestd.log" "$bin"
  started+="ingestd "
fi
if bin=$(find_bin deploy-worker) && [[ -n "$bin" ]]; then
  start deploy-worker "$RUN_DIR/logs/deploy-worker.log" \
    env WORKER_METRICS_LISTEN=127.0.0.1:9103 "$bin"
  started+="deploy-worker "
fi
if bin=$(find_bin chargify-worker) && [[ -n "$bin" ]]; then
  mkdir -p "$RUN_DIR/mail"
  start smtp-recorder "$RUN_DIR/logs/smtp-recorder.log" \
    /usr/bin/python3 -u "$ROOT/tests/standins/smtp_recorder.py" --host 127.0.0.1 --dir "$RUN_DIR/mail"
  ready=$(first_line "$RUN_DIR/logs/smtp-recorder.log")
  SMTP_PORT=$(json_field "$ready" smtp_port)
  MAIL_HTTP_PORT=$(json_field "$ready" http_port)
  start chargify-worker "$RUN_DIR/logs/chargify-worker.log" \
    env WORKER_METRICS_LISTEN=127.0.0.1:9102 SMTP_URL="smtp://127.0.0.1:$SMTP_PORT" \
    SMTP_FROM="${SMTP_FROM:-shop@example.com}" \
    DOWNLOAD_LINK_SECRET="${DOWNLOAD_LINK_SECRET:-demo-download-link-secret}" "$bin"
  started+="chargify-worker "
fi
if bin=$(find_bin dropbox-worker) && [[ -n "$bin" ]]; then
  start dropbox-api "$RUN_DIR/logs/dropbox-api.log" \
    /usr/bin/python3 -u "$ROOT/tests/standins/dropbox_api.py" --host 127.0.0.1 --demo
  ready=$(first_line "$RUN_DIR/logs/dropbox-api.log")
  DROPBOX_PORT=$(json_field "$ready" port)
  start dropbox-worker "$RUN_DIR/logs/dropbox-worker.log" \
    env WORKER_METRICS_LISTEN=127.0.0.1:9101 DROPBOX_APP_KEY=demo-dropbox-app-key \
    DROPBOX_TOKENS_FILE="$ROOT/deploy/demo/dropbox-tokens.yaml" \
    DROPBOX_API_URL="http://127.0.0.1:$DROPBOX_PORT" DROPBOX_OAUTH_URL="http://127.0.0.1:$DROPBOX_PORT" "$bin"
  started+="dropbox-worker "
fi
[[ "$started" != " " ]] || echo "(no service binaries are built yet: only Kafka and the topics are up)"

CTL="$BUILD_DIR/ctl/ingestctl"
ENVS="GITHUB_WEBHOOK_SECRET=$GITHUB_WEBHOOK_SECRET CHARGIFY_SHARED_KEY=$CHARGIFY_SHARED_KEY DROPBOX_APP_SECRET=$DROPBOX_APP_SECRET INGEST_LISTEN=$INGEST_LISTEN"
cat <<EOF

webhook-ingest is running (demo secrets, 127.0.0.1 only).
  Kafka:    $KAFKA_BROKERS   (data in $RUN_DIR/kafka)
  ingestd:  http://$INGEST_LISTEN/webhooks/{github,chargify,dropbox}
EOF
if [[ "$started" == *" ingestd "* ]]; then
  echo
  echo "Send a signed sample per provider (paste into another terminal in $ROOT):"
  if [[ "$started" == *" deploy-worker "* ]]; then
    cat <<EOF

  GitHub push -> deploy-worker deploys example/app into $RUN_DIR/deploy-target/live:
    $ENVS $CTL send github --file deploy/samples/github-push.json --event push
  See:  cat $RUN_DIR/deploy-target/DEPLOYED
        KAFKA_BROKERS=$KAFKA_BROKERS $CTL tail github.deploys --from-beginning
EOF
  fi
  if [[ "$started" == *" chargify-worker "* ]]; then
    cat <<EOF

  Chargify signup -> chargify-worker e-mails the customer (kept by the SMTP recorder):
    $ENVS $CTL send chargify --file deploy/samples/chargify-signup.txt
  See:  curl -s http://127.0.0.1:$MAIL_HTTP_PORT/messages   (raw: $RUN_DIR/mail/*.eml)
EOF
  fi
  if [[ "$started" == *" dropbox-worker "* ]]; then
    cat <<EOF

  Dropbox notification -> dropbox-worker lists the demo account's changes:
    $ENVS $CTL send dropbox --file deploy/samples/dropbox-notification.json
  See:  KAFKA_BROKERS=$KAFKA_BROKERS $CTL tail dropbox.changes --from-beginning
EOF
  fi
fi
echo
echo "Stop: Ctrl-C"

# Wait until interrupted, or until a service dies (then say which and stop the rest).
while ((stop_requested == 0)); do
  for i in "${!PIDS[@]}"; do
    if ! kill -0 "${PIDS[$i]}" 2>/dev/null && ((stop_requested == 0)); then
      echo "run-local: ${NAMES[$i]} exited; see $RUN_DIR/logs/${NAMES[$i]}.log" >&2
      exit 1
    fi
  done
  if ((stop_requested == 0)) && ! "$ROOT/deploy/kafka-local.sh" status --dir "$RUN_DIR/kafka" >/dev/null; then
    echo "run-local: Kafka exited; see $RUN_DIR/kafka/broker.log" >&2
    exit 1
  fi
  # A background sleep and `wait`: the INT/TERM trap runs at once, not after the sleep.
  sleep 1 &
  wait $! 2>/dev/null || true
done
cleanup
echo "run-local: stopped everything"
exit 0

#!/usr/bin/env bash
# Runs every test: installs what is missing (Debian packages, the Kafka jars), builds, starts a
# real Kafka broker on free loopback ports in a temporary directory, runs the unit,
# integration and system tiers through CTest, and stops the broker however the run ends.
#
#   deploy/test.sh [extra ctest arguments, e.g. -L unit or -R Ingestctl]
#
# Environment: BUILD_DIR (default build), BUILD_TYPE (default Release), ASAN=ON for
# AddressSanitizer + UBSan, CTEST_PARALLEL (default 2), KAFKA_TEST_PORT to pin the broker's
# port (default: a free one).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
BUILD_TYPE=${BUILD_TYPE:-Release}
ASAN=${ASAN:-OFF}
step() { printf '\n==> %s\n' "$*"; }

step "dependencies"
"$ROOT/deploy/install-deps.sh"
"$ROOT/deploy/kafka-local.sh" fetch

step "build ($BUILD_TYPE, ASAN=$ASAN) in $BUILD_DIR"
cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="$BUILD_TYPE" -DASAN="$ASAN" >/dev/null
ninja -C "$BUILD_DIR" -j2

step "kafka"
KAFKA_DIR=$(mktemp -d "${TMPDIR:-/tmp}/wi-test-kafka.XXXXXX")
cleanup() {
  local rc=$?
  "$ROOT/deploy/kafka-local.sh" stop --dir "$KAFKA_DIR" || true
  if ((rc == 0)); then rm -rf "$KAFKA_DIR"; else echo "test.sh: broker data and log kept in $KAFKA_DIR" >&2; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
read -r PORT CONTROLLER_PORT < <(python3 - <<'PY'
import socket
socks = [socket.socket() for _ in range(2)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])
PY
)
PORT=${KAFKA_TEST_PORT:-$PORT}
CONTROLLER_PORT=${KAFKA_TEST_CONTROLLER_PORT:-$CONTROLLER_PORT}
# --owner-pid: if this script dies without running its trap (kill -9), the broker follows.
if ! "$ROOT/deploy/kafka-local.sh" start --dir "$KAFKA_DIR" --port "$PORT" \
    --controller-port "$CONTROLLER_PORT" --owner-pid $$; then
  echo "test.sh: FAILED: the Kafka broker could not start (see above); no test was run" >&2
  exit 1
fi
export KAFKA_TEST_BROKERS="127.0.0.1:$PORT"

step "tests"
LOG="$BUILD_DIR/ctest-output.log"
set +e
# With no selection, the compose tier runs on its own after the others (below).
SELECTION=("$@")
(($# == 0)) && SELECTION=(-LE compose)
ctest --test-dir "$BUILD_DIR" --output-on-failure -j"${CTEST_PARALLEL:-2}" "${SELECTION[@]}" 2>&1 | tee "$LOG"
rc=${PIPESTATUS[0]}
set -e
if ((rc != 0)); then
  echo "test.sh: FAILED: some tests failed (ctest exit $rc)" >&2
  exit 1
fi
# A skipped test is not a pass, and a run without its real-broker tier proves little.
if grep -qE '\(Skipped\)|\(Not Run\)|\(Disabled\)' "$LOG"; then
  echo "test.sh: FAILED: some tests were skipped or did not run (see above)" >&2
  exit 1
fi
if (($# == 0)); then
  for tier in unit integration system; do
    if ! grep -qE "^$tier +=.*[1-9][0-9]* tests?\)" "$LOG"; then
      echo "test.sh: FAILED: the $tier tests did not run" >&2
      exit 1
    fi
  done
fi
# The compose tier: docker-compose.yml on a private Docker engine (tests/compose), one test at
# a time; its images are cached in ~/.cache/webhook-ingest/docker between runs.
if (($# == 0)); then
  step "compose tier"
  COMPOSE_LOG="$BUILD_DIR/ctest-compose.log"
  compose_t0=$SECONDS
  set +e
  ctest --test-dir "$BUILD_DIR" --output-on-failure -L compose 2>&1 | tee "$COMPOSE_LOG"
  rc=${PIPESTATUS[0]}
  set -e
  echo "test.sh: the compose tier took $((SECONDS - compose_t0))s"
  if ((rc != 0)) || ! grep -qE "^compose +=.*[1-9][0-9]* tests?\)" "$COMPOSE_LOG"; then
    echo "test.sh: FAILED: the compose tier failed or did not run (ctest exit $rc)" >&2
    exit 1
  fi
fi
echo "test.sh: all tests passed"

#!/usr/bin/env bash
# Runs every test: installs what is missing (Debian packages, the Kafka jars), builds, starts a
# real Kafka broker on free loopback ports in a temporary directory, runs the unit,
# integration and system tiers through CTest, and stops the broker however the run ends.
# A full run (or EXTRA_TIERS=1) then also runs the sanitizer tier (the unit and integration
# tiers again, built with AddressSanitizer + UBSan in $ASAN_BUILD_DIR) and the fuzz tier
# (tests/fuzz/run.sh: every libFuzzer target for FUZZ_SECONDS), then (or COMPOSE_TIER=1) the
# compose tier (docker-compose.yml on a private Docker engine), and prints each tier's time.
#
#   deploy/test.sh [extra ctest arguments, e.g. -L unit or -R Ingestctl]
#
# Environment: BUILD_DIR (default build), BUILD_TYPE (default Release), ASAN=ON for
# AddressSanitizer + UBSan in the main build, CTEST_PARALLEL (default 2), KAFKA_TEST_PORT to
# pin the broker's port (default: a free one). EXTRA_TIERS=1 runs the sanitizer tier (with the
# same ctest arguments on a filtered run) and the fuzz tier; ASAN_BUILD_DIR (default
# build-asan), FUZZ_SECONDS (default 30 per target). COMPOSE_TIER=1 runs the compose tier
# (tests/compose) after a filtered run too; COMPOSE_TIER=0 leaves it out of a full run.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
BUILD_TYPE=${BUILD_TYPE:-Release}
ASAN=${ASAN:-OFF}
ASAN_BUILD_DIR=${ASAN_BUILD_DIR:-$ROOT/build-asan}
# A full run (no arguments) adds the sanitizer, fuzz and compose tiers (the compose tier
# rebuilds the product images after a C++ change; README "Tests" has the times).
EXTRA_TIERS=${EXTRA_TIERS:-$(( $# == 0 ? 1 : 0 ))}
COMPOSE_TIER=${COMPOSE_TIER:-$(( $# == 0 ? 1 : 0 ))}
step() { printf '\n==> %s\n' "$*"; }
TIMES=()
timed() {  # timed LABEL COMMAND...: runs it and records how long it took
  local label=$1 start=$SECONDS rc=0
  shift
  "$@" || rc=$?
  TIMES+=("$label: $((SECONDS - start)) s")
  return "$rc"
}

step "dependencies"
"$ROOT/deploy/install-deps.sh"
"$ROOT/deploy/kafka-local.sh" fetch

step "build ($BUILD_TYPE, ASAN=$ASAN) in $BUILD_DIR"
cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="$BUILD_TYPE" -DASAN="$ASAN" >/dev/null
timed "build" ninja -C "$BUILD_DIR" -j2
if ((EXTRA_TIERS)); then
  # -O1 -g1: sanitizer reports with file and line, asserts on, and half the compile time of
  # -O2 -g (about 9 instead of 20 CPU-seconds per file with g++ 12). Only what the tier runs.
  step "build with AddressSanitizer + UBSan in $ASAN_BUILD_DIR"
  cmake -S "$ROOT" -B "$ASAN_BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DASAN=ON \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DWEBHOOK_INGEST_BENCHMARKS=OFF >/dev/null
  timed "asan build" ninja -C "$ASAN_BUILD_DIR" -j2 unit_tests integration_tests
fi

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
# run_ctest BUILD_DIR LOG [ctest arguments]: fails on a failed, skipped or not-run test.
run_ctest() {
  local dir=$1 log=$2 rc
  shift 2
  set +e
  # --no-tests=error: a filter that matches nothing (a typo in -R, -L system in the sanitizer
  # tier) fails instead of passing with zero tests.
  ctest --test-dir "$dir" --output-on-failure --no-tests=error -j"${CTEST_PARALLEL:-2}" "$@" 2>&1 |
    tee "$log"
  rc=${PIPESTATUS[0]}
  set -e
  if ((rc != 0)); then
    echo "test.sh: FAILED: some tests failed in $dir (ctest exit $rc)" >&2
    return 1
  fi
  # A skipped test is not a pass, and a run without its real-broker tier proves little.
  if grep -qE '\(Skipped\)|\(Not Run\)|\(Disabled\)' "$log"; then
    echo "test.sh: FAILED: some tests were skipped or did not run in $dir (see above)" >&2
    return 1
  fi
}
# require_tiers LOG TIER...: each label's summary line shows at least one test.
require_tiers() {
  local log=$1 tier
  shift
  for tier in "$@"; do
    if ! grep -qE "^$tier +=.*[1-9][0-9]* tests?\)" "$log"; then
      echo "test.sh: FAILED: the $tier tests did not run ($log)" >&2
      return 1
    fi
  done
}

# With no selection, the compose tier runs on its own after the others (below).
SELECTION=("$@")
(($# == 0)) && SELECTION=(-LE compose)
timed "tests" run_ctest "$BUILD_DIR" "$LOG" "${SELECTION[@]}" || exit 1
if (($# == 0)); then
  require_tiers "$LOG" unit integration system || exit 1
fi

if ((EXTRA_TIERS)); then
  step "sanitizer tier: unit + integration under AddressSanitizer + UBSan"
  ASAN_LOG="$ASAN_BUILD_DIR/ctest-output.log"
  # detect_leaks: a leak fails the test like any other sanitizer report.
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
  if (($# == 0)); then
    timed "asan tests" run_ctest "$ASAN_BUILD_DIR" "$ASAN_LOG" -L 'unit|integration' || exit 1
    require_tiers "$ASAN_LOG" unit integration || exit 1
  else
    # Only unit and integration are built there (system tests would show as NOT_BUILT).
    timed "asan tests" run_ctest "$ASAN_BUILD_DIR" "$ASAN_LOG" -L 'unit|integration' "$@" || exit 1
  fi
  step "fuzz tier: tests/fuzz/run.sh"
  FUZZ_LOG="$BUILD_DIR/fuzz-output.log"
  rc=0
  timed "fuzz" bash -c '"$0" 2>&1 | tee "$1"; exit "${PIPESTATUS[0]}"' \
    "$ROOT/tests/fuzz/run.sh" "$FUZZ_LOG" || rc=$?
  if ((rc != 0)) || ! grep -qE '^fuzz: all [1-9][0-9]* targets ran' "$FUZZ_LOG"; then
    echo "test.sh: FAILED: the fuzz tier failed or did not run (see $FUZZ_LOG)" >&2
    exit 1
  fi
fi

# The compose tier: docker-compose.yml on a private Docker engine (tests/compose), one test at
# a time; its images are cached in ~/.cache/webhook-ingest/docker between runs.
if ((COMPOSE_TIER)); then
  step "compose tier"
  COMPOSE_LOG="$BUILD_DIR/ctest-compose.log"
  timed "compose" run_ctest "$BUILD_DIR" "$COMPOSE_LOG" -L compose || exit 1
  require_tiers "$COMPOSE_LOG" compose || exit 1
fi

step "times"
printf '  %s\n' "${TIMES[@]}"
echo "test.sh: all tests passed"

#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, FUZZ=ON, in their own build directory) and runs each
# one on its seed corpus (tests/fuzz/corpus/<target>/) for a bounded time. Fails on any crash,
# sanitizer report, leak or slow input; the input that failed is kept as
# <artifacts>/<target>-crash-… (and must become a regression unit test).
#
#   tests/fuzz/run.sh [target ...]        (default: every target)
#
# Environment: FUZZ_SECONDS per target (default 30), FUZZ_BUILD_DIR (default build-fuzz),
# FUZZ_ARTIFACTS (default $FUZZ_BUILD_DIR/artifacts), FUZZ_INPUT_TIMEOUT seconds for one input
# (default 10), CXX_FUZZ compiler (default clang++-14).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${FUZZ_BUILD_DIR:-$ROOT/build-fuzz}
SECONDS_EACH=${FUZZ_SECONDS:-30}
ARTIFACTS=${FUZZ_ARTIFACTS:-$BUILD/artifacts}
INPUT_TIMEOUT=${FUZZ_INPUT_TIMEOUT:-10}
CXX_FUZZ=${CXX_FUZZ:-clang++-14}
TARGETS=("$@")
if ((${#TARGETS[@]} == 0)); then
  TARGETS=(request_parser_fuzz form_codec_fuzz sources_fuzz spool_record_fuzz config_fuzz)
fi

launcher=()
command -v ccache >/dev/null 2>&1 && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFUZZ=ON \
  -DCMAKE_CXX_COMPILER="$CXX_FUZZ" -DWEBHOOK_INGEST_BENCHMARKS=OFF "${launcher[@]}" >/dev/null
ninja -C "$BUILD" -j"${FUZZ_JOBS:-2}" "${TARGETS[@]}"

mkdir -p "$ARTIFACTS"
# Inputs the fuzzers find go to a scratch corpus, never into the repository's seeds. The spool
# target writes files: on tmpfs its fsyncs cost nothing.
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/wi-fuzz.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT
if [[ -d /dev/shm && -w /dev/shm ]]; then export TMPDIR=/dev/shm; fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=()
for target in "${TARGETS[@]}"; do
  seeds="$ROOT/tests/fuzz/corpus/$target"
  [[ -d "$seeds" ]] || { echo "fuzz: no seed corpus $seeds" >&2; exit 1; }
  mkdir -p "$SCRATCH/$target"
  printf '\n==> fuzz %s for %ss\n' "$target" "$SECONDS_EACH"
  if "$BUILD/tests/fuzz/$target" -max_total_time="$SECONDS_EACH" -timeout="$INPUT_TIMEOUT" \
      -rss_limit_mb=2048 -max_len=8192 -print_final_stats=1 \
      -artifact_prefix="$ARTIFACTS/$target-" "$SCRATCH/$target" "$seeds" \
      >"$SCRATCH/$target.log" 2>&1; then
    grep -E '^stat::number_of_executed_units|^Done [0-9]+ runs' "$SCRATCH/$target.log" || true
  else
    tail -n 60 "$SCRATCH/$target.log"
    echo "fuzz: $target FAILED (input kept under $ARTIFACTS)" >&2
    failed+=("$target")
  fi
done
if ((${#failed[@]} > 0)); then
  echo "fuzz: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: all ${#TARGETS[@]} targets ran ${SECONDS_EACH}s each without a finding"

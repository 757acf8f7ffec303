#!/usr/bin/env bash
# Measures ingestd's spool while Kafka is down (README "Benchmarks"): a private broker on free
# loopback ports, ingestd with a spool, the broker stopped, then
#   1. `ingestctl bench` closed loop (64 connections, 2 KB GitHub bodies, 20 s): spool-only
#      throughput and latency; its Kafka check waits for the broker and must find every id;
#   2. a fresh spool of exactly SPOOL_DRAIN_RECORDS (100,000) records sent open loop, then the
#      broker started: the time from "broker ready" until ingest_spool_records is 0.
# Usage: tests/bench/spool_outage.sh [build dir]. Leaves nothing running.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD_DIR=${1:-$ROOT/build}
INGESTD=$BUILD_DIR/ingest/ingestd
INGESTCTL=$BUILD_DIR/ctl/ingestctl
DURATION=${SPOOL_BENCH_DURATION:-20s}
DRAIN_RECORDS=${SPOOL_DRAIN_RECORDS:-100000}
WORK=$(mktemp -d /tmp/spool-bench.XXXXXX)

# shellcheck source=tests/bench/lib.sh
source "$ROOT/tests/bench/lib.sh"
trap bench_cleanup EXIT

export KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT
export TOPIC_PREFIX=bench.
export INGEST_LISTEN=127.0.0.1:$INGEST_PORT
export INGEST_CONFIG=
export GITHUB_WEBHOOK_SECRET=spool-bench-secret
export INGEST_SPOOL_DIR=$WORK/spool
export INGEST_SPOOL_MAX_BYTES=$((8 << 30))  # a 20 s outage at full speed spools over 1 GiB
export LOG_LEVEL=warn

start_kafka
"$INGESTCTL" topics create >/dev/null
start_ingestd
stop_kafka

echo "== 1. broker down: spool-only throughput ($DURATION, 64 connections, 2048-byte bodies)"
"$INGESTCTL" bench --source github --concurrency 64 --duration "$DURATION" --body-bytes 2048 \
  --ack-check-timeout 600s >"$WORK/bench.log" 2>&1 &
BENCH_PID=$!
wait_for_load "$BENCH_PID" "$WORK/bench.log"
spooled=$(metric ingest_spool_records)
echo "spooled records: $spooled, spool bytes: $(metric ingest_spool_bytes)"
start_kafka
wait "$BENCH_PID" || { cat "$WORK/bench.log"; echo "bench failed" >&2; exit 1; }
cat "$WORK/bench.log"
wait_for_metric_zero ingest_spool_records

echo
echo "== 2. drain of $DRAIN_RECORDS spooled records"
stop_kafka
rate=20000
"$INGESTCTL" bench --source github --rate "$rate" --concurrency 64 \
  --duration "$((DRAIN_RECORDS / rate))s" --body-bytes 2048 \
  --ack-check-timeout 600s >"$WORK/drain-bench.log" 2>&1 &
BENCH_PID=$!
wait_for_load "$BENCH_PID" "$WORK/drain-bench.log"
spooled=$(metric ingest_spool_records)
drained_before=$(metric ingest_spool_drained_total)
echo "spooled records: $spooled ($(metric ingest_spool_bytes) bytes)"
start_kafka
ready=$(date +%s.%N)
wait_for_metric_zero ingest_spool_records
done_at=$(date +%s.%N)
drained=$(python3 -c "print(int($(metric ingest_spool_drained_total) - $drained_before))")
python3 -c "t=$done_at-$ready; print(f'drained {$drained} records in {t:.2f} s after the broker was ready ({$drained/t:,.0f} records/s)')"
wait "$BENCH_PID" || { cat "$WORK/drain-bench.log"; echo "bench failed" >&2; exit 1; }
grep '^check' "$WORK/drain-bench.log"

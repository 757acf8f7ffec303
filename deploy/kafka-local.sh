#!/usr/bin/env bash
# A real single-node Apache Kafka broker (KRaft, loopback) for local runs and tests.
#
#   kafka-local.sh fetch
#       Resolves the pinned release's jars through Maven Central (deploy/kafka/pom.xml) into
#       ${WEBHOOK_INGEST_CACHE:-~/.cache/webhook-ingest}/kafka-<version>. Cached; no-op after.
#   kafka-local.sh start --dir DIR [--port P] [--controller-port C] [--owner-pid PID]
#                        [--timeout SECONDS]
#       Formats DIR as KRaft storage if needed, starts the broker on 127.0.0.1:P (default 9092),
#       and waits until metadata answers. With --owner-pid the broker is also stopped as soon as
#       that process is gone (a killed test run leaves nothing behind).
#   kafka-local.sh stop --dir DIR
#       Stops exactly the broker started with that DIR (pid file + command-line check).
#   kafka-local.sh status --dir DIR
#
# Tuning for benchmarks (defaults are Kafka's): KAFKA_HEAP (512m), KAFKA_GC_OPTS (G1 with a
# 20 ms pause goal), KAFKA_NETWORK_THREADS (3), KAFKA_IO_THREADS (8).
set -euo pipefail
# shellcheck source=deploy/owner_watchdog.sh
source "$(dirname "${BASH_SOURCE[0]}")/owner_watchdog.sh"

KAFKA_VERSION=3.9.1
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE_ROOT=${WEBHOOK_INGEST_CACHE:-$HOME/.cache/webhook-ingest}
LIBS="$CACHE_ROOT/kafka-$KAFKA_VERSION/libs"
HEAP=${KAFKA_HEAP:-512m}

die() { echo "kafka-local: $*" >&2; exit 1; }

fetch() {
  [[ -f "$LIBS/.complete" ]] && return 0
  command -v mvn >/dev/null || die "maven is not installed (run deploy/install-deps.sh)"
  command -v java >/dev/null || die "java is not installed (run deploy/install-deps.sh)"
  echo "kafka-local: fetching Apache Kafka $KAFKA_VERSION jars from Maven Central" >&2
  local tmp="$LIBS.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  if ! mvn -q -B -f "$HERE/kafka/pom.xml" -Dkafka.version="$KAFKA_VERSION" \
      dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp" >&2; then
    rm -rf "$tmp"
    die "could not fetch the Kafka jars through Maven"
  fi
  ls "$tmp"/kafka_2.13-"$KAFKA_VERSION".jar >/dev/null 2>&1 || die "kafka_2.13-$KAFKA_VERSION.jar missing after fetch"
  rm -rf "$LIBS"
  mv "$tmp" "$LIBS"
  touch "$LIBS/.complete"
}

port_in_use() {
  # Succeeds when something accepts connections on 127.0.0.1:$1.
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

broker_pid() {
  local dir=$1 pid
  [[ -f "$dir/broker.pid" ]] || return 1
  pid=$(cat "$dir/broker.pid")
  # Never signal a recycled pid: it must still be our broker for this directory.
  if [[ -r "/proc/$pid/cmdline" ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "kafka.Kafka $dir/server.properties"; then
    echo "$pid"
    return 0
  fi
  return 1
}

# Runs java with the cached jars on the classpath ("libs/*" is Java's wildcard, not the shell's).
run_java() {
  local dir=$1
  shift
  # shellcheck disable=SC2086 # KAFKA_GC_OPTS holds several flags
  exec java -Xms128m "-Xmx$HEAP" ${KAFKA_GC_OPTS:--XX:+UseG1GC -XX:MaxGCPauseMillis=20} -Djava.awt.headless=true \
    "-Dlog4j.configuration=file:$dir/log4j.properties" -cp "$LIBS/*" "$@"
}

write_config() {
  local dir=$1 port=$2 cport=$3
  mkdir -p "$dir/data"
  cat >"$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$dir/data
num.partitions=6
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
# Webhook bodies may be 25 MiB (SPEC §4).
message.max.bytes=27262976
replica.fetch.max.bytes=27262976
log.segment.bytes=134217728
# Kafka's defaults; KAFKA_NETWORK_THREADS / KAFKA_IO_THREADS let benchmarks try others.
num.network.threads=${KAFKA_NETWORK_THREADS:-3}
num.io.threads=${KAFKA_IO_THREADS:-8}
PROPS
  cat >"$dir/log4j.properties" <<'PROPS'
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka=INFO
log4j.logger.org.apache.kafka=INFO
log4j.logger.state.change.logger=WARN
PROPS
}

start() {
  local dir="" port=9092 cport="" owner="" timeout=90
  while (($#)); do
    case $1 in
      --dir) dir=$2; shift 2 ;;
      --port) port=$2; shift 2 ;;
      --controller-port) cport=$2; shift 2 ;;
      --owner-pid) owner=$2; shift 2 ;;
      --timeout) timeout=$2; shift 2 ;;
      *) die "start: unknown argument $1" ;;
    esac
  done
  [[ -n "$dir" ]] || die "start: --dir is required"
  [[ -n "$cport" ]] || cport=$((port + 1))
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  fetch
  if pid=$(broker_pid "$dir"); then die "a broker for $dir is already running (pid $pid)"; fi
  port_in_use "$port" && die "cannot start Kafka: port $port on 127.0.0.1 is already in use"
  port_in_use "$cport" && die "cannot start Kafka: controller port $cport on 127.0.0.1 is already in use"
  write_config "$dir" "$port" "$cport"
  if [[ ! -f "$dir/data/meta.properties" ]]; then
    local cluster_id
    # URL-safe base64 of 16 random bytes, as Kafka's own Uuid; one starting with '-' would be
    # read as an option by the storage tool (1 start in 64 failed so), so draw again (as
    # Kafka's Uuid.randomUuid does).
    cluster_id=-
    while [[ "$cluster_id" == -* ]]; do
      cluster_id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
    done
    (run_java "$dir" kafka.tools.StorageTool format -t "$cluster_id" \
      -c "$dir/server.properties") >"$dir/format.log" 2>&1 ||
      { tail -n 20 "$dir/format.log" >&2; die "formatting the KRaft storage in $dir failed"; }
  fi
  local t0=$SECONDS
  # Stopped explicitly, by `stop` or by the owner watchdog below (a background job of a script
  # ignores the terminal's Ctrl-C).
  run_java "$dir" kafka.Kafka "$dir/server.properties" >"$dir/broker.log" 2>&1 </dev/null &
  local pid=$!
  echo "$pid" >"$dir/broker.pid"
  echo "127.0.0.1:$port" >"$dir/bootstrap"
  # The same stop as `stop` (terminate, owner_watchdog.sh), run by the watchdog.
  [[ -n "$owner" ]] && watch_owner "$owner" "$pid" "$dir/watchdog.pid" terminate "$pid" 10
  while true; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "kafka-local: the broker exited during startup; last lines of $dir/broker.log:" >&2
      tail -n 30 "$dir/broker.log" >&2
      rm -f "$dir/broker.pid"
      exit 1
    fi
    if kcat -L -b "127.0.0.1:$port" -m 2 >/dev/null 2>&1; then break; fi
    if ((SECONDS - t0 >= timeout)); then
      echo "kafka-local: the broker did not answer metadata requests within ${timeout}s; last lines of $dir/broker.log:" >&2
      tail -n 30 "$dir/broker.log" >&2
      stop --dir "$dir"
      exit 1
    fi
    sleep 0.2
  done
  echo "kafka-local: Kafka $KAFKA_VERSION ready on 127.0.0.1:$port after $((SECONDS - t0))s (pid $pid, data $dir)" >&2
}

stop() {
  local dir=""
  while (($#)); do
    case $1 in
      --dir) dir=$2; shift 2 ;;
      *) die "stop: unknown argument $1" ;;
    esac
  done
  [[ -n "$dir" ]] || die "stop: --dir is required"
  [[ -d "$dir" ]] || return 0
  dir=$(cd "$dir" && pwd)
  stop_watchdog "$dir/watchdog.pid"
  local pid
  # 10 s for a clean broker shutdown. `|| true`: the pid file goes even if the broker outlived
  # SIGKILL (terminate has said so on stderr).
  if pid=$(broker_pid "$dir"); then terminate "$pid" 10 || true; fi
  rm -f "$dir/broker.pid"
}

status() {
  local dir=""
  while (($#)); do
    case $1 in
      --dir) dir=$2; shift 2 ;;
      *) die "status: unknown argument $1" ;;
    esac
  done
  if pid=$(broker_pid "$(cd "$dir" 2>/dev/null && pwd)"); then
    echo "running (pid $pid, $(cat "$dir/bootstrap"))"
  else
    echo "stopped"
    return 1
  fi
}

cmd=${1:-}
shift || true
case $cmd in
  fetch) fetch ;;
  start) start "$@" ;;
  stop) stop "$@" ;;
  status) status "$@" ;;
  version) echo "$KAFKA_VERSION" ;;
  *) echo "usage: $0 fetch | start --dir DIR [--port P] [--controller-port C] [--owner-pid PID] [--timeout S] | stop --dir DIR | status --dir DIR" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# A private Docker engine for the compose tests and for trying the compose file on a machine
# without a running Docker service (see shared DOCKER.md for the facts behind each flag).
#
#   engine.sh start --dir DIR [--owner-pid PID] [--timeout SECONDS]
#       Starts dockerd with its socket, pid file, exec root and log under DIR, networking that
#       cannot touch the host (no bridge, no iptables, no ip_forward), and makes sure the
#       `debian:12` base image exists (see `base`). Writes DIR/env (DOCKER_HOST=...).
#       The image store (data root) is ~/.cache/webhook-ingest/docker when no other engine
#       holds it (a lock), so images and build layers survive between runs; otherwise DIR/data.
#       Everything left in a cached data root by an earlier run (containers, volumes) is
#       removed first. With --owner-pid the engine is stopped as soon as that process is gone.
#   engine.sh stop --dir DIR
#       Stops exactly that dockerd (by its pid file), unmounts what it left under DIR and the
#       data root, and removes DIR.
#   engine.sh base
#       (with DOCKER_HOST set) Imports `debian:12` (also tagged debian:12-slim) from the cached
#       root file system ~/.cache/webhook-ingest/debian-12-minbase.tar, made first with
#       `debootstrap --variant=minbase bookworm` from the mirror apt uses when it is missing.
set -euo pipefail
# shellcheck source=deploy/owner_watchdog.sh
source "$(dirname "${BASH_SOURCE[0]}")/../owner_watchdog.sh"

CACHE_ROOT=${WEBHOOK_INGEST_CACHE:-$HOME/.cache/webhook-ingest}
BASE_TAR="$CACHE_ROOT/debian-12-minbase.tar"
CACHED_DATA_ROOT="$CACHE_ROOT/docker"

die() { echo "engine: $*" >&2; exit 1; }
log() { echo "engine: $*" >&2; }

need() {
  local missing=()
  for tool in dockerd docker debootstrap flock; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  ((${#missing[@]} == 0)) || die "missing ${missing[*]} (run deploy/install-deps.sh)"
}

daemon_pid() {
  local dir=$1 pid
  [[ -f "$dir/dockerd.pid" ]] || return 1
  pid=$(cat "$dir/dockerd.pid")
  # Never signal a recycled pid: it must still be the dockerd serving this directory's socket.
  [[ -r "/proc/$pid/cmdline" ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "unix://$dir/docker.sock" &&
    echo "$pid"
}

mirror() {
  local m=""
  if [[ -f /etc/apt/sources.list.d/debian.sources ]]; then
    m=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources)
  fi
  if [[ -z "$m" && -f /etc/apt/sources.list ]]; then
    m=$(awk '$1=="deb" && $3 ~ /^bookworm$/ {print $2; exit}' /etc/apt/sources.list)
  fi
  echo "${m:-http://deb.debian.org/debian}"
}

make_base_tar() {
  [[ -s "$BASE_TAR" ]] && return 0
  mkdir -p "$CACHE_ROOT"
  local tmp
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/wi-debootstrap.XXXXXX")
  log "making the debian:12 base with debootstrap (about a minute, cached in $BASE_TAR)"
  if ! debootstrap --variant=minbase bookworm "$tmp/rootfs" "$(mirror)" >"$tmp/debootstrap.log" 2>&1; then
    tail -n 20 "$tmp/debootstrap.log" >&2
    rm -rf "$tmp"
    die "debootstrap failed"
  fi
  # The official image's apt hygiene: no package lists or downloaded .debs in the base.
  rm -rf "$tmp/rootfs/var/lib/apt/lists/"* "$tmp/rootfs/var/cache/apt/archives/"*.deb
  tar --numeric-owner -C "$tmp/rootfs" -cf "$BASE_TAR.tmp.$$" .
  mv "$BASE_TAR.tmp.$$" "$BASE_TAR"
  rm -rf "$tmp"
}

base() {
  [[ -n "${DOCKER_HOST:-}" ]] || die "base: DOCKER_HOST is not set"
  if ! docker image inspect debian:12 >/dev/null 2>&1; then
    make_base_tar
    docker import -c 'CMD ["bash"]' "$BASE_TAR" debian:12 >/dev/null
    log "imported debian:12 from $BASE_TAR"
  fi
  docker tag debian:12 debian:12-slim
  docker tag debian:12 debian:bookworm-slim
}

unmount_under() {
  local prefix=$1
  # Deepest first; a lazy unmount for anything still busy.
  awk -v p="$prefix" '$2 ~ "^"p {print $2}' /proc/mounts | sort -r | while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done
}

start() {
  local dir="" owner="" timeout=30
  while (($#)); do
    case $1 in
      --dir) dir=$2; shift 2 ;;
      --owner-pid) owner=$2; shift 2 ;;
      --timeout) timeout=$2; shift 2 ;;
      *) die "start: unknown argument $1" ;;
    esac
  done
  [[ -n "$dir" ]] || die "start: --dir is required"
  need
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if pid=$(daemon_pid "$dir"); then die "an engine for $dir is already running (pid $pid)"; fi
  # A unix socket path is limited to 107 bytes.
  ((${#dir} < 90)) || die "start: --dir path too long for a unix socket: $dir"

  local data_root="$dir/data" cached=0
  mkdir -p "$CACHE_ROOT"
  exec {lock_fd}>"$CACHE_ROOT/docker.lock"
  if flock -n "$lock_fd"; then
    data_root=$CACHED_DATA_ROOT
    cached=1
    # The lock is held by the daemon (it inherits the descriptor) until it exits.
  else
    log "another engine holds $CACHED_DATA_ROOT; using a fresh image store in $dir/data"
    exec {lock_fd}>&-
  fi
  echo "$data_root" >"$dir/data-root"

  dockerd --iptables=false --ip6tables=false --bridge=none --ip-forward=false --ip-masq=false \
    --storage-driver overlay2 --data-root "$data_root" --exec-root "$dir/exec" \
    --pidfile "$dir/dockerd.pid" -H "unix://$dir/docker.sock" \
    >"$dir/dockerd.log" 2>&1 </dev/null &
  local pid=$!
  ((cached)) && exec {lock_fd}>&-
  echo "DOCKER_HOST=unix://$dir/docker.sock" >"$dir/env"
  export DOCKER_HOST="unix://$dir/docker.sock"
  [[ -n "$owner" ]] && watch_owner "$owner" "$pid" "$dir/watchdog.pid" "$0" stop --dir "$dir"
  local t0=$SECONDS
  until docker version >/dev/null 2>&1; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 30 "$dir/dockerd.log" >&2
      die "dockerd exited during startup (log above, $dir/dockerd.log)"
    fi
    if ((SECONDS - t0 >= timeout)); then
      tail -n 30 "$dir/dockerd.log" >&2
      stop --dir "$dir"
      die "dockerd did not answer within ${timeout}s"
    fi
    sleep 0.2
  done
  if ((cached)); then
    # Leftovers of a run that was killed before its clean-up: containers and volumes go,
    # images and build layers stay (that is what the cache is for).
    local leftovers
    leftovers=$(docker ps -aq)
    [[ -z "$leftovers" ]] || docker rm -f $leftovers >/dev/null
    docker volume prune -f >/dev/null
    # A user-defined network is a Linux bridge on the host: none may outlive a run.
    docker network prune -f >/dev/null
    # Untagged images a week old: builds replaced since. Not younger ones: the product
    # image's build stage is untagged too (only COPY --from uses it) and is the costly cache.
    docker image prune -f --filter until=168h >/dev/null
  fi
  base
  log "dockerd ready after $((SECONDS - t0))s (pid $pid, DOCKER_HOST=$DOCKER_HOST, images in $data_root)"
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
  # 15 s for dockerd's own shutdown (it stops its containers first). `|| true`: the unmounts
  # and the removal of DIR below run even if it outlived SIGKILL (terminate has said so).
  if pid=$(daemon_pid "$dir"); then terminate "$pid" 15 || true; fi
  local data_root
  data_root=$(cat "$dir/data-root" 2>/dev/null || echo "$dir/data")
  unmount_under "$dir/"
  unmount_under "$data_root/"
  rm -rf "$dir"
}

cmd=${1:-}
shift || true
case $cmd in
  start) start "$@" ;;
  stop) stop "$@" ;;
  base) need; base ;;
  *) echo "usage: $0 start --dir DIR [--owner-pid PID] [--timeout S] | stop --dir DIR | base" >&2; exit 2 ;;
esac

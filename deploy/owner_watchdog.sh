# Sourced by deploy/kafka-local.sh and deploy/docker/engine.sh: the --owner-pid watchdog.
#
#   watch_owner OWNER_PID CHILD_PID WATCHDOG_PIDFILE COMMAND...
#
# Starts a background job that waits while both OWNER_PID and CHILD_PID are alive; when the
# owner is gone (a test script killed with -9, say) and the child still runs, it removes
# WATCHDOG_PIDFILE and runs COMMAND to stop the child. It ignores INT, TERM and HUP: a
# terminal's Ctrl-C reaches the owner, which stops the child itself. Its pid is written to
# WATCHDOG_PIDFILE, so an explicit stop can end it first.
watch_owner() {
  local owner=$1 child=$2 pidfile=$3
  shift 3
  (
    trap '' INT TERM HUP
    while kill -0 "$owner" 2>/dev/null && kill -0 "$child" 2>/dev/null; do sleep 1; done
    rm -f "$pidfile"
    if kill -0 "$child" 2>/dev/null; then "$@"; fi
  ) </dev/null >/dev/null 2>&1 &
  echo $! >"$pidfile"
}

# stop_watchdog WATCHDOG_PIDFILE: ends a watchdog started by watch_owner (an explicit stop).
stop_watchdog() {
  local pidfile=$1
  if [[ -f "$pidfile" ]]; then
    kill -KILL "$(cat "$pidfile")" 2>/dev/null || true  # it ignores TERM (see above)
    rm -f "$pidfile"
  fi
}

# shellcheck shell=bash
# Sourced by deploy/kafka-local.sh, deploy/docker/engine.sh and tests/bench/compare.sh:
#   terminate                  the one SIGTERM-then-SIGKILL stop of a process, used by their
#                              explicit stops and by their watchdogs;
#   watch_owner, stop_watchdog the --owner-pid watchdog: a process that must not outlive its
#                              owner is stopped when the owner is gone.
#
#   terminate PID [GRACE_SECONDS]
#
# Sends SIGTERM, and SIGKILL if PID is still there after GRACE_SECONDS (whole seconds, default
# 10); returns once PID is gone, at once for a pid that already is. It polls (`alive`), not
# `wait`, so it works for any pid, not only the caller's children: `stop` runs in another
# process than the `start` that launched the daemon, and a watchdog stops its owner's child. A
# caller that started PID itself may still `wait` for it afterwards, for its exit status.
# Returns 1, with a message, if PID outlives even SIGKILL by 5 s (a process stuck in the
# kernel).
terminate() {
  local pid=$1 grace=${2:-10}
  alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  gone_within "$pid" "$grace" && return 0
  kill -KILL "$pid" 2>/dev/null || true
  gone_within "$pid" 5 && return 0
  echo "terminate: pid $pid is still there 5 s after SIGKILL" >&2
  return 1
}

# gone_within PID SECONDS: succeeds as soon as PID is gone (polled every 0.1 s: a stop should
# not take longer than the process needs), fails if it is still there after SECONDS.
gone_within() {
  local pid=$1 ticks=$(($2 * 10)) i
  for ((i = 0; i < ticks; i++)); do
    alive "$pid" || return 0
    sleep 0.1
  done
  ! alive "$pid"
}

# alive PID: the process exists and has not exited. kill -0 alone also succeeds on a zombie
# (exited, not yet reaped by its parent), and a daemon's parent is init, which in a container
# or sandbox may reap late or never: such a process is gone for a stop.
alive() {
  local stat
  kill -0 "$1" 2>/dev/null || return 1
  # Unreadable (a /proc mounted with hidepid, or it exited just now): kill -0's word stands,
  # and the next poll sees it gone.
  read -r stat 2>/dev/null <"/proc/$1/stat" || return 0
  # The state follows the command name in parentheses, which may itself hold ") ".
  stat=${stat##*) }
  [[ ${stat:0:1} != Z ]]
}

#   watch_owner OWNER_PID CHILD_PID WATCHDOG_PIDFILE COMMAND...
#
# Starts a background job that waits while both OWNER_PID and CHILD_PID are alive; when the
# owner is gone (a test script killed with -9, say) and the child still runs, it removes
# WATCHDOG_PIDFILE and runs COMMAND to stop the child. COMMAND may be a shell function of the
# caller (`terminate CHILD_PID`, say): the watchdog is a subshell, so it has them, and it
# outlives the owner. It ignores INT, TERM and HUP: a terminal's Ctrl-C reaches the owner,
# which stops the child itself. Its pid is written to WATCHDOG_PIDFILE, so an explicit stop
# can end it first.
watch_owner() {
  local owner=$1 child=$2 pidfile=$3
  shift 3
  (
    trap '' INT TERM HUP
    while alive "$owner" && alive "$child"; do sleep 1; done
    rm -f "$pidfile"
    if alive "$child"; then "$@"; fi
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

#!/usr/bin/python3
"""One snapshot of a process's CPU counters from /proc, as JSON on stdout (for
tests/bench/cpu_breakdown.sh, which takes one before and one after the measured load and hands
both to cpu_table.py).

    proc_snapshot.py --threads PID [--process NAME=PID ...]

--threads PID: the process total and, per thread, its name (/proc/PID/task/TID/comm), utime
and stime (clock ticks, /proc/PID/task/TID/stat) and voluntary and nonvoluntary context
switches (/proc/PID/task/TID/status).
--process NAME=PID: only the process total utime + stime (e.g. the broker's JVM), which also
counts threads that have exited.

Only the standard library.
"""
import argparse
import json
import os
import sys
import time


def stat_times(path):
    """utime and stime, in clock ticks, from a /proc stat file."""
    with open(path) as f:
        text = f.read()
    # The name (field 2) may hold spaces and parentheses: count fields from the last ')'.
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)


def context_switches(path):
    counts = {}
    with open(path) as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches"):
                counts[key.split("_")[0]] = int(value)
    return counts


def threads_of(pid):
    threads = {}
    task_dir = f"/proc/{pid}/task"
    for tid in os.listdir(task_dir):
        base = f"{task_dir}/{tid}"
        try:
            with open(f"{base}/comm") as f:
                name = f.read().rstrip("\n")
            utime, stime = stat_times(f"{base}/stat")
            switches = context_switches(f"{base}/status")
        except (FileNotFoundError, ProcessLookupError):
            continue  # the thread exited while we looked
        threads[tid] = {"name": name, "utime": utime, "stime": stime, **switches}
    return threads


def process_times(pid):
    utime, stime = stat_times(f"/proc/{pid}/stat")
    return {"pid": int(pid), "utime": utime, "stime": stime}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", required=True, metavar="PID")
    parser.add_argument("--process", action="append", default=[], metavar="NAME=PID")
    args = parser.parse_args()
    snapshot = {
        "monotonic_s": time.monotonic(),
        "clock_ticks_per_s": os.sysconf("SC_CLK_TCK"),
        "process": process_times(args.threads),
        "threads": threads_of(args.threads),
        "others": {},
    }
    for item in args.process:
        name, _, pid = item.partition("=")
        snapshot["others"][name] = process_times(pid)
    json.dump(snapshot, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()

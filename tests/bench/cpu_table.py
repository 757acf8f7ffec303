#!/usr/bin/python3
"""Where ingestd's CPU goes per acknowledged request, as a markdown table (for
tests/bench/cpu_breakdown.sh).

    cpu_table.py --title TEXT --before JSON --after JSON --bench-log FILE [--perf-stat CSV]

--before/--after: two proc_snapshot.py snapshots around the measured load (ingestd's threads,
and the process totals of "broker"). --bench-log: the output of `ingestctl bench`; its last
line is the JSON summary, whose "acknowledged" (ids answered 200, found by the Kafka check) is
the divisor. --perf-stat: `perf stat --per-thread -x, -e raw_syscalls:sys_enter` over the same
window.

Threads are grouped by name with a trailing number folded into "*" (rdk:broker1 and
rdk:broker-1 are "rdk:broker*"). utime and stime come in clock ticks (10 ms): a group needs
a few ticks in the window before its figure means much. Only the standard library.
"""
import argparse
import json
import re
import sys

# What the groups are, for a reader who does not know the thread names.
KNOWN = {
    "http": "Pistache reactors: read, parse, verify, produce",
    "kafka:reports": "delivery reports (rd_kafka_poll callbacks)",
    "rdk:main": "librdkafka main thread",
    "rdk:broker*": "librdkafka broker threads: batching, socket I/O",
    "http:sweeper": "idle and slow connection sweeper",
    "readiness": "Kafka readiness probe",
    "spool:writer": "spool writer",
    "spool:drainer": "spool drainer",
    "ingestd": "main thread, Pistache's acceptor",
}


def group_of(name):
    return re.sub(r"-?\d+$", "*", name)


def syscalls_by_tid(path):
    """tid -> count, from `perf stat --per-thread -x,` lines "comm-tid,count,unit,event,...".
    Threads perf attached to but that exited before the end are kept (their name too)."""
    counts, names = {}, {}
    if not path:
        return counts, names
    with open(path) as f:
        for line in f:
            fields = line.rstrip("\n").split(",")
            if len(fields) < 4 or fields[3] != "raw_syscalls:sys_enter":
                continue
            name, _, tid = fields[0].rpartition("-")
            if not fields[1].isdigit():
                continue  # "<not counted>"
            counts[tid] = counts.get(tid, 0) + int(fields[1])
            names[tid] = name
    return counts, names


def bench_summary(path):
    with open(path) as f:
        lines = [line for line in f if line.startswith("{")]
    if not lines:
        sys.exit(f"cpu_table: no JSON summary in {path}")
    return json.loads(lines[-1])


class Row:
    def __init__(self):
        self.threads = 0
        self.ticks = 0
        self.system_ticks = 0
        self.switches = 0
        self.syscalls = 0


def group_rows(before, after, syscalls, syscall_names):
    rows = {}
    for tid, now in after["threads"].items():
        then = before["threads"].get(tid, {})  # a thread born in the window counts from 0
        row = rows.setdefault(group_of(now["name"]), Row())
        row.threads += 1
        row.ticks += now["utime"] + now["stime"] - then.get("utime", 0) - then.get("stime", 0)
        row.system_ticks += now["stime"] - then.get("stime", 0)
        for kind in ("voluntary", "nonvoluntary"):
            row.switches += now.get(kind, 0) - then.get(kind, 0)
        row.syscalls += syscalls.get(tid, 0)
    # Threads that exited in the window: the process total still holds their CPU.
    total = Row()
    total.threads = sum(r.threads for r in rows.values())
    for key in ("utime", "stime"):
        total.ticks += after["process"][key] - before["process"][key]
    total.system_ticks = after["process"]["stime"] - before["process"]["stime"]
    total.switches = sum(r.switches for r in rows.values())
    total.syscalls = sum(syscalls.values())
    gone = Row()
    gone.ticks = total.ticks - sum(r.ticks for r in rows.values())
    gone.system_ticks = total.system_ticks - sum(r.system_ticks for r in rows.values())
    gone.syscalls = sum(n for tid, n in syscalls.items() if tid not in after["threads"])
    gone.threads = len({tid for tid in syscall_names if tid not in after["threads"]})
    return rows, gone, total


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--title", required=True)
    parser.add_argument("--before", required=True)
    parser.add_argument("--after", required=True)
    parser.add_argument("--bench-log", required=True)
    parser.add_argument("--perf-stat")
    args = parser.parse_args()
    with open(args.before) as f:
        before = json.load(f)
    with open(args.after) as f:
        after = json.load(f)
    bench = bench_summary(args.bench_log)
    syscalls, syscall_names = syscalls_by_tid(args.perf_stat)

    requests, counted = bench["acknowledged"], "acknowledged"
    if requests is None:  # the Kafka check did not finish: fall back to the 200 answers
        requests, counted = bench["status"].get("200", 0), "answered 200 (no Kafka check result)"
    if not requests:
        sys.exit("cpu_table: no request was acknowledged")
    window_s = after["monotonic_s"] - before["monotonic_s"]
    us_per_tick = 1e6 / after["clock_ticks_per_s"]
    rows, gone, total = group_rows(before, after, syscalls, syscall_names)

    def cpu_us(ticks):
        return f"{ticks * us_per_tick / requests:.1f}"

    def kernel_share(row):
        return f"{100 * row.system_ticks / row.ticks:.0f}%" if row.ticks > 0 else "–"

    def per_request(n):
        return f"{n / requests:.2f}"

    def cores(ticks):
        return ticks * us_per_tick / 1e6 / window_s

    broker_ticks = sum(
        after["others"]["broker"][k] - before["others"]["broker"][k] for k in ("utime", "stime")
    )
    broker_system = after["others"]["broker"]["stime"] - before["others"]["broker"]["stime"]
    answered = bench["responses"]
    print(f"### {args.title}")
    print()
    print(
        f"Offered {bench['rate']:,.0f} req/s for {bench['duration_s']:g} s: {requests:,} {counted} "
        f"(of {answered:,} answers; {bench['rps']:,.0f} req/s, p50 {bench['p50_ms']:.2f} ms, "
        f"p99 {bench['p99_ms']:.2f} ms). Window {window_s:.2f} s: ingestd "
        f"{cores(total.ticks):.2f} cores, broker {cores(broker_ticks):.2f} cores."
    )
    print()
    print("| thread group | threads | CPU µs / request | kernel share | context switches / request "
          "| syscalls / request |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, row in sorted(rows.items(), key=lambda item: (-item[1].ticks, item[0])):
        label = f"`{name}`: {KNOWN[name]}" if name in KNOWN else f"`{name}`"
        print(f"| {label} | {row.threads} | {cpu_us(row.ticks)} | {kernel_share(row)} "
              f"| {per_request(row.switches)} | {per_request(row.syscalls)} |")
    # Every thread's utime and stime are whole ticks, cut down: the groups may fall short of the
    # process total by up to two ticks a thread without any thread having exited.
    if gone.ticks > 2 * len(set(before["threads"]) | set(after["threads"])) or gone.syscalls:
        print(f"| threads that exited in the window | {gone.threads or ''} | {cpu_us(gone.ticks)} "
              f"| {kernel_share(gone)} | | {per_request(gone.syscalls)} |")
    print(f"| **ingestd, all threads** | {total.threads} | **{cpu_us(total.ticks)}** "
          f"| {kernel_share(total)} | {per_request(total.switches)} "
          f"| {per_request(total.syscalls) if args.perf_stat else ''} |")
    broker = Row()
    broker.ticks, broker.system_ticks = broker_ticks, broker_system
    print(f"| Kafka broker (JVM, whole process) | | {cpu_us(broker_ticks)} | {kernel_share(broker)} "
          f"| | |")
    client_us = bench["client_cpu_s"] * 1e6 / requests
    print(f"| ingestctl bench (client, load phase) | | {client_us:.1f} | | | |")


if __name__ == "__main__":
    main()

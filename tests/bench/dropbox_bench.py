#!/usr/bin/env python3
"""dropbox-worker benchmark (README "Benchmarks"): a private broker on free loopback ports, the
Dropbox API stand-in, a real ingestd and N dropbox-worker processes.

    tests/bench/dropbox_bench.py [--build build] [--processes 1] [--split] [--accounts 100]
                                 [--entries 2000] [--burst 1000]

1. Throughput: every account holds --entries entries; one signed notification names every
   account (initial_sync: emit, page size 2000, no call cap), and the clock runs from the
   notification's 200 until the workers' dropbox_changes_total reach accounts × entries.
2. Burst: --burst signed notifications, each naming one account (uniformly over the
   accounts; one new entry per notification, made before the burst), sent back to back over
   16 keep-alive connections; once every new entry is on dropbox.changes, the stand-in's
   list_folder(/continue) calls are divided by the number of notifications.
Leaves nothing running. Only the standard library.
"""
import argparse
import hashlib
import hmac
import http.client
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_support import (free_port, http_up, metric_sum, run_in_threads,  # noqa: E402
                           wait_until)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SECRET = "bench-dropbox-secret"


def http_json(url, payload=None):
    data = None if payload is None else json.dumps(payload).encode()
    req = urllib.request.Request(url, data=data, method="POST" if data else "GET",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.loads(r.read() or b"{}")


class Signed:
    """Keep-alive POSTs of signed Dropbox notifications to ingestd."""

    def __init__(self, port):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def post(self, accounts):
        body = json.dumps({"list_folder": {"accounts": accounts},
                           "delta": {"users": [12345]}, "nonce": random.random()}).encode()
        sig = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        self.conn.request("POST", "/webhooks/dropbox", body,
                          {"Content-Type": "application/json", "X-Dropbox-Signature": sig})
        r = self.conn.getresponse()
        r.read()
        if r.status != 200:
            raise SystemExit("ingestd answered %d" % r.status)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--processes", type=int, default=1)
    ap.add_argument("--accounts", type=int, default=100)
    ap.add_argument("--entries", type=int, default=2000)
    ap.add_argument("--burst", type=int, default=1000)
    ap.add_argument("--split", action="store_true",
                    help="one more process fans out (DROPBOX_CONSUME=notifications), the N "
                         "processes only poll (DROPBOX_CONSUME=accounts)")
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="dropbox-bench.")
    kafka_port, controller_port, ingest_port = free_port(), free_port(), free_port()
    procs = []
    env = dict(os.environ, KAFKA_BROKERS="127.0.0.1:%d" % kafka_port, LOG_LEVEL="warn",
               INGEST_CONFIG="", TOPIC_PARTITIONS="6")
    try:
        subprocess.run([ROOT + "/deploy/kafka-local.sh", "start", "--dir", work + "/kafka",
                        "--port", str(kafka_port), "--controller-port", str(controller_port)],
                       check=True, stdout=subprocess.DEVNULL)
        subprocess.run([args.build + "/ctl/ingestctl", "topics", "create"], env=env, check=True,
                       stdout=subprocess.DEVNULL)

        standin = subprocess.Popen([sys.executable, ROOT + "/tests/standins/dropbox_api.py",
                                    "--page-size", "2000"], stdout=subprocess.PIPE, text=True)
        procs.append(standin)
        api = "http://127.0.0.1:%d" % json.loads(standin.stdout.readline())["port"]

        accounts = ["dbid:bench-%03d" % i for i in range(args.accounts)]
        tokens = {}
        for i, account in enumerate(accounts):
            http_json(api + "/_control/accounts", {"account": account, "access_token": "t%d" % i})
            tokens[account] = {"access_token": "t%d" % i}
            http_json(api + "/_control/entries", {"account": account, "entries": [
                {".tag": "file", "path_display": "/seed/%05d.txt" % n} for n in range(args.entries)]})
        with open(work + "/tokens.json", "w") as f:
            json.dump(tokens, f)

        procs.append(subprocess.Popen(
            [args.build + "/ingest/ingestd"],
            env=dict(env, INGEST_LISTEN="127.0.0.1:%d" % ingest_port, DROPBOX_APP_SECRET=SECRET),
            stdout=subprocess.DEVNULL, stderr=open(work + "/ingestd.log", "w")))
        metrics_ports = []
        roles = ["accounts" if args.split else "both"] * args.processes
        if args.split:
            roles.append("notifications")
        for n, role in enumerate(roles):
            port = free_port()
            metrics_ports.append(port)
            procs.append(subprocess.Popen(
                [args.build + "/workers/dropbox/dropbox-worker"],
                env=dict(env, WORKER_METRICS_LISTEN="127.0.0.1:%d" % port, DROPBOX_API_URL=api,
                         DROPBOX_OAUTH_URL=api, DROPBOX_TOKENS_FILE=work + "/tokens.json",
                         DROPBOX_INITIAL_SYNC="emit", DROPBOX_MAX_CALLS_PER_SECOND="0",
                         DROPBOX_CONSUME=role),
                stdout=subprocess.DEVNULL, stderr=open(work + "/worker-%d.log" % n, "w")))
        wait_until("ingestd", lambda: http_up(ingest_port, "/healthz"), 30)
        for port in metrics_ports:
            wait_until("dropbox-worker", lambda: http_up(port, "/metrics"), 30)
        # Every process has its share of the 12 partitions (6 notification, 6 account) before
        # the clock starts, and the assignment has settled: a sum of 12 alone can be one process
        # holding everything while the other's join is still being balanced.
        settled_since = [None]

        def assignment_settled():  # true once the shares held for 2 s
            shares = [metric_sum([port], "worker_assigned_partitions") for port in metrics_ports]
            if sum(shares) != 12 or not all(share > 0 for share in shares):
                settled_since[0] = None
                return False
            settled_since[0] = settled_since[0] or time.time()
            return time.time() - settled_since[0] >= 2
        wait_until("a settled assignment", assignment_settled, 90)

        sender = Signed(ingest_port)
        expected = args.accounts * args.entries
        cpu_before = {p.pid: cpu_seconds(p.pid) for p in procs}
        started = time.time()
        sender.post(accounts)
        wait_until("%d changes" % expected,
                   lambda: metric_sum(metrics_ports, "dropbox_changes_total") >= expected, 600)
        seconds = time.time() - started
        print("throughput: %d processes%s, %d accounts x %d entries: %d changes in %.2f s = %.0f "
              "changes/s" % (args.processes, " polling + 1 fanning out" if args.split else "",
                             args.accounts, args.entries, expected, seconds, expected / seconds))
        names = ["stand-in", "ingestd"] + ["worker-%d (%s)" % (n, r) for n, r in enumerate(roles)]
        print("  CPU over that time: " + ", ".join(
            "%s %.0f%%" % (name, 100 * (cpu_seconds(p.pid) - cpu_before[p.pid]) / seconds)
            for name, p in zip(names, procs)))

        def list_calls():
            calls = http_json(api + "/_control/stats")["calls"]
            return sum(sum(calls.get(e, {}).values())
                       for e in ("list_folder", "list_folder_continue"))

        before = list_calls()
        changes_before = metric_sum(metrics_ports, "dropbox_changes_total")
        rng = random.Random(7)
        burst = [rng.choice(accounts) for _ in range(args.burst)]
        # One new entry per notification, all made before the burst (as a user's rapid edits
        # are made before Dropbox's notifications about them arrive).
        for account in accounts:
            n = burst.count(account)
            if n:
                http_json(api + "/_control/entries", {"account": account, "entries": [
                    {".tag": "file", "path_display": "/burst/%05d.txt" % i} for i in range(n)]})
        started = time.time()
        senders = [Signed(ingest_port) for _ in range(16)]
        run_in_threads([lambda i=i: [senders[i].post([a]) for a in burst[i::16]]
                        for i in range(16)])
        sent = time.time() - started
        wait_until("burst changes", lambda: metric_sum(
            metrics_ports, "dropbox_changes_total") >= changes_before + args.burst, 300)
        calls = list_calls() - before
        coalesced = metric_sum(metrics_ports, "dropbox_coalesced_total")
        print("burst: %d notifications over %d accounts (sent in %.2f s): %d list calls = %.3f "
              "calls per notification, %d account records coalesced, %d changes emitted" % (
                  args.burst, args.accounts, sent, calls, calls / args.burst, coalesced,
                  metric_sum(metrics_ports, "dropbox_changes_total") - changes_before))
        stats = http_json(api + "/_control/stats")
        print("overlapping calls for one account: %d" % sum(stats["overlaps"].values()))
    finally:
        for p in reversed(procs):
            p.send_signal(signal.SIGTERM)
        for p in reversed(procs):
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        subprocess.run([ROOT + "/deploy/kafka-local.sh", "stop", "--dir", work + "/kafka"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run(["rm", "-rf", work])


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Fulfilment benchmark for chargify-worker (README "Benchmarks"): signed signup_success
webhooks through the real ingestd, the real broker, 1..N worker processes and the local SMTP
recorder (which answers at once).

    tests/bench/chargify_fulfilment_bench.py --brokers 127.0.0.1:9092 [--build build]
        [--workers 1] [--signups 2000] [--clients 4]

Reports fulfilments per second (first 200 from ingestd to the last message at the SMTP
server) and the latency from each webhook's 200 to the SMTP server receiving its e-mail
(p50/p90/p99/max), then checks that every signup got exactly one e-mail. Uses its own topic
prefix (the ledger is the real chargify.fulfilments, made by `ingestctl topics create`; fresh
subscription ids every run); the processes it starts are stopped at the end.
"""

import argparse
import datetime
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
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_support import (free_port, http_up, metric_sum, run_in_threads,  # noqa: E402
                           wait_until)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SECRET = "bench-chargify-key"


def metric(port, sample):
    return metric_sum([port], sample + " ")


def signup_body(n, base):
    sub = base + n
    return (f"id={sub}&event=signup_success&payload[subscription][id]={sub}"
            f"&payload[subscription][state]=active"
            f"&payload[subscription][customer][email]=bench-{sub}%40example.com"
            f"&payload[subscription][customer][first_name]=Bench&payload[subscription][customer]"
            f"[last_name]=Customer{n}&payload[subscription][product][handle]=ebook-basic"
            f"&payload[site][subdomain]=bench")


def rfc3339_to_epoch(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100.0 * len(values)))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--brokers", required=True)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--signups", type=int, default=2000)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--rate", type=float, default=0,
                    help="webhooks per second in all (0: as fast as ingestd answers)")
    args = ap.parse_args()

    scratch = tempfile.mkdtemp(prefix="chargify-bench-")
    run = f"{random.randrange(1 << 30):x}"
    prefix = f"bench-{run}."
    procs = []
    env = dict(os.environ, KAFKA_BROKERS=args.brokers, TOPIC_PREFIX=prefix, LOG_LEVEL="warn",
               CHARGIFY_SHARED_KEY=SECRET,
               SMTP_FROM="shop@example.com", DOWNLOAD_LINK_SECRET="bench-link-secret",
               KAFKA_GROUP=f"bench-{run}", TOPIC_PARTITIONS="6")
    ctl = os.path.join(args.build, "ctl", "ingestctl")
    try:
        subprocess.run([ctl, "topics", "create"], env=env, check=True, stdout=subprocess.DEVNULL)
        recorder = subprocess.Popen(
            ["/usr/bin/python3", os.path.join(ROOT, "tests/standins/smtp_recorder.py"),
             "--dir", os.path.join(scratch, "mail")], stdout=subprocess.PIPE, text=True)
        procs.append(recorder)
        ports = json.loads(recorder.stdout.readline())
        env["SMTP_URL"] = f"smtp://127.0.0.1:{ports['smtp_port']}"
        ingest_port = free_port()
        ingestd = subprocess.Popen([os.path.join(args.build, "ingest", "ingestd")],
                                   env=dict(env, INGEST_LISTEN=f"127.0.0.1:{ingest_port}"),
                                   stdout=open(os.path.join(scratch, "ingestd.log"), "w"),
                                   stderr=subprocess.STDOUT)
        procs.append(ingestd)
        wait_until("ingestd", lambda: http_up(ingest_port, "/healthz"), 30)
        metric_ports = [free_port() for _ in range(args.workers)]
        workers = {}

        def start_worker(i):
            workers[i] = subprocess.Popen(
                [os.path.join(args.build, "workers", "chargify", "chargify-worker"), "--config",
                 os.path.join(ROOT, "deploy/demo/config.yaml")],
                env=dict(env, WORKER_METRICS_LISTEN=f"127.0.0.1:{metric_ports[i]}"),
                stdout=open(os.path.join(scratch, f"worker-{i}.log"), "a"),
                stderr=subprocess.STDOUT)
            procs.append(workers[i])

        for i in range(args.workers):
            start_worker(i)
        restarts = 0
        end = time.time() + 90
        while time.time() < end:
            # The runtime's state restore gives up (exit 1) on NOT_LEADER from a topic created
            # a moment ago; start such a worker again, as an orchestrator would.
            for i, p in workers.items():
                if p.poll() is not None and restarts < 10:
                    restarts += 1
                    start_worker(i)
            assigned = [metric(mp, 'worker_assigned_partitions{worker="chargify"}')
                        for mp in metric_ports]
            if sum(assigned) == 6 and all(a > 0 for a in assigned):
                break
            time.sleep(0.2)
        else:
            raise SystemExit(f"the workers did not share the 6 partitions (logs in {scratch})")

        base = random.randrange(10**8, 9 * 10**8)
        acked = {}  # email → time of the 200
        lock = threading.Lock()

        def client(indexes):
            conn = http.client.HTTPConnection("127.0.0.1", ingest_port, timeout=30)
            interval = args.clients / args.rate if args.rate > 0 else 0
            next_at = time.time()
            for n in indexes:
                if interval:
                    next_at += interval
                    time.sleep(max(0, next_at - time.time()))
                body = signup_body(n, base)
                sig = hmac.new(SECRET.encode(), body.encode(), hashlib.sha256).hexdigest()
                conn.request("POST", "/webhooks/chargify", body=body, headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    "X-Chargify-Webhook-Signature-Hmac-Sha-256": sig,
                    "Connection": "keep-alive"})
                r = conn.getresponse()
                r.read()
                t = time.time()
                if r.status != 200:
                    raise SystemExit(f"ingestd answered {r.status}")
                with lock:
                    acked[f"bench-{base + n}@example.com"] = t
                if r.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", ingest_port, timeout=30)

        started = time.time()
        run_in_threads([lambda i=i: client(range(i, args.signups, args.clients))
                        for i in range(args.clients)])
        post_seconds = time.time() - started
        deadline = time.time() + 600
        messages = []
        while time.time() < deadline:
            with urllib.request.urlopen(f"http://127.0.0.1:{ports['http_port']}/messages") as r:
                messages = json.load(r)
            if len(messages) >= args.signups:
                break
            time.sleep(0.5)
        received = {}
        for m in messages:
            for rcpt in m["rcpt_to"]:
                received.setdefault(rcpt, []).append(rfc3339_to_epoch(m["received_at"]))
        missing = [e for e in acked if e not in received]
        duplicates = sum(len(v) - 1 for v in received.values())
        latencies = [min(received[e]) - t for e, t in acked.items() if e in received]
        first_ack = min(acked.values())
        last_mail = max(max(v) for v in received.values())
        sent = [metric(mp, 'chargify_fulfilments_total{outcome="sent"}') for mp in metric_ports]

        def mean_ms(name, labels=""):
            total = sum(metric(mp, name + "_sum" + labels) for mp in metric_ports)
            count = sum(metric(mp, name + "_count" + labels) for mp in metric_ports)
            return round(total / count * 1000, 2) if count else None
        print(json.dumps({
            "workers": args.workers, "signups": args.signups, "clients": args.clients,
            "post_seconds": round(post_seconds, 2),
            "fulfilments_per_second": round(len(latencies) / (last_mail - first_ack), 1),
            "latency_ms": {"p50": round(percentile(latencies, 50) * 1000, 1),
                           "p90": round(percentile(latencies, 90) * 1000, 1),
                           "p99": round(percentile(latencies, 99) * 1000, 1),
                           "max": round(max(latencies) * 1000, 1)},
            "sent_per_worker": sent, "missing": len(missing), "duplicates": duplicates,
            "mean_smtp_ms": mean_ms("chargify_smtp_seconds"),
            "mean_handle_ms": mean_ms("worker_handle_seconds", '{worker="chargify"}'),
            "worker_restarts_at_startup": restarts}))
        return 1 if missing or duplicates else 0
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()


if __name__ == "__main__":
    sys.exit(main())

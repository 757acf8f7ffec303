"""Helpers shared by the Python benchmarks in tests/bench (ports, /metrics, waiting).
Only the standard library."""
import socket
import threading
import time
import urllib.request


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def http_up(port, path):
    """True when GET 127.0.0.1:port/path answers 200."""
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def wait_until(what, done, limit):
    """Polls `done` until it is true; exits naming `what` after `limit` seconds."""
    deadline = time.time() + limit
    while time.time() < deadline:
        if done():
            return
        time.sleep(0.02)
    raise SystemExit("timed out waiting for " + what)


def metric_sum(ports, prefix):
    """The sum over `ports` of every /metrics sample whose series starts with `prefix` (a name,
    or a name with its labels for one series); unreachable ports count 0."""
    total = 0.0
    for port in ports:
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5) as r:
                text = r.read().decode()
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith(prefix) and not line.startswith("#"):
                total += float(line.rsplit(" ", 1)[1])
    return total


def run_in_threads(jobs):
    """Runs each callable in `jobs` on its own thread and waits for all. An exception raised in
    a thread (SystemExit included) only ends that thread, so each is caught there and the
    first one ends the bench here, with the number of threads that failed."""
    failures = []
    lock = threading.Lock()

    def guarded(job):
        try:
            job()
        except BaseException as e:  # SystemExit too: a failed request must fail the bench
            with lock:
                failures.append("%s: %s" % (type(e).__name__, e))

    threads = [threading.Thread(target=guarded, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise SystemExit("%d of %d threads failed; first: %s" % (len(failures), len(jobs), failures[0]))

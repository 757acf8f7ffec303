"""Helpers shared by the Python benchmarks in tests/bench (ports, /metrics, waiting).
Only the standard library."""
import socket
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

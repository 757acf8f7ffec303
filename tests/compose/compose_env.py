"""The compose tier's environment: a private Docker engine and the project on it.

`Engine` starts and stops dockerd through deploy/docker/engine.sh (DOCKER.md's rules: no bridge,
no iptables, its own roots; the base image cached between runs). `Project` runs docker-compose
with docker-compose.yml + docker-compose.demo.yml + an override made here for host networking:
every listener on 127.0.0.1 and on a port that was free when the run started, since containers
share the host's network and other runs may be using the defaults (9092, 8080, ...).
"""

import json
import os
import socket
import subprocess
import time
from pathlib import Path

import docker
import yaml

ROOT = Path(__file__).resolve().parents[2]
ENGINE = ROOT / "deploy" / "docker" / "engine.sh"
COMPOSE_FILES = [ROOT / "docker-compose.yml", ROOT / "docker-compose.demo.yml"]
WORKERS = {"chargify-worker": "chargify", "dropbox-worker": "dropbox", "deploy-worker": "deploy"}
# Services `up` starts: all but the opt-in profiles (grafana pulls a registry image; ingestctl
# is for `run`).
LONG_RUNNING = ["kafka", "ingestd", *WORKERS, "prometheus", "smtp-catcher", "dropbox-api"]
ONE_SHOT = ["topics", "demo-target"]


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def deadline_loop(seconds, what, interval=0.5):
    """Yields until the caller breaks out; raises AssertionError naming `what` at the deadline."""
    end = time.monotonic() + seconds
    while True:
        yield
        if time.monotonic() >= end:
            raise AssertionError(f"timed out after {seconds}s waiting for {what}")
        time.sleep(interval)


class Engine:
    def __init__(self, directory):
        self.dir = Path(directory)

    def start(self):
        subprocess.run([str(ENGINE), "start", "--dir", str(self.dir), "--owner-pid",
                        str(os.getpid()), "--timeout", "60"], check=True)
        env = dict(line.split("=", 1) for line in (self.dir / "env").read_text().split())
        self.host = env["DOCKER_HOST"]
        self.pid = int((self.dir / "dockerd.pid").read_text())
        self.client = docker.DockerClient(base_url=self.host, timeout=120)

    def stop(self):
        subprocess.run([str(ENGINE), "stop", "--dir", str(self.dir)], check=False)


class Ports:
    NAMES = ["kafka", "controller", "ingestd", "chargify", "dropbox", "deploy", "prometheus",
             "smtp", "smtp_http", "dropbox_api"]

    def __init__(self):
        for name, port in zip(self.NAMES, free_ports(len(self.NAMES))):
            setattr(self, name, port)

    @property
    def brokers(self):
        return f"127.0.0.1:{self.kafka}"


def host_network_override(ports, scaled=False):
    """The test environment's override: host networking, loopback listeners on free ports.

    With `scaled`, workers listen for metrics on port 0 (replicas share the host's ports) and
    so have no health check; everything else is the same.
    """
    def app(**env):
        return {"network_mode": "host", "environment": {"KAFKA_BROKERS": ports.brokers, **env}}

    def py_health(port):
        return {"test": ["CMD", "python3", "-c", "import urllib.request; urllib.request.urlopen("
                         f"'http://127.0.0.1:{port}/healthz', timeout=2)"]}

    def worker(port):
        if scaled:
            return app(WORKER_METRICS_LISTEN="127.0.0.1:0") | {"healthcheck": {"disable": True}}
        return app(WORKER_METRICS_LISTEN=f"127.0.0.1:{port}")

    services = {
        "kafka": {"network_mode": "host", "environment": {
            "KAFKA_LISTENERS": f"PLAINTEXT://127.0.0.1:{ports.kafka},CONTROLLER://127.0.0.1:{ports.controller}",
            "KAFKA_ADVERTISED_LISTENERS": f"PLAINTEXT://127.0.0.1:{ports.kafka}",
            "KAFKA_CONTROLLER_QUORUM_VOTERS": f"1@127.0.0.1:{ports.controller}",
            "KAFKA_HEAP": "384m"}},
        "topics": app(),
        "ingestctl": app(),
        "ingestd": app(INGEST_LISTEN=f"127.0.0.1:{ports.ingestd}"),
        "chargify-worker": worker(ports.chargify),
        "dropbox-worker": worker(ports.dropbox),
        "deploy-worker": worker(ports.deploy),
        "demo-target": {"network_mode": "host"},
        "grafana": {"network_mode": "host"},
        "prometheus": {
            "network_mode": "host",
            "environment": {"PROMETHEUS_PORT": str(ports.prometheus)},
            "command": ["--config.file=/etc/prometheus/prometheus.yml",
                        "--storage.tsdb.path=/prometheus",
                        f"--web.listen-address=127.0.0.1:{ports.prometheus}"],
        },
        "smtp-catcher": {
            "network_mode": "host",
            "command": ["/opt/standins/smtp_recorder.py", "--host", "127.0.0.1", "--smtp-port",
                        str(ports.smtp), "--http-port", str(ports.smtp_http), "--dir",
                        "/var/lib/smtp-recorder"],
            "healthcheck": py_health(ports.smtp_http),
        },
        "dropbox-api": {
            "network_mode": "host",
            "command": ["/opt/standins/dropbox_api.py", "--demo", "--host", "127.0.0.1",
                        "--port", str(ports.dropbox_api)],
            "healthcheck": py_health(ports.dropbox_api),
        },
    }
    services["chargify-worker"]["environment"]["SMTP_URL"] = f"smtp://127.0.0.1:{ports.smtp}"
    api = f"http://127.0.0.1:{ports.dropbox_api}"
    services["dropbox-worker"]["environment"].update(DROPBOX_API_URL=api, DROPBOX_OAUTH_URL=api)
    # Without this compose creates a bridge network for the project, i.e. a Linux bridge and a
    # route on the host, even though no service joins it.
    return {"services": services, "networks": {"default": {"external": True, "name": "host"}}}


def prometheus_config(ports):
    """docker-compose.yml's Prometheus finds replicas through Docker's DNS, which host
    networking does not have: here the same jobs scrape fixed loopback targets."""
    base = yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    targets = {"ingestd": ports.ingestd, "dropbox-worker": ports.dropbox,
               "chargify-worker": ports.chargify, "deploy-worker": ports.deploy,
               "prometheus": ports.prometheus}
    for job in base["scrape_configs"]:
        job.pop("dns_sd_configs", None)
        job["static_configs"] = [{"targets": [f"127.0.0.1:{targets[job['job_name']]}"]}]
    return base


class Project:
    def __init__(self, engine, work_dir, ports, name):
        self.engine = engine
        self.dir = Path(work_dir)
        self.ports = ports
        self.name = name
        self.override = self.dir / "override.yml"
        self.scaled_override = self.dir / "override-scaled.yml"
        prom = self.dir / "prometheus.yml"
        prom.write_text(yaml.safe_dump(prometheus_config(ports)))
        self.log = open(self.dir / "compose.log", "a")
        self.resolved = {}
        for path, scaled in [(self.override, False), (self.scaled_override, True)]:
            doc = host_network_override(ports, scaled)
            doc["services"]["prometheus"]["volumes"] = [f"{prom}:/etc/prometheus/prometheus.yml:ro"]
            path.write_text(yaml.safe_dump(doc))
            self.resolved[scaled] = self.resolve(path, self.dir / f"resolved{'-scaled' if scaled else ''}.yml")

    def resolve(self, override, out):
        """The user's files plus the override, resolved by docker-compose itself, minus the
        published ports: an override can add to a `ports` list but not empty it, and Docker
        refuses published ports with host networking (every listener is on the host already)."""
        cmd = ["docker-compose"]
        for f in [*COMPOSE_FILES, override]:
            cmd += ["-f", str(f)]
        text = subprocess.run(cmd + ["config"], cwd=ROOT, env=self.env(), check=True,
                              capture_output=True, text=True).stdout
        doc = yaml.safe_load(text)
        for service in doc["services"].values():
            service.pop("ports", None)
        out.write_text(yaml.safe_dump(doc))
        return out

    def env(self):
        return {"PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "HOME": os.environ.get("HOME", "/root"),
                # The CAs this machine added to its trust (Debian's place for a proxy's CA):
                # the Kafka image's Maven stage needs them where HTTPS goes through one.
                "BUILD_EXTRA_CA_PEM": "".join(
                    p.read_text() for p in sorted(Path("/usr/local/share/ca-certificates").glob("*.crt"))),
                "DOCKER_HOST": self.engine.host,
                # The engine's own API builds (legacy builder, build.network honoured); no
                # dependence on whichever docker CLI or buildx plugin the machine has.
                "COMPOSE_DOCKER_CLI_BUILD": "0", "DOCKER_BUILDKIT": "0",
                "COMPOSE_PROJECT_NAME": self.name, "COMPOSE_HTTP_TIMEOUT": "300"}

    def compose(self, *args, scaled=False, timeout=600, check=True, capture=False, stdin=None):
        cmd = ["docker-compose", "--ansi", "never", "--project-directory", str(ROOT),
               "-f", str(self.resolved[scaled]), *args]
        self.log.write(f"\n$ {' '.join(args)}\n")
        self.log.flush()
        result = subprocess.run(cmd, cwd=ROOT, env=self.env(), timeout=timeout, input=stdin,
                                stdout=subprocess.PIPE if capture else self.log,
                                stderr=subprocess.STDOUT if capture else self.log, text=True)
        if check and result.returncode != 0:
            detail = result.stdout[-3000:] if capture else f"see {self.dir / 'compose.log'}"
            raise AssertionError(f"docker-compose {' '.join(args)} exited {result.returncode}: {detail}")
        return result

    def containers(self, service=None, all_=True):
        labels = [f"com.docker.compose.project={self.name}"]
        if service:
            labels.append(f"com.docker.compose.service={service}")
        return self.engine.client.containers.list(all=all_, filters={"label": labels})

    def states(self):
        """service -> list of (status, health, exit code) of its containers."""
        out = {}
        for c in self.containers():
            c.reload()
            state = c.attrs["State"]
            out.setdefault(c.labels["com.docker.compose.service"], []).append(
                (state["Status"], state.get("Health", {}).get("Status"), state["ExitCode"]))
        return out

    def wait_healthy(self, seconds, replicas=None):
        """Every long-running service has its replicas running and healthy (those with a health
        check) and every one-shot exited 0. Returns the seconds it took."""
        replicas = replicas or {}
        t0 = time.monotonic()
        states = {}
        try:
            for _ in deadline_loop(seconds, "every service to be healthy", 1):
                states = self.states()
                for one_shot in ONE_SHOT:
                    for status, _, code in states.get(one_shot, []):
                        if status == "exited" and code != 0:
                            raise AssertionError(f"{one_shot} exited {code}: {self.logs(one_shot)}")
                ok = all(states.get(s) and all(st == "exited" and code == 0 for st, _, code in states[s])
                         for s in ONE_SHOT)
                for s in LONG_RUNNING:
                    got = states.get(s, [])
                    ok = ok and len(got) == replicas.get(s, 1) and all(
                        st == "running" and health in (None, "healthy") for st, health, _ in got)
                if ok:
                    return time.monotonic() - t0
        except AssertionError as e:
            raise AssertionError(f"{e}; states: {json.dumps(states)}") from None

    def logs(self, service, tail=40):
        return self.compose("logs", "--no-color", "--tail", str(tail), service, capture=True,
                            check=False).stdout

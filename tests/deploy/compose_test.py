#!/usr/bin/env python3
"""Checks docker-compose.yml and its Prometheus configuration (SPEC §7).

No Docker engine runs here, so the file is checked the way the tools themselves would read it:
`docker-compose config` (Compose v1, which also accepts what `docker compose` does) resolves
anchors and variables, and `promtool check config` validates Prometheus' file. On top of that,
the SPEC's rules: the services that must exist, no fixed container names or host ports on
workers (so `--scale` works), every service command is a binary the image builds, and
Prometheus scrapes every service that serves /metrics.
"""

import re
import subprocess
import sys
import unittest
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
PROMETHEUS = ROOT / "deploy" / "prometheus" / "prometheus.yml"
WORKERS = ["deploy-worker"]  # the worker kinds that exist so far


def resolved_compose(env=None):
    out = subprocess.run(
        ["docker-compose", "-f", str(COMPOSE), "config"],
        cwd=ROOT, env=env, check=True, capture_output=True, text=True,
    ).stdout
    return yaml.safe_load(out)


class ComposeFile(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.compose = resolved_compose({"PATH": "/usr/bin:/bin"})
        cls.services = cls.compose["services"]

    def test_has_every_service_the_spec_lists(self):
        for name in ["kafka", "topics", "ingestd", "prometheus", "mailpit", *WORKERS]:
            self.assertIn(name, self.services)

    def test_kafka_is_the_official_image_in_kraft_mode_with_a_volume(self):
        kafka = self.services["kafka"]
        self.assertRegex(kafka["image"], r"^apache/kafka:\d+\.\d+\.\d+$")
        self.assertEqual(kafka["environment"]["KAFKA_PROCESS_ROLES"], "broker,controller")
        # docker-compose v1 prints short syntax: "kafka-data:/var/lib/kafka/data:rw".
        self.assertTrue(any(str(v).split(":")[:2] == ["kafka-data", "/var/lib/kafka/data"]
                            for v in kafka["volumes"]), kafka["volumes"])

    def test_ingestd_listens_on_8080_after_the_topics_exist(self):
        ingestd = self.services["ingestd"]
        ports = [(str(p.get("published")), str(p.get("target"))) if isinstance(p, dict)
                 else tuple(str(p).split(":")[-2:]) for p in ingestd["ports"]]
        self.assertIn(("8080", "8080"), ports)
        self.assertEqual(ingestd["depends_on"]["topics"]["condition"],
                         "service_completed_successfully")
        self.assertIn("INGEST_SPOOL_DIR", ingestd["environment"])

    def test_workers_can_be_scaled(self):
        for name in WORKERS:
            worker = self.services[name]
            self.assertNotIn("container_name", worker, name)
            self.assertNotIn("ports", worker, name)
            self.assertRegex(worker["environment"]["WORKER_METRICS_LISTEN"], r"^0\.0\.0\.0:\d+$")

    def test_every_command_is_a_binary_the_image_builds(self):
        dockerfile = DOCKERFILE.read_text()
        built = set(re.search(r"ninja -C /build ([^\n\\]+)", dockerfile).group(1).split())
        copied = set(re.findall(r"/build/\S+/([\w-]+)", dockerfile))
        self.assertEqual(built, copied)
        for name, service in self.services.items():
            if service.get("image") != "webhook-ingest:local":
                continue
            self.assertIn(service["command"][0], built, name)

    def test_secrets_come_from_the_environment_when_set(self):
        env = {"PATH": "/usr/bin:/bin", "GITHUB_WEBHOOK_SECRET": "operator-secret-123"}
        ingestd = resolved_compose(env)["services"]["ingestd"]
        self.assertEqual(ingestd["environment"]["GITHUB_WEBHOOK_SECRET"], "operator-secret-123")


class PrometheusConfig(unittest.TestCase):
    def test_promtool_accepts_it(self):
        result = subprocess.run(["promtool", "check", "config", str(PROMETHEUS)],
                                capture_output=True, text=True)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)

    def test_scrapes_ingestd_and_every_worker_replica(self):
        config = yaml.safe_load(PROMETHEUS.read_text())
        services = resolved_compose({"PATH": "/usr/bin:/bin"})["services"]
        scraped = {}
        for job in config["scrape_configs"]:
            for sd in job.get("dns_sd_configs", []):
                for name in sd["names"]:
                    scraped[name] = sd["port"]
        self.assertEqual(scraped.get("ingestd"), 8080)
        for name in WORKERS:
            listen = services[name]["environment"]["WORKER_METRICS_LISTEN"]
            self.assertEqual(scraped.get(name), int(listen.rsplit(":", 1)[1]), name)


if __name__ == "__main__":
    sys.exit(0 if unittest.main(exit=False, verbosity=2).result.wasSuccessful() else 1)

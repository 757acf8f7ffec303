#!/usr/bin/env python3
"""Checks the compose files, images, Prometheus and Grafana files without a Docker engine (the
`unit` label; tests/compose/ starts them for real under the `compose` label).

The files are read the way the tools read them: `docker-compose config` resolves anchors,
overrides and variables; `promtool` checks the configuration, the rules, the alert rules' own
unit tests and every dashboard query. On top of that, the issue's rules: images only from
debian:12, an init in every container, no VOLUME, loopback ports and no secrets by default,
workers scalable, every metric the dashboard reads exists in the sources, the demo push
sample matches the demo deploy target.
"""

import json
import re
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
DEMO = ROOT / "docker-compose.demo.yml"
KAFKA3 = ROOT / "docker-compose.kafka3.yml"
PROMETHEUS_DIR = ROOT / "deploy" / "prometheus"
GRAFANA_DIR = ROOT / "deploy" / "grafana"
WORKERS = {"dropbox-worker": 9101, "chargify-worker": 9102, "deploy-worker": 9103}
CLEAN_ENV = {"PATH": "/usr/bin:/bin"}


def resolved(*files, env=None):
    args = ["docker-compose"]
    for f in files or (COMPOSE,):
        args += ["-f", str(f)]
    out = subprocess.run(args + ["config"], cwd=ROOT, env=env or CLEAN_ENV, check=True,
                         capture_output=True, text=True).stdout
    return yaml.safe_load(out)


def dockerfile_of(service):
    return ROOT / service["build"]["dockerfile"]


def stages(dockerfile):
    """[(from, name)] of a Dockerfile's FROM lines."""
    return re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", dockerfile.read_text(), re.M | re.I)


def final_stage_text(dockerfile, target):
    """The instructions of `target` (or the last stage), following `FROM <stage>` back."""
    text = dockerfile.read_text()
    blocks = re.split(r"^(?=FROM\s)", text, flags=re.M)[1:]
    by_name = {}
    for block in blocks:
        m = re.match(r"FROM\s+(\S+)(?:\s+AS\s+(\S+))?", block, re.I)
        by_name[m.group(2) or f"#{len(by_name)}"] = (m.group(1), block)
    name = target or list(by_name)[-1]
    out = ""
    while name in by_name:
        parent, block = by_name[name]
        out = block + out
        name = parent
    return out


class ComposeFile(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.services = resolved()["services"]

    def test_has_every_service_the_spec_lists(self):
        for name in ["kafka", "topics", "ingestd", *WORKERS, "prometheus", "smtp-catcher",
                     "grafana", "ingestctl"]:
            self.assertIn(name, self.services)

    def test_every_image_but_grafana_is_built_here_from_debian_12(self):
        for name, service in self.services.items():
            if name == "grafana":
                self.assertNotIn("build", service)
                continue
            self.assertIn("build", service, name)
            self.assertEqual(service["build"].get("network"), "host", name)
            froms = stages(dockerfile_of(service))
            stage_names = {n for _, n in froms if n}
            for base, _ in froms:
                self.assertTrue(base == "debian:12" or base in stage_names, (name, base))

    def test_kafka_is_the_pinned_release_from_the_same_pom_as_kafka_local(self):
        local = (ROOT / "deploy" / "kafka-local.sh").read_text()
        version = re.search(r"^KAFKA_VERSION=(\S+)$", local, re.M).group(1)
        kafka = self.services["kafka"]
        dockerfile = dockerfile_of(kafka).read_text()
        self.assertEqual(re.search(r"^ARG KAFKA_VERSION=(\S+)$", dockerfile, re.M).group(1), version)
        self.assertIn("COPY deploy/kafka/pom.xml", dockerfile)
        self.assertEqual(kafka["image"], f"webhook-ingest/kafka:{version}")
        self.assertTrue(any(str(v).startswith("kafka-data:/var/lib/kafka/data") for v in kafka["volumes"]))

    def test_every_container_runs_an_init(self):
        for name, service in self.services.items():
            if service.get("init") is True:
                continue
            entrypoint = service.get("entrypoint")
            if entrypoint is None:
                text = final_stage_text(dockerfile_of(service), service["build"].get("target"))
                entrypoint = json.loads(re.findall(r"^ENTRYPOINT\s+(\[.*\])$", text, re.M)[-1])
            self.assertEqual(entrypoint[:2], ["/usr/bin/tini", "--"], name)

    def test_no_image_declares_a_volume(self):
        for dockerfile in [ROOT / "deploy" / "Dockerfile", *(ROOT / "deploy" / "docker").glob("*.Dockerfile")]:
            self.assertNotRegex(dockerfile.read_text(), re.compile(r"^VOLUME", re.M), dockerfile)

    def test_product_roles_are_one_shared_runtime_plus_one_binary_each(self):
        dockerfile = ROOT / "deploy" / "Dockerfile"
        binaries = re.search(r'^ARG BINARIES="([^"]+)"', dockerfile.read_text(), re.M).group(1).split()
        for name, service in self.services.items():
            if service.get("build", {}).get("dockerfile") != "deploy/Dockerfile":
                continue
            target = service["build"]["target"]
            self.assertIn(target, binaries, name)
            command = service.get("command") or []
            entry = service.get("entrypoint") or []
            program = (entry[2:] + command)[0] if entry else command[0] if command else target
            self.assertIn(program, binaries, name)
            self.assertIn("FROM runtime AS " + target, dockerfile.read_text())
        # The build stage needs neither the tests nor GoogleTest.
        build = final_stage_text(dockerfile, "build")
        self.assertNotIn("COPY tests", build)
        self.assertNotIn("libgtest-dev", build)
        self.assertIn("-DWEBHOOK_INGEST_TESTS=OFF", build)

    def test_ingestd_spools_to_its_volume(self):
        ingestd = self.services["ingestd"]
        spool = ingestd["environment"]["INGEST_SPOOL_DIR"]
        self.assertIn(f"ingestd-spool:{spool}:rw", [str(v) for v in ingestd["volumes"]])
        image = final_stage_text(ROOT / "deploy" / "Dockerfile", "ingestd")
        self.assertIn(f"ENV INGEST_SPOOL_DIR={spool}", image)
        self.assertEqual(ingestd["depends_on"]["topics"]["condition"], "service_completed_successfully")

    def test_host_ports_listen_on_loopback_only_by_default(self):
        published = []
        for name, service in self.services.items():
            for port in service.get("ports", []):
                published.append((name, port.get("host_ip") if isinstance(port, dict)
                                  else str(port).split(":")[0]))
        self.assertEqual({ip for _, ip in published}, {"127.0.0.1"}, published)
        self.assertIn("ingestd", {name for name, _ in published})

    def test_no_secret_has_a_default_and_the_demo_sets_the_published_ones(self):
        secrets = ["GITHUB_WEBHOOK_SECRET", "DROPBOX_APP_SECRET", "CHARGIFY_SHARED_KEY"]
        self.assertEqual([self.services["ingestd"]["environment"].get(s, "") for s in secrets],
                         ["", "", ""])
        demo_env = dict(line.split("=", 1) for line in
                        (ROOT / "deploy" / "demo" / "demo.env").read_text().splitlines()
                        if line and not line.startswith("#"))
        demo = resolved(COMPOSE, DEMO)["services"]
        self.assertEqual({s: demo["ingestd"]["environment"][s] for s in secrets},
                         {s: demo_env[s] for s in secrets})
        self.assertIn("dropbox-api", demo)
        self.assertNotIn("dropbox-api", self.services)
        self.assertEqual(demo["dropbox-worker"]["environment"]["DROPBOX_API_URL"], "http://dropbox-api:8000")
        self.assertEqual(self.services["dropbox-worker"]["environment"]["DROPBOX_API_URL"],
                         "https://api.dropboxapi.com")

    def test_secrets_come_from_the_environment_when_set(self):
        env = {**CLEAN_ENV, "GITHUB_WEBHOOK_SECRET": "operator-secret-123"}
        ingestd = resolved(env=env)["services"]["ingestd"]
        self.assertEqual(ingestd["environment"]["GITHUB_WEBHOOK_SECRET"], "operator-secret-123")

    def test_env_example_names_every_variable_the_compose_files_read(self):
        used = set()
        for f in [COMPOSE, DEMO, KAFKA3]:
            used |= set(re.findall(r"\$\{([A-Z0-9_]+)", f.read_text()))
        documented = set(re.findall(r"^#?([A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M))
        self.assertEqual(used - documented, set())

    def test_workers_can_be_scaled_and_deploy_has_a_stable_host_and_volumes(self):
        for name, port in WORKERS.items():
            worker = self.services[name]
            self.assertNotIn("container_name", worker, name)
            self.assertNotIn("ports", worker, name)
            self.assertEqual(worker["environment"]["WORKER_METRICS_LISTEN"], f"0.0.0.0:{port}")
        deploy = self.services["deploy-worker"]
        self.assertEqual(deploy["environment"]["DEPLOY_HOST"], "compose")
        volumes = [str(v) for v in deploy["volumes"]]
        self.assertIn("deploy-work:/var/lib/webhook-ingest/deploy:rw", volumes)
        self.assertIn("deploy-home:/home/webhook:rw", volumes)

    def test_three_broker_variant_replicates_three_ways_with_two_in_sync(self):
        services = resolved(COMPOSE, KAFKA3)["services"]
        nodes = ["kafka", "kafka-2", "kafka-3"]
        for i, node in enumerate(nodes, 1):
            env = services[node]["environment"]
            self.assertEqual((str(env["KAFKA_NODE_ID"]), str(env["KAFKA_REPLICATION"]),
                              str(env["KAFKA_MIN_INSYNC_REPLICAS"])), (str(i), "3", "2"))
            self.assertEqual(env["KAFKA_CONTROLLER_QUORUM_VOTERS"],
                             "1@kafka:9093,2@kafka-2:9093,3@kafka-3:9093")
        for name in ["topics", "ingestd", *WORKERS, "ingestctl"]:
            env = services[name]["environment"]
            self.assertEqual(env["KAFKA_BROKERS"], "kafka:9092,kafka-2:9092,kafka-3:9092", name)
        self.assertEqual(str(services["topics"]["environment"]["TOPIC_REPLICATION"]), "3")


class DemoSamples(unittest.TestCase):
    def test_the_push_sample_deploys_the_tip_of_the_demo_target(self):
        push = json.loads((ROOT / "deploy" / "samples" / "github-push.json").read_text())
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run([str(ROOT / "deploy" / "demo" / "make-deploy-target.sh"), tmp],
                           check=True, capture_output=True)
            git = lambda *a: subprocess.run(["git", *a], check=True, capture_output=True,
                                            text=True).stdout.strip()
            tip = git("-C", f"{tmp}/origin.git", "rev-parse", "main")
            live = git("-C", f"{tmp}/live", "rev-parse", "HEAD")
        self.assertEqual((push["before"], push["after"]), (live, tip))
        self.assertEqual((push["repository"]["full_name"], push["ref"]), ("example/app", "refs/heads/main"))


    def test_the_compose_demo_config_has_run_locals_worker_sections(self):
        compose_demo = yaml.safe_load((ROOT / "deploy" / "docker" / "demo-config.yaml").read_text())
        local_demo = yaml.safe_load((ROOT / "deploy" / "demo" / "config.yaml").read_text())
        for section in ["chargify", "dropbox", "topics"]:
            self.assertEqual(compose_demo.get(section), local_demo.get(section), section)
        self.assertEqual([t["dir"] for t in compose_demo["deploy"]["targets"]],
                         ["/var/lib/webhook-ingest/deploy/demo/live"])


class Prometheus(unittest.TestCase):
    def test_promtool_accepts_the_config_and_its_rules(self):
        with tempfile.TemporaryDirectory() as tmp:
            config = (PROMETHEUS_DIR / "prometheus.yml").read_text().replace(
                "/etc/prometheus/alerts.yml", str(PROMETHEUS_DIR / "alerts.yml"))
            Path(tmp, "prometheus.yml").write_text(config)
            result = subprocess.run(["promtool", "check", "config", f"{tmp}/prometheus.yml"],
                                    capture_output=True, text=True)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("SUCCESS: 4 rules found", result.stdout)

    def test_each_alert_fires_on_its_symptom_and_only_then(self):
        result = subprocess.run(["promtool", "test", "rules", "alerts_test.yml"],
                                cwd=PROMETHEUS_DIR, capture_output=True, text=True)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)

    def test_scrapes_ingestd_and_every_worker_replica(self):
        config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
        scraped = {name: sd["port"] for job in config["scrape_configs"]
                   for sd in job.get("dns_sd_configs", []) for name in sd["names"]}
        self.assertEqual(scraped, {"ingestd": 8080, **WORKERS})


def source_metric_names():
    """Quoted snake_case names in the product's sources (not the tests')."""
    names = set()
    for top in ["common", "ingest", "ctl", "workers"]:
        for path in (ROOT / top).glob("**/*.cpp"):
            names |= set(re.findall(r'"([a-z]+_[a-z_]+)"', path.read_text(errors="replace")))
    return names


class GrafanaDashboard(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dashboard = json.loads((GRAFANA_DIR / "dashboards" / "webhook-ingest.json").read_text())
        cls.panels = [p for p in cls.dashboard["panels"] if p["type"] != "row"]
        cls.exprs = [t["expr"] for p in cls.panels for t in p["targets"]]

    def test_every_query_is_valid_promql(self):
        rules = {"groups": [{"name": "dashboard", "rules": [
            {"record": f"dashboard:query_{i}", "expr": e} for i, e in enumerate(self.exprs)]}]}
        with tempfile.NamedTemporaryFile("w", suffix=".yml") as f:
            yaml.safe_dump(rules, f)
            f.flush()
            result = subprocess.run(["promtool", "check", "rules", f.name], capture_output=True, text=True)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)

    def test_every_metric_it_reads_is_exported_by_the_code(self):
        known = source_metric_names()
        read = set()
        for expr in self.exprs:
            for name in re.findall(r"\b([a-z]+_[a-z_]+)(?=[{\[ )])", expr):
                read.add(re.sub(r"_(bucket|sum|count)$", "", name))
        functions = {"histogram_quantile", "sum", "rate", "increase", "max"}
        self.assertEqual(sorted(read - known - functions), [])

    def test_covers_what_operators_watch(self):
        titles = " | ".join(p["title"].lower() for p in self.panels)
        for topic in ["requests by source and status", "signature failures", "publish latency",
                      "spool depth", "spool age", "consumer lag per group", "dead letters",
                      "deploys", "fulfilments", "dropbox polls"]:
            self.assertIn(topic, titles)

    def test_provisioning_loads_it_from_where_compose_mounts_it(self):
        grafana = resolved()["services"]["grafana"]
        mounts = {str(v).split(":")[1]: str(v).split(":")[0] for v in grafana["volumes"]}
        provider = yaml.safe_load((GRAFANA_DIR / "provisioning" / "dashboards" / "webhook-ingest.yml").read_text())
        path = provider["providers"][0]["options"]["path"]
        self.assertEqual(Path(mounts[path]).resolve(), (GRAFANA_DIR / "dashboards").resolve())
        datasource = yaml.safe_load((GRAFANA_DIR / "provisioning" / "datasources" / "prometheus.yml").read_text())
        uids = {t["datasource"]["uid"] for p in self.panels for t in p["targets"]}
        self.assertEqual(uids, {datasource["datasources"][0]["uid"]})
        self.assertEqual(datasource["datasources"][0]["url"], "http://prometheus:9090")


if __name__ == "__main__":
    sys.exit(0 if unittest.main(exit=False, verbosity=2).result.wasSuccessful() else 1)

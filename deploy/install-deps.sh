#!/usr/bin/env bash
# Installs exactly the Debian 12 packages that building, testing and running webhook-ingest
# need, plus any packages named as arguments (what a benchmark script needs besides, e.g.
# linux-perf). Idempotent: when everything is present it only checks and exits.
set -euo pipefail

PACKAGES=(
  # build
  cmake ninja-build g++ pkg-config ccache
  libpistache-dev librdkafka-dev libsimdjson-dev libspdlog-dev libfmt-dev libssl-dev
  libcurl4-openssl-dev libyaml-cpp-dev libcli11-dev libgtest-dev libbenchmark-dev
  # tests and local run: the broker's readiness probe, load tools, real git and SMTP
  kcat wrk git python3 python3-aiosmtpd curl openssl procps iproute2
  # docker-compose.yml checks without a Docker engine: docker-compose config, promtool
  docker-compose prometheus python3-yaml
  # the fuzz tier (tests/fuzz/run.sh): clang with libFuzzer, llvm-symbolizer on PATH for
  # reports (the unversioned name comes from `llvm`)
  clang-14 libclang-rt-14-dev llvm-14 llvm
  # the compose tier: a private Docker engine, the debian:12 base made with debootstrap, and
  # reading its Kafka from the host
  docker.io debootstrap python3-confluent-kafka python3-docker
  # the compose tier's before/after check of the host's firewall rules, and HTTPS everywhere
  nftables ca-certificates
)
PACKAGES+=("$@")
# Java and Maven run the local Kafka broker; a machine may already have them outside apt.
command -v java >/dev/null 2>&1 || PACKAGES+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || PACKAGES+=(maven)

missing=()
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null 2>&1 || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  SUDO=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done" >&2

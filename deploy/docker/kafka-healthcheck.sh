#!/usr/bin/env bash
# Healthy = the broker answers a metadata request on its PLAINTEXT listener (kcat, no JVM).
set -euo pipefail
listeners=${KAFKA_LISTENERS:-PLAINTEXT://:9092}
plaintext=$(tr ',' '\n' <<<"$listeners" | grep '^PLAINTEXT://')
port=${plaintext##*:}
host=${plaintext#PLAINTEXT://}
host=${host%:*}
exec kcat -L -b "${host:-127.0.0.1}:$port" -m 3 >/dev/null 2>&1

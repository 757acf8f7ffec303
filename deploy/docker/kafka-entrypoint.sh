#!/usr/bin/env bash
# Writes /etc/kafka/server.properties from the environment, formats the KRaft storage on the
# first start, and runs the broker (as PID 1's child: tini forwards SIGTERM, Kafka shuts down
# cleanly). Defaults make a single combined broker+controller named `kafka`.
#
#   KAFKA_NODE_ID (1)               KAFKA_CLUSTER_ID (fixed default; the same on every node)
#   KAFKA_LISTENERS (PLAINTEXT://:9092,CONTROLLER://:9093)
#   KAFKA_ADVERTISED_LISTENERS (PLAINTEXT://kafka:9092)
#   KAFKA_CONTROLLER_QUORUM_VOTERS (1@kafka:9093)
#   KAFKA_REPLICATION (1): replication of Kafka's internal topics
#   KAFKA_MIN_INSYNC_REPLICAS (1)   KAFKA_HEAP (512m)
#   KAFKA_CFG_<NAME>: any other broker property, e.g. KAFKA_CFG_LOG_RETENTION_HOURS=72
#                     becomes log.retention.hours=72
set -euo pipefail

CONF=/etc/kafka/server.properties
DATA=/var/lib/kafka/data
NODE_ID=${KAFKA_NODE_ID:-1}
REPLICATION=${KAFKA_REPLICATION:-1}
# Any 22-character base64url id works; every node of one cluster must share it.
CLUSTER_ID=${KAFKA_CLUSTER_ID:-d2ViaG9vay1pbmdlc3QtMQ}

cat >"$CONF" <<PROPS
process.roles=broker,controller
node.id=$NODE_ID
controller.quorum.voters=${KAFKA_CONTROLLER_QUORUM_VOTERS:-1@kafka:9093}
listeners=${KAFKA_LISTENERS:-PLAINTEXT://:9092,CONTROLLER://:9093}
advertised.listeners=${KAFKA_ADVERTISED_LISTENERS:-PLAINTEXT://kafka:9092}
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$DATA
num.partitions=6
auto.create.topics.enable=false
offsets.topic.replication.factor=$REPLICATION
transaction.state.log.replication.factor=$REPLICATION
transaction.state.log.min.isr=${KAFKA_MIN_INSYNC_REPLICAS:-1}
min.insync.replicas=${KAFKA_MIN_INSYNC_REPLICAS:-1}
default.replication.factor=$REPLICATION
group.initial.rebalance.delay.ms=0
# Webhook bodies may be 25 MiB (SPEC §4).
message.max.bytes=27262976
replica.fetch.max.bytes=27262976
PROPS
# KAFKA_CFG_LOG_RETENTION_HOURS=72 -> log.retention.hours=72
while IFS='=' read -r name value; do
  [[ $name == KAFKA_CFG_* ]] || continue
  key=${name#KAFKA_CFG_}
  key=${key,,}
  echo "${key//_/.}=$value" >>"$CONF"
done < <(env)

cat >/etc/kafka/log4j.properties <<'PROPS'
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.request.logger=WARN
PROPS

JAVA=(java -Xms128m "-Xmx${KAFKA_HEAP:-512m}" -XX:+UseG1GC -XX:MaxGCPauseMillis=20
      -Djava.awt.headless=true -Dlog4j.configuration=file:/etc/kafka/log4j.properties
      -cp "/opt/kafka/libs/*")
if [[ ! -f "$DATA/meta.properties" ]]; then
  echo "kafka-entrypoint: formatting $DATA for cluster $CLUSTER_ID (node $NODE_ID)"
  "${JAVA[@]}" kafka.tools.StorageTool format -t "$CLUSTER_ID" -c "$CONF" --ignore-formatted
fi
exec "${JAVA[@]}" kafka.Kafka "$CONF"

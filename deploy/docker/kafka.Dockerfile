# Apache Kafka (KRaft) for docker-compose.yml, built from debian:12, Debian's JRE and the same
# Maven Central jars as deploy/kafka-local.sh (deploy/kafka/pom.xml, the pinned version below),
# because no registry image can be pulled where the tests run. Configured from the environment
# by kafka-entrypoint.sh (one node or a three-node quorum).

FROM debian:12 AS jre
RUN apt-get update \
 && apt-get install -y --no-install-recommends openjdk-17-jre-headless kcat tini \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb /usr/share/doc/*

# Resolves the jars once; neither Maven nor its repository reach the final image.
FROM jre AS jars
RUN apt-get update \
 && apt-get install -y --no-install-recommends maven \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb
# Behind a TLS-intercepting proxy, Maven must trust the proxy's CA: EXTRA_CA_PEM (PEM text, one
# or more certificates) is trusted in this throwaway stage only, never in the final image.
ARG EXTRA_CA_PEM=""
RUN if [ -n "$EXTRA_CA_PEM" ]; then \
      printf '%s\n' "$EXTRA_CA_PEM" >/tmp/extra-ca.pem \
      && csplit -s -z -f /usr/local/share/ca-certificates/build-extra- -b '%02d.crt' \
           /tmp/extra-ca.pem '/-----BEGIN CERTIFICATE-----/' '{*}' \
      && update-ca-certificates >/dev/null 2>&1; \
    fi
COPY deploy/kafka/pom.xml /tmp/kafka/pom.xml
# Keep equal to KAFKA_VERSION in deploy/kafka-local.sh (tests/deploy/compose_test.py checks).
ARG KAFKA_VERSION=3.9.1
RUN mvn -q -B -f /tmp/kafka/pom.xml -Dmaven.repo.local=/tmp/m2 -Dkafka.version=$KAFKA_VERSION \
      dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory=/opt/kafka/libs \
 && test -f /opt/kafka/libs/kafka_2.13-$KAFKA_VERSION.jar \
 && rm -rf /tmp/m2

FROM jre
COPY --from=jars /opt/kafka/libs /opt/kafka/libs
COPY deploy/docker/kafka-entrypoint.sh deploy/docker/kafka-healthcheck.sh /usr/local/bin/
RUN useradd --system --create-home --home-dir /home/kafka --uid 10002 kafka \
 && mkdir -p /var/lib/kafka/data /etc/kafka && chown -R kafka /var/lib/kafka /etc/kafka
USER kafka
EXPOSE 9092 9093
HEALTHCHECK --interval=3s --timeout=10s --retries=40 --start-period=10s CMD kafka-healthcheck.sh
ENTRYPOINT ["/usr/bin/tini", "--", "kafka-entrypoint.sh"]

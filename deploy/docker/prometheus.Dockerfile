# Prometheus for docker-compose.yml: Debian 12's package (server and promtool), so it builds
# where no registry image can be pulled. The configuration and alert rules are mounted from
# deploy/prometheus/.
FROM debian:12
# The moment-timezone data directory is 214 MB of unpacked time zones that the web UI does not
# load (it uses the bundled moment-timezone-with-data*.js next to it).
RUN apt-get update \
 && apt-get install -y --no-install-recommends prometheus tini \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb /usr/share/doc/* \
      /usr/share/javascript/moment-timezone/data \
 && mkdir -p /prometheus && chown prometheus /prometheus
USER prometheus
EXPOSE 9090
# /-/ready answers 200 once the configuration is loaded and the TSDB is open; bash's /dev/tcp
# saves installing an HTTP client.
HEALTHCHECK --interval=5s --timeout=3s --retries=10 CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${PROMETHEUS_PORT:-9090} && printf 'GET /-/ready HTTP/1.0\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]
ENTRYPOINT ["/usr/bin/tini", "--", "prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus", \
     "--web.listen-address=:9090", "--storage.tsdb.retention.time=7d"]

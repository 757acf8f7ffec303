# The local stand-ins from tests/standins/ as one small image: the SMTP catcher
# (smtp_recorder.py, a real SMTP server on Debian's python3-aiosmtpd, with an HTTP API to
# read what arrived) and the Dropbox API stand-in (dropbox_api.py, demo profile only).
# docker-compose.yml picks the program with `command:`.
FROM debian:12
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-aiosmtpd tini \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb /usr/share/doc/* \
 && useradd --system --create-home --home-dir /home/standin --uid 10003 standin \
 && mkdir -p /var/lib/smtp-recorder && chown standin /var/lib/smtp-recorder
COPY tests/standins/*.py /opt/standins/
USER standin
ENTRYPOINT ["/usr/bin/tini", "--", "python3", "-u"]

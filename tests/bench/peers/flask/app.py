"""flask: the peer tests/bench/compare.sh measures ingestd against, a GitHub webhook receiver
as a Python user would write it with Flask and confluent-kafka, run under gunicorn (command line
in compare.sh). Same contract as ingestd's durable mode: verify X-Hub-Signature-256, produce the
body with acks=all (idempotent producer), answer 200 only once the delivery report says the
broker has the record.

  POST /webhooks/github  200 after the ack, 401 bad signature, 400 no delivery id,
                         413 body too large, 503 produce failed
  GET  /healthz          200

Environment: KAFKA_BROKERS, TOPIC, GITHUB_WEBHOOK_SECRET. Debian's python3-flask and
python3-confluent-kafka: run with /usr/bin/python3 (Debian's gunicorn does).
"""
import hashlib
import hmac
import json
import os
import threading

from confluent_kafka import KafkaException, Producer
from flask import Flask, jsonify, request

SECRET = os.environ["GITHUB_WEBHOOK_SECRET"].encode()
TOPIC = os.environ.get("TOPIC", "webhooks.github")
DELIVERY_TIMEOUT_S = 30

app = Flask(__name__)
app.config["MAX_CONTENT_LENGTH"] = 25 << 20  # GitHub's own limit on a webhook body

# One producer per gunicorn worker: this module is imported after the fork (no --preload), and
# librdkafka's threads would not survive one.
producer = Producer({
    "bootstrap.servers": os.environ.get("KAFKA_BROKERS", "127.0.0.1:9092"),
    "acks": "all",
    "enable.idempotence": True,
    "message.timeout.ms": DELIVERY_TIMEOUT_S * 1000,
    "message.max.bytes": 26 << 20,
})


def serve_delivery_reports():
    # Delivery callbacks run in whichever thread polls: one thread polls for the whole worker,
    # so each request waits for its own record only (flush() would wait for every thread's).
    while True:
        producer.poll(1.0)


threading.Thread(target=serve_delivery_reports, name="delivery-reports", daemon=True).start()


def repository_key(body):
    """repository.full_name, the record key (per-repository order), or None."""
    try:
        return json.loads(body)["repository"]["full_name"].encode()
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


@app.get("/healthz")
def healthz():
    return "ok\n"


@app.post("/webhooks/github")
def github():
    body = request.get_data(cache=False)
    expected = "sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(request.headers.get("X-Hub-Signature-256", "").encode(),
                               expected.encode()):
        return "invalid signature\n", 401
    delivery = request.headers.get("X-GitHub-Delivery")
    if not delivery:
        return "missing X-GitHub-Delivery\n", 400

    delivered = threading.Event()
    outcome = {}

    def on_delivery(err, _msg):
        outcome["error"] = err
        delivered.set()

    try:
        producer.produce(TOPIC, value=body, key=repository_key(body), on_delivery=on_delivery,
                         headers=[("event-id", delivery),
                                  ("event-type", request.headers.get("X-GitHub-Event", ""))])
    except (BufferError, KafkaException) as e:
        app.logger.warning("produce failed delivery=%s: %s", delivery, e)
        return "not stored, retry later\n", 503
    if not delivered.wait(DELIVERY_TIMEOUT_S + 5) or outcome["error"] is not None:
        app.logger.warning("not delivered delivery=%s: %s", delivery, outcome.get("error"))
        return "not stored, retry later\n", 503
    return jsonify(event_id=delivery)

#!/usr/bin/python3
"""A real SMTP server (Debian's python3-aiosmtpd) that records every message it accepts.

Used by the system tests, by deploy/run-local.sh and by docker-compose as the SMTP catcher.

    python3 tests/standins/smtp_recorder.py [--host 127.0.0.1] [--smtp-port 0] [--http-port 0]
                                            --dir DIR [--tls-cert PEM --tls-key PEM]

Port 0 picks a free port. When both servers listen it prints ONE line to stdout,
{"smtp_port": N, "http_port": M}, and flushes. Each accepted message is stored as
DIR/<id>.eml, the raw bytes as received (after SMTP dot-unstuffing).

HTTP on the same host:
  GET    /messages        JSON array of {"id", "mail_from", "rcpt_to": [...], "received_at",
                          "size", "tls"} in arrival order ("tls": the client used STARTTLS)
  GET    /messages/<id>   the raw message (message/rfc822)
  DELETE /messages        forgets every message (and deletes the files)
  GET    /healthz         200
  POST   /faults          {"rcpt_code": 451|550|..., "count": N}: the next N RCPT TO commands
                          are answered "<code> <x.y.z> smtp-recorder fault: injected <code>"
                          {"down": true}: the SMTP listener closes (connections are refused)
                          {"down": false}: it listens again on the same port
With --tls-cert/--tls-key the server offers STARTTLS; adding --smtps makes it speak TLS from
the first byte instead (smtps://). "tls" in /messages says whether the message came over TLS. SIGTERM or SIGINT: a clean exit (0).
"""

import argparse
import asyncio
import datetime
import json
import os
import signal
import ssl
import sys
import threading

from aiosmtpd.smtp import SMTP


def now_rfc3339():
    now = datetime.datetime.now(datetime.timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


class Recorder:
    """The messages and the fault plan. Only touched from the event loop's thread."""

    def __init__(self, directory):
        self.directory = directory
        self.messages = []  # dicts, arrival order
        self.sequence = 0
        self.rcpt_code = None
        self.rcpt_count = 0
        self.lock = threading.Lock()

    # aiosmtpd handler hooks -------------------------------------------------------------
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.rcpt_count > 0:
            self.rcpt_count -= 1
            code = self.rcpt_code
            klass = str(code)[0]
            return f"{code} {klass}.0.0 smtp-recorder fault: injected {code}"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.sequence += 1
        message_id = f"{self.sequence:06d}"
        raw = envelope.original_content or b""
        path = os.path.join(self.directory, message_id + ".eml")
        with open(path + ".tmp", "wb") as out:
            out.write(raw)
        os.replace(path + ".tmp", path)
        self.messages.append({
            "id": message_id,
            "mail_from": envelope.mail_from,
            "rcpt_to": list(envelope.rcpt_tos),
            "received_at": now_rfc3339(),
            "size": len(raw),
            "tls": session.ssl is not None or
                   server.transport.get_extra_info("ssl_object") is not None,
        })
        return f"250 OK recorded as {message_id}"

    def clear(self):
        for m in self.messages:
            try:
                os.remove(os.path.join(self.directory, m["id"] + ".eml"))
            except FileNotFoundError:
                pass
        self.messages = []


class SmtpListener:
    def __init__(self, recorder, host, port, tls_context, implicit_tls):
        self.recorder = recorder
        self.host = host
        self.port = port
        self.tls_context = tls_context
        self.implicit_tls = implicit_tls
        self.server = None

    def factory(self):
        return SMTP(self.recorder, hostname="smtp-recorder", ident="smtp-recorder",
                    tls_context=None if self.implicit_tls else self.tls_context,
                    require_starttls=False, auth_require_tls=False,
                    data_size_limit=64 * 1024 * 1024)

    async def start(self):
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(
            self.factory, self.host, self.port, reuse_address=True,
            ssl=self.tls_context if self.implicit_tls else None)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self):
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None


async def http_reply(writer, status, body=b"", content_type="application/json"):
    reasons = {200: "OK", 204: "No Content", 400: "Bad Request", 404: "Not Found",
               405: "Method Not Allowed"}
    head = (f"HTTP/1.1 {status} {reasons.get(status, 'Status')}\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n")
    writer.write(head.encode() + body)
    await writer.drain()


async def handle_http(reader, writer, recorder, listener):
    try:
        request_line = (await reader.readline()).decode("latin-1").strip()
        parts = request_line.split()
        if len(parts) < 2:
            await http_reply(writer, 400, b'{"error":"bad request line"}')
            return
        method, target = parts[0], parts[1].split("?")[0]
        length = 0
        while True:
            line = (await reader.readline()).decode("latin-1")
            if line in ("\r\n", "\n", ""):
                break
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        body = await reader.readexactly(length) if length else b""

        if target == "/healthz":
            await http_reply(writer, 200, b"ok\n", "text/plain")
        elif target == "/messages" and method == "GET":
            await http_reply(writer, 200, json.dumps(recorder.messages).encode())
        elif target == "/messages" and method == "DELETE":
            recorder.clear()
            await http_reply(writer, 200, b"{}")
        elif target.startswith("/messages/") and method == "GET":
            wanted = target[len("/messages/"):]
            if not any(m["id"] == wanted for m in recorder.messages):
                await http_reply(writer, 404, b'{"error":"no such message"}')
                return
            with open(os.path.join(recorder.directory, wanted + ".eml"), "rb") as f:
                await http_reply(writer, 200, f.read(), "message/rfc822")
        elif target == "/faults" and method == "POST":
            try:
                fault = json.loads(body or b"{}")
            except ValueError:
                await http_reply(writer, 400, b'{"error":"body is not JSON"}')
                return
            if "rcpt_code" in fault:
                code = int(fault["rcpt_code"])
                if not 400 <= code <= 599:
                    await http_reply(writer, 400, b'{"error":"rcpt_code must be 4xx or 5xx"}')
                    return
                recorder.rcpt_code = code
                recorder.rcpt_count = int(fault.get("count", 1))
            if "down" in fault:
                if fault["down"]:
                    await listener.stop()
                elif listener.server is None:
                    await listener.start()
            await http_reply(writer, 200, json.dumps({
                "rcpt_code": recorder.rcpt_code, "rcpt_count": recorder.rcpt_count,
                "down": listener.server is None}).encode())
        elif target in ("/messages", "/faults") or target.startswith("/messages/"):
            await http_reply(writer, 405, b'{"error":"method not allowed"}')
        else:
            await http_reply(writer, 404, b'{"error":"not found"}')
    except (ConnectionError, asyncio.IncompleteReadError, ValueError):
        pass
    finally:
        writer.close()


async def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--smtp-port", type=int, default=0)
    parser.add_argument("--http-port", type=int, default=0)
    parser.add_argument("--dir", required=True, help="where each message is stored as <id>.eml")
    parser.add_argument("--tls-cert", help="PEM certificate: offer STARTTLS")
    parser.add_argument("--tls-key", help="PEM private key for --tls-cert")
    parser.add_argument("--smtps", action="store_true",
                        help="with --tls-cert: TLS from the first byte (smtps://) instead of STARTTLS")
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)

    tls_context = None
    if args.tls_cert:
        tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls_context.load_cert_chain(args.tls_cert, args.tls_key)

    recorder = Recorder(args.dir)
    if args.smtps and tls_context is None:
        parser.error("--smtps needs --tls-cert and --tls-key")
    listener = SmtpListener(recorder, args.host, args.smtp_port, tls_context, args.smtps)
    await listener.start()
    http = await asyncio.start_server(
        lambda r, w: handle_http(r, w, recorder, listener), args.host, args.http_port,
        reuse_address=True)
    http_port = http.sockets[0].getsockname()[1]

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(json.dumps({"smtp_port": listener.port, "http_port": http_port}), flush=True)
    await stop.wait()
    http.close()
    await listener.stop()
    await http.wait_closed()


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)

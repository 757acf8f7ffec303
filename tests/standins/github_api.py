#!/usr/bin/env python3
"""A local stand-in for the GitHub REST API's commit statuses, for deploy-worker's tests.

    github_api.py --port P --log FILE [--status 201]

Every request is appended to FILE as one JSON line: method, path, headers (names lowercased),
body. The answer is --status with a small JSON body, like GitHub's 201 for a created status.
Only the standard library; stops on SIGTERM or SIGKILL, nothing to clean up.
"""
import argparse
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--status", type=int, default=201)
    args = parser.parse_args()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _record(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
            entry = {
                "method": self.command,
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body,
            }
            with lock, open(args.log, "a", encoding="utf-8") as out:
                out.write(json.dumps(entry) + "\n")
            answer = json.dumps({"state": "recorded"} if args.status < 300 else
                                {"message": "stand-in refuses"}).encode()
            self.send_response(args.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        do_POST = do_GET = do_PUT = do_PATCH = do_DELETE = _record

        def log_message(self, *_):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.serve_forever()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""A local stand-in for Dropbox's API v2 (files/list_folder) and OAuth token endpoint, for
dropbox-worker's tests, deploy/run-local.sh and docker-compose's demo profile.

    dropbox_api.py [--host 127.0.0.1] [--port 0] [--demo] [--page-size 3]

When ready it prints ONE line to stdout, {"port": N}, and flushes. Stops cleanly on SIGTERM.

Dropbox surface (PROVIDERS.md "Dropbox"):
  POST /2/files/list_folder            {"path":"","recursive":true,"include_deleted":true}
  POST /2/files/list_folder/continue   {"cursor":"..."}
      Authorization: Bearer <access token>. Pages of --page-size entries with `cursor` and
      `has_more`. A first listing returns the account's current state (the last entry per
      path, deleted ones included); continuing returns every change appended since the
      cursor, in order. Errors are shaped like Dropbox's: 401 expired_access_token, 409
      reset, 429 too_many_requests with Retry-After and error.retry_after, 500.
  POST /oauth2/token                   grant_type=refresh_token&refresh_token=...,
      HTTP Basic app key:secret → {"access_token","token_type":"bearer","expires_in"}
  GET  /healthz                        200

Control API for tests (JSON in, JSON out):
  POST /_control/app       {"app_key","app_secret"}          the app allowed to refresh
  POST /_control/accounts  {"account", "access_token"?, "refresh_token"?, "token_ttl_s"?}
  POST /_control/entries   {"account", "entries": [{".tag","name","path_display",...}]}
      appends changes; missing fields are filled like Dropbox would (id, rev, path_lower,
      size, server_modified, content_hash for files). Answers the stored entries.
  POST /_control/faults    {"status": 429|409|401|500|..., "count": N, "account"?, "endpoint"?,
                            "retry_after"?, "retry_after_in": "header"|"body",
                            "delay_ms"?}
      the next N matching API calls get that answer (status 200 with delay_ms: a slow but
      normal answer). endpoint: list_folder | list_folder_continue | oauth_token.
  POST /_control/reset     {"account"}   expires every cursor of the account (409 reset)
  POST /_control/revoke    {"account"}   revokes the account's current access tokens (401)
  POST /_control/delay     {"delay_ms"}  every API call takes at least this long
  GET  /_control/stats     {"calls": {endpoint: {account: n}}, "overlaps": {account: n},
                            "max_in_flight": {account: n}, "served": {account: [entries]},
                            "refreshes": {account: n}, "issued": [access tokens],
                            "log": [{endpoint, account, status, start, end}]}
Only the standard library.
"""
import argparse
import base64
import hashlib
import json
import secrets
import signal
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEMO_ACCOUNT = "dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc"
DEMO_APP_KEY = "demo-dropbox-app-key"
DEMO_APP_SECRET = "demo-dropbox-secret"
DEMO_REFRESH_TOKEN = "demo-refresh-token"


class State:
    """Everything the stand-in knows, behind one lock."""

    def __init__(self, page_size):
        self.lock = threading.Lock()
        self.page_size = page_size
        self.apps = {}  # app key -> secret
        self.accounts = {}  # id -> {"log": [...], "gen": int, "refresh": str|None, "ttl": int}
        self.tokens = {}  # access token -> (account, expires_at)
        self.faults = []  # dicts, consumed in order
        self.delay_ms = 0
        self.calls = {}  # endpoint -> account -> n
        self.in_flight = {}  # account -> n
        self.overlaps = {}
        self.max_in_flight = {}
        self.served = {}  # account -> entries served, in order
        self.refreshes = {}
        self.log = []
        self.issued = []  # every access token handed out (tests check none leaks)
        self.counter = 0

    def account(self, account_id):
        return self.accounts.setdefault(
            account_id, {"log": [], "gen": 1, "refresh": None, "ttl": 14400})

    def issue_token(self, account_id, token=None):
        acct = self.account(account_id)
        token = token or "sl." + secrets.token_urlsafe(24)
        self.tokens[token] = (account_id, time.time() + acct["ttl"])
        self.issued.append(token)
        return token

    def fill(self, entry):
        self.counter += 1
        e = dict(entry)
        tag = e.get(".tag", "file")
        e[".tag"] = tag
        display = e.get("path_display") or "/" + e.get("name", "item-%d" % self.counter)
        e.setdefault("path_display", display)
        e.setdefault("path_lower", display.lower())
        e.setdefault("name", display.rsplit("/", 1)[-1])
        if tag in ("file", "folder"):
            e.setdefault("id", "id:standin%06d" % self.counter)
        if tag == "file":
            e.setdefault("rev", "%015x" % (0x5e0000000 + self.counter))
            e.setdefault("size", 100 + self.counter)
            e.setdefault("server_modified", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
            e.setdefault("client_modified", e["server_modified"])
            e.setdefault("content_hash", hashlib.sha256(
                ("%s-%d" % (display, self.counter)).encode()).hexdigest())
        return e

    def snapshot(self, log):
        """The current state after `log`: the last entry per path, in first-seen order."""
        latest = {}
        order = []
        for e in log:
            if e["path_lower"] not in latest:
                order.append(e["path_lower"])
            latest[e["path_lower"]] = e
        return [latest[p] for p in order]

    def take_fault(self, endpoint, account_id):
        for i, f in enumerate(self.faults):
            if f.get("endpoint") not in (None, endpoint):
                continue
            if f.get("account") not in (None, account_id):
                continue
            f["count"] -= 1
            if f["count"] <= 0:
                del self.faults[i]
            return f
        return None


def encode_cursor(data):
    return "standin-" + base64.urlsafe_b64encode(json.dumps(data).encode()).decode()


def decode_cursor(cursor):
    if not isinstance(cursor, str) or not cursor.startswith("standin-"):
        return None
    try:
        return json.loads(base64.urlsafe_b64decode(cursor[len("standin-"):].encode()))
    except ValueError:
        return None


def make_handler(state):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_):
            pass

        def _body(self):
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _answer(self, status, payload, headers=None, content_type="application/json"):
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def _error(self, status, summary, tag, extra=None, headers=None):
            error = {".tag": tag}
            error.update(extra or {})
            self._answer(status, {"error_summary": summary, "error": error}, headers)

        # ---- routes ---------------------------------------------------------------------

        def do_GET(self):
            if self.path == "/healthz":
                return self._answer(200, {"ok": True})
            if self.path == "/_control/stats":
                with state.lock:
                    return self._answer(200, {
                        "calls": state.calls, "overlaps": state.overlaps,
                        "max_in_flight": state.max_in_flight, "served": state.served,
                        "refreshes": state.refreshes, "issued": state.issued,
                        "log": state.log})
            self._answer(404, {"error": "not found"})

        def do_POST(self):
            body = self._body()
            path = self.path.split("?", 1)[0]
            if path.startswith("/_control/"):
                return self._control(path[len("/_control/"):], body)
            if path == "/oauth2/token":
                return self._api("oauth_token", body)
            if path == "/2/files/list_folder":
                return self._api("list_folder", body)
            if path == "/2/files/list_folder/continue":
                return self._api("list_folder_continue", body)
            self._answer(404, {"error": "not found"})

        # ---- control --------------------------------------------------------------------

        def _control(self, what, body):
            try:
                req = json.loads(body or b"{}")
            except ValueError:
                return self._answer(400, {"error": "not JSON"})
            with state.lock:
                if what == "app":
                    state.apps[req["app_key"]] = req["app_secret"]
                    return self._answer(200, {"ok": True})
                if what == "accounts":
                    acct = state.account(req["account"])
                    acct["ttl"] = int(req.get("token_ttl_s", acct["ttl"]))
                    if req.get("refresh_token"):
                        acct["refresh"] = req["refresh_token"]
                    if req.get("access_token"):
                        state.issue_token(req["account"], req["access_token"])
                    return self._answer(200, {"ok": True})
                if what == "entries":
                    acct = state.account(req["account"])
                    stored = [state.fill(e) for e in req["entries"]]
                    acct["log"].extend(stored)
                    return self._answer(200, {"entries": stored})
                if what == "faults":
                    fault = dict(req)
                    fault["count"] = int(fault.get("count", 1))
                    state.faults.append(fault)
                    return self._answer(200, {"ok": True})
                if what == "reset":
                    state.account(req["account"])["gen"] += 1
                    return self._answer(200, {"ok": True})
                if what == "revoke":
                    for token, (owner, _) in list(state.tokens.items()):
                        if owner == req["account"]:
                            del state.tokens[token]
                    return self._answer(200, {"ok": True})
                if what == "delay":
                    state.delay_ms = int(req.get("delay_ms", 0))
                    return self._answer(200, {"ok": True})
            self._answer(404, {"error": "unknown control " + what})

        # ---- the API --------------------------------------------------------------------

        def _api(self, endpoint, body):
            account_id = self._identify(endpoint, body)
            with state.lock:
                state.calls.setdefault(endpoint, {})
                key = account_id or "-"
                state.calls[endpoint][key] = state.calls[endpoint].get(key, 0) + 1
                n = state.in_flight.get(key, 0) + 1
                state.in_flight[key] = n
                if n > 1:
                    state.overlaps[key] = state.overlaps.get(key, 0) + 1
                state.max_in_flight[key] = max(state.max_in_flight.get(key, 0), n)
                fault = state.take_fault(endpoint, account_id)
                delay = state.delay_ms
            started = time.time()
            status = None
            try:
                if delay:
                    time.sleep(delay / 1000.0)
                if fault and fault.get("delay_ms"):
                    time.sleep(int(fault["delay_ms"]) / 1000.0)
                if fault and int(fault.get("status", 200)) != 200:
                    status = int(fault["status"])
                    return self._fault(fault)
                if endpoint == "oauth_token":
                    status = self._token(body)
                else:
                    status = self._list(endpoint, account_id, body)
            finally:
                with state.lock:
                    state.in_flight[key] -= 1
                    state.log.append({"endpoint": endpoint, "account": key, "status": status,
                                      "start": started, "end": time.time()})

        def _identify(self, endpoint, body):
            with state.lock:
                if endpoint == "oauth_token":
                    form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
                    refresh = (form.get("refresh_token") or [""])[0]
                    for account_id, acct in state.accounts.items():
                        if acct["refresh"] and acct["refresh"] == refresh:
                            return account_id
                    return None
                auth = self.headers.get("Authorization", "")
                token = auth[len("Bearer "):] if auth.startswith("Bearer ") else ""
                owner = state.tokens.get(token)
                if owner and owner[1] > time.time():
                    return owner[0]
                return None

        def _fault(self, fault):
            status = int(fault["status"])
            if status == 429:
                retry_after = int(fault.get("retry_after", 1))
                if fault.get("retry_after_in", "header") == "header":
                    return self._error(429, "too_many_requests/..", "too_many_requests",
                                       headers={"Retry-After": str(retry_after)})
                return self._error(429, "too_many_requests/..", "too_many_requests",
                                   {"reason": {".tag": "too_many_requests"},
                                    "retry_after": retry_after})
            if status == 409:
                return self._error(409, "reset/..", "reset")
            if status == 401:
                return self._error(401, "expired_access_token/..", "expired_access_token")
            return self._answer(status, b"stand-in fault", content_type="text/plain")

        def _token(self, body):
            form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
            auth = self.headers.get("Authorization", "")
            try:
                key, _, secret = base64.b64decode(auth[len("Basic "):]).decode().partition(":")
            except ValueError:
                key, secret = "", ""
            with state.lock:
                if not auth.startswith("Basic ") or state.apps.get(key) != secret or not key:
                    self._answer(400, {"error": "invalid_client",
                                       "error_description": "unknown app or wrong secret"})
                    return 400
                if (form.get("grant_type") or [""])[0] != "refresh_token":
                    self._answer(400, {"error": "unsupported_grant_type"})
                    return 400
                refresh = (form.get("refresh_token") or [""])[0]
                owner = None
                for account_id, acct in state.accounts.items():
                    if acct["refresh"] and acct["refresh"] == refresh:
                        owner = account_id
                if owner is None:
                    self._answer(400, {"error": "invalid_grant",
                                       "error_description": "refresh token is malformed"})
                    return 400
                token = state.issue_token(owner)
                state.refreshes[owner] = state.refreshes.get(owner, 0) + 1
                ttl = state.accounts[owner]["ttl"]
            self._answer(200, {"access_token": token, "token_type": "bearer",
                               "expires_in": ttl})
            return 200

        def _list(self, endpoint, account_id, body):
            if account_id is None:
                self._error(401, "expired_access_token/..", "expired_access_token")
                return 401
            try:
                req = json.loads(body or b"{}")
            except ValueError:
                self._answer(400, b"Error in call: request body is not JSON",
                             content_type="text/plain")
                return 400
            with state.lock:
                acct = state.accounts[account_id]
                if endpoint == "list_folder":
                    if req.get("path", None) != "" or req.get("recursive") is not True:
                        self._answer(400, b"Error in call: the stand-in serves path \"\" "
                                          b"recursively only", content_type="text/plain")
                        return 400
                    pos = {"a": account_id, "g": acct["gen"], "mode": "snap",
                           "p": len(acct["log"]), "k": 0}
                else:
                    pos = decode_cursor(req.get("cursor"))
                    if pos is None or pos.get("a") != account_id:
                        self._error(400, "other/..", "other")
                        return 400
                    if pos["g"] != acct["gen"]:
                        self._error(409, "reset/..", "reset")
                        return 409
                size = state.page_size
                if pos["mode"] == "snap":
                    items = state.snapshot(acct["log"][:pos["p"]])
                    page = items[pos["k"]:pos["k"] + size]
                    more = pos["k"] + size < len(items)
                    nxt = dict(pos, k=pos["k"] + size) if more else \
                        {"a": account_id, "g": pos["g"], "mode": "log", "p": pos["p"]}
                else:
                    page = acct["log"][pos["p"]:pos["p"] + size]
                    more = pos["p"] + size < len(acct["log"])
                    nxt = dict(pos, p=pos["p"] + len(page))
                state.served.setdefault(account_id, []).extend(page)
            self._answer(200, {"entries": page, "cursor": encode_cursor(nxt), "has_more": more})
            return 200

    return Handler


def main():
    parser = argparse.ArgumentParser(description="Dropbox API v2 stand-in")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--demo", action="store_true")
    parser.add_argument("--page-size", type=int, default=3)
    args = parser.parse_args()

    state = State(args.page_size)
    if args.demo:
        state.apps[DEMO_APP_KEY] = DEMO_APP_SECRET
        state.account(DEMO_ACCOUNT)["refresh"] = DEMO_REFRESH_TOKEN
        state.account(DEMO_ACCOUNT)["log"].extend(state.fill(e) for e in [
            {".tag": "folder", "path_display": "/Photos"},
            {".tag": "file", "path_display": "/Photos/Beach.jpg", "size": 2480113},
            {".tag": "file", "path_display": "/Notes.txt", "size": 1024},
            {".tag": "file", "path_display": "/Old draft.txt", "size": 512},
            {".tag": "deleted", "path_display": "/Old draft.txt"},
        ])

    server = ThreadingHTTPServer((args.host, args.port), make_handler(state))
    server.daemon_threads = True

    def stop(*_):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(json.dumps({"port": server.server_address[1]}), flush=True)
    server.serve_forever()
    server.server_close()


if __name__ == "__main__":
    main()

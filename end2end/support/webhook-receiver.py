"""A webhook receiver for the tests: verifies every delivery with the third-party
`standardwebhooks` library (PyPI) and records it.

    python3 webhook-receiver.py            # prints "listening <port>" on stdout

Control (JSON over HTTP, test-only):
    POST /__config {"secret": "whsec_…", "fail": 3}   the next 3 deliveries get 500
    GET  /__received                                    what was accepted, in order
Deliveries: POST anything else. A delivery whose signature does not verify is
refused with 401 and counted in "refused"."""

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

state = {"secret": None, "fail": 0, "received": [], "refused": 0, "failed": 0}
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        with lock:
            self.answer(200, {k: state[k] for k in ("received", "refused", "failed")})

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        if self.path == "/__config":
            with lock:
                state.update(json.loads(body))
            return self.answer(200, {})
        with lock:
            if state["fail"] > 0:
                state["fail"] -= 1
                state["failed"] += 1
                return self.answer(500, {"error": "failing on purpose"})
            try:
                payload = Webhook(state["secret"]).verify(body, dict(self.headers))
            except (WebhookVerificationError, Exception) as e:  # noqa: BLE001
                state["refused"] += 1
                return self.answer(401, {"error": str(e)})
            state["received"].append({"id": self.headers["webhook-id"], "payload": payload})
        self.answer(200, {})


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(f"listening {server.server_address[1]}", flush=True)
server.serve_forever()

#!/usr/bin/env python3
"""A webhook receiver for CI: verifies every delivery with the Standard
Webhooks reference library (PyPI `standardwebhooks`) and records what it got.

    receiver.py PORT SECRETS_FILE RECORD_FILE

SECRETS_FILE holds one `whsec_...` secret per line (re-read at every request,
so a rotation can add one); a delivery counts as verified only when
`Webhook(secret).verify(body, headers)` accepts it for EVERY secret listed
(during a rotation's grace period both the old and the new secret sign).
Each request becomes one JSON line in RECORD_FILE:
{"id", "type", "cursor", "verified", "error"}. Verified deliveries are
answered 204, others 401.
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook

PORT, SECRETS, RECORD = int(sys.argv[1]), sys.argv[2], sys.argv[3]


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        headers = {k.lower(): v for k, v in self.headers.items()}
        with open(SECRETS) as f:
            secrets = [line.strip() for line in f if line.strip()]
        error = None
        payload = None
        try:
            if not secrets:
                raise ValueError("no secret yet")
            for secret in secrets:
                payload = Webhook(secret).verify(body, headers)
        except Exception as e:  # the library raises WebhookVerificationError
            error = f"{type(e).__name__}: {e}"
        data = (payload or {}).get("data") or {}
        line = {
            "id": headers.get("webhook-id"),
            "type": (payload or {}).get("type"),
            "cursor": data.get("cursor"),
            "secrets": len(secrets),
            "verified": error is None,
            "error": error,
        }
        with open(RECORD, "a") as f:
            f.write(json.dumps(line) + "\n")
        self.send_response(204 if error is None else 401)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()

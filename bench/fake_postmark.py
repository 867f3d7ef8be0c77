"""A fake of Postmark's sending API on loopback, for ``bench/bench_send_esp.py`` and its test.

The shapes and limits are Postmark's as documented: ``POST /email`` takes one message and
answers one result; ``POST /email/batch`` takes a JSON list of up to 500 messages in at most
50 MB and answers a list with one result per message, in order (``ErrorCode`` 0, ``Message``
"OK", ``MessageID``, ``SubmittedAt``, ``To``); a request over a limit gets 422 with an
``ErrorCode`` and a ``Message``, as Postmark answers, and sends nothing. The server token
header is required. ``GET /stats`` says how many messages were accepted. Nothing is stored.

Run it: ``python -m bench.fake_postmark PORT`` (prints ``ready`` when it listens).
"""

import json
import socket
import sys
import threading
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BATCH_MESSAGES = 500
BATCH_BYTES = 50 * 1024 * 1024
SINGLE_BYTES = 10 * 1024 * 1024
TOKEN_HEADER = "X-Postmark-Server-Token"

accepted = 0
counting = threading.Lock()


def result(message: object) -> dict:
    """Postmark's answer for one accepted message."""
    to = message.get("To", "") if isinstance(message, dict) else ""
    return {
        "ErrorCode": 0,
        "Message": "OK",
        "MessageID": str(uuid.uuid4()),
        "SubmittedAt": datetime.now(UTC).isoformat(),
        "To": to,
    }


class PostmarkHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: a client's session reuses its connection

    def setup(self):
        super().setup()
        # Headers and body leave in two writes: without this, Nagle's algorithm holds the
        # body until the client's delayed ACK, 40 ms per call.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format, *args):  # noqa: A002 - the base class names it so
        pass

    def answer(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def refuse(self, code: int, message: str) -> None:
        self.answer(422, {"ErrorCode": code, "Message": message})

    def do_GET(self):
        if self.path == "/stats":
            self.answer(200, {"messages": accepted})
        else:
            self.answer(404, {"ErrorCode": 404, "Message": "Not found"})

    def do_POST(self):
        global accepted
        length = int(self.headers.get("Content-Length") or 0)
        limit = BATCH_BYTES if self.path == "/email/batch" else SINGLE_BYTES
        if length > limit:
            while length > 0:  # read it all, so the client hears the answer, not a reset
                length -= len(self.rfile.read(min(length, 1 << 20))) or length
            self.refuse(300, f"Request body over {limit} bytes.")
            return
        body = self.rfile.read(length)
        if not self.headers.get(TOKEN_HEADER):
            self.answer(401, {"ErrorCode": 10, "Message": "No Account or Server API tokens."})
            return
        try:
            payload = json.loads(body)
        except ValueError:
            self.refuse(402, "Received invalid JSON input.")
            return
        if self.path == "/email/batch":
            if not isinstance(payload, list):
                self.refuse(300, "Invalid email request: a batch is a list of messages.")
                return
            if len(payload) > BATCH_MESSAGES:
                self.refuse(300, f"Batch of {len(payload)} messages: at most {BATCH_MESSAGES}.")
                return
            results: object = [result(message) for message in payload]
            count = len(payload)
        elif self.path == "/email":
            results, count = result(payload), 1
        else:
            self.answer(404, {"ErrorCode": 404, "Message": "Not found"})
            return
        with counting:
            accepted += count
        self.answer(200, results)


def serve(port: int) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", port), PostmarkHandler)
    server.daemon_threads = True
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    serve(int(sys.argv[1]))

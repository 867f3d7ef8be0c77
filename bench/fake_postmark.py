"""A fake of Postmark's sending API on loopback, for ``bench/bench_send_esp.py`` and its test.

The shapes and limits are Postmark's as documented: ``POST /email`` takes one message and
answers one result; ``POST /email/batch`` takes a JSON list of up to 500 messages in at most
50 MB and answers a list with one result per message, in order (``ErrorCode`` 0, ``Message``
"OK", ``MessageID``, ``SubmittedAt``, ``To``); a request over a limit gets 422 with an
``ErrorCode`` and a ``Message``, as Postmark answers, and sends nothing. The server token
header is required. ``GET /stats`` says how many messages were accepted.

Run it: ``python -m bench.fake_postmark PORT`` (prints ``ready`` when it listens; nothing is
stored). Tests run it in a thread (``FakePostmark.start()``) and steer it: ``inactive``
addresses are answered as Postmark answers a recipient it has deactivated (``ErrorCode``
406 for that message alone), ``failures`` answer the next calls with an HTTP status or a
stall (no answer at all), and ``kept`` holds every accepted message with its ``MessageID``.
"""

import json
import socket
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BATCH_MESSAGES = 500
BATCH_BYTES = 50 * 1024 * 1024
SINGLE_BYTES = 10 * 1024 * 1024
TOKEN_HEADER = "X-Postmark-Server-Token"

INACTIVE = (
    "You tried to send to recipient(s) that have been marked as inactive. Found inactive "
    "addresses: {}. Inactive recipients are ones that have generated a hard bounce, a spam "
    "complaint, or a manual suppression."
)


class FakePostmark(ThreadingHTTPServer):
    """The API on a loopback port, with what it accepted and what it is told to refuse."""

    daemon_threads = True

    def __init__(self, port: int = 0, keep: bool = False):
        super().__init__(("127.0.0.1", port), PostmarkHandler)
        self.keep = keep
        self.accepted = 0
        self.kept: list[dict] = []  # with ``keep``: each accepted message and its MessageID
        self.calls: list[tuple[str, int]] = []  # (path, messages) of each call answered 200
        self.inactive: set[str] = set()
        # The next calls' answers: an HTTP status, "stall", or None (answered as usual).
        self.failures: list[int | str | None] = []
        self.batch_bytes = BATCH_BYTES
        self.stall_seconds = 2.0
        self.counting = threading.Lock()

    @property
    def port(self) -> int:
        return self.server_address[1]

    def start(self) -> "FakePostmark":
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def result(self, message: object) -> dict:
        """Postmark's answer for one message: accepted, or refused when its address is
        inactive."""
        to = message.get("To", "") if isinstance(message, dict) else ""
        if to.lower() in self.inactive:
            return {"ErrorCode": 406, "Message": INACTIVE.format(to), "To": to}
        answer = {
            "ErrorCode": 0,
            "Message": "OK",
            "MessageID": str(uuid.uuid4()),
            "SubmittedAt": datetime.now(UTC).isoformat(),
            "To": to,
        }
        if self.keep:
            self.kept.append({**message, "MessageID": answer["MessageID"]})
        return answer

    def answer_all(self, path: str, messages: list) -> list[dict]:
        with self.counting:
            results = [self.result(message) for message in messages]
            self.accepted += sum(1 for r in results if r["ErrorCode"] == 0)
            self.calls.append((path, len(messages)))
        return results


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
            self.answer(200, {"messages": self.server.accepted})
        else:
            self.answer(404, {"ErrorCode": 404, "Message": "Not found"})

    def do_POST(self):
        fake: FakePostmark = self.server
        length = int(self.headers.get("Content-Length") or 0)
        limit = fake.batch_bytes if self.path == "/email/batch" else SINGLE_BYTES
        if length > limit:
            while length > 0:  # read it all, so the client hears the answer, not a reset
                length -= len(self.rfile.read(min(length, 1 << 20))) or length
            self.refuse(300, f"Request body over {limit} bytes.")
            return
        body = self.rfile.read(length)
        failure = fake.failures.pop(0) if fake.failures else None
        if failure is not None:
            if failure == "stall":  # no answer in the client's time, then none at all
                time.sleep(fake.stall_seconds)
                self.close_connection = True
                return
            self.answer(int(failure), {"Message": "The service is unavailable; try again later."})
            return
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
            self.answer(200, fake.answer_all(self.path, payload))
        elif self.path == "/email":
            (one,) = fake.answer_all(self.path, [payload])
            self.answer(200 if one["ErrorCode"] == 0 else 422, one)
        else:
            self.answer(404, {"ErrorCode": 404, "Message": "Not found"})


def serve(port: int) -> None:
    server = FakePostmark(port)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    serve(int(sys.argv[1]))

"""A local stand-in for the Anthropic Messages API, so no test touches the network.

``StubAnthropic`` serves ``POST /v1/messages`` on 127.0.0.1 (a free port) from
a thread. Point the SDK at it with ``ANTHROPIC_BASE_URL=stub.url``. What it
does with a request is set by ``behaviour``:

- ``"answer"``: after ``delay`` seconds, a valid Messages API response whose
  text is ``reply(request_body)`` (default: a JSON pitch naming the product);
- ``"stall"``: never answers (until the stub stops);
- ``"status"``: the HTTP ``status`` (401, 429, 500...) with an Anthropic-style
  error body (``echo_auth=True`` puts the request's auth header in the message,
  to prove a client never repeats it).

``stop_reason`` sets the answer's stop reason (e.g. ``"refusal"``).

It records every request body (``bodies``, parsed JSON; ``raw_bodies``, text),
counts TCP connections (``connections``) and the most requests in flight at
once (``max_in_flight``). Used by tests/pitch and bench/pitch_batch.py.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self

_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                404: "not_found_error", 429: "rate_limit_error", 500: "api_error", 529: "overloaded_error"}


def default_reply(body: dict) -> str:
    """A JSON pitch that names the product found in the request's offer data."""
    content = body["messages"][0]["content"]
    match = re.search(r"<offer_data>\s*(\{.*\})\s*</offer_data>", content, re.DOTALL)
    product = json.loads(match.group(1))["product_name"] if match else "the product"
    if "Channel: sms" in content:
        return json.dumps({"subject": "", "body": f"{product} is back in stock for you."})
    return json.dumps({"subject": f"About {product}", "body": f"Hello,\n\nWe picked {product} for you.\n\nThanks"})


class StubAnthropic:
    """The stub server; use as a context manager (``with StubAnthropic() as stub:``)."""

    def __init__(self, behaviour: str = "answer", *, delay: float = 0.0, status: int = 500, reply=default_reply,
                 echo_auth: bool = False, stop_reason: str = "end_turn"):
        self.behaviour, self.delay, self.status, self.reply, self.echo_auth = behaviour, delay, status, reply, echo_auth
        self.stop_reason = stop_reason
        self.bodies: list[dict] = []
        self.raw_bodies: list[str] = []
        self.headers: list[dict] = []
        self.connections = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="stub-anthropic", daemon=True)

    @property
    def url(self) -> str:
        """The base URL to put in ANTHROPIC_BASE_URL."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def requests(self) -> int:
        """How many requests reached /v1/messages."""
        return len(self.raw_bodies)

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _record(self, raw: str, headers: dict) -> dict:
        body = json.loads(raw) if raw else {}
        with self._lock:
            self.raw_bodies.append(raw)
            self.bodies.append(body)
            self.headers.append(headers)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        return body

    def _done(self) -> None:
        with self._lock:
            self.in_flight -= 1


def _handler(stub: StubAnthropic) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            with stub._lock:
                stub.connections += 1
            super().setup()
            # headers and body go out as two writes: without this, Nagle + delayed ACK add 40 ms to each answer
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, *args) -> None:  # keep test output quiet
            pass

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8")
            if not self.path.startswith("/v1/messages"):
                self._send(404, {"type": "error", "error": {"type": "not_found_error", "message": "no such path"}})
                return
            body = stub._record(raw, dict(self.headers))
            try:
                if stub.behaviour == "stall":
                    stub._release.wait()
                    self.close_connection = True
                    return
                if stub.behaviour == "status":
                    auth = self.headers.get("Authorization") or self.headers.get("x-api-key") or ""
                    message = f"invalid credentials: {auth}" if stub.echo_auth else "stub error"
                    self._send(stub.status, {"type": "error", "request_id": "req_stub",
                                             "error": {"type": _ERROR_TYPES.get(stub.status, "api_error"),
                                                       "message": message}})
                    return
                if stub.delay:
                    time.sleep(stub.delay)
                text = stub.reply(body)
                self._send(200, {
                    "id": f"msg_stub_{stub.requests}", "type": "message", "role": "assistant",
                    "model": body.get("model", "stub-model"), "content": [{"type": "text", "text": text}],
                    "stop_reason": stub.stop_reason, "stop_sequence": None,
                    "usage": {"input_tokens": len(raw) // 4, "output_tokens": len(text) // 4},
                })
            finally:
                stub._done()

        def _send(self, status: int, payload: dict) -> None:
            data = json.dumps(payload).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("request-id", "req_stub")
            self.end_headers()
            self.wfile.write(data)

    return Handler

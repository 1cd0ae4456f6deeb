"""Webhook receivers on loopback that misbehave on purpose, and guards on the network.

`Receiver` is a threaded HTTP server bound to a 127.x address; the path picks what it does:

    /ok           204
    /status/500   500 with the body "boom"
    /redirect     302 to the cloud metadata address (never to be followed)
    /slow         answers only when released (at the end of the test), or after 5 s
    /trickle      200, then one byte of the promised 1000 every 50 ms
    /bytes/N      200 with a body of N bytes, noting how many got out (`bytes_sent`)
    /garbage      a line that is not HTTP, then closes

The `network` fixture (tests/core/conftest.py) replaces `socket.getaddrinfo` and
`socket.socket.connect` for one test and records into a `NetworkGuard`, so a test can show
that no host name was looked up by the system and, when blocked, that no connection was even
attempted: the check happens in Python before any packet could leave.
"""

import base64
import hashlib
import hmac
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None, port: int = 0
    ) -> None:
        super().__init__((host, port), _Handler)
        if tls is not None:
            self.socket = tls.wrap_socket(self.socket, server_side=True)
        self.received: list[Received] = []
        # How much of each /bytes/N body got out before the client hung up.
        self.bytes_sent: list[int] = []
        self.release = threading.Event()

    @property
    def port(self) -> int:
        port: int = self.server_address[1]
        return port

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that give up mid-answer (timeouts, size caps) are what these tests provoke.
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Receiver

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        headers = {name.lower(): value for name, value in self.headers.items()}
        self.server.received.append(Received(self.path, headers, body))
        try:
            self._answer(self.path)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self.close_connection = True

    def _answer(self, path: str) -> None:
        if path == "/ok":
            self._send(204)
        elif path == "/status/500":
            self._send(500, b"boom")
        elif path == "/redirect":
            self._send(302, location="http://169.254.169.254/latest/meta-data/")
        elif path == "/slow":
            self.server.release.wait(5)
            self._send(204)
        elif path == "/trickle":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            for _ in range(100):
                if self.server.release.wait(0.05):
                    break
                self.wfile.write(b"x")
                self.wfile.flush()
            self.close_connection = True
        elif path.startswith("/bytes/"):
            self._send_bytes(int(path.removeprefix("/bytes/")))
        elif path == "/garbage":
            self.wfile.write(b"this is not HTTP\r\n\r\n")
            self.close_connection = True
        else:
            self._send(404)

    def _send_bytes(self, size: int) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(size))
        self.end_headers()
        sent = 0
        try:
            while sent < size:
                chunk = min(64 * 1024, size - sent)
                self.wfile.write(b"a" * chunk)
                sent += chunk
        finally:
            self.server.bytes_sent.append(sent)

    def _send(self, status: int, body: bytes = b"", location: str | None = None) -> None:
        self.send_response(status)
        if location is not None:
            self.send_header("Location", location)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def serving(receiver: Receiver) -> Iterator[Receiver]:
    thread = threading.Thread(target=receiver.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.release.set()
        receiver.shutdown()
        receiver.server_close()
        thread.join(5)


@dataclass
class NetworkGuard:
    # Host names given to getaddrinfo (numeric ones are not lookups and are let through).
    lookups: list[str] = field(default_factory=list)
    # Addresses a socket tried to connect to.
    connects: list[str] = field(default_factory=list)
    block_connections: bool = False


def signature_valid(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """Standard Webhooks verification written again from the specification, with the standard
    library only: not the `standardwebhooks` package the sender signs with, so a mistake in
    how we use it cannot hide here. Any of the space-separated `v1,` entries may match; the
    timestamp must be within five minutes of now."""
    try:
        msg_id = headers["webhook-id"]
        timestamp = headers["webhook-timestamp"]
        signatures = headers["webhook-signature"].split(" ")
    except KeyError:
        return False
    if abs(time.time() - int(timestamp)) > 5 * 60:
        return False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(
        hmac.compare_digest(entry, f"v1,{expected}")
        for entry in signatures
        if entry.startswith("v1,")
    )

"""The wire side of one delivery attempt: one POST to one checked address, on httpcore2.

`exchange` sends the request and reads the reply; it raises httpcore2's exceptions, which
`app.core.outbound` turns into failure reasons. The URL given to httpcore2 names the address,
so the connection cannot go anywhere else; the host name travels in the Host header and in
SNI, which is also the name the certificate is verified against.

httpcore2's timeouts apply to each operation (connect, each read, each write), so a receiver
that trickles a byte every second would keep an attempt alive forever. Every operation here
gets the time left until the attempt's deadline instead, and fails once it has passed.

It also refuses to connect to anything but an IP literal: `app.core.outbound` puts the checked
address in the URL, and a host name reaching this point would mean a second DNS lookup.
"""

import ipaddress
import ssl
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import httpcore2

from app.core.ssrf import IPAddress, Target


@dataclass(frozen=True)
class Reply:
    """What came back: the status, the body read, and whether it was cut."""

    status: int
    body: bytes
    truncated: bool
    location: str | None


def exchange(
    target: Target,
    address: IPAddress,
    payload: bytes,
    headers: Sequence[tuple[str, str]],
    *,
    deadline: float,
    max_response_bytes: int,
    ssl_context: ssl.SSLContext | None,
) -> Reply:
    """POST `payload` to `target` at `address` by `deadline`; no redirect is followed."""
    url = httpcore2.URL(
        scheme=target.scheme.encode(),
        host=str(address).encode(),
        port=target.port,
        target=target.path.encode(),
    )
    # A fresh pool per attempt: no connection outlives the resolution it was checked against.
    with (
        httpcore2.ConnectionPool(
            ssl_context=ssl_context,
            max_connections=1,
            max_keepalive_connections=0,
            network_backend=DeadlineBackend(deadline),
        ) as pool,
        pool.stream(
            "POST",
            url,
            headers=list(headers),
            content=payload,
            extensions={"sni_hostname": target.host},
        ) as response,
    ):
        body, truncated = _read_capped(response, max_response_bytes)
        location = next(
            (
                value.decode("latin-1")
                for key, value in response.headers
                if key.lower() == b"location"
            ),
            None,
        )
        return Reply(response.status, body, truncated, location)


def _read_capped(response: httpcore2.Response, limit: int) -> tuple[bytes, bool]:
    """At most `limit` bytes of the body; True when more was sent or reading was cut short."""
    body = bytearray()
    try:
        for chunk in response.iter_stream():
            body += chunk
            if len(body) > limit:
                return bytes(body[:limit]), True
    except (httpcore2.TimeoutException, httpcore2.NetworkError, httpcore2.ProtocolError):
        # The status is the receiver's answer; a body that stalls or breaks only shortens the
        # excerpt.
        return bytes(body), True
    return bytes(body), False


def _time_left(deadline: float, timeout: float | None, error: type[Exception]) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise error("the attempt's deadline has passed")
    return left if timeout is None else min(timeout, left)


class DeadlineStream(httpcore2.NetworkStream):
    """A connection whose reads, writes and TLS handshake end by `deadline` (monotonic)."""

    def __init__(self, inner: httpcore2.NetworkStream, deadline: float) -> None:
        self._inner = inner
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        left = _time_left(self._deadline, timeout, httpcore2.ReadTimeout)
        return self._inner.read(max_bytes, left)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        left = _time_left(self._deadline, timeout, httpcore2.WriteTimeout)
        self._inner.write(buffer, left)

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore2.NetworkStream:
        left = _time_left(self._deadline, timeout, httpcore2.ConnectTimeout)
        return DeadlineStream(
            self._inner.start_tls(ssl_context, server_hostname, left), self._deadline
        )

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class DeadlineBackend(httpcore2.NetworkBackend):
    """httpcore2's socket backend, held to `deadline` and to IP-literal hosts."""

    def __init__(self, deadline: float) -> None:
        self._deadline = deadline
        self._inner = httpcore2.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None,
    ) -> httpcore2.NetworkStream:
        try:
            ipaddress.ip_address(host)
        except ValueError:
            raise httpcore2.ConnectError(f"refusing to resolve {host!r} a second time") from None
        left = _time_left(self._deadline, timeout, httpcore2.ConnectTimeout)
        stream = self._inner.connect_tcp(host, port, left, local_address, socket_options)
        return DeadlineStream(stream, self._deadline)

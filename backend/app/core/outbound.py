"""One webhook delivery attempt: an SSRF-safe POST that always ends in a `DeliveryResult`.

The delivery worker (app/jobs/, later) claims a due delivery row, signs the payload
(`app.core.webhook_signing.sign`), and calls this from its thread, outside any transaction:

    policy = OutboundPolicy(allow_http=not production, allow_private=settings.webhook_allow_private)
    headers = sign(msg_id=f"msg_{delivery.id.hex}", payload=payload, secrets=..., timestamp=now)
    result = post_webhook(webhook.url, payload, headers, policy=policy)
    # store result.status_code, result.duration_ms, result.failure, result.detail,
    # result.body_excerpt on the attempt row; then retry_schedule decides what comes next.

What one call does, in order:

1. `parse_target` checks the URL (`https://` unless `policy.allow_http`, no userinfo).
2. The host is resolved once, with `resolver` (`system_resolver` by default; tests pass their
   own), and every address it gives is checked (`refuse_non_public`) unless
   `policy.allow_private`. One refused address refuses the attempt, before any socket exists.
3. The connection goes to a checked address itself (an IP literal, so no second lookup and no
   DNS-rebinding window), trying the next one only if connecting fails. The request carries
   the original Host header; for https the TLS handshake sends the original host name as SNI
   and verifies the certificate against it (`ssl_context`, the system's trust store by default).
4. `policy.timeout` (5 s) bounds the whole attempt: resolution (counted once it returns; the
   system resolver cannot be interrupted and has its own timeout), connecting, the TLS
   handshake, sending, and waiting for the status line. Redirects are not followed: a 3xx is a
   failure. Once a status has arrived the body is read to at most `policy.max_response_bytes`
   (64 KiB) or until the deadline, whichever comes first; the status alone decides the outcome.

No environment proxy is used (httpcore2, not an httpx2 client that reads HTTPS_PROXY): a proxy
would resolve the name again and connect wherever it liked. The wire part (httpcore2, the
deadline) is `app.core.outbound_transport`.
"""

import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import httpcore2

from app.core.outbound_transport import Reply, exchange
from app.core.ssrf import (
    IPAddress,
    RefusedAddress,
    Resolver,
    Target,
    UnresolvableHost,
    UnsafeUrl,
    parse_target,
    refuse_non_public,
    resolve,
    system_resolver,
)

USER_AGENT = "tasks-api-webhooks/1"
EXCERPT_CHARS = 1024
# Set here, from the target and the payload; a caller's second value would break the request.
_OWN_HEADERS = frozenset(
    {"host", "content-length", "content-type", "transfer-encoding", "connection", "user-agent"}
)


class FailureReason(StrEnum):
    """Why an attempt failed; stored with the attempt and shown to the webhook's owner."""

    INVALID_URL = "invalid_url"
    REFUSED_ADDRESS = "refused_address"
    DNS_FAILURE = "dns_failure"
    TIMEOUT = "timeout"
    TLS_ERROR = "tls_error"
    CONNECTION_REFUSED = "connection_refused"
    CONNECTION_ERROR = "connection_error"
    PROTOCOL_ERROR = "protocol_error"
    REDIRECT = "redirect"
    NON_2XX = "non_2xx"


@dataclass(frozen=True)
class OutboundPolicy:
    """What an attempt may do; built once from the settings by the worker."""

    allow_http: bool = False
    allow_private: bool = False
    timeout: float = 5.0
    max_response_bytes: int = 64 * 1024


@dataclass(frozen=True)
class DeliveryResult:
    """The outcome of one attempt: delivered (`ok`) or a `failure` with a `detail` line."""

    ok: bool
    status_code: int | None
    duration_ms: int
    failure: FailureReason | None
    # One line for the owner: "HTTP 204", "no answer within 5 s", "... a loopback address".
    detail: str
    # The address connected to (or refused), for the owner; None before resolution.
    address: str | None = None
    body: bytes = field(default=b"", repr=False)
    # True when the receiver sent more than was read (size cap or deadline).
    body_truncated: bool = False

    @property
    def body_excerpt(self) -> str:
        """The start of the response body as text, short enough to store with the attempt."""
        text = self.body.decode("utf-8", errors="replace")
        cut = self.body_truncated or len(text) > EXCERPT_CHARS
        return text[:EXCERPT_CHARS] + ("…" if cut else "")


class _Failed(Exception):
    def __init__(self, reason: FailureReason, detail: str, *, connecting: bool = False) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        # Nothing reached the receiver: the next address may be tried.
        self.connecting = connecting


def post_webhook(
    url: str,
    payload: bytes,
    headers: Mapping[str, str],
    *,
    policy: OutboundPolicy = OutboundPolicy(),
    resolver: Resolver = system_resolver,
    ssl_context: ssl.SSLContext | None = None,
) -> DeliveryResult:
    """POST `payload` (JSON) with `headers` to `url` under `policy`; never raises on failure."""
    reserved = sorted(name for name in headers if name.lower() in _OWN_HEADERS)
    if reserved:
        raise ValueError(f"headers set by post_webhook itself: {reserved}")
    started = time.monotonic()
    deadline = started + policy.timeout
    address: str | None = None

    def result(
        failure: FailureReason | None,
        detail: str,
        status_code: int | None = None,
        body: bytes = b"",
        body_truncated: bool = False,
    ) -> DeliveryResult:
        return DeliveryResult(
            ok=failure is None,
            status_code=status_code,
            duration_ms=round((time.monotonic() - started) * 1000),
            failure=failure,
            detail=detail,
            address=address,
            body=body,
            body_truncated=body_truncated,
        )

    try:
        target = parse_target(url, allow_http=policy.allow_http)
        addresses = resolve(target, resolver)
        if not policy.allow_private:
            refuse_non_public(target, addresses)
    except UnsafeUrl as exc:
        return result(FailureReason.INVALID_URL, str(exc))
    except UnresolvableHost as exc:
        return result(FailureReason.DNS_FAILURE, str(exc))
    except RefusedAddress as exc:
        address = exc.address
        return result(FailureReason.REFUSED_ADDRESS, str(exc))
    if time.monotonic() >= deadline:
        return result(FailureReason.TIMEOUT, f"no answer within {policy.timeout:g} s")

    for index, checked in enumerate(addresses):
        address = str(checked)
        try:
            reply = _exchange(target, checked, payload, headers, policy, deadline, ssl_context)
        except _Failed as failed:
            if failed.connecting and index + 1 < len(addresses) and time.monotonic() < deadline:
                continue
            return result(failed.reason, failed.detail)
        status = reply.status
        failure: FailureReason | None
        if 200 <= status < 300:
            failure, detail = None, f"HTTP {status}"
        elif 300 <= status < 400:
            where = f" to {reply.location}" if reply.location else ""
            failure, detail = FailureReason.REDIRECT, f"HTTP {status}: redirect{where} not followed"
        else:
            failure, detail = FailureReason.NON_2XX, f"HTTP {status}"
        return result(failure, detail, status, reply.body, reply.truncated)
    raise AssertionError("unreachable: resolve returns at least one address")


def _exchange(
    target: Target,
    address: IPAddress,
    payload: bytes,
    headers: Mapping[str, str],
    policy: OutboundPolicy,
    deadline: float,
    ssl_context: ssl.SSLContext | None,
) -> Reply:
    request_headers = [
        ("Host", target.host_header),
        ("User-Agent", USER_AGENT),
        ("Content-Type", "application/json"),
        *headers.items(),
        ("Content-Length", str(len(payload))),
    ]
    try:
        return exchange(
            target,
            address,
            payload,
            request_headers,
            deadline=deadline,
            max_response_bytes=policy.max_response_bytes,
            ssl_context=ssl_context,
        )
    except httpcore2.TimeoutException:
        raise _Failed(FailureReason.TIMEOUT, f"no answer within {policy.timeout:g} s") from None
    except httpcore2.ConnectError as exc:
        raise _connect_failure(exc, address, target.port) from None
    except (httpcore2.ProtocolError, httpcore2.NetworkError) as exc:
        # Sent, or partly sent: another address would get the request a second time.
        reason = (
            FailureReason.PROTOCOL_ERROR
            if isinstance(exc, httpcore2.ProtocolError)
            else FailureReason.CONNECTION_ERROR
        )
        raise _Failed(reason, f"{reason.value.replace('_', ' ')}: {exc}") from None


def _connect_failure(exc: httpcore2.ConnectError, address: IPAddress, port: int) -> _Failed:
    # httpcore2 re-raises with `from None`, so the socket's error is the context, not the cause.
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, ssl.SSLError):
        reason = getattr(cause, "verify_message", None) or cause.reason or str(cause)
        return _Failed(FailureReason.TLS_ERROR, f"TLS handshake failed: {reason}")
    if isinstance(cause, ConnectionRefusedError):
        return _Failed(
            FailureReason.CONNECTION_REFUSED,
            f"connection refused by {address} port {port}",
            connecting=True,
        )
    return _Failed(
        FailureReason.CONNECTION_ERROR,
        f"could not connect to {address} port {port}: {cause or exc}",
        connecting=True,
    )

"""One delivery attempt, end to end: refusals before any connection, and real sends to
receivers on 127.0.0.1 that answer, redirect, stall, trickle, flood or talk nonsense.

Every test runs under the `network` guard: the system resolver is never asked about a host
name, and where connections are blocked the refusal is shown to come before any socket
connects. Real traffic goes only to loopback, with `allow_private=True`.
"""

import socket
import time
from collections.abc import Iterator, Sequence

import pytest

from app.core.outbound import DeliveryResult, FailureReason, OutboundPolicy, post_webhook
from app.core.ssrf import system_resolver
from tests.core.test_ssrf import REFUSED
from tests.core.webhook_servers import NetworkGuard, Receiver, serving
from tests.live import free_port

HOST = "hooks.example.test"
PAYLOAD = b'{"type": "task.created"}'
LOOPBACK = OutboundPolicy(allow_http=True, allow_private=True)
PUBLIC_ONLY = OutboundPolicy(allow_http=True)


class FixedResolver:
    """A resolver whose answer the test chooses; it counts how often it was asked."""

    def __init__(self, *addresses: str) -> None:
        self.addresses = list(addresses)
        self.calls: list[tuple[str, int]] = []

    def __call__(self, host: str, port: int) -> Sequence[str]:
        self.calls.append((host, port))
        return self.addresses


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with serving(Receiver()) as running:
        yield running


def send(
    path: str,
    port: int,
    *,
    policy: OutboundPolicy = LOOPBACK,
    resolver: FixedResolver | None = None,
) -> DeliveryResult:
    return post_webhook(
        f"http://{HOST}:{port}{path}",
        PAYLOAD,
        {"webhook-id": "msg_1"},
        policy=policy,
        resolver=resolver or FixedResolver("127.0.0.1"),
    )


# Refusals: decided before any connection.


@pytest.mark.parametrize(("address", "kind"), REFUSED)
def test_every_non_public_address_is_refused_before_connecting(
    address: str, kind: str, network: NetworkGuard
) -> None:
    network.block_connections = True
    result = post_webhook(
        f"https://{HOST}/in", PAYLOAD, {}, resolver=FixedResolver(address.split("%")[0])
    )
    assert result.failure is FailureReason.REFUSED_ADDRESS
    assert not result.ok
    assert kind.split(" (")[0] in result.detail
    assert result.status_code is None
    assert network.connects == []


def test_an_ip_literal_url_is_checked_without_resolving(network: NetworkGuard) -> None:
    network.block_connections = True
    resolver = FixedResolver("93.184.215.14")
    result = post_webhook(
        "https://169.254.169.254/latest/meta-data/", PAYLOAD, {}, resolver=resolver
    )
    assert result.failure is FailureReason.REFUSED_ADDRESS
    assert "cloud metadata" in result.detail
    assert resolver.calls == []
    assert network.connects == []


def test_one_private_address_among_public_ones_refuses_the_attempt(network: NetworkGuard) -> None:
    network.block_connections = True
    result = post_webhook(
        f"https://{HOST}/", PAYLOAD, {}, resolver=FixedResolver("93.184.215.14", "10.0.0.7")
    )
    assert result.failure is FailureReason.REFUSED_ADDRESS
    assert result.address == "10.0.0.7"
    assert network.connects == []


def test_a_public_address_passes_and_is_the_one_connected_to(network: NetworkGuard) -> None:
    # The guard refuses the connection inside Python, so nothing leaves this machine; what it
    # recorded is where the attempt would have gone: the resolved address, not a new lookup.
    network.block_connections = True
    resolver = FixedResolver("93.184.215.14")
    result = post_webhook(f"https://{HOST}/in", PAYLOAD, {}, resolver=resolver)
    assert result.failure is FailureReason.CONNECTION_REFUSED
    assert result.address == "93.184.215.14"
    assert network.connects == ["93.184.215.14"]
    assert network.lookups == []
    assert resolver.calls == [(HOST, 443)]


def test_allow_private_lets_a_private_address_through(network: NetworkGuard) -> None:
    network.block_connections = True
    result = post_webhook(
        f"https://{HOST}/", PAYLOAD, {}, policy=LOOPBACK, resolver=FixedResolver("10.0.0.7")
    )
    assert result.failure is FailureReason.CONNECTION_REFUSED
    assert network.connects == ["10.0.0.7"]


@pytest.mark.parametrize(
    "url",
    ["http://hooks.example.test/", "https://user:pw@hooks.example.test/", "https://2130706433/"],
)
def test_unsafe_urls_fail_without_resolving(url: str, network: NetworkGuard) -> None:
    network.block_connections = True
    resolver = FixedResolver("127.0.0.1")
    result = post_webhook(url, PAYLOAD, {}, resolver=resolver)
    assert result.failure is FailureReason.INVALID_URL
    assert resolver.calls == []
    assert network.connects == []


def test_resolution_failures_are_dns_failures(network: NetworkGuard) -> None:
    def broken(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    for resolver in (broken, FixedResolver(), FixedResolver("not an address")):
        result = post_webhook(f"https://{HOST}/", PAYLOAD, {}, resolver=resolver)
        assert result.failure is FailureReason.DNS_FAILURE
        assert HOST in result.detail
    assert network.connects == []


def test_a_slow_resolution_counts_against_the_timeout(network: NetworkGuard) -> None:
    def slow(host: str, port: int) -> list[str]:
        time.sleep(0.35)
        return ["127.0.0.1"]

    policy = OutboundPolicy(allow_private=True, timeout=0.3)
    result = post_webhook(f"https://{HOST}/", PAYLOAD, {}, policy=policy, resolver=slow)
    assert result.failure is FailureReason.TIMEOUT
    assert network.connects == []


def test_the_system_resolver_answers_numeric_hosts_without_a_lookup(network: NetworkGuard) -> None:
    assert system_resolver("127.0.0.1", 443) == ["127.0.0.1"]
    assert network.lookups == []


def test_headers_the_sender_owns_cannot_be_passed() -> None:
    with pytest.raises(ValueError, match="Host"):
        post_webhook(f"https://{HOST}/", PAYLOAD, {"Host": "elsewhere"})


# Real sends to loopback.


def test_delivery_resolves_once_and_keeps_the_host_name(
    receiver: Receiver, network: NetworkGuard
) -> None:
    resolver = FixedResolver("127.0.0.1")
    result = send("/ok", receiver.port, resolver=resolver)
    assert result.ok
    assert result.failure is None
    assert result.status_code == 204
    assert result.detail == "HTTP 204"
    assert result.address == "127.0.0.1"
    assert resolver.calls == [(HOST, receiver.port)]
    assert network.lookups == []
    [request] = receiver.received
    assert request.headers["host"] == f"{HOST}:{receiver.port}"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["webhook-id"] == "msg_1"
    assert request.body == PAYLOAD


def test_the_connection_goes_to_the_resolved_address() -> None:
    # Only 127.0.0.2 listens: a delivery there proves the answer of this attempt's resolver was
    # used, not another lookup of the name.
    with serving(Receiver("127.0.0.2")) as other:
        result = send("/ok", other.port, resolver=FixedResolver("127.0.0.2"))
        assert result.ok
        assert result.address == "127.0.0.2"
        assert len(other.received) == 1


def test_next_address_is_tried_when_connecting_fails(receiver: Receiver) -> None:
    # Nothing listens on 127.0.0.3 at the receiver's port.
    result = send("/ok", receiver.port, resolver=FixedResolver("127.0.0.3", "127.0.0.1"))
    assert result.ok
    assert result.address == "127.0.0.1"


def test_loopback_is_refused_without_allow_private(receiver: Receiver) -> None:
    result = send("/ok", receiver.port, policy=PUBLIC_ONLY)
    assert result.failure is FailureReason.REFUSED_ADDRESS
    assert "loopback" in result.detail
    assert receiver.received == []


def test_non_2xx_is_a_failure_with_the_body_excerpt(receiver: Receiver) -> None:
    result = send("/status/500", receiver.port)
    assert not result.ok
    assert result.failure is FailureReason.NON_2XX
    assert result.status_code == 500
    assert result.detail == "HTTP 500"
    assert result.body_excerpt == "boom"


def test_redirects_are_failures_and_not_followed(receiver: Receiver, network: NetworkGuard) -> None:
    result = send("/redirect", receiver.port)
    assert result.failure is FailureReason.REDIRECT
    assert result.status_code == 302
    assert "169.254.169.254" in result.detail
    assert "not followed" in result.detail
    assert [request.path for request in receiver.received] == ["/redirect"]
    assert network.connects == ["127.0.0.1"]


def test_a_receiver_that_does_not_answer_times_out(receiver: Receiver) -> None:
    policy = OutboundPolicy(allow_http=True, allow_private=True, timeout=0.3)
    result = send("/slow", receiver.port, policy=policy)
    assert result.failure is FailureReason.TIMEOUT
    assert result.detail == "no answer within 0.3 s"
    assert result.status_code is None
    # The receiver would answer after 5 s; the attempt ended at its deadline.
    assert 300 <= result.duration_ms < 3000


def test_a_trickling_body_cannot_stretch_the_attempt(receiver: Receiver) -> None:
    # Every read gets a byte in 50 ms, so per-read timeouts alone would wait for all 1000.
    policy = OutboundPolicy(allow_http=True, allow_private=True, timeout=0.3)
    result = send("/trickle", receiver.port, policy=policy)
    assert result.ok
    assert result.status_code == 200
    assert result.body_truncated
    assert 0 < len(result.body) < 1000
    assert result.duration_ms < 3000


def test_the_body_is_read_to_64_kib_and_no_further(receiver: Receiver) -> None:
    exact = send("/bytes/65536", receiver.port)
    assert exact.ok
    assert len(exact.body) == 65536
    assert not exact.body_truncated
    size = 64 * 1024 * 1024
    huge = send(f"/bytes/{size}", receiver.port)
    assert huge.ok
    assert len(huge.body) == 65536
    assert huge.body_truncated
    assert huge.body_excerpt == "a" * 1024 + "…"
    # The sender hung up instead of draining the rest: the receiver could not send it all.
    deadline = time.monotonic() + 5
    while len(receiver.bytes_sent) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert receiver.bytes_sent[0] == 65536
    assert receiver.bytes_sent[1] < size // 2


def test_a_closed_port_is_connection_refused() -> None:
    port = free_port()
    result = send("/ok", port)
    assert result.failure is FailureReason.CONNECTION_REFUSED
    assert result.detail == f"connection refused by 127.0.0.1 port {port}"


def test_a_receiver_that_does_not_speak_http_is_a_protocol_error(receiver: Receiver) -> None:
    result = send("/garbage", receiver.port)
    assert result.failure is FailureReason.PROTOCOL_ERROR
    assert result.status_code is None

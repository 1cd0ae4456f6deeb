"""https deliveries connect to the checked address yet speak TLS to the URL's host name: SNI
and certificate verification use the name, never the address. The receiver is on 127.0.0.1
with a certificate from a throwaway CA (trustme); the name reaches it through the test's
resolver.
"""

import ssl
from collections.abc import Iterator

import pytest
import trustme

from app.core.outbound import FailureReason, OutboundPolicy, post_webhook
from tests.core.webhook_servers import NetworkGuard, Receiver, serving

HOST = "hooks.example.test"
PAYLOAD = b"{}"
LOOPBACK = OutboundPolicy(allow_private=True)


def to_loopback(host: str, port: int) -> list[str]:
    return ["127.0.0.1"]


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def server_names() -> list[str | None]:
    return []


@pytest.fixture
def tls_receiver(ca: trustme.CA, server_names: list[str | None]) -> Iterator[Receiver]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert(HOST).configure_cert(context)

    def record_sni(connection: ssl.SSLObject, name: str | None, ctx: ssl.SSLContext) -> None:
        server_names.append(name)

    context.sni_callback = record_sni
    with serving(Receiver(tls=context)) as running:
        yield running


@pytest.fixture
def trusting(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


def test_tls_uses_the_host_name_for_sni_and_the_certificate(
    tls_receiver: Receiver,
    trusting: ssl.SSLContext,
    server_names: list[str | None],
    network: NetworkGuard,
) -> None:
    result = post_webhook(
        f"https://{HOST}:{tls_receiver.port}/ok",
        PAYLOAD,
        {},
        policy=LOOPBACK,
        resolver=to_loopback,
        ssl_context=trusting,
    )
    assert result.ok, result.detail
    assert server_names == [HOST]
    assert tls_receiver.received[0].headers["host"] == f"{HOST}:{tls_receiver.port}"
    assert network.connects == ["127.0.0.1"]
    assert network.lookups == []


def test_a_certificate_for_another_name_is_a_tls_error(
    tls_receiver: Receiver, trusting: ssl.SSLContext
) -> None:
    result = post_webhook(
        f"https://other.example.test:{tls_receiver.port}/ok",
        PAYLOAD,
        {},
        policy=LOOPBACK,
        resolver=to_loopback,
        ssl_context=trusting,
    )
    assert result.failure is FailureReason.TLS_ERROR
    assert "other.example.test" in result.detail
    assert tls_receiver.received == []


def test_certificates_are_verified_by_default(tls_receiver: Receiver) -> None:
    # Without the test CA in the trust store, the receiver's certificate is not trusted.
    result = post_webhook(
        f"https://{HOST}:{tls_receiver.port}/ok",
        PAYLOAD,
        {},
        policy=LOOPBACK,
        resolver=to_loopback,
    )
    assert result.failure is FailureReason.TLS_ERROR
    assert "certificate" in result.detail
    assert tls_receiver.received == []


def test_plain_http_to_a_tls_receiver_is_not_a_delivery(tls_receiver: Receiver) -> None:
    result = post_webhook(
        f"http://{HOST}:{tls_receiver.port}/ok",
        PAYLOAD,
        {},
        policy=OutboundPolicy(allow_http=True, allow_private=True, timeout=1),
        resolver=to_loopback,
    )
    assert not result.ok
    assert tls_receiver.received == []

"""The SSRF rules as pure functions: which URLs a webhook may have, which addresses it may reach.

Nothing here touches the network; tests/core/test_outbound.py shows the same rules applied
before any connection of a real delivery attempt.
"""

import ipaddress

import pytest

from app.core.ssrf import UnsafeUrl, address_refusal, parse_target

REFUSED = [
    # address, the kind named in the refusal
    ("127.0.0.1", "loopback"),
    ("127.255.255.254", "loopback"),
    ("10.1.2.3", "private (RFC 1918)"),
    ("172.16.0.1", "private (RFC 1918)"),
    ("172.31.255.255", "private (RFC 1918)"),
    ("192.168.1.1", "private (RFC 1918)"),
    ("100.64.0.1", "carrier-grade NAT"),
    ("100.127.255.254", "carrier-grade NAT"),
    ("169.254.169.254", "cloud metadata"),
    ("169.254.1.1", "link-local"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("0.0.0.0", "unspecified"),  # noqa: S104 - an address to refuse, not to bind
    ("0.1.2.3", "unspecified"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "reserved"),
    ("192.0.2.10", "reserved"),  # documentation (TEST-NET-1)
    ("198.18.0.1", "reserved"),  # benchmarking
    ("::1", "loopback"),
    ("::", "unspecified"),
    ("fd00:ec2::254", "cloud metadata"),
    ("fd12:3456::1", "unique local (RFC 4193)"),
    ("fc00::1", "unique local (RFC 4193)"),
    ("fe80::1", "link-local"),
    ("fe80::1%2", "link-local"),
    ("fec0::1", "site-local"),
    ("ff02::1", "multicast"),
    ("2001:db8::1", "reserved"),  # documentation
    ("64:ff9b:1::a00:1", "local-use NAT64"),
    # IPv6 spellings of IPv4 addresses name the embedded address.
    ("::ffff:127.0.0.1", "loopback (IPv4-mapped 127.0.0.1)"),
    ("::ffff:169.254.169.254", "cloud metadata (IPv4-mapped 169.254.169.254)"),
    ("::ffff:10.0.0.1", "private (RFC 1918) (IPv4-mapped 10.0.0.1)"),
    ("::127.0.0.1", "loopback (IPv4-compatible 127.0.0.1)"),
    ("::a9fe:a9fe", "cloud metadata (IPv4-compatible 169.254.169.254)"),
    ("64:ff9b::a9fe:a9fe", "cloud metadata (NAT64 169.254.169.254)"),
    ("2002:a9fe:a9fe::1", "cloud metadata (6to4 169.254.169.254)"),
    ("2002:c0a8:0101::1", "private (RFC 1918) (6to4 192.168.1.1)"),
]
PUBLIC = ["93.184.215.14", "1.1.1.1", "2606:4700:4700::1111", "64:ff9b::5db8:d70e"]


@pytest.mark.parametrize(("address", "kind"), REFUSED)
def test_non_public_addresses_are_refused_with_their_kind(address: str, kind: str) -> None:
    refusal = address_refusal(ipaddress.ip_address(address))
    assert refusal is not None
    assert kind in refusal


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address)) is None


def test_https_url_is_taken_apart() -> None:
    target = parse_target("https://Hooks.Example.TEST./in?x=1#frag", allow_http=False)
    assert target.scheme == "https"
    assert target.host == "hooks.example.test"
    assert target.port == 443
    assert target.path == "/in?x=1"
    assert target.host_header == "hooks.example.test"
    assert target.address is None


def test_host_header_carries_a_port_that_is_not_the_default() -> None:
    assert parse_target("https://h.example.test:8443/", allow_http=False).host_header == (
        "h.example.test:8443"
    )
    assert parse_target("http://h.example.test:80/", allow_http=True).host_header == (
        "h.example.test"
    )


def test_ip_literals_need_no_resolution() -> None:
    v4 = parse_target("https://203.0.113.9/hook", allow_http=False)
    assert v4.address == ipaddress.ip_address("203.0.113.9")
    v6 = parse_target("https://[2606:4700::1]:8443/hook", allow_http=False)
    assert v6.address == ipaddress.ip_address("2606:4700::1")
    assert v6.host == "2606:4700::1"
    assert v6.host_header == "[2606:4700::1]:8443"


def test_international_names_are_idna_encoded() -> None:
    assert parse_target("https://bücher.example/", allow_http=False).host == "xn--bcher-kva.example"


def test_http_only_when_allowed() -> None:
    with pytest.raises(UnsafeUrl, match=r"must start with https://$"):
        parse_target("http://hooks.example.test/", allow_http=False)
    assert parse_target("http://hooks.example.test/", allow_http=True).port == 80


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://hooks.example.test/", "must start with https://"),
        ("file:///etc/passwd", "must start with https://"),
        ("hooks.example.test/in", "must start with https://"),
        ("https://user:secret@hooks.example.test/", "user name or password"),
        ("https://user@hooks.example.test/", "user name or password"),
        ("https:///in", "no host"),
        ("https://hooks.example.test:0/", "out of range"),
        ("https://hooks.example.test:70000/", "out of range"),
        ("https://a b.example.test/", "not a valid host name"),
        ("https://2130706433/", "unusual form"),
        ("https://0x7f.1/", "unusual form"),
        ("https://127.1/", "unusual form"),
        ("https://[::1/", "not a valid URL"),
    ],
)
def test_unsafe_urls_are_refused_with_a_reason(url: str, message: str) -> None:
    with pytest.raises(UnsafeUrl, match=message):
        parse_target(url, allow_http=False)

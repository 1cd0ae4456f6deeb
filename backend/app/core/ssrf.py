"""Which webhook URLs and addresses the server may send to: the SSRF rules, as pure functions.

A webhook URL is chosen by a user, so without these rules a hook could make the server POST to
its own admin ports, the database, a cloud metadata service (169.254.169.254, fd00:ec2::254)
or anything else on the private network behind it.

Two checks, at two moments:

- `parse_target(url, allow_http=...)` when a webhook is created or updated (the API turns
  `UnsafeUrl` into a 422) and again before every delivery attempt: `https://` only unless
  `allow_http` (outside production), no user name or password, a plain host name or IP literal.
- `address_refusal(address)` on every address the host resolves to (`resolve`, once per
  attempt, then `refuse_non_public`), before any connection; `app.core.outbound` does both.
  A host name is not checked on its own: what matters is where it points when sending.

`allow_private` (WEBHOOK_ALLOW_PRIVATE, for tests and on-premises use) skips the address check,
never the URL rules.
"""

import ipaddress
import re
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx2

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# (host, port) -> IP addresses as text; `system_resolver` unless a test passes its own.
Resolver = Callable[[str, int], Sequence[str]]

_V4 = ipaddress.IPv4Network
_V6 = ipaddress.IPv6Network

# First match names the kind. The embedding IPv6 forms (mapped, compatible, 6to4, NAT64) are
# unwrapped before this table is read, so ::ffff:169.254.169.254 is refused like the original.
_REFUSED_V4: tuple[tuple[_V4, str], ...] = (
    (_V4("0.0.0.0/8"), "unspecified"),
    (_V4("127.0.0.0/8"), "loopback"),
    (_V4("10.0.0.0/8"), "private (RFC 1918)"),
    (_V4("172.16.0.0/12"), "private (RFC 1918)"),
    (_V4("192.168.0.0/16"), "private (RFC 1918)"),
    (_V4("100.64.0.0/10"), "shared (carrier-grade NAT, RFC 6598)"),
    (_V4("169.254.169.254/32"), "cloud metadata"),
    (_V4("169.254.0.0/16"), "link-local"),
    (_V4("224.0.0.0/4"), "multicast"),
    (_V4("240.0.0.0/4"), "reserved"),
)
_REFUSED_V6: tuple[tuple[_V6, str], ...] = (
    (_V6("::/128"), "unspecified"),
    (_V6("::1/128"), "loopback"),
    (_V6("fd00:ec2::254/128"), "cloud metadata"),
    (_V6("64:ff9b:1::/48"), "private (local-use NAT64)"),
    (_V6("fc00::/7"), "unique local (RFC 4193)"),
    (_V6("fe80::/10"), "link-local"),
    (_V6("fec0::/10"), "site-local"),
    (_V6("ff00::/8"), "multicast"),
)
_IPV4_COMPATIBLE = _V6("::/96")
_NAT64 = _V6("64:ff9b::/96")

# A host name is letters, digits, hyphens (and underscores, seen in real names) in dot-separated
# labels, after IDNA encoding. Anything else (percent signs, spaces) is refused, not guessed at.
_HOSTNAME = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*")
# A last label that is a number makes the host an IPv4 address in another spelling
# (2130706433, 0x7f.1, 127.1): resolvers and URL parsers disagree on those, so they are refused.
_NUMERIC_LABEL = re.compile(r"(0x[0-9a-f]*|[0-9]+)")


class UnsafeUrl(ValueError):
    """The URL may not be used for a webhook; the message says why, for the user."""


class UnresolvableHost(Exception):
    """The host name has no usable address (DNS failure, no answer, nonsense answer)."""


class RefusedAddress(Exception):
    """The host resolves to an address webhooks may not reach; the message names its kind."""

    def __init__(self, message: str, address: str) -> None:
        super().__init__(message)
        self.address = address


@dataclass(frozen=True)
class Target:
    """A webhook URL taken apart for one delivery attempt."""

    scheme: str
    # IDNA-encoded host name or IP literal, lower case, without brackets or a trailing dot: the
    # name to resolve, to put in SNI and to verify the certificate against.
    host: str
    port: int
    # Path and query, what goes on the request line.
    path: str
    # The Host header: the host, and the port when it is not the scheme's default.
    host_header: str
    # Set when the URL names an IP literal (nothing to resolve).
    address: IPAddress | None


def parse_target(url: str, *, allow_http: bool) -> Target:
    """Take a webhook URL apart, or raise `UnsafeUrl` saying what is wrong with it."""
    try:
        parsed = httpx2.URL(url)
    except (httpx2.InvalidURL, TypeError) as exc:
        raise UnsafeUrl(f"not a valid URL: {exc}") from None
    allowed = ("https", "http") if allow_http else ("https",)
    if parsed.scheme not in allowed:
        raise UnsafeUrl(f"the URL must start with {' or '.join(f'{s}://' for s in allowed)}")
    if parsed.userinfo:
        raise UnsafeUrl("the URL may not contain a user name or password")
    host = parsed.raw_host.decode("ascii").lower().removesuffix(".")
    if not host:
        raise UnsafeUrl("the URL has no host")
    default_port = 443 if parsed.scheme == "https" else 80
    port = default_port if parsed.port is None else parsed.port
    if not 0 < port < 65536:
        raise UnsafeUrl(f"port {port} is out of range")
    address = _ip_literal(host)
    if address is None:
        if not _HOSTNAME.fullmatch(host):
            raise UnsafeUrl(f"{host!r} is not a valid host name")
        if _NUMERIC_LABEL.fullmatch(host.rsplit(".", 1)[-1]):
            raise UnsafeUrl(f"{host!r} is an IP address in an unusual form; write it plainly")
    netloc = f"[{host}]" if isinstance(address, ipaddress.IPv6Address) else host
    host_header = netloc if port == default_port else f"{netloc}:{port}"
    return Target(
        scheme=parsed.scheme,
        host=host,
        port=port,
        path=parsed.raw_path.decode("ascii"),
        host_header=host_header,
        address=address,
    )


def _ip_literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def address_refusal(address: IPAddress) -> str | None:
    """The kind of a non-public address ("loopback", "cloud metadata", ...); None if public."""
    if isinstance(address, ipaddress.IPv4Address):
        return _v4_refusal(address)
    embedded, form = _embedded_v4(address)
    if embedded is not None:
        kind = _v4_refusal(embedded)
        return None if kind is None else f"{kind} ({form} {embedded})"
    for network, kind in _REFUSED_V6:
        if address in network:
            return kind
    if not address.is_global or address.is_reserved:
        return "reserved"
    return None


def _v4_refusal(address: ipaddress.IPv4Address) -> str | None:
    for network, kind in _REFUSED_V4:
        if address in network:
            return kind
    # The rest of IANA's special-purpose registry: documentation ranges, benchmarking, ...
    if not address.is_global:
        return "reserved"
    return None


def _embedded_v4(address: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address | None, str]:
    """The IPv4 address an IPv6 address stands for, when it is one of the forms that reach it."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped, "IPv4-mapped"
    if address.sixtofour is not None:
        return address.sixtofour, "6to4"
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF), "NAT64"
    # ::/96 minus :: and ::1, which the table names.
    if address in _IPV4_COMPATIBLE and int(address) > 1:
        return ipaddress.IPv4Address(int(address)), "IPv4-compatible"
    return None, ""


def system_resolver(host: str, port: int) -> list[str]:
    """The operating system's answer for `host` (getaddrinfo), addresses in its order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def resolve(target: Target, resolver: Resolver) -> list[IPAddress]:
    """The addresses of the target's host: asked once, or the IP literal itself."""
    if target.address is not None:
        return [target.address]
    try:
        addresses = [ipaddress.ip_address(answer) for answer in resolver(target.host, target.port)]
    except (OSError, UnicodeError, ValueError) as exc:
        raise UnresolvableHost(f"could not resolve {target.host}: {exc}") from None
    if not addresses:
        raise UnresolvableHost(f"{target.host} has no address")
    return addresses


def refuse_non_public(target: Target, addresses: Sequence[IPAddress]) -> None:
    """Raise `RefusedAddress` if any of the addresses is not a public one."""
    for address in addresses:
        kind = address_refusal(address)
        if kind is not None:
            where = f"{target.host} resolves to {address}" if target.address is None else address
            raise RefusedAddress(
                f"{where}: {kind} addresses are not allowed for webhooks", str(address)
            )

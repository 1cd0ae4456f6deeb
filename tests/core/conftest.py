"""Fixtures of the core tests: the network guard of the webhook delivery tests."""

import socket
from ipaddress import ip_address
from typing import Any

import pytest

from tests.core.webhook_servers import NetworkGuard


@pytest.fixture
def network(monkeypatch: pytest.MonkeyPatch) -> NetworkGuard:
    """No DNS lookups at all; connections recorded, and refused when `block_connections`."""
    guard = NetworkGuard()
    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            ip_address(str(host).split("%")[0])
        except ValueError:
            guard.lookups.append(str(host))
            raise socket.gaierror(socket.EAI_NONAME, "lookups are not allowed here") from None
        return real_getaddrinfo(host, *args, **kwargs)

    def connect(sock: socket.socket, address: Any) -> None:
        guard.connects.append(str(address[0]))
        if guard.block_connections:
            raise ConnectionRefusedError("connections are blocked in this test")
        real_connect(sock, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    return guard

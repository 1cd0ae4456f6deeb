"""Identity-provider tokens (JWKS-signed and HS256) work on /mcp as on REST, and a refused one
gets the REST challenge plus the resource metadata."""

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx2
import pytest

from tests.event_loop import run_async
from tests.live import LiveServer, start_server
from tests.mcp.conftest import SERVER_ENV, connect, structured
from tests.provider import AUDIENCE, ISSUER, SHARED_SECRET, JwksServer, claims, sign, sign_shared


@pytest.fixture(scope="module")
def provider() -> Iterator[JwksServer]:
    with JwksServer() as server:
        server.add_key("EdDSA")
        yield server


@pytest.fixture(scope="module")
def provider_server(
    provider: JwksServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    env = {
        **SERVER_ENV,
        "AUTH_JWKS_URL": provider.url,
        "AUTH_ISSUER": ISSUER,
        "AUTH_AUDIENCE": AUDIENCE,
        "AUTH_SHARED_SECRET": SHARED_SECRET,
    }
    with start_server(tmp_path_factory.mktemp("mcp-provider"), env=env) as server:
        yield server


def test_provider_tokens_manage_their_users_tasks(
    provider_server: LiveServer, provider: JwksServer
) -> None:
    jwks_token = sign(provider.keys[0], claims(sub=f"ba-{uuid.uuid4().hex}"))
    shared_token = sign_shared(claims(sub=f"hs-{uuid.uuid4().hex}"))

    async def main() -> tuple[Any, Any]:
        async with connect(provider_server, jwks_token) as client:
            task = structured(await client.call_tool("add_task", {"title": "From the provider"}))
        async with connect(provider_server, shared_token) as client:
            other = await client.call_tool("get_task", {"task_id": task["id"]})
        return task, other

    task, other = run_async(main)
    assert task["title"] == "From the provider"
    assert other.structured_content["status"] == 404  # another provider user's task


def test_an_expired_provider_token_gets_the_rest_challenge(provider_server: LiveServer) -> None:
    expired = sign_shared(claims(expires_in=timedelta(minutes=-5)))
    response = httpx2.post(
        provider_server.url("/mcp"),
        json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
        headers={"Authorization": f"Bearer {expired}", "Accept": "application/json"},
    )
    assert response.status_code == 401
    challenge = response.headers["WWW-Authenticate"]
    assert 'error="invalid_token"' in challenge
    assert 'error_description="The access token expired"' in challenge
    assert 'resource_metadata="' in challenge
    assert response.json()["title"] == "Token expired"


def test_the_metadata_names_the_provider_first(provider_server: LiveServer) -> None:
    document = httpx2.get(provider_server.url("/.well-known/oauth-protected-resource")).json()
    assert document["authorization_servers"] == [ISSUER, provider_server.base_url]

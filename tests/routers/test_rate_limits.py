"""Rate limits: login per account and per address, register per address, every
authenticated route per user; 429 problems with Retry-After; IETF RateLimit headers;
X-Forwarded-For only from trusted proxies. Each runs with memory and with Redis storage."""

import logging
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories import PASSWORD, assert_problem, make_account, unique_email
from tests.redis_support import RedisTarget, redis_target

_ITEM = re.compile(r'^"([a-z-]+)";(\w)=(\d+);(\w)=(\d+)$')


@pytest.fixture(params=["memory", "redis"])
def storage(request: pytest.FixtureRequest) -> Iterator[RedisTarget | None]:
    if request.param == "memory":
        yield None
        return
    yield from redis_target()


@pytest.fixture
def limited(
    make_client: Callable[..., TestClient], storage: RedisTarget | None
) -> Callable[..., TestClient]:
    """A client with rate limiting on (small quotas), on the parametrized storage."""

    def factory(**overrides: Any) -> TestClient:
        values: dict[str, Any] = {
            "rate_limit_enabled": True,
            "rate_limit_login_per_account": "3/minute",
            "rate_limit_login_per_address": "100/minute",
            "rate_limit_register_per_address": "100/minute",
            "rate_limit_per_user": "100/minute",
        }
        if storage is not None:
            values["redis_url"] = storage.url
            values["rate_limit_key_prefix"] = storage.prefix
        values.update(overrides)
        return make_client(**values)

    return factory


def parse_items(header: str) -> dict[str, dict[str, int]]:
    """A RateLimit or RateLimit-Policy value: '"name";x=1;y=2, ...' -> {name: {x: 1, y: 2}}."""
    items = {}
    for part in header.split(", "):
        match = _ITEM.match(part)
        assert match, f"not draft-10 syntax: {part!r}"
        name, k1, v1, k2, v2 = match.groups()
        items[name] = {k1: int(v1), k2: int(v2)}
    return items


def _login(client: TestClient, email: str, password: str, **headers: str) -> Any:
    return client.post(
        "/api/v1/auth/token", data={"username": email, "password": password}, headers=headers
    )


def test_login_per_account(limited: Callable[..., TestClient]) -> None:
    client = limited()
    victim, bystander = make_account(client), make_account(client)
    # make_account logged each in once: 2 attempts left for the victim.
    for _ in range(2):
        assert_problem(_login(client, victim.email, "wrong guess!"), 401)
    blocked = _login(client, victim.email, victim.password)  # even the right password
    body = assert_problem(blocked, 429)
    assert body["type"] == "/problems/rate-limited"
    assert 1 <= int(blocked.headers["retry-after"]) <= 60
    assert parse_items(blocked.headers["ratelimit"])["login-account"]["r"] == 0
    # Case and spaces do not make a new account key; other accounts are unaffected.
    assert_problem(_login(client, f" {victim.email.upper()} ", victim.password), 429)
    assert _login(client, bystander.email, bystander.password).status_code == 200


def test_login_per_address(limited: Callable[..., TestClient]) -> None:
    client = limited(rate_limit_login_per_address="4/minute")
    for _ in range(4):
        assert_problem(_login(client, unique_email(), "a password"), 401)
    blocked = _login(client, unique_email(), "a password")
    assert_problem(blocked, 429)
    # The account limit was not charged for the refused attempt.
    assert list(parse_items(blocked.headers["ratelimit"])) == ["login-address"]
    other_address = limited(rate_limit_login_per_address="4/minute", peer=("192.0.2.9", 1))
    assert_problem(_login(other_address, unique_email(), "a password"), 401)


def test_register_per_address(limited: Callable[..., TestClient]) -> None:
    client = limited(rate_limit_register_per_address="2/hour")
    for _ in range(2):
        response = client.post(
            "/api/v1/auth/register", json={"email": unique_email(), "password": PASSWORD}
        )
        assert response.status_code == 201
    blocked = client.post(
        "/api/v1/auth/register", json={"email": unique_email(), "password": PASSWORD}
    )
    assert_problem(blocked, 429)
    assert int(blocked.headers["retry-after"]) > 60  # the hour-long window


def test_authenticated_routes_per_user(limited: Callable[..., TestClient]) -> None:
    client = limited(rate_limit_per_user="5/minute")
    alice, bob = make_account(client), make_account(client)
    paths = ["/api/v1/users/me", "/api/v1/tasks", "/api/v1/users/me", "/api/v1/tasks"]
    for path in [*paths, "/api/v1/users/me"]:
        assert client.get(path, headers=alice.headers).status_code == 200
    blocked = client.post("/api/v1/tasks", json={"title": "x"}, headers=alice.headers)
    assert_problem(blocked, 429)
    assert parse_items(blocked.headers["ratelimit-policy"]) == {"user": {"q": 5, "w": 60}}
    assert client.get("/api/v1/users/me", headers=bob.headers).status_code == 200


def test_password_guesses_share_the_login_budget(limited: Callable[..., TestClient]) -> None:
    client = limited()
    account = make_account(client)  # 1 login used
    for _ in range(2):
        response = client.post(
            "/api/v1/users/me/password",
            json={"current_password": "guess guess", "new_password": "whatever 123"},
            headers=account.headers,
        )
        assert_problem(response, 403)
    response = client.post(
        "/api/v1/users/me/password",
        json={"current_password": account.password, "new_password": "whatever 123"},
        headers=account.headers,
    )
    assert_problem(response, 429)


def test_every_limited_response_carries_ratelimit_headers(
    limited: Callable[..., TestClient],
) -> None:
    client = limited()
    account = make_account(client)
    responses = [
        _login(client, account.email, "wrong guess!"),  # an error response
        _login(client, account.email, account.password),
        client.get("/api/v1/users/me", headers=account.headers),
        client.post("/api/v1/tasks", json={}, headers=account.headers),  # 422
        client.post("/api/v1/auth/register", json={"email": "bad", "password": PASSWORD}),
    ]
    for response in responses:
        assert "ratelimit" in response.headers, response.request.url
        policies = parse_items(response.headers["ratelimit-policy"])
        states = parse_items(response.headers["ratelimit"])
        assert policies.keys() == states.keys()
        for name, state in states.items():
            assert 0 <= state["r"] < policies[name]["q"]
            assert 0 <= state["t"] <= policies[name]["w"]
    first, second = (parse_items(r.headers["ratelimit"]) for r in responses[:2])
    assert first["login-account"]["r"] == 1
    assert second["login-account"]["r"] == 0
    assert parse_items(responses[0].headers["ratelimit-policy"]) == {
        "login-address": {"q": 100, "w": 60},
        "login-account": {"q": 3, "w": 60},
    }
    # Unlimited routes say nothing about limits.
    assert "ratelimit" not in client.get("/healthz").headers


def test_disabled_limits_never_refuse(make_client: Callable[..., TestClient]) -> None:
    client = make_client(rate_limit_enabled=False, rate_limit_login_per_account="1/minute")
    account = make_account(client)
    for _ in range(5):
        response = _login(client, account.email, "wrong guess!")
        assert_problem(response, 401)
        assert "ratelimit" not in response.headers


def test_forwarded_for_is_used_only_from_trusted_proxies(
    limited: Callable[..., TestClient],
) -> None:
    settings = {"rate_limit_login_per_address": "2/minute", "trusted_proxies": ["10.0.0.0/8"]}
    behind_proxy = limited(peer=("10.1.2.3", 40000), **settings)
    for _ in range(2):
        assert_problem(
            _login(behind_proxy, unique_email(), "pw pw pw", **{"X-Forwarded-For": "203.0.113.5"}),
            401,
        )
    assert_problem(
        _login(behind_proxy, unique_email(), "pw pw pw", **{"X-Forwarded-For": "203.0.113.5"}), 429
    )
    # Another client behind the same proxy has its own budget.
    assert_problem(
        _login(behind_proxy, unique_email(), "pw pw pw", **{"X-Forwarded-For": "203.0.113.6"}), 401
    )

    # A direct client cannot pick its address by sending the header itself.
    direct = limited(peer=("198.51.100.7", 40000), **settings)
    for spoof in ("192.0.2.1", "192.0.2.2"):
        assert_problem(
            _login(direct, unique_email(), "pw pw pw", **{"X-Forwarded-For": spoof}), 401
        )
    assert_problem(
        _login(direct, unique_email(), "pw pw pw", **{"X-Forwarded-For": "192.0.2.3"}), 429
    )


@pytest.fixture
def redis_only() -> Iterator[RedisTarget]:
    yield from redis_target()


def test_redis_counts_are_shared_between_app_instances(
    make_client: Callable[..., TestClient], redis_only: RedisTarget
) -> None:
    def instance() -> TestClient:
        return make_client(
            rate_limit_enabled=True,
            rate_limit_login_per_account="3/minute",
            redis_url=redis_only.url,
            rate_limit_key_prefix=redis_only.prefix,
        )

    first, second = instance(), instance()
    account = make_account(first)  # 1
    assert_problem(_login(second, account.email, "wrong guess!"), 401)  # 2
    assert_problem(_login(first, account.email, "wrong guess!"), 401)  # 3
    assert_problem(_login(second, account.email, account.password), 429)
    assert redis_only.keys(), "the counters live in Redis under the test's prefix"


def test_unreachable_redis_fails_open_and_says_so(
    make_client: Callable[..., TestClient], caplog: pytest.LogCaptureFixture
) -> None:
    # Nothing listens on port 1: the limiter cannot count, so it lets requests through
    # (availability over limiting) and logs an error for operators.
    client = make_client(
        rate_limit_enabled=True,
        rate_limit_login_per_account="1/minute",
        redis_url="redis://127.0.0.1:1/0",
    )
    with caplog.at_level(logging.ERROR, logger="app.rate_limit"):
        account = make_account(client)
        for _ in range(3):
            response = _login(client, account.email, account.password)
            assert response.status_code == 200
            assert "ratelimit" not in response.headers
    assert any("rate-limit storage failed" in r.getMessage() for r in caplog.records)

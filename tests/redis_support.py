"""Redis for the tests: the real server at REDIS_URL (default 127.0.0.1:6379).

Each test gets its own key prefix and deletes only its own keys afterwards, so tests never
collide with each other or with anything else using that Redis.
"""

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import redis

from tests.conftest import postgres_required

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


@dataclass
class RedisTarget:
    url: str
    prefix: str

    def keys(self) -> list[bytes]:
        client = redis.Redis.from_url(self.url)
        try:
            return list(client.scan_iter(match=f"LIMITS:LIMITER/{self.prefix}/*"))
        finally:
            client.close()


def redis_url() -> str:
    return os.environ.get("TEST_REDIS_URL", DEFAULT_REDIS_URL)


def redis_target() -> Iterator[RedisTarget]:
    url = redis_url()
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        client.close()
        # CI (REQUIRE_POSTGRES=1) provides Redis too; there a missing server is a failure.
        if postgres_required():
            pytest.fail(f"REQUIRE_POSTGRES=1 but Redis at {url} is unusable: {exc}")
        pytest.skip(f"Redis unavailable at {url}: {exc}")
    target = RedisTarget(url=url, prefix=f"test-{uuid.uuid4().hex[:12]}")
    yield target
    for key in client.scan_iter(match=f"LIMITS:LIMITER/{target.prefix}/*"):
        client.delete(key)
    client.close()

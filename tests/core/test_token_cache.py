"""The verified-token cache: expiry re-checked on every hit, bounded, least recently used out."""

from app.core.token_cache import TokenCache


def test_a_token_expires_while_cached_exactly_when_the_token_does() -> None:
    cache: TokenCache[str] = TokenCache(10, leeway_seconds=5)
    cache.put("token", "claims", expires_at=1000.0)
    assert cache.get("token", now=999.0) == "claims"
    assert cache.get("token", now=1004.9) == "claims"  # within the leeway, as PyJWT allows
    assert cache.get("token", now=1005.0) is None
    # Dropped, not just hidden: a later clock going back does not revive it.
    assert cache.get("token", now=999.0) is None
    assert len(cache) == 0


def test_a_token_not_yet_valid_is_not_served() -> None:
    cache: TokenCache[str] = TokenCache(10, leeway_seconds=0)
    cache.put("token", "claims", expires_at=2000.0, not_before=1500.0)
    assert cache.get("token", now=1499.0) is None
    cache.put("token", "claims", expires_at=2000.0, not_before=1500.0)
    assert cache.get("token", now=1500.0) == "claims"


def test_the_cache_never_holds_more_than_its_size_and_drops_the_least_recently_used() -> None:
    cache: TokenCache[int] = TokenCache(3, leeway_seconds=0)
    for n in range(3):
        cache.put(f"t{n}", n, expires_at=100.0)
    assert cache.get("t0", now=0.0) == 0  # t0 used: t1 is now the least recently used
    for n in range(3, 1000):
        cache.put(f"t{n}", n, expires_at=100.0)
        assert len(cache) <= 3
    assert cache.get("t999", now=0.0) == 999
    assert cache.get("t1", now=0.0) is None


def test_size_zero_remembers_nothing() -> None:
    cache: TokenCache[str] = TokenCache(0, leeway_seconds=0)
    cache.put("token", "claims", expires_at=100.0)
    assert cache.get("token", now=0.0) is None
    assert len(cache) == 0


def test_clear_forgets_every_token() -> None:
    cache: TokenCache[str] = TokenCache(10, leeway_seconds=0)
    cache.put("a", "1", expires_at=100.0)
    cache.clear()
    assert cache.get("a", now=0.0) is None

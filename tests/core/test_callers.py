"""The per-process cache of callers: how long an entry is trusted, and what forgets it."""

import uuid

from app.core.callers import STALENESS_BOUND_SECONDS, Caller, CallerCache


def caller(version: int = 0, *, issuer: str | None = None, subject: str | None = None) -> Caller:
    return Caller(
        id=uuid.uuid4(),
        email="ada@example.com",
        timezone="UTC",
        auth_subject=subject,
        auth_issuer=issuer,
        token_version=version,
    )


def test_without_notifications_an_entry_lives_for_the_staleness_bound() -> None:
    cache = CallerCache(10, ttl_seconds=60)
    ada = caller()
    cache.put(ada, cache.generation, now=100.0)
    assert cache.get(ada.id, now=100.0 + STALENESS_BOUND_SECONDS - 0.01) == ada
    assert cache.get(ada.id, now=100.0 + STALENESS_BOUND_SECONDS) is None


def test_with_notifications_an_entry_lives_for_the_ttl() -> None:
    cache = CallerCache(10, ttl_seconds=60)
    cache.set_notified(True)
    ada = caller()
    cache.put(ada, cache.generation, now=100.0)
    assert cache.get(ada.id, now=159.0) == ada
    assert cache.get(ada.id, now=160.0) is None


def test_forget_drops_the_entry_and_its_identity() -> None:
    cache = CallerCache(10, ttl_seconds=60)
    cache.set_notified(True)
    ada = caller(issuer="https://idp", subject="ada")
    cache.put(ada, cache.generation)
    assert cache.get_by_identity("https://idp", "ada") == ada
    cache.forget(ada.id)
    assert cache.get(ada.id) is None
    assert cache.get_by_identity("https://idp", "ada") is None


def test_a_read_that_raced_with_a_change_is_not_stored() -> None:
    cache = CallerCache(10, ttl_seconds=60)
    cache.set_notified(True)
    ada = caller(version=0)
    generation = cache.generation  # taken before reading the account...
    cache.forget(ada.id)  # ...which changed (version 1) while the read was on its way
    cache.put(ada, generation)
    assert cache.get(ada.id) is None


def test_losing_or_regaining_notifications_forgets_everything() -> None:
    cache = CallerCache(10, ttl_seconds=60)
    cache.set_notified(True)
    ada = caller()
    cache.put(ada, cache.generation)
    cache.set_notified(False)  # changes made from now on may never be heard of
    assert cache.get(ada.id) is None
    cache.put(ada, cache.generation)
    cache.set_notified(True)  # and those made while deaf were missed
    assert cache.get(ada.id) is None


def test_the_cache_is_bounded() -> None:
    cache = CallerCache(3, ttl_seconds=60)
    cache.set_notified(True)
    callers = [caller(issuer="https://idp", subject=str(n)) for n in range(50)]
    for each in callers:
        cache.put(each, cache.generation)
        assert len(cache) <= 3
    assert cache.get(callers[-1].id) == callers[-1]
    assert cache.get(callers[0].id) is None
    assert cache.get_by_identity("https://idp", "0") is None

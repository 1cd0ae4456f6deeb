"""The per-process cache of callers: how long an entry is trusted, and what forgets it."""

import uuid

from app.core.callers import STALENESS_BOUND_SECONDS, Caller, CallerCache
from app.core.personal_tokens import PersonalGrant


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


def grant(user_id: uuid.UUID, *, expires_at: float = 2e9) -> PersonalGrant:
    return PersonalGrant(
        token_id=uuid.uuid4(),
        user_id=user_id,
        scopes=frozenset({"tasks:read"}),
        expires_at=expires_at,
    )


def test_a_personal_grant_lives_like_an_account_entry() -> None:
    cache = CallerCache(10, ttl_seconds=60)
    ada = grant(uuid.uuid4())
    cache.put_grant("hash", ada, cache.generation, now=100.0)
    assert cache.get_grant("hash", now=100.0 + STALENESS_BOUND_SECONDS - 0.01, clock=0) == ada
    assert cache.get_grant("hash", now=100.0 + STALENESS_BOUND_SECONDS, clock=0) is None
    cache.set_notified(True)
    cache.put_grant("hash", ada, cache.generation, now=100.0)
    assert cache.get_grant("hash", now=159.0, clock=0) == ada
    assert cache.get_grant("hash", now=160.0, clock=0) is None


def test_a_personal_grant_expires_with_its_token() -> None:
    cache = CallerCache(10, ttl_seconds=60)
    cache.set_notified(True)
    ada = grant(uuid.uuid4(), expires_at=1000.0)
    cache.put_grant("hash", ada, cache.generation)
    assert cache.get_grant("hash", clock=999.9) == ada
    assert cache.get_grant("hash", clock=1000.0) is None
    assert len(cache._grants) == 0


def test_forgetting_an_account_forgets_its_personal_tokens_only() -> None:
    cache = CallerCache(10, ttl_seconds=60)
    cache.set_notified(True)
    ada, bob = uuid.uuid4(), uuid.uuid4()
    cache.put_grant("ada-1", grant(ada), cache.generation)
    cache.put_grant("ada-2", grant(ada), cache.generation)
    cache.put_grant("bob-1", grant(bob), cache.generation)
    cache.forget(ada)
    assert cache.get_grant("ada-1") is None
    assert cache.get_grant("ada-2") is None
    assert cache.get_grant("bob-1") is not None


def test_a_token_read_that_raced_with_a_revocation_is_not_stored() -> None:
    cache = CallerCache(10, ttl_seconds=60)
    ada = uuid.uuid4()
    generation = cache.generation
    cache.forget(ada)  # its token was revoked while it was being read
    cache.put_grant("hash", grant(ada), generation)
    assert cache.get_grant("hash") is None


def test_personal_grants_are_bounded_and_cleared() -> None:
    cache = CallerCache(2, ttl_seconds=60)
    cache.set_notified(True)
    for index in range(3):
        cache.put_grant(f"h{index}", grant(uuid.uuid4()), cache.generation)
    assert cache.get_grant("h0") is None
    assert cache.get_grant("h2") is not None
    assert sum(len(hashes) for hashes in cache._grants_by_user.values()) == 2
    cache.set_notified(False)
    assert cache.get_grant("h2") is None


def test_a_caller_with_a_grant_has_its_scopes_only() -> None:
    ada = caller()
    assert ada.allows("tasks:write")
    limited = ada.with_grant(grant(ada.id))
    assert limited.allows("tasks:read")
    assert not limited.allows("tasks:write")
    assert limited.personal_token_id is not None
    assert limited.id == ada.id

"""Provider token verification against a real JWKS endpoint on loopback, with real keys."""

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from datetime import timedelta

import jwt
import pytest
from pydantic import SecretStr

from app.core.jwks import JwksCache
from app.core.provider_tokens import ProviderTokenError, ProviderVerifier, unverified_issuer
from tests.provider import (
    AUDIENCE,
    ISSUER,
    SHARED_SECRET,
    JwksServer,
    claims,
    closed_port_url,
    elapsed,
    make_key,
    sign,
    sign_shared,
)

ALGORITHMS = ["EdDSA", "ES256", "RS256"]


class FakeClock:
    """Monotonic time the test moves by hand, so cool-downs and ages need no sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def provider() -> Iterator[JwksServer]:
    with JwksServer() as server:
        yield server


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_verifier(
    url: str | None,
    clock: FakeClock | None = None,
    *,
    shared_secret: str | None = None,
    timeout: float = 2.0,
    cooldown: float = 30.0,
    max_age: float = 600.0,
) -> ProviderVerifier:
    jwks = None
    if url is not None:
        jwks = JwksCache(
            url,
            timeout=timeout,
            cooldown=cooldown,
            max_age=max_age,
            clock=clock or time.monotonic,
        )
    return ProviderVerifier(
        issuer=ISSUER,
        audience=AUDIENCE,
        leeway=10,
        jwks=jwks,
        shared_secret=SecretStr(shared_secret) if shared_secret else None,
    )


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def forge_hs256(payload: dict[str, object], secret: bytes, *, kid: str) -> str:
    """HS256 by hand: PyJWT itself refuses a PEM key as an HMAC secret when signing."""
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    body = b64(json.dumps(payload, default=lambda d: int(d.timestamp())).encode())
    signature = hmac.new(secret, f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{b64(signature)}"


def rejects(verifier: ProviderVerifier, token: str) -> ProviderTokenError:
    with pytest.raises(ProviderTokenError) as info:
        verifier.verify(token)
    return info.value


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_valid_token_of_each_key_type(provider: JwksServer, alg: str) -> None:
    key = provider.add_key(alg)
    verifier = make_verifier(provider.url)
    token = sign(
        key,
        claims(sub="user-42", email="Ada@Example.com", email_verified=True, name=" Ada "),
    )
    result = verifier.verify(token)
    assert (result.issuer, result.subject) == (ISSUER, "user-42")
    assert result.email == "ada@example.com"
    assert result.name == "Ada"


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_algorithm_inferred_from_key_without_alg(provider: JwksServer, alg: str) -> None:
    # JWKs may omit "alg"; the algorithm then comes from kty/crv, still never from the token.
    key = provider.add_key(alg, publish_alg=False)
    verifier = make_verifier(provider.url)
    assert verifier.verify(provider.mint(key, sub="s")).subject == "s"


def test_better_auth_email_verified_spelling(provider: JwksServer) -> None:
    key = provider.add_key("EdDSA")
    verifier = make_verifier(provider.url)
    verified = sign(key, claims(email="a@example.com", emailVerified=True))
    unverified = sign(key, claims(email="b@example.com", emailVerified=False))
    missing = sign(key, claims(email="c@example.com"))
    assert verifier.verify(verified).email == "a@example.com"
    assert verifier.verify(unverified).email is None
    assert verifier.verify(missing).email is None


def test_prefetched_keys_need_no_network(provider: JwksServer) -> None:
    key = provider.add_key("EdDSA")
    verifier = make_verifier(provider.url)
    assert verifier.jwks is not None
    assert verifier.jwks.refresh()
    before = provider.requests
    for _ in range(20):
        verifier.verify(provider.mint(key))
    assert provider.requests == before


def test_key_rotation_is_picked_up_without_restart(provider: JwksServer, clock: FakeClock) -> None:
    old = provider.add_key("EdDSA")
    verifier = make_verifier(provider.url, clock)
    assert verifier.jwks is not None
    verifier.jwks.refresh()
    clock.now += 31  # past the cool-down of the start-up fetch
    new = provider.add_key("ES256")
    provider.keys.remove(old)
    assert verifier.verify(provider.mint(new, sub="after-rotation")).subject == "after-rotation"
    # The refetched set replaced the old one: the withdrawn key is no longer trusted.
    clock.now += 31
    assert "unknown signing key" in str(rejects(verifier, provider.mint(old)))


def test_unknown_kid_after_refetch_is_rejected(provider: JwksServer, clock: FakeClock) -> None:
    provider.add_key("EdDSA")
    verifier = make_verifier(provider.url, clock)
    assert verifier.jwks is not None
    verifier.jwks.refresh()
    clock.now += 31
    stranger = make_key("EdDSA", kid="not-published")
    before = provider.requests
    assert "unknown signing key" in str(rejects(verifier, sign(stranger, claims())))
    assert provider.requests == before + 1


def test_unknown_kids_cannot_hammer_the_provider(provider: JwksServer, clock: FakeClock) -> None:
    key = provider.add_key("EdDSA")
    verifier = make_verifier(provider.url, clock, cooldown=30)
    assert verifier.jwks is not None
    verifier.jwks.refresh()
    clock.now += 31
    before = provider.requests
    for n in range(50):
        rejects(verifier, sign(make_key("EdDSA", kid=f"garbage-{n}"), claims()))
    assert provider.requests == before + 1
    verifier.verify(provider.mint(key))
    clock.now += 31
    rejects(verifier, sign(make_key("EdDSA", kid="garbage-after"), claims()))
    assert provider.requests == before + 2


def test_expired_token_says_so(provider: JwksServer) -> None:
    key = provider.add_key("EdDSA")
    verifier = make_verifier(provider.url)
    error = rejects(verifier, provider.mint(key, expires_in=timedelta(seconds=-60)))
    assert error.expired


def test_clock_skew_within_leeway_is_accepted(provider: JwksServer) -> None:
    key = provider.add_key("EdDSA")
    verifier = make_verifier(provider.url)
    assert verifier.verify(provider.mint(key, sub="s", expires_in=timedelta(seconds=-5)))


@pytest.mark.parametrize(
    "payload_args",
    [
        {"iss": "https://evil.example.com"},
        {"aud": "https://other-api.example.com"},
    ],
    ids=["wrong-issuer", "wrong-audience"],
)
def test_wrong_issuer_or_audience_is_rejected(
    provider: JwksServer, payload_args: dict[str, str]
) -> None:
    key = provider.add_key("EdDSA")
    verifier = make_verifier(provider.url)
    assert not rejects(verifier, provider.mint(key, **payload_args)).expired


@pytest.mark.parametrize("missing", ["exp", "aud", "iss", "sub"])
def test_required_claims(provider: JwksServer, missing: str) -> None:
    key = provider.add_key("EdDSA")
    verifier = make_verifier(provider.url)
    payload = claims()
    del payload[missing]
    rejects(verifier, sign(key, payload))


def test_alg_not_matching_the_key_is_rejected(provider: JwksServer) -> None:
    ed_key = provider.add_key("EdDSA")
    rsa_key = provider.add_key("RS256")
    verifier = make_verifier(provider.url)
    # A valid RS256 signature, but under the kid of the Ed25519 key.
    token = jwt.encode(
        claims(), rsa_key.private_key, algorithm="RS256", headers={"kid": ed_key.kid}
    )
    assert "does not match" in str(rejects(verifier, token))


@pytest.mark.parametrize("secret_configured", [False, True])
def test_hs256_signed_with_the_public_key_is_rejected(
    provider: JwksServer, secret_configured: bool
) -> None:
    key = provider.add_key("RS256")
    verifier = make_verifier(
        provider.url, shared_secret=SHARED_SECRET if secret_configured else None
    )
    for secret in (key.public_pem(), json.dumps(key.jwk).encode()):
        rejects(verifier, forge_hs256(claims(), secret, kid=key.kid))


def test_unsigned_token_is_rejected(provider: JwksServer) -> None:
    key = provider.add_key("EdDSA")
    verifier = make_verifier(provider.url)
    header = b64(json.dumps({"alg": "none", "kid": key.kid}).encode())
    body = b64(json.dumps({"sub": "x", "iss": ISSUER, "aud": AUDIENCE}).encode())
    token = f"{header}.{body}."
    rejects(verifier, token)


def test_symmetric_keys_in_the_jwks_are_ignored(provider: JwksServer) -> None:
    provider.add_key("EdDSA")
    secret = b"published-by-mistake-0123456789abcdef"
    provider.extra_jwks.append(
        {
            "kty": "oct",
            "kid": "hmac",
            "alg": "HS256",
            "k": base64.urlsafe_b64encode(secret).decode().rstrip("="),
        }
    )
    verifier = make_verifier(provider.url)
    forged = jwt.encode(claims(), secret, algorithm="HS256", headers={"kid": "hmac"})
    rejects(verifier, forged)


def test_shared_secret_tokens(provider: JwksServer) -> None:
    verifier = make_verifier(None, shared_secret=SHARED_SECRET)
    assert verifier.verify(sign_shared(claims(sub="hs-user"))).subject == "hs-user"
    assert rejects(verifier, sign_shared(claims(expires_in=timedelta(minutes=-5)))).expired
    rejects(verifier, sign_shared(claims(aud="someone-else")))
    rejects(verifier, sign_shared(claims(), secret="another-secret-of-sufficient-length-0123"))
    # Without a JWKS, asymmetric tokens have no key to check against.
    rejects(verifier, provider.mint(provider.add_key("EdDSA")))


def test_hs256_refused_without_shared_secret(provider: JwksServer) -> None:
    provider.add_key("EdDSA")
    verifier = make_verifier(provider.url)
    assert "HS256 is not accepted" in str(rejects(verifier, sign_shared(claims())))


def test_provider_down_at_start_then_up(provider: JwksServer, clock: FakeClock) -> None:
    provider.mode = "error"
    key = provider.add_key("EdDSA")
    verifier = make_verifier(provider.url, clock)
    assert verifier.jwks is not None
    assert not verifier.jwks.refresh()
    rejects(verifier, provider.mint(key))  # within the cool-down: no second attempt
    provider.mode = "ok"
    clock.now += 31
    assert verifier.verify(provider.mint(key, sub="later")).subject == "later"


def test_refused_connection_at_start_is_tolerated() -> None:
    verifier = make_verifier(closed_port_url())
    assert verifier.jwks is not None
    start = time.monotonic()
    assert not verifier.jwks.refresh()
    assert elapsed(start) < 2


def test_cached_keys_keep_working_while_the_provider_is_down(
    provider: JwksServer, clock: FakeClock
) -> None:
    key = provider.add_key("ES256")
    verifier = make_verifier(provider.url, clock, max_age=60)
    assert verifier.jwks is not None
    verifier.jwks.refresh()
    provider.mode = "error"
    clock.now += 3600  # long stale: a background refresh is tried and fails
    assert verifier.verify(provider.mint(key, sub="still-in")).subject == "still-in"
    verifier.jwks.wait_for_background(5)
    assert verifier.verify(provider.mint(key, sub="still-in")).subject == "still-in"


def test_a_hanging_provider_does_not_hang_requests(provider: JwksServer, clock: FakeClock) -> None:
    key = provider.add_key("RS256")
    verifier = make_verifier(provider.url, clock, timeout=0.5, max_age=60)
    assert verifier.jwks is not None
    verifier.jwks.refresh()
    provider.mode = "hang"
    clock.now += 3600

    start = time.monotonic()
    verifier.verify(provider.mint(key))  # known kid: answered from the cache
    assert elapsed(start) < 0.5

    start = time.monotonic()
    rejects(verifier, sign(make_key("RS256", kid="new"), claims()))  # one bounded fetch
    assert elapsed(start) < 3
    verifier.jwks.wait_for_background(5)
    verifier.verify(provider.mint(key))


def test_stale_keys_are_refreshed_in_the_background(provider: JwksServer, clock: FakeClock) -> None:
    old = provider.add_key("EdDSA")
    verifier = make_verifier(provider.url, clock, max_age=60)
    assert verifier.jwks is not None
    verifier.jwks.refresh()
    provider.keys = [make_key("EdDSA")]  # the provider withdrew the old key
    clock.now += 61
    verifier.verify(provider.mint(old))  # still trusted until the refresh lands
    verifier.jwks.wait_for_background(5)
    clock.now += 31
    assert "unknown signing key" in str(rejects(verifier, provider.mint(old)))


def test_unverified_issuer() -> None:
    assert unverified_issuer(sign_shared(claims())) == ISSUER
    assert unverified_issuer("not a token") is None
    assert unverified_issuer("x" * 5000) is None

"""Cost of verifying an access token: this API's HS256 against provider tokens (cached JWKS).

    .venv/bin/python benchmarks/provider_tokens.py [--n 2000]

Runs the real verifiers in-process against a loopback JWKS with generated keys and prints the
median and p99 microseconds per verification, plus the number of JWKS fetches during the timed
loop (0: the hot path never touches the network).
"""

import argparse
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pydantic import SecretStr
from tests.provider import (
    AUDIENCE,
    ISSUER,
    SHARED_SECRET,
    JwksServer,
    claims,
    sign_shared,
)

from app.core.config import Settings
from app.core.jwks import JwksCache
from app.core.provider_tokens import ProviderVerifier
from app.core.security import create_access_token, decode_access_token


def timed(fn: Callable[[], object], n: int) -> tuple[float, float]:
    samples = []
    for _ in range(n):
        start = time.perf_counter_ns()
        fn()
        samples.append((time.perf_counter_ns() - start) / 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99) - 1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000)
    n = parser.parse_args().n

    settings = Settings(_env_file=None, secret_key="b" * 48)  # type: ignore[call-arg, arg-type]
    local = create_access_token(user_id=uuid.uuid4(), token_version=0, settings=settings)
    rows = [
        (
            "local HS256 (SECRET_KEY)",
            timed(lambda: decode_access_token(local, settings=settings), n),
        )
    ]

    with JwksServer() as provider:
        jwks = JwksCache(provider.url, timeout=3, cooldown=30, max_age=600)
        verifier = ProviderVerifier(
            issuer=ISSUER,
            audience=AUDIENCE,
            leeway=10,
            jwks=jwks,
            shared_secret=SecretStr(SHARED_SECRET),
        )
        keys = [provider.add_key(alg) for alg in ("EdDSA", "ES256", "RS256")]
        jwks.refresh()
        before = provider.requests
        for key in keys:
            token = provider.mint(key)
            rows.append(
                (f"provider {key.alg} (JWKS)", timed(lambda t=token: verifier.verify(t), n))
            )
        shared = sign_shared(claims())
        rows.append(
            ("provider HS256 (AUTH_SHARED_SECRET)", timed(lambda: verifier.verify(shared), n))
        )
        fetches = provider.requests - before

    print(f"{'token':40} {'median us':>10} {'p99 us':>10}   (n={n})")
    for name, (median, p99) in rows:
        print(f"{name:40} {median:10.1f} {p99:10.1f}")
    print(f"JWKS fetches during the timed loops: {fetches}")


if __name__ == "__main__":
    main()

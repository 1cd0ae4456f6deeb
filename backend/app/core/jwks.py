"""The provider's public keys (JWKS), cached so that verifying a token never waits on the network.

- Keys are fetched at start-up (`refresh`), again in the background once the set is older than
  `max_age`, and synchronously only for a `kid` we have not seen, at most once per `cooldown`,
  so a stream of tokens with made-up kids cannot make us hammer the provider.
- A failed fetch keeps the keys we have: a provider outage does not log anybody out.
- Every fetch has a short timeout and a size limit, so a slow or hostile endpoint cannot hang
  a request for long.
- Symmetric (`oct`) keys and encryption keys are dropped: a JWKS only ever supplies public
  signature keys, and the algorithm of each comes from the key, never from a token.
"""

import json
import logging
import threading
import time
import urllib.request
from collections.abc import Callable
from typing import Any

from jwt import PyJWK
from jwt.exceptions import PyJWTError

logger = logging.getLogger("app.jwks")

# Asymmetric algorithms a provider key may carry. HMAC is absent on purpose: a public key
# must never be usable as a shared secret.
SIGNATURE_ALGORITHMS = frozenset(
    {"EdDSA", "ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
)
MAX_JWKS_BYTES = 256 * 1024


class JwksFetchError(Exception):
    """The key set could not be fetched or contained no usable signature key."""


def parse_jwks(document: Any) -> dict[str, PyJWK]:
    """Usable public signature keys by kid (keys without a kid are kept under "")."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise JwksFetchError("not a JWK Set")
    keys: dict[str, PyJWK] = {}
    for data in document["keys"]:
        if not isinstance(data, dict) or data.get("kty") == "oct" or data.get("use") == "enc":
            continue
        try:
            jwk = PyJWK(data)
        except PyJWTError as exc:
            logger.warning("skipping unusable JWK %r: %s", data.get("kid"), exc)
            continue
        if jwk.algorithm_name not in SIGNATURE_ALGORITHMS:
            continue
        kid = data.get("kid", "")
        if isinstance(kid, str):
            keys[kid] = jwk
    if not keys:
        raise JwksFetchError("the JWK Set has no usable signature key")
    return keys


class JwksCache:
    def __init__(
        self,
        url: str,
        *,
        timeout: float,
        cooldown: float,
        max_age: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.timeout = timeout
        self.cooldown = cooldown
        self.max_age = max_age
        self._clock = clock
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at: float | None = None
        self._last_attempt: float | None = None
        self._lock = threading.Lock()
        self._background: threading.Thread | None = None
        self.fetch_count = 0
        # Bumped when a key we trusted is withdrawn or replaced: tokens it signed, remembered
        # as verified (app.authenticator), must be verified again.
        self.withdrawals = 0

    def _fetch(self) -> dict[str, PyJWK]:
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked in Settings
            self.url, headers={"Accept": "application/json", "User-Agent": "tasks-api"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                body = response.read(MAX_JWKS_BYTES + 1)
        except OSError as exc:  # URLError, HTTPError, timeouts, refused connections
            raise JwksFetchError(f"fetching {self.url} failed: {exc}") from exc
        if len(body) > MAX_JWKS_BYTES:
            raise JwksFetchError(f"{self.url} returned more than {MAX_JWKS_BYTES} bytes")
        try:
            document = json.loads(body)
        except ValueError as exc:
            raise JwksFetchError(f"{self.url} did not return JSON") from exc
        return parse_jwks(document)

    def refresh(self) -> bool:
        """Fetch the key set now. On failure keep the current keys and return False."""
        with self._lock:
            return self._refresh_locked()

    def _refresh_locked(self) -> bool:
        self._last_attempt = self._clock()
        self.fetch_count += 1
        try:
            keys = self._fetch()
        except JwksFetchError as exc:
            logger.warning(
                "JWKS refresh failed, keeping %d cached key(s): %s", len(self._keys), exc
            )
            return False
        # Replace, not merge: a key the provider withdrew stops being trusted.
        if any(kid not in keys or keys[kid].key != old.key for kid, old in self._keys.items()):
            self.withdrawals += 1
        self._keys = keys
        self._fetched_at = self._clock()
        return True

    def _cooling_down(self) -> bool:
        return self._last_attempt is not None and (
            self._clock() - self._last_attempt < self.cooldown
        )

    def _is_stale(self) -> bool:
        return self._fetched_at is None or self._clock() - self._fetched_at >= self.max_age

    def _refresh_in_background(self) -> None:
        if self._background is not None and self._background.is_alive():
            return
        if self._cooling_down():
            return
        self._background = threading.Thread(target=self.refresh, name="jwks-refresh", daemon=True)
        self._background.start()

    def get(self, kid: str | None) -> PyJWK | None:
        """The key for kid, or None. Known kids never wait on the network."""
        key = self._lookup(kid)
        if key is not None:
            if self._is_stale():
                self._refresh_in_background()
            return key
        with self._lock:
            # Another request may have fetched the new set while we waited for the lock.
            key = self._lookup(kid)
            if key is None and not self._cooling_down():
                self._refresh_locked()
                key = self._lookup(kid)
        return key

    def _lookup(self, kid: str | None) -> PyJWK | None:
        keys = self._keys
        if kid is None:
            # A token without a kid is only unambiguous against a single-key set.
            return next(iter(keys.values())) if len(keys) == 1 else None
        return keys.get(kid)

    def wait_for_background(self, timeout: float) -> None:
        """Tests and shutdown: let a background refresh finish."""
        thread = self._background
        if thread is not None:
            thread.join(timeout)

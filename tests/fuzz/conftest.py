"""The app for fuzzing: its own migrated database per backend, real commits, no test rollback.

Examples per operation come from the Hypothesis profile: `ci` (the default, bounded so
`make test` stays quick) or `fuzz` (`make fuzz`, a long release check). The schemathesis runs
draw from a fresh seed every time, printed at the end of the run; `FUZZ_SEED=<seed>` replays it.
"""

import os
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings

from app import migrate
from app.database import create_db_engine
from app.main import create_app
from tests.conftest import fresh_database_url, make_settings
from tests.factories import PASSWORD

settings.register_profile(
    "ci",
    max_examples=int(os.environ.get("FUZZ_MAX_EXAMPLES", "25")),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
settings.register_profile(
    "fuzz",
    max_examples=int(os.environ.get("FUZZ_MAX_EXAMPLES", "1000")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

FUZZ_SEED = int(os.environ.get("FUZZ_SEED") or random.SystemRandom().getrandbits(64))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    terminalreporter.write_line(
        f"schemathesis seed: {FUZZ_SEED} (run again with FUZZ_SEED={FUZZ_SEED} to replay it)"
    )


@pytest.fixture(scope="module")
def fuzz_app(
    backend: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[FastAPI]:
    pg = request.getfixturevalue("throwaway_postgres") if backend == "postgresql" else None
    url = fresh_database_url(backend, tmp_path_factory, pg)
    migrate.upgrade(url)
    # Fuzzed webhooks never send: no delivery worker, and host names resolve to nothing, so no
    # lookup or connection leaves this machine (a public IP literal is accepted, never used).
    app_settings = make_settings(
        url, Path(tmp_path_factory.mktemp("fuzz")), webhook_worker_enabled=False
    )
    engine = create_db_engine(app_settings)
    app = create_app(app_settings, engine)
    app.state.webhook_resolver = _no_resolver
    yield app
    engine.dispose()


def _no_resolver(host: str, port: int) -> list[str]:
    raise OSError(f"the fuzz tests resolve no names ({host})")


@dataclass(frozen=True)
class SignedIn:
    user_id: str
    access_token: str


def register_and_login(app: FastAPI) -> SignedIn:
    """A fresh account, signed in: each run, scenario or session-ending case gets its own."""
    email = f"fuzz-{uuid.uuid4().hex[:12]}@example.com"
    with TestClient(app) as client:
        created = client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
        assert created.status_code == 201, created.text
        token = client.post("/api/v1/auth/token", data={"username": email, "password": PASSWORD})
        assert token.status_code == 200, token.text
    return SignedIn(user_id=created.json()["id"], access_token=token.json()["access_token"])

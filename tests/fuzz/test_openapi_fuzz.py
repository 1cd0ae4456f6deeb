"""Schemathesis fuzzes every operation of the OpenAPI contract against the app, on SQLite and
PostgreSQL, with every built-in check (schemathesis.toml): no 5xx; responses match their
schemas, status codes, content types and headers; input the schema allows is accepted
(positive data acceptance) and input it forbids is refused (negative data rejection, from
negative generation); authentication is enforced (the `ignored_auth` check retries each
authenticated call without and with a bad token); unsupported methods get a 405 with `Allow`;
and stateful sequences (create, then read / update / delete what was created) hold up.

The schema is the committed contract, which tests/test_contract.py keeps identical to the
app's own /openapi.json. No hook filters generated input: where the server refuses something
the contract allows, one of the two is wrong. The same configuration serves the CLI run
against a live server (specs/2-backend-api/quickstart.md).
"""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import seed, settings
from schemathesis.config import SchemathesisConfig
from starlette.types import Receive, Scope, Send

from app.cli import DEFAULT_CONTRACT
from tests.fuzz import hooks
from tests.fuzz.conftest import FUZZ_SEED, SignedIn, register_and_login

# They end the caller's session (every token revoked, the password changed, the account
# deleted), so they run on their own, each case with a fresh account: in the main run they
# would revoke the token every other case relies on.
SESSION_ENDING = ["logoutAll", "changePassword", "deleteMe"]
COMPAT_TAG = "hackathon-compat"


class _CurrentApp:
    """The ASGI app schemathesis calls: the app of the backend the running test set up, and the
    account the calls are made as."""

    def __init__(self) -> None:
        self.app: FastAPI | None = None
        self.account: SignedIn | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.app is not None, "fuzz tests run only through the current_app fixture"
        await self.app(scope, receive, send)

    def sign_up(self) -> None:
        assert self.app is not None
        self.account = register_and_login(self.app)
        hooks.caller_id = self.account.user_id

    def headers(self) -> dict[str, str]:
        assert self.account is not None
        return {"Authorization": f"Bearer {self.account.access_token}"}


def _operation_id(ctx: Any) -> str:
    operation_id: str = ctx.operation.definition.raw["operationId"]
    return operation_id


current = _CurrentApp()
config = SchemathesisConfig.from_path(Path(__file__).with_name("schemathesis.toml"))
config.update(seed=FUZZ_SEED, max_failures=None)
schema = schemathesis.openapi.from_dict(json.loads(DEFAULT_CONTRACT.read_text()), config=config)
schema.app = current
# An event stream never ends, so it cannot be called in process; tests/routers/test_events.py
# and tests/test_event_stream_limits.py call it on real servers.
STREAMING = ["streamEvents"]
main_run = schema.exclude(operation_id=SESSION_ENDING).exclude(operation_id=STREAMING)
# Not `include(...)`: with `[[operations]]` sections in the configuration, schemathesis 4.32
# keeps every operation in an included schema.
session_ending_run = schema.exclude(lambda ctx: _operation_id(ctx) not in SESSION_ENDING)

# Stateful sequences run per surface. Schemathesis' stateful checks know one URI per resource:
# a task deleted through /api/v1/tasks/{id}, then read through /api/{user_id}/tasks/{id}, looks
# to them like a created resource that vanished. tests/routers/test_compat.py checks that both
# surfaces share their data. Registering is left out: accounts outlive a scenario (one database
# for the run), so replaying the same steps would get a 409 where they got a 201 and take
# another path, which Hypothesis reports as flaky; it is fuzzed per operation, and its only
# inferred links lead to another user's Hackathon II paths.
STATEFUL_SURFACES = {
    "v1": main_run.exclude(tag=COMPAT_TAG).exclude(operation_id="register"),
    # With `GET /api/v1/users/me`, whose id the Hackathon II paths take through a link.
    COMPAT_TAG: main_run.exclude(
        lambda ctx: COMPAT_TAG not in ctx.operation.tags and _operation_id(ctx) != "getMe"
    ),
}


@pytest.fixture(autouse=True)
def current_app(fuzz_app: FastAPI) -> Iterator[FastAPI]:
    current.app = fuzz_app
    current.sign_up()
    yield fuzz_app
    current.app = None
    current.account = None
    hooks.caller_id = None


@main_run.parametrize()
def test_every_operation_conforms(case: Any) -> None:
    case.call_and_validate(headers=current.headers())


@session_ending_run.parametrize()
def test_session_ending_operations_conform(case: Any) -> None:
    current.sign_up()
    case.call_and_validate(headers=current.headers())


@pytest.mark.parametrize("surface", list(STATEFUL_SURFACES))
def test_stateful_sequences_conform(surface: str) -> None:
    # A fresh machine per backend: it learns from responses, and must not carry that over.
    # Operations are chained by the links schemathesis infers (create -> get / update /
    # complete / delete, list -> the listed ids, me -> the Hackathon II paths).
    class SignedInMachine(STATEFUL_SURFACES[surface].as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            # Each scenario starts from a new, empty account, so replaying one while
            # shrinking a failure sees the same state again.
            current.sign_up()

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": current.headers()}

    # Steps draw their inputs from earlier responses, which depend on the database's state, so
    # a replayed prefix can draw differently; derandomized exploration replays prefixes and then
    # reports that as flaky generation. Random exploration from the run's seed does not.
    steps = schema.config.phases.stateful.max_steps
    run_settings = settings(settings(), derandomize=False, stateful_step_count=steps)
    seed(FUZZ_SEED)(SignedInMachine).run(settings=run_settings)

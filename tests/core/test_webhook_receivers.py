"""The receivers of docs/guides/webhooks.md, run as written, verify what the server sends.

The Python and JavaScript blocks of the page are taken out of it and started on 127.0.0.1:
the Python one (standardwebhooks from PyPI) under uvicorn in a thread, the JavaScript one
(standardwebhooks from npm, clients/webhook-receiver) under Node.js. Deliveries are signed by
`app.core.webhook_signing` and sent by `app.core.outbound`, so a 204 means the receiver
verified the signature. The JavaScript package is a separate implementation of the
specification (its own HMAC and base64 code), so a mistake shared by our signer and the
Python library it wraps would still be caught there.

Each language gets two receivers: one holding the new secret, one the old, as during a
rotation.
"""

import os
import re
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest import mock

import pytest
import uvicorn

from app.core.outbound import DeliveryResult, FailureReason, OutboundPolicy, post_webhook
from app.core.webhook_signing import generate_secret, sign
from tests.conftest import postgres_required
from tests.live import PROJECT_ROOT, free_port

PAGE = PROJECT_ROOT / "docs" / "guides" / "webhooks.md"
JS_PACKAGE = PROJECT_ROOT / "clients" / "webhook-receiver"
NEW_SECRET = generate_secret()
OLD_SECRET = generate_secret()
LOOPBACK = OutboundPolicy(allow_http=True, allow_private=True)
STARTUP_SECONDS = 20.0


def page_block(language: str) -> str:
    blocks = re.findall(rf"^```{language}\n(.*?)^```", PAGE.read_text(), re.DOTALL | re.MULTILINE)
    assert len(blocks) == 1, f"expected one {language} block in {PAGE.name}"
    return str(blocks[0])


@dataclass
class Running:
    url: str
    lines: list[str]

    def wait_for(self, line: str) -> None:
        deadline = time.monotonic() + 5
        while line not in self.lines:
            assert time.monotonic() < deadline, f"{line!r} not in {self.lines}"
            time.sleep(0.01)


def wait_until_listening(port: int, alive: Callable[[], bool]) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        assert alive(), "the receiver exited"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            assert time.monotonic() < deadline, "the receiver did not start"
            time.sleep(0.05)


@pytest.fixture(scope="module")
def python_receivers() -> Iterator[tuple[Running, Running]]:
    code = page_block("python")
    started: list[tuple[uvicorn.Server, threading.Thread, socket.socket]] = []
    running = []
    for secret in (NEW_SECRET, OLD_SECRET):
        lines: list[str] = []

        def record(*args: object, lines: list[str] = lines) -> None:
            lines.append(" ".join(str(arg) for arg in args))

        namespace: dict[str, object] = {"__name__": "receiver", "print": record}
        with mock.patch.dict(os.environ, {"WEBHOOK_SECRET": secret}):
            exec(compile(code, str(PAGE), "exec"), namespace)  # noqa: S102 - the docs' example
        server = uvicorn.Server(uvicorn.Config(namespace["app"], lifespan="off", log_level="error"))
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        started.append((server, thread, sock))
        port = sock.getsockname()[1]
        wait_until_listening(port, thread.is_alive)
        running.append(Running(f"http://127.0.0.1:{port}/hooks/tasks", lines))
    yield running[0], running[1]
    for server, thread, sock in started:
        server.should_exit = True
        thread.join(10)
        sock.close()


def node_modules() -> Path:
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        reason = "Node.js is not installed (apt-get install nodejs npm)"
        if postgres_required():
            pytest.fail(f"REQUIRE_POSTGRES=1 requires the JavaScript receiver check: {reason}")
        pytest.skip(reason)
    stamp = JS_PACKAGE / "node_modules" / ".installed"
    lock = JS_PACKAGE / "package-lock.json"
    if not stamp.exists() or stamp.stat().st_mtime < lock.stat().st_mtime:
        installed = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=JS_PACKAGE,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert installed.returncode == 0, installed.stderr
        stamp.touch()
    return JS_PACKAGE / "node_modules"


@pytest.fixture(scope="module")
def javascript_receivers(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Running, Running]]:
    folder = tmp_path_factory.mktemp("js-receiver")
    (folder / "receiver.mjs").write_text(page_block("javascript"))
    (folder / "node_modules").symlink_to(node_modules())
    processes: list[subprocess.Popen[str]] = []
    running = []
    for secret in (NEW_SECRET, OLD_SECRET):
        port = free_port()
        env = {"PATH": os.environ["PATH"], "WEBHOOK_SECRET": secret, "PORT": str(port)}
        process = subprocess.Popen(
            ["node", "receiver.mjs"], cwd=folder, env=env, stdout=subprocess.PIPE, text=True
        )
        processes.append(process)
        lines: list[str] = []
        stdout = process.stdout
        assert stdout is not None
        threading.Thread(
            target=lambda out=stdout, into=lines: into.extend(line.rstrip("\n") for line in out),
            daemon=True,
        ).start()
        wait_until_listening(port, lambda process=process: process.poll() is None)
        running.append(Running(f"http://127.0.0.1:{port}/hooks/tasks", lines))
    yield running[0], running[1]
    for process in processes:
        process.terminate()
        process.wait(10)
        if process.stdout is not None:
            process.stdout.close()


@pytest.fixture(params=["python", "javascript"])
def receivers(request: pytest.FixtureRequest) -> tuple[Running, Running]:
    """(new-secret receiver, old-secret receiver) in one language."""
    pair: tuple[Running, Running] = request.getfixturevalue(f"{request.param}_receivers")
    return pair


def event_type() -> str:
    return f"task.created-{uuid.uuid4().hex[:8]}"


def deliver(
    url: str,
    kind: str,
    secrets: list[str],
    *,
    timestamp: datetime | None = None,
    msg_id: str | None = None,
    tamper: bool = False,
) -> DeliveryResult:
    payload = f'{{"type": "{kind}", "data": {{"title": "café"}}}}'.encode()
    headers = sign(
        msg_id=msg_id or f"msg_{uuid.uuid4().hex}",
        payload=payload,
        secrets=secrets,
        timestamp=timestamp or datetime.now(UTC),
    )
    body = payload.replace(b"caf", b"tea") if tamper else payload
    return post_webhook(url, body, headers, policy=LOOPBACK)


def refused(result: DeliveryResult) -> bool:
    return result.failure is FailureReason.NON_2XX and result.status_code == 400


def test_a_delivery_is_verified_with_the_secret(receivers: tuple[Running, Running]) -> None:
    new, _ = receivers
    kind = event_type()
    result = deliver(new.url, kind, [NEW_SECRET])
    assert result.ok, result.detail
    assert result.status_code == 204
    new.wait_for(f"received {kind}")


def test_during_a_rotation_either_secret_verifies(receivers: tuple[Running, Running]) -> None:
    new, old = receivers
    kind = event_type()
    assert deliver(new.url, kind, [NEW_SECRET, OLD_SECRET]).ok
    assert deliver(old.url, kind, [NEW_SECRET, OLD_SECRET]).ok
    new.wait_for(f"received {kind}")
    old.wait_for(f"received {kind}")
    # The old secret's own entry is what the old receiver matched.
    assert refused(deliver(old.url, event_type(), [NEW_SECRET]))


def test_a_replayed_old_delivery_is_refused(receivers: tuple[Running, Running]) -> None:
    new, _ = receivers
    replayed, fresh = event_type(), event_type()
    ten_minutes_ago = datetime.now(UTC) - timedelta(minutes=10)
    assert refused(deliver(new.url, replayed, [NEW_SECRET], timestamp=ten_minutes_ago))
    in_ten_minutes = datetime.now(UTC) + timedelta(minutes=10)
    assert refused(deliver(new.url, replayed, [NEW_SECRET], timestamp=in_ten_minutes))
    assert deliver(new.url, fresh, [NEW_SECRET]).ok
    new.wait_for(f"received {fresh}")
    assert f"received {replayed}" not in new.lines


def test_another_secret_or_a_changed_body_is_refused(receivers: tuple[Running, Running]) -> None:
    new, _ = receivers
    result = deliver(new.url, event_type(), [generate_secret()])
    assert refused(result)
    assert result.body_excerpt == "invalid signature"
    assert refused(deliver(new.url, event_type(), [NEW_SECRET], tamper=True))


def test_a_retried_event_is_handled_once(receivers: tuple[Running, Running]) -> None:
    new, _ = receivers
    kind, msg_id = event_type(), f"msg_{uuid.uuid4().hex}"
    assert deliver(new.url, kind, [NEW_SECRET], msg_id=msg_id).ok
    assert deliver(new.url, kind, [NEW_SECRET], msg_id=msg_id).ok
    marker = event_type()
    assert deliver(new.url, marker, [NEW_SECRET]).ok
    new.wait_for(f"received {marker}")
    assert new.lines.count(f"received {kind}") == 1

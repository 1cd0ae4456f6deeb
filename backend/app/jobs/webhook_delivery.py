"""The webhook delivery worker: claim a due delivery, POST it, record the attempt.

Each step is a short transaction of its own; the POST happens between them, outside any
transaction (it can take 5 s):

1. `claim_next`: pick the oldest due `pending` delivery of an enabled webhook and move its
   `next_attempt_at` one lease ahead (WEBHOOK_LEASE_SECONDS) under a fresh `lease_token`.
   PostgreSQL: `SELECT ... FOR UPDATE SKIP LOCKED`, so workers in any number of processes and
   instances never claim the same row; SQLite: `BEGIN IMMEDIATE`, one claim at a time.
   A worker that dies (SIGKILL, power cut) after claiming leaves the row due again once the
   lease has passed, and another worker sends it: at least once, with the same `webhook-id`.
2. `deliver`: sign with the current (and, during a rotation, the previous) secret and POST
   through app.core.outbound, which checks the URL and every resolved address again.
3. `record`: store the attempt; under the same lease only, mark the delivery delivered, due
   again (app.core.retry_schedule: exponential backoff with jitter, for 24 h) or failed, and
   count the webhook's failures in a row, disabling it after WEBHOOK_DISABLE_AFTER.

`DeliveryWorker` runs this loop on a few threads: started from the app's lifespan unless
WEBHOOK_WORKER_ENABLED=false, or on its own by `tasks-api worker` (`run_webhook_worker`).

On PostgreSQL the worker's transactions set `app.webhook_worker = 'on'`, which the tables'
row-level security policies admit besides the owner (migration 0014): it works for everyone.
"""

import logging
import random
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Engine, and_, func, insert, literal, select, text, update
from sqlmodel import Session, col

from app.core.config import Settings
from app.core.outbound import DeliveryResult, OutboundPolicy, post_webhook
from app.core.retry_schedule import (
    consecutive_failures_after,
    next_attempt_at,
    should_disable,
)
from app.core.ssrf import Resolver, system_resolver
from app.core.webhook_signing import sign, signing_secrets
from app.database import session_engines
from app.models import Webhook, WebhookAttempt, WebhookDelivery
from app.models.base import UTCDateTime, utcnow
from app.services.outbox import SUBSCRIBERS, subscriptions_changed

logger = logging.getLogger("app.jobs.webhook_delivery")

_WORKER_SQL = text("SELECT set_config('app.webhook_worker', 'on', true)")
_ON_WEBHOOK = and_(
    col(Webhook.id) == col(WebhookDelivery.webhook_id),
    col(Webhook.user_id) == col(WebhookDelivery.user_id),
)
# How long stop() waits for an attempt in flight (its lease covers it otherwise).
STOP_TIMEOUT_SECONDS = 7.0


@dataclass(frozen=True)
class Claim:
    """One delivery, claimed under `lease_token`, with what sending it needs."""

    delivery_id: uuid.UUID
    user_id: uuid.UUID
    webhook_id: uuid.UUID
    lease_token: uuid.UUID
    url: str
    payload: bytes
    secrets: list[str]

    @property
    def msg_id(self) -> str:
        """The `webhook-id`: the same for every attempt of this delivery."""
        return f"msg_{self.delivery_id.hex}"


def _begin_as_worker(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_WORKER_SQL)


def _due(now: datetime) -> list[ColumnElement[bool]]:
    return [
        col(WebhookDelivery.status) == "pending",
        col(WebhookDelivery.next_attempt_at) <= now,
        col(Webhook.enabled).is_(True),
    ]


def any_due(engine: Engine, *, now: datetime) -> bool:
    """A read-only look first, so an idle worker takes no lock (SQLite's write lock above all)."""
    with Session(engine) as session, session.begin():
        _begin_as_worker(session)
        statement = (
            select(col(WebhookDelivery.id)).join(Webhook, _ON_WEBHOOK).where(*_due(now)).limit(1)
        )
        return session.scalar(statement) is not None


def claim_next(engine: Engine, *, now: datetime, lease: timedelta) -> Claim | None:
    """Claim the oldest due delivery for `lease`, or None if nothing is due."""
    write = session_engines(engine).write
    with Session(write) as session, session.begin():
        _begin_as_worker(session)
        pick = (
            select(col(WebhookDelivery.id))
            .join(Webhook, _ON_WEBHOOK)
            .where(*_due(now))
            .order_by(col(WebhookDelivery.next_attempt_at))
            .limit(1)
        )
        if write.dialect.name == "postgresql":
            pick = pick.with_for_update(of=WebhookDelivery, skip_locked=True)
        delivery_id = session.scalar(pick)
        if delivery_id is None:
            return None
        token = uuid.uuid4()
        session.execute(
            update(WebhookDelivery)
            .where(col(WebhookDelivery.id) == delivery_id)
            .values(
                next_attempt_at=now + lease,
                lease_token=token,
                first_attempt_at=func.coalesce(
                    col(WebhookDelivery.first_attempt_at), literal(now, UTCDateTime())
                ),
            )
        )
        row = session.execute(
            select(
                col(WebhookDelivery.user_id),
                col(WebhookDelivery.webhook_id),
                col(WebhookDelivery.payload),
                col(Webhook.url),
                col(Webhook.secret),
                col(Webhook.previous_secret),
                col(Webhook.rotated_at),
            )
            .join(Webhook, _ON_WEBHOOK)
            .where(col(WebhookDelivery.id) == delivery_id)
        ).one()
    return Claim(
        delivery_id=delivery_id,
        user_id=row.user_id,
        webhook_id=row.webhook_id,
        lease_token=token,
        url=row.url,
        payload=row.payload.encode(),
        secrets=signing_secrets(
            current=row.secret, previous=row.previous_secret, rotated_at=row.rotated_at, now=now
        ),
    )


def deliver(
    claim: Claim, *, policy: OutboundPolicy, resolver: Resolver = system_resolver
) -> DeliveryResult:
    """One signed POST of the claimed delivery; never raises for the receiver's failures."""
    headers = sign(
        msg_id=claim.msg_id, payload=claim.payload, secrets=claim.secrets, timestamp=utcnow()
    )
    return post_webhook(claim.url, claim.payload, headers, policy=policy, resolver=resolver)


def record(
    engine: Engine,
    claim: Claim,
    result: DeliveryResult,
    *,
    attempted_at: datetime,
    now: datetime,
    disable_after: int,
    rng: random.Random,
) -> None:
    """Store the attempt, then move the delivery on, if the claim still holds."""
    disabled = False
    with Session(session_engines(engine).write) as session, session.begin():
        _begin_as_worker(session)
        session.execute(
            insert(WebhookAttempt).values(
                id=uuid.uuid4(),
                user_id=claim.user_id,
                delivery_id=claim.delivery_id,
                attempted_at=attempted_at,
                status_code=result.status_code,
                failure=None if result.failure is None else result.failure.value,
                detail=result.detail[:1000],
                duration_ms=result.duration_ms,
                response_excerpt=result.body_excerpt,
            )
        )
        current = session.execute(
            select(
                col(WebhookDelivery.attempts),
                col(WebhookDelivery.first_attempt_at),
                col(WebhookDelivery.lease_token),
            ).where(col(WebhookDelivery.id) == claim.delivery_id)
        ).first()
        if current is None or current.lease_token != claim.lease_token:
            # Re-sent by its owner meanwhile, or the lease ran out and another worker has it.
            return
        attempts = current.attempts + 1
        values: dict[str, object] = {
            "attempts": attempts,
            "last_attempt_at": attempted_at,
            "last_status_code": result.status_code,
            "last_error": None if result.ok else result.detail[:1000],
            "lease_token": None,
        }
        if result.ok:
            values.update(status="delivered", delivered_at=now, next_attempt_at=None)
        else:
            retry_at = next_attempt_at(attempts, current.first_attempt_at or attempted_at, now, rng)
            if retry_at is None:
                values.update(status="failed", next_attempt_at=None)
            else:
                values["next_attempt_at"] = retry_at
        session.execute(
            update(WebhookDelivery)
            .where(col(WebhookDelivery.id) == claim.delivery_id)
            .values(**values)
        )
        disabled = _count_failure(session, claim, result, now=now, disable_after=disable_after)
    if disabled:
        SUBSCRIBERS.forget(claim.user_id)
        logger.warning("webhook %s disabled: %s", claim.webhook_id, result.detail)


def _count_failure(
    session: Session, claim: Claim, result: DeliveryResult, *, now: datetime, disable_after: int
) -> bool:
    """Update the webhook's failures in a row; True if this attempt disabled it."""
    owned = and_(col(Webhook.id) == claim.webhook_id, col(Webhook.user_id) == claim.user_id)
    row = session.execute(
        select(col(Webhook.consecutive_failures), col(Webhook.enabled)).where(owned)
    ).first()
    if row is None:
        return False
    failures = consecutive_failures_after(row.consecutive_failures, delivered=result.ok)
    values: dict[str, object] = {"consecutive_failures": failures}
    disable = row.enabled and should_disable(failures, disable_after=disable_after)
    if disable:
        values.update(
            enabled=False,
            disabled_at=now,
            disabled_reason=(
                f"{failures} delivery attempts failed in a row; the last: {result.detail}"
            )[:1000],
        )
    if failures != row.consecutive_failures or disable:
        session.execute(update(Webhook).where(owned).values(**values))
    if disable:
        subscriptions_changed(session=session, user_id=claim.user_id)
    return disable


class DeliveryWorker:
    """Threads that claim, send and record deliveries until `stop()`."""

    def __init__(
        self, engine: Engine, settings: Settings, *, resolver: Resolver = system_resolver
    ) -> None:
        self.engine = engine
        self.policy = OutboundPolicy(
            allow_http=settings.webhook_allow_http,
            allow_private=settings.webhook_allow_private,
        )
        self.resolver = resolver
        self.lease = timedelta(seconds=settings.webhook_lease_seconds)
        self.poll_seconds = settings.webhook_poll_seconds
        self.disable_after = settings.webhook_disable_after
        self.thread_count = settings.webhook_worker_threads
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._rng = random.SystemRandom()
        # What "now" is for claims and retries; tests move it forward instead of waiting.
        self.clock: Callable[[], datetime] = utcnow

    def run_once(self) -> bool:
        """Claim and send one due delivery; False if none was due."""
        now = self.clock()
        if not any_due(self.engine, now=now):
            return False
        claim = claim_next(self.engine, now=now, lease=self.lease)
        if claim is None:
            return False
        attempted_at = self.clock()
        result = deliver(claim, policy=self.policy, resolver=self.resolver)
        record(
            self.engine,
            claim,
            result,
            attempted_at=attempted_at,
            now=self.clock(),
            disable_after=self.disable_after,
            rng=self._rng,
        )
        return True

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                busy = self.run_once()
            except Exception:
                # The database away, a bug: keep the worker alive; the lease retries the row.
                logger.exception("webhook delivery failed")
                busy = False
            if not busy:
                self._stopping.wait(self.poll_seconds)

    def start(self) -> None:
        for number in range(self.thread_count):
            thread = threading.Thread(
                target=self._loop, name=f"webhook-delivery-{number}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        logger.info("webhook delivery worker started (%d threads)", self.thread_count)

    def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        self._stopping.set()
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()


def run_webhook_worker(settings: Settings, engine: Engine, stop: threading.Event) -> None:
    """`tasks-api worker`: deliver webhooks until `stop` is set (SIGTERM, SIGINT)."""
    worker = DeliveryWorker(engine, settings)
    worker.start()
    stop.wait()
    worker.stop()

"""Operator commands behind `tasks-api users`, `token` and `check`: no HTTP, direct to the DB."""

import sys
import time
from dataclasses import dataclass
from typing import BinaryIO

from pydantic import ValidationError
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from app import migrate
from app.core.config import Environment, Settings
from app.core.errors import EmailTaken
from app.core.security import create_access_token, make_password_hash
from app.database import bind_session_to_user, create_db_engine, normalize_database_url
from app.schemas.user import UserCreate
from app.services import users as user_service
from app.services.porting.render import RENDERERS

MIN_PASSWORD, MAX_PASSWORD = 8, 128


class CommandError(Exception):
    """A refusal or failure to report on stderr with exit status 1."""


def create_user(settings: Settings, *, email: str, password: str, name: str | None) -> str:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise CommandError(f"the password must be {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    try:
        user_in = UserCreate(email=email, password=password, name=name)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise CommandError(problems) from exc
    engine = create_db_engine(settings)
    try:
        with Session(engine, expire_on_commit=False) as session:
            user = user_service.register_user(
                session=session, user_in=user_in, password_hash=make_password_hash(settings)
            )
    except EmailTaken as exc:
        raise CommandError(f"an account with the email {email} already exists") from exc
    finally:
        engine.dispose()
    return f"created user {user.id} <{user.email}>"


def list_users(settings: Settings, *, limit: int) -> str:
    engine = create_db_engine(settings)
    try:
        with Session(engine) as session:
            users = user_service.list_users(session=session, limit=limit)
    finally:
        engine.dispose()
    rows = [("ID", "EMAIL", "NAME", "CREATED")]
    rows += [
        (str(u.id), u.email or "-", u.name or "-", u.created_at.strftime("%Y-%m-%d %H:%M"))
        for u in users
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [
        "  ".join([*(cell.ljust(widths[i]) for i, cell in enumerate(row[:3])), row[3]]).rstrip()
        for row in rows
    ]
    lines.append(f"({len(users)} user{'s' if len(users) != 1 else ''})")
    return "\n".join(lines)


def mint_token(settings: Settings, *, email: str, minutes: int | None) -> str:
    if settings.environment is Environment.production:
        raise CommandError(
            "refusing to mint tokens when ENVIRONMENT=production; log in with "
            "POST /api/v1/auth/token instead"
        )
    engine = create_db_engine(settings)
    try:
        with Session(engine) as session:
            user = user_service.get_user_by_email(session=session, email=email)
    finally:
        engine.dispose()
    if user is None:
        raise CommandError(f"no account with the email {email}")
    if minutes is not None:
        settings = settings.model_copy(update={"access_token_expire_minutes": minutes})
    return create_access_token(user_id=user.id, token_version=user.token_version, settings=settings)


def export_account(
    settings: Settings, *, email: str, format: str, bom: bool, output: BinaryIO
) -> int:
    """Write the account's export (as GET /api/v1/export would) to `output`, a page of tasks
    at a time; the number of bytes written."""
    renderer = RENDERERS[format]
    engine = create_db_engine(settings)
    written = 0
    try:
        with Session(engine) as session:
            user = user_service.get_user_by_email(session=session, email=email)
            if user is None:
                raise CommandError(f"no account with the email {email}")
            # Row-level security on PostgreSQL: this session sees only this user's rows.
            bind_session_to_user(session, user.id)
            for chunk in renderer(session, user.id, bom).chunks:
                output.write(chunk)
                written += len(chunk)
            session.rollback()
    finally:
        engine.dispose()
    return written


@dataclass
class CheckLine:
    ok: bool
    label: str
    detail: str

    def render(self) -> str:
        return f"[{'ok' if self.ok else 'FAIL':>4}] {self.label:<12} {self.detail}"


def safe_database_url(url: str) -> str:
    return make_url(normalize_database_url(url)).render_as_string(hide_password=True)


def _check_database(engine: Engine) -> list[CheckLine]:
    started = time.perf_counter()
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        reason = str(exc.orig if hasattr(exc, "orig") else exc).strip().splitlines()[0]
        return [
            CheckLine(False, "database", f"unreachable: {reason}"),
            CheckLine(False, "migrations", "unknown (database unreachable)"),
        ]
    elapsed_ms = (time.perf_counter() - started) * 1000
    lines = [CheckLine(True, "database", f"reachable ({elapsed_ms:.0f} ms)")]
    current, head = migrate.current_revision(engine), migrate.head_revision()
    if current == head:
        lines.append(CheckLine(True, "migrations", f"at head {head}"))
    else:
        lines.append(
            CheckLine(
                False,
                "migrations",
                f"at {current or 'none'}, head is {head}: run `tasks-api migrate`",
            )
        )
    return lines


def check(settings: Settings, *, secret_from_env: bool) -> tuple[bool, str]:
    """Configuration, database reachability and migration state, one line each."""
    if settings.secret_key is None:
        key_source = "not set"
    elif secret_from_env:
        key_source = f"set ({len(settings.signing_key().encode())} bytes)"
    else:
        key_source = f"development key from {settings.secret_key_file}"
    lines = [
        CheckLine(True, "environment", settings.environment.value),
        CheckLine(True, "database url", safe_database_url(settings.database_url)),
        CheckLine(settings.secret_key is not None, "secret key", key_source),
        CheckLine(True, "auto-migrate", "on" if settings.should_auto_migrate else "off"),
        CheckLine(True, "log format", settings.effective_log_format),
        CheckLine(True, "metrics", "token required" if settings.metrics_token else "open"),
    ]
    engine = create_db_engine(settings)
    try:
        lines += _check_database(engine)
    finally:
        engine.dispose()
    ok = all(line.ok for line in lines)
    lines.append(CheckLine(ok, "overall", "ready to serve" if ok else "NOT ready"))
    return ok, "\n".join(line.render() for line in lines)


def print_error(message: str) -> None:
    print(f"tasks-api: {message}", file=sys.stderr)

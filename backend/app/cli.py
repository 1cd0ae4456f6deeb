"""`tasks-api`: serve the API, run migrations, write the OpenAPI contract, manage accounts."""

import argparse
import getpass
import json
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from pydantic import ValidationError

from app import admin, migrate
from app.core.config import Settings, get_settings

DEFAULT_CONTRACT = migrate.PROJECT_ROOT / "specs" / "2-backend-api" / "contracts" / "openapi.json"


def serve_warnings(settings: Settings, workers: int) -> list[str]:
    """Configurations that work but do not do what an operator probably expects."""
    warnings = []
    if workers > 1 and settings.rate_limit_enabled and not settings.redis_url:
        warnings.append(
            f"rate limits are counted per worker ({workers} workers allow {workers}x each "
            "limit); set REDIS_URL to share one count"
        )
    return warnings


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app.core.logging import logging_config
    from app.database import create_db_engine

    settings = get_settings()
    if settings.should_auto_migrate:
        migrate.upgrade(settings.database_url)
    else:
        engine = create_db_engine(settings)
        try:
            migrate.check_up_to_date(engine)
        except migrate.SchemaOutOfDate as exc:
            print(f"tasks-api: refusing to start: {exc}", file=sys.stderr)
            return 1
        finally:
            engine.dispose()
    for warning in serve_warnings(settings, args.workers):
        print(f"tasks-api: warning: {warning}", file=sys.stderr)
    # uvicorn handles SIGTERM itself (stop accepting, let in-flight requests finish within
    # the grace period), then re-raises the signal once it is done. A no-op handler here
    # turns that re-raise into a normal return, so a clean shutdown exits 0, not 143.
    signal.signal(signal.SIGTERM, _ignore_signal)
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        # Our logging everywhere, in every worker: JSON or text per LOG_FORMAT, with request
        # fields; uvicorn's access log is replaced by the app's own (route template, id).
        log_config=logging_config(settings, level=args.log_level),
        access_log=False,
        timeout_graceful_shutdown=settings.shutdown_grace_seconds,
        # The app reads X-Forwarded-For itself, only from TRUSTED_PROXIES; uvicorn's own
        # default would believe any local peer.
        proxy_headers=False,
        server_header=False,
    )
    return 0


def _mcp(args: argparse.Namespace) -> int:
    import logging.config

    import anyio

    from app.core.errors import NotAuthenticated
    from app.core.logging import logging_config
    from app.main import create_app
    from app.mcp import stdio
    from app.mcp.context import Backend

    token = stdio.token_from_environment()
    if token is None:
        raise admin.CommandError(
            f"set {stdio.TOKEN_VARIABLE} to an access token of the account to act for "
            "(tasks-api token --email ... prints one)"
        )
    settings = get_settings()
    # Logs go to stderr (logging_config): stdout carries the protocol.
    logging.config.dictConfig(logging_config(settings, level=args.log_level or "WARNING"))
    # The app's own sessions, authenticator and rate limiter, without serving HTTP.
    app = create_app(settings)
    try:
        if settings.should_auto_migrate:
            migrate.upgrade(settings.database_url)
        else:
            migrate.check_up_to_date(app.state.engine)
        anyio.run(stdio.serve_stdio, Backend(app.state), token)
    except migrate.SchemaOutOfDate as exc:
        raise admin.CommandError(f"refusing to start: {exc}") from exc
    except NotAuthenticated as exc:
        raise admin.CommandError(f"{stdio.TOKEN_VARIABLE} was refused: {exc.detail}") from exc
    finally:
        app.state.rate_limiter.close()
        app.state.engine.dispose()
    return 0


def _ignore_signal(_signum: int, _frame: FrameType | None) -> None:
    return None


def _worker(_args: argparse.Namespace) -> int:
    """Background work apart from the server, until SIGTERM or Ctrl-C: reminders (the job
    runner, in the foreground) and webhook deliveries (their own threads)."""
    import logging.config

    from app.core.logging import logging_config
    from app.database import create_db_engine
    from app.jobs.runner import JobRunner, reminder_jobs
    from app.jobs.webhook_delivery import DeliveryWorker

    settings = get_settings()
    logging.config.dictConfig(logging_config(settings))
    engine = create_db_engine(settings)
    try:
        migrate.check_up_to_date(engine)
    except migrate.SchemaOutOfDate as exc:
        print(f"tasks-api: refusing to start: {exc}", file=sys.stderr)
        engine.dispose()
        return 1
    runner = JobRunner(reminder_jobs(settings, engine))
    deliveries = DeliveryWorker(engine, settings)

    def stop(_signum: int, _frame: FrameType | None) -> None:
        runner.stop(timeout=0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    deliveries.start()
    try:
        runner.run()
        deliveries.stop()
    finally:
        engine.dispose()
    return 0


def _migrate(args: argparse.Namespace) -> int:
    settings = get_settings()
    if args.action == "downgrade":
        migrate.downgrade(settings.database_url, args.revision or "-1")
    else:
        migrate.upgrade(settings.database_url, args.revision or "head")
    return 0


def render_openapi() -> str:
    from app.main import create_app

    return json.dumps(create_app().openapi(), indent=2, sort_keys=True) + "\n"


def _openapi(args: argparse.Namespace) -> int:
    text = render_openapi()
    if args.output == "-":
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text)
        print(f"wrote {args.output}")
    return 0


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    if not sys.stdin.isatty():
        raise admin.CommandError("no terminal to prompt for a password; use --password-stdin")
    password = getpass.getpass("Password: ")
    if getpass.getpass("Repeat password: ") != password:
        raise admin.CommandError("the passwords do not match")
    return password


def _users_create(args: argparse.Namespace) -> int:
    password = _read_password(args)
    print(admin.create_user(get_settings(), email=args.email, password=password, name=args.name))
    return 0


def _users_list(args: argparse.Namespace) -> int:
    print(admin.list_users(get_settings(), limit=args.limit))
    return 0


def _token(args: argparse.Namespace) -> int:
    print(admin.mint_token(get_settings(), email=args.email, minutes=args.minutes))
    return 0


def _purge(args: argparse.Namespace) -> int:
    from app.database import create_db_engine
    from app.jobs import idempotency_keys, purge_changes, purge_trash

    settings = get_settings()
    days = (
        args.older_than_days if args.older_than_days is not None else settings.trash_retention_days
    )
    engine = create_db_engine(settings)
    try:
        deleted = purge_trash.run(engine, retention_days=days)
        keys = idempotency_keys.purge_expired_keys(engine, settings)
        changes = purge_changes.purge_old_changes(engine, settings)
    finally:
        engine.dispose()
    print(f"purged {deleted} task{'s' if deleted != 1 else ''} trashed more than {days} days ago")
    print(f"purged {keys} expired idempotency key(s)")
    print(f"purged {changes} change feed row(s) older than TOMBSTONE_RETENTION_DAYS")
    return 0


def _export(args: argparse.Namespace) -> int:
    settings = get_settings()
    if args.output == "-":
        try:
            admin.export_account(
                settings,
                email=args.user,
                format=args.format,
                bom=args.bom,
                output=sys.stdout.buffer,
            )
            sys.stdout.buffer.flush()
        except BrokenPipeError:
            # The reader stopped early (`| head`): not an error of the export. Point stdout at
            # /dev/null so that the interpreter's own final flush does not fail again.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    with Path(args.output).open("wb") as output:
        written = admin.export_account(
            settings, email=args.user, format=args.format, bom=args.bom, output=output
        )
    print(f"wrote {written} bytes to {args.output}", file=sys.stderr)
    return 0


def _check(_args: argparse.Namespace) -> int:
    ok, report = admin.check(get_settings(), secret_from_env=bool(os.environ.get("SECRET_KEY")))
    print(report)
    return 0 if ok else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tasks-api", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the HTTP server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument(
        "--log-level",
        type=str.upper,
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="overrides LOG_LEVEL",
    )
    serve.set_defaults(func=_serve)

    worker = sub.add_parser(
        "worker",
        help="run the background jobs (reminders, webhook deliveries) without serving HTTP",
        description="Fire due reminders every REMINDER_SCHEDULER_INTERVAL_SECONDS and deliver "
        "webhooks, until SIGTERM. Run any number of these beside servers started with "
        "REMINDER_SCHEDULER_ENABLED=false and WEBHOOK_WORKER_ENABLED=false: each reminder "
        "fires once, each delivery attempt is made once.",
    )
    worker.set_defaults(func=_worker)

    mcp = sub.add_parser(
        "mcp",
        help="serve the MCP server on stdin/stdout for a local AI assistant",
        description="Serve the Model Context Protocol server on standard input and output, "
        "acting for the account whose access token is in TASKS_API_TOKEN (docs/guides/mcp.md).",
    )
    mcp.add_argument(
        "--stdio",
        action="store_true",
        required=True,
        help="the stdio transport (over HTTP the server is at /mcp of `tasks-api serve`)",
    )
    mcp.add_argument(
        "--log-level",
        type=str.upper,
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="logged to stderr (default WARNING)",
    )
    mcp.set_defaults(func=_mcp)

    mig = sub.add_parser("migrate", help="upgrade (default) or downgrade the database schema")
    mig.add_argument("action", nargs="?", choices=["upgrade", "downgrade"], default="upgrade")
    mig.add_argument("--revision", help="target revision (default: head, or -1 for downgrade)")
    mig.set_defaults(func=_migrate)

    spec = sub.add_parser("openapi", help="write the OpenAPI contract")
    spec.add_argument("--output", default=str(DEFAULT_CONTRACT), help="file path, or - for stdout")
    spec.set_defaults(func=_openapi)

    users = sub.add_parser("users", help="create and list accounts (straight to the database)")
    users_sub = users.add_subparsers(dest="users_command", required=True)
    create = users_sub.add_parser("create", help="create an account")
    create.add_argument("--email", required=True)
    create.add_argument("--name")
    create.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of stdin instead of prompting",
    )
    create.set_defaults(func=_users_create)
    listing = users_sub.add_parser("list", help="list accounts, oldest first")
    listing.add_argument("--limit", type=int, default=100, help="at most this many (default 100)")
    listing.set_defaults(func=_users_list)

    token = sub.add_parser(
        "token",
        help="print an access token for an account, for curl (refused in production)",
        description="Print an access token for an account, e.g. "
        'TOKEN=$(tasks-api token --email ada@example.com); curl -H "Authorization: Bearer $TOKEN" '
        "... Refused when ENVIRONMENT=production.",
    )
    token.add_argument("--email", required=True)
    token.add_argument("--minutes", type=int, help="lifetime (default ACCESS_TOKEN_EXPIRE_MINUTES)")
    token.set_defaults(func=_token)

    purge = sub.add_parser(
        "purge",
        help="delete tasks trashed more than TRASH_RETENTION_DAYS ago and expired "
        "Idempotency-Key responses, for every user",
        description="Delete for good every task that has been in the trash longer than "
        "TRASH_RETENTION_DAYS, and every stored Idempotency-Key response older than "
        "IDEMPOTENCY_TTL_HOURS (the server also does both periodically). "
        "Prints 0 when another process is purging at that moment.",
    )
    purge.add_argument(
        "--older-than-days", type=int, help="override TRASH_RETENTION_DAYS for this run"
    )
    purge.set_defaults(func=_purge)

    export = sub.add_parser(
        "export",
        help="write one account's export (JSON or CSV) to stdout or a file",
        description="Write the export of the account with this email, exactly as "
        "GET /api/v1/export gives it to its owner (docs/guides/import-export.md), straight "
        "from the database, a page of tasks at a time.",
    )
    export.add_argument("--user", required=True, metavar="EMAIL", help="the account's email")
    export.add_argument("--format", choices=["json", "csv", "ics"], default="json")
    export.add_argument("--bom", action="store_true", help="CSV: start with a UTF-8 BOM")
    export.add_argument("--output", default="-", help="file path, or - for stdout (default)")
    export.set_defaults(func=_export)

    check = sub.add_parser(
        "check", help="configuration, database reachability and migration state, one screen"
    )
    check.set_defaults(func=_check)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result: int = args.func(args)
    except admin.CommandError as exc:
        admin.print_error(str(exc))
        return 1
    except ValidationError as exc:
        # Settings refused the environment (e.g. production without SECRET_KEY).
        admin.print_error(f"invalid configuration: {exc}")
        return 1
    return result


if __name__ == "__main__":
    raise SystemExit(main())

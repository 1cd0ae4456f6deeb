"""`tasks-api`: serve the API, run migrations, write the OpenAPI contract."""

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from app import migrate
from app.core.config import get_settings

DEFAULT_CONTRACT = migrate.PROJECT_ROOT / "specs" / "2-backend-api" / "contracts" / "openapi.json"


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

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
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        # The app reads X-Forwarded-For itself, only from TRUSTED_PROXIES; uvicorn's own
        # default would believe any local peer.
        proxy_headers=False,
        server_header=False,
    )
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tasks-api", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the HTTP server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--log-level", default="info")
    serve.set_defaults(func=_serve)

    mig = sub.add_parser("migrate", help="upgrade (default) or downgrade the database schema")
    mig.add_argument("action", nargs="?", choices=["upgrade", "downgrade"], default="upgrade")
    mig.add_argument("--revision", help="target revision (default: head, or -1 for downgrade)")
    mig.set_defaults(func=_migrate)

    spec = sub.add_parser("openapi", help="write the OpenAPI contract")
    spec.add_argument("--output", default=str(DEFAULT_CONTRACT), help="file path, or - for stdout")
    spec.set_defaults(func=_openapi)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())

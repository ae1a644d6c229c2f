"""``hubstead serve | migrate | admin ...``. Admin commands print only what scripts need."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from hubstead.config import Settings


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {}
    if getattr(args, "data_dir", None):
        overrides["data_dir"] = args.data_dir
    return Settings(**overrides)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from hubstead.app import create_app

    settings = _settings(args)
    host = args.host or settings.host
    port = args.port if args.port is not None else settings.port
    app = create_app(settings)
    print(f"Hubstead {settings.data_dir.resolve()} listening on http://{host}:{port}", file=sys.stderr)
    uvicorn.run(app, host=host, port=port, log_level=args.log_level, proxy_headers=True, server_header=False)
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from hubstead.hub import Hub

    Hub.from_settings(_settings(args)).close()
    print("database is up to date", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hubstead", description="A self-hosted machine-learning hub")
    parser.add_argument("--data-dir", help="data directory (default: $HUBSTEAD_DATA_DIR or ./hubstead-data)")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the hub")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    serve.set_defaults(func=cmd_serve)

    migrate = sub.add_parser("migrate", help="create or upgrade the database schema")
    migrate.set_defaults(func=cmd_migrate)

    from hubstead.cli import admin

    admin.add_parser(sub)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except admin.CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

"""`python -m ingest webhook`: the durable Alertmanager webhook receiver."""

from __future__ import annotations

import argparse
import logging
import sys
import threading

import uvicorn

import settings
import store
from ingest.webhook import DEFAULT_MAX_BODY, SlackButtons, SpoolLoader, create_app
from ingest.webhook_spool import Spool, SpoolBusy

NAME = "webhook"
HELP = "receive Alertmanager webhook notifications (POST /alertmanager), spool them durably, load them"
TOKEN_VARIABLE = "ALERTMANAGER_WEBHOOK_TOKEN"
SLACK_SECRET_VARIABLE = "SLACK_SIGNING_SECRET"  # set: the digest's verdict buttons post to /slack/actions

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=9095, help="port to listen on (default 9095)")
    parser.add_argument("--spool", default=None, help="spool directory (default: the database path + '.spool')")
    parser.add_argument("--config", default=None, help="configuration file (default ./alerthygiene.toml)")
    parser.add_argument(
        "--max-body", type=int, default=DEFAULT_MAX_BODY, help="largest accepted body in bytes (413 above)"
    )
    parser.add_argument(
        "--load-interval", type=float, default=1.0, help="seconds between spool loads (default 1)"
    )


def spool_dir(args: argparse.Namespace) -> str | None:
    if args.spool:
        return args.spool
    return args.db + ".spool" if store.is_local_file(args.db) else None


def run(args: argparse.Namespace) -> int:
    config = settings.load(args.config)
    directory = spool_dir(args)
    if directory is None:
        print("error: --spool DIR is required when --db is not a local file", file=sys.stderr)
        return 2
    try:
        spool = Spool(directory)
    except SpoolBusy as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    token = settings.secret(TOKEN_VARIABLE)
    if not token:
        log.warning("%s is not set: accepting notifications without authentication", TOKEN_VARIABLE)
    loader = SpoolLoader(spool, args.db, config)
    stop = threading.Event()
    thread = threading.Thread(
        target=loader.run_forever, args=(stop, args.load_interval), name="spool-loader", daemon=True
    )
    thread.start()
    signing_secret = settings.secret(SLACK_SECRET_VARIABLE)
    slack = SlackButtons(args.db, signing_secret) if signing_secret else None
    app = create_app(spool, token, args.max_body, loader, slack)
    try:
        server_config = uvicorn.Config(app, host=args.host, port=args.port, log_level="warning", access_log=False)
        settings.install_redaction()  # uvicorn's own handlers exist once its Config is made
        uvicorn.Server(server_config).run()
    finally:
        stop.set()
        thread.join()
        loader.safe_load()  # what arrived during shutdown; anything left stays spooled for next start
        loader.finish()
        spool.close()
    return 0

"""`python -m ingest webhook`: the durable Alertmanager webhook receiver."""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import logging
import signal
import sys
import threading
from collections.abc import Iterator

import uvicorn

import settings
import store
from ingest.webhook import DEFAULT_MAX_BODY, SlackButtons, SpoolLoader, create_app
from ingest.webhook_spool import Spool, SpoolBusy
from store.paths import beside

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
    parser.add_argument(
        "--insecure-no-token", action="store_true",
        help=f"listen beyond this machine without {TOKEN_VARIABLE} (anyone who reaches the port can post alerts)",
    )


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name or an address beyond this machine


def spool_dir(args: argparse.Namespace) -> str | None:
    if args.spool:
        return args.spool
    return str(beside(args.db, ".spool")) if store.is_local_file(args.db) else None


class _Server(uvicorn.Server):
    """uvicorn's server, except that a SIGTERM or Ctrl-C only ends `run()`.

    uvicorn raises the signal again once it has shut down, which killed the process (SIGTERM,
    what `systemctl stop` sends) before the spool's last load and the run's record, or printed
    a traceback (Ctrl-C).
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        original = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)


def run(args: argparse.Namespace) -> int:
    config = settings.load(args.config)
    token = settings.secret(TOKEN_VARIABLE)
    if not token and not is_loopback(args.host) and not args.insecure_no_token:
        raise settings.ConfigError(
            f"--host {args.host} can be reached from other machines: set {TOKEN_VARIABLE} (and the same token "
            "in Alertmanager's webhook_config), or say --insecure-no-token to accept notifications from anyone")
    directory = spool_dir(args)
    if directory is None:
        print("error: --spool DIR is required when --db is not a local file", file=sys.stderr)
        return 2
    try:
        store.check_writable(args.db)
        spool = Spool(directory)
    except (SpoolBusy, store.DatabaseError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a spool directory that cannot be made or written
        print(f"error: spool {directory}: {exc.strerror or exc}", file=sys.stderr)
        return 2
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
        _Server(server_config).run()
    finally:
        stop.set()
        thread.join()
        try:
            log.warning("stopping: loading what is spooled, then recording the run")
            loader.safe_load()  # what arrived during shutdown; anything left stays spooled for next start
            loader.finish()
        except KeyboardInterrupt:  # a second Ctrl-C: stop now, the spool keeps the rest for the next start
            log.warning("stopped before the spool was loaded; the next start loads it")
        spool.close()
    return 0

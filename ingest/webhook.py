"""Alertmanager webhook receiver: spool each body durably, answer, and load the spool into DuckDB in batches."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

import settings as settings_module
import store
from ingest.load import IngestRun
from ingest.mapping import Mapped
from ingest.sources import alertmanager
from ingest.webhook_spool import PAYLOAD, REJECTED, Record, Spool, read_segment
from outbound import slack_actions

log = logging.getLogger(__name__)

DEFAULT_MAX_BODY = 16 << 20  # Alertmanager sends every alert of a group in one body


def body_problem(body: bytes) -> str | None:
    """Why a request body is not a webhook payload (the 400 reason), or None."""
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        return f"body is not valid JSON: {exc}"
    except RecursionError:
        return "body is not a webhook payload: JSON nested too deeply"
    return alertmanager.payload_problem(payload)


def authorized(header: str | None, token: str | None) -> bool:
    """Bearer token check in constant time; everything is allowed when no token is configured."""
    if not token:
        return True
    return hmac.compare_digest((header or "").encode("utf-8"), f"Bearer {token}".encode())


class TooLarge(Exception):
    """The body exceeds the configured limit."""


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing (before and while reading) anything over `limit` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(spool: Spool, token: str | None, max_body: int, loader: SpoolLoader | None = None,
               slack: SlackButtons | None = None) -> Starlette:
    """The ASGI app: POST /alertmanager and GET /healthz; POST /slack/actions with `slack` set."""

    async def receive(request: Request) -> JSONResponse:
        if not authorized(request.headers.get("authorization"), token):
            return JSONResponse({"error": "missing or wrong bearer token"}, 401, {"WWW-Authenticate": "Bearer"})
        try:
            body = await read_body(request, max_body)
        except TooLarge:
            return JSONResponse({"error": f"body larger than {max_body} bytes"}, 413)
        except ClientDisconnect:
            return JSONResponse({"error": "client went away"}, 400)
        reason = body_problem(body)
        record = Record(REJECTED if reason else PAYLOAD, time.time(), reason or "", body)
        try:
            await asyncio.wrap_future(spool.append(record))
        except OSError:
            return JSONResponse({"error": "could not store the notification; retry"}, 503)
        if reason:
            return JSONResponse({"error": reason}, 400)
        return JSONResponse({"status": "stored"})

    async def healthz(request: Request) -> JSONResponse:
        """200 while notifications reach the database; 503 (for a monitor) while they cannot."""
        status = loader.status() if loader else {}
        healthy = loader is None or loader.healthy()
        return JSONResponse({"status": "ok" if healthy else "unhealthy", "spool_segments": spool.pending(), **status},
                            200 if healthy else 503)

    routes = [Route("/alertmanager", receive, methods=["POST"]), Route("/healthz", healthz, methods=["GET"])]
    if slack is not None:
        routes.append(Route("/slack/actions", slack.endpoint(max_body), methods=["POST"]))
    return Starlette(routes=routes)


@dataclass(frozen=True)
class SlackButtons:
    """The digest's verdict buttons: Slack posts each press here, signed with the app's secret.

    They live beside the Alertmanager receiver because it is the product's one long-running HTTP
    service meant to be reached from outside; the dashboard cannot take a POST. The bearer token
    does not apply: Slack cannot send it, and its signature proves more (body and time).
    """

    db: str
    signing_secret: str

    def endpoint(self, max_body: int):
        async def press(request: Request) -> Response:
            try:
                body = await read_body(request, min(max_body, 1 << 20))
            except TooLarge:
                return JSONResponse({"error": "body too large"}, 413)
            except ClientDisconnect:
                return JSONResponse({"error": "client went away"}, 400)
            try:
                slack_actions.verify(self.signing_secret, request.headers.get("x-slack-request-timestamp"),
                                     request.headers.get("x-slack-signature"), body)
            except slack_actions.Refused as exc:
                log.warning("refused a request to /slack/actions: %s", exc)
                return JSONResponse({"error": "not signed by Slack"}, 401)
            try:
                marking = slack_actions.parse(body)
            except slack_actions.Refused as exc:
                return JSONResponse({"error": str(exc)}, 400)
            if marking is None:  # a link button: nothing to record
                return Response(status_code=200)
            # Slack wants its answer within 3 s: the write (which may wait for the lock) comes after.
            return Response(status_code=200, background=BackgroundTask(slack_actions.record, self.db, marking))

        return press


@dataclass
class LoaderStatus:
    loaded_alerts: int = 0
    quarantined: int = 0
    last_commit: float | None = None
    last_error: str | None = None
    failing_since: float | None = None  # when loads began to fail (None: the last one worked)
    repeats: int = 0  # times the last error came again since it was logged


# A database busy with another writer for longer than this makes the receiver unhealthy.
BUSY_GRACE_S = 120.0
YIELD_S = 10.0  # the longest a periodic load lets others waiting for the database go first


class SpoolLoader:
    """Moves spooled bodies into the database in short write transactions; removes only what committed."""

    def __init__(self, spool: Spool, db: str, config: settings_module.Settings, batch_records: int = 2000):
        self.spool = spool
        self.db = db
        self.config = config
        self.batch_records = batch_records
        self.run: IngestRun | None = None
        self.state = LoaderStatus()
        self._busy = False
        self._lock = threading.Lock()  # one load at a time (the loop and the final drain)

    def status(self) -> dict:
        return {"loader": self.state.__dict__.copy()}

    def healthy(self) -> bool:
        """Loads work, or the database has only been busy (another writer) for a short while."""
        if self.state.failing_since is None:
            return True
        return self._busy and time.time() - self.state.failing_since < BUSY_GRACE_S

    def load_once(self) -> int:
        """Load every sealed segment; returns the number of records committed."""
        with self._lock:
            return self._load_segments(self.spool.seal())

    def _load_segments(self, segments: list[Path]) -> int:
        done, batch, committed = [], [], 0
        for segment in segments:
            for record in read_segment(segment):
                batch.append(record)
                if len(batch) >= self.batch_records:
                    committed += self._commit(batch)
                    batch = []
                    self._forget(done)
                    done = []
            done.append(segment)
        if batch:
            committed += self._commit(batch)
        self._forget(done)
        return committed

    def _forget(self, segments: list[Path]) -> None:
        for segment in segments:
            self.spool.remove(segment)

    def _commit(self, records: list[Record]) -> int:
        mapped = map_records(records, self.config)
        if self.run is None:
            self.run = IngestRun(self.db, alertmanager.SOURCE)
        self.run.load(alertmanager.STREAM, mapped, merge=alertmanager.WEBHOOK_MERGE)
        self.state.loaded_alerts += mapped.count("alerts")
        self.state.quarantined += len(mapped.rejected)
        self.state.last_commit = time.time()
        log.info("loaded %d spooled bodies: %d alerts", len(records), mapped.count("alerts"))
        return len(records)

    def run_forever(self, stop: threading.Event, interval: float) -> None:
        """Load, wait, repeat; a busy or failing database leaves the spool for the next round.

        These loads are background work (the spool keeps the data): each lets an import, a sync or
        a read that is waiting for the database go first, for up to YIELD_S.
        """
        with store.lock.background(YIELD_S):
            while not stop.is_set():
                self.safe_load()
                stop.wait(interval)

    def safe_load(self) -> None:
        """One load; a failure is logged (once while it repeats) and the spool keeps the notifications."""
        try:
            self.load_once()
        except store.DatabaseBusy as exc:
            self._failed(f"database busy; the spool keeps the notifications: {exc}", busy=True)
        except Exception as exc:  # keep serving: the spool holds the data until a load succeeds
            log.debug("loading the spool failed", exc_info=True)
            self._failed(f"loading the spool failed; will retry: {type(exc).__name__}: {exc}", busy=False)
        else:
            self._recovered()

    def _failed(self, text: str, busy: bool) -> None:
        state = self.state
        if text == state.last_error:
            state.repeats += 1  # already said: a line a second for hours helps nobody
            return
        self._said_repeats()
        state.last_error, state.repeats, self._busy = text, 0, busy
        state.failing_since = state.failing_since or time.time()
        (log.warning if busy else log.error)("%s", " ".join(text.split()))

    def _recovered(self) -> None:
        if self.state.failing_since is not None:
            self._said_repeats()
            log.warning("loading the spool works again")
        self.state.last_error, self.state.failing_since, self.state.repeats, self._busy = None, None, 0, False

    def _said_repeats(self) -> None:
        if self.state.repeats:
            log.warning("the error above came %d more times", self.state.repeats)

    def finish(self) -> None:
        self._said_repeats()
        if self.run is not None:
            self.run.finish(self.state.last_error)


def map_records(records: list[Record], config: settings_module.Settings) -> Mapped:
    """Canonical rows of spooled records; rejected bodies and unmappable alerts go to quarantine."""
    out = Mapped()
    for record in records:
        if record.kind == REJECTED:
            out.reject(alertmanager.STREAM, record.body, record.reason)
            continue
        try:
            payload = json.loads(record.body)
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            out.reject(alertmanager.STREAM, record.body, f"body is not valid JSON: {exc}")
            continue
        out.extend(alertmanager.map_payload(payload, config))
    return out

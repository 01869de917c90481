"""The sync loop, written once: streams, windows, paging, batching, state and loading for every provider."""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from tqdm import tqdm

import settings as settings_module
from ingest import lifecycle
from ingest.http import Api, Client, HttpPolicy, ProviderError, Refused
from ingest.load import IngestRun
from ingest.mapping import Mapped, map_each
from ingest.paginators import OffsetCapReached, Page, Paginator, fetch_pages
from ingest.shifts import Replace, pieces, utc_day
from ingest.windows import Window, iso, parse_iso, plan, split

log = logging.getLogger(__name__)
# Shift windows written in one transaction: a first sync of years of schedules would otherwise open the
# database once per 30-day window. Their deletes and rows never overlap (windows partition the time).
SHIFT_WINDOWS_PER_LOAD = 12


# --- declarations: what a provider module writes -------------------------------------------------


@dataclass(frozen=True)
class Windowed:
    """An incremental stream crawled in time windows of its records' creation time."""

    params: Callable[[Window], dict[str, Any]]  # the window as query parameters
    max_span: dt.timedelta | None = None  # the provider's range limit (or a chunk size)
    on_cap: str = "split"  # "split": narrow by `total`; "advance": restart after the last record
    record_time: Callable[[dict], dt.datetime] | None = None  # for "advance": records sorted by it
    reopen: bool = False  # start no later than the oldest alert still open, to see it resolve


@dataclass(frozen=True)
class Child:
    """Records fetched per parent record (Opsgenie alert logs), mapped with their parent."""

    name: str
    path: Callable[[dict], str | None]  # None: this parent has none
    paginator: Paginator
    map: Callable[[dict, dict, Context], Mapped]
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ScheduleRef:
    """A schedule whose shifts a stream fetches: its id, the name shown and its team."""

    schedule_id: str
    name: str
    team: str | None = None


@dataclass(frozen=True)
class Schedules:
    """Where a provider lists its schedules; the shift stream is fetched for each of them."""

    path: str
    paginator: Paginator
    ref: Callable[[dict, Context], ScheduleRef | None]  # None: not a schedule to read


@dataclass(frozen=True)
class Shifts:
    """On-call shifts in time windows: a schedule's answer for a window replaces the days stored.

    Windows start at a UTC midnight, where stored pieces are always cut, so a window that is
    fetched again (the overlap, a later override) replaces exactly what it covers."""

    params: Callable[[Window], dict[str, Any]]
    max_span: dt.timedelta
    map: Callable[[dict, Context, ScheduleRef | None, Window], Mapped]
    schedules: Schedules | None = None  # None: one query answers for every schedule (PagerDuty)
    path: Callable[[ScheduleRef], str] | None = None  # the stream's path for one schedule


@dataclass(frozen=True)
class Stream:
    name: str
    path: str
    paginator: Paginator
    map: Callable[[dict, Context], Mapped] | None
    params: Mapping[str, Any] = field(default_factory=dict)
    windowed: Windowed | None = None  # None: a small reference list, fetched whole every run
    child: Child | None = None
    shifts: Shifts | None = None  # on-call shifts (then `map` is unused)
    # per table, columns combined with the stored row rather than replaced (see store.upsert):
    # {"alerts": {"acknowledged_at": "keep"}} keeps the first acknowledgement the API ever showed
    merge: Mapping[str, Mapping[str, str]] | None = None


@dataclass(frozen=True)
class Provider:
    """Everything a provider module declares; `ingest.sync` does the rest."""

    api: Api
    streams: tuple[Stream, ...]
    lifecycle_from_events: bool = False


@dataclass(frozen=True)
class SyncOptions:
    overlap: dt.timedelta = dt.timedelta(minutes=15)
    backfill: dt.timedelta = dt.timedelta(days=180)
    reopen_max_age: dt.timedelta = dt.timedelta(days=30)
    batch_records: int = 5000

    @classmethod
    def from_options(cls, source: str, options: Mapping[str, Any]) -> SyncOptions:
        def number(name: str, default: float, maximum: float) -> float:
            return settings_module.number(f"providers.{source}.{name}", options.get(name, default), maximum=maximum)

        years = 20 * settings_module.YEAR_DAYS  # further back than any provider keeps
        return cls(
            overlap=dt.timedelta(minutes=number("overlap_minutes", 15, 7 * 24 * 60)),
            backfill=dt.timedelta(days=number("backfill_days", 180, years)),
            reopen_max_age=dt.timedelta(days=number("reopen_max_age_days", 30, years)),
            batch_records=max(1, int(number("batch_records", 5000, 1_000_000))),
        )


@dataclass
class Context:
    """What pure mapping functions may consult: settings and names seen in earlier streams."""

    settings: settings_module.Settings
    team_names: dict[str, str] = field(default_factory=dict)
    service_names: dict[str, str] = field(default_factory=dict)
    person_by_email: dict[str, str] = field(default_factory=dict)

    def learn(self, mapped: Mapped) -> None:
        for row in mapped.rows.get("teams", ()):
            self.team_names[row["team_id"]] = row["name"]
        for row in mapped.rows.get("services", ()):
            self.service_names[row["service_id"]] = row["name"]
        for row in mapped.rows.get("people", ()):
            if row.get("email"):
                self.person_by_email[row["email"].lower()] = row["person_id"]

    def team_for(self, team_name: str | None, service: str | None) -> str:
        """METRICS.md: the provider's team, else the configured service->team map, else unassigned."""
        return team_name or self.settings.service_teams.get(service or "", "unassigned")


@dataclass(frozen=True)
class SyncRequest:
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    full: bool = False
    progress: bool = False
    now: dt.datetime | None = None


@dataclass
class SyncResult:
    source: str
    status: str  # ok | partial | failed
    rows: int = 0
    quarantined: int = 0
    requests: int = 0
    by_table: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    refused: str | None = None  # setup lists the provider refused to this key; the alerts loaded without them


# --- the loop ----------------------------------------------------------------------------------------


@dataclass
class _Done:
    """Every record created before `until` in this stream's range has been seen."""

    until: dt.datetime


def run_sync(
    db: str, provider: Provider, secret: str, config: settings_module.Settings, request: SyncRequest,
    policy: HttpPolicy | None = None, options: SyncOptions | None = None,
) -> SyncResult:
    """Sync every stream of one provider; a provider failure ends the run as 'failed', not a crash."""
    client = Client(provider.api, secret, policy or HttpPolicy())
    run = IngestRun(db, provider.api.source)
    ctx = Context(config)
    ctx.learn(lifecycle.known_names(db, provider.api.source))
    job = _Job(run, client, ctx, request, options or SyncOptions())
    error = None
    refusals: list[str] = []
    try:
        for stream in provider.streams:
            try:
                job.sync_stream(stream)
            except Refused as exc:
                if stream.windowed is not None:
                    raise  # the alerts themselves: nothing to load without them
                log.warning("%s", exc)  # a setup list (teams, users, services): the alerts load without it
                refusals.append(str(exc))
    except ProviderError as exc:
        error = str(exc)
        log.error("%s", error)
    except BaseException as exc:
        run.finish(error=client.redacted(f"{type(exc).__name__}: {exc}"))
        raise
    finally:
        client.close()
    if provider.lifecycle_from_events:
        lifecycle.derive_from_events(db, provider.api.source)
    refused = refusals[0] if len(refusals) == 1 else (
        f"{len(refusals)} lists refused; {refusals[0]}" if refusals else None)
    status = run.finish(error=error, partial=refused)
    totals = run.totals
    return SyncResult(provider.api.source, status, totals.rows, totals.quarantined, client.requests,
                      dict(totals.by_table), error, refused)


@dataclass
class _Job:
    run: IngestRun
    client: Client
    ctx: Context
    request: SyncRequest
    options: SyncOptions

    def sync_stream(self, stream: Stream) -> None:
        bar = tqdm(desc=f"{self.run.source} {stream.name}", unit=" records", disable=not self.request.progress)
        batch = _Batch(self, stream, bar)
        try:
            if stream.shifts is not None:
                self._sync_shifts(stream, bar)
            elif stream.windowed is None:
                for page in fetch_pages(self.client, stream.path, stream.params, stream.paginator):
                    batch.add(page)
                batch.flush(iso(self._now()))
            else:
                self._sync_windowed(stream, batch)
        finally:
            bar.close()

    def _sync_shifts(self, stream: Stream, bar: tqdm) -> None:
        spec = stream.shifts
        start, end = self._bounds(parse_iso(self.run.cursor(stream.name)))
        targets: list[ScheduleRef | None] = [None] if spec.schedules is None else self._schedules(spec.schedules)
        log.info("%s %s: %s to %s, %d schedules", self.run.source, stream.name, iso(start), iso(end), len(targets))
        batch = Mapped()
        for target in targets:
            path = stream.path if target is None else spec.path(target)
            for window in plan(utc_day(start), end, spec.max_span):
                batch.extend(self._fetch_shifts(stream, path, target, window, bar))
                if len(batch.replaces) >= SHIFT_WINDOWS_PER_LOAD:
                    self.run.load(stream.name, batch)
                    batch = Mapped()
        self.run.load(stream.name, batch, cursor=iso(end))

    def _schedules(self, listing: Schedules) -> list[ScheduleRef]:
        refs = []
        for page in fetch_pages(self.client, listing.path, {}, listing.paginator):
            refs += [ref for record in page.records if isinstance(record, dict)
                     and (ref := listing.ref(record, self.ctx)) is not None]
        return refs

    def _fetch_shifts(self, stream: Stream, path: str, target: ScheduleRef | None, window: Window,
                      bar: tqdm) -> Mapped:
        """One schedule's window, whole (it replaces those days when loaded); halved at an offset cap."""
        spec = stream.shifts
        mapped = Mapped(replaces=[Replace(self.run.source, window, target.schedule_id if target else None)])
        try:
            for page in fetch_pages(self.client, path, {**stream.params, **spec.params(window)}, stream.paginator):
                mapped.extend(map_each(stream.name, page.records, lambda r: spec.map(r, self.ctx, target, window)))
                bar.update(len(page.records))
        except OffsetCapReached:
            halves = split(window, 2)
            if len(halves) < 2:
                raise ProviderError(f"{self.run.source} {stream.name}: too many shifts at {iso(window.start)}") from None
            both = Mapped()
            for half in halves:
                both.extend(self._fetch_shifts(stream, path, target, half, bar))
            return both
        self.ctx.learn(mapped)
        mapped.rows["on_call_shifts"] = list(pieces(mapped.rows.get("on_call_shifts", ()), window))
        return mapped

    def _now(self) -> dt.datetime:
        return self.request.now or dt.datetime.now(dt.UTC)

    def _sync_windowed(self, stream: Stream, batch: _Batch) -> None:
        cursor = parse_iso(self.run.cursor(stream.name))
        start, end = self._range(stream, cursor)
        log.info("%s %s: %s to %s", self.run.source, stream.name, iso(start), iso(end))
        contiguous = cursor is None or start <= cursor
        for window in plan(start, end, stream.windowed.max_span):
            for item in self._crawl(stream, window):
                if isinstance(item, _Done):
                    reached = max(item.until, cursor) if cursor and contiguous else item.until
                    batch.flush(iso(reached) if contiguous else None)
                else:
                    batch.add(item)
        batch.flush(None)

    def _bounds(self, cursor: dt.datetime | None) -> tuple[dt.datetime, dt.datetime]:
        """--since, else the saved cursor less the overlap, else the back-fill; up to --until or now."""
        now = self._now()
        end = min(self.request.until or now, now)
        if self.request.since is not None:
            return self.request.since, end
        if cursor is not None and not self.request.full:
            return cursor - self.options.overlap, end
        return end - self.options.backfill, end

    def _range(self, stream: Stream, cursor: dt.datetime | None) -> tuple[dt.datetime, dt.datetime]:
        start, end = self._bounds(cursor)
        now = self._now()
        if stream.windowed.reopen and not self.request.full:
            oldest = lifecycle.oldest_open_alert(self.run.db, self.run.source, now - self.options.reopen_max_age, now)
            if oldest is not None and oldest < start:
                log.info("%s: fetching again from %s, where alerts are still open", self.run.source, iso(oldest))
                start = oldest
        return start, end

    def _crawl(self, stream: Stream, window: Window) -> Iterator[Page | _Done]:
        if stream.windowed.on_cap == "advance":
            yield from self._crawl_advancing(stream, window)
        else:
            yield from self._crawl_splitting(stream, window)

    def _pages(self, stream: Stream, window: Window) -> Iterator[Page]:
        params = {**stream.params, **stream.windowed.params(window)}
        return fetch_pages(self.client, stream.path, params, stream.paginator)

    def _crawl_splitting(self, stream: Stream, window: Window) -> Iterator[Page | _Done]:
        """Pages of one window; a window past the offset cap is cut into parts small enough."""
        cap = stream.paginator.cap
        pages = self._pages(stream, window)
        try:
            first = next(pages, None)
            if first is not None and cap and first.total is not None and first.total > cap:
                pages.close()
                yield from self._split(stream, window, math.ceil(first.total / (cap * 0.8)))
                return
            if first is not None:
                yield first
                yield from pages
        except OffsetCapReached:
            yield from self._split(stream, window, 2)
            return
        yield _Done(window.end)

    def _split(self, stream: Stream, window: Window, parts: int) -> Iterator[Page | _Done]:
        pieces = split(window, parts)
        if len(pieces) < 2:
            raise ProviderError(
                f"{self.run.source} {stream.name}: more than {stream.paginator.cap} records within one second "
                f"at {iso(window.start)}; the API cannot page past that")
        log.info("%s %s: %s..%s passes the offset cap; %d windows", self.run.source, stream.name,
                 iso(window.start), iso(window.end), len(pieces))
        for piece in pieces:
            yield from self._crawl_splitting(stream, piece)

    def _crawl_advancing(self, stream: Stream, window: Window) -> Iterator[Page | _Done]:
        """Records sorted by time: at the cap, query again from the last record's time."""
        start = window.start
        while True:
            last = None
            try:
                for page in self._pages(stream, Window(start, window.end)):
                    yield page
                    last = _latest(stream.windowed.record_time, page.records) or last
            except OffsetCapReached:
                if last is None or last <= start:
                    raise ProviderError(
                        f"{self.run.source} {stream.name}: more than {stream.paginator.cap} records at "
                        f"{iso(start)}; the API cannot page past that") from None
                start = last
                continue
            break
        yield _Done(window.end)


def _latest(record_time: Callable[[dict], dt.datetime], records: list) -> dt.datetime | None:
    times = []
    for record in records:
        try:
            times.append(record_time(record))
        except (ValueError, TypeError, KeyError, AttributeError):
            continue
    return max(times, default=None)


@dataclass
class _Batch:
    """Mapped rows of one stream waiting to be loaded; loaded with the cursor they reach."""

    job: _Job
    stream: Stream
    bar: tqdm
    mapped: Mapped = field(default_factory=Mapped)
    records: int = 0

    def add(self, page: Page) -> None:
        stream, ctx = self.stream, self.job.ctx
        mapped = map_each(stream.name, page.records, lambda record: stream.map(record, ctx))
        if stream.child is not None:
            for record in page.records:
                mapped.extend(self._children(record))
        ctx.learn(mapped)
        self.mapped.extend(mapped)
        self.records += len(page.records)
        self.bar.update(len(page.records))
        if self.records >= self.job.options.batch_records:
            self.flush(None)

    def _children(self, parent: Any) -> Mapped:
        child = self.stream.child
        path = child.path(parent) if isinstance(parent, dict) else None
        if not path:
            return Mapped()
        out = Mapped()
        for page in fetch_pages(self.job.client, path, child.params, child.paginator):
            out.extend(map_each(child.name, page.records, lambda r: child.map(r, parent, self.job.ctx)))
        return out

    def flush(self, cursor: str | None) -> None:
        if self.records or cursor is not None or self.mapped.rejected:
            self.job.run.load(self.stream.name, self.mapped, cursor=cursor, merge=self.stream.merge)
        self.mapped, self.records = Mapped(), 0

"""Prometheus backfill: firing intervals rebuilt from ALERTS / ALERTS_FOR_STATE via query_range, merged with webhook rows."""

from __future__ import annotations

import datetime as dt
import logging
import os
import urllib.parse
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import yaml

import settings as settings_module
import store
from ingest.http import Api, Client, HttpPolicy, ProviderError
from ingest.load import IngestRun, saved_cursor
from ingest.mapping import Mapped, MappingError, check_rows
from ingest.sources import alertmanager
from ingest.sources.contract import SyncSource
from ingest.sync import SyncRequest, SyncResult

log = logging.getLogger(__name__)

NAME = "prometheus"
URL_ENV = "PROMETHEUS_URL"
STREAM = "prometheus"
MAX_POINTS = 10_000  # Prometheus refuses more than 11,000 points per series and query
DEFAULT_BACKFILL = dt.timedelta(days=15)  # Prometheus's default retention
OVERLAP = dt.timedelta(hours=1)  # re-read before the last cursor: intervals still open then
# Backfilled rows only fill gaps: what the webhook received is exact and wins.
BACKFILL_MERGE = {"alerts": {column: "keep" for column in alertmanager.ALERT_COLUMNS}}
_DROP = {"__name__", "alertstate"}


@dataclass(frozen=True)
class Rule:
    query: str
    interval: float
    annotations: dict[str, str]


@dataclass
class Interval:
    """One run of firing samples of one label set."""

    labels: dict[str, str]
    first: float
    last: float
    active_at: float | None = None
    samples: int = 1


@dataclass
class Series:
    """One label set's samples, keyed by the query step they were seen at."""

    labels: dict[str, str]
    sample_at: dict[float, float] = field(default_factory=dict)  # step → time of the firing sample
    active_at: dict[float, float] = field(default_factory=dict)  # step → ALERTS_FOR_STATE (ActiveAt)


# --- configuration ---------------------------------------------------------------------------------


def base_url(config: settings_module.Settings) -> str | None:
    url = os.environ.get(URL_ENV) or config.providers.get(NAME, {}).get("base_url")
    return url.rstrip("/") if isinstance(url, str) and url else None


def problem(config: settings_module.Settings) -> str | None:
    """Why the source cannot run, or None."""
    url = base_url(config)
    if not url:
        return f"{NAME}: set {URL_ENV} or providers.{NAME}.base_url"
    if not url.startswith(("http://", "https://")):
        return f"{NAME}: base URL must start with http:// or https://, got {url!r}"
    return None


# --- the Prometheus HTTP API ---------------------------------------------------------------------


class PrometheusApi:
    """The few read-only endpoints the backfill needs, through the shared HTTP client (timeouts,
    retries with backoff on 5xx, timeouts and broken connections)."""

    def __init__(self, url: str, policy: HttpPolicy | None = None):
        self.url = url
        api = Api(
            source=NAME,
            base_url=url,
            auth=lambda _: {},  # Prometheus's HTTP API takes no token
            error_message=_error_message,
            auth_hint=f"Prometheus asked for credentials: check {URL_ENV} and any proxy in front of it",
        )
        self.client = Client(api, "", policy or HttpPolicy())

    @property
    def requests(self) -> int:
        return self.client.requests

    def get(self, path: str, **params) -> dict:
        body = self.client.get_json(path, params)
        if not isinstance(body, dict) or body.get("status") != "success":
            raise ProviderError(f"{NAME}: GET {path}: {_error_message(body) or 'not a success response'}")
        return body["data"]

    def external_labels(self) -> dict[str, str]:
        """Prometheus adds these to every alert it sends, so Alertmanager's fingerprint covers them."""
        config = yaml.safe_load(self.get("/api/v1/status/config").get("yaml") or "") or {}
        labels = (config.get("global") or {}).get("external_labels") or {}
        return {str(k): str(v) for k, v in labels.items()}

    def rules(self) -> dict[str, Rule]:
        """Alerting rules by name: their query, evaluation interval and constant annotations."""
        rules = {}
        for group in self.get("/api/v1/rules", type="alert").get("groups", []):
            for rule in group.get("rules", []):
                annotations = {k: v for k, v in (rule.get("annotations") or {}).items() if "{{" not in v}
                rules[rule["name"]] = Rule(rule.get("query", ""), float(group.get("interval") or 0), annotations)
        return rules

    def query_range(self, query: str, start: float, end: float, step: float) -> list[dict]:
        data = self.get("/api/v1/query_range", query=query, start=f"{start:.3f}", end=f"{end:.3f}", step=f"{step:g}")
        return data.get("result", [])


def _error_message(body: object) -> str | None:
    """Prometheus's own message from an error body ({"status": "error", "error": ...})."""
    return str(body["error"])[:200] if isinstance(body, dict) and body.get("error") else None


# --- intervals (pure) ------------------------------------------------------------------------------


def chunks(start: float, end: float, step: float, max_points: int = MAX_POINTS) -> Iterator[tuple[float, float]]:
    """[start, end] cut into query_range calls of at most `max_points` points each."""
    span = step * (max_points - 1)
    while start <= end:
        stop = min(start + span, end)
        yield start, stop
        start = stop + step


def series_key(metric: dict[str, str]) -> tuple:
    return tuple(sorted((k, v) for k, v in metric.items() if k not in _DROP))


def collect(series: dict[tuple, Series], firing: Iterable[dict], for_state: Iterable[dict]) -> None:
    """Add one chunk's `timestamp(ALERTS{alertstate="firing"})` and `ALERTS_FOR_STATE` results."""
    for result in firing:
        key = series_key(result["metric"])
        entry = series.setdefault(key, Series(dict(key)))
        entry.sample_at.update((float(t), float(v)) for t, v in result["values"])
    for result in for_state:
        entry = series.get(series_key(result["metric"]))
        if entry is not None:
            entry.active_at.update((float(t), float(v)) for t, v in result["values"])


def intervals(entry: Series, interval: float) -> list[Interval]:
    """Runs of firing samples: a gap over 1.5 evaluation intervals, or a new ActiveAt, starts a new run."""
    runs: list[Interval] = []
    for sample, active in _samples(entry):
        current = runs[-1] if runs else None
        same_activation = current is not None and (active is None or current.active_at in (None, active))
        if current is not None and sample - current.last <= 1.5 * interval and same_activation:
            current.last, current.samples = sample, current.samples + 1
            current.active_at = current.active_at or active
        else:
            runs.append(Interval(entry.labels, sample, sample, active))
    return runs


def _samples(entry: Series) -> list[tuple[float, float | None]]:
    """Distinct firing sample times, oldest first, each with the ActiveAt seen at the same step."""
    first_step: dict[float, float] = {}
    for step in sorted(entry.sample_at):
        first_step.setdefault(entry.sample_at[step], step)
    return [(sample, entry.active_at.get(step)) for sample, step in sorted(first_step.items())]


# --- rows ------------------------------------------------------------------------------------------


@dataclass
class Backfill:
    """Everything mapping needs besides the intervals themselves."""

    url: str
    external_labels: dict[str, str]
    rules: dict[str, Rule]
    step: float
    until: float
    config: settings_module.Settings


def interval_row(run: Interval, ctx: Backfill) -> dict:
    """The canonical row of one reconstructed firing interval (same key rules as the webhook)."""
    labels = {**ctx.external_labels, **run.labels}  # an alert's own label wins over an external one
    rule = ctx.rules.get(labels.get("alertname", ""))
    every = (rule.interval if rule and rule.interval else ctx.step) or ctx.step
    still_firing = run.last + 2 * every >= ctx.until
    raw = {
        "origin": "prometheus",
        "labels": labels,
        "first_sample": run.first,
        "last_sample": run.last,
        "samples": run.samples,
        "active_at": run.active_at,
        "step": ctx.step,
    }
    return alertmanager.alert_row(
        labels=labels,
        annotations=rule.annotations if rule else {},
        starts_at=dt.datetime.fromtimestamp(run.first, dt.UTC),
        resolved_at=None if still_firing else dt.datetime.fromtimestamp(run.last + every, dt.UTC),
        fingerprint_hex=alertmanager.fingerprint(labels),
        url=_graph_url(ctx.url, rule.query) if rule and rule.query else None,
        raw=raw,
        config=ctx.config,
    )


def _graph_url(url: str, query: str) -> str:
    return f"{url}/graph?" + urllib.parse.urlencode({"g0.expr": query, "g0.tab": "1"})


def map_series(series: dict[tuple, Series], ctx: Backfill) -> Mapped:
    out = Mapped()
    for entry in series.values():
        interval = _interval_of(entry, ctx)
        for run in intervals(entry, interval):
            try:
                row = interval_row(run, ctx)
                check_rows(Mapped({"alerts": [row]}))
                out.add("alerts", row)
            except MappingError as exc:
                out.reject(STREAM, run.__dict__, str(exc))
    return out


def _interval_of(entry: Series, ctx: Backfill) -> float:
    rule = ctx.rules.get(entry.labels.get("alertname", ""))
    return max(rule.interval if rule and rule.interval else 0.0, ctx.step)


# --- merging with what the webhook stored --------------------------------------------------------


def adopt_existing_keys(db: str, rows: list[dict], since: dt.datetime, tolerance: float) -> int:
    """Give a backfilled interval the key of a stored row of the same label set that overlaps it.

    The keys agree already when the first firing sample and Alertmanager's startsAt fall in the
    same second (query step no coarser than the rule interval); this also covers coarser steps.
    """
    stored = _stored_intervals(db, since)
    adopted = 0
    for row in rows:
        fingerprint_hex = row["source_id"].split("@", 1)[0]
        match = _overlapping(stored.get(fingerprint_hex, ()), row, tolerance)
        if match and match != row["source_id"]:
            row["source_id"] = match
            adopted += 1
    return adopted


def _stored_intervals(db: str, since: dt.datetime) -> dict[str, list[tuple]]:
    if not store.exists(db):
        return {}  # the first load creates the database
    with store.reading(db) as con:
        found = con.execute(
            "SELECT source_id, created_at, resolved_at FROM alerts "
            "WHERE source = ? AND coalesce(resolved_at, 'infinity'::TIMESTAMPTZ) >= ?",
            [alertmanager.SOURCE, since - dt.timedelta(hours=1)],
        ).fetchall()
    stored: dict[str, list[tuple]] = {}
    for source_id, created_at, resolved_at in found:
        stored.setdefault(source_id.split("@", 1)[0], []).append((source_id, created_at, resolved_at))
    return stored


def _overlapping(candidates: Iterable[tuple], row: dict, tolerance: float) -> str | None:
    """The stored interval that overlaps the row's (within `tolerance`) and started nearest to it."""
    slack = dt.timedelta(seconds=tolerance)
    never = dt.datetime.max.replace(tzinfo=dt.UTC)
    start, end = row["created_at"], row["resolved_at"] or never
    overlapping = [
        (abs((created_at - start).total_seconds()), source_id)
        for source_id, created_at, resolved_at in candidates
        if created_at - slack <= end and start - slack <= (resolved_at or never)
    ]
    return min(overlapping)[1] if overlapping else None


# --- the sync --------------------------------------------------------------------------------------


def fetch(api: PrometheusApi, start: float, end: float, step: float) -> dict[tuple, Series]:
    series: dict[tuple, Series] = {}
    for lo, hi in chunks(start, end, step):
        firing = api.query_range('timestamp(ALERTS{alertstate="firing"})', lo, hi, step)
        for_state = api.query_range("ALERTS_FOR_STATE", lo, hi, step)
        collect(series, firing, for_state)
    return series


def backfill(
    run: IngestRun, api: PrometheusApi, config: settings_module.Settings, since: dt.datetime, until: dt.datetime,
    step: float | None = None,
) -> None:
    """Rebuild the firing intervals of [since, until] and merge them into the run's database."""
    db = run.db
    rules = api.rules()
    step = step or _default_step(rules, config)
    ctx = Backfill(api.url, api.external_labels(), rules, step, until.timestamp(), config)
    series = fetch(api, since.timestamp(), until.timestamp(), step)
    mapped = map_series(series, ctx)
    rows = mapped.rows.get("alerts", [])
    adopt_existing_keys(db, rows, since, tolerance=2 * step)
    mapped.rows["alerts"] = list({row["source_id"]: row for row in rows}.values())
    run.load(STREAM, mapped, cursor=until.isoformat(), merge=BACKFILL_MERGE)


def _default_step(rules: dict[str, Rule], config: settings_module.Settings) -> float:
    """The configured step, else the shortest rule evaluation interval (so no firing is skipped)."""
    configured = config.providers.get(NAME, {}).get("step_seconds")
    if isinstance(configured, (int, float)) and configured > 0:
        return float(configured)
    intervals_ = [rule.interval for rule in rules.values() if rule.interval > 0]
    return min(intervals_) if intervals_ else 15.0


def sync(db: str, config: settings_module.Settings, request: SyncRequest) -> SyncResult:
    """The `sync --source prometheus` entry: --since/--until, else from the last cursor (minus an overlap)."""
    reason = problem(config)
    if reason:
        raise settings_module.ConfigError(reason)
    until = request.until or request.now or dt.datetime.now(dt.UTC)
    since = request.since or _resume_from(db, request) or until - DEFAULT_BACKFILL
    # The rows are the Alertmanager source's (one alert, whichever path saw it first); the run, its
    # cursor and its quarantine are the backfill's own, so `ingest status` lists it.
    run = IngestRun(db, NAME)
    api = PrometheusApi(base_url(config) or "", HttpPolicy.from_options(NAME, config.providers.get(NAME, {})))
    error = None
    try:
        backfill(run, api, config, since, until)
    except ProviderError as exc:
        log.error("%s", exc)
        error = str(exc)
    except BaseException as exc:
        run.finish(error=f"{type(exc).__name__}: {exc}")
        raise
    status = run.finish(error=error)
    totals = run.totals
    return SyncResult(NAME, status, totals.rows, totals.quarantined, api.requests, dict(totals.by_table), error)


def _resume_from(db: str, request: SyncRequest) -> dt.datetime | None:
    if request.full:
        return None
    cursor = saved_cursor(db, NAME, STREAM)
    return dt.datetime.fromisoformat(cursor) - OVERLAP if cursor else None


SYNC = SyncSource(NAME, "Prometheus ALERTS history (firing intervals), merged with the Alertmanager webhook's rows",
                  problem, sync)

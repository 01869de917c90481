"""The one way to read figures: metric names and a scope in, every one from one computation of the facts."""

from __future__ import annotations

import datetime as dt
import logging
import math
import os
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import duckdb

import settings as settings_module
import store
from metrics import aggregate, facts
from metrics.cost import saving_sprints
from metrics.period import Period, in_progress, previous, sprints_back, steps, weeks_back
from metrics.registry import OPTIONS, REGISTRY, STAGES, TREND_SPRINTS, Metric, describe, metric
from settings import Settings

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

# pandas is imported only where a table becomes a DataFrame, and Arrow only where a read keeps its
# tables as Arrow (the dashboard's cache): the command-line report reads plain rows, and importing
# them would cost it 0.5 s and 0.2-0.3 s.

log = logging.getLogger(__name__)

_LIMITS = {"slowest": 20, "quarantined": 500}

# DuckDB may use 80 % of the machine's memory before it spills; the facts of a whole history at 10M
# alerts took 6.8 GB that way. A read holds its memory to this (ALERTHYGIENE_READ_MEMORY, a DuckDB
# size such as 4GB) and spills the rest to a temporary folder beside the database.
READ_MEMORY = "2GB"
_SIZE = re.compile(r"\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)", re.IGNORECASE)


@dataclass(frozen=True)
class Scope:
    """What a read is about: a period, and optionally one team, one service and one signature."""

    period: Period
    team: str | None = None
    service: str | None = None
    signature: str | None = None

    @property
    def day(self) -> dt.date:
        """The local date the period starts on (sprint and week windows count back from it)."""
        return self.period.start.date()


@dataclass
class Figures(Mapping[str, Any]):
    """The result of one read: figures as plain values, lists as tables (DataFrames on access).

    Built from Arrow tables, which is also what the dashboard caches; `table(name)` gives the
    Arrow form. A read `as_rows` holds its lists as plain rows instead (`rows(name)`; no Arrow, no
    DataFrames). `describe(name)` is the definition rendered from the settings the figures were
    computed with.
    """

    scope: Scope | None
    settings: Settings
    values: dict[str, Any]
    _frames: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False, compare=False)

    def __getitem__(self, name: str) -> Any:
        if name not in self.values:
            raise KeyError(f"{name!r} was not read; this read has: {', '.join(self.values)}")
        value = self.values[name]
        if not _is_table(value):
            return value
        if name not in self._frames:
            self._frames[name] = to_frame(value)
        return self._frames[name]

    def __contains__(self, name: object) -> bool:  # without building the DataFrame __getitem__ would
        return name in self.values

    def __iter__(self) -> Iterator[str]:
        return iter(self.values)

    def __len__(self) -> int:
        return len(self.values)

    def __getstate__(self) -> dict[str, Any]:  # cached as Arrow, never as DataFrames
        return {"scope": self.scope, "settings": self.settings, "values": self.values}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state)

    def table(self, name: str) -> pa.Table:
        value = self.values[name]
        if isinstance(value, list):
            raise TypeError(f"{name} was read as rows, not as a table")
        if not _is_table(value):
            raise TypeError(f"{name} is a figure, not a table")
        return value

    def rows(self, name: str) -> list[dict[str, Any]]:
        """A table as plain rows (see `records`), without pandas."""
        value = self.values[name]
        return value if isinstance(value, list) else records(self.table(name))

    def describe(self, name: str) -> str:
        """The definition of `name` with the thresholds and hours these figures were computed with."""
        return describe(name, self.settings, self.scope.team if self.scope else None)


def _is_table(value: Any) -> bool:
    arrow = sys.modules.get("pyarrow")  # without Arrow loaded nothing is an Arrow table
    return arrow is not None and isinstance(value, arrow.Table)


def to_frame(table: pa.Table) -> pd.DataFrame:
    """An Arrow result as pandas: integers and booleans with gaps stay nullable, dates become dates."""
    import pandas as pd
    import pyarrow as pa

    columns = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        kind = column.type
        if pa.types.is_decimal(kind):  # DuckDB sums integers into 128-bit decimals: numbers, as .df() gives
            column, kind = column.cast(pa.float64()), pa.float64()
        if column.null_count and pa.types.is_integer(kind):
            columns[name] = column.to_pandas(types_mapper={kind: pd.Int64Dtype()}.get)
        elif column.null_count and pa.types.is_boolean(kind):
            columns[name] = column.to_pandas(types_mapper={kind: pd.BooleanDtype()}.get)
        else:
            columns[name] = column.to_pandas(date_as_object=False)
    return pd.DataFrame(columns, index=pd.RangeIndex(table.num_rows))


def records(table: pa.Table) -> list[dict[str, Any]]:
    """An Arrow result as a list of dicts of Python values: None for NULL, decimals as floats (as in
    `to_frame`: DuckDB sums integers into 128-bit decimals), moments as datetimes in UTC.

    Arrow turns a timestamp with a time zone into Python through pandas (loading it), so those
    columns are read as UTC wall times (a view of the same values, no cast) and given their zone
    here. Nothing here casts: a cast loads Arrow's compute module (0.07 s).
    """
    import pyarrow as pa

    zoned, decimals = [], []
    for index, (name, kind) in enumerate(zip(table.schema.names, table.schema.types, strict=True)):
        if pa.types.is_decimal(kind):
            decimals.append(name)
        elif pa.types.is_timestamp(kind) and kind.tz is not None:
            wall = pa.timestamp(kind.unit)
            column = pa.chunked_array([chunk.view(wall) for chunk in table.column(index).chunks], wall)
            table = table.set_column(index, name, column)
            zoned.append(name)
    rows = table.to_pylist()
    for row in rows if zoned or decimals else ():
        for name in zoned:
            if row[name] is not None:
                row[name] = row[name].replace(tzinfo=dt.UTC)
        for name in decimals:
            if row[name] is not None:
                row[name] = float(row[name])
    return rows


def plain(value: Any) -> Any:
    """A result cell as a plain Python value (None for SQL NULL / NaN)."""
    if value is None:
        return None
    pandas = sys.modules.get("pandas")  # pandas' missing values exist only once pandas is loaded
    if pandas is not None and (value is pandas.NA or value is pandas.NaT):
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


# --- planning: which facts each metric needs ---------------------------------------------------


def _options(wanted: list[Metric], given: dict[str, Any]) -> None:
    for name in given:
        if name not in OPTIONS:
            raise TypeError(f"unknown read option {name!r}; known: {', '.join(OPTIONS)}")
        if not any(name in m.options for m in wanted):
            takers = sorted(m.name for m in REGISTRY.values() if name in m.options)
            raise TypeError(f"option {name!r} is taken by {', '.join(takers)}, none of which was asked for")


def option_values(m: Metric, given: dict[str, Any], settings: Settings, scope: Scope | None) -> dict[str, Any]:
    """The options `m` takes, as given or by default."""
    values = {name: given.get(name, OPTIONS[name]) for name in m.options}
    if "limit" in values and values["limit"] is None:
        values["limit"] = _LIMITS.get(m.name)
    if "hold_down_s" in values:
        hold = values["hold_down_s"]
        values["hold_down_s"] = float(settings.thresholds.hold_down_s if hold is None else hold)
    if "as_of" in values:  # judged at that moment (default now), never after the period's end
        moment = values["as_of"] or dt.datetime.now(dt.UTC)
        values["as_of"] = min(scope.period.end, moment) if scope else moment
    return values


def buckets(m: Metric, scope: Scope, settings: Settings, given: dict[str, Any]) -> tuple[Period, ...]:
    """The periods whose facts `m` reads, oldest first (each one a bucket of its figures)."""
    count = given.get("count", OPTIONS["count"])
    now = given.get("as_of") or dt.datetime.now(dt.UTC)
    windows = {
        "period": lambda: [scope.period],
        "compare": lambda: _compared(scope.period, now),
        "sprints": lambda: sprints_back(settings, count, scope.day),
        "weeks": lambda: weeks_back(settings, count, scope.day),
        "steps": lambda: steps(scope.period, 1 if scope.period.length <= dt.timedelta(days=31) else 7),
        "trend": lambda: _finished(settings, TREND_SPRINTS, scope.day, now),
        "repeat": lambda: sprints_back(settings, settings.thresholds.repeat_offender_sprints, scope.day),
        "saving": lambda: saving_sprints(settings, scope.day),
    }
    return tuple(windows[m.window]())


def _compared(period: Period, now: dt.datetime) -> list[Period]:
    """The period before and the period; while the period is in progress, pro rata (METRICS.md,
    Trends): the period before cut at the same elapsed time, its rest a bucket of its own."""
    before = previous(period)
    if not in_progress(period, now):
        return [before, period]
    cut = before.start + (now - period.start)
    return [Period(before.start, cut), Period(cut, period.start), period]


def _finished(settings: Settings, count: int, day: dt.date, now: dt.datetime) -> list[Period]:
    """The last `count` sprints up to `day`'s, leaving out a sprint still in progress at `now`."""
    periods = sprints_back(settings, count, day)
    if in_progress(periods[-1], now):
        periods = sprints_back(settings, count, previous(periods[-1]).start.date())
    return periods


@dataclass
class _Frame:
    """The metrics that read one list of buckets, and the frames whose buckets are among them."""

    periods: tuple[Period, ...]
    metrics: list[Metric] = field(default_factory=list)
    within: list[_Frame] = field(default_factory=list)

    @property
    def all_metrics(self) -> list[Metric]:
        return self.metrics + [m for frame in self.within for m in frame.metrics]

    def needs_interruptions(self, given: dict[str, Any]) -> bool:
        return any(aggregate.reads_interruptions(m, given) for m in self.all_metrics)


def plan(wanted: list[Metric], scope: Scope | None, settings: Settings, given: dict[str, Any]):
    """The metrics that read stored tables only, and the fact computations the others share.

    Metrics whose buckets are among another's (the period's among the last sprints', say)
    are served by that one computation: an alert's facts depend on its own bucket only.
    """
    direct, frames = [], {}
    for m in wanted:
        if m.window == "tables":
            direct.append(m)
            continue
        if scope is None:
            raise ValueError(f"{m.name} needs a scope (a period, and optionally team, service, signature)")
        periods = buckets(m, scope, settings, given)
        frames.setdefault(periods, _Frame(periods)).metrics.append(m)
    roots: list[_Frame] = []
    for frame in sorted(frames.values(), key=lambda f: -len(f.periods)):
        host = next((r for r in roots if set(frame.periods) <= set(r.periods)), None)
        (host.within.append(frame) if host else roots.append(frame))
    return direct, roots


# --- running -------------------------------------------------------------------------------------


def _values(settings: Settings, scope: Scope | None, periods: tuple[Period, ...] | None) -> dict[str, Any]:
    if scope is None:
        now = dt.datetime.now(dt.UTC)
        scope = Scope(Period(now - dt.timedelta(days=1), now))
    whole = Period(periods[0].start, periods[-1].end) if periods else scope.period
    starts = [p.start for p in periods] if periods else [whole.start]
    t = settings.thresholds
    return facts.params(
        settings,
        whole,
        scope.team,
        scope.service,
        starts,
        scope.signature,
        sprint_days=settings.sprint_length_days,
        ceiling_day=t.paging_ceiling_per_shift * 2,
        ceiling_week=t.paging_ceiling_per_shift * 14,
        recent_from=starts[-2] if len(starts) > 1 else starts[0],  # the start of the last two buckets
    )


def _run_metrics(con, frame: _Frame, scope: Scope, settings: Settings, given, results: dict[str, Any],
                 facts_of: str) -> None:
    """One frame's statements, over the facts of its own buckets (in tables `{facts_of}_...`)."""
    values = _values(settings, scope, frame.periods)
    facts.focus(con, values, facts_of)
    for stage_set in [STAGES[name] for name in STAGES if any(name in m.stages for m in frame.metrics)]:
        values |= stage_set.values(frame.metrics) if stage_set.values else {}
        facts.materialize_stages(con, stage_set.document, values)
    figures = [m for m in frame.metrics if m.is_figure]
    series = [m for m in frame.metrics if "figures_by_bucket" in m.sql]
    if figures or series:
        narrowed = aggregate.series_figures(series, given)
        sql = aggregate.figures_sql(figures + (narrowed or []), everything=bool(series) and narrowed is None,
                                    by_team=aggregate.by_team(series))
        con.execute(f"CREATE OR REPLACE TEMP TABLE figures_by_bucket AS {sql}", facts.bound(sql, values))
    for m in frame.metrics:
        if not m.is_figure:
            log.debug("running %s", m.name)
            results[m.name] = _fetch(given)(con, m.sql, {**values, **option_values(m, given, settings, scope)})
    if figures:
        row = _rows(given)(con, "SELECT * FROM figures_by_bucket WHERE team IS NULL", {})[0]
        results.update({m.name: plain(row[m.name]) for m in figures})


# Lists whose rows a page then reads one signature at a time (the Noisy and Sprint retro pages'
# ranking, then "one signature up close"): the facts of their read are kept for the run's later
# reads (facts.materialize). Only theirs: kept facts stay in memory while the page goes on (a
# quarter of a GB for a year of 1M alerts of all teams).
DRILLED = frozenset({"noisy"})


def _run_frame(con, frame: _Frame, scope: Scope, settings: Settings, given, results: dict[str, Any],
               shared: _Frame | bool) -> None:
    """A frame's facts, then its metrics' statements. `shared`: False when the frame computes its own
    facts; else the facts were computed once for every frame (`materialize_shared`), for this frame
    if it is the one given, else re-bucketed for it."""
    values = _values(settings, scope, frame.periods)
    if shared is frame:
        facts_of = "base"
    elif shared:
        facts.materialize_frame(con, values, frame.needs_interruptions(given))
        facts_of = "all"
    else:
        drilled = any(m.name in DRILLED for m in frame.all_metrics)
        facts_of = facts.materialize(con, values, frame.needs_interruptions(given), keep=drilled)
    for part in [frame, *frame.within]:
        _run_metrics(con, part, scope, settings, given, results, facts_of)


def read_memory() -> str:
    """The memory a read may hold before DuckDB spills: ALERTHYGIENE_READ_MEMORY, else READ_MEMORY."""
    memory = os.environ.get("ALERTHYGIENE_READ_MEMORY", "").strip() or READ_MEMORY
    if not _SIZE.fullmatch(memory):
        raise ValueError(f"ALERTHYGIENE_READ_MEMORY: expected a size such as 2GB or 500MB, got {memory!r}")
    return memory


_AS_ROWS = "_as_rows"  # the read's form, passed along with its options (no metric takes it)


def _fetch(given: dict[str, Any]):
    """How a statement's result is kept: plain rows for a read `as_rows`, else an Arrow table."""
    return facts.rows if given.get(_AS_ROWS) else facts.run


def _rows(given: dict[str, Any]):
    """A statement's result as plain rows, through Arrow only where the read keeps Arrow anyway."""
    return facts.rows if given.get(_AS_ROWS) else lambda *args: records(facts.run(*args))


def read(
    db: str | None,
    names: Iterable[str],
    scope: Scope | None = None,
    settings: Settings | None = None,
    *,
    as_rows: bool = False,
    **options: Any,
) -> Figures:
    """Every metric in `names` for `scope`, on one short-lived read connection.

    Metrics that read the same buckets (the period, the period and the one before, the last
    sprints, ...) share one computation of the facts. Figures come back as plain values,
    lists as tables. An unknown name raises KeyError; an option no asked-for metric takes
    raises TypeError. `settings=None` loads ./alerthygiene.toml (or the defaults). `as_rows`: lists
    come back as plain rows (`Figures.rows`), and Arrow is never loaded.
    """
    names = list(dict.fromkeys([names] if isinstance(names, str) else names))
    settings = settings if settings is not None else settings_module.load()
    wanted = [metric(n) for n in names]
    for m in wanted:
        if m.grain == "column":
            raise KeyError(f"{m.name} is a column of {m.of}: read {m.of!r}")
    _options(wanted, options)
    direct, frames = plan(wanted, scope, settings, options)
    options = {**options, _AS_ROWS: as_rows}
    memory = read_memory()
    try:
        results = _read_all(db, direct, frames, scope, settings, options, memory)
    except duckdb.OutOfMemoryException as exc:
        # Not every operator spills (list aggregates, say): a read that cannot fit is done again
        # under DuckDB's own cap rather than fail; the figures are the same either way.
        log.warning("the read needed more than %s (%s); reading again without that cap", memory,
                    str(exc).splitlines()[0])
        results = _read_all(db, direct, frames, scope, settings, options, None)
    return Figures(scope, settings, {name: results[name] for name in names})


def overlapping(frames: list[_Frame]) -> bool:
    """Whether the frames' facts pay to be computed once for their whole span: one frame lies at least
    half within another (the period within its weeks). Frames that barely touch (a year's report and
    the three sprints before it, for its repeat offenders) are computed each on its own: a shared
    computation would hold a copy of the year's facts beside them (0.4 GB more at 1M alerts a year)."""
    spans = [(f.periods[0].start, f.periods[-1].end) for f in frames]
    return any(
        min(a[1], b[1]) - max(a[0], b[0]) >= (a[1] - a[0]) / 2
        for i, a in enumerate(spans) for j, b in enumerate(spans) if i != j
    )


def _read_all(db, direct, frames, scope, settings, options, memory: str | None) -> dict[str, Any]:
    """Every planned metric's result on one connection, DuckDB holding `memory` (None: its default)."""
    results: dict[str, Any] = {}
    with store.reading(db) as con:
        con.execute("SET TimeZone = 'UTC'")
        if memory is None:
            con.execute("RESET memory_limit")  # the setting is the process's: an earlier read may have set it
        else:
            con.execute(f"SET memory_limit = '{memory}'")  # checked by read_memory: a size, nothing else
        base = _values(settings, scope, None)
        for m in direct:
            results[m.name] = _fetch(options)(con, m.sql, {**base, **option_values(m, options, settings, scope)})
        if frames:
            span = Period(min(f.periods[0].start for f in frames), max(f.periods[-1].end for f in frames))
            facts.register_calendars(con, settings, facts.years_of(span))
        shared: _Frame | bool = False
        if overlapping(frames):  # frames of different buckets (the period and its weeks): facts computed once
            spanning = [f for f in frames if (f.periods[0].start, f.periods[-1].end) == (span.start, span.end)]
            shared = spanning[0] if spanning else True
            buckets = shared.periods if spanning else (span,)
            facts.materialize_shared(con, _values(settings, scope, buckets), any(f.needs_interruptions(options) for f in frames))
        for frame in frames:
            _run_frame(con, frame, scope, settings, options, results, shared)
    return results

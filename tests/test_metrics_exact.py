"""Figures do not move between runs of the same data: not with DuckDB's thread count, not with row order.

Sums and means of doubles depend on the order they are added in, which DuckDB's parallel
aggregation and the table's row order decide; the figures are summed as whole microseconds (and
cost as decimals) and divided at the end, so every run of the same data prints the same bytes.
"""

from __future__ import annotations

import datetime as dt
import json

import duckdb
import pytest

import metrics
import settings
import store.connection
from metrics import report
from tests.figures_snapshot import PERIOD_LISTS, WINDOW_LISTS

# Costs that are no binary fractions of an hour (20 min = 1/3 h), so sums of hours would round.
S = settings.Settings(cost=settings.CostModel(business_minutes=20, off_minutes=40, sleep_minutes=70))
NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
WHOLE = metrics.between(dt.date(2026, 5, 1), dt.date(2026, 12, 1))
# Rows whose order a copy reverses: the alerts and everything summed per alert or per page.
REVERSED = ("alerts", "notifications", "on_call_shifts")


def _copy(demo_db: str, path: str, order: str) -> str:
    """The demo history with times off whole seconds (as providers send them), its big tables'
    rows stored in `order` of how the demo wrote them."""
    with duckdb.connect(path) as con:
        con.execute("ATTACH ? AS demo (READ_ONLY)", [demo_db])
        con.execute(f"COPY FROM DATABASE demo TO {con.execute('SELECT current_database()').fetchone()[0]}")
        con.execute("DETACH demo")
        con.execute("""UPDATE alerts SET
            acknowledged_at = acknowledged_at + to_microseconds((hash(source_id, 'ack') % 999983)::BIGINT),
            resolved_at = resolved_at + to_microseconds((hash(source_id, 'resolve') % 999983 + 999983)::BIGINT)""")
        con.execute("UPDATE on_call_shifts SET ends_at = ends_at + to_microseconds((hash(starts_at) % 999983)::BIGINT)")
        for table in REVERSED:
            con.execute(f"CREATE TEMP TABLE copied AS SELECT * FROM {table} ORDER BY rowid {order}")  # noqa: S608
            con.execute(f"DELETE FROM {table}")  # noqa: S608
            con.execute(f"INSERT INTO {table} SELECT * FROM copied")  # noqa: S608
            con.execute("DROP TABLE copied")
    return path


@pytest.fixture(scope="module")
def copies(demo_db, tmp_path_factory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("orders")
    return {order: _copy(demo_db, str(folder / f"rows_{order.lower()}.duckdb"), order) for order in ("ASC", "DESC")}


@pytest.fixture
def threads(monkeypatch):
    """Every connection the engine opens from now on runs DuckDB with `n` threads."""
    opened = store.connection._no_progress_bar

    def use(n: int) -> None:
        def quiet_with_threads(con):
            opened(con)
            con.execute(f"SET threads = {int(n)}")

        monkeypatch.setattr(store.connection, "_no_progress_bar", quiet_with_threads)
        store.connection._migrated.clear()  # noqa: SLF001 - no state kept from an earlier run
    return use


def json_report(db: str, team: str | None = None) -> str:
    """The JSON report of the whole history as `python -m metrics report --format json` prints it."""
    scope = metrics.Scope(WHOLE, team)
    doc = report.document(db, scope, report.read_report(db, scope, S, NOW, report.JSON_NAMES), NOW)
    doc.generated["at"] = None  # the moment it ran, the only thing allowed to differ
    doc.generated["database"] = None
    return report.render_json(doc)


def everything(db: str) -> str:
    """Every figure and list the pages read for the whole history, at full precision."""
    names = [*metrics.figure_names(), *PERIOD_LISTS, *WINDOW_LISTS]
    figures = metrics.read(db, names, metrics.Scope(WHOLE), S, as_of=NOW)
    out = {}
    for name in names:
        value = figures[name]
        out[name] = value.to_json(orient="split", double_precision=15, date_format="iso") \
            if hasattr(value, "to_json") else repr(metrics.plain(value))
    return json.dumps(out, sort_keys=True)


def test_the_report_is_byte_identical_across_thread_counts_and_row_orders(copies, threads):
    runs = {}
    for n, order in ((1, "ASC"), (4, "ASC"), (1, "DESC")):  # one thing changed at a time
        threads(n)
        db = copies[order]
        runs[(n, order)] = (json_report(db), json_report(db, "payments"), everything(db))
    first = runs[(1, "ASC")]
    assert json.loads(first[0])["alerts"] > 1000
    for key, got in runs.items():
        for what, a, b in zip(("report", "team report", "page figures"), first, got, strict=True):
            if a != b:  # where, not pytest's diff of two long texts (minutes)
                at = next(i for i, (x, y) in enumerate(zip(a + "\0", b + "\0", strict=False)) if x != y)
                pytest.fail(f"{what} differs with {key[0]} threads, rows {key[1]}: "
                            f"{a[max(at - 80, 0):at + 40]!r} -> {b[max(at - 80, 0):at + 40]!r}")

"""Export the canonical tables as Hive-partitioned Parquet that Spark, Trino or DuckDB read as they are."""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from pathlib import Path

from store.connection import display_name, reading

log = logging.getLogger(__name__)

# Large tables: partitioned by source and the UTC year and month of each row's own time.
PARTITIONED = {"alerts": "created_at", "events": "occurred_at", "notifications": "notified_at",
               "on_call_shifts": "starts_at"}
# Small tables: one plain file each.
PLAIN = ("people", "teams", "services", "reviews", "fix_estimates", "runbook_links")
PARTITION_COLUMNS = ("source", "year", "month")
JSON_COLUMNS = {"alerts": ("labels", "raw"), "events": ("details",)}


def _quoted(path: Path) -> str:
    """A path as an SQL string literal (COPY's target cannot be a bound parameter)."""
    return "'" + str(path).replace("'", "''") + "'"


def _select(table: str) -> str:
    # JSON as text: every Parquet reader knows strings; the UTC calendar, not the session's, picks the month.
    json_text = ", ".join(f"{c}::VARCHAR AS {c}" for c in JSON_COLUMNS.get(table, ()))
    star = f"* REPLACE ({json_text})" if json_text else "*"
    if table not in PARTITIONED:
        return f"SELECT {star} FROM {table}"  # noqa: S608 - table names come from the constants above
    at = PARTITIONED[table]
    return (
        f"SELECT {star}, year(timezone('UTC', {at})) AS year, month(timezone('UTC', {at})) AS month "  # noqa: S608
        f"FROM {table} ORDER BY source, {at}"
    )


def _copy(con, table: str, target: Path) -> int:
    count = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608
    if table in PARTITIONED:
        if count:
            con.execute(f"COPY ({_select(table)}) TO {_quoted(target)} "
                        f"(FORMAT parquet, PARTITION_BY ({', '.join(PARTITION_COLUMNS)}))")
        else:
            target.mkdir()  # an empty table is an empty directory, not a missing one
    else:
        target.mkdir()
        con.execute(f"COPY ({_select(table)}) TO {_quoted(target / 'data.parquet')} (FORMAT parquet)")
    return count


class NothingToExport(RuntimeError):
    """The database holds no alerts: an export would replace a good one with an empty one."""


def _has_export(out: Path) -> bool:
    alerts = out / "alerts"
    return alerts.is_dir() and any(alerts.iterdir())


def export_parquet(db: str, directory: str | os.PathLike) -> dict[str, int]:
    """Write every exported table under `directory`/<table>/, replacing an earlier export table by table.

    Everything is written first into a hidden temporary directory beside the tables, from one
    read snapshot; only then is each table's directory swapped in by rename, so a reader sees a
    table's old files or its new ones, never a half-written mix, and a failed export changes nothing.
    A missing database, or one without alerts where an export with alerts exists, changes nothing
    either (DatabaseError, NothingToExport): a mistyped path must not empty a good export.
    """
    out = Path(directory)
    with reading(db) as con:  # before anything is written: a missing database is refused here
        out.mkdir(parents=True, exist_ok=True)
        staging = out / f".export-{uuid.uuid4().hex}"
        staging.mkdir()
    try:
        with reading(db) as con:
            if _has_export(out) and not con.execute("SELECT count(*) FROM alerts").fetchone()[0]:
                raise NothingToExport(f"database {display_name(db)} holds no alerts: the export in {out} "
                                      "was left as it is")
            counts = {table: _copy(con, table, staging / table) for table in (*PARTITIONED, *PLAIN)}
        _swap_in(staging, out, list(counts))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log.info("exported %s to %s", ", ".join(f"{t} {n}" for t, n in counts.items()), out)
    return counts


def _swap_in(staging: Path, out: Path, tables: list[str]) -> None:
    retired = staging / ".retired"
    retired.mkdir()
    for table in tables:
        current = out / table
        if current.exists():
            current.rename(retired / table)
        (staging / table).rename(current)

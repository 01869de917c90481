"""`python -m ingest export --parquet`: Hive-partitioned Parquet that DuckDB and pyarrow read back whole."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pytest

import store
from store.export import PARTITIONED, PLAIN
from tests.conftest import ROOT

# Rows of a second source whose local times fall on the other side of a month boundary in UTC.
EDGES = [
    ("a1", dt.datetime(2025, 12, 31, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))),  # 2026-01 UTC
    ("a2", dt.datetime(2026, 3, 1, 0, 30, tzinfo=dt.timezone(dt.timedelta(hours=2)))),  # 2026-02 UTC
    ("a3", dt.datetime(2026, 3, 1, 0, 30, tzinfo=dt.UTC)),
]


@pytest.fixture
def exported_db(tmp_path, demo_db) -> str:
    path = str(tmp_path / "alerts.duckdb")
    shutil.copy(demo_db, path)
    add_edge_rows(path, EDGES)
    return path


def add_edge_rows(db: str, edges) -> None:
    alerts = [{"source": "alertmanager", "source_id": sid, "title": "Disk full", "signature": "DiskFull|db",
               "team": "storage", "created_at": at, "labels": '{"team": "storage"}', "raw": '{"x": 1}',
               "ingested_at": at} for sid, at in edges]
    events = [{"source": "alertmanager", "event_id": f"{sid}:trigger", "alert_source_id": sid, "type": "trigger",
               "occurred_at": at} for sid, at in edges]
    with store.writing(db) as con:
        store.upsert(con, "alerts", pa.Table.from_pylist(alerts))
        store.upsert(con, "events", pa.Table.from_pylist(events))


def db_counts(db: str, table: str) -> list[tuple]:
    at = PARTITIONED[table]
    with store.reading(db) as con:
        return con.execute(
            f"SELECT source, year(timezone('UTC', {at})), month(timezone('UTC', {at})), count(*) "
            f"FROM {table} GROUP BY ALL ORDER BY ALL").fetchall()


def parquet_counts(directory, table: str) -> list[tuple]:
    return duckdb.sql(
        f"SELECT source, year, month, count(*) FROM read_parquet('{directory}/{table}/**/*.parquet', "
        "hive_partitioning = true) GROUP BY ALL ORDER BY ALL").fetchall()


def arrow_counts(directory, table: str) -> list[tuple]:
    dataset = ds.dataset(directory / table, format="parquet", partitioning="hive")
    grouped = dataset.to_table().group_by(["source", "year", "month"]).aggregate([([], "count_all")])
    return sorted(tuple(row.values()) for row in grouped.to_pylist())


def test_partitioned_tables_read_back_with_the_same_counts_per_source_and_month(tmp_path, exported_db):
    out = tmp_path / "lake"
    counts = store.export.export_parquet(exported_db, out)
    for table in PARTITIONED:
        expected = db_counts(exported_db, table)
        assert parquet_counts(out, table) == expected, table
        assert arrow_counts(out, table) == expected, table
        assert sum(n for *_, n in expected) == counts[table] > 0
    am = [row for row in parquet_counts(out, "alerts") if row[0] == "alertmanager"]
    assert am == [("alertmanager", 2026, 1, 1), ("alertmanager", 2026, 2, 1), ("alertmanager", 2026, 3, 1)]
    assert (out / "alerts" / "source=alertmanager" / "year=2026" / "month=1").is_dir()


def test_every_alert_value_survives_the_round_trip(tmp_path, exported_db):
    out = tmp_path / "lake"
    store.export.export_parquet(exported_db, out)
    with store.reading(exported_db) as con:
        columns = [r[0] for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'alerts' ORDER BY ordinal_position"
        ).fetchall()]
        stored = con.execute("SELECT * FROM alerts ORDER BY source, source_id").fetchall()
    select = ", ".join(f"{c}::JSON AS {c}" if c in ("labels", "raw") else c for c in columns)
    back = duckdb.sql(f"SELECT {select} FROM read_parquet('{out}/alerts/**/*.parquet', hive_partitioning = true) "
                      "ORDER BY source, source_id").fetchall()
    assert back == stored


def test_small_tables_are_plain_files_with_every_row(tmp_path, exported_db):
    out = tmp_path / "lake"
    counts = store.export.export_parquet(exported_db, out)
    for table in PLAIN:
        with store.reading(exported_db) as con:
            expected = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        assert ds.dataset(out / table / "data.parquet").count_rows() == expected == counts[table]
    assert counts["reviews"] > 0 and counts["people"] > 0


def test_a_second_export_replaces_the_first_and_leaves_other_files_alone(tmp_path, exported_db):
    out = tmp_path / "lake"
    store.export.export_parquet(exported_db, out)
    (out / "README.txt").write_text("ours")
    add_edge_rows(exported_db, [("b1", dt.datetime(2026, 4, 2, tzinfo=dt.UTC))])
    store.export.export_parquet(exported_db, out)
    assert parquet_counts(out, "alerts") == db_counts(exported_db, "alerts")  # replaced, not appended
    assert (out / "README.txt").read_text() == "ours"
    assert sorted(p.name for p in out.iterdir()) == sorted([*PARTITIONED, *PLAIN, "README.txt"])


def test_an_empty_database_exports_empty_table_directories(tmp_path):
    db = str(tmp_path / "empty.duckdb")
    with store.writing(db):
        pass
    counts = store.export.export_parquet(db, tmp_path / "lake")
    assert set(counts.values()) == {0}
    assert all((tmp_path / "lake" / t).is_dir() for t in counts)


def test_a_mistyped_or_empty_database_never_replaces_a_good_export(tmp_path, exported_db):
    """The reported case: a typo in --db created an empty database and replaced the export with an empty one."""
    out = tmp_path / "lake"
    store.export.export_parquet(exported_db, out)
    before = parquet_counts(out, "alerts")
    typo = tmp_path / "alerts.duckbd"
    done = subprocess.run([sys.executable, "-m", "ingest", "export", "--db", str(typo), "--parquet", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "does not exist" in done.stderr and done.stderr.count("\n") == 1
    assert not typo.exists() and parquet_counts(out, "alerts") == before
    empty = str(tmp_path / "empty.duckdb")
    with store.writing(empty):
        pass
    done = subprocess.run([sys.executable, "-m", "ingest", "export", "--db", empty, "--parquet", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "holds no alerts" in done.stderr and "left as it is" in done.stderr
    assert parquet_counts(out, "alerts") == before
    assert [p.name for p in out.iterdir() if p.name.startswith(".export-")] == []


def test_the_cli_exports_and_requires_a_directory(tmp_path, exported_db):
    out = tmp_path / "lake"
    done = subprocess.run([sys.executable, "-m", "ingest", "export", "--db", exported_db, "--parquet", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "alerts " in done.stdout and (out / "alerts").is_dir()
    usage = subprocess.run([sys.executable, "-m", "ingest", "export", "--db", exported_db],
                           cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert usage.returncode == 2 and "--parquet" in usage.stderr

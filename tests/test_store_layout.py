"""Alerts rewritten in created_at order: every row, column and figure kept, all or nothing, and status's advice."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from conftest import DEMO_END

import store
from ingest.cli import main as ingest_main
from store import layout
from tests.provider_servers import BASE_URLS, SECRETS, FakePagerDuty, pagerduty_history, serve

ROOT = Path(__file__).resolve().parent.parent


def shuffle(db: str) -> None:
    """Store the alerts in random order, as a backfill merged over a live history leaves them."""
    with store.writing(db) as con:
        con.execute("CREATE TABLE shuffled AS SELECT * FROM alerts")
        con.execute("DELETE FROM alerts")
    with store.writing(db) as con:  # a new transaction: the deleted keys may be inserted again
        con.execute("INSERT INTO alerts SELECT * FROM shuffled ORDER BY hash(source_id, source)")
        con.execute("DROP TABLE shuffled")


def stored(db: str) -> dict:
    """Everything `alerts` is: its definition, its rows in stored order, and whether they are in time order."""
    with store.reading(db) as con:
        return {
            "definition": con.execute("SELECT sql FROM duckdb_tables() WHERE table_name = 'alerts'").fetchone()[0],
            "tables": con.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall(),
            "rows": con.execute("SELECT * FROM alerts ORDER BY rowid").fetchall(),
            "in_time_order": con.execute(
                "SELECT bool_and(ordered) FROM (SELECT created_at >= lag(created_at, 1, created_at) "
                "OVER (ORDER BY rowid) AS ordered FROM alerts)").fetchone()[0],
        }


def report(db: str) -> dict:
    """The JSON report of the demo's last sprint as a whole process, what depends on the clock left out."""
    env = {k: v for k, v in os.environ.items() if k not in ("ALERTHYGIENE_DB", "ALERTHYGIENE_READ_MEMORY")}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, "-m", "metrics", "report", "--db", db, "--sprint", DEMO_END.date().isoformat(),
         "--format", "json"], env=env, capture_output=True, text=True, timeout=120, check=True)
    figures = json.loads(done.stdout)
    figures["generated"].pop("at")
    for fix in figures["fix_effects"]:  # fixes still being watched: their rates run up to now
        for clocked in ("days_after", "effect", "low", "high"):
            fix.pop(clocked)
    return figures


@pytest.fixture
def shuffled_demo(demo_db, tmp_path) -> str:
    db = str(tmp_path / "demo.duckdb")
    shutil.copy(demo_db, db)
    shuffle(db)
    return db


def test_rewrite_keeps_every_row_column_and_figure_and_puts_them_in_time_order(shuffled_demo):
    before, figures = stored(shuffled_demo), report(shuffled_demo)
    assert not before["in_time_order"]  # else the rewrite below proves nothing
    with store.writing(shuffled_demo) as con:
        layout.rewrite(con)
    after = stored(shuffled_demo)
    assert after["in_time_order"]
    assert after["definition"] == before["definition"]  # columns, defaults, compression, primary key
    assert after["tables"] == before["tables"]
    assert sorted(after["rows"], key=repr) == sorted(before["rows"], key=repr)
    assert report(shuffled_demo) == figures  # byte for byte, apart from when it was generated
    with store.writing(shuffled_demo) as con, pytest.raises(duckdb.ConstraintException):
        con.execute("INSERT INTO alerts SELECT * FROM alerts LIMIT 1")  # the primary key still holds


class FailsAt:
    """A connection whose statement containing `text` fails, as a full disk or a killed sort would."""

    def __init__(self, con, text: str):
        self.con, self.text = con, text

    def execute(self, sql, *args):
        if self.text in sql:
            raise duckdb.IOException("injected: no space left on device")
        return self.con.execute(sql, *args)


@pytest.mark.parametrize("failing", ["INSERT INTO alerts_in_time_order", "RENAME TO alerts"])
def test_a_failure_midway_leaves_the_table_as_it_was(shuffled_demo, failing):
    before = stored(shuffled_demo)
    with pytest.raises(duckdb.IOException), store.writing(shuffled_demo) as con:
        layout.rewrite(FailsAt(con, failing))  # the second fails after the old table was dropped
    assert stored(shuffled_demo) == before


def narrow_history(db: str, shuffled: bool, rows: int = 500_000) -> None:
    """Enough alerts to fill several row groups (DuckDB's are 122,880 rows), as few columns as allowed."""
    with store.writing(db) as con:
        con.execute(
            "INSERT INTO alerts (source, source_id, signature, created_at) "
            "SELECT 'demo', 'A' || i, 'svc|alert', TIMESTAMPTZ '2026-01-01' + to_seconds(i * 60) "
            "FROM range($rows) AS t(i) ORDER BY CASE WHEN $shuffled THEN hash(i) ELSE i END",
            {"rows": rows, "shuffled": shuffled})


def status(db: str, capsys) -> str:
    assert ingest_main(["status", "--db", db]) == 0
    return capsys.readouterr().out


def test_status_advises_a_reorder_only_when_period_reads_scan_more_and_reorder_runs_once(tmp_path, capsys,
                                                                                         monkeypatch):
    ordered, shuffled = str(tmp_path / "ordered.duckdb"), str(tmp_path / "shuffled.duckdb")
    narrow_history(ordered, shuffled=False)
    narrow_history(shuffled, shuffled=True)
    assert "out of time order" not in status(ordered, capsys)
    advice = status(shuffled, capsys).splitlines()[-1]
    assert advice.startswith("out of time order: a moment of the alerts' history is spread over 5.0 of 5 row groups")
    assert advice.endswith(f"Run: python -m ingest reorder --db {shuffled}")
    history = pagerduty_history(1, dt.datetime(2026, 11, 20, tzinfo=dt.UTC), 3600, open_last=0)
    with serve(FakePagerDuty("pd-token", history)) as url:  # a sync says so too, where it happened
        monkeypatch.setenv(SECRETS["pagerduty"], "pd-token")
        monkeypatch.setenv(BASE_URLS["pagerduty"], url)
        for db, advised in ((ordered, False), (shuffled, True)):
            assert ingest_main(["sync", "--db", db, "--source", "pagerduty", "--since", "2026-11-20",
                                "--until", "2026-11-21"]) == 0
            printed = capsys.readouterr()
            assert printed.out.startswith("pagerduty: ok, ") and "alerts 1" in printed.out
            if advised:  # the same sentence status prints, once, on stderr
                assert printed.err.count("\n") == 1 and printed.err.startswith(advice[:advice.index("5.0")])
                assert printed.err.endswith(f"Run: python -m ingest reorder --db {db}\n")
            else:
                assert printed.err == ""
    export = tmp_path / "incidents.csv"
    export.write_text("ID,Title,Created On\nP1,Disk full,2026-03-02T09:00:00Z\n")
    for db, advised in ((ordered, False), (shuffled, True)):  # an import says so where it happened
        assert ingest_main(["import", str(export), "--format", "pagerduty-csv", "--db", db]) == 0
        assert ("Run: python -m ingest reorder" in capsys.readouterr().err) is advised

    assert ingest_main(["reorder", "--db", shuffled]) == 0
    assert capsys.readouterr().out.startswith("rewrote 500,002 alerts in created_at order in ")
    assert "out of time order" not in status(shuffled, capsys)
    with store.reading(shuffled) as con:
        assert layout.layout(con) == layout.Layout(rows=500_002, row_groups=5, spread=1.0)
    assert ingest_main(["reorder", "--db", shuffled]) == 0  # a second run leaves it alone
    assert capsys.readouterr().out == "500,002 alerts are already stored in created_at order: nothing to do\n"


def test_reorder_refuses_a_missing_database_and_a_bad_memory_size(tmp_path, capsys):
    missing = str(tmp_path / "typo.duckdb")
    assert ingest_main(["reorder", "--db", missing]) == 2
    assert "does not exist" in capsys.readouterr().err and not Path(missing).exists()
    db = str(tmp_path / "small.duckdb")
    narrow_history(db, shuffled=True, rows=10)
    assert ingest_main(["reorder", "--db", db, "--memory", "1GB; DROP TABLE alerts"]) == 2
    assert capsys.readouterr().err.startswith("error: --memory: not a memory size")


def test_a_reorder_killed_while_its_sort_spills_leaves_the_table_as_it_was_its_spill_goes_and_a_rerun_completes(
        tmp_path, capsys):
    db = str(tmp_path / "killed.duckdb")
    narrow_history(db, shuffled=True, rows=200_000)
    before = stored(db)
    reorder = subprocess.Popen([sys.executable, "-m", "ingest", "reorder", "--db", db, "--memory", "32MB"],
                               cwd=ROOT, stdout=subprocess.DEVNULL)
    spill = layout.spill_directory(db)  # the sort spills there, long before the commit
    deadline = time.monotonic() + 60
    while reorder.poll() is None and not (spill.exists() and any(spill.iterdir())) and time.monotonic() < deadline:
        time.sleep(0.005)
    reorder.send_signal(signal.SIGSTOP)  # frozen mid-sort, holding the file as a live reorder does
    assert reorder.poll() is None, "the reorder ended before its sort spilled"
    with pytest.raises(store.DatabaseBusy):  # a live reorder's spill is never another writer's to remove
        with store.writing(db, timeout_s=0.2):
            pass
    assert any(spill.iterdir()) and not Path(db + ".tmp").exists()  # not where readers spill
    reorder.send_signal(signal.SIGKILL)
    reorder.wait(timeout=30)
    assert any(spill.iterdir()), "the killed sort left nothing to clean up"
    assert stored(db) == before
    with store.writing(db):  # the next write turn, whatever it writes, removes what the dead run left
        pass
    assert not spill.exists()
    assert ingest_main(["reorder", "--db", db]) == 0
    assert capsys.readouterr().out.startswith("rewrote 200,000 alerts")
    after = stored(db)
    assert after["in_time_order"] and sorted(after["rows"]) == sorted(before["rows"])
    assert not spill.exists() and not Path(db + ".tmp").exists()  # a finished sort leaves nothing behind


def test_a_reorder_out_of_memory_says_so_in_one_line_and_keeps_the_table(tmp_path, capsys):
    db = str(tmp_path / "tight.duckdb")
    narrow_history(db, shuffled=True, rows=200_000)
    before = stored(db)
    assert ingest_main(["reorder", "--db", db, "--memory", "1MB"]) == 1
    assert capsys.readouterr().err == ("error: reorder needs more than --memory 1MB here; the alerts are left as "
                                       "they were: try a larger --memory\n")
    assert stored(db) == before

"""Commands and the app on a bad database or bad dates: one line, the right exit code, nothing created or changed."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

import store
from tests.apptest import new_app, open_page
from tests.conftest import ROOT


def run(*argv: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *argv], cwd=ROOT, capture_output=True, text=True, timeout=180,
                          env={**os.environ, **(env or {})})


def one_line(done: subprocess.CompletedProcess) -> str:
    err = done.stderr.strip()
    assert err and "\n" not in err and "Traceback" not in err, done.stderr
    return err


@pytest.fixture
def newer_db(tmp_path, demo_db) -> str:
    """The demo database, as if a newer version of the program had migrated it."""
    db = str(tmp_path / "newer.duckdb")
    shutil.copy(demo_db, db)
    con = duckdb.connect(db)
    con.execute("INSERT INTO schema_version VALUES (?, 'from a newer version', now())", [store.LATEST_VERSION + 1])
    con.close()
    return db


def _fingerprint(db: str) -> tuple:
    con = duckdb.connect(db, read_only=True)
    try:
        return con.execute("SELECT (SELECT count(*) FROM alerts), (SELECT count(*) FROM ingest_runs), "
                           "(SELECT max(version) FROM schema_version)").fetchone()
    finally:
        con.close()


def test_every_command_refuses_a_database_of_a_newer_schema_in_one_line_and_changes_nothing(newer_db, tmp_path):
    before = _fingerprint(newer_db)
    export = tmp_path / "export.csv"
    export.write_text("ID,Title,Created On\nP1,Disk full,2026-03-02T09:00:00Z\n")
    commands = [
        ("ingest", "status", "--db", newer_db),
        ("ingest", "import", str(export), "--format", "pagerduty-csv", "--db", newer_db),
        ("ingest", "export", "--db", newer_db, "--parquet", str(tmp_path / "lake")),
        ("ingest", "demo", "--db", newer_db, "--days", "3"),
        ("ingest", "reorder", "--db", newer_db),
        ("metrics", "report", "--db", newer_db, "--from", "2026-01-01", "--to", "2026-02-01"),
    ]
    for argv in commands:
        done = run(*argv)
        assert done.returncode in (1, 2), (argv, done.stdout, done.stderr)
        message = one_line(done)
        assert f"schema version {store.LATEST_VERSION + 1}" in message and "upgrade" in message, argv
    assert _fingerprint(newer_db) == before
    assert not (tmp_path / "lake" / "alerts").exists()


def test_the_app_refuses_a_database_of_a_newer_schema_in_one_line(newer_db, monkeypatch):
    app = new_app(monkeypatch, newer_db).run()
    assert not app.exception
    [error] = app.error
    assert f"schema version {store.LATEST_VERSION + 1}" in error.value and "upgrade" in error.value


def test_read_commands_on_a_mistyped_database_create_nothing(tmp_path, monkeypatch):
    typo = tmp_path / "dta" / "alerts.duckdb"
    done = run("ingest", "status", "--db", str(typo))
    assert done.returncode == 2 and "does not exist" in one_line(done)
    done = run("metrics", "report", "--db", str(typo))
    assert done.returncode == 2 and "does not exist" in one_line(done)
    app = new_app(monkeypatch, str(typo)).run()
    assert not app.exception and "does not exist" in app.error[0].value
    assert not (tmp_path / "dta").exists()


def test_a_reader_that_stops_early_gets_no_traceback(demo_db):
    """`python -m ingest status | head -1`: the pipe closes before the command has printed."""
    done = subprocess.Popen([sys.executable, "-m", "ingest", "status", "--db", demo_db], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    done.stdout.close()  # long before the command writes its first line
    err = done.stderr.read()
    assert done.wait(timeout=180) == 1 and err == "", err


@pytest.mark.parametrize("argv", [
    ("--from", "0001-01-01", "--to", "2026-02-01"),
    ("--from", "2026-01-01", "--to", "9999-12-31"),
    ("--sprint", "9999-12-31"),
])
def test_report_dates_out_of_range_get_one_line(demo_db, argv):
    done = run("metrics", "report", "--db", demo_db, *argv)
    assert done.returncode == 2 and "expected a date from 1970 to 2200" in one_line(done)


def test_sync_dates_out_of_range_get_one_line(db):
    done = run("ingest", "sync", "--db", db, "--since", "0001-01-01")
    assert done.returncode == 2 and "expected a date from 1970 to 2200" in done.stderr
    assert not Path(db).exists()


def test_a_url_with_a_date_far_in_the_future_shows_the_page_not_an_overflow(demo_db, monkeypatch):
    app = open_page(monkeypatch, demo_db, **{"from": "2026-01-01", "to": "9999-12-31"})
    assert not app.exception
    assert not [e for e in app.error if "Overflow" in e.value]
    assert app.title and app.title[0].value == "Overview" and app.metric  # the default sprint, with figures


def test_a_database_path_that_cannot_be_a_directory_gets_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    done = run("ingest", "demo", "--db", str(blocker / "alerts.duckdb"), "--days", "3")
    assert done.returncode in (1, 2) and "cannot create" in one_line(done)


def test_a_provider_that_never_answers_is_reported_within_the_read_timeout_with_each_retry(tmp_path, db):
    """The reported case: a socket that accepts and never answers left a sync silent for 206 s."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)  # accepts (the kernel does), never reads, never answers
    config = tmp_path / "alerthygiene.toml"
    config.write_text("[providers.oncall]\ntimeout_s = 1\nconnect_timeout_s = 1\nmax_attempts = 3\n"
                      "backoff_base_s = 0.1\n")
    env = {"GRAFANA_ONCALL_TOKEN": "never-answers-4e4e", "GRAFANA_ONCALL_URL": f"http://127.0.0.1:{listener.getsockname()[1]}"}
    began = time.monotonic()
    try:
        process = subprocess.Popen([sys.executable, "-m", "ingest", "sync", "--db", db, "--config", str(config),
                                    "--source", "oncall"], cwd=ROOT, env={**os.environ, **env},
                                   stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        first = process.stderr.readline()
        said_at = time.monotonic() - began
        rest = process.communicate(timeout=120)
    finally:
        listener.close()
    assert "no answer within 1s; retrying" in first and "(attempt 2 of 3)" in first
    assert said_at < 15  # within the timeout (plus the interpreter's start), not after every attempt
    assert process.returncode == 1 and "failed after 3 attempts: no answer within 1s" in rest[1]
    assert "never-answers-4e4e" not in first + rest[0] + rest[1]

"""The catalog: team names and each source's last sync."""

from __future__ import annotations

import datetime as dt

import reads
from metrics_fixtures import T0, alert, at, build, person


def test_teams_and_sources(tmp_path):
    runs = [
        {"run_id": "r1", "source": "pagerduty", "started_at": T0, "finished_at": at(5), "status": "ok"},
        {"run_id": "r2", "source": "pagerduty", "started_at": at(60), "finished_at": at(61), "status": "partial"},
        # A run that moved its cursor, then failed: the source has not synced (one definition, with ingest status).
        {"run_id": "r3", "source": "opsgenie", "started_at": at(29), "finished_at": at(31), "status": "failed"},
    ]
    state = [{"source": "opsgenie", "stream": "alerts", "cursor": "x", "updated_at": at(30)}]
    db = build(
        tmp_path / "c.duckdb",
        alerts=[alert(at(1), team="web"), alert(at(2), team="core"), alert(at(3), source="csv", team="core")],
        people=[person("ann", team="data")],
        ingest_runs=runs,
        sync_state=state,
    )
    assert reads.teams(db) == ["core", "data", "web"]
    sources = reads.sources(db)
    assert sorted(sources) == ["csv", "opsgenie", "pagerduty"]
    assert sources["pagerduty"]["last_sync"] == at(61) and sources["pagerduty"]["last_status"] == "partial"
    assert sources["opsgenie"]["last_sync"] is None and sources["opsgenie"]["last_status"] == "failed"
    assert sources["csv"]["last_sync"] is None and sources["csv"]["alerts"] == 1
    assert sources["pagerduty"]["last_sync"].tzinfo is not None
    assert isinstance(sources["csv"]["last_ingested_at"], dt.datetime)

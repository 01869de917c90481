"""Response times: TTA/TTR median, mean and p90, unacknowledged, auto-resolved, scope filters."""

from __future__ import annotations

import datetime as dt

import pytest
import reads
from metrics_fixtures import T0, alert, at, build

import metrics
from settings import Settings

S = Settings()
P = metrics.sprint_period(S, T0.date())


@pytest.fixture
def db(tmp_path):
    rows = [
        alert(at(10), ack_s=60, resolve_s=600, auto_resolved=False),
        alert(at(20), ack_s=180, resolve_s=1200),
        alert(at(30), ack_s=300),
        alert(at(40), resolve_s=100, auto_resolved=True),
        alert(at(50)),
        # Outside the period or the team: never counted.
        alert(P.start - dt.timedelta(days=1), ack_s=1, resolve_s=2),
        alert(P.end, ack_s=1, resolve_s=2),
        alert(at(60), ack_s=5000, resolve_s=9000, team="web", service="web"),
    ]
    return build(tmp_path / "r.duckdb", alerts=rows)


def test_tta_and_ttr_statistics(db):
    figures = reads.summary(db, P, team="core", settings=S)
    # TTA over the three acknowledged alerts: 60, 180, 300 s.
    assert figures["alerts"] == 5
    assert figures["tta_median_s"] == pytest.approx(180)
    assert figures["tta_mean_s"] == pytest.approx(180)
    assert figures["tta_p90_s"] == pytest.approx(180 + 0.8 * 120)  # position 1.8 of 0..2
    # TTR over the three resolved alerts: 100, 600, 1200 s.
    assert figures["ttr_median_s"] == pytest.approx(600)
    assert figures["ttr_mean_s"] == pytest.approx(1900 / 3)
    assert figures["ttr_p90_s"] == pytest.approx(600 + 0.8 * 600)


def test_unacknowledged_counts_resolved_alerts_only(db):
    assert reads.summary(db, P, team="core", settings=S)["unacknowledged"] == 1


def test_auto_resolved_counts_known_true_and_is_null_when_unknown(db):
    assert reads.summary(db, P, team="core", settings=S)["auto_resolved"] == 1
    # The web team's alert has no auto_resolved information at all.
    assert reads.summary(db, P, team="web", settings=S)["auto_resolved"] is None


def test_period_is_half_open_and_team_none_is_all_teams(db):
    figures = reads.summary(db, P, settings=S)
    assert figures["alerts"] == 6
    assert reads.summary(db, P, team="web", settings=S)["tta_median_s"] == pytest.approx(5000)


def test_service_filter(db):
    assert reads.summary(db, P, service="web", settings=S)["alerts"] == 1
    assert reads.summary(db, P, service="api", settings=S)["alerts"] == 5


def test_empty_period_gives_zero_counts_and_null_statistics(db):
    empty = metrics.between(T0.date().replace(year=2020), T0.date().replace(year=2021))
    figures = reads.summary(db, empty, settings=S)
    assert figures["alerts"] == 0 and figures["interruptions"] == 0
    assert figures["tta_median_s"] is None and figures["noise_ratio"] is None


def test_alert_list_has_per_alert_times(db):
    rows = reads.alert_list(db, P, team="core", settings=S)
    assert list(rows["tta_s"].head(3)) == [60, 180, 300]
    assert rows["ttr_s"].isna().sum() == 2


def test_one_read_of_the_sprint_figures_matches_reads_of_each(db):
    together = metrics.read(db, [*metrics.figure_names(), "noisy", "people_load", "new_signatures"],
                            metrics.Scope(P, "core"), S)
    assert {name: together[name] for name in metrics.figure_names()} == reads.summary(db, P, team="core", settings=S)
    assert together["noisy"].equals(reads.noisy(db, P, team="core", settings=S))
    assert together["people_load"].equals(reads.people_load(db, P, team="core", settings=S))
    assert together["new_signatures"].equals(reads.new_signatures(db, P, team="core", settings=S))

"""Trends: per-sprint and per-week series per team, change against the previous sprint, slope."""

from __future__ import annotations

import datetime as dt

import pytest
import reads
from metrics_fixtures import T0, alert, build

import metrics
from settings import Settings

S = Settings()
SPRINT = dt.timedelta(days=14)


def sprint_alerts(counts: list[int], team: str) -> list[dict]:
    """counts[i] alerts in the i-th of len(counts) sprints ending with T0's sprint."""
    rows = []
    for i, count in enumerate(counts):
        start = T0 - (len(counts) - 1 - i) * SPRINT
        rows += [alert(start + dt.timedelta(hours=1 + k), team=team, resolve_s=60) for k in range(count)]
    return rows


@pytest.fixture
def db(tmp_path):
    rows = sprint_alerts([3, 2, 1], "core") + sprint_alerts([0, 1, 2], "web")
    return build(tmp_path / "t.duckdb", alerts=rows)


def test_per_sprint_series_per_team_with_empty_sprints(db):
    series = reads.per_sprint(db, S, sprints=3, day=T0.date())
    core = series[series["team"] == "core"]
    web = series[series["team"] == "web"]
    assert list(core["alerts"]) == [3, 2, 1] and list(web["alerts"]) == [0, 1, 2]
    assert list(web["transient"]) == [0, 1, 2]
    assert web["noise_ratio"].isna().iloc[0]  # undefined over no alerts
    assert list(core["sprint_start"].dt.date) == [T0.date() - 2 * SPRINT, T0.date() - SPRINT, T0.date()]


def test_per_sprint_for_one_team_lists_it_even_when_silent(db):
    series = reads.per_sprint(db, S, sprints=5, team="web", day=T0.date())
    assert list(series["alerts"]) == [0, 0, 0, 1, 2] and set(series["team"]) == {"web"}


def test_per_week_series(db):
    weeks = reads.per_week(db, S, weeks=2, team="core", day=T0.date())
    # T0's sprint has one core alert, in its first week (T0 is a Monday).
    assert list(weeks["alerts"]) == [0, 1]
    assert list(weeks["week_start"].dt.date) == [T0.date() - dt.timedelta(days=7), T0.date()]


def test_trends_change_and_slope(db):
    trends = reads.trends(db, S, day=T0.date(), names=["alerts"]).set_index("team")
    assert trends.loc["core", "value"] == 1 and trends.loc["core", "previous"] == 2
    assert trends.loc["core", "change"] == -1
    # The slope is over the last six sprints, the three before these without alerts: core 0,0,0,3,2,1
    # (Sxy = 7, Sxx = 17.5) and web 0,0,0,0,1,2 (Sxy = 6.5).
    assert trends.loc["core", "slope"] == pytest.approx(7 / 17.5) and not trends.loc["core", "trending_down"]
    assert trends.loc["web", "slope"] == pytest.approx(6.5 / 17.5) and not trends.loc["web", "trending_down"]


def test_slope_is_least_squares_over_the_last_six_sprints(tmp_path):
    counts = [9, 1, 3, 2, 5, 4, 6]  # the first sprint is outside the last six
    db = build(tmp_path / "s.duckdb", alerts=sprint_alerts(counts, "core"))
    trend = reads.trends(db, S, day=T0.date(), names=["alerts"]).iloc[0]
    # x = 1..6, y = 1,3,2,5,4,6: Sxy = 15.5, Sxx = 17.5
    assert trend["slope"] == pytest.approx(15.5 / 17.5)
    assert trend["change"] == 2


def test_compare_gives_the_change_against_the_previous_sprint(db):
    period = metrics.sprint_period(S, T0.date())
    compared = reads.compare(db, period, team="core", settings=S)
    assert compared.loc["alerts", "value"] == 1 and compared.loc["alerts", "previous"] == 2
    assert compared.loc["alerts", "change"] == -1


def test_previous_period_of_a_sprint_and_of_a_custom_range():
    period = metrics.sprint_period(S, T0.date())
    assert metrics.previous(period) == metrics.sprint_period(S, T0.date() - SPRINT)
    custom = metrics.between(dt.datetime(2026, 3, 1, 6, tzinfo=dt.UTC), dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC))
    assert metrics.previous(custom).start == dt.datetime(2026, 3, 1, 3, tzinfo=dt.UTC)


def test_sprints_follow_local_midnight_in_the_configured_zone():
    from dataclasses import replace

    berlin = replace(S, default_time_zone="Europe/Berlin")
    period = metrics.sprint_period(berlin, dt.date(2026, 3, 20))  # 16 Mar - 30 Mar, DST on 29 Mar
    assert period.start == dt.datetime(2026, 3, 15, 23, tzinfo=dt.UTC)
    assert period.end == dt.datetime(2026, 3, 29, 22, tzinfo=dt.UTC)


def test_a_sprint_in_progress_is_compared_pro_rata(tmp_path):
    before, now = T0 - SPRINT, T0 + dt.timedelta(days=4)
    rows = [alert(before + dt.timedelta(days=d), team="core", resolve_s=60) for d in (1, 3, 5, 10)]
    rows += [alert(T0 + dt.timedelta(days=d), team="core", resolve_s=60) for d in (1, 2)]
    db = build(tmp_path / "p.duckdb", alerts=rows)
    period = metrics.sprint_period(S, T0.date())
    # Four days in: 2 alerts so far against the 2 of the previous sprint's first four days (not all 4).
    so_far = reads.compare(db, period, settings=S, as_of=now)
    assert (so_far.loc["alerts", "value"], so_far.loc["alerts", "previous"], so_far.loc["alerts", "change"]) == (2, 2, 0)
    finished = reads.compare(db, period, settings=S, as_of=T0 + 2 * SPRINT)
    assert (finished.loc["alerts", "previous"], finished.loc["alerts", "change"]) == (4, -2)
    assert metrics.elapsed_share(period, now) == pytest.approx(4 / 14)
    assert metrics.in_progress(period, now) and not metrics.in_progress(period, T0 + SPRINT)


def test_a_sprint_in_progress_is_left_out_of_the_slope(tmp_path):
    counts = [1, 2, 3, 4, 5, 6, 0]  # the last sprint (T0's) has only just begun
    db = build(tmp_path / "s.duckdb", alerts=sprint_alerts(counts, "core"))
    early = reads.trends(db, S, day=T0.date(), names=["alerts"], as_of=T0 + dt.timedelta(hours=2))
    assert early.iloc[0]["slope"] == pytest.approx(1.0) and early.iloc[0]["value"] == 6
    over = reads.trends(db, S, day=T0.date(), names=["alerts"], as_of=T0 + SPRINT)
    assert over.iloc[0]["value"] == 0 and over.iloc[0]["slope"] < 1


def test_free_dates_trend_by_day_or_by_week_over_the_chosen_dates(tmp_path):
    rows = [alert(T0 + dt.timedelta(days=d, hours=3), team="core", resolve_s=60) for d in (0, 0, 2, 9, 38)]
    db = build(tmp_path / "d.duckdb", alerts=rows)
    ten_days = reads.series_over(db, metrics.between(T0, T0 + dt.timedelta(days=10)), settings=S)
    assert list(ten_days["alerts"]) == [2, 0, 1, 0, 0, 0, 0, 0, 0, 1]
    assert ten_days["start"].iloc[0] == T0 and set(ten_days["days"]) == {1.0}
    forty_days = reads.series_over(db, metrics.between(T0, T0 + dt.timedelta(days=40)), settings=S)
    assert list(forty_days["alerts"]) == [3, 1, 0, 0, 0, 1]  # 7-day steps from the first date
    assert list(forty_days["days"]) == [7, 7, 7, 7, 7, 5]

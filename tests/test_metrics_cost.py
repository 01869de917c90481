"""Cost: hours lost per signature, projected saving over the last 3 sprints, payback ranking."""

from __future__ import annotations

import datetime as dt

import pytest
from metrics_fixtures import T0, alert, build, page

import metrics
from settings import Settings

S = Settings()
SPRINT = dt.timedelta(days=14)
LAST = T0 - SPRINT  # the sprint before T0's


def when(base: dt.datetime, days: int, hour: int) -> dt.datetime:
    return base + dt.timedelta(days=days, hours=hour)


@pytest.fixture
def db(tmp_path):
    # C, in the last complete sprint: 1 h + 4 h (capped) handling; pages 0.25 + 0.25 + 1 + 0.5 h.
    c1 = alert(when(LAST, 1, 10), ack_s=60, resolve_s=60 + 3600, signature="c|cost")  # Tue 10:00
    c2 = alert(when(LAST, 1, 23), ack_s=0, resolve_s=5 * 3600, signature="c|cost", acknowledged_by="ann")
    c3 = alert(when(LAST, 5, 12), resolve_s=100, signature="c|cost")  # Saturday noon, nobody acked
    # D, two sprints back: 2 h handling + one business-hours fallback page (0.25 h).
    d1 = alert(when(T0 - 2 * SPRINT, 2, 10), ack_s=0, resolve_s=7200, signature="d|cheap")
    # E: unestimated.
    e1 = alert(when(LAST, 2, 23), ack_s=0, resolve_s=600, signature="e|unestimated")
    notes = [page(c1, "ann"), page(c1, "bob", 10, "sms"), page(c1, "cat", 0, "email")]
    estimates = [
        {"signature": "c|cost", "hours": 14.0, "estimated_at": T0},
        {"signature": "d|cheap", "hours": 1.5, "estimated_at": T0},
    ]
    return build(tmp_path / "c.duckdb", alerts=[c1, c2, c3, d1, e1], notifications=notes,
                 fix_estimates=estimates)


def test_hours_lost_per_signature(db):
    period = metrics.sprint_period(S, LAST.date())
    lost = metrics.hours_lost(db, period, settings=S).set_index("signature")
    assert lost.loc["c|cost", "interruptions"] == 4
    assert lost.loc["c|cost", "handling_hours"] == pytest.approx(5.0)
    assert lost.loc["c|cost", "interruption_hours"] == pytest.approx(0.25 + 0.25 + 1 + 0.5)
    assert lost.loc["c|cost", "hours_lost"] == pytest.approx(7.0)
    figures = metrics.summary(db, period, settings=S)
    # e1: 10 min handling + a sleep-hours fallback page.
    assert figures["hours_lost"] == pytest.approx(7.0 + 600 / 3600 + 1)


def test_fix_planner_ranks_by_payback_unestimated_last(db):
    plan = metrics.fix_planner(db, day=T0.date(), settings=S)
    assert list(plan["signature"]) == ["d|cheap", "c|cost", "e|unestimated"]
    rows = plan.set_index("signature")
    assert rows.loc["c|cost", "projected_saving_h"] == pytest.approx(7.0 / 3)
    assert rows.loc["c|cost", "payback_sprints"] == pytest.approx(14.0 / (7.0 / 3))
    assert rows.loc["d|cheap", "payback_sprints"] == pytest.approx(1.5 / (2.25 / 3))
    assert rows["payback_sprints"].isna()["e|unestimated"]


def test_fix_planner_uses_the_three_complete_sprints_before_the_current_one(db):
    # Two sprints after T0's, the window is T0's sprint, the one before and the one after.
    plan = metrics.fix_planner(db, day=(T0 + 2 * SPRINT).date(), settings=S).set_index("signature")
    assert "d|cheap" not in plan.index  # its sprint is now four back
    # In C's own (current, unfinished) sprint, C does not count yet.
    assert "c|cost" not in set(metrics.fix_planner(db, day=LAST.date(), settings=S)["signature"])
    assert plan.loc["c|cost", "projected_saving_h"] == pytest.approx(7.0 / 3)


def test_hours_lost_by_signature_sums_to_the_total(db):
    period = metrics.sprint_period(S, LAST.date())
    by_signature = metrics.hours_lost(db, period, settings=S)
    assert by_signature["hours_lost"].sum() == pytest.approx(metrics.summary(db, period, settings=S)["hours_lost"])
    assert list(by_signature["signature"]) == ["c|cost", "e|unestimated"]  # most hours first

"""Cost: hours lost per signature, noise hours, alert and cause fixes' savings, payback ranking."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
import reads
from metrics_fixtures import T0, alert, build, page, review

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
        {"signature": "c|cost", "fix_kind": "alert", "hours": 14.0, "estimated_at": T0},
        {"signature": "d|cheap", "fix_kind": "alert", "hours": 1.5, "estimated_at": T0},
    ]
    return build(tmp_path / "c.duckdb", alerts=[c1, c2, c3, d1, e1], notifications=notes,
                 fix_estimates=estimates)


def test_hours_lost_per_signature(db):
    period = metrics.sprint_period(S, LAST.date())
    lost = reads.hours_lost(db, period, settings=S).set_index("signature")
    assert lost.loc["c|cost", "interruptions"] == 4
    assert lost.loc["c|cost", "handling_hours"] == pytest.approx(5.0)
    assert lost.loc["c|cost", "interruption_hours"] == pytest.approx(0.25 + 0.25 + 1 + 0.5)
    assert lost.loc["c|cost", "hours_lost"] == pytest.approx(7.0)
    figures = reads.summary(db, period, settings=S)
    # e1: 10 min handling + a sleep-hours fallback page.
    assert figures["hours_lost"] == pytest.approx(7.0 + 600 / 3600 + 1)


def test_fix_planner_ranks_by_payback_unestimated_last(db):
    """Without verdicts, only c3 (transient, unacknowledged: 0.5 h off-hours page) is noise.

    c1 and c2 were acknowledged and handled, d1 and e1 too: their hours are lost, but an alert
    fix would not save them.
    """
    plan = reads.fix_planner(db, day=T0.date(), settings=S)
    assert list(plan["signature"]) == ["c|cost", "d|cheap", "e|unestimated"]
    assert set(plan["fix_kind"]) == {"alert"}  # nothing reviewed actionable: no cause fix offered
    rows = plan.set_index("signature")
    assert rows.loc["c|cost", "hours_lost"] == pytest.approx(7.0)
    assert rows.loc["c|cost", "noise_hours"] == pytest.approx(0.5)
    assert rows.loc["c|cost", "projected_saving_h"] == pytest.approx(0.5 / 3)
    assert rows.loc["c|cost", "payback_sprints"] == pytest.approx(14.0 / (0.5 / 3))
    assert rows.loc["d|cheap", "projected_saving_h"] == 0 and pd.isna(rows.loc["d|cheap", "payback_sprints"])
    assert pd.isna(rows.loc["e|unestimated", "estimate_h"])


def test_fix_planner_uses_the_three_complete_sprints_before_the_current_one(db):
    # Two sprints after T0's, the window is T0's sprint, the one before and the one after.
    plan = reads.fix_planner(db, day=(T0 + 2 * SPRINT).date(), settings=S).set_index("signature")
    assert "d|cheap" not in plan.index  # its sprint is now four back
    # In C's own (current, unfinished) sprint, C does not count yet.
    assert "c|cost" not in set(reads.fix_planner(db, day=LAST.date(), settings=S)["signature"])
    assert plan.loc["c|cost", "projected_saving_h"] == pytest.approx(0.5 / 3)


@pytest.fixture
def kinds_db(tmp_path):
    """Three finished sprints before T0 (a Monday): S3 from T0-42d, S2 from T0-28d, S1 = LAST.

    k|checkout fires in each (a repeat offender) and was reviewed actionable in today's retro:
      k1 S3 Tue 10:00 transient (2 min, unacked), fallback page 0.25 h          = 0.25 h
      k2 S2 Wed 10:00 acked at once, resolved after 30 min: 0.5 h + 0.25 h page = 0.75 h
      k3 S1 Thu 10:00 acked at once, resolved after 60 min: 1.0 h + 0.25 h page = 1.25 h
    n|tuning fires once in S1 (Tue 10:00, acked, 30 min): 0.75 h, reviewed needs-tuning.
    a|once fires once in S1 (Wed 10:00, transient): 0.25 h, reviewed actionable, not a repeat offender.
    """
    s3, s2 = T0 - 3 * SPRINT, T0 - 2 * SPRINT
    k1 = alert(when(s3, 1, 10), resolve_s=120, signature="k|checkout")
    k2 = alert(when(s2, 2, 10), ack_s=0, resolve_s=1800, signature="k|checkout")
    k3 = alert(when(LAST, 3, 10), ack_s=0, resolve_s=3600, signature="k|checkout")
    n1 = alert(when(LAST, 8, 10), ack_s=0, resolve_s=1800, signature="n|tuning")
    a1 = alert(when(LAST, 9, 10), resolve_s=60, signature="a|once")
    last = metrics.sprint_period(S, LAST.date())
    retro = T0 + dt.timedelta(hours=1)
    reviews = [
        review("k|checkout", "actionable", retro, period=last),
        review("n|tuning", "needs-tuning", retro, period=last),
        review("a|once", "actionable", retro, period=last),
    ]
    estimates = [{"signature": "k|checkout", "fix_kind": "cause", "hours": 3.0, "estimated_at": retro,
                  "note": "retry budget", "estimated_by": "kim"}]
    return build(tmp_path / "k.duckdb", alerts=[k1, k2, k3, n1, a1], reviews=reviews, fix_estimates=estimates)


def test_projected_saving_of_an_actionable_signature_is_zero_as_an_alert_fix_and_all_as_a_cause_fix(kinds_db):
    plan = reads.fix_planner(kinds_db, day=T0.date(), settings=S)
    rows = plan.set_index(["signature", "fix_kind"])
    # k1 is transient, but the team called the signature actionable: not noise.
    assert rows.loc[("k|checkout", "alert"), "noise_hours"] == 0
    assert rows.loc[("k|checkout", "alert"), "projected_saving_h"] == 0
    assert rows.loc[("k|checkout", "cause"), "hours_lost"] == pytest.approx(2.25)
    assert rows.loc[("k|checkout", "cause"), "projected_saving_h"] == pytest.approx(0.75)
    assert rows.loc[("k|checkout", "cause"), "payback_sprints"] == pytest.approx(4.0)
    assert rows.loc[("k|checkout", "cause"), "estimated_by"] == "kim"
    assert rows.loc[("k|checkout", "cause"), "estimate_note"] == "retry budget"
    # needs-tuning makes an acknowledged alert noise: an alert fix saves its 0.75 h over 3 sprints.
    assert rows.loc[("n|tuning", "alert"), "projected_saving_h"] == pytest.approx(0.25)
    assert ("n|tuning", "cause") not in rows.index
    # Actionable but not in every sprint: no cause fix, and the alert fix saves nothing.
    assert rows.loc[("a|once", "alert"), "projected_saving_h"] == 0
    assert ("a|once", "cause") not in rows.index
    assert plan.iloc[0][["signature", "fix_kind"]].tolist() == ["k|checkout", "cause"]  # the only payback


def test_an_alerts_own_verdict_still_counts_under_an_actionable_signature(kinds_db, tmp_path):
    import store

    k3 = reads.alert_list(kinds_db, metrics.sprint_period(S, LAST.date()), settings=S)
    k3 = k3[k3["signature"] == "k|checkout"].iloc[0]
    store.retro.save_review(kinds_db, "k|checkout", "duplicate", alert=(k3["source"], k3["source_id"]),
                            reviewed_at=T0 + dt.timedelta(hours=2))
    rows = reads.fix_planner(kinds_db, day=T0.date(), settings=S).set_index(["signature", "fix_kind"])
    assert rows.loc[("k|checkout", "alert"), "noise_hours"] == pytest.approx(1.25)


def test_hours_lost_by_signature_sums_to_the_total(db):
    period = metrics.sprint_period(S, LAST.date())
    by_signature = reads.hours_lost(db, period, settings=S)
    assert by_signature["hours_lost"].sum() == pytest.approx(reads.summary(db, period, settings=S)["hours_lost"])
    assert list(by_signature["signature"]) == ["c|cost", "e|unestimated"]  # most hours first

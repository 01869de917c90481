"""Reviews: verdicts in force, the actionable rate, fix follow-through and time to fix."""

from __future__ import annotations

import datetime as dt

import pytest
from metrics_fixtures import T0, alert, build, review

import metrics
from settings import Settings

S = Settings()
P = metrics.sprint_period(S, T0.date())


def day(n: float) -> dt.datetime:
    return T0 + dt.timedelta(days=n)


def test_actionable_rate_with_verdicts_in_force_and_alert_overrides(tmp_path):
    a1, a2, a3, a4 = (alert(day(d), signature="a|sig") for d in (0.5, 2, 4, 5))
    b1 = alert(day(1), signature="b|sig")
    reviews = [
        review("a|sig", "noise", day(1)),  # covers a1 (reviewed in the retro) and a2
        review("a|sig", "actionable", day(3)),  # holds for a3 and a4
        review("a|sig", "duplicate", day(4.5), alert=a3),  # a3's own verdict overrides
    ]
    db = build(tmp_path / "v.duckdb", alerts=[a1, a2, a3, a4, b1], reviews=reviews)
    verdicts = metrics.alert_list(db, P, settings=S).set_index("source_id")["verdict"]
    assert [verdicts[a["source_id"]] for a in (a1, a2, a3, a4)] == ["noise", "noise", "duplicate", "actionable"]
    figures = metrics.summary(db, P, settings=S)
    assert figures["reviewed_alerts"] == 4
    assert figures["actionable_rate"] == pytest.approx(1 / 4)


def test_actionable_rate_is_null_without_reviews(tmp_path):
    db = build(tmp_path / "e.duckdb", alerts=[alert(day(1))])
    assert metrics.summary(db, P, settings=S)["actionable_rate"] is None


@pytest.fixture
def follow_db(tmp_path):
    rows = [
        alert(day(2), signature="f1|fixed"),
        alert(day(5), signature="f1|fixed"),
        alert(day(-3), signature="f2|firing"),
        alert(day(35), signature="f2|firing"),
        alert(day(-1), signature="f3|waiting"),
        alert(day(-1), signature="f4|silent"),
        alert(day(2), signature="f5|actionable"),
    ]
    reviews = [
        review("f1|fixed", "noise", day(0)),
        review("f2|firing", "needs-tuning", day(0)),
        review("f3|waiting", "noise", day(35)),
        review("f4|silent", "noise", day(0)),
        review("f5|actionable", "noise", day(0)),
        review("f5|actionable", "actionable", day(1)),
    ]
    return build(tmp_path / "f.duckdb", alerts=rows, reviews=reviews)


def test_follow_through_status_time_to_fix_and_sprints_open(follow_db):
    rows = metrics.follow_through(follow_db, as_of=day(40), settings=S).set_index("signature")
    assert set(rows.index) == {"f1|fixed", "f2|firing", "f3|waiting", "f4|silent"}
    assert rows.loc["f1|fixed", "status"] == "fixed"
    assert rows.loc["f1|fixed", "time_to_fix_s"] == pytest.approx(5 * 86400)
    assert rows.loc["f4|silent", "status"] == "fixed" and rows.loc["f4|silent", "time_to_fix_s"] == 0
    assert rows.loc["f2|firing", "status"] == "still firing"
    assert rows.loc["f2|firing", "sprints_open"] == 3  # 40 days open, 14-day sprints
    assert rows.loc["f3|waiting", "status"] == "waiting"


def test_still_firing_lists_only_signatures_that_fired_again(follow_db):
    firing = metrics.still_firing(follow_db, as_of=day(40), settings=S)
    assert list(firing["signature"]) == ["f2|firing"] and firing["alerts_since"].iloc[0] == 1
    # Before f2's refire it had been silent since the review, but not yet for a full sprint.
    early = metrics.follow_through(follow_db, as_of=day(10), settings=S).set_index("signature")
    assert early.loc["f2|firing", "status"] == "waiting"
    assert early.loc["f1|fixed", "status"] == "still firing"

"""Reviews: verdicts in force, the actionable rate, fix follow-through and time to fix."""

from __future__ import annotations

import datetime as dt

import pytest
import reads
from metrics_fixtures import T0, alert, build, review

import metrics
from settings import Settings

S = Settings()
P = metrics.sprint_period(S, T0.date())
P1, P2 = metrics.sprint_period(S, (T0 + dt.timedelta(days=14)).date()), metrics.sprint_period(
    S, (T0 + dt.timedelta(days=28)).date()
)


def day(n: float) -> dt.datetime:
    return T0 + dt.timedelta(days=n)


def verdicts_in(db: str, period) -> dict[str, str | None]:
    frame = reads.alert_list(db, period, settings=S)
    return {row.source_id: (None if row.verdict != row.verdict else row.verdict) for row in frame.itertuples()}


def test_actionable_rate_with_verdicts_in_force_and_alert_overrides(tmp_path):
    a1, a2, a3, a4 = (alert(day(d), signature="a|sig") for d in (0.5, 2, 4, 5))
    b1 = alert(day(1), signature="b|sig")
    reviews = [
        review("a|sig", "noise", day(1), period=P),  # looking at P: covers a1 (before it) and a2
        review("a|sig", "actionable", day(3)),  # given mid-sprint, no period: holds for a3 and a4
        review("a|sig", "duplicate", day(4.5), alert=a3),  # a3's own verdict overrides
    ]
    db = build(tmp_path / "v.duckdb", alerts=[a1, a2, a3, a4, b1], reviews=reviews)
    verdicts = reads.alert_list(db, P, settings=S).set_index("source_id")["verdict"]
    assert [verdicts[a["source_id"]] for a in (a1, a2, a3, a4)] == ["noise", "noise", "duplicate", "actionable"]
    figures = reads.summary(db, P, settings=S)
    assert figures["reviewed_alerts"] == 4
    assert figures["actionable_rate"] == pytest.approx(1 / 4)


def test_a_verdict_holds_from_the_start_of_the_period_its_reviewer_looked_at(tmp_path):
    """Three sprints P, P1, P2 of one signature, worked out by hand:

    r0 noise, given on day 15 in P's retro (looking at P): holds from day 0.
    r1 actionable, given on day 43 in P2's retro (looking at P2): holds from day 28.
    r2 duplicate, given on day 44 while looking at P again: holds from day 0 but r1,
       holding from a later moment, still decides P2.
    """
    e1, e2, f1, g1, g2 = (alert(day(d), signature="s|sig") for d in (3, 10, 16, 30, 40))
    reviews = [
        review("s|sig", "noise", day(15), period=P),
        review("s|sig", "actionable", day(43), period=P2),
        review("s|sig", "duplicate", day(44), period=P),
    ]
    db = build(tmp_path / "f.duckdb", alerts=[e1, e2, f1, g1, g2], reviews=reviews)
    # r2 (later given, same start as r0) replaced r0 for P and P1; r1 decides P2.
    assert verdicts_in(db, P) == {e1["source_id"]: "duplicate", e2["source_id"]: "duplicate"}
    assert verdicts_in(db, P1) == {f1["source_id"]: "duplicate"}
    assert verdicts_in(db, P2) == {g1["source_id"]: "actionable", g2["source_id"]: "actionable"}
    assert reads.noisy(db, P2, settings=S).set_index("signature").loc["s|sig", "verdict"] == "actionable"
    assert reads.noisy(db, P, settings=S).set_index("signature").loc["s|sig", "verdict"] == "duplicate"


def test_a_verdict_given_now_never_rewrites_an_earlier_reviewed_period(tmp_path):
    e1 = alert(day(3), signature="s|sig")
    g1 = alert(day(30), signature="s|sig")
    reviews = [review("s|sig", "noise", day(15), period=P, note="page nobody reads")]
    db = build(tmp_path / "n.duckdb", alerts=[e1, g1], reviews=reviews)
    before_p = (verdicts_in(db, P), reads.summary(db, P, settings=S), reads.noisy(db, P, settings=S))
    assert before_p[0] == {e1["source_id"]: "noise"} and verdicts_in(db, P2) == {g1["source_id"]: "noise"}

    import store

    store.retro.save_review(db, "s|sig", "actionable", reviewed_at=day(43), period=(P2.start, P2.end))
    after_p = (verdicts_in(db, P), reads.summary(db, P, settings=S), reads.noisy(db, P, settings=S))
    assert after_p[0] == before_p[0] and after_p[1] == before_p[1]
    assert after_p[2].equals(before_p[2])
    assert verdicts_in(db, P2) == {g1["source_id"]: "actionable"}
    assert reads.summary(db, P2, settings=S)["actionable_rate"] == 1.0


def test_a_review_without_a_period_holds_from_the_moment_it_was_given(tmp_path):
    """Reviews saved before reviewed periods were recorded never reach back in time."""
    early, late = alert(day(2), signature="s|sig"), alert(day(9), signature="s|sig")
    db = build(tmp_path / "l.duckdb", alerts=[early, late], reviews=[review("s|sig", "noise", day(5))])
    assert verdicts_in(db, P) == {early["source_id"]: None, late["source_id"]: "noise"}
    assert reads.summary(db, P, settings=S)["reviewed_alerts"] == 1


def test_actionable_rate_is_null_without_reviews(tmp_path):
    db = build(tmp_path / "e.duckdb", alerts=[alert(day(1))])
    assert reads.summary(db, P, settings=S)["actionable_rate"] is None


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
    rows = reads.follow_through(follow_db, as_of=day(40), settings=S).set_index("signature")
    assert set(rows.index) == {"f1|fixed", "f2|firing", "f3|waiting", "f4|silent"}
    assert rows.loc["f1|fixed", "status"] == "fixed"
    assert rows.loc["f1|fixed", "time_to_fix_s"] == pytest.approx(5 * 86400)
    assert rows.loc["f4|silent", "status"] == "fixed" and rows.loc["f4|silent", "time_to_fix_s"] == 0
    assert rows.loc["f2|firing", "status"] == "still firing"
    assert rows.loc["f2|firing", "sprints_open"] == 3  # 40 days open, 14-day sprints
    assert rows.loc["f3|waiting", "status"] == "waiting"


def test_still_firing_lists_only_signatures_that_fired_again(follow_db):
    firing = reads.still_firing(follow_db, as_of=day(40), settings=S)
    assert list(firing["signature"]) == ["f2|firing"] and firing["alerts_since"].iloc[0] == 1
    # Before f2's refire it had been silent since the review, but not yet for a full sprint.
    early = reads.follow_through(follow_db, as_of=day(10), settings=S).set_index("signature")
    assert early.loc["f2|firing", "status"] == "waiting"
    assert early.loc["f1|fixed", "status"] == "still firing"


def test_retro_decisions_are_the_last_verdict_per_signature_or_alert_given_while_looking_at_the_period(tmp_path):
    a1, a2 = alert(day(2), signature="a|sig", team="core"), alert(day(3), signature="a|sig", team="core")
    w1 = alert(day(4), signature="w|web", team="web")
    reviews = [
        review("a|sig", "noise", day(15), period=P, note="first"),
        review("a|sig", "needs-tuning", day(15.1), period=P, note="changed our minds"),
        review("a|sig", "duplicate", day(15.2), period=P, alert=a2, note="one of them"),
        review("a|sig", "actionable", day(29), period=P1),  # the next sprint's retro
        review("a|sig", "noise", day(9)),  # no period: not given in a retro of P
        review("w|web", "noise", day(15), period=P),
    ]
    db = build(tmp_path / "d.duckdb", alerts=[a1, a2, w1], reviews=reviews)
    given = reads.retro_decisions(db, P, team="core", settings=S)
    assert given[["verdict", "note"]].values.tolist() == [["needs-tuning", "changed our minds"],
                                                          ["duplicate", "one of them"]]
    assert given["alert_source_id"].isna().iloc[0] and given["alert_source_id"].iloc[1] == a2["source_id"]
    assert set(reads.retro_decisions(db, P, settings=S)["signature"]) == {"a|sig", "w|web"}
    assert reads.retro_decisions(db, P2, settings=S).empty

"""Did the fix work: fix effects worked out by hand, the exact interval checked against scipy."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest
from metrics_fixtures import T0, alert, build, review
from scipy.stats import binomtest

import store
from metrics import fix_effect
from metrics.fix_effect import CONFIRMED, NO_CHANGE, TOO_EARLY, WORSE, fix_effects, judgement
from settings import Settings

S = Settings()


def day(n: float) -> dt.datetime:
    return T0 + dt.timedelta(days=n)


def test_no_alert_after_fourteen_before_is_confirmed_with_the_closed_form_upper_end():
    # k = 0 of n = 14: the Clopper-Pearson upper end is 1 - 0.025^(1/14) = 0.231636; with equal
    # windows R = p / (1 - p) = 0.30147, below 0.5.
    effect, low, high, verdict = judgement(after=0, days_after=28, before=14, days_before=28)
    assert effect == 0
    assert low == 0
    assert high == pytest.approx(0.30147, abs=1e-5)
    assert verdict == CONFIRMED


def test_a_signature_that_fires_only_after_its_fix_is_worse():
    # before = 0: the lower end of p is 0.025^(1/6) = 0.540742, so R > 0.540742 / 0.459258 = 1.17743.
    effect, low, high, verdict = judgement(after=6, days_after=28, before=0, days_before=28)
    assert effect is None  # no rate before to divide by
    assert low == pytest.approx(1.17743, abs=1e-5)
    assert high == math.inf
    assert verdict == WORSE


def test_unequal_windows_scale_the_interval_by_the_ratio_of_days():
    # 30 alerts in the 14 days after against 10 in the 28 days before: rate ratio 6.
    effect, low, high, verdict = judgement(after=30, days_after=14, before=10, days_before=28)
    assert effect == pytest.approx(6.0)
    ci = binomtest(30, 40).proportion_ci(confidence_level=0.95, method="exact")
    assert low == pytest.approx(ci.low / (1 - ci.low) * 2, rel=1e-9)
    assert high == pytest.approx(ci.high / (1 - ci.high) * 2, rel=1e-9)
    assert verdict == WORSE


def test_fewer_than_seven_days_after_is_too_early_whatever_the_counts():
    assert judgement(after=0, days_after=6.99, before=50, days_before=28) == (None, None, None, TOO_EARLY)


def test_an_interval_containing_one_is_no_change_and_one_between_half_and_one_is_too_early():
    assert judgement(after=10, days_after=28, before=12, days_before=28)[3] == NO_CHANGE
    # 300 after against 450 before in equal windows: R = 0.667, interval about (0.57, 0.77).
    effect, low, high, verdict = judgement(after=300, days_after=28, before=450, days_before=28)
    assert 0.5 < low < high < 1
    assert verdict == TOO_EARLY
    assert judgement(after=0, days_after=28, before=0, days_before=28)[1:] == (0.0, math.inf, NO_CHANGE)


@pytest.mark.parametrize("k, n", [(0, 1), (1, 1), (3, 10), (7, 7), (5, 50), (120, 400), (999, 2000)])
def test_clopper_pearson_matches_scipy(k, n):
    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
    low, high = fix_effect.clopper_pearson(k, n)
    assert low == pytest.approx(ci.low, abs=1e-10)
    assert high == pytest.approx(ci.high, abs=1e-10)


def test_fixes_from_reviews_planner_and_tickets_counted_over_their_windows(tmp_path):
    """Worked by hand on days from T0; history starts on day 0.

    quiet|sig: 14 alerts on days 0..13 (one a day), review noise on day 20, none after:
      before = [0, 20) = 20 days, 14 alerts; after = [20, 48) = 28 days, 0 alerts -> confirmed.
    loud|sig: 2 alerts before the planner's done on day 30 (days 5, 6), 12 after (days 31..42):
      before = [2, 30) = 28 days, 2 alerts; after = [30, 58) capped at as_of day 50 = 20 days.
    late|sig: ticket closed on day 46: after = 4 days -> too early.
    noted|sig: reviewed actionable: not a fix.
    """
    quiet = [alert(day(d), signature="quiet|sig") for d in range(14)]
    loud = [alert(day(d), signature="loud|sig") for d in (5, 6, *range(31, 43))]
    late = [alert(day(d), signature="late|sig") for d in (40, 41)]
    db = build(
        tmp_path / "fx.duckdb",
        alerts=quiet + loud + late + [alert(day(3), signature="noted|sig")],
        reviews=[review("quiet|sig", "noise", day(20)), review("noted|sig", "actionable", day(4))],
    )
    store.retro.mark_fix_done(db, "loud|sig", "cause", done_by="ana", done_at=day(30))
    with store.writing(db) as con:
        con.execute("INSERT INTO tickets VALUES ('jira', 'late|sig', 'OPS-7', NULL, 'Done', true, $at, $at, $at)",
                    {"at": day(46)})
    frame = fix_effects(db, as_of=day(50), settings=S).set_index("signature")
    assert set(frame.index) == {"quiet|sig", "loud|sig", "late|sig"}
    quiet_row, loud_row, late_row = frame.loc["quiet|sig"], frame.loc["loud|sig"], frame.loc["late|sig"]
    assert (quiet_row.fixed_by, quiet_row.alerts_before, quiet_row.days_before) == ("review", 14, 20)
    assert (quiet_row.alerts_after, quiet_row.days_after) == (0, 28)
    assert quiet_row.effect == 0 and quiet_row.verdict == CONFIRMED
    assert (loud_row.fixed_by, loud_row.detail, loud_row.who) == ("planner", "cause fix", "ana")
    assert (loud_row.alerts_before, loud_row.days_before, loud_row.alerts_after, loud_row.days_after) == (2, 28, 12, 20)
    assert loud_row.effect == pytest.approx((12 / 20) / (2 / 28))
    assert loud_row.verdict == WORSE
    assert (late_row.fixed_by, late_row.detail, late_row.days_after) == ("ticket", "OPS-7", 4)
    assert late_row.verdict == TOO_EARLY and pd.isna(late_row.effect)
    # Only fixes whose 28 days after reach past `since`; only up to `as_of`.
    assert list(fix_effects(db, as_of=day(50), settings=S, since=day(49))["signature"]) == ["late|sig", "loud|sig"]
    assert list(fix_effects(db, as_of=day(25), settings=S)["signature"]) == ["quiet|sig"]


def test_a_team_sees_only_the_fixes_of_its_signatures(tmp_path):
    db = build(tmp_path / "t.duckdb",
               alerts=[alert(day(1), signature="a|x", team="core"), alert(day(1), signature="b|x", team="web")],
               reviews=[review("a|x", "noise", day(2)), review("b|x", "needs-tuning", day(2))])
    assert list(fix_effects(db, as_of=day(20), team="web", settings=S)["signature"]) == ["b|x"]
    assert fix_effects(db, as_of=day(20), team="nobody", settings=S).empty


def test_the_report_lists_the_periods_fixes_in_every_form(tmp_path):
    """A fix made in the sprint before: its 28 days after reach into the sprint of days 14-28."""
    import json

    from metrics import report
    from metrics.period import Period

    db = build(tmp_path / "r.duckdb",
               alerts=[alert(day(d), signature="new|sig", title="Brand new") for d in (11, 15, 16, 17, 20)],
               reviews=[review("new|sig", "needs-tuning", day(10))])
    sprint = Period(day(14), day(28))
    document = report.build(db, sprint, None, S)  # as of the sprint's end: 18 days after the fix
    listed = json.loads(report.render_json(document))["fix_effects"]
    # History starts on day 11 (the first alert): no rate before the review on day 10, so too early.
    assert listed == [{"signature": "new|sig", "fixed_by": "review", "fixed_at": day(10).isoformat(),
                       "alerts_before": 0, "days_before": 0.0, "alerts_after": 5, "days_after": 18.0,
                       "effect": None, "low": None, "high": None, "verdict": "too early to tell"}]
    assert ("| Brand new | too early to tell | – | 0 in 0 days | 5 in 18 days | review needs-tuning | 12 Mar 2026 |"
            in report.render_markdown(document))


def test_fix_tickets_lists_each_ticket_as_last_read_back(tmp_path):
    db = build(tmp_path / "k.duckdb", alerts=[alert(day(1), signature="a|x")])
    rows = [{"system": system, "signature": "a|x", "ticket_key": key, "url": None, "status": status, "done": done,
             "closed_at": day(9) if done else None, "opened_at": day(2), "synced_at": synced}
            for system, key, status, done, synced in (("jira", "OPS-1", "Done", True, day(9)),
                                                     ("github", "#4", "open", False, day(10)))]
    store.outbound.save_tickets(db, rows)
    listed = fix_effect.tickets(db, S)  # the fix_tickets metric
    assert list(zip(listed["ticket_key"], listed["status"], strict=True)) == [("#4", "open"), ("OPS-1", "Done")]
    # The Jira ticket closed on day 9 is the fix (1 alert in the 8 days before, none in 11 after: the
    # interval holds 1); the board shows the ticket synced last, GitHub's #4.
    board = fix_effect.fix_board(db, as_of=day(20), settings=S)
    assert list(board[["ticket_key", "fixed_by", "detail", "verdict"]].itertuples(index=False, name=None)) == [
        ("#4", "ticket", "OPS-1", "no change")]


def test_a_ticket_for_an_alert_with_no_fix_yet_is_named_by_the_alerts_latest_title(tmp_path):
    # The planner's Tickets table showed the raw signature ("es|cluster yellow on es-#") for these.
    db = build(tmp_path / "t.duckdb", alerts=[alert(day(1), signature="es|yellow #", title="Cluster yellow on es-1"),
                                              alert(day(3), signature="es|yellow #", title="Cluster yellow on es-2")])
    store.outbound.save_tickets(db, [{"system": "jira", "signature": "es|yellow #", "ticket_key": "OPS-7", "url": None,
                                      "status": "To Do", "done": False, "closed_at": None, "opened_at": day(4),
                                      "synced_at": day(4)}])
    board = fix_effect.fix_board(db, as_of=day(5), settings=S)
    assert list(board[["signature", "title", "ticket_key"]].itertuples(index=False, name=None)) == [
        ("es|yellow #", "Cluster yellow on es-2", "OPS-7")]

"""Noise: transient, flaps, noise ratio, runbook coverage, the noisy ranking, diagnoses, hold-down."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd
import pytest
import reads
from metrics_fixtures import T0, alert, build, review

import metrics
from settings import Settings

S = Settings()
P = metrics.sprint_period(S, T0.date())
X = "api|disk # full"


def sec(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


@pytest.fixture
def db(tmp_path):
    rows = [
        alert(sec(0), resolve_s=100, runbook_url="https://runbooks/disk"),  # transient
        alert(sec(1000), ack_s=10, resolve_s=2000),  # flap: x1 resolved 900 s before
        alert(sec(4800), ack_s=10, resolve_s=400),  # x2 resolved exactly 1800 s before: no flap
        alert(sec(5200), resolve_s=300),  # flap (x3 resolved at its creation); transient (300 s)
        alert(sec(8800), ack_s=10, resolve_s=1000),  # 3300 s after x4: no flap
        alert(sec(8900), ack_s=5, resolve_s=50),  # overlaps x5, which resolves later: no flap
        alert(sec(20000), resolve_s=301),  # unacknowledged, not transient
        alert(sec(4000), ack_s=10, resolve_s=700, signature="web|y"),  # resolved 100 s before x3
        alert(sec(30000), ack_s=10, resolve_s=20, signature="aaa|z"),
    ]
    links = [{"signature": "web|y", "url": "https://runbooks/y", "added_at": T0}]
    return build(tmp_path / "n.duckdb", alerts=rows, runbook_links=links)


def test_transient_flaps_unacknowledged_and_noise_ratio(db):
    figures = reads.summary(db, P, settings=S)
    assert figures["transient"] == 2
    assert figures["flaps"] == 2
    assert figures["unacknowledged"] == 3
    # Noise: x1, x2, x4, x7 of nine alerts.
    assert figures["noise_ratio"] == pytest.approx(4 / 9)


def test_flap_flags_per_alert(db):
    rows = reads.alert_list(db, P, settings=S)
    flags = rows[rows["signature"] == X].sort_values("created_at")["is_flap"].tolist()
    assert flags == [False, True, False, True, False, False, False]


def test_a_resolution_at_the_moment_of_a_creation_makes_a_flap_only_of_an_alert_created_before_it(tmp_path):
    rows = [
        alert(sec(1000), ack_s=1, resolve_s=0),  # resolved the moment it fired: no flap of itself
        alert(sec(1000), ack_s=1, resolve_s=60),  # created at that moment: no flap either
        alert(sec(2000), ack_s=1, resolve_s=0),  # x2 resolved 940 s before: a flap
        alert(sec(1500), ack_s=1, resolve_s=1500, signature="web|y"),  # resolved at the next one's creation
        alert(sec(3000), ack_s=1, resolve_s=10, signature="web|y"),  # so a flap
    ]
    db = build(tmp_path / "m.duckdb", alerts=rows)
    def flags(settings: Settings) -> list[bool]:
        rows = reads.alert_list(db, P, settings=settings)
        return rows.sort_values(["signature", "created_at", "ttr_s"])["is_flap"].tolist()

    assert flags(S) == [False, False, True, False, True]
    # With no flap window only a resolution at the very moment of a creation is left.
    no_window = dataclasses.replace(S, thresholds=dataclasses.replace(S.thresholds, flap_s=0))
    assert flags(no_window) == [False, False, False, False, True]


def test_co_fired_counts_the_alerts_with_one_of_another_signature_within_the_window(tmp_path):
    """Against the definition, alert by alert: alerts a few slots apart, next to each other, alone."""
    import random

    chance = random.Random(14)
    window = S.thresholds.grouping_window_s
    signatures = ["api|a", "api|b", "web|c", "web|d"]
    starts = sorted(chance.randrange(0, 200 * window) for _ in range(80))
    rows = [alert(sec(t), resolve_s=60, signature=chance.choice(signatures)) for t in starts]
    edges = [(300 * window, "api|a"), (301 * window, "web|c"),  # exactly the window apart: both co-fire
             (400 * window, "api|b"), (401 * window + 1, "web|d"),  # a second more: neither does
             (500 * window - 1, "api|a"), (500 * window, "web|c"),  # either side of a slot's start
             (600 * window, "api|b"), (600 * window + 10, "api|b")]  # one signature only: no
    rows += [alert(sec(t), resolve_s=60, signature=signature) for t, signature in edges]
    db = build(tmp_path / "c.duckdb", alerts=rows)
    expected: dict[str, int] = {}
    for row in rows:
        near = any(other["signature"] != row["signature"]
                   and abs((other["created_at"] - row["created_at"]).total_seconds()) <= window for other in rows)
        expected[row["signature"]] = expected.get(row["signature"], 0) + near
    ranked = metrics.read(db, ["noisy"], metrics.Scope(P), S)["noisy"].set_index("signature")
    assert ranked["co_fired"].to_dict() == expected
    assert 0 < sum(expected.values()) < len(rows)  # some co-fire, some do not


def test_flap_counts_an_earlier_alert_before_the_period(tmp_path):
    before = alert(P.start - dt.timedelta(seconds=1000), ack_s=1, resolve_s=900)
    inside = alert(P.start + dt.timedelta(seconds=50), ack_s=1, resolve_s=10)
    db = build(tmp_path / "b.duckdb", alerts=[before, inside])
    assert reads.summary(db, P, settings=S)["flaps"] == 1


def test_runbook_coverage_from_alert_links_and_app_links(db):
    # X's seven alerts (one carries a runbook_url) and web|y (app link) are covered; aaa|z is not.
    assert reads.summary(db, P, settings=S)["runbook_coverage"] == pytest.approx(8 / 9)


def test_noisy_ranking_order_and_columns(db):
    ranked = reads.noisy(db, P, settings=S)
    assert list(ranked["signature"]) == [X, "aaa|z", "web|y"]  # by alerts, ties by signature
    top = ranked.iloc[0]
    assert (top["alerts"], top["transient"], top["flaps"], top["unacknowledged"]) == (7, 2, 2, 3)
    assert top["noise_ratio"] == pytest.approx(4 / 7)
    # TTR of X: 100, 2000, 400, 300, 1000, 50, 301 -> median 301.
    assert top["ttr_median_s"] == pytest.approx(301)
    assert top["first_seen"] == sec(0) and top["last_seen"] == sec(20000)
    # No notifications: one fallback interruption per alert at created_at, Monday 00:00-05:33 UTC,
    # all in sleep hours. No other signature fires within 60 s of X, and no share is over half.
    assert (top["interruptions"], top["sleep_interruptions"]) == (7, 7)
    assert pd.isna(top["diagnosis"]) and pd.isna(top["suggested_fix"])
    for column in ("interruptions", "sleep_interruptions", "diagnosis", "suggested_fix"):
        assert column in ranked.columns


def test_noisy_limit(db):
    assert len(reads.noisy(db, P, limit=1, settings=S)) == 1


@pytest.fixture
def diagnosis_db(tmp_path):
    hour = 3600
    rows = [
        # mostly transient: three quick unacknowledged alerts hours apart
        *[alert(sec(i * 3 * hour), resolve_s=60, signature="t|transient") for i in range(3)],
        # mostly flaps: refires 60 s after each resolution (acknowledged, so not transient)
        alert(sec(20 * hour), ack_s=10, resolve_s=600, signature="f|flappy"),
        alert(sec(20 * hour + 660), ack_s=10, resolve_s=600, signature="f|flappy"),
        alert(sec(20 * hour + 1320), ack_s=10, resolve_s=600, signature="f|flappy"),
        # fires with another signature within 60 s, each time
        alert(sec(40 * hour), ack_s=10, resolve_s=4000, signature="g|grouped"),
        alert(sec(40 * hour + 30), ack_s=10, resolve_s=4000, signature="h|other"),
        alert(sec(50 * hour), ack_s=10, resolve_s=4000, signature="g|grouped"),
        alert(sec(50 * hour - 45), ack_s=10, resolve_s=4000, signature="h|other"),
        # reviewed noise, though it looks transient
        alert(sec(60 * hour), resolve_s=30, signature="n|reviewed"),
        # acknowledged, slow, alone: no pattern
        alert(sec(70 * hour), ack_s=10, resolve_s=4000, signature="q|quiet"),
    ]
    reviews = [review("n|reviewed", "noise", sec(61 * 3600))]
    return build(tmp_path / "d.duckdb", alerts=rows, reviews=reviews)


def test_an_alert_co_fires_with_another_signatures_alert_within_the_window_whatever_its_team_or_slot(tmp_path):
    """Within the grouping window (60 s, inclusive) of an alert of another signature, of any team,
    before the period too; never of its own signature. The engine finds neighbours by slots of the
    window's width, so some pairs here straddle a slot boundary (T0 is on a whole minute)."""
    def c(s):
        return alert(sec(s), ack_s=1, resolve_s=10, signature="c|x")

    def other(s, team="core"):
        return alert(sec(s), ack_s=1, resolve_s=10, signature="o|y", team=team)

    start = (P.start - T0).total_seconds()
    rows = [
        c(10_000), other(10_060),  # exactly the window after: co-fired
        c(20_000), c(20_030), other(19_939.999),  # 60.001 s before; a neighbour of its own signature only
        c(30_000), other(30_000),  # the same instant
        c(40_000), other(40_059.5, team="edge"),  # another team's alert counts
        c(50_100.5), other(50_040.5),  # 60 s before, in the slot before
        c(60_159), other(60_099),  # 60 s before, in the slot before, not at its start
        c(70_170), other(70_230.001),  # 60.001 s after, in the next slot: not
        c(start + 20), other(start - 30),  # just before the period
        # the nearest alert in the next slot is of its own signature; another's, 61.5 s after: not
        c(80_039), c(80_041), other(80_100.5),  # (the second one co-fires, 59.5 s)
        # the latest in the slot before is of its own signature; another's 60.5 s before: not
        c(90_001), c(89_999), other(89_940.5),  # (the second one co-fires, same slot)
    ]
    db = build(tmp_path / "c.duckdb", alerts=rows)
    ranked = reads.noisy(db, P, settings=S).set_index("signature")
    assert ranked.loc["c|x", "alerts"] == 13
    assert ranked.loc["c|x", "co_fired"] == 8


def test_diagnoses_and_suggested_fixes(diagnosis_db):
    ranked = reads.noisy(diagnosis_db, P, settings=S).set_index("signature")
    assert ranked.loc["t|transient", "diagnosis"] == "mostly transient"
    assert "hold-down" in ranked.loc["t|transient", "suggested_fix"]
    assert ranked.loc["f|flappy", "diagnosis"] == "mostly flaps"
    assert "keep_firing_for" in ranked.loc["f|flappy", "suggested_fix"]
    assert ranked.loc["g|grouped", "diagnosis"] == "fires with other alerts"
    assert "inhibition" in ranked.loc["g|grouped", "suggested_fix"]
    assert ranked.loc["n|reviewed", "diagnosis"] == "reviewed noise"
    assert "demote" in ranked.loc["n|reviewed", "suggested_fix"]
    assert pd.isna(ranked.loc["q|quiet", "diagnosis"])
    assert set(metrics.FIXES) == {"reviewed noise", "mostly transient", "mostly flaps", "fires with other alerts"}


def test_hold_down_replay(db):
    replay = reads.hold_down_replay(db, P, hold_down_s=300, signature=X, settings=S).iloc[0]
    # x1 (100 s) and x4 (300 s) resolved unacknowledged within 300 s; five would page 300 s later.
    assert (replay["alerts"], replay["pages_avoided"], replay["pages_delayed"]) == (7, 2, 5)
    # Each delayed page comes 5 min later: 5 min on average and at most, 25 min in all.
    assert (replay["delay_mean_s"], replay["delay_max_s"]) == (300, 300)
    assert replay["delay_total_s"] == pytest.approx(5 * 300)
    longer = reads.hold_down_replay(db, P, hold_down_s=301, signature=X, settings=S).iloc[0]
    assert longer["pages_avoided"] == 3  # x7 resolved at 301 s
    assert longer["delay_total_s"] == pytest.approx(4 * 301)


def test_hold_down_at_the_transient_threshold_avoids_exactly_the_transient(db):
    replay = reads.hold_down_replay(db, P, settings=S)  # default hold_down_s = 300 = transient_s
    assert replay["pages_avoided"].sum() == reads.summary(db, P, settings=S)["transient"]

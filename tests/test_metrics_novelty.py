"""Novelty: new signatures (with enough history), the new-signature share, repeat offenders."""

from __future__ import annotations

import datetime as dt

import pytest
import reads
from metrics_fixtures import T0, alert, at, build

import metrics
from settings import Settings

S = Settings()
P = metrics.sprint_period(S, T0.date())


def test_new_signatures_and_share_with_enough_history(tmp_path):
    rows = [
        alert(T0 - dt.timedelta(days=100), signature="old|sig"),
        alert(at(60), signature="old|sig"),
        alert(at(120), signature="new|sig"),
        alert(at(180), signature="new|sig"),
    ]
    db = build(tmp_path / "n.duckdb", alerts=rows)
    assert reads.summary(db, P, settings=S)["new_signature_share"] == pytest.approx(2 / 3)
    new = reads.new_signatures(db, P, settings=S)
    assert list(new["signature"]) == ["new|sig"] and list(new["status"]) == ["new"]
    assert new["alerts"].iloc[0] == 2 and new["first_seen"].iloc[0] == at(120)


def test_short_history_makes_novelty_unknown(tmp_path):
    rows = [
        alert(T0 - dt.timedelta(days=30), signature="old|sig"),  # only 30 days before the period
        alert(at(60), signature="old|sig"),
        alert(at(120), signature="new|sig"),
    ]
    db = build(tmp_path / "u.duckdb", alerts=rows)
    assert reads.summary(db, P, settings=S)["new_signature_share"] is None
    new = reads.new_signatures(db, P, settings=S)
    assert list(new["signature"]) == ["new|sig"] and list(new["status"]) == ["unknown"]


def test_history_is_judged_per_source(tmp_path):
    rows = [
        alert(T0 - dt.timedelta(days=100), signature="old|sig"),
        alert(at(60), signature="old|sig"),
        alert(at(120), signature="fresh|sig", source="opsgenie"),  # opsgenie has no history
    ]
    db = build(tmp_path / "s.duckdb", alerts=rows)
    assert reads.summary(db, P, settings=S)["new_signature_share"] is None
    only_pd = reads.summary(db, P, service="old", settings=S)
    assert only_pd["new_signature_share"] == 0


def test_a_sources_history_is_its_first_alert_of_any_team_wherever_it_is_stored(tmp_path):
    """The history a source has is its first alert before the period's end, of any team: here another
    team's, stored after the period's alerts. 100 days of it make the team's signatures new; 30 do not."""

    def share(history_days: int) -> float | None:
        rows = [
            alert(at(60), signature="a|x", team="core"),
            alert(at(120), signature="b|y", team="core", source="opsgenie"),
            alert(P.end + dt.timedelta(days=1), signature="c|late", team="core", source="opsgenie"),
            alert(T0 - dt.timedelta(days=history_days), signature="o|z", team="web"),
            alert(T0 - dt.timedelta(days=history_days - 1), signature="o|z", team="web", source="opsgenie"),
        ]
        db = build(tmp_path / f"h{history_days}.duckdb", alerts=rows)
        return reads.summary(db, P, team="core", settings=S)["new_signature_share"]

    assert share(100) == 1
    assert share(30) is None


def test_repeat_offenders_fired_in_each_of_the_last_three_sprints(tmp_path):
    sprint = dt.timedelta(days=14)
    rows = [
        *[alert(at(60) - k * sprint, signature="r|repeat") for k in range(3)],
        alert(at(90) - 2 * sprint, signature="q|gap"),
        alert(at(90), signature="q|gap"),
        alert(at(90) - 3 * sprint, signature="o|older"),
        alert(at(100) - sprint, signature="o|older"),
        alert(at(100), signature="o|older"),
    ]
    db = build(tmp_path / "r.duckdb", alerts=rows)
    offenders = reads.repeat_offenders(db, S, day=T0.date())
    assert list(offenders["signature"]) == ["r|repeat"]
    assert offenders["sprints"].iloc[0] == 3 and offenders["alerts"].iloc[0] == 3
    # Over the last two sprints o|older fires in both.
    two = reads.repeat_offenders(db, S, day=T0.date(), sprints=2)
    assert list(two["signature"]) == ["o|older", "r|repeat"]

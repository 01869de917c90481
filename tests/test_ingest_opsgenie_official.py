"""Opsgenie on its own published examples and on cases built from its schemas (fixtures/opsgenie).

Figures are worked out by hand from built/account.json (T0 = 2026-03-02 15:00 UTC; times in
seconds after it).
"""

from __future__ import annotations

import datetime as dt

import pytest
import reads
from reads import data_gaps

import metrics
from tests.provider_servers import FakeOpsgenie, opsgenie_account, query, run_source, scalar, serve

KEY = "og-official-SECRET-2288"
T0 = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)
SINCE, NOW = dt.datetime(2017, 3, 1, tzinfo=dt.UTC), dt.datetime(2026, 3, 3, tzinfo=dt.UTC)
PERIOD = metrics.between(T0.date(), (T0 + dt.timedelta(days=1)).date())
ANA_ID, BO_ID = "bb4d9938-0000-0000-0000-000000000001", "bb4d9938-0000-0000-0000-000000000002"
A1, A2, A3 = (f"0b8e3f7a-0000-4000-8000-00000000000{n}" for n in (1, 2, 3))
EXAMPLE = "70413a06-38d6-4c85-92b8-5ebc900d42e2"


def t(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


@pytest.fixture
def fake():
    return FakeOpsgenie(KEY, opsgenie_account())


def sync(monkeypatch, db, fake):
    with serve(fake) as url:
        return run_source(monkeypatch, db, "opsgenie", url, KEY, now=NOW, since=SINCE)


@pytest.fixture
def synced(monkeypatch, db, fake):
    result = sync(monkeypatch, db, fake)
    assert result.status == "ok", result.error
    return db


def alert(db: str, source_id: str) -> dict:
    names = ("acknowledged_at", "acknowledged_by", "resolved_at", "resolved_by", "auto_resolved", "occurrences",
             "team")
    [row] = query(db, f"SELECT {', '.join(names)} FROM alerts WHERE source = 'opsgenie' AND source_id = ?",
                  [source_id])
    return dict(zip(names, row, strict=True))


def test_the_documented_example_maps_as_published(synced):
    example = alert(synced, EXAMPLE)
    created = dt.datetime(2017, 3, 21, 20, 32, 52, 353000, tzinfo=dt.UTC)
    # acknowledged: false, yet the report has the acknowledgement; its log's (April) is later: the report's is first
    assert example["acknowledged_at"] == created + dt.timedelta(milliseconds=15702)
    assert example["acknowledged_by"] == "agent_smith@opsgenie.com"
    assert example["resolved_at"] == created + dt.timedelta(milliseconds=60503)
    # closed by neo, whom the account's users do not list: a person, not the integration
    assert (example["resolved_by"], example["auto_resolved"], example["occurrences"]) == ("neo@opsgenie.com", False, 79)


def test_closes_come_from_the_close_line_not_from_notifications_or_plans(synced):
    gone = alert(synced, A1)  # closed by a user deleted since
    assert (gone["resolved_at"], gone["resolved_by"], gone["auto_resolved"]) == (t(1200), "gone.user@acme.example",
                                                                                  False)
    assert (gone["acknowledged_at"], gone["acknowledged_by"]) == (t(60), ANA_ID)
    by_integration = alert(synced, A2)  # the rule's e-mail about the close, 5 s later, moves nothing
    assert (by_integration["resolved_at"], by_integration["auto_resolved"]) == (t(3840), True)
    by_policy = alert(synced, A3)  # "Will close alert automatically" at 1 s is not the close
    assert (by_policy["resolved_at"], by_policy["auto_resolved"]) == (t(8100), True)
    assert by_policy["occurrences"] == 1 and by_integration["occurrences"] == 3


def test_log_lines_of_every_kind(synced):
    notes = query(synced, "SELECT alert_source_id, person_id, channel, notified_at FROM notifications ORDER BY 4")
    assert notes == [(A1, ANA_ID, "phone", t(5)), (A2, BO_ID, "email", t(3845)), (A3, BO_ID, "push", t(7203))]
    # the suppressed page left nothing; the automation line is kept and counted
    assert scalar(synced, "SELECT count(*) FROM events WHERE type = 'unrecognised'") == 1
    assert "opsgenie: 1 alert log line in a wording not recognised (kept as they came; they move no figure)" \
        in data_gaps(synced)


def test_figures_worked_out_by_hand(synced):
    figures = reads.summary(synced, PERIOD)
    assert figures["alerts"] == 3
    assert figures["tta_median_s"] == pytest.approx(60)  # A1 only
    assert figures["ttr_median_s"] == pytest.approx(900)  # 1200, 240, 900
    assert (figures["unacknowledged"], figures["auto_resolved"], figures["transient"]) == (2, 2, 1)
    pages = reads.interruption_list(synced, PERIOD)
    got = sorted(zip(pages["source_id"], pages["person_id"], pages["fallback"], pages["paged_at"], strict=True))
    # A2: its log was read and shows no page (suppressed; e-mail does not page): it interrupted nobody
    assert got == [(A1, ANA_ID, False, t(5)), (A3, BO_ID, False, t(7203))]
    noisy = reads.noisy(synced, PERIOD).set_index("signature")
    assert noisy.loc["Prometheus|replication lag above #s", ["alerts", "occurrences"]].tolist() == [1, 3]


def test_a_key_restricted_from_configuration_still_loads_the_alerts(monkeypatch, db, fake):
    fake.refuse |= {"/v2/users", "/v2/teams"}
    result = sync(monkeypatch, db, fake)
    assert result.status == "partial" and result.error is None
    assert "HTTP 403" in result.refused and "Restrict Access to Configurations" in result.refused
    assert scalar(db, "SELECT count(*) FROM alerts") == 4
    acked = alert(db, A1)  # no users list: people are their usernames; closes by people are not automatic
    assert (acked["acknowledged_by"], acked["resolved_by"], acked["auto_resolved"]) == (
        "ana@acme.example", "gone.user@acme.example", False)
    assert alert(db, A2)["auto_resolved"] is True
    assert acked["team"] == "unassigned"  # team names come only from the teams list (or the [services] map)

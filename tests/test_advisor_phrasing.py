"""The advice as a paging provider's users read it: PagerDuty, Opsgenie / JSM and Grafana OnCall settings."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from metrics_fixtures import T0, alert, build

from advisor import phrasing
from advisor.plan import build as plan
from metrics import display, sprint_period
from settings import Settings

SETTINGS = Settings()


def history(source: str) -> list[dict]:
    """Five disk blips that clear in 100 s unattended, and two checks of one service that fire 20 s apart."""
    rows = [alert(T0 + dt.timedelta(hours=i), resolve_s=100, signature="ledger|disk #% full", source=source,
                  title="Disk full", service="ledger", team="core") for i in range(5)]  # fmt: skip
    for i in range(5):
        base = T0 + dt.timedelta(days=1, hours=i)
        rows.append(alert(base, ack_s=60, resolve_s=3000, signature="checkout|5xx", source=source,
                          title="5xx", service="checkout"))  # fmt: skip
        rows.append(alert(base + dt.timedelta(seconds=20), ack_s=60, resolve_s=3000, signature="checkout|latency",
                          source=source, title="latency", service="checkout"))  # fmt: skip
    return rows


@pytest.mark.parametrize(
    ("source", "provider", "hold_down", "grouping"),
    [
        ("pagerduty", "pagerduty", "On service ledger: Auto-pause incident notifications with a 2 min pause",
         "On service checkout: time-based alert grouping with a window of at least"),
        ("opsgenie", "opsgenie", "A notification policy of team core: delay notifications for 2 min for alerts "
                                 "whose message matches “Disk full”",
         "Give these alerts one alias in their integration"),
        ("jsm", "opsgenie", "A notification policy of team core: delay notifications for 2 min",
         "Opsgenie folds an alert whose alias is already open into that alert"),
        ("oncall", "oncall", "A Wait step of 2 min first in the escalation chain",
         "In the integration's grouping template use {{ payload.service }}"),
    ],
)  # fmt: skip
def test_each_paging_provider_gets_the_advice_as_its_own_settings(tmp_path, source, provider, hold_down,
                                                                  grouping):  # fmt: skip
    db = build(tmp_path / f"{source}.duckdb", alerts=history(source))
    suggestions = plan(db, sprint_period(SETTINGS, T0.date()), None, SETTINGS, run_checks=False).suggestions
    by_kind = {s.kind: s for s in suggestions}
    hold = by_kind["hold_down"]
    # All five cleared in 100 s with nobody acting: the smallest hold-down that avoids them is 2 min.
    assert (hold.provider, hold.pages_before, hold.pages_after, hold.figures["hold_s"]) == (provider, 5, 0, 120)
    assert hold.provider_text.startswith(hold_down) and hold.patch == ""
    group = by_kind["group"]
    assert group.provider == provider and sorted(group.signatures) == ["checkout|5xx", "checkout|latency"]
    assert (group.pages_before, group.pages_after) == (10, 5)
    assert grouping in group.provider_text


def test_pagerduty_pauses_are_the_ones_its_api_accepts():
    # auto_pause_notifications_parameters.timeout takes 120, 180, 300, 600 or 900 seconds only.
    assert "with a 5 min pause:" in phrasing.hold_down("pagerduty", 240, "db", None, None)
    assert "with a 10 min pause:" in phrasing.hold_down("pagerduty", 301, "db", None, None)
    longest = phrasing.hold_down("pagerduty", 1800, "db", None, None)
    assert "with a 15 min pause (its longest pause, shorter than advised):" in longest
    assert "timeout: 900}" in longest


def test_no_paging_provider_has_a_resolve_delay_so_hysteresis_goes_upstream():
    for provider, name in (("pagerduty", "PagerDuty"), ("opsgenie", "Opsgenie / JSM"), ("oncall", "Grafana OnCall")):
        text = phrasing.hysteresis(provider, 540)
        assert text.startswith(f"{name} has no resolve delay") and "`keep_firing_for: 9m`" in text


def test_a_hold_down_that_hides_acknowledged_alerts_says_so_first_and_delays_nothing(tmp_path):
    rows = [alert(T0 + dt.timedelta(hours=i), ack_s=30 if i < 2 else None, resolve_s=100, source="pagerduty",
                  signature="ledger|disk #% full", service="ledger") for i in range(5)]  # fmt: skip
    db = build(tmp_path / "hidden.duckdb", alerts=rows)
    [hold] = plan(db, sprint_period(SETTINGS, T0.date()), None, SETTINGS, run_checks=False).suggestions
    # Three cleared in 100 s unattended, two after someone acknowledged them: 2 min hides all five.
    assert (hold.pages_before, hold.pages_after, hold.attended_hidden, hold.delay_added_s) == (5, 0, 2, 0)
    assert hold.warning == "This would hide 2 pages someone acknowledged or marked actionable."
    # The period as people read it, not ISO dates ("In 2026-11-09 – 2026-11-22").
    assert hold.evidence.startswith(f"In {display.period(sprint_period(SETTINGS, T0.date()))} ")
    assert not re.search(r"\d{4}-\d\d-\d\d", hold.evidence)
    assert hold.evidence.endswith(
        "3 of the 5 alerts of “disk #% full” (ledger) resolved within 2 min with nobody acting on them: held down "
        "2 min they would not have paged; nor would 2 that someone acknowledged or marked actionable, which also "
        "resolved within 2 min.")  # fmt: skip

"""Invariants over generated alert histories (hypothesis)."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import reads
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from metrics_fixtures import T0, alert, build, page, person

import metrics
from settings import Settings

S = Settings()
P = metrics.sprint_period(S, T0.date())
PEOPLE = ["ann", "bob", "cat", "dan"]
ZONES = [None, "Asia/Kolkata", "America/New_York", "Australia/Sydney", "Not/AZone"]
COUNTS = ["alerts", "transient", "flaps", "unacknowledged", "interruptions", "business_hours_interruptions",
          "off_hours_interruptions", "sleep_interruptions", "wake_ups", "fallback_interruptions"]
SHARES = ["noise_ratio", "new_signature_share", "actionable_rate", "runbook_coverage"]

notification = st.tuples(st.sampled_from(PEOPLE), st.sampled_from(["phone", "sms", "push", "email", "chat"]),
                         st.integers(0, 900))
alert_spec = st.fixed_dictionaries(
    {
        "minute": st.integers(-3 * 1440, 17 * 1440),
        "signature": st.sampled_from(["a|x", "b|y", "c|z", "d|w"]),
        "team": st.sampled_from(["core", "web", "data"]),
        "ack_s": st.none() | st.integers(0, 3600),
        "extra_s": st.none() | st.integers(0, 4000),
        "acked_by": st.none() | st.sampled_from(PEOPLE),
        "pages": st.lists(notification, max_size=3),
    }
)
history = st.tuples(st.lists(alert_spec, min_size=1, max_size=20), st.lists(st.sampled_from(ZONES), min_size=4,
                                                                              max_size=4))


def materialize(specs, zones, folder: Path) -> str:
    alerts, notes = [], []
    for spec in specs:
        ack, extra = spec["ack_s"], spec["extra_s"]
        resolve = None if extra is None else (ack or 0) + extra
        a = alert(T0 + dt.timedelta(minutes=spec["minute"]), ack_s=ack, resolve_s=resolve,
                  signature=spec["signature"], team=spec["team"], acknowledged_by=spec["acked_by"])
        alerts.append(a)
        notes += [page(a, who, after, channel) for who, channel, after in spec["pages"]]
    people = [person(p, z) for p, z in zip(PEOPLE, zones, strict=True)]
    return build(folder / "h.duckdb", alerts=alerts, notifications=notes, people=people)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history)
def test_invariants(generated):
    specs, zones = generated
    with tempfile.TemporaryDirectory() as folder:
        db = materialize(specs, zones, Path(folder))
        total = reads.summary(db, P, settings=S)
        # Every interruption falls in exactly one time-of-day bucket; wake-ups are the sleep ones.
        assert total["business_hours_interruptions"] + total["off_hours_interruptions"] + total[
            "sleep_interruptions"] == total["interruptions"]
        assert total["wake_ups"] == total["sleep_interruptions"]
        assert total["disturbed_nights"] <= total["wake_ups"]
        for share in SHARES:
            assert total[share] is None or 0 <= total[share] <= 1
        assert total["transient"] <= total["unacknowledged"] <= total["alerts"]

        rows = reads.alert_list(db, P, settings=S)
        both = rows.dropna(subset=["tta_s", "ttr_s"])
        assert (both["tta_s"] <= both["ttr_s"]).all()
        assert not (rows["is_transient"] & ~rows["is_unacknowledged"]).any()

        per_team = [reads.summary(db, P, team=t, settings=S) for t in ("core", "web", "data")]
        for count in COUNTS:
            assert sum(figures[count] for figures in per_team) == total[count], count

        ranked = reads.noisy(db, P, settings=S)
        assert ranked["alerts"].sum() == total["alerts"]
        assert ranked["interruptions"].sum() == total["interruptions"]
        assert ranked["noise_ratio"].between(0, 1).all()

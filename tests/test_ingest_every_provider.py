"""Every provider's own examples and built cases synced into one database: METRICS.md's figures by hand.

One account per source, as tests/fixtures/<source>/ holds it (official examples and the cases built
after each published schema): PagerDuty through its API and both of its CSV exports, Opsgenie, Grafana
OnCall (synced twice, the account changing in between), JSM Operations, and the bodies a real
Alertmanager sent, moved to 23:55 UTC on the same day. The period is 2026-03-02 (a Monday) to
2026-03-05, UTC; the official examples (2015, 2017, 2020, 2024) fall before it. Times below are UTC
unless said; local times are the person's own zone (Kyler Kuhn Asia/Hong_Kong, Earline Greenholt
America/Lima, Ana Ruiz Europe/Madrid, Bo Chen Asia/Singapore, alex and "unknown" UTC).

    alert          created      ack  resolved  TTR   unack auto transient  interruptions (person, local, bucket)
    PagerDuty API (notifications read from the log entries)
    PCHAN01        03-02 15:00  120  15:30     1800                        Earline sms 10:00 bus; Kyler phone 23:00 sleep
    PCHAN02        16:00        -    16:10     600   yes   yes             Kyler push 00:00 sleep; Earline sms (summary) 11:00 bus
    PUNK01         17:00        300  17:30     1800                        channel unreadable: fallback to Kyler 01:00 sleep
    PQUIET1        18:00        -    18:03:20  200   yes   yes  yes        its log shows no page: none
    PMERGE1        15:05        -    15:30*    1500  yes   no              Kyler push 23:05 sleep   (*with PCHAN01; a duplicate)
    PREOPEN1       19:00        60   open (triggered again)                Kyler sms 03:00 sleep
    PagerDuty CSV (no notifications: the fallback)
    107 (basic)    20:00        -    20:04     240   yes   yes  yes        unknown 20:00 off
    108 (basic)    21:00        -    open                                  unknown 21:00 off
    PADV001        03-03 14:00  120  14:20     1200                        Earline 09:00 bus (its acknowledger)
    PADV002        03-04 04:30  -    04:33     180   yes   yes  yes        unknown 04:30 sleep (night of 03-03)
    Opsgenie (logs read)
    A1             15:00        60   15:20     1200                        Ana voice 16:00 bus
    A2             16:00        -    16:04     240   yes   yes  yes        page suppressed, e-mail about the close: none
    A3             17:00        -    17:15     900   yes   yes             Bo push 01:00 sleep
    Grafana OnCall (no notifications: the fallback)
    ACKUNDO        15:00        120  15:25     1500        yes             alex 15:00 bus
    SILENCE        16:00        -    open (silenced)                       unknown 16:00 bus
    UNRESOL        16:30        60   open (un-resolved)                    alex 16:30 bus
    DELETED        17:00        60   17:10     600                         ana (OnCall's, Ana.Ruiz@…) 18:00 off
    WIPED01        18:00        -    18:00:30  30    yes   yes  yes        unknown 18:00 off
    SOURCE1        19:00        -    19:04     240   yes   yes  yes        unknown 19:00 off
    JSM Operations (logs read)
    J1             15:00        120  15:15     900                         Ana push 16:00 bus
    J2             16:00        -    16:04     240   yes   yes  yes        none
    J3             17:00        300  open                                  Bo voice 01:00 sleep
    Alertmanager (no notifications: the fallback)
    AlwaysFiring   23:55:41     -    open                                  unknown 23:55 sleep
    Blinking       23:55:50     -    23:55:54  4     yes   yes  yes        unknown 23:55 sleep
    Blinking again 23:56:50     -    open (a flap: 56 s after the last resolve)  unknown 23:56 sleep

25 alerts. TTA over the 10 acknowledged: 60 ×4, 120 ×4, 300 ×2 → median 120, mean 1320/10 = 132,
p90 at rank 8.1 = 300. TTR over the 18 resolved: 4, 30, 180, 200, 240 ×4, 600 ×2, 900 ×2, 1200 ×2,
1500 ×2, 1800 ×2 → median 600, mean 13374/18 = 743, p90 at rank 15.3 = 1500 + 0.3 × 300 = 1590.
Interruptions 24: business 8, off 5, sleep 11. People: Ana is one person across Opsgenie and JSM (the
same e-mail) but not OnCall's "ana" (another e-mail, no full name); Bo one across Opsgenie and JSM;
"unknown" one person across sources. Disturbed nights: Kyler 03-02, Bo 03-02, unknown 03-02 and 03-03
→ 4.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import metrics
from ingest import cli
from settings import Settings
from tests import reads
from tests.apptest import open_page
from tests.provider_servers import (
    JSM_CLOUD,
    FakeJsm,
    FakeOnCall,
    FakeOpsgenie,
    FakePagerDuty,
    jsm_account,
    oncall_account,
    opsgenie_account,
    pagerduty_account,
    run_source,
    serve,
)

FIXTURES = Path(__file__).parent / "fixtures"
UTC = dt.UTC
T0 = dt.datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
NOW = dt.datetime(2026, 3, 3, tzinfo=UTC)
FROM, TO = dt.date(2026, 3, 2), dt.date(2026, 3, 5)
DEFAULTS = Settings()  # METRICS.md's defaults (UTC, default thresholds), whatever ./alerthygiene.toml says
# The recorded Alertmanager bodies, moved from 2026-11-26 14:55:50 to 23:55:50 on the period's first day.
AM_SHIFT = dt.datetime(2026, 3, 2, 23, 55, 50, tzinfo=UTC) - dt.datetime(2026, 11, 26, 14, 55, 50, tzinfo=UTC)


def alertmanager_bodies(path: Path) -> Path:
    """AlwaysFiring, Blinking firing then resolved 4 s later, and Blinking again 60 s after its first start
    in the notification that says Alertmanager dropped 3 alerts (truncatedAlerts), one body a line."""

    def moved(name: str, more_s: int = 0) -> dict:
        body = copy.deepcopy(json.loads((FIXTURES / "alertmanager" / f"{name}.json").read_text()))
        for alert in body["alerts"]:
            for key in ("startsAt", "endsAt"):
                if not alert[key].startswith("0001"):  # Go's zero time: still firing
                    at = dt.datetime.fromisoformat(alert[key]) + AM_SHIFT + dt.timedelta(seconds=more_s)
                    alert[key] = at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return body

    bodies = [moved("always_firing"), moved("blinking_firing"), moved("blinking_resolved"),
              moved("built_truncated", 60)]
    path.write_text("".join(json.dumps(body) + "\n" for body in bodies))
    return path


@pytest.fixture(scope="module")
def account(tmp_path_factory) -> str:
    """The one database every source was synced or imported into."""
    folder = tmp_path_factory.mktemp("every_provider")
    db = str(folder / "all.duckdb")
    (folder / "defaults.toml").write_text("# METRICS.md's defaults: UTC, the default thresholds\n")
    with pytest.MonkeyPatch.context() as mp:
        def synced(source: str, url: str, secret: str, options: dict | None = None, **request) -> None:
            result = run_source(mp, db, source, url, secret, options, **request)
            assert result.status == "ok", (source, result.error)

        with serve(FakePagerDuty("pd-SECRET-1", pagerduty_account())) as url:
            synced("pagerduty", url, "pd-SECRET-1", now=NOW, since=dt.datetime(2015, 10, 1, tzinfo=UTC))
        with serve(FakeOpsgenie("og-SECRET-2", opsgenie_account())) as url:
            synced("opsgenie", url, "og-SECRET-2", now=NOW, since=dt.datetime(2017, 3, 1, tzinfo=UTC))
        oncall, later = oncall_account()
        with serve(FakeOnCall("oc-SECRET-3", oncall)) as url:
            synced("oncall", url, "oc-SECRET-3", {"window_days": 400}, now=T0 + dt.timedelta(hours=6),
                   since=dt.datetime(2020, 5, 1, tzinfo=UTC))
            oncall.change(later)  # an acknowledgement undone, a group un-resolved, an integration deleted
            synced("oncall", url, "oc-SECRET-3", {"window_days": 400}, now=T0 + dt.timedelta(days=3))
        mp.setenv("JSM_EMAIL", "sync-bot@acme.example")
        with serve(FakeJsm("sync-bot@acme.example", "jsm-SECRET-4", jsm_account())) as url:
            synced("jsm", url + f"/jsm/ops/api/{JSM_CLOUD}", "jsm-SECRET-4", now=NOW,
                   since=dt.datetime(2024, 1, 1, tzinfo=UTC))
    built = FIXTURES / "pagerduty" / "built"
    imports = [[str(built / "basic_report.csv"), "--format", "pagerduty-csv", "--time-zone", "America/Lima"],
               [str(built / "advanced_report.csv"), "--format", "pagerduty-csv"],
               [str(alertmanager_bodies(folder / "am.jsonl")), "--format", "alertmanager-json"]]
    for args in imports:
        assert cli.main(["import", *args, "--db", db, "--config", defaults(db)]) == 0, args
    return db


def defaults(db: str) -> str:
    """A settings file of no settings beside the database (never a developer's ./alerthygiene.toml)."""
    return str(Path(db).parent / "defaults.toml")


def test_the_report_gives_the_figures_worked_out_by_hand(account):
    done = subprocess.run([sys.executable, "-m", "metrics", "report", "--db", account, "--from", FROM.isoformat(),
                           "--to", TO.isoformat(), "--format", "json", "--config", defaults(account)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["period"] == {"from": "2026-03-02T00:00:00+00:00", "to": "2026-03-05T00:00:00+00:00"}
    assert (report["alerts"], report["in_progress"], report["team"]) == (25, False, None)
    assert (report["tta_median_s"], report["tta_mean_s"], report["tta_p90_s"]) == (120, 132, 300)
    assert (report["ttr_median_s"], report["ttr_mean_s"]) == (600, 743)
    assert report["ttr_p90_s"] == pytest.approx(1590)
    assert (report["unacknowledged"], report["auto_resolved"], report["transient"], report["flaps"]) == (11, 11, 8, 1)
    assert (report["interruptions"], report["business_hours_interruptions"], report["off_hours_interruptions"],
            report["sleep_interruptions"]) == (24, 8, 5, 11)
    assert report["disturbed_nights"] == 4
    # Alertmanager's history starts in the period (not 90 days before it): novelty is unknown, not 0
    assert report["new_signature_share"] is None
    assert report["actionable_rate"] == 0  # the one verdict in force: PMERGE1's duplicate (merged)
    noisy = {row["signature"]: row for row in report["noisy"]}
    assert [row["signature"] for row in report["noisy"][:5]] == [
        "My Application Service|disk #% full on db-#",  # PCHAN01, PMERGE1, PADV002
        "Blinking|indexer", "Datadog|payment latency p# above #ms", "Prometheus|disk #% full on db-#",
        "Prometheus|replication lag above #s"]  # then ties of 2 by signature
    disk = noisy["My Application Service|disk #% full on db-#"]
    # unacknowledged PMERGE1 and PADV002 (transient); TTR 1800, 1500, 180; Kyler twice at night, unknown once
    assert (disk["alerts"], disk["transient"], disk["unacknowledged"], disk["ttr_median_s"]) == (3, 1, 2, 1500)
    assert (disk["noise_ratio"], disk["interruptions"], disk["sleep_interruptions"]) == (pytest.approx(2 / 3), 4, 3)
    blinking = noisy["Blinking|indexer"]
    assert (blinking["flaps"], blinking["noise_ratio"], blinking["ttr_median_s"]) == (1, 1, 4)
    # the same alert through Opsgenie and then JSM: one signature (integration name + message)
    lag = noisy["Prometheus|replication lag above #s"]
    assert (lag["alerts"], lag["transient"], lag["interruptions"]) == (2, 2, 0)


def test_each_person_is_one_across_sources(account):
    period = metrics.between(FROM, TO)
    people = reads.people_load(account, period, settings=DEFAULTS).set_index("person_name")
    columns = ["interruptions", "business_hours_interruptions", "off_hours_interruptions", "wake_ups",
               "disturbed_nights"]
    assert {name: tuple(row) for name, row in people[columns].iterrows()} == {
        "Kyler Kuhn": (5, 0, 0, 5, 1),
        "Earline Greenholt": (3, 3, 0, 0, 0),  # two SMS and the CSV's acknowledger
        "Ana Ruiz": (2, 2, 0, 0, 0),  # Opsgenie and JSM
        "ana": (1, 0, 1, 0, 0),  # OnCall's user of another e-mail
        "Bo Chen": (2, 0, 0, 2, 1),  # Opsgenie and JSM, one night
        "alex": (2, 2, 0, 0, 0),
        "unknown": (9, 1, 4, 4, 2),  # CSV, OnCall and Alertmanager's fallbacks
    }
    assert reads.summary(account, period, settings=DEFAULTS)["people_paged"] == 7


def test_what_was_read_only_in_part_is_said_in_status_and_on_the_data_page(account, monkeypatch, capsys):
    gaps = [
        "alertmanager: 3 alerts dropped by Alertmanager from 1 notification: raise max_alerts in its webhook_config",
        "opsgenie: 1 alert log line in a wording not recognised (kept as they came; they move no figure)",
        "pagerduty: 1 notification of unknown channel (an alert with only these gets the interruption fallback)",
    ]
    assert reads.data_gaps(account) == gaps
    assert cli.main(["status", "--db", account]) == 0  # status reads no settings
    out = capsys.readouterr().out
    assert all(f"read in part: {gap}" in out for gap in gaps)
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()[2:7]}
    assert sorted(rows) == ["alertmanager", "jsm", "oncall", "opsgenie", "pagerduty"]
    # last sync to the minute, last run, alerts (the built ones and each source's official example; PagerDuty's
    # four from its CSV exports), open (AlwaysFiring and Blinking again; J3; UNRESOL; PREOPEN1 and #108),
    # quarantined, and no error: '-', never 'None'
    assert [row[2:] for row in rows.values()] == [["UTC", "ok", *counts, "0", "-"] for counts in (
        ("3", "2"), ("4", "1"), ("7", "1"), ("4", "0"), ("11", "2"))]
    app = open_page(monkeypatch, account, "views/data_sources.py")
    assert not app.exception
    shown = [re.sub(r"\\(.)", r"\1", w.value) for w in app.warning]  # as read: Markdown's escapes undone
    assert [line for line in shown if line in gaps] == gaps
    assert "Read in part" in [h.value for h in app.subheader]

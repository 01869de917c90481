"""On-call figures worked out by hand on a tiny rota, invariants, and "unknown" without schedules."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
import reads
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

import metrics
import settings
from ingest.shifts import pieces
from metrics import oncall
from tests.metrics_fixtures import alert, build, page

UTC = dt.UTC
Z = lambda *a: dt.datetime(*a, tzinfo=UTC)  # noqa: E731
# Europe switches to summer time at 01:00 UTC on Sunday 2026-03-29 (02:00 CET → 03:00 CEST).
PERIOD = metrics.between(Z(2026, 3, 28), Z(2026, 3, 31))
S = settings.parse({"teams": {"ops": {"time_zone": "Europe/Berlin"}}})


def shift(person: str, start: dt.datetime, end: dt.datetime, schedule: str = "primary", level: int = 1,
          source: str = "rota") -> dict:
    row = {"source": source, "schedule_id": schedule, "escalation_level": level, "person_id": person,
           "starts_at": start, "ends_at": end, "schedule": schedule, "team": "ops"}
    return row


def people() -> list[dict]:
    def one(source, pid, name, email, zone):
        return {"source": source, "person_id": pid, "name": name, "email": email, "time_zone": zone, "team": "ops"}

    return [
        # Ana is on the rota by e-mail and in PagerDuty by id: one person.
        one("rota", "ana@x.io", None, "ana@x.io", None), one("pagerduty", "PANA", "Ana Ruiz", "ANA@x.io", "Europe/Berlin"),
        one("rota", "bo@x.io", None, "bo@x.io", None), one("pagerduty", "PBO", "Bo Chen", "bo@x.io", "Europe/Berlin"),
        one("rota", "dev@x.io", "Dev Patel", "dev@x.io", "Asia/Kolkata"),
    ]


def rota() -> list[dict]:
    """Hand-overs at 09:00 Berlin time: Ana from Saturday (23 h: the clocks go forward), Bo from
    Sunday, Dev (Kolkata, +05:30) from Monday; Ana also on a second schedule overlapping her turn;
    Bo second line (level 2) during Ana's turn. Every shift crosses a midnight."""
    return list(pieces([
        shift("ana@x.io", Z(2026, 3, 28, 8), Z(2026, 3, 29, 7)),
        shift("ana@x.io", Z(2026, 3, 28, 20), Z(2026, 3, 29, 2), schedule="db"),
        shift("bo@x.io", Z(2026, 3, 28, 8), Z(2026, 3, 29, 7), level=2),
        shift("bo@x.io", Z(2026, 3, 29, 7), Z(2026, 3, 30, 7)),
        shift("dev@x.io", Z(2026, 3, 30, 7), Z(2026, 3, 31, 7)),
    ]))


def history() -> tuple[list[dict], list[dict]]:
    a1, a2 = alert(Z(2026, 3, 28, 23, 30), team="ops"), alert(Z(2026, 3, 29, 1, 30), team="ops")
    a3, a4 = alert(Z(2026, 3, 29, 12), team="ops"), alert(Z(2026, 3, 29, 12, 5), team="ops")
    a5 = alert(Z(2026, 3, 30, 20), team="ops")
    a6 = alert(Z(2026, 3, 30, 10), team="ops", source="alertmanager", source_id="AM1")  # no notifications
    a7 = alert(Z(2026, 3, 28, 15), team="ops")
    pages = [page(a1, "PANA"), page(a2, "PANA", channel="push"), page(a3, "PBO", channel="sms"),
             page(a4, "PANA"), page(a5, "dev@x.io"), page(a7, "PBO"), page(a1, "PANA", 60, channel="email")]
    return [a1, a2, a3, a4, a5, a6, a7], pages


@pytest.fixture
def rota_db(tmp_path):
    alerts, notifications = history()
    # Dev is paged through PagerDuty under the rota's id: give PagerDuty a person row for it.
    extra = [{"source": "pagerduty", "person_id": "dev@x.io", "name": "Dev Patel", "email": "dev@x.io",
              "time_zone": "Asia/Kolkata", "team": "ops"}]
    return build(tmp_path / "rota.duckdb", alerts=alerts, notifications=notifications, people=people() + extra,
                 on_call_shifts=rota())


@pytest.fixture
def bare_db(tmp_path):
    alerts, notifications = history()
    return build(tmp_path / "bare.duckdb", alerts=alerts, notifications=notifications, people=people())


def by_person(frame, column):
    return {row.person_name: row[column] for _, row in frame.iterrows()}


def test_on_call_hours_by_bucket_in_each_persons_local_time(rota_db):
    frame = reads.on_call_people(rota_db, PERIOD, settings=S).set_index("person_name")
    # Ana, Sat 09:00 CET → Sun 09:00 CEST: off 09–22 (13 h), sleep 22–08 (9 h: the clocks go
    # forward), off 08–09 Sunday (1 h); her overlapping "db" shift counts once.
    assert frame.loc["Ana Ruiz", ["business_hours", "off_hours", "sleep_hours", "on_call_hours"]].tolist() == [
        0, 14, 9, 23]
    # Bo, Sun 09:00 → Mon 09:00 CEST: off 13 h, sleep 10 h, business 08–09 Monday.
    assert frame.loc["Bo Chen", ["business_hours", "off_hours", "sleep_hours"]].tolist() == [1, 13, 10]
    # Dev in Kolkata: Mon 12:30 → Tue 05:30 IST (the period ends): business 5.5, off 4, sleep 7.5.
    assert frame.loc["Dev Patel", ["business_hours", "off_hours", "sleep_hours"]].tolist() == [5.5, 4, 7.5]


def test_pages_on_call_as_backup_and_off_rota(rota_db):
    frame = reads.on_call_people(rota_db, PERIOD, settings=S).set_index("person_name")
    # Ana: two wake-ups on call (the e-mail does not count), one page after her turn: off rota.
    # Bo: one on call, one while second line. Dev: one night page on call and the Alertmanager
    # alert with no notifications, given to whoever was on call for its team then (Dev).
    assert frame[["on_call_pages", "backup_pages", "off_rota_pages"]].to_dict("index") == {
        "Ana Ruiz": {"on_call_pages": 2, "backup_pages": 0, "off_rota_pages": 1},
        "Bo Chen": {"on_call_pages": 1, "backup_pages": 1, "off_rota_pages": 0},
        "Dev Patel": {"on_call_pages": 2, "backup_pages": 0, "off_rota_pages": 0},
    }
    assert frame.loc["Ana Ruiz", "interruptions_per_shift"] == pytest.approx(2 / 23 * 12)
    assert frame.loc["Dev Patel", "interruptions_per_shift"] == pytest.approx(2 / 17 * 12)


def test_scope_figures_and_nights(rota_db):
    figures = reads.on_call_figures(rota_db, PERIOD, settings=S)
    assert figures["known"] and figures["on_call_hours"] == 64
    assert (figures["business_hours"], figures["off_hours"], figures["sleep_hours"]) == (6.5, 31, 26.5)
    assert figures["interruptions_per_shift"] == pytest.approx(5 / 64 * 12)
    assert figures["off_rota_pages"] == 1 and figures["backup_pages"] == 1
    # On-call nights: Ana's Saturday, Bo's Sunday, Dev's Monday; Ana and Dev were woken on call.
    assert (figures["on_call_nights"], figures["disturbed_on_call_nights"]) == (3, 2)
    assert figures["disturbed_on_call_nights_share"] == pytest.approx(2 / 3)


def test_longest_disturbed_run_broken_nights_fairness_ceiling_and_export(rota_db):
    # Who needs a break looks over the last two sprints up to the scope's: the sprint from Monday 30 March
    # and the one before hold all of PERIOD.
    recent = metrics.between(Z(2026, 3, 30), Z(2026, 3, 31))
    breaks = reads.who_needs_a_break(rota_db, recent, settings=S).set_index("person_name")
    assert breaks.loc["Ana Ruiz", "longest_run"] == 1
    # Ana's night is followed by a Sunday; Dev's (Monday night in Kolkata) by a working Tuesday.
    assert breaks["broken_nights_before_working_day"].to_dict() == {"Ana Ruiz": 0, "Bo Chen": 0, "Dev Patel": 1}
    fair = reads.fairness(rota_db, PERIOD, settings=S).set_index("schedule")
    # primary: pages 2, 1, 2 and off/sleep hours 23, 23, 11.5 → both Ginis 2/15.
    assert fair.loc["primary", "pages_gini"] == pytest.approx(2 / 15)
    assert fair.loc["primary", "hours_gini"] == pytest.approx(2 / 15)
    assert fair.loc["db", "pages_gini"] == 0 and fair.loc["db", "people"] == 1
    strict = replace(S, thresholds=replace(S.thresholds, paging_ceiling_per_shift=1))
    over = reads.shifts_over_ceiling(rota_db, PERIOD, settings=strict)
    # Ana's second 12-hour block (20:00 → 07:00 UTC) took both night pages.
    assert over[["person_name", "interruptions"]].values.tolist() == [["Ana Ruiz", 2]]
    assert over["block_start"].iloc[0] == Z(2026, 3, 28, 20)
    assert reads.shifts_over_ceiling(rota_db, PERIOD, settings=S).empty
    export = reads.on_call_export(rota_db, PERIOD, settings=S).set_index("person")
    assert export.loc["Ana Ruiz", ["month", "on_call_hours", "weekend_hours", "sleep_interruptions"]].tolist() == [
        "2026-03", 23, 23, 2]
    assert export.loc["Dev Patel", ["weekend_hours", "disturbed_nights"]].tolist() == [0, 1]


def test_on_call_trend_per_person_and_sprint(rota_db):
    view = oncall.manager_view(rota_db, PERIOD, settings=S)
    trend = view["trend"]
    # Twelve sprints ending with the one holding the period's start (16 to 30 March, UTC).
    assert [p.start for p in view["sprints"]][-1] == Z(2026, 3, 16) and len(view["sprints"]) == 12
    assert len(trend) == 2 * 12  # Dev's first turn starts after the last of them
    last = trend[trend["bucket_start"] == Z(2026, 3, 16)].set_index("person_name")
    # Bo's turn runs past the sprint's end: 17 of its hours are in it, with his one page.
    assert last.loc["Bo Chen", "on_call_hours"] == 17
    assert last.loc["Bo Chen", "interruptions_per_shift"] == pytest.approx(12 / 17)
    assert last.loc["Ana Ruiz", "disturbed_nights"] == 1
    assert trend[trend["bucket_start"] < Z(2026, 3, 16)]["interruptions_per_shift"].isna().all()


def test_alertmanager_page_goes_to_whoever_was_on_call(rota_db, bare_db):
    pages = reads.interruption_list(rota_db, PERIOD, settings=S).set_index("source")
    assert pages.loc["alertmanager", "person_name"] == "Dev Patel"
    assert pages.loc["alertmanager", "time_bucket"] == "business"  # 15:30 in Kolkata
    bare = reads.interruption_list(bare_db, PERIOD, settings=S).set_index("source")
    assert bare.loc["alertmanager", "person_id"] == "unknown"


def test_without_schedule_data_every_figure_is_unknown(bare_db):
    figures = reads.on_call_figures(bare_db, PERIOD, settings=S)
    assert not figures["known"]
    assert {k: v for k, v in figures.items() if k != "known"} == dict.fromkeys(
        [k for k in figures if k != "known"])
    assert reads.on_call_people(bare_db, PERIOD, settings=S).empty
    assert reads.fairness(bare_db, PERIOD, settings=S).empty


# --- invariants ---------------------------------------------------------------------------------------------

BASE = Z(2026, 3, 23)
intervals = st.lists(st.tuples(st.integers(0, 14 * 24 * 4), st.integers(1, 5 * 24 * 4)), min_size=1, max_size=6)


@hyp_settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spans=intervals, zone=st.sampled_from(["Europe/Berlin", "Asia/Kolkata", "America/St_Johns", "UTC"]))
def test_hours_by_bucket_sum_to_the_union_of_shifts(tmp_path_factory, spans, zone):
    shifts = [shift("p@x.io", BASE + dt.timedelta(minutes=15 * a), BASE + dt.timedelta(minutes=15 * (a + b)),
                    schedule=f"s{k}") for k, (a, b) in enumerate(spans)]
    union, last_end = 0.0, None
    for start, end in sorted((s["starts_at"], s["ends_at"]) for s in shifts):
        if last_end is not None and start < last_end:
            union += max(0.0, (end - last_end).total_seconds())
            last_end = max(last_end, end)
        else:
            union += (end - start).total_seconds()
            last_end = end
    db = build(tmp_path_factory.mktemp("u") / "u.duckdb", alerts=[alert(BASE, team="ops")],
               people=[{"source": "rota", "person_id": "p@x.io", "name": "P", "email": "p@x.io",
                        "time_zone": zone, "team": "ops"}], on_call_shifts=list(pieces(shifts)))
    period = metrics.between(Z(2026, 3, 1), Z(2026, 5, 1))
    row = reads.on_call_people(db, period, settings=S).iloc[0]
    assert row["on_call_hours"] == pytest.approx(union / 3600)
    assert row["business_hours"] + row["off_hours"] + row["sleep_hours"] == pytest.approx(union / 3600)


@hyp_settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0, 1000, allow_nan=False), min_size=1, max_size=12))
def test_gini_is_between_0_and_1_and_0_for_equal_shares(values):
    g = oncall.gini(values)
    assert 0 <= g <= 1 - 1 / len(values) + 1e-9
    if sum(values) > 0:  # the definition: mean absolute difference over all pairs / (2 × mean)
        mean = sum(values) / len(values)
        pairs = sum(abs(a - b) for a in values for b in values) / len(values) ** 2
        assert g == pytest.approx(pairs / (2 * mean), abs=1e-9)
    assert oncall.gini([values[0]] * len(values)) == pytest.approx(0, abs=1e-9)


def test_report_gains_the_on_call_keys_and_section_only_with_schedules(rota_db, bare_db):
    from metrics import report

    doc = report.build(rota_db, PERIOD, None, S)
    data = report.as_json(doc)
    assert data["on_call_hours"] == {"total": 64, "business": 6.5, "off": 31, "sleep": 26.5}
    assert data["interruptions_per_shift"] == pytest.approx(5 / 64 * 12) and data["off_rota_pages"] == 1
    primary = next(f for f in data["fairness"] if f["schedule"] == "primary")
    assert primary["people"] == 3 and primary["pages_gini"] == pytest.approx(2 / 15)
    markdown = report.render_markdown(doc)
    assert "## On call" in markdown and "| Pages per 12 h on call | 0.94 |" in markdown
    assert "Fairness per schedule" in report.render_html(doc)
    bare = report.build(bare_db, PERIOD, None, S)
    assert not {"on_call_hours", "interruptions_per_shift", "off_rota_pages", "fairness"} & set(report.as_json(bare))
    assert "## On call" not in report.render_markdown(bare)

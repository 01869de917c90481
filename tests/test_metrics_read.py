"""The read API: one call, one computation of the facts per window, loud failures, Arrow results."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from metrics_fixtures import T0, alert, at, build, page, person, review

import metrics
import store
from metrics import catalog, facts
from settings import Settings

ROOT = Path(__file__).resolve().parent.parent
S = Settings()
P = metrics.sprint_period(S, T0.date())  # Monday 2 March 2026, UTC
LISTS = ["noisy", "alert_list", "interruption_list", "people_load", "paging_load", "hold_down_replay",
         "new_signatures", "hours_lost_by_signature", "interruptions_by_hour", "response_spread"]


@pytest.fixture
def db(tmp_path):
    a1 = alert(at(60), ack_s=30, resolve_s=60, acknowledged_by="ann", service="api", url="https://pd/1")
    a2 = alert(at(120), ack_s=60, resolve_s=120, service="api", url="https://pd/2")
    a3 = alert(at(180), ack_s=90, resolve_s=180, service="api")
    a4 = alert(at(240), ack_s=120, resolve_s=240, service="api")
    a5 = alert(at(300), ack_s=150, resolve_s=3600, service="api", signature="api|slow")
    w1 = alert(at(2000), resolve_s=30, team="web", service="www", signature="www|blip")
    rows = [a1, a2, a3, a4, a5, w1, alert(P.start - dt.timedelta(days=3), resolve_s=5)]
    notes = [page(a1, "ann"), page(a2, "bob", 30, "push"), page(a5, "ann", 0, "sms"),
             page(a3, "cat", 0, "other")]  # a channel that could not be read: a3 keeps the fallback
    people = [person("ann", "Asia/Kolkata"), person("bob")]
    reviews = [review("api|slow", "noise", at(1)), review("api|slow", "actionable", at(400), note="keep it")]
    quarantine = [
        {"source": "pagerduty", "stream": "incidents", "record_hash": f"h{k}", "raw": "{}",
         "reason": f"bad record {k}", "quarantined_at": at(k)} for k in range(3)
    ]
    return build(tmp_path / "read.duckdb", alerts=rows, notifications=notes, people=people, reviews=reviews,
                 quarantine=quarantine)


def test_one_read_equals_separate_reads(db):
    names = [*metrics.figure_names(), *LISTS, "compare", "per_sprint", "trends", "repeat_offenders"]
    together = metrics.read(db, names, metrics.Scope(P, "core"), S)
    for name in names:
        alone = metrics.read(db, [name], metrics.Scope(P, "core"), S)
        if isinstance(together.values[name], pa.Table):
            pd.testing.assert_frame_equal(together[name], alone[name], obj=name)
        else:
            assert together[name] == alone[name], name
    assert list(together) == names  # in the order asked


def test_the_facts_are_computed_once_per_window(db, monkeypatch):
    calls = []
    original = facts.materialize
    monkeypatch.setattr(facts, "materialize", lambda *a, **k: calls.append(a[1]["buckets"]) or original(*a, **k))
    metrics.read(db, [*metrics.figure_names(), *LISTS], metrics.Scope(P), S)
    assert calls == [[P.start]]  # every figure and list of the period: one computation
    calls.clear()
    metrics.read(db, ["teams", "sources", "services", "quarantined", "follow_through"], settings=S)
    assert calls == []  # lists of stored tables need no facts


def test_frames_of_different_buckets_share_one_computation_and_keep_each_buckets_figures(tmp_path, monkeypatch):
    """The period with its days and the period before (the Overview's read): the facts are computed once
    for the span, and what depends on the bucket (new in it, a runbook in it, the interruption's day)
    is each frame's own, as when each is read alone."""
    twice = [alert(at(days=2), resolve_s=60, signature="api|twice", runbook_url="https://runbooks/twice"),
             alert(at(days=9), resolve_s=60, signature="api|twice")]
    rows = [alert(at(days=-200), resolve_s=5, signature="api|ancient"),  # the source's history: is_new is known
            alert(at(days=-5), resolve_s=5, signature="api|before"), alert(at(days=3), resolve_s=5, signature="api|before"),
            *twice]
    db = build(tmp_path / "frames.duckdb", alerts=rows, notifications=[page(twice[1], "ann")])
    names = ["series_over", "compare", "new_signatures", "runbook_coverage", "interruptions"]
    calls = []
    original = facts.materialize
    monkeypatch.setattr(facts, "materialize", lambda *a, **k: calls.append(a[1]["buckets"]) or original(*a, **k))
    together = metrics.read(db, names, metrics.Scope(P), S)
    assert len(calls) == 1  # the span's facts, once
    for name in names:
        alone = metrics.read(db, [name], metrics.Scope(P), S)
        if isinstance(together.values[name], pa.Table):
            pd.testing.assert_frame_equal(together[name], alone[name], obj=name)
        else:
            assert together[name] == alone[name], name
    days = together["series_over"].query("team.isna()").set_index("start")
    second, ninth = days.loc[at(days=2)], days.loc[at(days=9)]
    assert (second["new_signature_share"], second["runbook_coverage"]) == (1.0, 1.0)
    assert (ninth["new_signature_share"], ninth["runbook_coverage"], ninth["interruptions"]) == (0.0, 0.0, 1)
    assert together["runbook_coverage"] == 2 / 3 and sorted(together["new_signatures"]["signature"]) == ["api|twice"]


@pytest.mark.parametrize("series", ["series_over", "per_sprint"])
def test_a_series_narrowed_to_the_figures_drawn_gives_them_as_the_whole_series_does(db, monkeypatch, series):
    """Response times draws two figures of its series: the others, and the interruption facts only
    they need, are not worked out; the figures drawn are those of the whole series."""
    names = ["alerts", "response_spread", series]
    options = {"count": 3} if series == "per_sprint" else {}
    whole = metrics.read(db, names, metrics.Scope(P), S, **options)
    asked = []
    original = facts.materialize
    monkeypatch.setattr(facts, "materialize", lambda con, values, interruptions, *a, **k:
                        asked.append(interruptions) or original(con, values, interruptions, *a, **k))
    drawn = ("tta_median_s", "ttr_median_s")
    narrowed = metrics.read(db, names, metrics.Scope(P), S, series_figures=drawn, **options)
    assert asked and not any(asked)  # no interruption facts
    start = "start" if series == "series_over" else "sprint_start"
    columns = ["team", start, *drawn] + (["days"] if series == "series_over" else [])
    assert list(narrowed[series].columns) == columns
    pd.testing.assert_frame_equal(narrowed[series], whole[series][columns])
    assert narrowed["response_spread"].equals(whole["response_spread"]) and narrowed["alerts"] == whole["alerts"]
    assert whole[series]["interruptions"].notna().any()  # the whole series has them (the test would say nothing)

    asked.clear()  # a figure of interruptions drawn: their facts are computed, and its values are the series'
    paged = metrics.read(db, [series], metrics.Scope(P), S, series_figures=("interruptions",), **options)
    assert any(asked)
    pd.testing.assert_series_equal(paged[series]["interruptions"], whole[series]["interruptions"])
    # The comparison, which shows every figure, still has them all.
    both = metrics.read(db, [series, "compare"], metrics.Scope(P), S, series_figures=drawn, **options)
    pd.testing.assert_frame_equal(both["compare"], metrics.read(db, ["compare"], metrics.Scope(P), S)["compare"])
    with pytest.raises(TypeError, match="no figure"):
        metrics.read(db, [series], metrics.Scope(P), S, series_figures=("noisy",), **options)


def test_figures_are_plain_values_and_lists_are_arrow_tables(db):
    figures = metrics.read(db, ["alerts", "tta_median_s", "noisy"], metrics.Scope(P, "core"), S)
    assert figures["alerts"] == 5 and isinstance(figures["alerts"], int)
    assert figures["tta_median_s"] == pytest.approx(90)
    assert isinstance(figures.table("noisy"), pa.Table) and isinstance(figures["noisy"], pd.DataFrame)
    assert figures["noisy"]["signature"].tolist() == ["api|disk # full", "api|slow"]
    with pytest.raises(KeyError, match="was not read"):
        figures["flaps"]


def test_the_cached_form_holds_arrow_not_dataframes(db):
    figures = metrics.read(db, ["noisy"], metrics.Scope(P), S)
    assert not figures["noisy"].empty  # converted once for the reader...
    copy = pickle.loads(pickle.dumps(figures))
    assert copy._frames == {} and copy.table("noisy").equals(figures.table("noisy"))  # ...but kept as Arrow
    assert len(pickle.dumps(figures)) < 2 * figures.table("noisy").nbytes + 4096


def test_misuse_fails_loudly_before_reading(db):
    scope = metrics.Scope(P)
    with pytest.raises(TypeError, match="hold_down_s.*hold_down_replay"):
        metrics.read(db, ["noisy"], scope, S, hold_down_s=60)
    with pytest.raises(TypeError, match="unknown read option"):
        metrics.read(db, ["noisy"], scope, S, holddown=60)
    with pytest.raises(KeyError, match="payback is a column of fix_planner"):
        metrics.read(db, ["payback"], scope, S)
    with pytest.raises(KeyError, match="noise_diagnosis is a column of noisy"):
        metrics.read(db, ["noise_diagnosis"], scope, S)
    with pytest.raises(ValueError, match="needs a scope"):
        metrics.read(db, ["alerts"], None, S)


def test_columns_are_described_with_their_table(db):
    figures = metrics.read(db, ["fix_planner", "noisy"], metrics.Scope(P), S)
    assert "fix estimate" in figures.describe("payback")
    assert "last 3 finished sprints" in figures.describe("projected_saving")
    assert "60 s of another signature" in figures.describe("noise_diagnosis")
    assert {"projected_saving_h", "payback_sprints"} <= set(figures["fix_planner"].columns)
    assert "diagnosis" in figures["noisy"].columns


def test_review_notes_of_many_signatures_come_from_one_read(db):
    got = metrics.read(db, ["review_notes"], metrics.Scope(P), S, signatures=["api|slow", "web|none"])
    # a review without a note gives none; a signature without reviews, no row
    assert got["review_notes"].values.tolist() == [["api|slow", "keep it"]]
    assert metrics.read(db, ["review_notes"], metrics.Scope(P), S, signatures=[])["review_notes"].empty


def test_a_signature_scope_reads_only_that_signature(db):
    whole = metrics.read(db, ["alert_list", "interruption_list"], metrics.Scope(P), S)
    one = metrics.read(db, ["alert_list", "interruption_list", "signature_reviews", "hold_down_replay"],
                       metrics.Scope(P, signature="api|slow"), S, hold_down_s=60)
    mine = whole["alert_list"][whole["alert_list"]["signature"] == "api|slow"].reset_index(drop=True)
    pd.testing.assert_frame_equal(one["alert_list"], mine)
    assert one["interruption_list"]["person_id"].tolist() == ["ann"]
    assert one["signature_reviews"]["verdict"].tolist() == ["actionable", "noise"]  # newest first
    assert one["signature_reviews"]["note"].tolist()[0] == "keep it"
    assert one["hold_down_replay"]["signature"].tolist() == ["api|slow"]


def _computing(monkeypatch) -> list:
    """The facts computations that follow (each one looks up its sources' history first)."""
    calls = []
    original = facts.source_history
    monkeypatch.setattr(facts, "source_history", lambda con, values: calls.append(values["signature"]) or original(con, values))
    return calls


def _same(one: metrics.Figures, other: metrics.Figures) -> None:
    assert list(one) == list(other)
    for name in one:
        if isinstance(one.values[name], pa.Table):
            pd.testing.assert_frame_equal(one[name], other[name], obj=name)
        else:
            assert one[name] == other[name], name


@pytest.fixture
def drill_db(tmp_path):
    """Alerts whose facts depend on more than the alert: flaps, first sightings, runbooks in the period,
    verdicts in force, one-alert verdicts, merges, and pages by name, by fallback and by rota."""
    flapping = [alert(at(10 * k), resolve_s=60, signature="api|flappy", service="api") for k in range(4)]
    linked = alert(at(90), resolve_s=30, signature="api|linked", runbook_url="https://runbooks/linked")
    merged = alert(at(95), resolve_s=30, signature="api|linked", merged_into=linked["source_id"])
    old = [alert(at(days=-20), resolve_s=60, signature="api|old"), alert(at(200), ack_s=60, resolve_s=900,
                                                                         signature="api|old", acknowledged_by="ann")]
    web = alert(at(300), resolve_s=30, team="web", signature="www|blip", source="alertmanager")
    history = alert(at(days=-200), resolve_s=5, signature="api|ancient")
    rows = [*flapping, linked, merged, *old, web, history]
    notes = [page(flapping[0], "ann"), page(flapping[1], "bob", 30, "push"), page(flapping[2], "cat", 0, "other"),
             page(old[1], "ann", 0, "sms")]
    reviews = [review("api|flappy", "noise", at(1), period=P), review("api|old", "actionable", at(5)),
               review("api|flappy", "actionable", at(2), alert=flapping[3])]
    return build(tmp_path / "drill.duckdb", alerts=rows, notifications=notes, reviews=reviews,
                 people=[person("ann", "Asia/Kolkata"), person("bob")])


def test_in_a_run_a_signatures_read_takes_its_rows_of_the_scopes_facts_and_gives_what_it_gives_alone(
        drill_db, monkeypatch):
    """A page's drill-down into one signature of its ranking: the facts the ranking's read computed are
    kept for the run, and each signature's read gives exactly what computing its own facts gives."""
    db = drill_db
    names = [*metrics.figure_names(), *LISTS, "signature_reviews"]
    signatures = ["api|flappy", "api|linked", "api|old", "www|blip", "no|such"]
    alone = {s: metrics.read(db, names, metrics.Scope(P, signature=s), S) for s in signatures}
    assert alone["api|flappy"]["flaps"] == 3 and alone["api|linked"]["runbook_coverage"] == 1
    pages = alone["api|flappy"]["interruption_list"]
    assert alone["api|old"]["new_signatures"].empty and len(pages) == 4 and pages["fallback"].sum() == 2
    computed = _computing(monkeypatch)
    with store.read_session(db):
        metrics.read(db, ["noisy"], metrics.Scope(P), S)
        assert computed == [None]
        for s in signatures:
            _same(metrics.read(db, names, metrics.Scope(P, signature=s), S), alone[s])
        assert computed == [None]  # none computed facts of its own
        # Another scope, other settings: the kept facts are not theirs
        web = metrics.read(db, ["alert_list"], metrics.Scope(P, "web", signature="www|blip"), S)
        assert computed == [None, "www|blip"]
        metrics.read(db, ["noisy"], metrics.Scope(P), S)
        strict = Settings(thresholds=dataclasses.replace(S.thresholds, flap_s=1))
        assert metrics.read(db, ["flaps"], metrics.Scope(P, signature="api|flappy"), strict)["flaps"] == 0
        assert computed == [None, "www|blip", None, "api|flappy"]
        metrics.read(db, ["alert_list"], metrics.Scope(P), S)  # a read no page drills into keeps nothing
        metrics.read(db, ["alert_list"], metrics.Scope(P, signature="api|flappy"), S)
        assert computed == [None, "www|blip", None, "api|flappy", None, "api|flappy"]
    pd.testing.assert_frame_equal(web["alert_list"], alone["www|blip"]["alert_list"])
    computed.clear()
    metrics.read(db, ["alert_list"], metrics.Scope(P, signature="api|old"), S)
    assert computed == ["api|old"]  # nothing is kept outside a run


def test_in_a_run_a_verdict_kept_aside_after_the_ranking_is_in_the_signatures_read(drill_db):
    with store.read_session(drill_db):
        metrics.read(drill_db, ["noisy"], metrics.Scope(P), S)
        row = review("www|blip", "noise", at(2), period=P)
        store.pending.keep(drill_db, "reviews", pa.Table.from_pylist([row]))
        one = metrics.read(drill_db, ["alert_list"], metrics.Scope(P, signature="www|blip"), S)
    assert one["alert_list"]["verdict"].tolist() == ["noise"]


@pytest.mark.parametrize("scope", [{"team": "core"}, {"service": "api"}, {"signature": "api|flappy"}])
def test_the_facts_of_a_part_of_the_alerts_are_those_its_statement_for_all_alerts_gives(drill_db, scope):
    values = facts.params(S, P, **scope)
    with store.reading(drill_db) as con:
        facts.source_history(con, values)
        kept, scanned = (facts.rows(con, f"{sql} ORDER BY id", values)
                         for sql in (facts.alert_facts_sql(values), facts.ALERT_FACTS))
    assert facts.alert_facts_sql(values) != facts.ALERT_FACTS
    assert kept == scanned and kept


def test_alert_list_pages(db):
    scope = metrics.Scope(P)
    everything = metrics.read(db, ["alert_list"], scope, S)["alert_list"]
    page_two = metrics.read(db, ["alert_list"], scope, S, limit=2, offset=2)["alert_list"]
    assert len(everything) == 6
    assert page_two["source_id"].tolist() == everything["source_id"].tolist()[2:4]


def test_slowest_lists_the_longest_to_resolve_with_links(db):
    slowest = metrics.read(db, ["slowest"], metrics.Scope(P, "core"), S, limit=2)["slowest"]
    assert slowest["ttr_s"].tolist() == [3600, 240]
    assert slowest["title"].tolist() == ["slow", "disk # full"]
    default = metrics.read(db, ["slowest"], metrics.Scope(P), S)["slowest"]
    assert len(default) == 6 and default["url"].notna().sum() == 2


def test_response_spread_gives_box_plot_statistics(db):
    spread = metrics.read(db, ["response_spread"], metrics.Scope(P), S)["response_spread"]
    core = spread[(spread["per"] == "team") & (spread["name"] == "core")].set_index("measure")
    # TTR of core: 60, 120, 180, 240, 3600 s. Quartiles 120, 180, 240; IQR 120, so the upper
    # whisker stops at the largest time within 240 + 180 = 420 s, and 3600 s lies beyond it.
    assert (core.loc["ttr", "q1"], core.loc["ttr", "median"], core.loc["ttr", "q3"]) == (120, 180, 240)
    assert core.loc["ttr", "lower_fence"] == 60 and core.loc["ttr", "upper_fence"] == 240
    assert core.loc["ttr", "alerts"] == 5
    assert core.loc["tta", "median"] == 90  # 30, 60, 90, 120, 150 s
    www = spread[(spread["per"] == "service") & (spread["name"] == "www")]
    assert www["measure"].tolist() == ["ttr"]  # never acknowledged: no TTA box


def test_interruptions_by_hour_count_pages_in_local_time(db):
    by_hour = metrics.read(db, ["interruptions_by_hour"], metrics.Scope(P), S)["interruptions_by_hour"]
    cells = {(row.weekday, row.hour): row.interruptions for row in by_hour.itertuples()}
    # ann in Kolkata (+05:30) paged at 01:00 and 05:00 UTC on Monday: 06:30 and 10:30 her time;
    # bob (no zone: UTC) at 02:00:30; a3, a4 and w1 page "unknown" at created_at, in UTC.
    assert cells == {(0, 6): 1, (0, 10): 1, (0, 2): 1, (0, 3): 1, (0, 4): 1, (1, 9): 1}
    assert sum(cells.values()) == metrics.read(db, ["interruptions"], metrics.Scope(P), S)["interruptions"]


def test_services_teams_sources_quarantine_and_data_gaps(db):
    known = metrics.read(db, ["services", "teams", "sources", "quarantined", "data_gaps"], settings=S, limit=2)
    assert known["services"].values.tolist() == [["core", "api"], ["web", "www"]]
    assert known["teams"]["team"].tolist() == ["core", "web"]
    assert known["sources"].set_index("source").loc["pagerduty", "quarantined"] == 3
    assert known["quarantined"]["reason"].tolist() == ["bad record 2", "bad record 1"]  # newest, at most 2
    assert catalog.gap_lines(known["data_gaps"]) == [
        "pagerduty: 1 notification of unknown channel (an alert with only these gets the interruption fallback)"]


def test_syncs_and_team_known_agree_with_sources_and_teams_without_counting_alerts(db):
    """The report's footer reads `syncs` (each source's last sync) and the CLI's team check `team_known`:
    the same sources and last syncs as `sources`, the same teams as `teams`."""
    import store

    with store.writing(db) as con:
        con.execute("INSERT INTO ingest_runs (run_id, source, started_at, finished_at, status) VALUES "
                    "('r1', 'pagerduty', $t, $t, 'ok'), ('r2', 'pagerduty', $u, NULL, 'failed'), "
                    "('r3', 'jsm', $t, $t, 'ok')", {"t": at(10), "u": at(20)})
    known = metrics.read(db, ["sources", "syncs", "teams"], settings=S)
    syncs, sources = known.rows("syncs"), known.rows("sources")
    assert [row["source"] for row in syncs] == [row["source"] for row in sources] == ["jsm", "pagerduty"]
    assert [(row["last_sync"], row["last_status"]) for row in syncs] == [
        (row["last_sync"], row["last_status"]) for row in sources] == [(at(10), "ok"), (at(10), "failed")]
    for team in ["core", "web", "nobody"]:
        found = metrics.read(db, ["team_known"], metrics.Scope(P, team), S).rows("team_known")
        assert found == [{"known": team in known["teams"]["team"].tolist()}]


def test_the_json_report_parses_when_queries_are_slow(tmp_path, db):
    """DuckDB draws a progress bar on stdout for slow queries; even with the bar on it never reaches the JSON."""
    slow = (
        "import sys, duckdb\n"
        "connect = duckdb.connect\n"
        "def eager(*args, **kwargs):  # a query over 1 ms counts as slow: the bar would show at once\n"
        "    con = connect(*args, **kwargs)\n"
        "    con.execute('SET progress_bar_time = 1')\n"
        "    return con\n"
        "duckdb.connect = eager\n"
        "import store.connection\n"
        "store.connection._no_progress_bar = lambda con: None  # as if the bar were on: it must still miss stdout\n"
        "from metrics.__main__ import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "ALERTHYGIENE_DB"} | {"PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", slow, "report", "--db", db, "--sprint", T0.date().isoformat(),
                           "--format", "json"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["alerts"] == 6


def test_records_gives_python_values_without_casts():
    """Rows of a DuckDB result as plain values: integer sums (128-bit decimals) as floats, moments with a
    time zone as UTC datetimes, NULL as None, across several Arrow chunks, equal to what a cast gives."""
    import duckdb

    from metrics.read import records

    con = duckdb.connect()
    con.execute("SET TimeZone = 'Europe/Berlin'")
    con.execute("""CREATE TABLE t AS
        SELECT sum(i)::HUGEINT::DECIMAL(38, 0) AS total, sum(i) AS plain_sum,
            TIMESTAMPTZ '2026-03-29 00:30:00+00' + to_seconds(g * 3600) AS at,
            CASE WHEN g % 2 = 0 THEN TIMESTAMPTZ '2026-03-01 12:00:00+00' END AS maybe_at,
            CASE WHEN g % 3 = 0 THEN 1.5::DECIMAL(10, 2) END AS maybe_share
        FROM range(3) AS r(g), range(4) AS s(i) GROUP BY g ORDER BY g""")
    table = con.sql("SELECT * FROM t").to_arrow_table()
    table = pa.concat_tables([table.slice(0, 1), table.slice(1)])  # more than one chunk
    assert table.column("at").num_chunks == 2 and pa.types.is_decimal(table.schema.field("total").type)
    rows = records(table)
    assert rows == [
        {"total": 6.0, "plain_sum": 6.0, "at": dt.datetime(2026, 3, 29, 0, 30, tzinfo=dt.UTC),
         "maybe_at": dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC), "maybe_share": 1.5},
        {"total": 6.0, "plain_sum": 6.0, "at": dt.datetime(2026, 3, 29, 1, 30, tzinfo=dt.UTC),
         "maybe_at": None, "maybe_share": None},
        {"total": 6.0, "plain_sum": 6.0, "at": dt.datetime(2026, 3, 29, 2, 30, tzinfo=dt.UTC),
         "maybe_at": dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC), "maybe_share": None},
    ]
    assert [type(row["total"]) for row in rows] == [float] * 3
    plain_rows = facts.rows(con, "SELECT * FROM t", {})  # without Arrow: the same values, of the same types
    assert json.dumps(plain_rows, default=repr) == json.dumps(rows, default=repr)


def test_a_read_as_rows_gives_the_values_an_arrow_read_gives(db):
    """The report's form of a read: every list as plain rows equal to the Arrow read's rows, every
    figure equal; a row read holds no tables."""
    from metrics.report import DOCUMENT_NAMES

    def typed(value):  # 5 and 5.0, or two zones of one moment, print differently in a report
        return json.dumps(value, default=repr, sort_keys=False)

    names = [*DOCUMENT_NAMES, *LISTS, "team_known", "syncs", "sources"]
    scope = metrics.Scope(P, "core")
    arrow = metrics.read(db, names, scope, S, as_of=P.end)
    rows = metrics.read(db, names, scope, S, as_rows=True, as_of=P.end)
    tables = [name for name in dict.fromkeys(names) if isinstance(arrow.values[name], pa.Table)]
    assert len(tables) > 10 and any(arrow.table(name).num_rows for name in tables)
    for name in dict.fromkeys(names):
        if name in tables:
            assert isinstance(rows.values[name], list) and typed(rows.rows(name)) == typed(arrow.rows(name)), name
        else:
            assert typed(rows[name]) == typed(arrow[name]), name
    with pytest.raises(TypeError, match="read as rows"):
        rows.table("noisy")


def test_frames_share_their_facts_only_when_one_lies_mostly_within_another():
    """A year's report reads the year and, for its repeat offenders, the three sprints before the year's
    start: they barely touch, so each computes its own facts (a shared computation would hold a copy
    of the year's facts beside them). The Overview's period with its days and the period before share."""
    from metrics.period import Period
    from metrics.read import overlapping, plan
    from metrics.report import JSON_NAMES

    year = metrics.Scope(Period(P.end - dt.timedelta(days=365), P.end))
    _, frames = plan([metrics.metric(n) for n in JSON_NAMES], year, S, {"as_of": P.end})
    assert len(frames) == 2 and not overlapping(frames)
    _, frames = plan([metrics.metric(n) for n in ("series_over", "compare")], metrics.Scope(P), S, {"as_of": P.end})
    assert len(frames) == 2 and overlapping(frames)
    _, frames = plan([metrics.metric(n) for n in ("alerts", "repeat_offenders")], metrics.Scope(P), S, {})
    assert len(frames) == 1 and not overlapping(frames)  # the sprint is one of the last three: one computation


def test_a_years_report_computes_each_frames_facts_on_its_own(db, monkeypatch):
    from metrics.period import Period
    from metrics.report import JSON_NAMES

    def shared(*args, **kwargs):
        raise AssertionError("the year's facts were computed for a span shared with frames that barely touch it")

    monkeypatch.setattr(facts, "materialize_shared", shared)
    year = metrics.Scope(Period(P.end - dt.timedelta(days=365), P.end))
    assert metrics.read(db, JSON_NAMES, year, S, as_rows=True, as_of=P.end)["alerts"] > 0

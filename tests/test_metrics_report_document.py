"""The sprint report as a document: headline with targets, the retro's decisions, what pastes cleanly."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from metrics_fixtures import T0, alert, build, page, review

import metrics
import store
from metrics import report, targets
from settings import Settings, TeamSettings

ROOT = Path(__file__).resolve().parent.parent
SPRINT = dt.timedelta(days=14)
S = Settings(teams={"core": TeamSettings(max_wakeups_per_sprint=4, max_noise_ratio=0.2)})
P = metrics.sprint_period(S, T0.date())  # 2 – 15 Mar 2026
BEFORE = metrics.previous(P)
RETRO = P.end + dt.timedelta(hours=10)  # the retro, the morning after the sprint
AFTER = P.end + 3 * SPRINT  # long after: the report is final


def in_sprint(days: float, hour: float = 10, **extra) -> dict:
    return alert(T0 + dt.timedelta(days=days, hours=hour), team="core", **extra)


@pytest.fixture
def db(tmp_path):
    """Sprint P of team core: three signatures, one paged at night; a retro reviewed P."""
    disk = [in_sprint(d, resolve_s=60, signature="db|disk # full", title="Disk 91% full") for d in (1, 2, 3)]
    api = in_sprint(4, ack_s=60, resolve_s=600, signature="api|5xx", title="API 5xx rate <high>")
    cron = in_sprint(5, ack_s=30, resolve_s=100, signature="cron|missed", title="cron_job missed *twice*")
    night = in_sprint(6, hour=2, ack_s=60, resolve_s=900, signature="api|5xx", title="API 5xx rate <high>")
    reviews = [
        review("db|disk # full", "noise", RETRO, period=P, note="nobody acts on it", reviewer="ann"),
        review("api|5xx", "actionable", RETRO, period=P, note="real customer impact", reviewer="bob"),
        review("cron|missed", "noise", RETRO, period=P, note="first thought", reviewer="ann"),
        review("cron|missed", "duplicate", RETRO + dt.timedelta(minutes=5), period=P, note="same as backup",
               reviewer="ann", review_id="R-cron-final"),
        review("api|5xx", "duplicate", RETRO, period=P, alert=night, note="paged twice"),
        review("api|5xx", "noise", BEFORE.end - dt.timedelta(days=1), period=BEFORE, note="older retro"),
    ]
    return build(tmp_path / "r.duckdb", alerts=[*disk, api, cron, night], reviews=reviews,
                 notifications=[page(night, "ann")])


def document(db: str, period=P, team="core", now=AFTER) -> report.Document:
    return report.build(db, period, team, S, now=now)


def test_the_report_carries_every_verdict_and_note_of_the_retro(db):
    store.retro.set_owner(db, "R-cron-final", "dana")
    doc = document(db)
    text = report.render_markdown(doc)
    decisions = text[text.index("### Verdicts and notes"):text.index("### Action items")]
    for title, verdict, note in (("Disk 91% full", "Noise", "nobody acts on it"),
                                 ("API 5xx rate &lt;high>", "Actionable", "real customer impact"),
                                 (r"cron_job missed \*twice\*", "Duplicate", "same as backup")):
        assert re.search(rf"\| {re.escape(title)} \| {verdict} \| {note} \|", decisions), (title, decisions)
    assert "first thought" not in decisions  # changed during the retro: the last verdict stands
    assert "older retro" not in decisions  # given in the retro of the sprint before
    assert "(one alert, 8 Mar 2026 02:00) | Duplicate | paged twice | sam |" in decisions
    actions = text[text.index("### Action items"):text.index("### Reviewed alerts still firing")]
    assert "| Delete it or demote it to a ticket | Disk 91% full | no owner yet |" in actions
    assert "| Group it with the alert it repeats, or inhibit it | cron_job missed \\*twice\\* | dana |" in actions
    assert "API 5xx" not in actions  # actionable, and not a repeat offender: nothing to do

    reviews = report.as_json(doc)["reviews"]
    assert [r["verdict"] for r in reviews] == ["actionable", "noise", "duplicate", "duplicate"]
    assert set(report.REVIEW_KEYS) <= set(reviews[0])
    assert reviews[-1]["alert"] is not None and reviews[-1]["action"] is None
    assert reviews[2]["owner"] == "dana" and reviews[2]["action"].startswith("Group it")
    assert {r["note"] for r in reviews} == {"nobody acts on it", "real customer impact", "same as backup", "paged twice"}


def test_a_verdict_given_now_leaves_an_earlier_periods_report_unchanged(db, tmp_path):
    later = metrics.sprint_period(S, (T0 + 2 * SPRINT).date())
    before = report.as_json(document(db))
    markdown_before = report.render_markdown(document(db))
    store.retro.save_review(db, "db|disk # full", "actionable", note="we changed our minds", reviewer="cy",
                            period=(later.start, later.end))
    after = report.as_json(document(db))
    for key in ("generated",):
        before.pop(key), after.pop(key)
    assert after == before
    assert _body(report.render_markdown(document(db))) == _body(markdown_before)


def _body(markdown: str) -> str:
    return markdown[: markdown.rindex("Generated ")]


def test_the_headline_has_at_most_eight_figures_each_with_its_change_and_target(db):
    store.retro.save_target(db, "core", "noise_ratio", 0.8, set_by="kim")  # overrides the file's 0.2
    doc = document(db)
    table = report.headline_table(doc)
    assert len(table.rows) <= 8 and table.columns == ["Figure", "This period", "Change", "Target"]
    rows = {row[0]: row for row in table.rows}
    # 6 alerts, 3 transient (the disk ones): 50% noise, against the app's target of 80%.
    assert rows["Noise ratio"][1:] == ["50%", "—", "at most 80%: met"]  # no alerts before: no ratio
    assert rows["Wake-ups"][1:] == ["1", "+1", "at most 4: met"]  # the file's target
    assert rows["MTTA (median)"][3] == "—"
    assert rows["Alerts"][1:3] == ["6", "+6"]
    assert report.as_json(doc)["targets"]["noise_ratio"] == {"at_most": 0.8, "set_in": "app", "status": "met"}
    # the report reads the app's targets in its own read (targets_set), as team_targets reads them alone
    set_in_app = metrics.read(db, ["targets_set"], metrics.Scope(P, "core"), S).rows("targets_set")
    assert [(row["figure"], row["value"], row["set_by"]) for row in set_in_app] == [("noise_ratio", 0.8, "kim")]
    assert doc.targets == targets.team_targets(db, "core", S)


def test_a_sprint_in_progress_says_so_and_is_compared_pro_rata(db):
    now = T0 + dt.timedelta(days=3, hours=12)  # three alerts so far, none in the sprint before
    doc = document(db, now=now)
    assert doc.in_progress and report.as_json(doc)["in_progress"] is True
    text = report.render_markdown(doc)
    assert text.startswith("# Alert hygiene report: core, 2 – 15 Mar 2026 (in progress, day 4 of 14)")
    assert "same number of days of the sprint before" in text
    assert report.as_json(doc)["targets"]["wake_ups"]["status"] == "on track"


def test_markdown_has_human_labels_and_no_raw_values(db):
    text = report.render_markdown(document(db))
    lines = text.splitlines()
    headers = [lines[i - 1] for i, line in enumerate(lines) if line.startswith("| ---")]
    assert len(headers) >= 4 and not any(re.search(r"[a-z]_[a-z]", line) for line in headers)
    for raw in ("None", "nan", "NaT", "+00:00", "T00:00", "noise_ratio", "ttr_median_s", "&lt; ", "&amp;"):
        assert raw not in text, raw
    assert re.search(r"^\| # \| Alert \| Alerts \| Noise \|", text, re.M)


def test_html_report_prints_on_a4_with_the_same_sections(db):
    page_html = report.render_html(document(db))
    assert "@page{size:A4" in page_html and "max-width:180mm" in page_html
    for heading in ("Headline", "Decisions", "Verdicts and notes", "Action items", "Noisiest alerts", "Glossary"):
        assert f">{heading}</h" in page_html
    assert "API 5xx rate &lt;high&gt;" in page_html and "<high>" not in page_html


def test_json_report_round_trips(db):
    assert json.loads(report.render_json(document(db)))["team"] == "core"


def test_the_markdown_renders_as_written_under_a_commonmark_parser_with_github_tables(db):
    """Pasted into GitHub (or a wiki that reads Markdown), every table is a table and every title reads as typed."""
    from markdown_it import MarkdownIt

    store.retro.save_review(db, "cron|missed", "duplicate", note="see `backup` | <b>restore</b> *first*",
                            reviewer="ann", period=(P.start, P.end), reviewed_at=RETRO + dt.timedelta(minutes=9))
    text = report.render_markdown(document(db))
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    assert [t.type for t in tokens].count("table_open") == text.count("\n| --- |")  # every table parses as one
    in_table, markup, shown = False, [], set()
    for token in tokens:
        in_table = (in_table or token.type == "table_open") and token.type != "table_close"
        markup += [token.type] if token.type == "html_block" else []
        children = token.children or []
        markup += [c.type for c in children if c.type in ("html_inline", "code_inline", "link_open")
                   or (in_table and c.type in ("em_open", "strong_open"))]
        shown.add("".join(c.content for c in children if c.type == "text"))
    assert markup == []  # no tag, code, link, or emphasis inside a table came from alert text or notes
    for typed in ("API 5xx rate <high>", "cron_job missed *twice*", "see `backup` | <b>restore</b> *first*"):
        assert typed in shown, typed


def test_the_command_line_report_never_loads_pandas(db, tmp_path):
    """`python -m metrics report` works on Arrow rows: pandas (half a second to import) stays unloaded, in
    every form, with verdicts, fixes and the noisy list in the report; so do Arrow and numpy (0.2-0.3 s):
    the report reads plain rows."""
    script = ("import sys\nfrom metrics.__main__ import main\n"
              "for form in ('json', 'markdown', 'html'):\n"
              "    code = main(['report', '--db', sys.argv[1], '--sprint', sys.argv[2], '--team', 'core',"
              " '--format', form])\n"
              "    print('\\f', code, *(name in sys.modules for name in ('pandas', 'pyarrow', 'numpy')), flush=True)\n")
    env = {k: v for k, v in os.environ.items() if k != "ALERTHYGIENE_DB"} | {"PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", script, db, P.start.date().isoformat()], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    parts = done.stdout.split("\f")
    assert [part.split("\n")[0] for part in parts[1:]] == [" 0 False False False"] * 3
    listed = json.loads(parts[0])
    assert listed == json.loads(report.render_json(document(db, now=dt.datetime.now(dt.UTC)))) | {
        "generated": listed["generated"], "targets": listed["targets"]}
    assert listed["noisy"] and listed["reviews"] and listed["fix_effects"]
    assert "Disk 91% full" in parts[1] and "Disk 91% full" in parts[2]

"""The fix backlog as files Jira's CSV importer and `gh issue create` take as they are."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pandas as pd

from metrics import backlog

WINDOW = "the 3 finished sprints 12 Oct – 22 Nov 2026"
BASE = "https://hygiene.example.com"


def plan() -> pd.DataFrame:
    return pd.DataFrame([
        {"signature": "api|5xx", "fix_kind": "cause", "title": "Checkout API 5xx rate 93%", "team": "Payments EU",
         "verdict": "actionable", "alerts": 71, "interruptions": 107, "hours_lost": 125.7, "noise_hours": 0.0,
         "projected_saving_h": 41.9, "estimate_h": 12.0, "payback_sprints": 12 / 41.9, "estimate_note": "retries",
         "estimated_by": "Kim", "estimated_at": dt.datetime(2026, 11, 30, tzinfo=dt.UTC), "diagnosis": None,
         "suggested_fix": None},
        {"signature": "db|disk", "fix_kind": "alert", "title": "[click](http://evil) !http://evil/x.png! {code}",
         "team": "payments", "verdict": None, "alerts": 122, "interruptions": 122, "hours_lost": 63.8,
         "noise_hours": 63.8, "projected_saving_h": 21.3, "estimate_h": None, "payback_sprints": None,
         "estimate_note": None, "estimated_by": float("nan"), "estimated_at": None, "diagnosis": "mostly transient",
         "suggested_fix": "add a hold-down (a `for:` duration, or an auto-pause)"},
    ])


def test_jira_csv_has_the_importers_columns_estimates_in_seconds_and_a_labels_column_per_label():
    rows = list(csv.reader(io.StringIO(backlog.jira_csv(plan(), WINDOW, BASE))))
    assert rows[0] == ["Summary", "Issue Type", "Description", "Original Estimate", "Labels", "Labels", "Labels"]
    cause, alert = rows[1], rows[2]
    assert cause[0] == "Cause fix: Checkout API 5xx rate 93%" and cause[1] == "Task"
    assert cause[3] == "43200"  # 12 h
    assert cause[4:] == ["alert-hygiene", "cause-fix", "payments-eu"]  # labels cannot hold spaces
    assert "*Saving:* 41.9 h per sprint (all hours lost, mean of " + WINDOW + ")" in cause[2]
    assert "*Estimate:* 12.0 h (Kim, 30 Nov 2026): retries" in cause[2]
    assert "*Payback:* 0.3 sprints" in cause[2]
    assert "*On the dashboard:* https://hygiene.example.com/noisy?team=Payments+EU&signature=api%7C5xx" in cause[2]
    assert alert[3] == "" and alert[4:] == ["alert-hygiene", "alert-fix", "payments"]
    assert "nan" not in alert[2].lower().replace("nanos", "")
    assert "*Diagnosis:* mostly transient" in alert[2] and "*Suggested fix:* add a hold-down" in alert[2]
    # Alert text cannot become a link, an image or a macro in Jira's markup.
    assert r"\[click\](http://evil) \!http://evil/x.png\! \{code\}" in alert[2]


def test_github_csv_has_a_title_a_markdown_body_and_comma_separated_labels():
    rows = list(csv.DictReader(io.StringIO(backlog.github_csv(plan(), WINDOW, None))))
    assert list(rows[0]) == ["title", "body", "labels"]
    assert rows[0]["title"] == "Cause fix: Checkout API 5xx rate 93%"
    assert rows[0]["labels"] == "alert-hygiene,cause-fix,payments-eu"
    assert "- **Kind of fix:** cause fix: repair what keeps it firing" in rows[0]["body"]
    assert "On the dashboard" not in rows[0]["body"]  # no address known: no link
    assert r"\[click\](http://evil)" in rows[1]["body"]  # inert in Markdown too

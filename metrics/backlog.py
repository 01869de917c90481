"""The fix planner's rows as backlog items a tracker imports as they are: Jira's CSV, or GitHub issues.

Jira's CSV importer maps a header row by name: `Summary` is required, `Original Estimate` is a
number of seconds, and a field with several values (`Labels`) takes one column per value under
the same header. Labels cannot contain spaces. GitHub has no CSV import for issues: its flavour
has one row per issue with `title`, `body` (Markdown) and `labels` (comma-separated), the
arguments of `gh issue create`.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any
from urllib.parse import urlencode

import pandas as pd

from metrics import display
from metrics.report import md_escape

KINDS = {
    "alert": ("Alert fix", "tune, hold down, group or delete the alert", "noise hours"),
    "cause": ("Cause fix", "repair what keeps it firing", "all hours lost"),
}
LABELS_PER_ISSUE = 3


def _label(text: str) -> str:
    """A tracker label: lower case, no spaces."""
    return "-".join("".join(c if c.isalnum() else " " for c in str(text).lower()).split()) or "unassigned"


def labels(row: dict[str, Any]) -> list[str]:
    return ["alert-hygiene", f"{row['fix_kind']}-fix", _label(row["team"])]


def link(base_url: str | None, row: dict[str, Any]) -> str | None:
    """The signature on the dashboard's Noisy alerts page, for the team."""
    if not base_url:
        return None
    return f"{base_url.rstrip('/')}/noisy?" + urlencode({"team": row["team"], "signature": row["signature"]})


def _text(value: Any, otherwise: str) -> str:
    """A cell as text, or `otherwise` where it is missing (None, NaN)."""
    return otherwise if display.missing(value) or value == "" else str(value)


def summary(row: dict[str, Any]) -> str:
    return f"{KINDS[row['fix_kind']][0]}: {_text(row['title'], row['signature'])}"


def description(row: dict[str, Any], window: str, base_url: str | None = None) -> list[tuple[str, str]]:
    """The facts an issue needs, as (name, text) lines: diagnosis, suggested fix, saving, estimate, link."""
    kind, what, saves = KINDS[row["fix_kind"]]
    estimate = display.MISSING
    if not display.missing(row.get("estimate_h")):
        who = _text(row.get("estimated_by"), "not named")
        estimate = f"{display.hours(row['estimate_h'])} ({who}, {display.day(row.get('estimated_at'))})"
        if not display.missing(row.get("estimate_note")):
            estimate += f": {row['estimate_note']}"
    lines = [
        ("Alert", _text(row["title"], row["signature"])),
        ("Signature", row["signature"]),
        ("Team", row["team"]),
        ("Kind of fix", f"{kind.lower()}: {what}"),
        ("Diagnosis", _text(row.get("diagnosis"), "none from the figures")),
        ("Suggested fix", _text(row.get("suggested_fix"), "find and repair the cause" if row["fix_kind"] == "cause"
                                else "see the diagnosis on the dashboard")),
        ("Verdict", display.verdict(row.get("verdict"))),
        ("Saving", f"{display.hours(row['projected_saving_h'])} per sprint ({saves}, mean of {window})"),
        ("Hours lost", f"{display.hours(row['hours_lost'])} over {window}: {display.count(row['alerts'])} alerts, "
                       f"{display.count(row['interruptions'])} pages"),
        ("Estimate", estimate),
        ("Payback", display.sprints(row.get("payback_sprints"))),
    ]
    if url := link(base_url, row):
        lines.append(("On the dashboard", url))
    return lines


_JIRA_MARKUP = re.compile(r"([\\\[\]{}!|*_^~])")


def jira_escape(text: Any) -> str:
    """Alert text made inert in Jira's wiki markup: no link, image, macro, table or emphasis."""
    return _JIRA_MARKUP.sub(r"\\\1", " ".join(str(text).split()))


def _csv(header: list[str], rows: list[list[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def jira_csv(plan: pd.DataFrame, window: str, base_url: str | None = None) -> str:
    """One Jira issue per planned fix: Summary, Issue Type, Description, Original Estimate (s), Labels ×3."""
    rows = []
    for row in plan.to_dict("records"):
        text = "\n".join(f"*{name}:* {value if name == 'On the dashboard' else jira_escape(value)}"
                         for name, value in description(row, window, base_url))
        seconds = "" if display.missing(row.get("estimate_h")) else str(round(float(row["estimate_h"]) * 3600))
        rows.append([summary(row), "Task", text, seconds, *labels(row)])
    return _csv(["Summary", "Issue Type", "Description", "Original Estimate", *["Labels"] * LABELS_PER_ISSUE], rows)


def github_csv(plan: pd.DataFrame, window: str, base_url: str | None = None) -> str:
    """One GitHub issue per planned fix: title, body (Markdown), labels (comma-separated)."""
    rows = []
    for row in plan.to_dict("records"):
        body = "\n".join(f"- **{name}:** {value if name == 'On the dashboard' else md_escape(value)}"
                         for name, value in description(row, window, base_url))
        rows.append([summary(row), body, ",".join(labels(row))])
    return _csv(["title", "body", "labels"], rows)

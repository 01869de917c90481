"""What a fix ticket says: one per signature, with diagnosis, suggested fix, figures, estimate and a link."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass, field

import pandas as pd

import metrics
from metrics.cost import saving_window
from metrics.period import Period
from outbound.digest import dashboard_link
from settings import Settings

log = logging.getLogger(__name__)

LABEL = "alert-hygiene"  # on every ticket this product opens
SUMMARY_LIMIT = 255  # Jira's summary; GitHub's titles take more
JIRA_PATCH = 20_000  # Jira refuses a description over 32,767 characters; the rest of a ticket is short


def signature_label(signature: str) -> str:
    """The label that finds a signature's ticket again (labels take no spaces; signatures have them)."""
    return "ah-" + hashlib.sha1(signature.encode("utf-8")).hexdigest()[:12]


@dataclass
class FixTicket:
    """The ticket a signature's fix gets; rendered as Atlassian Document Format or GitHub Markdown."""

    signature: str
    summary: str
    title: str  # the alert's latest title
    diagnosis: str
    fix: str
    patch: str | None = None  # the advisor's change, as a diff or provider settings
    figures: list[tuple[str, str]] = field(default_factory=list)
    estimate: str = "not estimated yet"
    link: str | None = None
    window: str = ""

    @property
    def label(self) -> str:
        return signature_label(self.signature)

    @property
    def labels(self) -> list[str]:
        return [LABEL, self.label]


def chosen(db: str, settings: Settings, team: str | None, signatures: list[str] | None,
           known: set[str], now: dt.datetime) -> list[str]:
    """The signatures to ticket: those asked for; else every signature the team decided to fix
    (latest verdict noise or needs-tuning) or already ticketed."""
    if signatures:
        return list(dict.fromkeys(signatures))
    decided = metrics.read(db, ["follow_through"], metrics.Scope(Period(now - dt.timedelta(days=1), now), team),
                           settings, as_of=now)["follow_through"]
    wanted = [s for s in decided.loc[decided["status"] != "fixed", "signature"]]
    return list(dict.fromkeys(wanted + sorted(known)))


def compose(db: str, settings: Settings, team: str | None, signatures: list[str],
            now: dt.datetime | None = None, advice: dict[str, str] | None = None) -> list[FixTicket]:
    """A ticket for each signature, from the planner's figures over its window (the last 3 sprints)."""
    now = now or dt.datetime.now(dt.UTC)
    window = saving_window(settings, now.date())
    sprint = metrics.Scope(metrics.sprint_period(settings, now.date()), team)
    planner = metrics.read(db, ["fix_planner"], sprint, settings)["fix_planner"].set_index("signature")
    ranking = metrics.read(db, ["noisy"], metrics.Scope(window, team), settings)["noisy"].set_index("signature")
    advice = advice or {}
    tickets = []
    for signature in signatures:
        plan = planner.loc[signature] if signature in planner.index else None
        ranked = ranking.loc[signature] if signature in ranking.index else None
        tickets.append(_ticket(signature, plan, ranked, advice.get(signature), settings, team, window))
    return tickets


def _ticket(signature: str, plan, ranked, patch: str | None, settings: Settings, team: str | None,
            window: Period) -> FixTicket:
    title = _text(plan, "title") or _text(ranked, "title") or signature
    team_name = _text(plan, "team") or team
    summary = f"Alert fix: {title}" + (f" ({team_name})" if team_name else "")
    when = f"{window.start:%d %b} – {(window.end - dt.timedelta(days=1)):%d %b %Y}"
    if ranked is None:
        diagnosis, fix = f"It did not fire in the last 3 sprints ({when}).", "Check that the earlier fix holds."
    else:
        reason = _text(ranked, "diagnosis") or "no single pattern"
        diagnosis = (f"{int(ranked['alerts'])} alerts in the last 3 sprints ({when}), "
                     f"{_share(ranked['noise_ratio'])} of them noise; diagnosis: {reason}.")
        fix = (_text(ranked, "suggested_fix") or "review what it is for, then tune, group or delete it")
        fix = fix[0].upper() + fix[1:] + "."
    figures = []
    if ranked is not None:
        figures += [("Alerts", str(int(ranked["alerts"]))), ("Transient", str(int(ranked["transient"]))),
                    ("Flaps", str(int(ranked["flaps"]))), ("Unacknowledged", str(int(ranked["unacknowledged"]))),
                    ("Noise ratio", _share(ranked["noise_ratio"])),
                    ("Interruptions", str(int(ranked["interruptions"]))),
                    ("Sleep interruptions", str(int(ranked["sleep_interruptions"])))]
    if plan is not None:
        figures += [("Hours lost", f"{float(plan['hours_lost']):.1f} h"),
                    ("Projected saving", f"{float(plan['projected_saving_h']):.1f} h per sprint")]
    estimate = "not estimated yet"
    if plan is not None and not pd.isna(plan["estimate_h"]):
        estimate = f"{float(plan['estimate_h']):g} h"
        if not pd.isna(plan["payback_sprints"]):
            estimate += f", paid back in {float(plan['payback_sprints']):.1f} sprints"
    link = dashboard_link(settings.outcome.dashboard_url, "noisy", team, window, signature=signature)
    return FixTicket(signature, summary[:SUMMARY_LIMIT], title, diagnosis, fix, patch, figures, estimate, link, when)


def _text(row, column: str) -> str | None:
    if row is None or column not in row.index or pd.isna(row[column]):
        return None
    return str(row[column])


def _share(value) -> str:
    return "–" if value is None or pd.isna(value) else f"{float(value):.0%}"


def advisor_patches(db: str, settings: Settings, team: str | None, now: dt.datetime) -> dict[str, str]:
    """The advisor's change for each signature it has one for: its diff, else the provider settings."""
    from advisor import plan as advisor_plan  # the advisor is heavy; only a ticket run needs it

    window = saving_window(settings, now.date())
    try:
        rule_files, am_file = advisor_plan.configured_files(settings)
        plan = advisor_plan.from_texts(db, window, team, rule_files, am_file, settings)
    except (OSError, ValueError) as exc:
        log.warning("the advisor could not read its configuration; tickets go without its patch: %s", exc)
        return {}
    patches: dict[str, str] = {}
    for suggestion in plan.suggestions:
        text = suggestion.patch or suggestion.provider_text
        if not text:
            continue
        for signature in suggestion.signatures:
            patches.setdefault(signature, f"{suggestion.title}\n\n{text}".strip())
    return patches


# --- rendering ---------------------------------------------------------------------------------


def markdown(ticket: FixTicket) -> str:
    """The GitHub issue body (GitHub Flavored Markdown; alert text in code spans and blocks)."""
    lines = [f"Alert: {_md(ticket.title)}", "", "## Diagnosis", "", _md(ticket.diagnosis), "", "## Suggested fix", "",
             _md(ticket.fix), ""]
    if ticket.patch:
        fence = "~~~~" if "```" in ticket.patch else "```"
        lines += ["The advisor's change, replayed over the history:", "", f"{fence}diff", ticket.patch, fence, ""]
    lines += ["## Figures", ""]
    lines += [f"- {name}: {_md(value)}" for name, value in ticket.figures] or ["- none in the last 3 sprints"]
    lines += ["", "## Estimate", "", _md(ticket.estimate), ""]
    if ticket.link:
        lines += [f"[Open it in the alert hygiene dashboard]({ticket.link})", ""]
    lines += [f"Signature: `{ticket.signature.replace('`', chr(39))}`", "",
              "_Opened by the alert hygiene dashboard; a later run updates this text and reads its state._"]
    return "\n".join(lines)[:65_000]  # GitHub's body limit is 65,536 characters


def _md(text: str) -> str:
    """Text with Markdown's control characters escaped (alert titles can hold any of them)."""
    special = "\\`*_{}[]()<>#+-.!|~"
    return "".join("\\" + c if c in special else c for c in str(text))


def adf(ticket: FixTicket) -> dict:
    """The Jira description in Atlassian Document Format (REST v3 takes nothing else)."""
    content = [_paragraph(f"Alert: {ticket.title}"), _heading("Diagnosis"), _paragraph(ticket.diagnosis),
               _heading("Suggested fix"),
               _paragraph(ticket.fix)]
    if ticket.patch:
        patch = ticket.patch if len(ticket.patch) <= JIRA_PATCH else ticket.patch[:JIRA_PATCH] + "\n… (cut: the whole " \
            "patch is in python -m metrics advise)"
        content += [_paragraph("The advisor's change, replayed over the history:"),
                    {"type": "codeBlock", "attrs": {"language": "diff"}, "content": [{"type": "text", "text": patch}]}]
    items = [f"{name}: {value}" for name, value in ticket.figures] or ["none in the last 3 sprints"]
    content += [_heading("Figures"),
                {"type": "bulletList", "content": [{"type": "listItem", "content": [_paragraph(i)]} for i in items]},
                _heading("Estimate"), _paragraph(ticket.estimate)]
    if ticket.link:
        content.append({"type": "paragraph", "content": [{
            "type": "text", "text": "Open it in the alert hygiene dashboard",
            "marks": [{"type": "link", "attrs": {"href": ticket.link}}]}]})
    content.append({"type": "paragraph", "content": [
        {"type": "text", "text": "Signature: "},
        {"type": "text", "text": ticket.signature, "marks": [{"type": "code"}]}]})
    return {"type": "doc", "version": 1, "content": content}


def _heading(text: str) -> dict:
    return {"type": "heading", "attrs": {"level": 3}, "content": [{"type": "text", "text": text}]}


def _paragraph(text: str) -> dict:
    return {"type": "paragraph", "content": [{"type": "text", "text": text or "–"}]}

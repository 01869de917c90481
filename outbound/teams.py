"""The digest as an Adaptive Card for a Microsoft Teams workflow ("When a Teams webhook request is received").

A workflow posts the attachments of a `message` it receives; it takes Adaptive Cards only (not
the old connector MessageCard), and Teams refuses a message over 28 KB, so lists are shortened
until the card fits. Alert text goes into TextRuns, which Teams never reads as Markdown.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from outbound.digest import Digest, Item, date_range

CARD_VERSION = "1.4"
MAX_BYTES = 28 * 1024
CARD_TYPE = "application/vnd.microsoft.card.adaptive"
VERDICT_COLOURS = {"confirmed": "Good", "worse": "Attention", "no change": "Default", "too early to tell": "Default"}


def _text(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def _heading(text: str) -> dict[str, Any]:
    return _text(text, weight="Bolder", size="Medium", spacing="Medium", separator=True)


def _run(text: str, url: str | None = None, **style: Any) -> dict[str, Any]:
    run = {"type": "TextRun", "text": text, **style}
    if url:
        run["selectAction"] = {"type": "Action.OpenUrl", "url": url}
    return run


def _item(item: Item, colour: str | None = None) -> dict[str, Any]:
    """One line: the signature's title (a link when there is one), then its figures."""
    inlines = [_run(item.title or item.signature, item.link, weight="Bolder"), _run(f" · {item.line}")]
    if colour:
        inlines[-1]["color"] = colour
    return {"type": "RichTextBlock", "inlines": inlines, "spacing": "Small"}


def _section(heading: str, items: list[Item], empty: str, colours: bool = False) -> list[dict[str, Any]]:
    if not items:
        return [_heading(heading), _text(empty, isSubtle=True)]
    return [_heading(heading)] + [
        _item(i, VERDICT_COLOURS.get(i.verdict or "") if colours else None) for i in items
    ]


def _facts(digest: Digest) -> dict[str, Any]:
    facts = []
    for figure in digest.figures:
        value = figure.value + (f" ({figure.change})" if figure.change else "")
        if figure.target:
            value += f" · target {figure.target} " + ("✔" if figure.met else "✘")
        facts.append({"title": figure.label, "value": value})
    return {"type": "FactSet", "facts": facts}


def card(digest: Digest) -> dict[str, Any]:
    """The Adaptive Card of the digest."""
    when = date_range(digest.period) + (" (in progress)" if digest.in_progress else "")
    body = [
        _text(digest.title, weight="Bolder", size="Large"),
        _text(f"{when} · changes against the sprint before", isSubtle=True, spacing="None"),
        _facts(digest),
        *_section("Decisions of the retro", digest.decisions, "No verdicts given yet."),
        *_section("Noisiest alerts", digest.noisy, "No alerts in this sprint."),
        *_section("Reviewed alerts still firing", digest.still_firing, "None."),
        *_section("Did the fix work", digest.fixes, "No fixes in these 28 days.", colours=True),
    ]
    if digest.footer:
        body.append(_text(digest.footer, isSubtle=True, size="Small", separator=True))
    actions = [{"type": "Action.OpenUrl", "title": label, "url": url} for label, url in digest.links.items()]
    content = {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard",
               "version": CARD_VERSION, "body": body, "msteams": {"width": "Full"}}
    if actions:
        content["actions"] = actions
    return content


def message(digest: Digest) -> dict[str, Any]:
    """The workflow webhook's body, shortened until it fits Teams' 28 KB."""
    lists = ("decisions", "still_firing", "noisy", "fixes")
    digest = replace(digest)  # shortened here, never the caller's
    shortened = False
    while True:
        body = {"type": "message",
                "attachments": [{"contentType": CARD_TYPE, "contentUrl": None, "content": card(digest)}]}
        if size(body) <= MAX_BYTES:
            return body
        longest = max(lists, key=lambda name: len(getattr(digest, name)))
        items = getattr(digest, longest)
        if not items:  # nothing left to drop: the title or footer itself is too long
            if shortened:
                raise ValueError("the digest does not fit a Teams message")
            digest, shortened = _shortened(digest), True
            continue
        setattr(digest, longest, items[:-1])
        digest.footer = "Some items were left out to fit Teams' message size; the dashboard has them all."


def size(body: dict[str, Any]) -> int:
    return len(json.dumps(body, ensure_ascii=False).encode("utf-8"))


def _shortened(digest: Digest) -> Digest:
    digest.title = digest.title[:200]
    digest.figures = digest.figures[:8]
    digest.footer = digest.footer[:200]
    return digest

"""The digest as a Slack Block Kit message, kept within Slack's documented limits.

Limits (docs.slack.dev, reference/block-kit): 50 blocks a message; header text 150 characters;
section text 3000, at most 10 fields of 2000; context at most 10 elements; actions at most 25
elements; a button's text 75, value 2000, url 3000, action_id and block_id 255. A message over
them is refused whole (HTTP 400 invalid_blocks), so every text is cut to fit here first.
"""

from __future__ import annotations

import json
import re
from typing import Any

from outbound.digest import Digest, Item, date_range

MAX_BLOCKS = 50
HEADER_TEXT = 150
SECTION_TEXT = 3000
FIELDS, FIELD_TEXT = 10, 2000
CONTEXT_ELEMENTS = 10
ACTIONS_ELEMENTS = 25
BUTTON_TEXT, BUTTON_VALUE, BUTTON_URL, ACTION_ID = 75, 2000, 3000, 255
FALLBACK_TEXT = 3000  # the notification text; Slack shows it where blocks cannot be

VERDICT_BUTTONS = (("actionable", "Actionable"), ("noise", "Noise"), ("needs-tuning", "Needs tuning"),
                   ("duplicate", "Duplicate"))
ACTION_PREFIX = "verdict"  # action_id "verdict:<n>:<verdict>": what the interaction endpoint reads
VERDICT_MARKS = {"confirmed": "✅", "worse": "🔺", "no change": "➖", "too early to tell": "⏳"}

_FORMATTING = re.compile(r"([*_~`])")


def inert(text: Any) -> str:
    """Alert text shown as it is: no link, mention or formatting can come from it.

    Slack reads &, < and > as control characters (escaped as entities, as its docs ask); the
    formatting marks are kept but a zero-width space after each stops them pairing up.
    """
    value = " ".join(str(text).split())
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _FORMATTING.sub("\\1\u200b", value)


def cut(text: str, limit: int) -> str:
    """`text` within `limit` characters, ending in … when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def link(url: str | None, text: str) -> str:
    """A mrkdwn link (the text made inert, without the | that ends it), or the text alone."""
    shown = inert(text).replace("|", "¦")
    return f"<{url}|{shown}>" if url and len(url) < 1000 else shown


def _mrkdwn(text: str, limit: int = SECTION_TEXT) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": cut(text, limit), "verbatim": True}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": _mrkdwn(text)}


def _list_section(heading: str, items: list[Item], empty: str) -> dict[str, Any]:
    """A heading and one line per item, as many whole lines as fit in one section."""
    lines, used = [f"*{heading}*"], len(heading) + 2
    for shown, item in enumerate(items):
        line = f"• {link(item.link, item.title or item.signature)}: {inert(item.line)}"
        if used + len(line) + 1 > SECTION_TEXT - 40:
            lines.append(f"…and {len(items) - shown} more in the dashboard")
            break
        lines.append(line)
        used += len(line) + 1
    if not items:
        lines.append(empty)
    return _section("\n".join(lines))


def _figure_fields(digest: Digest) -> list[dict[str, Any]]:
    fields = []
    for figure in digest.figures[:FIELDS]:
        text = f"*{inert(figure.label)}*\n{inert(figure.value)}"
        if figure.change:
            text += f" ({inert(figure.change)})"
        if figure.target:
            text += f"\ntarget {inert(figure.target)} " + ("✅" if figure.met else "❌")
        fields.append(_mrkdwn(text, FIELD_TEXT))
    return fields


def _verdict_buttons(number: int, item: Item, digest: Digest) -> dict[str, Any] | None:
    """Four buttons that mark the signature's verdict for the digest's sprint."""
    value = json.dumps({"signature": item.signature, "from": digest.period.start.isoformat(),
                        "to": digest.period.end.isoformat()}, separators=(",", ":"))
    if len(value) > BUTTON_VALUE:  # a signature too long to carry: the dashboard link still works
        return None
    buttons = [
        {"type": "button", "text": {"type": "plain_text", "text": text}, "value": value,
         "action_id": f"{ACTION_PREFIX}:{number}:{verdict}"}
        for verdict, text in VERDICT_BUTTONS
    ]
    return {"type": "actions", "block_id": f"review-{number}", "elements": buttons}


def _link_buttons(digest: Digest) -> dict[str, Any] | None:
    buttons = [
        {"type": "button", "text": {"type": "plain_text", "text": cut(label, BUTTON_TEXT)}, "url": url,
         "action_id": f"open:{n}"}
        for n, (label, url) in enumerate(digest.links.items()) if len(url) <= BUTTON_URL
    ][:ACTIONS_ELEMENTS]
    return {"type": "actions", "block_id": "links", "elements": buttons} if buttons else None


def message(digest: Digest, buttons: bool = False) -> dict[str, Any]:
    """The incoming-webhook body: blocks, and the text Slack shows in notifications.

    `buttons`: verdict buttons under each noisy signature (only where Slack's interactivity is
    set up to reach the receiver, with a signing secret).
    """
    when = date_range(digest.period) + (" (in progress)" if digest.in_progress else "")
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": cut(digest.title, HEADER_TEXT)}},
        {"type": "context", "elements": [_mrkdwn(f"{inert(when)} · changes against the sprint before")]},
    ]
    if digest.figures:
        blocks.append({"type": "section", "fields": _figure_fields(digest)})
    blocks.append({"type": "divider"})
    decisions = [Item(d.signature, d.title, d.line, d.link) for d in digest.decisions]
    blocks.append(_list_section("Decisions of the retro", decisions, "No verdicts given yet."))
    blocks.append(_section(f"*Noisiest alerts* (top {len(digest.noisy)})" if digest.noisy
                           else "*Noisiest alerts*\nNo alerts in this sprint."))
    for number, item in enumerate(digest.noisy):
        blocks.append(_section(f"{link(item.link, item.title or item.signature)}\n{inert(item.line)}"))
        row = _verdict_buttons(number, item, digest) if buttons else None
        if row:
            blocks.append(row)
    blocks.append(_list_section("Reviewed alerts still firing", digest.still_firing, "None."))
    fixes = [Item(f.signature, f.title, f"{VERDICT_MARKS.get(f.verdict or '', '')} {f.line}".strip(), f.link)
             for f in digest.fixes]
    blocks.append(_list_section("Did the fix work", fixes, "No fixes in these 28 days."))
    links = _link_buttons(digest)
    if links:
        blocks.append(links)
    if digest.footer:
        blocks.append({"type": "context", "elements": [_mrkdwn(inert(digest.footer))]})
    if len(blocks) > MAX_BLOCKS:  # cannot happen with at most 10 noisy signatures; kept as a guard
        blocks = blocks[: MAX_BLOCKS - 1] + [blocks[-1]]
    return {"text": cut(f"{digest.title}: {when}", FALLBACK_TEXT), "blocks": blocks}

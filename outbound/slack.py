"""The digest as a Slack Block Kit message, kept within Slack's documented limits.

Limits (docs.slack.dev, reference/block-kit): 50 blocks a message; header text 150 characters;
section text 3000, at most 10 fields of 2000; context at most 10 elements; actions at most 25
elements; a button's text 75, value 2000, url 3000, action_id and block_id 255. A message over
them is refused whole (HTTP 400 invalid_blocks), so every text is cut to fit here first.
"""

from __future__ import annotations

import json
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
LINK_PREFIXES = ("open", "open-signature")  # link buttons: Slack reports their presses too, to be acknowledged
VERDICT_MARKS = {"confirmed": "✅", "worse": "🔺", "no change": "➖", "too early to tell": "⏳"}

def escaped(text: Any) -> str:
    """Our own text for mrkdwn: Slack reads &, < and > as control characters, escaped as its docs ask."""
    value = " ".join(str(text).split())
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def cut(text: str, limit: int) -> str:
    """`text` within `limit` characters, ending in … when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _mrkdwn(text: str, limit: int = SECTION_TEXT) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": cut(text, limit), "verbatim": True}


def _plain(text: str, limit: int = SECTION_TEXT) -> dict[str, Any]:
    """Alert text goes in plain_text, which Slack shows as it is: no mention, link or formatting from it.
    Runs of white space become one space; our own line breaks stay."""
    lines = (" ".join(line.split()) for line in str(text).split("\n"))
    return {"type": "plain_text", "text": cut("\n".join(line for line in lines if line) or "–", limit), "emoji": False}


def _heading(text: str) -> dict[str, Any]:
    return {"type": "section", "text": _mrkdwn(f"*{escaped(text)}*")}


def _list(items: list[Item], empty: str) -> dict[str, Any]:
    """One line per item, as many whole lines as fit in one section."""
    lines, used = [], 0
    for shown, item in enumerate(items):
        line = f"• {' '.join((item.title or item.signature).split())}: {' '.join(item.line.split())}"
        if used + len(line) + 1 > SECTION_TEXT - 40:
            lines.append(f"…and {len(items) - shown} more in the dashboard")
            break
        lines.append(line)
        used += len(line) + 1
    return {"type": "section", "text": _plain("\n".join(lines) if lines else empty)}


def _item(number: int, item: Item) -> dict[str, Any]:
    block = {"type": "section", "text": _plain(f"{item.title or item.signature}\n{item.line}")}
    if item.link and len(item.link) <= BUTTON_URL:
        block["accessory"] = {"type": "button", "text": {"type": "plain_text", "text": "Open"}, "url": item.link,
                              "action_id": f"open-signature:{number}"}
    return block


def _figure_fields(digest: Digest) -> list[dict[str, Any]]:
    fields = []
    for figure in digest.figures[:FIELDS]:
        text = f"*{escaped(figure.label)}*\n{escaped(figure.value)}"
        if figure.change:
            text += f" ({escaped(figure.change)})"
        if figure.target:
            text += f"\ntarget {escaped(figure.target)} " + ("✅" if figure.met else "❌")
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
        {"type": "header", "text": _plain(digest.title, HEADER_TEXT)},
        {"type": "context", "elements": [_mrkdwn(escaped(f"{when} · changes against the sprint before"
                                                         + ("" if not digest.in_progress else ", pro rata")))]},
    ]
    if digest.figures:
        blocks.append({"type": "section", "fields": _figure_fields(digest)})
    blocks += [{"type": "divider"}, _heading("Decisions of the retro"),
               _list(digest.decisions, "No verdicts given yet."),
               _heading(f"Noisiest alerts (top {len(digest.noisy)})" if digest.noisy else "Noisiest alerts")]
    if not digest.noisy:
        blocks.append(_list([], "No alerts in this sprint."))
    for number, item in enumerate(digest.noisy):
        blocks.append(_item(number, item))
        row = _verdict_buttons(number, item, digest) if buttons else None
        if row:
            blocks.append(row)
    fixes = [Item(f.signature, f.title, f"{VERDICT_MARKS.get(f.verdict or '', '')} {f.line}".strip(), f.link)
             for f in digest.fixes]
    blocks += [_heading("Reviewed alerts still firing"), _list(digest.still_firing, "None."),
               _heading("Did the fix work"), _list(fixes, "No fixes in these 28 days.")]
    links = _link_buttons(digest)
    if links:
        blocks.append(links)
    if digest.footer:
        blocks.append({"type": "context", "elements": [_mrkdwn(escaped(digest.footer))]})
    if len(blocks) > MAX_BLOCKS:  # cannot happen with at most 10 noisy signatures; kept as a guard
        blocks = blocks[: MAX_BLOCKS - 1] + [blocks[-1]]
    return {"text": cut(f"{digest.title}: {when}", FALLBACK_TEXT), "blocks": blocks}

"""Slack's verdict buttons: verify the request is Slack's, then write the verdict to `reviews`.

Slack signs each request (docs.slack.dev, authentication/verifying-requests-from-slack):
X-Slack-Signature = "v0=" + hex HMAC-SHA256 of "v0:{X-Slack-Request-Timestamp}:{raw body}" under
the app's signing secret. A timestamp more than five minutes from now is refused (a replay), and
the signature is compared in constant time. The body is form-encoded with one field, `payload`,
holding the block_actions JSON (reference/interaction-payloads/block-actions).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass
from urllib.parse import parse_qs

import requests

import store
from outbound.slack import ACTION_PREFIX, LINK_PREFIXES, VERDICT_BUTTONS, escaped

log = logging.getLogger(__name__)

MAX_AGE_S = 300
VERDICTS = {verdict for verdict, _ in VERDICT_BUTTONS}


class Refused(ValueError):
    """Not a request Slack signed, or not a verdict button's; the message says which (never the secret)."""


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The v0 signature Slack puts in X-Slack-Signature."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def verify(secret: str, timestamp: str | None, given: str | None, body: bytes, now: float | None = None) -> None:
    """Raise Refused unless the request carries Slack's signature over a fresh timestamp."""
    if not timestamp or not given:
        raise Refused("missing X-Slack-Request-Timestamp or X-Slack-Signature")
    if not timestamp.isdigit():
        raise Refused("X-Slack-Request-Timestamp is not a number of seconds")
    now = time.time() if now is None else now
    if abs(now - int(timestamp)) > MAX_AGE_S:
        raise Refused("the request is more than five minutes old (or from the future)")
    if not hmac.compare_digest(signature(secret, timestamp, body).encode(), given.encode()):
        raise Refused("the signature does not match")


@dataclass(frozen=True)
class Marking:
    """A verdict someone gave with a digest's button."""

    signature: str
    verdict: str
    start: dt.datetime
    end: dt.datetime
    reviewer: str
    response_url: str | None


def parse(body: bytes) -> Marking | None:
    """The verdict a block_actions payload asks for; None for the digest's link buttons (Slack sends
    their presses too, and wants a 200 for them); Refused for anything else."""
    try:
        fields = parse_qs(body.decode("utf-8"), strict_parsing=True)
        payload = json.loads(fields["payload"][0])
    except (UnicodeDecodeError, ValueError, KeyError):
        raise Refused("the body is not a form with a JSON payload") from None
    if not isinstance(payload, dict) or payload.get("type") != "block_actions":
        raise Refused("not a block_actions payload")
    actions = payload.get("actions") or []
    action = actions[0] if actions and isinstance(actions[0], dict) else {}
    parts = str(action.get("action_id", "")).split(":")
    if parts[0] in LINK_PREFIXES:
        return None
    if len(parts) != 3 or parts[0] != ACTION_PREFIX or parts[2] not in VERDICTS:
        raise Refused("not a verdict button")
    try:
        value = json.loads(action.get("value") or "")
        start, end = dt.datetime.fromisoformat(value["from"]), dt.datetime.fromisoformat(value["to"])
        signature_ = value["signature"]
    except (ValueError, KeyError, TypeError):
        raise Refused("the button's value is not a digest's") from None
    if not isinstance(signature_, str) or not signature_ or start.tzinfo is None or not start < end:
        raise Refused("the button's value is not a digest's")
    user = payload.get("user") if isinstance(payload.get("user"), dict) else {}
    who = user.get("username") or user.get("name") or user.get("id") or "someone"
    url = payload.get("response_url")
    return Marking(signature_, parts[2], start, end, f"{who} (Slack)"[:200],
                   url if isinstance(url, str) and url.startswith(("https://", "http://")) else None)


def record(db: str, marking: Marking) -> str:
    """Write the verdict as a review of the digest's sprint; say so on the message's response_url."""
    try:
        store.retro.save_review(db, marking.signature, marking.verdict, note="marked from the Slack digest",
                                reviewer=marking.reviewer, period=(marking.start, marking.end))
        reply = f"Marked {escaped(marking.signature)} as *{marking.verdict}* for the sprint of {marking.start:%d %b}."
    except (store.DatabaseBusy, store.DatabaseError, ValueError) as exc:
        log.warning("a verdict from Slack was not saved: %s", exc)
        reply = "The verdict could not be saved just now (the database is busy); please press the button again."
    if marking.response_url:
        try:  # ephemeral: only the person who pressed the button sees it
            requests.post(marking.response_url, json={"replace_original": False, "text": reply}, timeout=10)
        except requests.RequestException:
            log.warning("could not answer on the Slack response_url")
    return reply

"""Local servers that behave as Slack's incoming webhooks, a Teams workflow webhook and a plain webhook.

Shaped after the vendors' own documents, not after our client:
- Slack incoming webhooks: docs.slack.dev "Sending messages using incoming webhooks" and the
  changelog "Improving error conditions for Incoming Webhooks" (2016-05-17): 200 "ok"; 400
  invalid_payload / no_text / invalid_blocks; 403 action_prohibited; 404 no_service for an
  unknown URL; 410 channel_is_archived; 500 rollup_error; "Rate limits" (api.slack.com/docs/
  rate-limits): about one message a second with short bursts, then 429 with Retry-After.
- Block Kit limits: docs.slack.dev reference/block-kit/blocks (50 blocks a message; header text
  150; section text 1-3000, 10 fields of 2000; context 10 elements; actions 25 elements),
  reference/block-kit/block-elements/button-element (text 75, value 2000, url 3000, action_id
  255) and composition objects (block_id 255, unique in a message; action_id unique in a
  message). This validator is written from those pages, apart from the renderer.
- Teams workflows: learn.microsoft.com "Create incoming webhooks with Workflows for Microsoft
  Teams" and "Send messages with ... webhooks": the workflow's HTTP trigger answers 202 Accepted
  to any JSON and runs the flow afterwards; the "Post card in a chat or channel" step takes
  Adaptive Cards only (no MessageCard) from `attachments`, and Teams refuses a message over
  28 KB, which shows as a failed run, not as an HTTP error. The URL's `sig` parameter is the
  credential (401 DirectApiAuthorizationRequired without it); 429 with Retry-After when throttled.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

Response = tuple[int, dict[str, str], bytes]


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@contextmanager
def serve(handle: Callable[[Request], Response]) -> Iterator[str]:
    """Run `handle` on 127.0.0.1 in a thread for every method; yields the base URL."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def _any(self):
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            request = Request(self.command, parts.path, parse_qs(parts.query), dict(self.headers.items()), body)
            status, headers, content = handle(request)
            try:
                self.send_response(status)
                for name, value in {**headers, "Content-Length": str(len(content))}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(content)
            except (BrokenPipeError, ConnectionResetError):
                pass

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any  # noqa: N815 - the stdlib's names

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def text(status: int, body: str, headers: dict[str, str] | None = None) -> Response:
    return status, {"Content-Type": "text/plain; charset=utf-8", **(headers or {})}, body.encode()


def as_json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return status, {"Content-Type": "application/json; charset=utf-8", **(headers or {})}, json.dumps(body).encode()


class RateLimit:
    """At most `burst` requests in any `per_s` seconds; past that a 429 asking to wait `retry_after_s`."""

    def __init__(self, burst: int, per_s: float = 1.0, retry_after_s: int = 1):
        self.burst, self.per_s, self.retry_after_s = burst, per_s, retry_after_s
        self.times: list[float] = []
        self.refused = 0
        self.lock = threading.Lock()

    def allow(self) -> bool:
        with self.lock:
            now = time.monotonic()
            self.times = [t for t in self.times if now - t < self.per_s]
            if len(self.times) >= self.burst:
                self.refused += 1
                return False
            self.times.append(now)
            return True


# --- Slack ------------------------------------------------------------------------------------

SLACK_LIMITS = {"blocks": 50, "header": 150, "section": 3000, "fields": 10, "field": 2000, "context": 10,
                "actions": 25, "button_text": 75, "button_value": 2000, "button_url": 3000, "id": 255}


def _text_object(obj: Any, limit: int, kinds=("plain_text", "mrkdwn"), minimum: int = 1) -> str | None:
    if not isinstance(obj, dict) or obj.get("type") not in kinds:
        return f"a text object of type {'/'.join(kinds)} is required"
    value = obj.get("text")
    if not isinstance(value, str) or not minimum <= len(value) <= limit:
        return f"text must be {minimum}-{limit} characters, is {len(value) if isinstance(value, str) else value!r}"
    return None


def block_kit_problems(message: Any) -> list[str]:
    """What Slack would refuse in a message's blocks, by the documented limits."""
    if not isinstance(message, dict):
        return ["the message is not an object"]
    blocks = message.get("blocks")
    if blocks is None:
        return []
    if not isinstance(blocks, list) or len(blocks) > SLACK_LIMITS["blocks"]:
        return [f"blocks: at most {SLACK_LIMITS['blocks']}"]
    problems, block_ids, action_ids = [], set(), set()
    for i, block in enumerate(blocks):
        where = f"blocks[{i}]"
        kind = block.get("type") if isinstance(block, dict) else None
        block_id = block.get("block_id") if isinstance(block, dict) else None
        if block_id is not None:
            if not isinstance(block_id, str) or len(block_id) > SLACK_LIMITS["id"] or block_id in block_ids:
                problems.append(f"{where}.block_id: unique, at most 255 characters")
            block_ids.add(block_id)
        if kind == "header":
            problem = _text_object(block.get("text"), SLACK_LIMITS["header"], ("plain_text",))
            problems += [f"{where}.text: {problem}"] if problem else []
        elif kind == "section":
            text_obj, fields = block.get("text"), block.get("fields")
            if text_obj is None and not fields:
                problems.append(f"{where}: text or fields required")
            if text_obj is not None and (problem := _text_object(text_obj, SLACK_LIMITS["section"])):
                problems.append(f"{where}.text: {problem}")
            if fields is not None:
                if not isinstance(fields, list) or not 1 <= len(fields) <= SLACK_LIMITS["fields"]:
                    problems.append(f"{where}.fields: 1-10 items")
                else:
                    problems += [f"{where}.fields[{j}]: {p}" for j, f in enumerate(fields)
                                 if (p := _text_object(f, SLACK_LIMITS["field"]))]
            if block.get("accessory") is not None:
                problems += [f"{where}.accessory: {p}" for p in _button_problems(block["accessory"], action_ids)]
        elif kind == "context":
            elements = block.get("elements")
            if not isinstance(elements, list) or not 1 <= len(elements) <= SLACK_LIMITS["context"]:
                problems.append(f"{where}.elements: 1-10 items")
            else:
                problems += [f"{where}.elements[{j}]: {p}" for j, e in enumerate(elements)
                             if (p := _text_object(e, SLACK_LIMITS["section"]))]
        elif kind == "actions":
            elements = block.get("elements")
            if not isinstance(elements, list) or not 1 <= len(elements) <= SLACK_LIMITS["actions"]:
                problems.append(f"{where}.elements: 1-25 items")
                continue
            for j, element in enumerate(elements):
                problems += [f"{where}.elements[{j}]: {p}" for p in _button_problems(element, action_ids)]
        elif kind != "divider":
            problems.append(f"{where}: unknown block type {kind!r}")
    return problems


def _button_problems(element: Any, action_ids: set) -> list[str]:
    if not isinstance(element, dict) or element.get("type") != "button":
        return ["only buttons are expected here"]
    problems = []
    if problem := _text_object(element.get("text"), SLACK_LIMITS["button_text"], ("plain_text",)):
        problems.append(f"text: {problem}")
    if len(str(element.get("value", ""))) > SLACK_LIMITS["button_value"]:
        problems.append("value: at most 2000 characters")
    if len(str(element.get("url", ""))) > SLACK_LIMITS["button_url"]:
        problems.append("url: at most 3000 characters")
    action_id = element.get("action_id")
    if action_id is not None:
        if len(str(action_id)) > SLACK_LIMITS["id"] or action_id in action_ids:
            problems.append("action_id: unique, at most 255 characters")
        action_ids.add(action_id)
    return problems


@dataclass
class FakeSlack:
    """An incoming webhook at /services/T…/B…/<token>, and response_urls at /actions/…."""

    token_path: str = "/services/T0000TEST/B0000TEST/XXXXsecretXXXX"
    rate: RateLimit = field(default_factory=lambda: RateLimit(burst=3))
    archived: bool = False
    faults: list[int] = field(default_factory=list)  # statuses to answer, first to last, before working
    messages: list[dict] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)
    responses: list[dict] = field(default_factory=list)  # what was posted to a response_url

    def __call__(self, request: Request) -> Response:
        if request.path.startswith("/actions/") and request.method == "POST":
            self.responses.append(request.json())
            return text(200, "ok")
        if request.method != "POST" or request.path != self.token_path:
            return self._refuse(404, "no_service")
        if self.faults:
            status = self.faults.pop(0)
            return self._refuse(status, "rollup_error" if status >= 500 else "rate_limited",
                                {"Retry-After": "1"} if status == 429 else None)
        if not self.rate.allow():
            return self._refuse(429, "rate_limited", {"Retry-After": str(self.rate.retry_after_s)})
        if self.archived:
            return self._refuse(410, "channel_is_archived")
        try:
            message = request.json()
        except ValueError:
            return self._refuse(400, "invalid_payload")
        if not isinstance(message, dict):
            return self._refuse(400, "invalid_payload")
        if not message.get("text") and not message.get("blocks"):
            return self._refuse(400, "no_text")
        if block_kit_problems(message):
            return self._refuse(400, "invalid_blocks")
        self.messages.append(message)
        return text(200, "ok")

    def _refuse(self, status: int, reason: str, headers: dict[str, str] | None = None) -> Response:
        self.refused.append((status, reason))
        return text(status, reason, headers)


# --- Teams ------------------------------------------------------------------------------------

TEAMS_MAX_BYTES = 28 * 1024
ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
CARD_ELEMENTS = {"TextBlock", "RichTextBlock", "FactSet", "ColumnSet", "Container", "Image", "ActionSet"}


def adaptive_card_problems(card: Any) -> list[str]:
    """What the workflow's "Post card" step would fail on."""
    if not isinstance(card, dict) or card.get("type") != "AdaptiveCard":
        return ["content is not an AdaptiveCard"]
    try:
        major, minor = (int(x) for x in str(card.get("version", "")).split("."))
    except ValueError:
        return ["version is missing"]
    problems = [] if (major, minor) <= (1, 5) else [f"version {major}.{minor}: Teams renders up to 1.5"]
    for i, element in enumerate(card.get("body") or []):
        kind = element.get("type") if isinstance(element, dict) else None
        if kind not in CARD_ELEMENTS:
            problems.append(f"body[{i}]: unknown element {kind!r}")
        elif kind == "TextBlock" and not isinstance(element.get("text"), str):
            problems.append(f"body[{i}]: TextBlock without text")
        elif kind == "RichTextBlock":
            for run in element.get("inlines") or []:
                if not isinstance(run, dict) or run.get("type") != "TextRun" or not isinstance(run.get("text"), str):
                    problems.append(f"body[{i}]: inlines must be TextRuns")
        elif kind == "FactSet":
            for fact in element.get("facts") or []:
                if not (isinstance(fact.get("title"), str) and isinstance(fact.get("value"), str)):
                    problems.append(f"body[{i}]: a fact needs title and value text")
    for action in card.get("actions") or []:
        if action.get("type") != "Action.OpenUrl" or not str(action.get("url", "")).startswith("http"):
            problems.append("actions: only Action.OpenUrl with an http(s) url")
    return problems


@dataclass
class FakeTeamsWorkflow:
    """A workflow's HTTP trigger: 202 to any JSON; the run then posts the cards, or fails."""

    path: str = "/workflows/0a1b2c3d/triggers/manual/paths/invoke"
    sig: str = "teamsSIG-4e5f6a7b"
    rate: RateLimit = field(default_factory=lambda: RateLimit(burst=5))
    posted: list[dict] = field(default_factory=list)  # cards a channel shows
    failed_runs: list[str] = field(default_factory=list)
    refused: list[int] = field(default_factory=list)

    def __call__(self, request: Request) -> Response:
        if request.path != self.path or request.method != "POST":
            self.refused.append(404)
            return as_json(404, {"error": {"code": "TriggerNotFound", "message": "The workflow was not found."}})
        if request.query.get("sig") != [self.sig]:
            self.refused.append(401)
            return as_json(401, {"error": {"code": "DirectApiAuthorizationRequired",
                                           "message": "The request must be authenticated."}})
        if not self.rate.allow():
            self.refused.append(429)
            return as_json(429, {"error": {"code": "WorkflowRequestsThrottled", "message": "Rate limit."}},
                           {"Retry-After": str(self.rate.retry_after_s)})
        try:
            message = request.json()
        except ValueError:
            self.refused.append(400)
            return as_json(400, {"error": {"code": "InvalidRequestContent", "message": "The body is not JSON."}})
        self._run(message, len(request.body))
        return 202, {}, b""

    def _run(self, message: Any, size: int) -> None:
        attachments = message.get("attachments") if isinstance(message, dict) else None
        if not isinstance(attachments, list) or not attachments:
            self.failed_runs.append("no attachments to post")
            return
        if size > TEAMS_MAX_BYTES:
            self.failed_runs.append(f"message of {size} bytes is over Teams' 28 KB")
            return
        for attachment in attachments:
            if attachment.get("contentType") != ADAPTIVE_CARD:
                self.failed_runs.append(f"contentType {attachment.get('contentType')!r} is not an Adaptive Card")
                continue
            problems = adaptive_card_problems(attachment.get("content"))
            if problems:
                self.failed_runs.append("; ".join(problems))
            else:
                self.posted.append(attachment["content"])


@dataclass
class FakePlainWebhook:
    """Any JSON receiver: stores what it gets; answers the statuses in `faults` first."""

    faults: list[int] = field(default_factory=list)
    received: list[Any] = field(default_factory=list)

    def __call__(self, request: Request) -> Response:
        if self.faults:
            status = self.faults.pop(0)
            return text(status, "unavailable", {"Retry-After": "0"} if status in (429, 503) else None)
        try:
            self.received.append(request.json())
        except ValueError:
            return text(400, "not JSON")
        return 204, {}, b""

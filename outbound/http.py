"""Send JSON to a chat or ticketing service: retries on 429 and 5xx honouring Retry-After, safe errors."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import requests

from ingest.http import HttpPolicy, wait_from_headers

log = logging.getLogger(__name__)


class SendError(RuntimeError):
    """A request failed for good; the message is one line without the URL or any credential."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


@dataclass
class Reply:
    status: int
    body: Any  # parsed JSON, the text when not JSON, None when empty
    headers: Mapping[str, str]


class Sender:
    """Requests to one service (`name`), never naming its URL: a webhook URL is its own credential.

    Retried: 429 and 5xx (waiting what Retry-After or the rate-limit headers ask), timeouts and
    refused connections. `retry_ambiguous=False` stops after a timeout or 5xx, for a request that
    may have taken effect (opening a ticket): the caller looks first, then asks again.
    """

    def __init__(self, name: str, base_url: str, headers: Mapping[str, str] | None = None,
                 policy: HttpPolicy | None = None, secrets: list[str] | None = None,
                 sleep: Callable[[float], None] = time.sleep):
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.policy = policy or HttpPolicy(max_attempts=4, backoff_cap_s=60.0)
        self.sleep = sleep
        self.requests = 0
        self.waits: list[float] = []
        self._secrets = [s for s in (secrets or []) if s] + [base_url]
        self.session = requests.Session()
        self.session.headers.update({"User-Agent": "alert-hygiene", **(headers or {})})

    def close(self) -> None:
        self.session.close()

    def send(self, method: str, path: str = "", json: Any = None, params: Mapping[str, Any] | None = None,
             ok: tuple[int, ...] = (200, 201, 202, 204), retry_ambiguous: bool = True) -> Reply:
        """The reply to `method` on the base URL + `path`; SendError when it fails for good."""
        what = f"{self.name}: {method} {path or ''}".rstrip()
        for attempt in range(1, self.policy.max_attempts + 1):
            self.requests += 1
            try:
                response = self.session.request(
                    method, self.base_url + path, json=json, params=params,
                    timeout=(self.policy.connect_timeout_s, self.policy.timeout_s))
            except requests.Timeout:
                reason, status, wait, again = "timed out", None, self._backoff(attempt), retry_ambiguous
            except requests.ConnectionError:
                reason, status, wait, again = "connection failed", None, self._backoff(attempt), True
            else:
                reply = Reply(response.status_code, _body(response), response.headers)
                if reply.status in ok:
                    return reply
                status, reason = reply.status, f"HTTP {reply.status}: {self._message(reply)}"
                if not self._retryable(reply):
                    raise SendError(self._clean(f"{what} failed: {reason}"), status)
                again = status == 429 or retry_ambiguous or _rate_limited(reply)
                wait = self._backoff(attempt, wait_from_headers(response.headers) or _reset_wait(reply))
            if not again or attempt == self.policy.max_attempts:
                raise SendError(self._clean(f"{what} failed after {attempt} attempt(s): {reason}"), status)
            log.info("%s; retrying in %.2fs", self._clean(f"{what}: {reason}"), wait)
            self.waits.append(wait)
            self.sleep(wait)
        raise AssertionError("unreachable")

    @staticmethod
    def _retryable(reply: Reply) -> bool:
        return reply.status == 429 or reply.status >= 500 and reply.status != 501 or _rate_limited(reply)

    def _backoff(self, attempt: int, asked: float | None = None) -> float:
        policy = self.policy
        if asked is None:
            asked = min(policy.backoff_cap_s, policy.backoff_base_s * 2 ** (attempt - 1)) * (0.5 + random.random() / 2)
        return min(asked, policy.backoff_cap_s) * policy.wait_scale

    def _message(self, reply: Reply) -> str:
        return _error_text(reply.body) or "no message"

    def _clean(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return " ".join(text.split())[:500]


def _body(response: requests.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return response.text


def _rate_limited(reply: Reply) -> bool:
    """GitHub's primary limit answers 403 with x-ratelimit-remaining: 0."""
    return reply.status == 403 and reply.headers.get("x-ratelimit-remaining") == "0"


def _reset_wait(reply: Reply) -> float | None:
    reset = reply.headers.get("x-ratelimit-reset")
    if reset and reset.isdigit():
        return max(int(reset) - time.time(), 0.0)
    return None


def _error_text(body: Any) -> str | None:
    """The service's own words from an error body: Slack's plain text, Jira's errorMessages and
    errors, GitHub's message and errors, Teams' error.message."""
    if isinstance(body, str):
        return body.strip()[:300] or None
    if not isinstance(body, dict):
        return None
    parts: list[str] = []
    for key in ("message", "error"):
        value = body.get(key)
        if isinstance(value, str):
            parts.append(value)
        elif isinstance(value, dict) and isinstance(value.get("message"), str):
            parts.append(value["message"])
    parts += [m for m in body.get("errorMessages") or [] if isinstance(m, str)]
    errors = body.get("errors")
    if isinstance(errors, dict):
        parts += [f"{k}: {v}" for k, v in errors.items()]
    elif isinstance(errors, list):
        parts += [str(e.get("message") or e.get("code") or e) if isinstance(e, dict) else str(e) for e in errors]
    return "; ".join(parts)[:300] or None

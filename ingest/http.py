"""Provider HTTP, written once: one session per provider, timeouts, retries with backoff, safe errors."""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import requests

from settings import number

log = logging.getLogger(__name__)

# Headers that say how long to wait before the next request, in the order they are trusted.
WAIT_HEADERS = ("ratelimit-reset", "retry-after", "x-ratelimit-period-in-sec")


class ProviderError(RuntimeError):
    """A provider request failed for good; the message is one line, safe to show and store."""


class Refused(ProviderError):
    """The provider refused the request to this key or account (HTTP 402 or 403)."""


@dataclass(frozen=True)
class HttpPolicy:
    """Timeouts and retry backoff; every value can be set per provider in the configuration."""

    timeout_s: float = 30.0
    connect_timeout_s: float = 10.0
    max_attempts: int = 6
    backoff_base_s: float = 1.0
    backoff_cap_s: float = 120.0
    wait_scale: float = 1.0  # multiplies every wait; tests make it tiny

    @classmethod
    def from_options(cls, source: str, options: Mapping[str, Any]) -> HttpPolicy:
        values = {}
        for f in fields(cls):
            if f.name in options:
                low, high = _LIMITS[f.name]
                kind = int if f.name == "max_attempts" else float
                values[f.name] = number(f"providers.{source}.{f.name}", options[f.name], kind, low, high)
        return cls(**values)


# The range of each HttpPolicy option: finite, and small enough for a person to wait for.
_LIMITS = {"timeout_s": (0.001, 3600), "connect_timeout_s": (0.001, 600), "max_attempts": (1, 100),
           "backoff_base_s": (0, 3600), "backoff_cap_s": (0, 86400), "wait_scale": (0, 1000)}


@dataclass(frozen=True)
class Api:
    """What the shared client needs to know about one provider's API."""

    source: str
    base_url: str
    auth: Callable[[str], dict[str, str]]  # secret -> headers; the secret lives only in the session
    error_message: Callable[[Any], str | None]  # the provider's own message from an error body
    auth_hint: str  # added to 401/403 errors: which token, which region's base URL
    headers: Mapping[str, str] | None = None
    refused_hint: str | None = None  # added to 402/403 instead: what the key or account needs


def wait_from_headers(headers: Mapping[str, str]) -> float | None:
    """Seconds the provider asked us to wait, from the first rate-limit header present."""
    for name in WAIT_HEADERS:
        raw = headers.get(name)
        if raw is None:
            continue
        try:
            return max(float(raw), 0.0)
        except ValueError:
            pass
        try:
            when = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            continue
        return max(when.timestamp() - time.time(), 0.0)
    return None


def redact(text: str, secrets: list[str]) -> str:
    for value in secrets:
        if value:
            text = text.replace(value, "***")
    return text


class Client:
    """GET JSON from one provider with retries; counts requests; never puts the secret in a message."""

    def __init__(self, api: Api, secret: str, policy: HttpPolicy, sleep: Callable[[float], None] = time.sleep):
        self.api = api
        self.policy = policy
        self.sleep = sleep
        self.requests = 0
        self.waits: list[float] = []
        self._secrets = [secret, *api.auth(secret).values()]
        self._base = api.base_url.rstrip("/") + "/"
        self.session = requests.Session()
        self.session.headers.update({"User-Agent": "alert-hygiene-sync", **(api.headers or {})})
        self.session.headers.update(api.auth(secret))

    def close(self) -> None:
        self.session.close()

    def url(self, path_or_url: str) -> str:
        """An absolute URL on the provider's own host (next links are re-rooted there)."""
        if not path_or_url.startswith(("http://", "https://")):
            return urljoin(self._base, path_or_url.lstrip("/"))
        link, base = urlsplit(path_or_url), urlsplit(self._base)
        if (link.scheme, link.netloc) != (base.scheme, base.netloc):
            log.debug("%s: next link on another origin; following it on the base URL's origin", self.api.source)
            return urlunsplit((base.scheme, base.netloc, link.path, link.query, ""))
        return path_or_url

    def get_json(self, path_or_url: str, params: Mapping[str, Any] | None = None) -> Any:
        """The JSON body of a successful GET; retries 429, 5xx, timeouts and broken JSON."""
        url = self.url(path_or_url)
        where = urlsplit(url).path
        for attempt in range(1, self.policy.max_attempts + 1):
            reason, wait = self._attempt(url, params, attempt)
            if reason is None:
                return wait  # the parsed body
            if attempt == self.policy.max_attempts:
                raise ProviderError(self.redacted(
                    f"{self.api.source}: GET {where} failed after {attempt} attempts: {reason}"))
            # Said on stderr at once: a provider that does not answer must not leave a sync silent.
            log.warning("%s: GET %s: %s; retrying in %.1fs (attempt %d of %d)", self.api.source, where, reason,
                        wait, attempt + 1, self.policy.max_attempts)
            self.waits.append(wait)
            self.sleep(wait)
        raise AssertionError("unreachable")

    def _attempt(self, url: str, params: Mapping[str, Any] | None, attempt: int) -> tuple[str | None, Any]:
        """(None, body) on success, else (reason, seconds to wait); raises for errors not worth retrying."""
        self.requests += 1
        try:
            response = self.session.get(
                url, params=params, timeout=(self.policy.connect_timeout_s, self.policy.timeout_s)
            )
        except requests.ConnectTimeout:
            return f"no connection within {self.policy.connect_timeout_s:g}s", self._backoff(attempt)
        except requests.Timeout:
            return f"no answer within {self.policy.timeout_s:g}s", self._backoff(attempt)
        except requests.ConnectionError:
            return "connection failed", self._backoff(attempt)
        status = response.status_code
        if status == 429 or (status >= 500 and status != 501):
            return f"HTTP {status}", self._backoff(attempt, wait_from_headers(response.headers))
        if status in (402, 403):
            raise Refused(self._failure(response))
        if status >= 400:
            raise ProviderError(self._failure(response))
        try:
            return None, response.json()
        except ValueError:
            return "malformed JSON in the response", self._backoff(attempt)

    def _backoff(self, attempt: int, asked: float | None = None) -> float:
        policy = self.policy
        if asked is None:
            asked = min(policy.backoff_cap_s, policy.backoff_base_s * 2 ** (attempt - 1))
            asked *= 0.5 + random.random() / 2
        return min(asked, policy.backoff_cap_s) * policy.wait_scale

    def _failure(self, response: requests.Response) -> str:
        try:
            message = self.api.error_message(response.json())
        except ValueError:
            message = None
        message = message or response.reason or "no message"
        text = f"{self.api.source}: GET {urlsplit(response.url).path} failed: HTTP {response.status_code}: {message}"
        if response.status_code in (402, 403) and self.api.refused_hint:
            text += f". {self.api.refused_hint}"
        elif response.status_code in (401, 403):
            text += f". {self.api.auth_hint}"
        return self.redacted(text)

    def redacted(self, text: str) -> str:
        return redact(" ".join(text.split()), self._secrets)[:1000]

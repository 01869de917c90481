"""Post a digest to Slack, Teams or a plain webhook, once per sprint, team and destination."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import settings as settings_module
import store
from ingest.http import HttpPolicy
from outbound import slack, teams
from outbound.digest import Digest
from outbound.http import Sender

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Destination:
    name: str
    url_variable: str  # the environment variable holding the webhook URL (a secret)
    render: Callable[[Digest], dict[str, Any]]
    accepted: tuple[int, ...]  # what the service answers when it took the message


def _slack(digest: Digest) -> dict[str, Any]:
    # Verdict buttons only where Slack can reach back: an app with a signing secret.
    return slack.message(digest, buttons=settings_module.secret("SLACK_SIGNING_SECRET") is not None)


def _plain(digest: Digest) -> dict[str, Any]:
    return {"kind": "alert-hygiene.digest", "version": 1, **digest.as_json()}


DESTINATIONS = {
    "slack": Destination("slack", "SLACK_WEBHOOK_URL", _slack, (200,)),
    "teams": Destination("teams", "TEAMS_WEBHOOK_URL", teams.message, (200, 202)),
    "webhook": Destination("webhook", "DIGEST_WEBHOOK_URL", _plain, (200, 201, 202, 204)),
}


class NotConfigured(ValueError):
    """The destination's URL is not in the environment, or is not a URL."""


@dataclass(frozen=True)
class Posted:
    posted: bool
    message: str  # one line for the person or the cron log


def post(db: str, digest: Digest, destination: str, again: bool = False,
         policy: HttpPolicy | None = None) -> Posted:
    """Send the digest unless this sprint's went to `destination` already (`again` sends it anyway)."""
    target = DESTINATIONS[destination]
    url = settings_module.secret(target.url_variable)
    if not url:
        raise NotConfigured(f"{target.url_variable} is not set: put the {destination} webhook's URL in it")
    if not url.startswith(("https://", "http://")):
        raise NotConfigured(f"{target.url_variable} does not hold an http(s) URL")
    who = f"{digest.team or 'all teams'}, sprint of {digest.sprint}"
    before = store.outbound.last_post(db, destination, digest.team, digest.period.start, digest.period.end)
    if before is not None and not again:
        return Posted(False, f"the digest of {who} went to {destination} on {before:%Y-%m-%d %H:%M} UTC "
                              "already; --again posts it again")
    body = target.render(digest)
    sender = Sender(destination, url, headers={"Content-Type": "application/json"}, policy=policy, secrets=[url])
    try:
        sender.send("POST", json=body, ok=target.accepted)
    finally:
        sender.close()
    store.outbound.record_post(db, destination, digest.team, digest.period.start, digest.period.end,
                               dt.datetime.now(dt.UTC))
    log.info("digest of %s posted to %s", who, destination)
    return Posted(True, f"posted the digest of {who} to {destination}")

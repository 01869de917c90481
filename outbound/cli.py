"""`python -m metrics post` (the digest to chat) and `python -m metrics tickets` (a ticket per fix)."""

from __future__ import annotations

import argparse
import datetime as dt

import settings as settings_module
import store
from ingest.http import HttpPolicy
from metrics.period import Period, previous
from outbound import compose, post, ticket_sync, tickets
from outbound.github import GitHub
from outbound.jira import Jira

POST_EPILOG = """\
examples:
  python -m metrics post --to slack                   the last finished sprint, all teams
  python -m metrics post --to teams --team payments --sprint 2026-11-10
  python -m metrics post --to webhook --again          post the same sprint once more

The webhook's URL comes from SLACK_WEBHOOK_URL, TEAMS_WEBHOOK_URL or DIGEST_WEBHOOK_URL; a
sprint already posted to a destination is not posted again without --again. With
SLACK_SIGNING_SECRET set, the Slack digest has verdict buttons (answered by `python -m ingest
webhook` at /slack/actions). Exit codes: 0 done or already posted, 1 the service refused or
failed, 2 bad usage or configuration.
"""

TICKETS_EPILOG = """\
examples:
  python -m metrics tickets --to jira                  every signature the retro decided to fix
  python -m metrics tickets --to github --signature 'checkout|5xx on checkout'

Jira: JIRA_URL, JIRA_EMAIL and JIRA_API_TOKEN, and [outcome] jira_project in the configuration.
GitHub: GITHUB_TOKEN and GITHUB_REPOSITORY (owner/name); GITHUB_API_URL for GitHub Enterprise.
A ticket is found again by its label, so a second run updates it; each run reads every ticket's
status back (shown in the fix planner and the retro). Exit codes as for post.
"""


class Misconfigured(ValueError):
    """A required setting or environment variable is missing: exit 2 with this line."""


def add_post_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--to", required=True, choices=sorted(post.DESTINATIONS), help="where the digest goes")
    parser.add_argument("--again", action="store_true", help="post even if this sprint was posted there already")


def add_ticket_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--to", required=True, choices=("github", "jira"), help="the ticketing system")
    parser.add_argument("--signature", action="append", metavar="S",
                        help="a signature to ticket (repeatable; default: the retro's fix decisions)")
    parser.add_argument("--no-advisor", action="store_true", help="leave the advisor's patch out (faster)")


def finished_sprint(args: argparse.Namespace, period: Period, config: settings_module.Settings) -> Period:
    """A digest looks back: without --sprint or --from, the sprint that ended last."""
    return period if args.sprint or args.start else previous(period)


def run_post(args: argparse.Namespace, db: str, period: Period, config: settings_module.Settings) -> int:
    digest = compose.build(db, period, args.team, config)
    try:
        outcome = post.post(db, digest, args.to, again=args.again, policy=policy(args.to, config))
    except post.NotConfigured as exc:
        raise Misconfigured(str(exc)) from None
    print(outcome.message)
    return 0


def run_tickets(args: argparse.Namespace, db: str, config: settings_module.Settings) -> int:
    system = ticket_system(args.to, config)
    now = dt.datetime.now(dt.UTC)
    try:
        known = {row["signature"] for row in store.outbound.tickets(db, system.name)}
        chosen = tickets.chosen(db, config, args.team, args.signature, known, now)
        advice = {} if args.no_advisor or not chosen else tickets.advisor_patches(db, config, args.team, now)
        result = ticket_sync.sync(db, system, tickets.compose(db, config, args.team, chosen, now, advice), now)
    finally:
        system.close()
    print(result.summary(system.name))
    for row in result.statuses:
        print(f"{row['ticket_key']}\t{row['status']}\t{row['url'] or ''}\t{row['signature']}")
    return 0


def ticket_system(name: str, config: settings_module.Settings):
    """The Jira or GitHub client the environment and configuration describe (Misconfigured if they do not)."""
    secret = settings_module.secret
    if name == "jira":
        missing = [v for v in ("JIRA_URL", "JIRA_EMAIL", "JIRA_API_TOKEN") if not secret(v)]
        if missing:
            raise Misconfigured(f"{', '.join(missing)} not set: Jira needs its site URL, an account e-mail and an "
                                "API token in the environment")
        if not config.outcome.jira_project:
            raise Misconfigured("outcome.jira_project is not set: name the Jira project key tickets go to")
        return Jira(secret("JIRA_URL"), secret("JIRA_EMAIL"), secret("JIRA_API_TOKEN"), config.outcome.jira_project,
                    config.outcome.jira_issue_type, policy(name, config))
    missing = [v for v in ("GITHUB_TOKEN", "GITHUB_REPOSITORY") if not secret(v)]
    if missing:
        raise Misconfigured(f"{', '.join(missing)} not set: GitHub needs a token and owner/name in the environment")
    repository = secret("GITHUB_REPOSITORY")
    if repository.count("/") != 1:
        raise Misconfigured("GITHUB_REPOSITORY must be owner/name")
    return GitHub(secret("GITHUB_API_URL") or "https://api.github.com", repository, secret("GITHUB_TOKEN"),
                  policy(name, config))


def policy(name: str, config: settings_module.Settings) -> HttpPolicy:
    """Timeouts and retries, settable as for the providers: [providers.slack], [providers.jira], …"""
    try:
        return HttpPolicy.from_options(name, {"max_attempts": 4, "backoff_cap_s": 60.0,
                                              **config.providers.get(name, {})})
    except settings_module.ConfigError as exc:
        raise Misconfigured(str(exc)) from None

"""GitHub issues: find this product's issues by label, open one per fix, update it, read its state.

As GitHub's REST API documents them (the rest-api-description OpenAPI, version 2022-11-28):
GET /repos/{owner}/{repo}/issues (labels, state=all, paged by the Link header; pull requests
appear there too and are skipped), POST .../issues (201), PATCH .../issues/{number} (200). A
token in `Authorization: Bearer`; rate limits answer 403 with x-ratelimit-remaining 0, or 429,
with Retry-After or x-ratelimit-reset.
"""

from __future__ import annotations

import datetime as dt

from ingest.http import HttpPolicy
from outbound.http import Sender
from outbound.tickets import LABEL, FixTicket, markdown

API_VERSION = "2022-11-28"
PER_PAGE = 100


class GitHub:
    name = "github"

    def __init__(self, api_url: str, repository: str, token: str, policy: HttpPolicy | None = None):
        self.repository = repository
        self.http = Sender("github", api_url, policy=policy, secrets=[token], headers={
            "Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION})

    def close(self) -> None:
        self.http.close()

    def find_all(self) -> dict[str, dict]:
        """This product's issues in the repository (open and closed), by their signature label."""
        found, page = {}, 1
        while True:
            reply = self.http.send("GET", f"/repos/{self.repository}/issues", ok=(200,), params={
                "labels": LABEL, "state": "all", "per_page": PER_PAGE, "page": page, "sort": "created",
                "direction": "asc"})
            for issue in reply.body or []:
                if "pull_request" in issue:
                    continue
                ticket = self._ticket(issue)
                if ticket["label"]:
                    found.setdefault(ticket["label"], ticket)
            if 'rel="next"' not in reply.headers.get("Link", ""):
                return found
            page += 1

    def create(self, ticket: FixTicket) -> dict:
        body = {"title": ticket.summary, "body": markdown(ticket), "labels": ticket.labels}
        made = self.http.send("POST", f"/repos/{self.repository}/issues", json=body, ok=(201,),
                              retry_ambiguous=False).body
        return self._ticket(made)

    def update(self, key: str, ticket: FixTicket) -> None:
        number = key.lstrip("#")
        self.http.send("PATCH", f"/repos/{self.repository}/issues/{number}", ok=(200,),
                       json={"title": ticket.summary, "body": markdown(ticket)})

    @staticmethod
    def _ticket(issue: dict) -> dict:
        labels = [label["name"] if isinstance(label, dict) else label for label in issue.get("labels") or []]
        ours = [label for label in labels if label.startswith("ah-")]
        closed = issue.get("state") == "closed"
        # Closed as completed is a fix made; closed as not planned is not.
        status = f"closed ({(issue.get('state_reason') or 'completed').replace('_', ' ')})" if closed else "open"
        return {
            "ticket_key": f"#{issue['number']}",
            "url": issue.get("html_url"),
            "status": status,
            "done": closed and issue.get("state_reason") in (None, "completed"),
            "open": not closed,
            "closed_at": dt.datetime.fromisoformat(issue["closed_at"]) if closed and issue.get("closed_at") else None,
            "label": ours[0] if ours else None,
        }

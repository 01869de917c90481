"""Jira Cloud REST v3: find this product's tickets by label, open one per fix, update it, read its status.

Endpoints as Atlassian's Jira Cloud platform REST API v3 documents them: POST /rest/api/3/issue
(201 {id, key, self}; the description in Atlassian Document Format), PUT /rest/api/3/issue/{key}
(204), GET /rest/api/3/search/jql (the enhanced JQL search, paged by nextPageToken). Basic auth
with the account's e-mail and an API token; 429 with Retry-After when rate limited.
"""

from __future__ import annotations

import base64
import datetime as dt

from ingest.http import HttpPolicy
from outbound.http import Sender
from outbound.tickets import LABEL, FixTicket, adf

FIELDS = "summary,status,labels,resolutiondate"


class Jira:
    name = "jira"

    def __init__(self, base_url: str, email: str, token: str, project: str, issue_type: str = "Task",
                 policy: HttpPolicy | None = None):
        basic = base64.b64encode(f"{email}:{token}".encode()).decode()
        self.base_url = base_url.rstrip("/")
        self.project = project
        self.issue_type = issue_type
        self.http = Sender("jira", self.base_url, policy=policy, secrets=[token, basic],
                           headers={"Authorization": f"Basic {basic}", "Accept": "application/json"})

    def close(self) -> None:
        self.http.close()

    def find_all(self) -> dict[str, dict]:
        """This product's tickets in the project, by their signature label."""
        jql = f'project = "{self.project}" AND labels = "{LABEL}" ORDER BY created ASC'
        found, token = {}, None
        while True:
            params = {"jql": jql, "fields": FIELDS, "maxResults": 100, **({"nextPageToken": token} if token else {})}
            page = self.http.send("GET", "/rest/api/3/search/jql", params=params, ok=(200,)).body or {}
            for issue in page.get("issues") or []:
                ticket = self._ticket(issue)
                if ticket["label"]:
                    found.setdefault(ticket["label"], ticket)
            token = page.get("nextPageToken")
            if not token or page.get("isLast", True):
                return found

    def create(self, ticket: FixTicket) -> dict:
        fields = {"project": {"key": self.project}, "issuetype": {"name": self.issue_type}, **self._fields(ticket)}
        made = self.http.send("POST", "/rest/api/3/issue", json={"fields": fields}, ok=(201,),
                              retry_ambiguous=False).body
        return self.read(made["key"])

    def update(self, key: str, ticket: FixTicket) -> None:
        self.http.send("PUT", f"/rest/api/3/issue/{key}", json={"fields": self._fields(ticket)}, ok=(204,))

    def read(self, key: str) -> dict:
        issue = self.http.send("GET", f"/rest/api/3/issue/{key}", params={"fields": FIELDS}, ok=(200,)).body
        return self._ticket(issue)

    @staticmethod
    def _fields(ticket: FixTicket) -> dict:
        return {"summary": ticket.summary, "description": adf(ticket), "labels": ticket.labels}

    def _ticket(self, issue: dict) -> dict:
        fields = issue.get("fields") or {}
        status = fields.get("status") or {}
        labels = [label for label in fields.get("labels") or [] if label.startswith("ah-")]
        closed = fields.get("resolutiondate")
        return {
            "ticket_key": issue["key"],
            "url": f"{self.base_url}/browse/{issue['key']}",
            "status": status.get("name"),
            "done": (status.get("statusCategory") or {}).get("key") == "done",
            "open": (status.get("statusCategory") or {}).get("key") != "done",
            "closed_at": _when(closed),
            "label": labels[0] if labels else None,
        }


def _when(text: str | None) -> dt.datetime | None:
    """Jira's times look like 2026-11-20T10:15:30.000+0000."""
    if not text:
        return None
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z").astimezone(dt.UTC)

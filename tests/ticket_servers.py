"""Local servers that behave as Jira Cloud's REST API v3 and GitHub's REST API are documented to.

- Jira: Atlassian's Jira Cloud platform REST API v3 (its OpenAPI document, swagger-v3.v3.json):
  POST /rest/api/3/issue answers 201 {id, key, self}; 400 {errorMessages, errors} naming the field
  (a description that is not an Atlassian Document: "Operation value must be an Atlassian
  Document (see the Atlassian Document Format)"; a label with spaces; a summary over 255
  characters; an unknown project); PUT /rest/api/3/issue/{key} answers 204; GET /rest/api/3/
  issue/{key} and GET /rest/api/3/search/jql (issues, nextPageToken, isLast); 401 without Basic
  auth; 429 with Retry-After when rate limited ("Rate limiting" in the same documentation). The
  ADF checks follow the Atlassian Document Format's structure and node reference (doc version 1;
  block nodes paragraph, heading level 1-6, bulletList of listItem, codeBlock of plain text; text
  nodes non-empty with marks code, strong, em, link with href).
- GitHub: github/rest-api-description (api.github.com, version 2022-11-28): POST /repos/{owner}/
  {repo}/issues 201 (422 "Validation Failed" for a missing title or a body over 65536
  characters), PATCH .../issues/{number} 200, GET .../issues with labels, state and per_page,
  paged by a Link header, pull requests included; 401 "Bad credentials"; 404 "Not Found"; the
  primary rate limit as 403 with x-ratelimit-remaining 0 and x-ratelimit-reset, secondary as 429
  with retry-after.
"""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from outcome_servers import RateLimit, Request, Response, as_json

NOW = "2026-11-20T10:15:30.000+0000"
JIRA_DONE = {"name": "Done", "statusCategory": {"key": "done", "name": "Done"}}
JIRA_TODO = {"name": "To Do", "statusCategory": {"key": "new", "name": "To Do"}}
_BLOCKS = {"paragraph", "heading", "bulletList", "orderedList", "codeBlock", "rule", "blockquote"}
_MARKS = {"code", "strong", "em", "link", "strike", "underline"}


def adf_problems(node: Any, where: str = "description") -> list[str]:
    """What Jira would refuse in an Atlassian Document."""
    if not isinstance(node, dict) or node.get("type") != "doc" or node.get("version") != 1:
        return [f"{where}: not a doc of version 1"]
    content = node.get("content")
    if not isinstance(content, list):
        return [f"{where}: a doc needs content"]
    return [p for i, child in enumerate(content) for p in _block(child, f"{where}.content[{i}]")]


def _block(node: Any, where: str) -> list[str]:
    kind = node.get("type") if isinstance(node, dict) else None
    if kind not in _BLOCKS:
        return [f"{where}: {kind!r} is not a block node"]
    children = node.get("content") or []
    if kind == "heading" and (node.get("attrs") or {}).get("level") not in range(1, 7):
        return [f"{where}: a heading needs a level 1-6"]
    if kind in ("bulletList", "orderedList"):
        return [p for i, item in enumerate(children) for p in _list_item(item, f"{where}.content[{i}]")] or (
            [] if children else [f"{where}: a list needs items"])
    if kind == "codeBlock":
        return [f"{where}: a codeBlock holds text without marks"
                for child in children if child.get("type") != "text" or child.get("marks")]
    if kind == "blockquote":
        return [p for i, child in enumerate(children) for p in _block(child, f"{where}.content[{i}]")]
    return [p for i, child in enumerate(children) for p in _inline(child, f"{where}.content[{i}]")]


def _list_item(node: Any, where: str) -> list[str]:
    if not isinstance(node, dict) or node.get("type") != "listItem":
        return [f"{where}: a list holds listItems"]
    return [p for i, child in enumerate(node.get("content") or []) for p in _block(child, f"{where}.content[{i}]")]


def _inline(node: Any, where: str) -> list[str]:
    kind = node.get("type") if isinstance(node, dict) else None
    if kind == "hardBreak":
        return []
    if kind != "text" or not isinstance(node.get("text"), str) or not node["text"]:
        return [f"{where}: text nodes need non-empty text"]
    problems = []
    for mark in node.get("marks") or []:
        if mark.get("type") not in _MARKS:
            problems.append(f"{where}: unknown mark {mark.get('type')!r}")
        elif mark["type"] == "link" and not str((mark.get("attrs") or {}).get("href", "")).startswith("http"):
            problems.append(f"{where}: a link needs an href")
    return problems


def jira_error(status: int, errors: dict | None = None, messages: list[str] | None = None) -> Response:
    return as_json(status, {"errorMessages": messages or [], "errors": errors or {}})


@dataclass
class FakeJira:
    """One Jira Cloud site with one project; tickets live in `issues` by key."""

    email: str = "bot@example.com"
    token: str = "jiraTOKEN-5d4c3b2a"
    project: str = "OPS"
    page_size: int = 2  # small, so paging is exercised
    rate: RateLimit = field(default_factory=lambda: RateLimit(burst=50))
    faults: list[int] = field(default_factory=list)  # statuses answered first, to POST /issue only
    issues: dict[str, dict] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    created_during_fault: bool = False  # a 5xx after the issue was made (a lost answer)
    _numbers: Any = field(default_factory=lambda: itertools.count(1))

    def __call__(self, request: Request) -> Response:
        self.requests.append((request.method, request.path))
        expected = "Basic " + base64.b64encode(f"{self.email}:{self.token}".encode()).decode()
        if request.headers.get("Authorization") != expected:
            return jira_error(401, messages=["You are not authenticated. Authentication required to perform this "
                                             "operation."])
        if not self.rate.allow():
            return as_json(429, {"errorMessages": ["Rate limit exceeded."]}, {"Retry-After": "1"})
        path, method = request.path, request.method
        if path == "/rest/api/3/issue" and method == "POST":
            return self._create(request)
        if path == "/rest/api/3/search/jql" and method == "GET":
            return self._search(request.query)
        if path.startswith("/rest/api/3/issue/"):
            key = path.rsplit("/", 1)[1]
            if key not in self.issues:
                return jira_error(404, messages=["Issue does not exist or you do not have permission to see it."])
            if method == "GET":
                return as_json(200, self._public(key))
            if method == "PUT":
                problems = self._field_problems(request.json().get("fields") or {}, creating=False)
                if problems:
                    return jira_error(400, problems)
                self.issues[key]["fields"].update(request.json()["fields"])
                return 204, {}, b""
        return jira_error(404, messages=["Not found"])

    def _create(self, request: Request) -> Response:
        try:
            fields = request.json()["fields"]
        except (ValueError, KeyError, TypeError):
            return jira_error(400, messages=["Unexpected body"])
        problems = self._field_problems(fields, creating=True)
        if problems:
            return jira_error(400, problems)
        key = f"{self.project}-{next(self._numbers)}"
        self.issues[key] = {"id": str(10000 + len(self.issues)), "key": key,
                            "fields": {**fields, "status": JIRA_TODO, "resolutiondate": None}}
        if self.faults:
            self.created_during_fault = True
            status = self.faults.pop(0)
            return jira_error(status, messages=["Internal server error"])
        return as_json(201, {"id": self.issues[key]["id"], "key": key, "self": f"/rest/api/3/issue/{key}"})

    def _field_problems(self, fields: dict, creating: bool) -> dict:
        problems = {}
        if creating and (fields.get("project") or {}).get("key") != self.project:
            problems["project"] = "valid project is required"
        if creating and not (fields.get("issuetype") or {}).get("name"):
            problems["issuetype"] = "Specify an issue type"
        summary = fields.get("summary")
        if creating and not summary:
            problems["summary"] = "You must specify a summary of the issue."
        elif summary is not None and len(summary) > 255:
            problems["summary"] = "Summary must be less than 255 characters."
        if "description" in fields and adf_problems(fields["description"]):
            problems["description"] = "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
        elif len(json.dumps(fields.get("description") or {})) > 32767:
            problems["description"] = "The entered text is too long. It exceeds the allowed limit of 32,767 characters."
        for label in fields.get("labels") or []:
            if " " in label or len(label) > 255:
                problems["labels"] = f"The label '{label}' contains spaces which is invalid."
        return problems

    def _search(self, query: dict) -> Response:
        jql = (query.get("jql") or [""])[0]
        expected = f'project = "{self.project}" AND labels = "alert-hygiene"'
        if not jql.startswith(expected):
            return jira_error(400, messages=[f"Error in the JQL Query: {jql!r} is not understood here."])
        token = int((query.get("nextPageToken") or ["0"])[0])
        keys = [k for k, issue in self.issues.items() if "alert-hygiene" in issue["fields"].get("labels", [])]
        page = keys[token: token + self.page_size]
        more = token + self.page_size < len(keys)
        return as_json(200, {"issues": [self._public(k) for k in page], "isLast": not more,
                             **({"nextPageToken": str(token + self.page_size)} if more else {})})

    def _public(self, key: str) -> dict:
        issue = self.issues[key]
        return {"id": issue["id"], "key": key, "self": f"/rest/api/3/issue/{key}", "fields": {
            name: issue["fields"].get(name) for name in ("summary", "status", "labels", "resolutiondate")}}

    def resolve(self, key: str, when: str = NOW) -> None:
        """Someone moves the ticket to Done."""
        self.issues[key]["fields"].update(status=JIRA_DONE, resolutiondate=when)


@dataclass
class FakeGitHub:
    """One repository's issues (and a pull request, which the issues list includes)."""

    token: str = "ghTOKEN-1a2b3c4d"
    repository: str = "acme/ops"
    per_page_max: int = 100
    rate: RateLimit = field(default_factory=lambda: RateLimit(burst=50))
    primary_limited: int = 0  # the next this many requests hit the primary rate limit
    issues: dict[int, dict] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self):
        self.issues[1] = {"number": 1, "title": "Bump a dependency", "body": "", "state": "open", "labels": [
            {"name": "alert-hygiene"}], "pull_request": {"url": "x"}, "closed_at": None, "state_reason": None}

    def __call__(self, request: Request) -> Response:
        self.requests.append((request.method, request.path))
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return as_json(401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest",
                                 "status": "401"})
        if self.primary_limited:
            self.primary_limited -= 1
            reset = int(dt.datetime.now(dt.UTC).timestamp()) + 1
            return as_json(403, {"message": "API rate limit exceeded for installation."},
                           {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)})
        if not self.rate.allow():
            return as_json(429, {"message": "You have exceeded a secondary rate limit."}, {"retry-after": "1"})
        base = f"/repos/{self.repository}/issues"
        if request.path == base and request.method == "GET":
            return self._list(request.query)
        if request.path == base and request.method == "POST":
            return self._create(request.json())
        if request.path.startswith(base + "/") and request.method == "PATCH":
            number = int(request.path.rsplit("/", 1)[1])
            if number not in self.issues:
                return as_json(404, {"message": "Not Found"})
            change = request.json()
            if "body" in change and len(change["body"] or "") > 65536:
                return self._invalid("body", "body is too long (maximum is 65536 characters)")
            self.issues[number].update({k: v for k, v in change.items() if k in ("title", "body", "state")})
            return as_json(200, self._public(number))
        return as_json(404, {"message": "Not Found"})

    def _invalid(self, name: str, message: str) -> Response:
        return as_json(422, {"message": "Validation Failed", "errors": [
            {"resource": "Issue", "field": name, "code": "custom", "message": message}]})

    def _create(self, body: dict) -> Response:
        if not body.get("title"):
            return as_json(422, {"message": "Validation Failed", "errors": [
                {"resource": "Issue", "field": "title", "code": "missing_field"}]})
        if len(body.get("body") or "") > 65536:
            return self._invalid("body", "body is too long (maximum is 65536 characters)")
        number = max(self.issues) + 1
        self.issues[number] = {"number": number, "title": body["title"], "body": body.get("body"), "state": "open",
                               "labels": [{"name": n} for n in body.get("labels") or []], "closed_at": None,
                               "state_reason": None}
        return as_json(201, self._public(number))

    def _list(self, query: dict) -> Response:
        wanted = set(((query.get("labels") or [""])[0]).split(",")) - {""}
        per_page = min(int((query.get("per_page") or ["30"])[0]), self.per_page_max)
        page = int((query.get("page") or ["1"])[0])
        state = (query.get("state") or ["open"])[0]
        numbers = [n for n, issue in sorted(self.issues.items())
                   if wanted <= {label["name"] for label in issue["labels"]}
                   and (state == "all" or issue["state"] == state)]
        chunk = numbers[(page - 1) * per_page: page * per_page]
        headers = {}
        if page * per_page < len(numbers):
            headers["Link"] = (f'<https://api.github.com/repositories/1/issues?page={page + 1}>; rel="next"')
        return as_json(200, [self._public(n) for n in chunk], headers)

    def _public(self, number: int) -> dict:
        issue = self.issues[number]
        return {**issue, "html_url": f"https://github.com/{self.repository}/issues/{number}",
                "url": f"https://api.github.com/repos/{self.repository}/issues/{number}"}

    def close_issue(self, number: int, reason: str = "completed", when: str = "2026-11-20T10:15:30Z") -> None:
        self.issues[number].update(state="closed", state_reason=reason, closed_at=when)


def body_of(fake: FakeGitHub, number: int) -> str:
    return fake.issues[number]["body"]


def jira_text(node: Any) -> str:
    """Every text of an Atlassian Document, joined (to read what a ticket says)."""
    if isinstance(node, dict):
        return (node.get("text") or "") + " ".join(jira_text(c) for c in node.get("content") or [])
    return ""


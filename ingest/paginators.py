"""Pagination strategies (offset with `more`, next URL, record cursor) and the one page loop."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ingest.http import Client, ProviderError


class OffsetCapReached(Exception):
    """The next page would pass the provider's offset cap: narrow the query instead."""


@dataclass
class Request:
    url: str
    params: dict[str, Any] | None = None


@dataclass
class Page:
    records: list
    total: int | None = None


def dig(body: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(body, Mapping):
            return None
        body = body.get(key)
    return body


@dataclass(frozen=True)
class Paginator:
    """A strategy of three steps: the first request, the records of a page, the next request."""

    items: tuple[str, ...]  # where the records sit in the body
    limit: int = 100
    limit_param: str = "limit"
    cap: int | None = None  # offset + limit may not pass this

    def start(self, path: str, params: Mapping[str, Any]) -> Request:
        return Request(path, {**params, self.limit_param: self.limit})

    def records(self, body: Any) -> list:
        records = dig(body, self.items)
        if not isinstance(records, list):
            raise ProviderError(f"unexpected page: no list at {'.'.join(self.items)}")
        return records

    def total(self, body: Any) -> int | None:
        return None

    def advance(self, request: Request, body: Any, records: list) -> Request | None:
        raise NotImplementedError


@dataclass(frozen=True)
class OffsetPaginator(Paginator):
    """PagerDuty: `offset`/`limit`, loop while `more`; the offset grows by the records received.
    JSM Operations: `offset`/`size` while `links.next` is there (its link drops the query)."""

    ask_total: bool = True
    more: tuple[str, ...] = ("more",)  # where the body says another page follows

    def start(self, path: str, params: Mapping[str, Any]) -> Request:
        extra = {"offset": 0, **({"total": "true"} if self.ask_total else {})}
        return Request(path, {**params, self.limit_param: self.limit, **extra})

    def total(self, body: Any) -> int | None:
        total = body.get("total") if isinstance(body, Mapping) else None
        return total if isinstance(total, int) and not isinstance(total, bool) else None

    def advance(self, request: Request, body: Any, records: list) -> Request | None:
        if not dig(body, self.more) or not records:
            return None
        offset = int(request.params["offset"]) + len(records)
        if self.cap is not None and offset + self.limit > self.cap:
            raise OffsetCapReached(offset)
        return Request(request.url, {**request.params, "offset": offset})


@dataclass(frozen=True)
class NextUrlPaginator(Paginator):
    """Opsgenie `paging.next`, Grafana OnCall `next`: follow the absolute URL until there is none."""

    next_link: tuple[str, ...] = ("next",)

    def advance(self, request: Request, body: Any, records: list) -> Request | None:
        link = dig(body, self.next_link)
        if not link or not records:
            return None
        if self.cap is not None:
            query = parse_qs(urlsplit(link).query)
            offset = int((query.get("offset") or ["0"])[0])
            limit = int((query.get(self.limit_param) or [self.limit])[0])
            if offset + limit > self.cap:
                raise OffsetCapReached(offset)
        return Request(link, None)


@dataclass(frozen=True)
class CursorPaginator(Paginator):
    """Opsgenie alert logs: the next page starts after the last record's own `offset` value."""

    cursor_field: str = "offset"
    cursor_param: str = "offset"
    has_next: tuple[str, ...] = ("paging", "next")
    extra: dict[str, Any] = field(default_factory=lambda: {"direction": "next"})

    def advance(self, request: Request, body: Any, records: list) -> Request | None:
        if not records or not dig(body, self.has_next):
            return None
        cursor = records[-1].get(self.cursor_field) if isinstance(records[-1], Mapping) else None
        if not cursor:
            raise ProviderError(f"unexpected page: last record has no {self.cursor_field!r} cursor")
        return Request(request.url, {**(request.params or {}), self.cursor_param: cursor, **self.extra})


@dataclass(frozen=True)
class WholeBody(Paginator):
    """One request whose whole body is one record (Opsgenie's schedule timeline)."""

    items: tuple[str, ...] = ()
    limit_param: str = ""

    def start(self, path: str, params: Mapping[str, Any]) -> Request:
        return Request(path, dict(params))

    def records(self, body: Any) -> list:
        if not isinstance(body, Mapping):
            raise ProviderError("unexpected page: not a JSON object")
        return [body]

    def advance(self, request: Request, body: Any, records: list) -> Request | None:
        return None


def fetch_pages(client: Client, path: str, params: Mapping[str, Any], paginator: Paginator) -> Iterator[Page]:
    """Every page of one query; raises OffsetCapReached after the last page the cap allows."""
    request: Request | None = paginator.start(path, params)
    while request is not None:
        body = client.get_json(request.url, request.params)
        try:
            records = paginator.records(body)
        except ProviderError as exc:
            raise ProviderError(f"{client.api.source}: GET {path}: {exc}") from None
        yield Page(records, paginator.total(body))
        request = paginator.advance(request, body, records)

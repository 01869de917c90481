"""CSV exports of PagerDuty incidents and Opsgenie alerts: columns found by header name, rows mapped purely."""

from __future__ import annotations

import csv
import datetime as dt
import email.utils
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import settings
from ingest.imports import ImportFailed, ImportFormat, register
from ingest.load import IngestRun
from ingest.mapping import EARLIEST_YEAR, LATEST_YEAR, Mapped, MappingError, as_json, map_each
from ingest.signature import title_signature

BATCH_ROWS = 5000
MAX_FIELD_CHARS = 64 << 20  # csv's default limit (128 KiB) would end the whole import at one long field

# Canonical field -> header names it may appear under (compared without case, spaces or punctuation).
PAGERDUTY_COLUMNS = {
    "id": ("id", "incident id"),
    "number": ("incident number", "incident_number", "number", "#"),
    "title": ("title", "description", "incident title", "summary"),
    "created": ("created on", "created at", "created", "triggered at", "opened at"),
    "acknowledged": ("acknowledged on", "acknowledged at", "first acknowledged at", "first ack at"),
    "seconds_to_ack": ("seconds to first ack", "time to first ack seconds", "seconds to ack"),
    "resolved": ("resolved on", "resolved at", "resolved"),
    "seconds_to_resolve": ("seconds to resolve", "time to resolve seconds"),
    "acknowledged_by": ("acknowledged by", "first acknowledged by", "acknowledged by user names"),
    "resolved_by": ("resolved by", "resolved by user name"),
    "service": ("service name", "service"),
    "team": ("team name", "team", "teams"),
    "urgency": ("urgency",),
    "priority": ("priority", "priority name"),
    "status": ("status",),
    "auto_resolved": ("auto resolved", "autoresolved"),
    "escalations": ("escalation count", "escalations"),
    "url": ("html url", "url", "link", "incident url"),
}
PAGERDUTY_REQUIRED = (("id", "number"), ("title",), ("created",))

OPSGENIE_COLUMNS = {
    "id": ("id", "alert id"),
    "tiny_id": ("tiny id", "tinyid"),
    "title": ("message", "title", "alert message"),
    "created": ("created at", "createdat", "created", "created on", "created time"),
    "acknowledged": ("acknowledged at", "ack time at", "acknowledged on"),
    "resolved": ("closed at", "closed on", "resolved at", "close time at"),
    "acknowledged_by": ("acknowledged by", "report acknowledged by"),
    "resolved_by": ("closed by", "report closed by", "resolved by"),
    "status": ("status",),
    "service": ("integration name", "integration", "source", "entity"),
    "team": ("owner team", "teams", "team", "responders"),
    "priority": ("priority",),
    "tags": ("tags",),
    "alias": ("alias",),
    "count": ("count",),
    "url": ("url", "link"),
}
OPSGENIE_REQUIRED = (("id", "tiny_id"), ("title",), ("created",))


def _norm(header: str) -> str:
    return re.sub(r"[^a-z0-9#]", "", header.lower())


def resolve_columns(headers: list[str], columns: dict, required: tuple, path: str) -> dict[str, str]:
    """Canonical field -> the file's header; one error naming every required field that is missing."""
    by_norm = {_norm(h): h for h in headers if h}
    found = {}
    for field, names in columns.items():
        for name in names:
            if _norm(name) in by_norm:
                found[field] = by_norm[_norm(name)]
                break
    missing = [" or ".join(f"'{columns[f][0]}'" for f in group) for group in required
               if not any(f in found for f in group)]
    if missing:
        raise ImportFailed(f"{path}: missing required columns: {', '.join(missing)}")
    return found


# --- times in the common export formats ------------------------------------------------------------

_FORMATS = ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %I:%M %p",
            "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M",
            "%Y/%m/%d %H:%M:%S", "%b %d, %Y %I:%M:%S %p", "%b %d, %Y %H:%M:%S", "%d %b %Y %H:%M:%S",
            "%Y-%m-%d %I:%M:%S %p", "%m/%d/%Y", "%Y-%m-%d")
_OFFSET = re.compile(r"\s*(?:(?:UTC|GMT)\s*)?([+-])(\d{1,2}):?(\d{2})?$")
_ZONE_WORD = re.compile(r"\s+([A-Za-z_]+(?:/[A-Za-z_+-]+)+|UTC|GMT|Z)$")


def parse_export_time(text: str | None, naive_tz: dt.tzinfo = dt.UTC) -> dt.datetime | None:
    """A UTC time from ISO 8601, US/European dates, RFC 2822 or epoch (s/ms); naive values in naive_tz."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        parsed = _parse_time(text, naive_tz)
    except (OverflowError, ValueError):
        parsed = None
    if parsed is None:
        raise MappingError(f"not a time in a known format: {text[:60]!r}")
    if not EARLIEST_YEAR <= parsed.year <= LATEST_YEAR:
        raise MappingError(f"time out of range: {text[:60]!r}")
    return parsed


def _parse_time(text: str, naive_tz: dt.tzinfo) -> dt.datetime | None:
    if re.fullmatch(r"\d{9,13}(\.\d+)?", text):
        number = float(text)
        return dt.datetime.fromtimestamp(number / 1000 if number > 1e11 else number, dt.UTC)
    text, zone = _split_zone(text)
    parsed = _parse_naive_or_aware(text)
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone or naive_tz)
    return parsed.astimezone(dt.UTC)


def _split_zone(text: str) -> tuple[str, dt.tzinfo | None]:
    word = _ZONE_WORD.search(text)
    if word:
        name = word.group(1)
        if name in ("UTC", "GMT", "Z"):
            return text[: word.start()], dt.UTC
        try:
            return text[: word.start()], ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    offset = _OFFSET.search(text)
    if offset and re.search(r"\d[:.]\d{2}", text[: offset.start()]):
        sign = -1 if offset.group(1) == "-" else 1
        minutes = int(offset.group(2)) * 60 + int(offset.group(3) or 0)
        return text[: offset.start()], dt.timezone(sign * dt.timedelta(minutes=minutes))
    return text, None


def _parse_naive_or_aware(text: str) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        pass
    for fmt in _FORMATS:
        try:
            return dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
    try:
        return email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None


# --- pure row mappings -----------------------------------------------------------------------------


def _flag(value: str | None) -> bool | None:
    text = (value or "").strip().lower()
    return {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}.get(text)


def _seconds_after(start: dt.datetime, value: str | None) -> dt.datetime | None:
    try:
        return start + dt.timedelta(seconds=float(value)) if value not in (None, "") else None
    except (ValueError, OverflowError):
        raise MappingError(f"not a number of seconds: {value!r}") from None


def _int(value: str | None) -> int | None:
    try:
        number = int(float(value)) if value not in (None, "") else None
    except (ValueError, OverflowError):
        return None
    return number if number is None or -(2**31) <= number < 2**31 else None


def _first(value: str | None) -> str | None:
    first = re.split(r"[,;|]", value or "")[0].strip()
    return first or None


def _alert_row(source: str, fields: dict, row: dict, tz: dt.tzinfo, config: settings.Settings) -> dict:
    source_id = fields.get("id") or fields.get("number") or fields.get("tiny_id")
    title = fields.get("title")
    if not source_id:
        raise MappingError("row has no id")
    if not title:
        raise MappingError("row has no title")
    created = parse_export_time(fields.get("created"), tz)
    if created is None:
        raise MappingError("row has no creation time")
    service = fields.get("service") or None
    acknowledged = parse_export_time(fields.get("acknowledged"), tz) or _seconds_after(
        created, fields.get("seconds_to_ack"))
    resolved = parse_export_time(fields.get("resolved"), tz) or _seconds_after(
        created, fields.get("seconds_to_resolve"))
    if resolved is not None and resolved < created:
        raise MappingError("resolved before it was created")
    return {
        "source": source, "source_id": str(source_id), "title": title,
        "signature": title_signature(service, title), "service": service,
        "team": _first(fields.get("team")) or config.service_teams.get(service or "", "unassigned"),
        "severity": fields.get("urgency") or fields.get("priority") or None,
        "created_at": created, "acknowledged_at": acknowledged,
        "acknowledged_by": _first(fields.get("acknowledged_by")) if acknowledged else None,
        "resolved_at": resolved, "resolved_by": fields.get("resolved_by") or None if resolved else None,
        "auto_resolved": _flag(fields.get("auto_resolved")),
        "escalations": _int(fields.get("escalations")), "url": fields.get("url") or None,
        "labels": as_json({k: fields.get(k) for k in ("urgency", "priority", "status", "tags", "alias", "count")
                           if fields.get(k)}),
        "raw": as_json(row),
    }


def map_pagerduty_row(fields: dict, row: dict, tz: dt.tzinfo, config: settings.Settings) -> Mapped:
    """One row of a PagerDuty incident export → an alert."""
    out = Mapped()
    out.add("alerts", _alert_row("pagerduty", fields, row, tz, config))
    return out


def map_opsgenie_row(fields: dict, row: dict, tz: dt.tzinfo, config: settings.Settings) -> Mapped:
    """One row of an Opsgenie alert export → an alert (closed alerts only count as resolved)."""
    if (fields.get("status") or "").strip().lower() == "open":
        fields = {**fields, "resolved": None}
    out = Mapped()
    out.add("alerts", _alert_row("opsgenie", fields, row, tz, config))
    return out


# --- loading a file -------------------------------------------------------------------------------


def _rows(path: str) -> tuple[list[str], Iterator[dict]]:
    try:
        # Bytes that are not UTF-8 survive as lone surrogates: that row is quarantined, not the file.
        handle = Path(path).open(encoding="utf-8-sig", errors="surrogateescape", newline="")
    except OSError as exc:
        raise ImportFailed(f"{path}: cannot read: {exc.strerror}") from None
    header = handle.readline()
    handle.seek(0)
    # The delimiter is the header's; quoting is always RFC 4180's. (csv.Sniffer took apostrophes
    # in titles for the quote character and split good rows apart.)
    delimiter = max(",;\t", key=header.count) if any(d in header for d in ",;\t") else ","
    csv.field_size_limit(max(csv.field_size_limit(), MAX_FIELD_CHARS))
    reader = csv.DictReader(handle, dialect=csv.excel, delimiter=delimiter)
    if not reader.fieldnames:
        handle.close()
        raise ImportFailed(f"{path}: empty file, no header row")

    def rows() -> Iterator[dict]:
        with handle:
            yield from reader

    return list(reader.fieldnames), rows()


def _load_csv(source: str, columns: dict, required: tuple, map_row: Callable) -> Callable:
    def load(path: str, db: str, config: settings.Settings) -> IngestRun:
        headers, rows = _rows(path)
        found = resolve_columns(headers, columns, required, path)
        tz = ZoneInfo(config.default_time_zone)
        run = IngestRun(db, source)

        def map_one(row: dict) -> Mapped:
            if None in row:  # DictReader's key for values beyond the header's columns
                raise MappingError(f"row has {len(row[None])} more fields than the header")
            fields = {name: (row.get(header) or "").strip() for name, header in found.items()}
            return map_row(fields, row, tz, config)

        try:
            batch: list[dict] = []
            for row in rows:
                batch.append(row)
                if len(batch) >= BATCH_ROWS:
                    run.load("csv", map_each("csv", batch, map_one))
                    batch = []
            run.load("csv", map_each("csv", batch, map_one))
        except BaseException as exc:
            run.finish(error=f"{type(exc).__name__}: {exc}")
            raise
        run.finish()
        return run

    return load


register(ImportFormat("pagerduty-csv", "a PagerDuty incident CSV export",
                      _load_csv("pagerduty", PAGERDUTY_COLUMNS, PAGERDUTY_REQUIRED, map_pagerduty_row)))
register(ImportFormat("opsgenie-csv", "an Opsgenie alert CSV export",
                      _load_csv("opsgenie", OPSGENIE_COLUMNS, OPSGENIE_REQUIRED, map_opsgenie_row)))

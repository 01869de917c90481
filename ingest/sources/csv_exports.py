"""CSV exports of PagerDuty incidents and Opsgenie alerts: columns found by header name, rows mapped purely."""

from __future__ import annotations

import csv
import datetime as dt
import email.utils
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import settings
import store
import store.staging
from ingest.imports import NO_OPTIONS, ImportFailed, ImportFormat, ImportOptions, register
from ingest.load import IngestRun
from ingest.mapping import EARLIEST_YEAR, LATEST_YEAR, Mapped, MappingError, as_json, map_each
from ingest.signature import title_signature

BATCH_ROWS = 20_000  # rows mapped at a time and staged (store.staging): the memory an import needs
MAX_FIELD_CHARS = 64 << 20  # csv's default limit (128 KiB) would end the whole import at one long field

# Canonical field -> header names it may appear under (compared without case, spaces or punctuation).
# PagerDuty's help centre ("Reports", Exporting ... Data to CSV): the basic incidents report has
# `#, Service, Opened On, Resolved On, Resolve By, Duration, #Escalations`, in the account's time
# zone; the advanced one `id, incident_number, description, service_id, service_name,
# escalation_policy_id, escalation_policy_name, created_on, seconds_to_first_ack,
# seconds_to_resolve, auto_resolved, escalation_count, auto_escalation_count, acknowledge_count,
# assignment_count, acknowledged_by_user_ids, acknowledged_by_user_names, assigned_to_user_ids,
# assigned_to_user_names, resolved_by_user_id, resolved_by_user_name` (accounts send resolved_on and
# urgency too). An export stops, silently, at 20,000 rows.
PAGERDUTY_COLUMNS = {
    "id": ("id", "incident id"),
    "number": ("incident number", "incident_number", "number", "#"),
    "title": ("title", "description", "incident title", "summary"),
    "created": ("created on", "created at", "created", "opened on", "triggered at", "opened at"),
    "acknowledged": ("acknowledged on", "acknowledged at", "first acknowledged at", "first ack at"),
    "seconds_to_ack": ("seconds to first ack", "time to first ack seconds", "seconds to ack"),
    "resolved": ("resolved on", "resolved at", "resolved"),
    "seconds_to_resolve": ("seconds to resolve", "time to resolve seconds"),
    "duration": ("duration",),
    "acknowledged_by_id": ("acknowledged by user ids",),
    "acknowledged_by": ("acknowledged by", "first acknowledged by", "acknowledged by user names"),
    "acknowledged_by_names": ("acknowledged by user names",),
    "resolved_by_id": ("resolved by user id",),
    "resolved_by": ("resolved by", "resolved by user name", "resolve by", "resolved by user"),
    "resolved_by_names": ("resolved by user name",),
    "assigned_ids": ("assigned to user ids",),
    "assigned_names": ("assigned to user names",),
    "service": ("service name", "service"),
    "team": ("team name", "team", "teams"),
    "urgency": ("urgency",),
    "priority": ("priority", "priority name"),
    "status": ("status",),
    "auto_resolved": ("auto resolved", "autoresolved"),
    "escalations": ("escalation count", "escalations", "#escalations"),
    "escalation_policy": ("escalation policy name", "escalation policy"),
    "url": ("html url", "url", "link", "incident url"),
}
PAGERDUTY_REQUIRED = (("id", "number"), ("title", "service"), ("created",))
PAGERDUTY_EXPORT_LIMIT = 20_000  # rows; past it an export is cut off without a word
BASIC_CREATED = "Opened On"  # the basic report's, written in the account's time zone without saying which
NOT_A_USER = "not available"  # the basic report's "Resolve By" when no user resolved it

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

# Slash dates are read in the file's one order (DATE_ORDERS), decided from all of its values.
_SLASH_FORMATS = ("{a}/{b}/%Y %H:%M:%S", "{a}/{b}/%Y %H:%M", "{a}/{b}/%Y %I:%M:%S %p", "{a}/{b}/%Y %I:%M %p",
                  "{a}/{b}/%Y")
DATE_ORDERS = {"mdy": ("%m", "%d"), "dmy": ("%d", "%m")}
_OTHER_FORMATS = ("%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%Y/%m/%d %H:%M:%S", "%b %d, %Y %I:%M:%S %p",
                  "%b %d, %Y %H:%M:%S", "%d %b %Y %H:%M:%S", "%Y-%m-%d %I:%M:%S %p", "%Y-%m-%d")
_FORMATS = {order: tuple(f.format(a=a, b=b) for f in _SLASH_FORMATS) + _OTHER_FORMATS
            for order, (a, b) in DATE_ORDERS.items()}
_SLASH_DATE = re.compile(r"^\s*(\d{1,2})/(\d{1,2})/\d{4}\b")
_OFFSET = re.compile(r"\s*(?:(?:UTC|GMT)\s*)?([+-])(\d{1,2}):?(\d{2})?$")
_ZONE_WORD = re.compile(r"\s+([A-Za-z_]+(?:/[A-Za-z_+-]+)+|UTC|GMT|Z)$")


def parse_export_time(text: str | None, naive_tz: dt.tzinfo = dt.UTC, order: str = "mdy") -> dt.datetime | None:
    """A UTC time from ISO 8601, slash dates in `order` (mdy or dmy), European dates, RFC 2822 or
    epoch (s/ms); naive values in naive_tz."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        parsed = _parse_time(text, naive_tz, order)
    except (OverflowError, ValueError):
        parsed = None
    if parsed is None:
        raise MappingError(f"not a time in a known format: {text[:60]!r}")
    if not EARLIEST_YEAR <= parsed.year <= LATEST_YEAR:
        raise MappingError(f"time out of range: {text[:60]!r}")
    return parsed


def _parse_time(text: str, naive_tz: dt.tzinfo, order: str) -> dt.datetime | None:
    if re.fullmatch(r"\d{9,13}(\.\d+)?", text):
        number = float(text)
        return dt.datetime.fromtimestamp(number / 1000 if number > 1e11 else number, dt.UTC)
    text, zone = _split_zone(text)
    parsed = _parse_naive_or_aware(text, order)
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


def _parse_naive_or_aware(text: str, order: str) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        pass
    for fmt in _FORMATS[order]:
        try:
            return dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
    try:
        return email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None


def decide_date_order(values: Iterator[tuple[int, str]], path: str, wanted: str | None) -> str:
    """The one order (mdy or dmy) of a file's slash dates, from all of them: a first number over 12
    can only be a day, a second over 12 only a day too. `wanted` (from --date-order) is checked
    against the file; ImportFailed when the file contradicts itself or it, or when it cannot tell."""
    evidence: dict[str, tuple[int, str]] = {}
    ambiguous = None
    for line, text in values:
        match = _SLASH_DATE.match(text)
        if not match:
            continue
        first, second = int(match[1]), int(match[2])
        if first > 12 >= second:
            evidence.setdefault("dmy", (line, text))
        elif second > 12 >= first:
            evidence.setdefault("mdy", (line, text))
        elif first != second and ambiguous is None:
            ambiguous = (line, text)
    if len(evidence) > 1:
        (dl, dv), (ml, mv) = evidence["dmy"], evidence["mdy"]
        raise ImportFailed(f"{path}: dates in both orders: {dv.strip()!r} on line {dl} is day/month, "
                           f"{mv.strip()!r} on line {ml} is month/day; fix the file")
    found = next(iter(evidence), None)
    if wanted and found and wanted != found:
        line, text = evidence[found]
        raise ImportFailed(f"{path}: --date-order {wanted}, but {text.strip()!r} on line {line} can only be "
                           f"{'day/month' if found == 'dmy' else 'month/day'}")
    if wanted or found:
        return wanted or found
    if ambiguous:
        line, text = ambiguous
        raise ImportFailed(f"{path}: dates like {text.strip()!r} (line {line}) read as day/month or month/day "
                               "and no date in the file decides which; say it with --date-order dmy or mdy")
    return "mdy"  # no slash date whose order matters


@dataclass(frozen=True)
class TimeReading:
    """How a file's times without a zone and its slash dates are read (one choice per file)."""

    zone: dt.tzinfo = dt.UTC
    order: str = "mdy"

    def parse(self, text: str | None) -> dt.datetime | None:
        return parse_export_time(text, self.zone, self.order)


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
    first = _split(value)
    return first[0] if first else None


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in re.split(r"[,;|]", value or "") if part.strip()]


def _duration(value: str | None) -> float | None:
    """Seconds from "H:MM:SS" (or "MM:SS"), as a report's Duration may read; None if it does not."""
    match = re.fullmatch(r"(?:(\d+):)?(\d{1,2}):(\d{2})", (value or "").strip())
    if not match:
        return None
    hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def has_zone(text: str) -> bool:
    """Whether an export's time says its time zone (an offset, Z, a zone name, or epoch seconds)."""
    text = text.strip()
    if re.fullmatch(r"\d{9,13}(\.\d+)?", text):
        return True
    rest, zone = _split_zone(text)
    if zone is not None:
        return True
    try:
        return dt.datetime.fromisoformat(rest.replace("Z", "+00:00")).tzinfo is not None
    except ValueError:
        return False


def _alert_row(source: str, fields: dict, row: dict, times: TimeReading, config: settings.Settings) -> dict:
    source_id = fields.get("id") or fields.get("number") or fields.get("tiny_id")
    title = fields.get("title") or (f"Incident #{fields['number']}" if fields.get("number") else None)
    if not source_id:
        raise MappingError("row has no id")
    if not title:
        raise MappingError("row has no title")
    created = times.parse(fields.get("created"))
    if created is None:
        raise MappingError("row has no creation time")
    service = fields.get("service") or None
    acknowledged = times.parse(fields.get("acknowledged")) or _seconds_after(
        created, fields.get("seconds_to_ack"))
    resolved = times.parse(fields.get("resolved")) or _seconds_after(
        created, fields.get("seconds_to_resolve"))
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


def map_pagerduty_row(fields: dict, row: dict, times: TimeReading, config: settings.Settings,
                      known_ids: dict[str, str] | None = None) -> Mapped:
    """One row of a PagerDuty incident export (basic or advanced report) → an alert, and the people it
    names by id and name (the API's people of those ids). `known_ids`: incident number → id of the
    incidents already synced from the API (the basic report has their numbers only)."""
    fields = dict(fields)
    if not fields.get("id") and fields.get("number") in (known_ids or {}):
        fields["id"] = known_ids[fields["number"]]
    ids = {kind: _split(fields.get(f"{kind}_id")) for kind in ("acknowledged_by", "resolved_by")}
    names = {kind: _split(fields.get(kind)) for kind in ("acknowledged_by", "resolved_by")}
    resolve_by = (fields.get("resolved_by") or "").strip()
    by_nobody = resolve_by.lower() == NOT_A_USER  # the basic report's word for a resolve by no user
    fields["acknowledged_by"] = (ids["acknowledged_by"] or names["acknowledged_by"] or [None])[0]
    fields["resolved_by"] = None if by_nobody else (ids["resolved_by"] or names["resolved_by"] or [None])[0]
    if not fields.get("seconds_to_resolve") and _duration(fields.get("duration")) is not None:
        fields["seconds_to_resolve"] = str(_duration(fields.get("duration")))
    alert = _alert_row("pagerduty", fields, row, times, config)
    if alert["resolved_at"] is not None and alert["auto_resolved"] is None and resolve_by:
        alert["auto_resolved"] = by_nobody
    if fields.get("escalation_policy"):
        labels = json.loads(alert["labels"] or "{}")
        alert["labels"] = as_json({**labels, "escalation_policy": fields["escalation_policy"]})
    out = Mapped()
    out.add("alerts", alert)
    for id_field, name_field in (("acknowledged_by_id", "acknowledged_by_names"), ("resolved_by_id", "resolved_by_names"),
                                 ("assigned_ids", "assigned_names")):
        for person_id, name in zip(_split(fields.get(id_field)), _split(fields.get(name_field)), strict=False):
            out.add("people", {"source": "pagerduty", "person_id": person_id, "name": name})
    return out


def map_opsgenie_row(fields: dict, row: dict, times: TimeReading, config: settings.Settings, **_: object) -> Mapped:
    """One row of an Opsgenie alert export → an alert (closed alerts only count as resolved)."""
    if (fields.get("status") or "").strip().lower() == "open":
        fields = {**fields, "resolved": None}
    out = Mapped()
    out.add("alerts", _alert_row("opsgenie", fields, row, times, config))
    return out


# --- loading a file -------------------------------------------------------------------------------


def _reader(path: str) -> tuple[csv.DictReader, object]:
    """A DictReader over the file, and the file to close."""
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
    return reader, handle


def _rows(path: str) -> Iterator[tuple[int, dict]]:
    """(line number, row) of every row; a line the csv module cannot read ends the file with ImportFailed."""
    reader, handle = _reader(path)
    with handle:
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise ImportFailed(f"{path}: line {reader.line_num + 1}: {exc}") from None  # the line it was reading
            yield reader.line_num, row


TIME_FIELDS = ("created", "acknowledged", "resolved")


def _date_order(path: str, found: dict[str, str], wanted: str | None) -> str:
    """The file's date order, read from every date in it (a first pass over the file)."""
    headers = [found[name] for name in TIME_FIELDS if name in found]
    values = ((line, row.get(header) or "") for line, row in _rows(path) for header in headers)
    return decide_date_order(values, path, wanted)


def _known_pagerduty_ids(con) -> dict[str, str]:
    """Incident number → id of the PagerDuty incidents synced from the API."""
    rows = con.execute(
        "SELECT raw->>'$.incident_number', source_id FROM alerts "
        "WHERE source = 'pagerduty' AND raw->>'$.incident_number' IS NOT NULL").fetchall()
    return {str(number): source_id for number, source_id in rows}


# An imported row fills what the store does not know and changes nothing it does: an incident
# synced from the API keeps what its log entries gave, a person their e-mail and time zone.
_KEEP = {"alerts": {column: "keep" for column in (
    "title", "signature", "service", "team", "severity", "created_at", "acknowledged_at", "resolved_at",
    "acknowledged_by", "resolved_by", "auto_resolved", "escalations", "url", "labels", "raw")},
    "people": {"name": "keep"}}


def _load_csv(source: str, columns: dict, required: tuple, map_row: Callable, zone_required: bool = False) -> Callable:
    def load(path: str, db: str, config: settings.Settings, options: ImportOptions = NO_OPTIONS) -> IngestRun:
        reader, handle = _reader(path)
        handle.close()
        found = resolve_columns(list(reader.fieldnames), columns, required, path)
        if zone_required and options.time_zone is None and _norm(found.get("created", "")) == _norm(BASIC_CREATED):
            _check_zone(path, found["created"])
        zone = ZoneInfo(options.time_zone or config.default_time_zone)
        times = TimeReading(zone, _date_order(path, found, options.date_order))
        # One turn to start (with what mapping needs from the store), one to write it all: each
        # turn waits for the reads in progress, so the file is staged first (store.staging).
        run = IngestRun(db, source, read=_known_pagerduty_ids if source == "pagerduty" else None)
        extra = {"known_ids": run.read} if source == "pagerduty" else {}

        def map_one(row: dict) -> Mapped:
            if None in row:  # DictReader's key for values beyond the header's columns
                raise MappingError(f"row has {len(row[None])} more fields than the header")
            fields = {name: (row.get(header) or "").strip() for name, header in found.items()}
            return map_row(fields, row, times, config, **extra)

        count = 0
        try:
            with store.staging.Staging(db, run.run_id) as staging:
                batch: list[dict] = []
                for _, row in _rows(path):
                    batch.append(row)
                    count += 1
                    if len(batch) >= BATCH_ROWS:
                        run.stage(staging, map_each("csv", batch, map_one))
                        batch = []
                run.stage(staging, map_each("csv", batch, map_one))
                run.load_staged(staging, merge=_KEEP, partial=_cut_off(source, count))
        except (ImportFailed, store.DatabaseBusy, store.DatabaseError) as exc:
            run.finish(error=str(exc))
            raise ImportFailed(str(exc)).after(run) from None
        except OSError as exc:  # staging: the disk beside the database is full or not writable
            failure = ImportFailed(f"{path}: the import stopped: cannot stage its rows beside the database: "
                                   f"{exc.strerror or exc}")
            run.finish(error=str(failure))
            raise failure.after(run) from None
        except BaseException as exc:
            run.finish(error=f"{type(exc).__name__}: {exc}")
            raise
        return run

    return load


def _cut_off(source: str, rows: int) -> str | None:
    """What to say of a PagerDuty export of exactly as many rows as an export holds (None otherwise)."""
    if source != "pagerduty" or rows != PAGERDUTY_EXPORT_LIMIT:
        return None
    return (f"{rows:,} rows, the most a PagerDuty export holds: it was probably cut off; export shorter "
            "date ranges and import each")


def _check_zone(path: str, created: str) -> None:
    """A basic report whose first time says no time zone needs the account's (--time-zone): one line if not given."""
    first = next((row for _, row in _rows(path)), None)
    if first is not None and (first.get(created) or "").strip() and not has_zone(first[created]):
        raise ImportFailed(
            f"{path}: its times carry no time zone (PagerDuty exports them in the account's): give the account's "
            "time zone with --time-zone, e.g. --time-zone America/New_York")


register(ImportFormat("pagerduty-csv", "a PagerDuty incident CSV export (basic or advanced report)",
                      _load_csv("pagerduty", PAGERDUTY_COLUMNS, PAGERDUTY_REQUIRED, map_pagerduty_row,
                                zone_required=True)))
register(ImportFormat("opsgenie-csv", "an Opsgenie alert CSV export",
                      _load_csv("opsgenie", OPSGENIE_COLUMNS, OPSGENIE_REQUIRED, map_opsgenie_row)))

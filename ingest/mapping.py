"""Building blocks for pure mapping functions: canonical rows out, bad records to quarantine."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from settings import EARLIEST_YEAR, LATEST_YEAR  # the one range of dates

CHANNELS = ("phone", "sms", "push", "email", "chat", "other")


class MappingError(ValueError):
    """A record cannot be turned into canonical rows; the message is the quarantine reason."""


@dataclass
class Rejected:
    stream: str
    raw: str
    reason: str


@dataclass
class Mapped:
    """The canonical rows a page of provider records maps to, and the records that did not."""

    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    rejected: list[Rejected] = field(default_factory=list)
    replaces: list[Any] = field(default_factory=list)  # ingest.shifts.Replace: stored rows this batch supersedes

    def add(self, table: str, row: dict[str, Any]) -> None:
        self.rows.setdefault(table, []).append(row)

    def reject(self, stream: str, record: Any, reason: str) -> None:
        self.rejected.append(Rejected(stream, raw_text(record), reason))

    def extend(self, other: Mapped) -> None:
        for table, rows in other.rows.items():
            self.rows.setdefault(table, []).extend(rows)
        self.rejected.extend(other.rejected)
        self.replaces.extend(other.replaces)

    def count(self, table: str) -> int:
        return len(self.rows.get(table, ()))


def team_row(source: str, record: dict) -> Mapped:
    """A provider's team record ({id, name}) → its `teams` row; every source lists teams alike."""
    out = Mapped()
    out.add("teams", {"source": source, "team_id": required(record, "id"), "name": required(record, "name")})
    return out


def map_each(stream: str, records: list[Any], map_one) -> Mapped:
    """Map records one by one; a record whose mapping fails is rejected with the reason."""
    out = Mapped()
    for record in records:
        try:
            mapped = map_one(record)
            check_rows(mapped)
        except MappingError as exc:
            out.reject(stream, record, str(exc))
        except RecursionError:
            out.reject(stream, record, "record nests too deeply")
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
            out.reject(stream, record, f"unexpected record shape: {type(exc).__name__}: {str(exc)[:200]}")
        else:
            out.extend(mapped)
    return out


# Canonical columns that are not text; every other column holds text (JSON columns hold JSON text).
_TIMES = {"created_at", "acknowledged_at", "resolved_at", "ingested_at", "notified_at", "occurred_at",
          "first_alert_at", "starts_at", "ends_at", "silenced_at"}
_FLAGS = {"auto_resolved", "notifications_known"}
_COUNTS = {"escalations", "occurrences", "dropped", "escalation_level"}  # INTEGER
_NOT_TEXT = _TIMES | _FLAGS | _COUNTS


def arrow_type(column: str) -> pa.DataType:
    """The Arrow type of a canonical column (by its name, as `value_problem` checks it)."""
    if column in _TIMES:
        return pa.timestamp("us", tz="UTC")
    if column in _FLAGS:
        return pa.bool_()
    if column in _COUNTS:
        return pa.int32()
    return pa.string()


def canonical_table(rows: list[dict[str, Any]]) -> pa.Table:
    """Checked canonical rows as an Arrow table typed by column, not by the values it happens to hold
    (a column all None would otherwise have no type)."""
    columns = list(dict.fromkeys(column for row in rows for column in row))
    return pa.Table.from_pylist(rows, schema=pa.schema([(c, arrow_type(c)) for c in columns]))


_NOT_UNICODE = "{column} is not valid Unicode text (a lone surrogate or bytes that are not UTF-8)"


def value_problem(column: str, value: Any) -> str | None:
    """Why a value cannot be stored in a canonical column (so its record goes to quarantine), or None."""
    if value is None:
        return None
    if type(value) is str and column not in _NOT_TEXT:  # the common case, kept fast
        return None if value.isascii() or _encodable(value) else _NOT_UNICODE.format(column=column)
    if column in _TIMES:
        if not isinstance(value, dt.datetime) or value.tzinfo is None:
            return f"{column} is not a time: {str(value)[:80]!r}"
        if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
            return f"{column} out of range: {value.isoformat()}"
    elif column in _FLAGS:
        if not isinstance(value, bool):
            return f"{column} is not true or false: {str(value)[:80]!r}"
    elif column in _COUNTS:
        if isinstance(value, bool) or not isinstance(value, int) or not -(2**31) <= value < 2**31:
            return f"{column} is not a count: {str(value)[:80]!r}"
    elif not isinstance(value, str):
        return f"{column} must be text, got {type(value).__name__}: {raw_text(value)[:80]!r}"
    elif not _encodable(value):
        return _NOT_UNICODE.format(column=column)
    return None


def check_rows(mapped: Mapped, now: dt.datetime | None = None) -> None:
    """Raise MappingError naming the first value that the store could not take, or that would make
    the numbers wrong (see `implausible`)."""
    now = now or dt.datetime.now(dt.UTC)
    for table, rows in mapped.rows.items():
        for row in rows:
            for column, value in row.items():
                problem = value_problem(column, value)
                if problem:
                    raise MappingError(problem)
            problem = implausible(table, row, now)
            if problem:
                raise MappingError(problem)


# How far in the future a time may lie (clocks of the provider and of this machine disagree a little).
FUTURE_SKEW = dt.timedelta(minutes=5)
# Times that must not come before the alert was created: each would give a negative duration.
_AFTER_CREATION = ("acknowledged_at", "resolved_at")


def implausible(table: str, row: dict[str, Any], now: dt.datetime) -> str | None:
    """Why a well-formed row would still make the numbers wrong, or None: an alert resolved or
    acknowledged before it was created (a negative time to resolve), a time in the future, a
    negative count."""
    latest = now + FUTURE_SKEW
    for column in _TIMES & row.keys():
        value = row[column]
        if isinstance(value, dt.datetime) and column != "ingested_at" and value > latest:
            return f"{column} is in the future: {value.isoformat()}"
    if table == "alerts":
        created = row.get("created_at")
        for column in _AFTER_CREATION:
            value = row.get(column)
            if isinstance(value, dt.datetime) and isinstance(created, dt.datetime) and value < created:
                return f"{column} {value.isoformat()} is before created_at {created.isoformat()}"
    for column in _COUNTS & row.keys():
        if isinstance(row[column], int) and row[column] < 0:
            return f"{column} is negative: {row[column]}"
    return None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def raw_text(record: Any) -> str:
    """The record as text for `raw`/quarantine, whatever it is (dict, bytes, broken)."""
    if isinstance(record, bytes):
        return record.decode("utf-8", errors="backslashreplace")
    if isinstance(record, str):
        text = record
    else:
        try:
            text = json.dumps(record, ensure_ascii=False, sort_keys=True, default=str)
        except (TypeError, ValueError, RecursionError):
            text = repr(record)
    # Lone surrogates (from JSON escapes or undecodable bytes) as visible escapes: storable UTF-8.
    return text if _encodable(text) else text.encode("utf-8", "backslashreplace").decode("utf-8")


def as_json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def parse_time(value: Any, what: str = "time", naive_tz: dt.tzinfo = dt.UTC) -> dt.datetime:
    """An aware UTC datetime from ISO 8601 text, epoch seconds or a datetime; MappingError if not."""
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return dt.datetime.fromtimestamp(value, dt.UTC)
        except (OverflowError, OSError, ValueError):
            raise MappingError(f"{what} out of range: {value!r}") from None
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            parsed = dt.datetime.fromisoformat(text)
        except ValueError:
            raise MappingError(f"{what} is not an ISO 8601 time: {value[:80]!r}") from None
    else:
        raise MappingError(f"{what} is missing or not a time: {str(value)[:80]!r}")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=naive_tz)
    if not EARLIEST_YEAR <= parsed.year <= LATEST_YEAR:
        raise MappingError(f"{what} out of range: {str(value)[:80]!r}")
    return parsed.astimezone(dt.UTC)


def optional_time(value: Any, what: str = "time") -> dt.datetime | None:
    """Like parse_time, but None/empty (and Alertmanager's zero time) mean 'not yet'."""
    if value in (None, "") or (isinstance(value, str) and value.startswith("0001-01-01")):
        return None
    return parse_time(value, what)


def required(record: dict, key: str) -> Any:
    value = record.get(key) if isinstance(record, dict) else None
    if value in (None, ""):
        raise MappingError(f"missing required field {key!r}")
    return value


def required_text(record: dict, key: str) -> str:
    """A required field that must be a non-empty string (a title, say), not a number or an object."""
    value = record.get(key) if isinstance(record, dict) else None
    if not isinstance(value, str) or not value:
        raise MappingError(f"missing required field {key!r}")
    return value

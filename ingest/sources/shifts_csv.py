"""A rota as a CSV file (one row per shift): on-call shifts for teams without a paging provider's schedules."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import settings
import store
from ingest.imports import ImportFailed, ImportFormat, ImportOptions, register
from ingest.load import IngestRun
from ingest.mapping import Mapped, MappingError, map_each
from ingest.shifts import Replace, pieces, shift_row, within
from ingest.sources.csv_exports import _reader, _rows, decide_date_order, parse_export_time, resolve_columns
from ingest.windows import Window

SOURCE = "csv-rota"
COLUMNS = {
    "person": ("person", "email", "e-mail", "user", "name", "on call"),
    "schedule": ("schedule", "rota", "rotation"),
    "start": ("start", "starts at", "from", "shift start"),
    "end": ("end", "ends at", "to", "shift end"),
    "level": ("escalation level", "level"),
    "team": ("team",),
    "time_zone": ("time zone", "timezone", "tz"),
}
REQUIRED = (("person",), ("schedule",), ("start",), ("end",))


def map_row(fields: dict[str, str], default_tz: dt.tzinfo, order: str = "mdy") -> Mapped:
    """One row → a shift and its person; times without an offset are read in the row's (or the default) zone."""
    zone = default_tz
    if fields.get("time_zone"):
        try:
            zone = ZoneInfo(fields["time_zone"])
        except (ZoneInfoNotFoundError, ValueError):
            raise MappingError(f"unknown time zone {fields['time_zone'][:60]!r}") from None
    times = []
    for name in ("start", "end"):
        at = parse_export_time(fields.get(name), zone, order)
        if at is None:
            raise MappingError(f"{name} is not a time: {fields.get(name, '')[:60]!r}")
        times.append(at)
    level = fields.get("level") or "1"
    if not level.isdigit():
        raise MappingError(f"escalation level is not a number: {level[:20]!r}")
    person = fields["person"]
    out = Mapped()
    shift = shift_row(SOURCE, fields["schedule"], fields["schedule"], person, times[0], times[1], int(level),
                      fields.get("team") or None)
    past = within(shift, Window(shift["starts_at"], dt.datetime.now(dt.UTC)))  # a rota's future is not history yet
    if past is not None:
        out.add("on_call_shifts", past)
    out.add("people", {"source": SOURCE, "person_id": person, "name": None if "@" in person else person,
                       "email": person if "@" in person else None, "team": fields.get("team") or None})
    return out


def load(path: str, db: str, config: settings.Settings, options: ImportOptions | None = None) -> IngestRun:
    """Import the file; for each schedule in it, the time from its first start to its last end is replaced."""
    options = options or ImportOptions()
    reader, handle = _reader(path)
    handle.close()
    found = resolve_columns(list(reader.fieldnames), COLUMNS, REQUIRED, path)
    rows = [row for _, row in _rows(path)]
    order = decide_date_order(((line, row.get(found[name]) or "") for line, row in enumerate(rows, start=2)
                               for name in ("start", "end")), path, options.date_order)
    tz = ZoneInfo(config.default_time_zone)

    def map_one(row: dict) -> Mapped:
        if None in row:
            raise MappingError(f"row has {len(row[None])} more fields than the header")
        return map_row({name: (row.get(header) or "").strip() for name, header in found.items()}, tz, order)

    run = IngestRun(db, SOURCE)
    try:
        mapped = map_each("csv", rows, map_one)
        shifts = mapped.rows.get("on_call_shifts", [])
        for schedule in sorted({s["schedule_id"] for s in shifts}):
            mine = [s for s in shifts if s["schedule_id"] == schedule]
            window = Window(min(s["starts_at"] for s in mine), max(s["ends_at"] for s in mine))
            mapped.replaces.append(Replace(SOURCE, window, schedule))
        mapped.rows["on_call_shifts"] = list(pieces(shifts))
        run.load("csv", mapped)
    except (store.DatabaseBusy, store.DatabaseError) as exc:
        run.finish(error=str(exc))
        raise ImportFailed(str(exc)).after(run) from None
    except BaseException as exc:
        run.finish(error=f"{type(exc).__name__}: {exc}")
        raise
    run.finish()
    return run


register(ImportFormat("shifts-csv", "an on-call rota, one row per shift: person, schedule, start, end "
                      "(optional: escalation level, team, time zone)", load))

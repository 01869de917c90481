"""Rotas written in the configuration ([rotas.<name>]): their turns as on-call shifts, synced like a schedule."""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import settings
from ingest.load import IngestRun
from ingest.mapping import Mapped
from ingest.shifts import Replace, day_aligned, pieces, utc_day
from ingest.sources.contract import SyncSource
from ingest.sync import SyncRequest, SyncResult
from ingest.windows import Window, iso, parse_iso

log = logging.getLogger(__name__)

NAME = "rota"
HELP = "on-call rotas written in the configuration ([rotas.<name>]), for teams without a paging provider's schedules"


def turns(rota: settings.Rota, start: dt.datetime, end: dt.datetime) -> Iterator[tuple[settings.RotaPerson, dt.datetime, dt.datetime]]:
    """(person, from, to) for every turn overlapping [start, end).

    Hand-overs are at the same local wall-clock time (a 09:00 hand-over stays at 09:00 across a
    daylight-saving change, so that turn is an hour shorter or longer in elapsed time)."""
    zone = ZoneInfo(rota.time_zone)
    first = dt.datetime.combine(rota.start, rota.handover)  # local wall clock, naive
    length = dt.timedelta(days=rota.length_days)

    def handover(k: int) -> dt.datetime:
        return (first + k * length).replace(tzinfo=zone).astimezone(dt.UTC)

    local_start = start.astimezone(zone).replace(tzinfo=None)
    k = max(0, math.floor((local_start - first) / length) - 1)
    while True:
        begins, ends = handover(k), handover(k + 1)
        if begins >= end:
            return
        if ends > start:
            yield rota.people[k % len(rota.people)], begins, ends
        k += 1


def rota_start(rota: settings.Rota) -> dt.datetime:
    """The first hand-over, as an instant."""
    return dt.datetime.combine(rota.start, rota.handover, tzinfo=ZoneInfo(rota.time_zone)).astimezone(dt.UTC)


def mapped_turns(rota: settings.Rota, window: Window) -> Mapped:
    """The rota's people and its shifts within `window`, replacing what was stored for those days."""
    out = Mapped()
    for person in rota.people:
        out.add("people", {"source": NAME, "person_id": person.person_id, "name": person.name or person.email,
                           "email": person.email, "time_zone": person.time_zone, "team": rota.team})
    shifts = [
        {"source": NAME, "schedule_id": rota.name, "escalation_level": rota.escalation_level,
         "person_id": person.person_id, "starts_at": begins, "ends_at": ends, "schedule": rota.name,
         "team": rota.team}
        for person, begins, ends in turns(rota, window.start, window.end)
    ]
    out.rows["on_call_shifts"] = list(pieces(shifts, window))
    out.replaces.append(Replace(NAME, window, rota.name))
    return out


def problem(config: settings.Settings) -> str | None:
    return None if config.rotas else f"{NAME}: no [rotas.<name>] in the configuration"


def sync(db: str, config: settings.Settings, request: SyncRequest) -> SyncResult:
    """Each rota from where its last sync stopped (or its start) to now; earlier days stay as stored,
    so editing a rota changes the shifts from the last sync on, not the history."""
    run = IngestRun(db, NAME)
    now = request.now or dt.datetime.now(dt.UTC)
    for rota in config.rotas.values():
        cursor = None if request.full else parse_iso(run.cursor(rota.name))
        start = request.since or cursor or rota_start(rota)
        end = min(request.until or now, now)
        if end <= start:
            continue
        window = day_aligned(Window(max(start, utc_day(rota_start(rota))), end))
        log.info("%s %s: %s to %s", NAME, rota.name, iso(window.start), iso(window.end))
        run.load(rota.name, mapped_turns(rota, window), cursor=iso(end))
    status = run.finish()
    totals = run.totals
    return SyncResult(NAME, status, totals.rows, totals.quarantined, 0, dict(totals.by_table))


SYNC = SyncSource(NAME, HELP, problem, sync)

"""The demo source: maps the demo history's records to canonical rows and loads them like a sync."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import random
from zoneinfo import ZoneInfo

from tqdm import tqdm

import store
from ingest.load import IngestRun
from ingest.mapping import (
    Mapped,
    MappingError,
    as_json,
    map_each,
    optional_time,
    parse_time,
    required,
    team_row,
)
from ingest.shifts import pieces, shift_row
from ingest.signature import title_signature
from ingest.sources.demo_history import DemoHistory, Rule, fill_template
from settings import Settings

log = logging.getLogger(__name__)

SOURCE = "demo"
PAGE_SIZE = 2000
_EVENT_TYPES = {"trigger", "acknowledge", "resolve", "escalate", "notify", "annotate", "reopen"}


def map_team(record: dict) -> Mapped:
    return team_row(SOURCE, record)


def map_service(record: dict) -> Mapped:
    out = Mapped()
    out.add("services", {
        "source": SOURCE,
        "service_id": required(record, "id"),
        "name": required(record, "name"),
        "team": (record.get("team") or {}).get("name"),
    })
    return out


def map_user(record: dict) -> Mapped:
    out = Mapped()
    out.add("people", {
        "source": SOURCE,
        "person_id": required(record, "id"),
        "name": record.get("name"),
        "email": record.get("email"),
        "time_zone": record.get("time_zone"),
        "team": (record.get("team") or {}).get("name"),
    })
    return out


def map_incident(record: dict, settings: Settings) -> Mapped:
    """One incident with its log entries → an alert, its events and its notifications."""
    incident_id = str(required(record, "id"))
    created_at = parse_time(required(record, "created_at"), "created_at")
    service = (record.get("service") or {}).get("name")
    title = record.get("title")
    if not isinstance(title, str):
        raise MappingError("missing required field 'title'")
    team = (record.get("team") or {}).get("name") or settings.service_teams.get(service or "", "unassigned")
    out = Mapped()
    acknowledged_at = acknowledged_by = resolved_at = resolved_by = None
    auto_resolved = None
    escalations = 0
    for entry in record.get("log_entries") or []:
        kind = entry.get("type")
        if kind not in _EVENT_TYPES:
            raise MappingError(f"log entry {entry.get('id')!r} has unknown type {kind!r}")
        at = parse_time(entry.get("created_at"), f"log entry {entry.get('id')!r} created_at")
        agent = entry.get("agent") or {}
        if kind == "acknowledge" and acknowledged_at is None:
            acknowledged_at, acknowledged_by = at, agent.get("id")
        elif kind == "resolve":
            resolved_at, resolved_by = at, agent.get("id")
            auto_resolved = agent.get("type") != "user"
        elif kind == "escalate":
            escalations += 1
        elif kind == "notify":
            out.add("notifications", {
                "source": SOURCE,
                "alert_source_id": incident_id,
                "person_id": required(entry, "user"),
                "channel": entry.get("channel") or "other",
                "notified_at": at,
            })
        out.add("events", {
            "source": SOURCE,
            "event_id": str(required(entry, "id")),
            "alert_source_id": incident_id,
            "type": kind,
            "occurred_at": at,
            "agent_id": agent.get("id") or entry.get("user"),
            "agent_type": agent.get("type") or ("user" if entry.get("user") else None),
            "details": as_json({k: entry[k] for k in ("channel", "note", "assignees") if k in entry} or None),
        })
    if resolved_at is not None and resolved_at < created_at:
        raise MappingError("resolved before it was created")
    out.add("alerts", {
        "source": SOURCE,
        "source_id": incident_id,
        "title": title,
        "signature": title_signature(service, title),
        "service": service,
        "team": team,
        "severity": record.get("urgency"),
        "created_at": created_at,
        "acknowledged_at": acknowledged_at,
        "resolved_at": optional_time(resolved_at),
        "acknowledged_by": acknowledged_by,
        "resolved_by": resolved_by,
        "auto_resolved": auto_resolved,
        "escalations": escalations,
        "runbook_url": record.get("runbook_url"),
        "url": record.get("html_url"),
        "notifications_known": True,  # the demo's log is always whole, as a PagerDuty sync's
        "labels": as_json({"urgency": record.get("urgency")}),
        "raw": as_json(record),
    })
    return out


def map_shift(record: dict) -> Mapped:
    out = Mapped()
    out.add("on_call_shifts", shift_row(SOURCE, record["schedule_id"], record["schedule"], record["person_id"],
                                        record["start"], record["end"], record["level"], record["team"]))
    return out


def _pages(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def load_demo(
    db: str,
    settings: Settings,
    seed: int = 7,
    days: int = 180,
    end: dt.datetime | None = None,
    progress: bool = False,
) -> IngestRun:
    """Write the demo history into `db` through the same mapping and loader as a provider sync."""
    history = DemoHistory(seed=seed, days=days, end=end)
    run = IngestRun(db, SOURCE)
    try:
        run.load("teams", map_each("teams", history.teams(), map_team))
        run.load("services", map_each("services", history.services(), map_service))
        run.load("users", map_each("users", history.users(), map_user))
        shifts = map_each("on_call_shifts", history.on_call_shifts(), map_shift)
        shifts.rows["on_call_shifts"] = list(pieces(shifts.rows.get("on_call_shifts", ())))
        run.load("on_call_shifts", shifts)
        incidents = history.incidents()
        bar = tqdm(total=len(incidents), unit="incident", desc="demo incidents", disable=not progress)
        for page in _pages(incidents, PAGE_SIZE):
            mapped = map_each("incidents", page, lambda r: map_incident(r, settings))
            run.load("incidents", mapped, cursor=page[-1]["created_at"])
            bar.update(len(page))
        bar.close()
        _write_retro(db, history, settings)
    except BaseException as exc:
        run.finish(error=f"{type(exc).__name__}: {exc}")
        raise
    run.finish()
    return run


def _write_retro(db: str, history: DemoHistory, settings: Settings) -> None:
    """The verdicts and fix estimates the demo teams entered, through the app's own write path."""
    for review in history.reviews:
        rule = review["rule"]
        signature = _rule_signature(rule)
        at = history.start + dt.timedelta(days=review["day"], hours=10)
        review_id = hashlib.sha256(f"{history.seed}|{signature}|{at.isoformat()}".encode()).hexdigest()[:32]
        store.retro.save_review(db, signature, review["verdict"], note=review["note"],
                                reviewer=f"{rule.team} retro", reviewed_at=at, review_id=review_id,
                                period=_sprint_before(settings, at))
    for estimate in history.fix_estimates:
        rule = estimate["rule"]
        store.retro.save_fix_estimate(db, _rule_signature(rule), estimate["hours"],
                                      note="Estimated in backlog refinement", estimated_by="product owner",
                                      estimated_at=history.start + dt.timedelta(days=60))
    for fix in history.fixes_done:
        store.retro.mark_fix_done(db, _rule_signature(fix["rule"]), fix["kind"], done_by=f"{fix['rule'].team} team",
                                  note=fix["note"], done_at=history.start + dt.timedelta(days=fix["day"], hours=15))
    store.outbound.save_tickets(db, [{
        "system": t["system"], "signature": _rule_signature(t["rule"]), "ticket_key": t["key"], "url": None,
        "status": t["status"], "done": t["done"],
        "closed_at": history.start + dt.timedelta(days=t["day"], hours=11) if t["done"] else None,
        "opened_at": history.start + dt.timedelta(days=t["day"] - 10), "synced_at": history.end,
    } for t in history.tickets])


def _sprint_before(settings: Settings, at: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The sprint a retro held at `at` looks back on: the one before the sprint containing it."""
    zone = ZoneInfo(settings.default_time_zone)
    first = settings.sprint_start(at.astimezone(zone).date())
    length = dt.timedelta(days=settings.sprint_length_days)
    start, end = first - length, first
    return (dt.datetime.combine(start, dt.time(0), tzinfo=zone), dt.datetime.combine(end, dt.time(0), tzinfo=zone))


def _rule_signature(rule: Rule) -> str:
    # Every alert of a demo rule shares one signature: the template's placeholders are
    # exactly what title normalization replaces, so any sample title gives it.
    return title_signature(rule.service, fill_template(rule.template, random.Random(0), rule.service))


def clear_demo(db: str) -> None:
    """Remove earlier demo rows so a new demo history replaces, not mixes with, the old one."""
    with store.writing(db) as con:
        for table in ("alerts", "notifications", "events", "people", "teams", "services", "sync_state", "quarantine",
                      "on_call_shifts"):
            con.execute(f"DELETE FROM {table} WHERE source = ?", [SOURCE])  # noqa: S608 - fixed names
        con.execute("DELETE FROM reviews")
        con.execute("DELETE FROM fix_estimates")
        con.execute("DELETE FROM fixes_done")
        con.execute("DELETE FROM tickets")

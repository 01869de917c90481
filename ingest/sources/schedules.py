"""On-call schedule streams of PagerDuty, Opsgenie and Grafana OnCall: declarations and pure mappings."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ingest.mapping import Mapped, MappingError
from ingest.paginators import NextUrlPaginator, OffsetPaginator, WholeBody
from ingest.shifts import shift_row, within
from ingest.sync import Context, ScheduleRef, Schedules, Shifts, Stream
from ingest.windows import Window, iso

SPAN = dt.timedelta(days=30)  # one request per schedule per 30 days (OnCall allows 365, PagerDuty pages)


def _shift(row: dict, window: Window) -> Mapped:
    """A shift's part within the window asked for (nothing of a turn beyond it, such as its future)."""
    out = Mapped()
    part = within(row, window)
    if part is not None:
        out.add("on_call_shifts", part)
    return out


def _ref(value: Any) -> tuple[str | None, str | None]:
    if not isinstance(value, dict) or not isinstance(value.get("id"), str) or not value["id"]:
        return None, None
    return value["id"], value.get("summary") or value.get("name")


# --- PagerDuty: GET /oncalls, every schedule and escalation policy in one time-windowed query ------


def pagerduty_stream(limit: int, offset_cap: int) -> Stream:
    def params(w: Window) -> dict[str, str]:
        # Overlapping on-calls are returned whole; the rendering time zone defaults to the account's.
        return {"since": iso(w.start), "until": iso(w.end), "time_zone": "UTC"}

    return Stream("oncalls", "oncalls", OffsetPaginator(items=("oncalls",), limit=limit, cap=offset_cap), None,
                  shifts=Shifts(params, SPAN, map_pagerduty_oncall))


def map_pagerduty_oncall(record: dict, ctx: Context, target: ScheduleRef | None, window: Window) -> Mapped:
    """An on-call → a shift of its schedule (or, for a user named directly, of its escalation policy).

    A permanent on-call has no start or end: it lasts the whole window asked for."""
    person, _ = _ref(record.get("user"))
    if person is None:
        raise MappingError("on-call without a user")
    schedule_id, name = _ref(record.get("schedule"))
    if schedule_id is None:
        policy_id, name = _ref(record.get("escalation_policy"))
        if policy_id is None:
            raise MappingError("on-call without a schedule or an escalation policy")
        schedule_id = f"escalation_policy:{policy_id}"
    return _shift(shift_row("pagerduty", schedule_id, name, person, record.get("start") or window.start,
                            record.get("end") or window.end, record.get("escalation_level")), window)


# --- Opsgenie: GET /v2/schedules, then each schedule's final timeline --------------------------------


def opsgenie_stream(limit: int) -> Stream:
    def params(w: Window) -> dict[str, Any]:
        days = max(1, -(-(w.end - w.start) // dt.timedelta(days=1)))  # whole days, rounded up
        return {"identifierType": "id", "date": iso(w.start), "interval": days, "intervalUnit": "days"}

    listing = Schedules("v2/schedules", NextUrlPaginator(items=("data",), limit=limit, next_link=("paging", "next")),
                        opsgenie_schedule)
    return Stream("schedule_timelines", "v2/schedules", WholeBody(), None,
                  shifts=Shifts(params, SPAN, map_opsgenie_timeline, listing,
                                lambda ref: f"v2/schedules/{ref.schedule_id}/timeline"))


def opsgenie_schedule(record: dict, ctx: Context) -> ScheduleRef | None:
    if not isinstance(record.get("id"), str) or record.get("enabled") is False:
        return None
    owner = record.get("ownerTeam") if isinstance(record.get("ownerTeam"), dict) else {}
    team = ctx.team_names.get(owner.get("id") or "") or owner.get("name")
    return ScheduleRef(record["id"], record.get("name") or record["id"], team)


def map_opsgenie_timeline(record: dict, ctx: Context, target: ScheduleRef | None, window: Window) -> Mapped:
    """The final timeline (overrides and forwarding applied): each user's period is a shift.

    Periods of no one (`type` none) or of a team or escalation are nobody's on-call time."""
    rotations = ((record.get("data") or {}).get("finalTimeline") or {}).get("rotations")
    if not isinstance(rotations, list):
        raise MappingError("schedule timeline without data.finalTimeline.rotations")
    out = Mapped()
    for rotation in rotations:
        for period in (rotation or {}).get("periods") or []:
            recipient = period.get("recipient") if isinstance(period, dict) else None
            if not isinstance(recipient, dict) or recipient.get("type") != "user":
                continue
            person = recipient.get("id") or ctx.person_by_email.get(str(recipient.get("name") or "").lower())
            out.extend(_shift(shift_row("opsgenie", target.schedule_id, target.name, person,
                                        period.get("startDate"), period.get("endDate"), 1, target.team), window))
    return out


# --- Grafana OnCall: GET /api/v1/schedules/, then each schedule's final shifts ------------------------

_ONCALL_FORMAT = "%Y-%m-%dT%H:%M"  # one of the two formats final_shifts accepts, read as UTC


def oncall_stream(limit: int) -> Stream:
    pages = NextUrlPaginator(items=("results",), limit=limit, limit_param="perpage", next_link=("next",))

    def params(w: Window) -> dict[str, str]:
        end = w.end.astimezone(dt.UTC)
        if end.second or end.microsecond:  # minutes only: round up, the window is clipped anyway
            end = end.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
        return {"start_date": w.start.astimezone(dt.UTC).strftime(_ONCALL_FORMAT), "end_date": end.strftime(_ONCALL_FORMAT)}

    listing = Schedules("api/v1/schedules/", pages, oncall_schedule)
    return Stream("final_shifts", "api/v1/schedules/", pages, None,
                  shifts=Shifts(params, SPAN, map_oncall_final_shift, listing,
                                lambda ref: f"api/v1/schedules/{ref.schedule_id}/final_shifts"))


def oncall_schedule(record: dict, ctx: Context) -> ScheduleRef | None:
    if not isinstance(record.get("id"), str):
        return None
    return ScheduleRef(record["id"], record.get("name") or record["id"], ctx.team_names.get(record.get("team_id") or ""))


def map_oncall_final_shift(record: dict, ctx: Context, target: ScheduleRef | None, window: Window) -> Mapped:
    """A final shift (rotations, overrides and swaps resolved by OnCall) of one user."""
    person = record.get("user_pk") or ctx.person_by_email.get(str(record.get("user_email") or "").lower())
    return _shift(shift_row("oncall", target.schedule_id, target.name, person,
                            record.get("shift_start"), record.get("shift_end"), 1, target.team), window)

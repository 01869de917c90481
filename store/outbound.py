"""What went out: digests posted to chat and tickets opened per fix, recorded so nothing goes twice."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa

from store.connection import reading, writing
from store.upsert import upsert

_TIME = pa.timestamp("us", tz="UTC")
ALL_TEAMS = ""  # chat_posts.team for a digest of every team


def last_post(db: str, destination: str, team: str | None, start: dt.datetime, end: dt.datetime) -> dt.datetime | None:
    """When the digest of this team and period last went to `destination`, if it did."""
    with reading(db) as con:
        row = con.execute(
            "SELECT posted_at FROM chat_posts WHERE destination = $d AND team = $t AND period_start = $s "
            "AND period_end = $e",
            {"d": destination, "t": team or ALL_TEAMS, "s": start, "e": end},
        ).fetchone()
    return row[0] if row else None


def record_post(db: str, destination: str, team: str | None, start: dt.datetime, end: dt.datetime,
                posted_at: dt.datetime | None = None) -> None:
    """Note a digest posted (counting how often, for one posted again with --again)."""
    values = {"d": destination, "t": team or ALL_TEAMS, "s": start, "e": end,
              "at": posted_at or dt.datetime.now(dt.UTC)}
    with writing(db) as con:
        con.execute(
            "INSERT INTO chat_posts VALUES ($d, $t, $s, $e, $at, 1) ON CONFLICT DO UPDATE "
            "SET posted_at = excluded.posted_at, posts = chat_posts.posts + 1",
            values,
        )


_TICKET_SCHEMA = pa.schema([
    ("system", pa.string()), ("signature", pa.string()), ("ticket_key", pa.string()), ("url", pa.string()),
    ("status", pa.string()), ("done", pa.bool_()), ("closed_at", _TIME), ("opened_at", _TIME),
    ("synced_at", _TIME),
])


def save_tickets(db: str, rows: list[dict[str, Any]]) -> None:
    """Store tickets as last read from their system (one per system and signature)."""
    if rows:
        with writing(db) as con:
            upsert(con, "tickets", pa.Table.from_pylist(rows, schema=_TICKET_SCHEMA))


def tickets(db: str, system: str | None = None) -> list[dict[str, Any]]:
    """The stored tickets (of one system), as the last sync left them."""
    with reading(db) as con:
        cursor = con.execute(
            "SELECT * FROM tickets WHERE $system::VARCHAR IS NULL OR system = $system ORDER BY signature",
            {"system": system},
        )
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

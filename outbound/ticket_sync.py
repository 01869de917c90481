"""Open or update one ticket per fix, never two: found again by its label, its status read back each run."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Protocol

import store
from outbound.http import SendError
from outbound.tickets import FixTicket, signature_label

log = logging.getLogger(__name__)


class TicketSystem(Protocol):
    name: str

    def find_all(self) -> dict[str, dict]: ...
    def create(self, ticket: FixTicket) -> dict: ...
    def update(self, key: str, ticket: FixTicket) -> None: ...
    def close(self) -> None: ...


@dataclass
class Synced:
    opened: list[str] = field(default_factory=list)  # ticket keys
    updated: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)  # closed tickets, whose text people own now
    statuses: list[dict] = field(default_factory=list)  # every known ticket as stored

    def summary(self, system: str) -> str:
        done = sum(1 for row in self.statuses if row["done"])
        return (f"{system}: opened {len(self.opened)}, updated {len(self.updated)}, left {len(self.left)} closed "
                f"as they are; {len(self.statuses)} tickets tracked, {done} done")


def sync(db: str, system: TicketSystem, tickets: list[FixTicket], now: dt.datetime | None = None) -> Synced:
    """Make each ticket exist once in `system`, then store the status of every ticket it knows."""
    now = now or dt.datetime.now(dt.UTC)
    known = {row["signature"]: row for row in store.outbound.tickets(db, system.name)}
    signatures = {signature_label(s): s for s in known} | {t.label: t.signature for t in tickets}
    found = system.find_all()
    result = Synced()
    for ticket in tickets:
        current = found.get(ticket.label)
        if current is None:
            current = found[ticket.label] = _open(system, ticket)
            result.opened.append(current["ticket_key"])
        elif current["open"]:
            system.update(current["ticket_key"], ticket)
            result.updated.append(current["ticket_key"])
        else:
            result.left.append(current["ticket_key"])
    for label, current in found.items():
        signature = signatures.get(label)
        if signature is None:  # one of ours whose signature this database has never seen
            continue
        before = known.get(signature) or {}
        result.statuses.append({
            "system": system.name, "signature": signature, "ticket_key": current["ticket_key"],
            "url": current["url"], "status": current["status"], "done": current["done"],
            "closed_at": current["closed_at"], "opened_at": before.get("opened_at") or now, "synced_at": now,
        })
    store.outbound.save_tickets(db, result.statuses)
    return result


def _open(system: TicketSystem, ticket: FixTicket) -> dict:
    """Create the ticket; after an answer that leaves it unknown whether it was made, look before trying again."""
    try:
        return system.create(ticket)
    except SendError as exc:
        if exc.status is not None and exc.status < 500:
            raise
        log.info("%s: opening a ticket may or may not have worked (%s); looking for it first", system.name, exc)
    again = system.find_all().get(ticket.label)
    return again if again is not None else system.create(ticket)

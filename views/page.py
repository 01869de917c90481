"""The page recipe every view follows: title, filters, cached load, empty state, chart, table, export."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from metrics import Period, browse, spreadsheet
from settings import Settings
from views import data, filters, format


@dataclass(frozen=True)
class Scope:
    """What the reader has chosen in the sidebar."""

    config: Settings
    teams: list[str]
    team: str | None
    period: Period
    service: str | None = None

    @property
    def who(self) -> str:
        return self.team or "all teams"

    @property
    def as_of(self) -> dt.datetime:
        """The end of the period, or now if the period is still running."""
        return min(self.period.end, dt.datetime.now(dt.UTC))


def start(title: str, purpose: str, with_service: bool = False, with_period: bool = True) -> Scope | None:
    """Title and filters; None (after an empty-state message) when there is nothing to show."""
    st.title(title)
    st.caption(purpose)
    st.session_state["_stale_noted"] = False
    config = data.config()
    teams = data.load("teams")
    if not teams:
        empty_database()
        return None
    team = filters.team(teams)
    period = filters.period(config) if with_period else filters.sprint_containing(config, filters.today())
    service = None
    if with_service:
        services = data.load(browse.services, team=team)
        service = filters.service(services)
    return Scope(config, teams, team, period, service)


def empty_database() -> None:
    st.info(
        "No alerts in this database yet. Load some history first: "
        "`python -m ingest demo --db data/demo.duckdb` for a demo, or a provider sync "
        "(see the README and the Data page), then reload this page.",
        icon=":material/inbox:",
    )


def nothing_in_period(scope: Scope, what: str = "alerts") -> None:
    st.info(
        f"No {what} for {format.inert(scope.who)} in {scope.period.label()}. "
        "Pick another period or team in the sidebar.",
        icon=":material/event_busy:",
    )


def download_csv(frame: pd.DataFrame, file_name: str, label: str = "Download CSV", key: str | None = None) -> None:
    st.download_button(
        label, spreadsheet.to_csv(frame), file_name=file_name, mime="text/csv",
        key=key or f"csv_{file_name}", icon=":material/download:",
    )


def slug(scope: Scope) -> str:
    """A file-name part for downloads: team and period start."""
    team = "".join(c if c.isalnum() else "-" for c in (scope.team or "all-teams"))
    return f"{team}-{scope.period.start.date().isoformat()}"


def safe_links(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """Only http(s) links stay clickable: a provider's `javascript:` URL must never become a link."""
    if column not in frame:
        return frame
    ok = frame[column].astype("string").str.match(r"^https?://", na=False)
    return frame.assign(**{column: frame[column].where(ok, None)})

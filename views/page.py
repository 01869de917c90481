"""The page recipe every view follows: title, filters, cached load, empty state, chart, table, export."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
import streamlit as st

import metrics
from metrics import Period, spreadsheet
from metrics.targets import Target, status
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
    is_sprint: bool = True  # False for free dates

    @property
    def who(self) -> str:
        return self.team or "all teams"

    @property
    def as_of(self) -> dt.datetime:
        """The end of the period, or now if the period is still running."""
        return min(self.period.end, dt.datetime.now(dt.UTC))

    def about(self, signature: str | None = None) -> metrics.Scope:
        """What to read: the chosen period, team and service (and one signature, for a drill-down)."""
        return metrics.Scope(self.period, self.team, self.service, signature)

    @property
    def in_progress(self) -> bool:
        return self.period.start < dt.datetime.now(dt.UTC) < self.period.end

    @property
    def period_label(self) -> str:
        """'9 – 22 Nov 2026', with '(in progress, day 8 of 14)' for a period not yet over."""
        state = format.progress(self.period)
        return format.period(self.period, self.config.default_time_zone) + (f" ({state})" if state else "")


def start(title: str, purpose: str, with_service: bool = False, with_period: bool = True) -> Scope | None:
    """Title and filters; None (after an empty-state message) when there is nothing to show."""
    st.title(title)
    st.caption(purpose)
    st.html(TILE_STYLE)  # once a page, not once a row of tiles (the Advisor had thirty)
    st.session_state["_stale_noted"] = False
    config = data.config()
    known = data.read(["teams", "services"])
    teams = known["teams"]["team"].tolist()
    if not teams:
        empty_database()
        return None
    team = filters.team(teams)
    period = filters.period(config) if with_period else filters.sprint_containing(config, filters.today())
    service = None
    if with_service:
        services = known["services"]
        if team:
            services = services[services["team"] == team]
        service = filters.service(sorted(set(services["service"])))
    is_sprint = not with_period or st.session_state.get("filter_mode") != "Dates"
    return Scope(config, teams, team, period, service, is_sprint)


def scope_line(scope: Scope) -> None:
    """One line under the title: whose alerts, which period, and whether it is still running."""
    parts = [format.inert(scope.who), scope.period_label]
    if scope.service:
        parts.insert(1, format.inert(scope.service))
    st.caption(" · ".join(parts))
    if scope.in_progress:
        st.info(
            "This sprint is still in progress: its figures so far are compared with the same number of days "
            "of the sprint before, and it is left out of trends.", icon=":material/hourglass_top:"
        )


def empty_database() -> None:
    st.info(
        "No alerts in this database yet. Load some history first: "
        "`python -m ingest demo --db data/demo.duckdb` for a demo, or a provider sync "
        "(see the README and the Data page), then reload this page.",
        icon=":material/inbox:",
    )


def nothing_in_period(scope: Scope, what: str = "alerts") -> None:
    st.info(
        f"No {what} for {format.inert(scope.who)} in {scope.period_label}. "
        "Pick another period or team in the sidebar.",
        icon=":material/event_busy:",
    )


# A tile is never narrower than its figure: the row wraps instead of cutting "1 h 35 min" to "1 h…".
TILE_STYLE = ("<style>[class*='st-key-tiles_'] [data-testid='stMetric'] {min-width: max-content}"
              " [class*='st-key-tiles_'] > [data-testid='stLayoutWrapper'] {min-width: min-content !important}</style>")


def tile_row(count: int, key: str) -> list:
    """Places for `count` figure tiles side by side, wrapping onto more rows in a narrow window (never cut off);
    the page's style (drawn by start()) keeps them so."""
    row = st.container(horizontal=True, key=f"tiles_{key}")
    return [row.container(width="stretch") for _ in range(count)]


def table(frame: pd.DataFrame, columns: dict, **options) -> None:
    """A read-only table showing exactly `columns` (name → column config), missing cells as a dash."""
    st.dataframe(frame, column_order=list(columns), column_config=columns, hide_index=True, width="stretch",
                 placeholder=format.MISSING, **options)


def download_csv(frame: pd.DataFrame, file_name: str, label: str = "Download CSV", key: str | None = None) -> None:
    st.download_button(
        label, spreadsheet.to_csv(frame), file_name=file_name, mime="text/csv",
        key=key or f"csv_{file_name}", icon=":material/download:", on_click="ignore",
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


def local_times(frame: pd.DataFrame, columns: list[str], scope: Scope) -> pd.DataFrame:
    """Timestamp columns shown in the configured zone as '9 Nov 2026 14:05' (sorting stays right)."""
    zone = scope.config.default_time_zone
    return frame.assign(**{c: pd.to_datetime(frame[c], utc=True).dt.tz_convert(zone) for c in columns if c in frame})


MOMENT = "D MMM YYYY HH:mm"
DAY = "D MMM YYYY"


STATUS_COLOURS = {"met": "green", "on track": "green", "missed": "red", "off track": "orange"}


def target_line(name: str, value, target: Target | None, elapsed: float = 1.0) -> str | None:
    """'Target: at most 4 · met' (coloured) under a figure, when the team has a target for it."""
    if target is None:
        return None
    line = f"Target: at most {format.figure(name, target.value)}"
    verdict = status(target, None if format.missing(value) else value, elapsed)
    return line + (f" · :{STATUS_COLOURS[verdict]}[{verdict}]" if verdict else "")

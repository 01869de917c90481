"""Data: where the numbers come from — sources, last syncs, quarantined records, the database."""

from __future__ import annotations

import re

import streamlit as st

import store
from metrics import catalog
from views import data, database, page

ADD_A_PROVIDER = """
**Adding a provider.** Put its token in the environment and run a sync into the database this
app reads, for example:

```sh
export PAGERDUTY_TOKEN=…        # a read-only API key
python -m ingest sync --source pagerduty --since 2026-06-01
python -m ingest status
```

The README has one section per provider (PagerDuty, Opsgenie, Jira Service Management Operations,
Grafana OnCall, Alertmanager, CSV exports). Run the sync from cron every few minutes; the app picks
the new rows up on its own.
"""


_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~])")


def plain(text: object) -> str:
    """Text shown as it is: Markdown's characters escaped (a provider's message is never markup)."""
    return _MARKDOWN.sub(r"\\\1", str(text))


def render() -> None:
    st.title("Data")
    st.caption("Where the numbers come from.")
    db = database.current()
    st.markdown(f"**Database:** `{store.display_name(db.path)}`" + (" — the demo history" if db.is_demo else ""))
    known = data.read(["sources", "data_gaps", "quarantined"])
    sources = known["sources"].drop(columns="last_ingested_at")
    if sources.empty:
        st.info("Nothing loaded yet.", icon=":material/inbox:")
    else:
        page.table(sources.drop(columns=["last_error"]), {
            "source": st.column_config.TextColumn("Source", width=110),
            "last_sync": st.column_config.DatetimeColumn("Last sync (UTC)", format=page.MOMENT, timezone="UTC",
                                                         width=150),
            "last_status": st.column_config.TextColumn("Last run", width=90),
            "alerts": st.column_config.NumberColumn("Alerts", width=80),
            "open_alerts": st.column_config.NumberColumn("Open alerts", width=90),
            "quarantined": st.column_config.NumberColumn("Quarantined", width=100),
        })
        # A run's message in full (a refused list says what the key needs), not cut off in a cell.
        for source, message in sources.dropna(subset=["last_error"])[["source", "last_error"]].itertuples(index=False):
            message = str(message).removeprefix(f"{source}: ")
            st.warning(f"**{plain(source)}**, last run: {plain(message)}", icon=":material/error:")
    gaps = catalog.gap_lines(known["data_gaps"])
    if gaps:
        st.subheader("Read in part")
        st.caption("Loaded, but with something the provider sent that the figures cannot use in full.")
        for gap in gaps:
            st.warning(plain(gap), icon=":material/report:")
    st.subheader("Quarantined records")
    st.caption("Records that could not be mapped, kept as received with the reason. Nothing is dropped.")
    bad = known["quarantined"]
    if bad.empty:
        st.success("No quarantined records.", icon=":material/check_circle:")
    else:
        page.table(bad, {
            "quarantined_at": st.column_config.DatetimeColumn("When (UTC)", format=page.MOMENT, timezone="UTC",
                                                              width=150),
            "source": st.column_config.TextColumn("Source", width=100),
            "stream": st.column_config.TextColumn("Stream", width=100),
            "reason": st.column_config.TextColumn("Reason", width=260),
            "raw": st.column_config.TextColumn("Record as received", width=300),
        })
    st.markdown(ADD_A_PROVIDER)


render()

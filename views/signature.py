"""One signature up close, shared by the noisy-alerts and retro pages: firings, pages, verdicts so far."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

import metrics
from views import charts, data, format, page, page_charts

BUCKETS = {"business": "Business", "off": "Off hours", "sleep": "Sleep"}
TIMELINE_ALERTS = 500  # the firings drawn and listed for one signature at a time (a loud one has thousands)


def picker(ranked: pd.DataFrame, key: str, label: str = "Signature", preferred: str | None = None) -> str:
    """A select box over the ranked signatures, by title; `?signature=` and `preferred` pick the first shown."""
    options = ranked["signature"].tolist()
    titles = dict(zip(ranked["signature"], ranked["title"], strict=True))
    wanted = preferred or st.query_params.get("signature")
    index = options.index(wanted) if wanted in options else 0
    chosen = st.selectbox(label, options, index=index, key=key,
                          format_func=lambda s: f"{format.short(titles[s], 90)}  ·  {format.short(s, 60)}")
    st.query_params["signature"] = chosen
    return chosen


def summary(row: pd.Series) -> None:
    """What the figures say about it: diagnosis, the usual fix, and the verdict in force."""
    facts = [f"**{format.count(row['alerts'])}** alerts", f"**{format.share(row['noise_ratio'])}** noise",
             f"**{format.count(row['interruptions'])}** pages", f"**{format.count(row['sleep_interruptions'])}** "
             "wake-ups", f"MTTR **{format.duration(row['ttr_median_s'])}**"]
    st.markdown(" · ".join(facts))
    if not format.missing(row["diagnosis"]):
        st.markdown(f"Diagnosis: **{format.inert(row['diagnosis'])}**. Usual fix: "
                    f"{format.inert(row['suggested_fix'])}.")
    st.caption(f"Signature: {format.inert(row['signature'])}")


def firings_page(signature: str, alerts: int) -> int:
    """How many of its newest firings to skip: a choice of pages of TIMELINE_ALERTS when there are more."""
    alerts = int(alerts)
    if alerts <= TIMELINE_ALERTS:
        return 0
    starts = range(0, alerts, TIMELINE_ALERTS)

    def label(skip: int) -> str:
        last = min(skip + TIMELINE_ALERTS, alerts)
        which = " (newest)" if skip == 0 else " (oldest)" if last == alerts else ""
        return f"{skip + 1:,}–{last:,} of {alerts:,}{which}"

    return st.selectbox("Firings shown, newest first", starts, format_func=label, key=f"firings_{signature}",
                        help=f"A loud alert fires thousands of times: its firings come {TIMELINE_ALERTS} at a time.")


def detail(scope: page.Scope, signature: str, alerts: int) -> metrics.Figures:
    """One read for the drill-down: one page of its firings (of `alerts` in the period), pages and reviews."""
    newest = int(alerts) - firings_page(signature, alerts)  # the firings are read oldest first
    offset = max(newest - TIMELINE_ALERTS, 0)
    return data.read(["alert_list", "interruption_list", "signature_reviews"], scope.about(signature),
                     limit=newest - offset, offset=offset)


def timeline(figures: metrics.Figures, alerts: int) -> None:
    """When it fired: each firing as a bar from creation to resolution (the page of them chosen, if many)."""
    alerts_ = figures["alert_list"]
    if alerts_.empty:
        st.caption("No firings in this period.")
        return
    # An alert still open is drawn up to now, to the minute (so the drawn figure is kept a minute).
    now = pd.Timestamp(dt.datetime.now(dt.UTC)).floor("min")
    charts.draw(page_charts.firings_timeline, alerts_.assign(resolved_at=alerts_["resolved_at"].fillna(now)))
    if alerts > len(alerts_):
        st.caption(f"{len(alerts_):,} of its {int(alerts):,} firings in the period, as chosen above.")


def who_it_paged(pages: pd.DataFrame) -> None:
    st.markdown("**Who it paged**")
    if pages.empty:
        st.caption("Nobody was paged by it in this period.")
        return
    table = (pages.assign(bucket=pages["time_bucket"].map(BUCKETS))
             .pivot_table(index="person_name", columns="bucket", values="source_id", aggfunc="count", fill_value=0)
             .reindex(columns=list(BUCKETS.values()), fill_value=0).reset_index())
    table = table.assign(Total=table[list(BUCKETS.values())].sum(axis=1)).sort_values("Total", ascending=False)
    page.table(table, {"person_name": st.column_config.TextColumn("Person", width=150),
                       **{name: st.column_config.NumberColumn(name, width=72) for name in BUCKETS.values()},
                       "Total": st.column_config.NumberColumn("Total", width=60)})
    st.caption("Pages by the person's local time of day: business hours, off hours, sleep hours (22:00–08:00).")


def verdict_history(figures: metrics.Figures, scope: page.Scope) -> None:
    """Every verdict and note given on it so far, newest first."""
    st.markdown("**Verdicts and notes so far**")
    history = figures["signature_reviews"]
    if history.empty:
        st.caption("Not reviewed yet.")
        return
    zone = scope.config.default_time_zone
    lines = []
    for review in history.head(8).itertuples():
        note = "" if format.missing(review.note) else f" “{format.inert(review.note)}”"
        who = "not named" if format.missing(review.reviewer) else format.inert(review.reviewer)
        lines.append(f"- **{format.verdict(review.verdict)}**{note} — {who}, {format.day(review.reviewed_at, zone)}; "
                     f"{_applies_to(review, zone)}")
    st.markdown("\n".join(lines))
    if len(history) > 8:
        st.caption(f"and {len(history) - 8} earlier.")


def _applies_to(review, zone: str) -> str:
    if not format.missing(review.alert_source_id):
        return "one alert"
    if format.missing(review.period_start):
        return "alerts from then on"
    span = metrics.Period(review.period_start.to_pydatetime(), review.period_end.to_pydatetime())
    return f"alerts from {format.period(span, zone)} on"

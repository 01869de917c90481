"""Sprint retro: decide on each noisy alert in the queue, look closer, name owners, take the report away."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import metrics
import store
from metrics import fix_effect, report
from metrics.fix_effect import effect_text, how_fixed
from views import charts, data, format, identity, page, page_charts, signature

VERDICTS = list(format.VERDICTS)
VERDICT_HELP = {
    "actionable": "someone had to act, and did",
    "noise": "nobody needed to act: delete it or demote it to a ticket",
    "needs-tuning": "real signal, wrong threshold or timing",
    "duplicate": "another alert already says this",
}
THIS_RETRO = "this retro"


# What the page shows, read in one call; once the report is asked for, the report's names (a superset).
PAGE_NAMES = ("noisy", "retro_decisions", "repeat_offenders", "follow_through", "fix_effect", "fix_tickets")


def names() -> tuple[str, ...]:
    """What the page reads in its one call: with the report's figures once the report is asked for."""
    return tuple(dict.fromkeys((*PAGE_NAMES, *report.DOCUMENT_NAMES))) if st.session_state.get("report_ready") \
        else PAGE_NAMES


# --- saving ------------------------------------------------------------------------------------


def _period(scope: page.Scope) -> tuple:
    return (scope.period.start, scope.period.end)


def _save(rows: list[dict], what: str) -> None:
    """Write reviews, then say so at once (a toast) and whether they carry a name."""
    try:
        store.retro.save_reviews(data.db_path(), rows)
    except store.DatabaseBusy:
        st.toast("Not saved: a sync is writing to the database. Try again in a moment.", icon=":material/error:")
        return
    who = rows[0]["reviewer"] if rows else None
    st.toast(f"Saved {what}" + ("" if who else " (not named: add your name in the sidebar)"),
             icon=":material/check:")


def _queue_edited(key: str, scope: page.Scope) -> None:
    """Save each row whose verdict or note changed in the queue (the grid's edits since it was drawn).

    A verdict shown from an earlier retro becomes this retro's decision once its note is written or
    its verdict changed; its old note is not carried over. Picking the verdict a row already shows
    sends no edit at all: the bulk bar's "Confirm" keeps earlier verdicts for this period.
    """
    shown = st.session_state.get("_queue_rows", {})
    changed, reviewer = [], identity.reviewer()
    for index, edit in st.session_state[key]["edited_rows"].items():
        before = shown.get(int(index))
        if before is None or not ({"verdict", "note"} & set(edit)):
            continue
        old_note = before["note"] if before["this_retro"] else None
        verdict = edit.get("verdict", before["verdict"])
        note = (edit.get("note", old_note) or "").strip() or None
        if before["this_retro"] and (verdict, note) == (before["verdict"], before["note"]):
            continue
        if verdict is None:
            st.toast(f"Pick a verdict for “{format.short(before['title'])}” to save its note.", icon=":material/info:")
            continue
        changed.append(before | {"verdict": verdict, "note": note})
        before.update(verdict=verdict, note=note, this_retro=True)  # a second edit compares with this one
    if not changed:
        return
    rows = [store.retro.review_row(c["signature"], c["verdict"], note=c["note"], reviewer=reviewer,
                                   period=_period(scope)) for c in changed]
    first = changed[0]
    what = (f"“{format.short(first['title'])}”: {format.verdict(first['verdict']).lower()}"
            + (f", “{format.short(first['note'])}”" if first["note"] else "")
            if len(changed) == 1 else f"{len(changed)} verdicts")
    _save(rows, what)


def _bulk(scope: page.Scope, ticked: list[str]) -> None:
    verdict = st.session_state.get("bulk_verdict")
    _save_ticked(scope, {s: verdict for s in ticked}, f"{format.verdict(verdict).lower()} for {len(ticked)} signatures")


def _confirm(scope: page.Scope, earlier: dict[str, str]) -> None:
    """Make the verdicts shown from earlier retros (signature → verdict) this retro's decisions."""
    what = f"{len(earlier)} earlier verdict" + ("s" if len(earlier) > 1 else "") + " confirmed for this retro"
    _save_ticked(scope, earlier, what)


def _save_ticked(scope: page.Scope, verdicts: dict[str, str], what: str) -> None:
    note = (st.session_state.get("bulk_note") or "").strip() or None
    reviewer = identity.reviewer()
    rows = [store.retro.review_row(s, v, note=note, reviewer=reviewer, period=_period(scope))
            for s, v in verdicts.items()]
    _save(rows, what)
    st.session_state["queue_version"] = st.session_state.get("queue_version", 0) + 1  # clears the ticks
    st.session_state["bulk_note"] = ""


def _alert_edited(key: str, scope: page.Scope, signature_: str) -> None:
    shown = st.session_state.get("_alert_rows", {})
    rows, reviewer = [], identity.reviewer()
    for index, edit in st.session_state[key]["edited_rows"].items():
        before = shown.get(int(index))
        if before is None or "own_verdict" not in edit or edit["own_verdict"] in (None, before["own_verdict"]):
            continue
        rows.append(store.retro.review_row(signature_, edit["own_verdict"], reviewer=reviewer, period=_period(scope),
                                           alert=(before["source"], before["source_id"])))
        before["own_verdict"] = edit["own_verdict"]
    if rows:
        _save(rows, f"a verdict on {len(rows)} alert" + ("s" if len(rows) > 1 else ""))


def _owner_edited(key: str) -> None:
    shown = st.session_state.get("_action_rows", {})
    for index, edit in st.session_state[key]["edited_rows"].items():
        before = shown.get(int(index))
        if before is None or "owner" not in edit:
            continue
        owner = " ".join(str(edit["owner"] or "").split()) or None
        if owner != before["owner"]:
            store.retro.set_owner(data.db_path(), before["review_id"], owner)
            before["owner"] = owner
            st.toast(f"Saved: {owner or 'no owner'} for “{format.short(before['title'])}”.", icon=":material/check:")


# --- the page ----------------------------------------------------------------------------------


def progress(ranked: pd.DataFrame, decided: set[str]) -> None:
    """How far the retro is, and the period's alerts by verdict in force."""
    done = sum(s in decided for s in ranked["signature"])
    left, right = st.columns([2, 3], vertical_alignment="center")
    left.metric("Decided in this retro", f"{done} of {len(ranked)}", border=True,
                help="Signatures of the period given a verdict by someone looking at this period.")
    by_verdict = (ranked.assign(verdict=ranked["verdict"].map(format.verdict).replace(format.MISSING, "Not reviewed"))
                  .groupby("verdict", as_index=False)["alerts"].sum())
    right.markdown("**The period's alerts by the verdict on their signature**")  # wraps where a chart title is cut
    charts.draw(page_charts.verdict_bars, by_verdict, where=right)


def queue_frame(ranked: pd.DataFrame, decisions: pd.DataFrame, scope: page.Scope) -> pd.DataFrame:
    decided = set(decisions.loc[decisions["alert_source_id"].isna(), "signature"])
    given = [THIS_RETRO if s in decided else (format.MISSING if format.missing(at) else
             format.day(at, scope.config.default_time_zone))
             for s, at in zip(ranked["signature"], ranked["verdict_at"], strict=True)]
    return pd.DataFrame({
        "tick": False,
        "title": ranked["title"].fillna(ranked["signature"]),
        "alerts": ranked["alerts"],
        "noise": format.percent(ranked["noise_ratio"]),
        "wake_ups": ranked["sleep_interruptions"],
        "diagnosis": ranked["diagnosis"].fillna(format.MISSING),
        "verdict": ranked["verdict"].astype("string"),
        "note": ranked["verdict_note"].astype("string"),
        "given": given,
        "signature": ranked["signature"],
    })


def queue_columns(figures: metrics.Figures) -> dict:
    """The queue's columns, each figure with its definition (from the settings in force) as help."""
    return {
        "tick": st.column_config.CheckboxColumn("✓", width=36, help="Tick rows to mark several at once."),
        "title": st.column_config.TextColumn("Alert", width=200, pinned=True, disabled=True),
        "alerts": st.column_config.NumberColumn("Alerts", width=56, disabled=True, help=figures.describe("alerts")),
        "noise": st.column_config.ProgressColumn("Noise", width=76, min_value=0, max_value=100, format="%d%%",
                                                 help=figures.describe("noise_ratio")),
        "wake_ups": st.column_config.NumberColumn("Wake-ups", width=72, disabled=True,
                                                  help=figures.describe("sleep_interruptions")),
        "diagnosis": st.column_config.TextColumn("Diagnosis", width=140, disabled=True,
                                                 help="What the figures suggest; the usual fix is shown up close."),
        "verdict": st.column_config.SelectboxColumn("Verdict", width=112, options=VERDICTS, format_func=format.verdict,
                                                    help=" · ".join(f"{format.verdict(k)}: {v}" for k, v in
                                                                    VERDICT_HELP.items())),
        "note": st.column_config.TextColumn("Note", width=140, max_chars=500),
        "given": st.column_config.TextColumn("Given", width=82, disabled=True,
                                             help="When the verdict shown was given: in this retro, or the day of an "
                                                  "earlier one that still holds."),
    }


def review_queue(scope: page.Scope, figures: metrics.Figures) -> list[str]:
    """The queue, verdict and note editable in place; returns the ticked signatures."""
    st.subheader("Review queue")
    st.caption("Loudest first. Pick a verdict and write a note in the table: each change is saved at once, "
               "for this period and later alerts. Tick rows to mark several at once, or to confirm verdicts "
               "given in an earlier retro (their day is under Given).")
    frame = queue_frame(figures["noisy"], figures["retro_decisions"], scope)
    st.session_state["_queue_rows"] = {
        i: {"signature": r.signature, "title": r.title, "verdict": None if pd.isna(r.verdict) else r.verdict,
            "note": None if pd.isna(r.note) else r.note, "this_retro": r.given == THIS_RETRO}
        for i, r in enumerate(frame.itertuples())
    }
    key = f"queue_{st.session_state.get('queue_version', 0)}_{hash(tuple(frame['signature']))}"
    edited = st.data_editor(
        frame, key=key, column_order=list(columns := queue_columns(figures)), column_config=columns, hide_index=True,
        width="stretch", height=min(38 + 35 * len(frame), 38 + 35 * 16), placeholder=format.MISSING,
        disabled=["title", "alerts", "noise", "wake_ups", "diagnosis", "given", "signature"],
        on_change=_queue_edited, args=(key, scope),
    )
    return edited.loc[edited["tick"], "signature"].tolist()


def bulk_bar(scope: page.Scope, ticked: list[str]) -> None:
    if not ticked:
        return
    shown = {row["signature"]: row for row in st.session_state.get("_queue_rows", {}).values()}
    earlier = {s: shown[s]["verdict"] for s in ticked
               if s in shown and shown[s]["verdict"] and not shown[s]["this_retro"]}
    with st.container(border=True):
        st.markdown(f"**{len(ticked)} ticked.** Mark them all:")
        verdict, note, button = st.columns([2, 3, 2], vertical_alignment="bottom")
        verdict.selectbox("Verdict", VERDICTS, format_func=format.verdict, key="bulk_verdict")
        note.text_input("Note (optional)", key="bulk_note", max_chars=500)
        button.button(f"Mark {len(ticked)} ticked", type="primary", icon=":material/done_all:",
                      on_click=_bulk, args=(scope, ticked), key="bulk_apply")
        if earlier:
            st.caption(f"{len(earlier)} of them show a verdict from an earlier retro, which holds until changed. "
                       "Confirm keeps each one's verdict as this retro's decision (with the note above, if any).")
            st.button(f"Confirm {len(earlier)} earlier verdict" + ("s" if len(earlier) > 1 else ""),
                      icon=":material/task_alt:", on_click=_confirm, args=(scope, earlier), key="bulk_confirm")


def up_close(scope: page.Scope, ranked: pd.DataFrame, decisions: pd.DataFrame, ticked: list[str]) -> None:
    st.subheader("Up close")
    chosen = signature.picker(ranked, key="retro_signature", label="Alert", preferred=ticked[0] if ticked else None)
    signature.summary(ranked[ranked["signature"] == chosen].iloc[0])
    count = int(ranked.loc[ranked["signature"] == chosen, "alerts"].iloc[0])
    detail = signature.detail(scope, chosen, count)
    left, right = st.columns(2)
    with left:
        signature.timeline(detail, count)
        signature.who_it_paged(detail["interruption_list"])
    with right:
        signature.verdict_history(detail, scope)
        per_alert(scope, chosen, detail["alert_list"], decisions)


def per_alert(scope: page.Scope, signature_: str, alerts: pd.DataFrame, decisions: pd.DataFrame) -> None:
    """Each alert of the signature in the period, with a verdict of its own when it differs."""
    st.markdown("**Its alerts in this period**")
    if alerts.empty:
        st.caption("None.")
        return
    own = decisions[decisions["alert_source_id"].notna()].set_index(["alert_source", "alert_source_id"])["verdict"]
    frame = pd.DataFrame({
        "created_at": alerts["created_at"],
        "acknowledged": format.texts(alerts["tta_s"], format.duration),
        "resolved": format.texts(alerts["ttr_s"], format.duration),
        "own_verdict": [own.get((s, i)) for s, i in zip(alerts["source"], alerts["source_id"], strict=True)],
        "source": alerts["source"], "source_id": alerts["source_id"],
    }).sort_values("created_at", ascending=False).reset_index(drop=True)
    frame["own_verdict"] = frame["own_verdict"].astype("string")
    st.session_state["_alert_rows"] = {
        i: {"source": r.source, "source_id": r.source_id,
            "own_verdict": None if pd.isna(r.own_verdict) else r.own_verdict}
        for i, r in enumerate(frame.itertuples())
    }
    key = f"alerts_{hash((signature_, tuple(frame['source_id'])))}"
    st.data_editor(
        frame, key=key, hide_index=True, width="stretch", height=min(38 + 35 * len(frame), 38 + 35 * 8),
        column_order=["created_at", "acknowledged", "resolved", "own_verdict"], placeholder=format.MISSING,
        column_config={
            "created_at": st.column_config.DatetimeColumn("Fired", format=page.MOMENT, disabled=True, width=140,
                                                          timezone=scope.config.default_time_zone),
            "acknowledged": st.column_config.TextColumn("Acked after", disabled=True, width=86),
            "resolved": st.column_config.TextColumn("Resolved after", disabled=True, width=96),
            "own_verdict": st.column_config.SelectboxColumn(
                "Own verdict", options=VERDICTS, format_func=format.verdict, width=110,
                help="Overrides the signature's verdict for this one alert."),
        },
        disabled=["created_at", "acknowledged", "resolved"], on_change=_alert_edited, args=(key, scope, signature_),
    )


def action_items(figures: metrics.Figures) -> None:
    st.subheader("Action items")
    ranked, decisions = figures["noisy"], figures["retro_decisions"]
    signatures = decisions[decisions["alert_source_id"].isna()]
    offenders = set(figures["repeat_offenders"]["signature"])
    fixes = dict(zip(ranked["signature"], ranked["suggested_fix"], strict=True))
    actions = [metrics.reviews.action_for(r.verdict, None if pd.isna(fixes.get(r.signature)) else
                                          fixes.get(r.signature), r.signature in offenders)
               for r in signatures.itertuples()]
    frame = signatures.assign(action=actions).dropna(subset=["action"]).reset_index(drop=True)
    if frame.empty:
        st.caption("No verdict of this retro calls for an action yet: noise, needs-tuning and duplicate verdicts "
                   "do, and actionable alerts that fire every sprint.")
        return
    st.caption("What the verdicts of this retro call for. Name an owner for each; the report lists them.")
    st.session_state["_action_rows"] = {
        i: {"review_id": r.review_id, "title": r.title, "owner": None if pd.isna(r.owner) else r.owner}
        for i, r in enumerate(frame.itertuples())
    }
    key = f"owners_{hash(tuple(frame['review_id']))}"
    st.data_editor(
        frame.assign(owner=frame["owner"].astype("string")), key=key, hide_index=True, width="stretch",
        column_order=["action", "title", "owner"], placeholder=format.MISSING,
        column_config={"action": st.column_config.TextColumn("Action", width="large", disabled=True),
                       "title": st.column_config.TextColumn("Alert", width="medium", disabled=True),
                       "owner": st.column_config.TextColumn("Owner", width="small", max_chars=80)},
        on_change=_owner_edited, args=(key,),
    )


def still_firing(scope: page.Scope, figures: metrics.Figures) -> None:
    st.subheader("Reviewed, and still firing")
    st.caption(format.sentence(figures.describe("follow_through")) + ".")
    follow = figures["follow_through"]
    firing = follow[follow["status"] == "still firing"].reset_index(drop=True)
    if firing.empty:
        st.success("Every signature reviewed as noise or needs tuning has gone quiet.", icon=":material/check_circle:")
        return
    zone = scope.config.default_time_zone
    tickets = ticket_of(figures["fix_tickets"])
    page.table(firing.assign(verdict=firing["verdict"].map(format.verdict), reviewer=firing["reviewer"].fillna(
        "not named"), ticket=[tickets.get(s, format.MISSING) for s in firing["signature"]]), {
        "title": st.column_config.TextColumn("Alert", width=190),
        "verdict": st.column_config.TextColumn("Verdict", width=96),
        "reviewed_at": st.column_config.DatetimeColumn("Reviewed", format=page.DAY, timezone=zone, width=96),
        "alerts_since": st.column_config.NumberColumn("Alerts since", width=84),
        "last_alert_at": st.column_config.DatetimeColumn("Last alert", format=page.MOMENT, timezone=zone, width=130),
        "sprints_open": st.column_config.NumberColumn("Sprints open", width=90),
        "ticket": st.column_config.TextColumn("Ticket", width=130,
                                              help="As the last `python -m metrics tickets` read it back."),
        "note": st.column_config.TextColumn("Note", width=110),
    })


def ticket_of(tickets: pd.DataFrame) -> dict[str, str]:
    """Each signature's ticket as 'OPS-7 · In Progress' (the newest sync first)."""
    latest = tickets.drop_duplicates("signature")
    return {row.signature: f"{row.ticket_key} · {row.status}" for row in latest.itertuples(index=False)}


def _days(days: float) -> str:
    return f"{days:.0f} d" if days >= 0.5 else "< 1 d"


def fix_results(scope: page.Scope, figures: metrics.Figures) -> None:
    """Did the fix work: the fixes whose 28 days after reach into this period, latest per signature."""
    st.subheader("Did the fix work")
    st.caption(format.sentence(figures.describe("fix_effect")) + ".")
    board = fix_effect.board(figures["fix_effect"], figures["fix_tickets"], outer=False)
    if board.empty:
        st.info("No fix was made in the 28 days before or during this period: a verdict of noise or needs tuning, "
                "a fix marked done in the planner, or its ticket closed, starts one.", icon=":material/inbox:")
        return
    pairs = zip(board["alerts_before"], board["days_before"], board["alerts_after"], board["days_after"], strict=True)
    counts = [f"{format.count(b)} in {_days(db)} → {format.count(a)} in {_days(da)}" for b, db, a, da in pairs]
    zone = scope.config.default_time_zone
    fixes = zip(board["fixed_by"], board["detail"], board["fixed_at"], strict=True)
    tickets = [f"{key} · {status}" if isinstance(key, str) else format.MISSING
               for key, status in zip(board["ticket_key"], board["ticket_status"], strict=True)]
    page.table(board.assign(
        effect_shown=[effect_text(e, lo, hi) for e, lo, hi in zip(board["effect"], board["low"], board["high"],
                                                                 strict=True)],
        how=[f"{how_fixed(by, detail)}, {format.short_day(at, zone)}" for by, detail, at in fixes],
        counts=counts, ticket=tickets,
    ), {
        "title": st.column_config.TextColumn("Alert", width=170),
        "verdict": st.column_config.TextColumn("Did it work", width=104),
        "effect_shown": st.column_config.TextColumn("Rate after / before", width=150,
                                                    help=format.sentence(figures.describe("fix_effect")) + "."),
        "counts": st.column_config.TextColumn("Alerts before → after", width=150,
                                              help="Alerts in the days before the fix (up to 28), and in the days "
                                                   "since (up to 28)."),
        "how": st.column_config.TextColumn("Fix", width=190,
                                           help="What counts as the fix, and its day: a review of noise or needs "
                                                "tuning, a fix marked done in the planner, a ticket closed as done."),
        "ticket": st.column_config.TextColumn("Ticket", width=160),
    })


def downloads(scope: page.Scope, figures: metrics.Figures) -> None:
    st.subheader("Take it away")
    st.caption("The report leads with the headline and this retro's decisions; the Markdown pastes into GitHub, "
               "Confluence and Jira as it is, the HTML prints on A4.")
    page.download_csv(figures["noisy"], f"sprint-data-{page.slug(scope)}.csv", "Sprint data (CSV)", key="report_csv")
    if not st.toggle("Prepare the sprint report", key="report_ready",
                     help="Builds the report from the decisions saved so far; it follows each later change."):
        return
    if not set(report.DOCUMENT_NAMES) <= set(figures):  # asked for just now: the page's read had less
        figures = data.read(names(), scope.about(), since=scope.period.start)
    document = report.document(data.db_path(), scope.about(), figures)
    name = f"sprint-report-{page.slug(scope)}"
    md, html, js = st.columns(3)
    markdown = report.render_markdown(document)
    md.download_button("Report (Markdown)", markdown, file_name=f"{name}.md", mime="text/markdown",
                       icon=":material/description:", key="report_md", on_click="ignore")
    html.download_button("Report (HTML)", report.render_html(document), file_name=f"{name}.html",
                         mime="text/html", icon=":material/html:", key="report_html", on_click="ignore")
    js.download_button("Report (JSON)", report.render_json(document), file_name=f"{name}.json",
                       mime="application/json", icon=":material/data_object:", key="report_json", on_click="ignore")
    with st.expander("Read it here, or copy its Markdown"):
        st.code(markdown, language="markdown", wrap_lines=True)


def render() -> None:
    scope = page.start("Sprint retro", "Walk the period's noisy alerts, decide on each, and take the report away.")
    if scope is None:
        return
    identity.name_input()
    page.scope_line(scope)
    figures = data.read(names(), scope.about(), since=scope.period.start)
    ranked, decisions = figures["noisy"], figures["retro_decisions"]
    if ranked.empty:
        page.nothing_in_period(scope)
        still_firing(scope, figures)
        fix_results(scope, figures)
        return
    progress(ranked, set(decisions.loc[decisions["alert_source_id"].isna(), "signature"]))
    identity.unnamed_warning()
    ticked = review_queue(scope, figures)
    bulk_bar(scope, ticked)
    up_close(scope, ranked, decisions, ticked)
    action_items(figures)
    still_firing(scope, figures)
    fix_results(scope, figures)
    downloads(scope, figures)


render()

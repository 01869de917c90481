"""Fix planner: what each noisy alert costs, what an alert fix or a cause fix would save, and its payback."""

from __future__ import annotations

import pandas as pd
import streamlit as st

import metrics
import store
from metrics import backlog
from metrics.cost import saving_window
from views import charts, data, filters, format, identity, page, page_charts, tickets

KIND_LABELS = {"alert": "Alert fix", "cause": "Cause fix"}


def _payback_bucket(sprints: float) -> str:
    if format.missing(sprints):
        return "no estimate yet"
    return "within 1 sprint" if sprints <= 1 else ("within 3 sprints" if sprints <= 3 else "later")


def _payback_text(row) -> str:
    if row.projected_saving_h <= 0:
        return "nothing to save"
    return "no estimate yet" if format.missing(row.payback_sprints) else format.sprints(row.payback_sprints)


def _estimated_by(row, zone: str) -> str:
    if format.missing(row.estimate_h):
        return format.MISSING
    who = "not named" if format.missing(row.estimated_by) else row.estimated_by
    return f"{who}, {format.short_day(row.estimated_at, zone)}"


def chart(plan: pd.DataFrame) -> None:
    top = plan[plan["projected_saving_h"] > 0].sort_values("projected_saving_h", ascending=False).head(15)
    if top.empty:
        return
    # The title as text above the chart: it wraps in a narrow window, where a chart's own title is cut off.
    st.markdown("**What each fix would save per sprint** (colour: how soon it pays back)")
    what = [f"{format.short(t, 48)} ({KIND_LABELS[k].lower()})"
            for t, k in zip(top["title"], top["fix_kind"], strict=True)]
    top = format.ranked_labels(top.assign(what=what), "what")
    charts.draw(page_charts.saving_bars, pd.DataFrame({
        "label": top["label"], "projected_saving_h": top["projected_saving_h"],
        "payback": top["payback_sprints"].map(_payback_bucket)}))


def fix_columns(plan: pd.DataFrame, board: pd.DataFrame) -> pd.Series:
    """Each row's latest fix: did it work (its rate after / before and interval are on the retro); None where
    there is none. The tickets are listed below the table."""
    worked = board.dropna(subset=["verdict"]).set_index("signature")["verdict"] if not board.empty else {}
    return pd.Series([worked.get(s) for s in plan["signature"]], dtype="string")


def plan_frame(plan: pd.DataFrame, scope: page.Scope, board: pd.DataFrame) -> pd.DataFrame:
    zone = scope.config.default_time_zone
    fixes = fix_columns(plan, board)
    return pd.DataFrame({
        "title": plan["title"].fillna(plan["signature"]),
        "fix": plan["fix_kind"].map(KIND_LABELS),
        "verdict": plan["verdict"].map(format.verdict),
        "saving": plan["projected_saving_h"].round(1),
        "estimate": plan["estimate_h"].astype("Float64"),
        "payback": [_payback_text(r) for r in plan.itertuples()],
        "note": plan["estimate_note"].astype("string"),
        "by": [_estimated_by(r, zone) for r in plan.itertuples()],
        "worked": fixes.to_numpy(),
        "team": plan["team"],
        "signature": plan["signature"], "fix_kind": plan["fix_kind"],
    })


PLAN_COLUMNS = {
    "title": st.column_config.TextColumn("Alert", width=140, pinned=True, disabled=True),
    "fix": st.column_config.TextColumn("Fix", width=72, disabled=True, help=format.sentence(
        "alert fix: tune, hold down, group or delete it; cause fix: repair what keeps it firing")),
    "verdict": st.column_config.TextColumn("Verdict", width=92, disabled=True,
                                           help="The verdict in force now; an actionable alert saves nothing as "
                                                "an alert fix."),
    "saving": st.column_config.NumberColumn("Saving / sprint", width=96, format="%.1f h", disabled=True,
                                            help=format.sentence(data.describe("projected_saving")) + "."),
    "estimate": st.column_config.NumberColumn("Estimate", width=84, format="%.1f h", min_value=0.0,
                                              max_value=10_000.0, step=0.5, help="Hours the fix would take. Type "
                                              "to enter or change it; saved at once with your name."),
    "payback": st.column_config.TextColumn("Payback", width=104, disabled=True,
                                           help=format.sentence(data.describe("payback")) + "."),
    "worked": st.column_config.TextColumn("Did the fix work", width=112, disabled=True,
                                          help=format.sentence(data.describe("fix_effect")) + ". The rate after / "
                                               "before with its interval is on the retro."),
    "note": st.column_config.TextColumn("Note", width=80, max_chars=500,
                                        help="What the estimate assumes; type to enter or change it."),
    "by": st.column_config.TextColumn("Estimated by", width=150, disabled=True),
}


def _plan_edited(key: str) -> None:
    shown = st.session_state.get("_plan_rows", {})
    who = identity.reviewer()
    for index, edit in st.session_state[key]["edited_rows"].items():
        before = shown.get(int(index))
        if before is None or not ({"estimate", "note"} & set(edit)):
            continue
        hours = edit.get("estimate", before["estimate"])
        note = (edit.get("note", before["note"]) or "").strip() or None
        if (hours, note) == (before["estimate"], before["note"]):
            continue
        if hours is None:
            st.toast(f"Enter hours for “{format.short(before['title'])}” to save its note.", icon=":material/info:")
            continue
        store.retro.save_fix_estimate(data.db_path(), before["signature"], float(hours), note=note,
                                      estimated_by=who, fix_kind=before["fix_kind"])
        before.update(estimate=hours, note=note)
        st.toast(f"Saved: {hours:g} h for the {KIND_LABELS[before['fix_kind']].lower()} of "
                 f"“{format.short(before['title'])}”" + ("" if who else " (not named: add your name in the sidebar)"),
                 icon=":material/check:")


def plan_table(scope: page.Scope, plan: pd.DataFrame, board: pd.DataFrame) -> None:
    frame = plan_frame(plan, scope, board)
    st.session_state["_plan_rows"] = {
        i: {"signature": r.signature, "fix_kind": r.fix_kind, "title": r.title,
            "estimate": None if pd.isna(r.estimate) else float(r.estimate),
            "note": None if pd.isna(r.note) else r.note}
        for i, r in enumerate(frame.itertuples())
    }
    columns = dict(PLAN_COLUMNS)
    if not scope.team:
        columns = {**{k: v for k, v in columns.items() if k != "verdict"},
                   "team": st.column_config.TextColumn("Team", width=92, disabled=True)}
    key = f"plan_{hash(tuple(zip(frame['signature'], frame['fix_kind'], strict=True)))}"
    st.data_editor(frame, key=key, column_order=list(columns), column_config=columns, hide_index=True,
                   width="stretch", height=min(38 + 35 * len(frame), 38 + 35 * 15), placeholder=format.MISSING,
                   disabled=[c for c in frame.columns if c not in ("estimate", "note")],
                   on_change=_plan_edited, args=(key,))


def backlog_downloads(scope: page.Scope, plan: pd.DataFrame, window: str) -> None:
    worth = plan[plan["projected_saving_h"] > 0]
    st.subheader("Take it to the backlog")
    if worth.empty:
        st.caption("No fix would save anything yet.")
        return
    st.caption(f"The {len(worth)} fixes that would save hours, ranked as above. Each issue says what the alert is, its "
               "diagnosis, the suggested fix, the saving, the estimate and a link back here. The Jira file imports "
               "with Jira's CSV importer as it is (estimates in seconds, one Labels column per label); the GitHub "
               "file has one issue per row for `gh issue create --title … --body … --label …`.")
    if not st.toggle("Prepare the backlog files", key="backlog_ready"):
        return
    over = metrics.Scope(saving_window(scope.config, filters.today()), scope.team)
    noisy = data.read(["noisy"], over)["noisy"]
    worth = worth.merge(noisy[["signature", "diagnosis", "suggested_fix"]], on="signature", how="left")
    base, name = _app_url(), f"fix-backlog-{page.slug(scope)}"
    jira, github = st.columns(2)
    jira.download_button("Backlog for Jira (CSV)", backlog.jira_csv(worth, window, base),
                         file_name=f"{name}-jira.csv", mime="text/csv", icon=":material/download:",
                         key="backlog_jira", on_click="ignore")
    github.download_button("Backlog for GitHub issues (CSV)", backlog.github_csv(worth, window, base),
                           file_name=f"{name}-github.csv", mime="text/csv", icon=":material/download:",
                           key="backlog_github", on_click="ignore")


def _mark_done(titles: dict) -> None:
    """Store the submitted fix before the page is drawn again, so the table above shows it in this run."""
    signature, kind = st.session_state["done_signature"], st.session_state["done_kind"]
    who = identity.reviewer()
    store.retro.mark_fix_done(data.db_path(), signature, kind, note=st.session_state.get("done_note") or None,
                              done_by=who)
    st.session_state["_fix_marked"] = (
        f"Marked done: the {KIND_LABELS[kind].lower()} of “{format.short(titles[signature])}”; its effect "
        "shows in the table from now on" + ("" if who else " (not named: add your name in the sidebar)") + ".")


def mark_done_form(plan: pd.DataFrame) -> None:
    st.subheader("Mark a fix done")
    st.caption("From then on the fix's effect is measured. " + format.sentence(data.describe("fix_effect")) + ".")
    titles = dict(zip(plan["signature"], plan["title"].fillna(plan["signature"]), strict=True))
    with st.form("fix_done", clear_on_submit=True, border=True):
        st.selectbox("Alert", list(titles), key="done_signature", format_func=lambda s: f"{titles[s]}  ({s})")
        st.radio("Fix", list(KIND_LABELS), horizontal=True, key="done_kind", format_func=KIND_LABELS.get)
        st.text_input("What was done (optional)", key="done_note", max_chars=500)
        # Saved in the callback, before the run: one run instead of a run and a rerun.
        st.form_submit_button("Mark done", type="primary", icon=":material/task_alt:", on_click=_mark_done,
                              args=(titles,))
    if message := st.session_state.pop("_fix_marked", None):
        st.success(message, icon=":material/check:")


def _app_url() -> str | None:
    """The dashboard's own address as the reader reached it, for links back from the backlog."""
    url = st.context.url or ""
    return url.rsplit("/", 1)[0] if url.startswith(("http://", "https://")) else None


def render() -> None:
    scope = page.start(
        "Fix planner",
        "What each noisy alert costs per sprint, what a fix would save, and how soon the fix pays back.",
        with_period=False,
    )
    if scope is None:
        return
    identity.name_input()
    window_period = saving_window(scope.config, filters.today())
    window = f"the 3 finished sprints {format.period(window_period, scope.config.default_time_zone)}"
    st.caption(f"{format.inert(scope.who)} · savings averaged over {window}")
    st.markdown("**Alert fix** (tune, hold down, group or delete the alert): saves the hours its noise costs. "
                "**Cause fix** (repair what keeps it firing): offered for alerts reviewed *actionable* that fired in "
                "each of those sprints; saves all the hours they cost. An actionable alert's hours never count as "
                "an alert fix's saving.")
    plan = data.read(["fix_planner"], metrics.Scope(filters.sprint_containing(scope.config, filters.today()),
                                                    scope.team))["fix_planner"]
    if plan.empty:
        st.info("No alerts in the last three finished sprints, so nothing to weigh yet.", icon=":material/inbox:")
        return
    chart(plan)
    identity.unnamed_warning()
    show_all = st.toggle(f"Show the {int((plan['projected_saving_h'] <= 0).sum())} fixes that would save nothing",
                         key="plan_all")
    shown = plan if show_all else plan[(plan["projected_saving_h"] > 0) | plan["estimate_h"].notna()]
    st.caption("Ranked by payback, shortest first; fixes without an estimate follow, by saving. Type an estimate "
               "(hours) and a note in the table: each is saved at once with your name.")
    board = data.load(metrics.fix_board, team=scope.team)
    plan_table(scope, shown.reset_index(drop=True), board)
    backlog_downloads(scope, shown[shown["projected_saving_h"] > 0], window)
    tickets.known(board, plan)
    tickets.open_form(scope, shown.drop_duplicates("signature"))
    mark_done_form(shown.drop_duplicates("signature"))
    page.download_csv(plan, f"fix-planner-{page.slug(scope)}.csv", "All figures (CSV)", key="plan_csv")


render()

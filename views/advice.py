"""Advisor: changes to alerting the period's history supports, replayed first, with the patch to copy."""

from __future__ import annotations

import streamlit as st

import store
from advisor import output
from advisor import plan as advisor_plan
from advisor.durations import words
from advisor.yamlpatch import PatchError
from views import charts, data, format, identity, page, page_charts

CHARTED = 15  # suggestions in the chart; all of them are listed below it
SHOWN = 5  # suggestions drawn in full at a time: each is a dozen elements, and a browser drew 30 in over a second
KIND_HELP = {
    "hold_down": "Hold-down: alerts that clear by themselves within the hold-down never page; the others page "
    "that much later.",
    "keep_firing": "Hysteresis: an alert kept firing a while after it clears does not page again when it "
    "comes back within that while.",
    "group": "Grouping: alerts of one service that fire together page once per incident.",
    "inhibit": "Inhibition: an alert that comes with another, on the same labels, stays quiet while that "
    "one fires.",
}


def configuration(config) -> tuple[tuple[tuple[str, str], ...], tuple[str, str] | None]:
    """The rule files and Alertmanager configuration: uploaded here, else those alerthygiene.toml names."""
    with st.expander("Your Prometheus rules and Alertmanager configuration, for a patch", icon=":material/tune:"):
        st.caption("With them, each change comes as a patch to your own files, checked with promtool and "
                   "amtool. They are read here, never stored. Set `[advice] rules` and `alertmanager_config` in "
                   "alerthygiene.toml to have them read every time.")  # fmt: skip
        uploaded_rules = st.file_uploader("Prometheus rule files", type=["yml", "yaml"], accept_multiple_files=True,
                                          key="advisor_rules")  # fmt: skip
        uploaded_am = st.file_uploader("Alertmanager configuration", type=["yml", "yaml"], key="advisor_am")
    try:
        rule_files, am_file = advisor_plan.configured_files(config)  # read each time: the files may change
    except PatchError as exc:
        st.error(f"Could not read the configuration alerthygiene.toml names: {exc}", icon=":material/error:")
        rule_files, am_file = (), None
    if uploaded_rules:
        rule_files = tuple((f.name, _text(f)) for f in uploaded_rules)
    if uploaded_am is not None:
        am_file = (uploaded_am.name, _text(uploaded_am))
    return rule_files, am_file


def _text(uploaded) -> str:
    try:
        return uploaded.getvalue().decode("utf-8")
    except UnicodeDecodeError:
        st.error(f"{uploaded.name} is not UTF-8 text.", icon=":material/error:")
        st.stop()


def chart(suggestions) -> None:
    which = "each change" if len(suggestions) <= CHARTED else f"each of the first {CHARTED} changes"
    suggestions = suggestions[:CHARTED]
    labels = [f"{i}. {format.plotly_text(format.short(s.title, 50))}" for i, s in enumerate(suggestions, start=1)][::-1]
    before = [s.pages_before for s in suggestions][::-1]
    after = [s.pages_after for s in suggestions][::-1]
    # The title as text above the chart: it wraps in a narrow window, where a chart's own title is cut off.
    st.markdown(f"**Pages {which} would have left**, replayed over the period")
    charts.draw(page_charts.replay_bars, labels, before, after)


def review_notes(scope: page.Scope, suggestions) -> set[tuple[str, str]]:
    """(signature, note) of every note in the review on the suggestions' signatures: one read for the
    page, not one per signature (a page of a hundred suggestions took seconds that way)."""
    signatures = sorted({s for suggestion in suggestions for s in suggestion.signatures})
    rows = data.read(["review_notes"], scope.about(), signatures=signatures).table("review_notes")
    return set(zip(rows["signature"].to_pylist(), rows["note"].to_pylist(), strict=True))


def in_review(noted: set[tuple[str, str]], signatures: list[str], note: str) -> bool:
    """Whether every signature already has this suggestion in the review."""
    return all((signature, note) in noted for signature in signatures)


def _accepted(scope: page.Scope, suggestion, note: str) -> None:
    """Save the suggestion into the review before the page is drawn again (one run, not a run and a rerun)."""
    reviewer = identity.reviewer()  # the signed-in user, else the name this browser gave; None: unnamed
    for signature in suggestion.signatures:
        store.retro.save_review(data.db_path(), signature, "needs-tuning", note=note, reviewer=reviewer,
                                period=(scope.period.start, scope.period.end))  # fmt: skip
    st.session_state["advice_accepted"] = f"Accepted into the review: {suggestion.title}." + (
        "" if reviewer else " Saved without a name: add yours in the sidebar.")


def accept(scope: page.Scope, number: int, suggestion, note: str, noted: set[tuple[str, str]]) -> None:
    if in_review(noted, suggestion.signatures, note):
        st.caption("In the review as needs-tuning, with this change as its note.")
        return
    st.button("Accept into the review (needs-tuning, this change as the note)", key=f"accept_{number}",
              icon=":material/playlist_add_check:", on_click=_accepted, args=(scope, suggestion, note))


def shown_from(suggestions, noted: set[tuple[str, str]]) -> int:
    """The index of the first suggestion drawn in full: a choice of pages of SHOWN when there are more."""
    if len(suggestions) <= SHOWN:
        return 0
    accepted = [in_review(noted, s.signatures, review_note(s)) for s in suggestions]

    def label(start: int) -> str:
        done = sum(accepted[start:start + SHOWN])
        return (span(start, len(suggestions)) + (" (most pages saved)" if start == 0 else "")
                + (f" · {done} in the review" if done else ""))

    return st.selectbox("Suggestions shown in full", range(0, len(suggestions), SHOWN), format_func=label,
                        key=pager_key(len(suggestions)),
                        help=f"Each change comes with its evidence, replay and patch, {SHOWN} at a time, ranked "
                             "as in the chart.")  # fmt: skip


def span(start: int, count: int) -> str:
    """'6–10 of 32' for the page of suggestions from index `start` ('31 of 31' for one alone)."""
    last = min(start + SHOWN, count)
    return (f"{start + 1}–{last}" if last > start + 1 else f"{last}") + f" of {count}"


def pager_key(count: int) -> str:
    return f"advice_page_{count}"  # by count: another period's list starts again at its first page


def next_ones(count: int, first: int) -> None:
    """Under the last suggestion shown, the way on to the next ones (the choice above, without scrolling back)."""
    if first + SHOWN < count:
        st.button(f"Next: {span(first + SHOWN, count)}", icon=":material/arrow_downward:", key="advice_next",
                  on_click=st.session_state.__setitem__, args=(pager_key(count), first + SHOWN))


def review_note(suggestion) -> str:
    """What the review keeps: the patch (secret settings masked), else the settings to change, with the
    replay's figures."""
    head = f"{suggestion.title}: {suggestion.pages_before} → {suggestion.pages_after} pages (advisor)."
    return output.masked(f"{head}\n{suggestion.patch or suggestion.provider_text or suggestion.evidence}")


def delay_of(suggestion) -> tuple[str, str, float]:
    """(what is delayed, by how much each, in all): pages for a hold-down or grouping, resolves for hysteresis."""
    if suggestion.kind == "keep_firing":
        return "Resolves delayed by", words(suggestion.figures["keep_firing_s"]), suggestion.resolve_delay_s
    each = suggestion.figures.get("hold_s") or suggestion.figures.get("group_wait_added_s") or 0
    # A hold-down whose every alert clears within it delays nothing: it hides them all.
    return "Pages delayed by", words(each) if each and suggestion.delay_added_s else "none", suggestion.delay_added_s


def one(scope: page.Scope, number: int, suggestion, noted: set[tuple[str, str]]) -> None:
    with st.container(border=True):
        if suggestion.warning:
            st.warning(format.inert(suggestion.warning), icon=":material/warning:")
        st.subheader(f"{number}. {format.inert(suggestion.title)}", anchor=False)
        left, middle, right = page.tile_row(3, f"suggestion_{number}")
        left.metric("Pages", f"{suggestion.pages_before} → {suggestion.pages_after}",
                    delta=f"-{suggestion.pages_saved} pages", delta_color="inverse", border=True,
                    help="Pages in the period, and with the change, replayed over the same alerts.")  # fmt: skip
        middle.metric("Attended pages hidden", format.count(suggestion.attended_hidden), border=True,
                      help="Of the pages it removes, those someone acknowledged or marked actionable.")  # fmt: skip
        what, each, total = delay_of(suggestion)
        right.metric(what, each, border=True, help=f"{format.duration(total)} in all over the period." if total
                     else "Nothing is sent later.")  # fmt: skip
        st.markdown(format.inert(suggestion.evidence))
        st.caption(KIND_HELP[suggestion.kind])
        if suggestion.patch:
            shown = output.masked(suggestion.patch)
            st.code(shown, language="diff", wrap_lines=True)
            if shown != suggestion.patch:
                st.caption("Secret settings in the lines around the change are masked here; the whole patch "
                           "below is exact.")  # fmt: skip
        elif suggestion.provider_text:
            st.info(format.inert(suggestion.provider_text), icon=":material/settings:")
        if suggestion.note:
            st.caption(format.inert(suggestion.note))
        accept(scope, number, suggestion, review_note(suggestion), noted)


def whole_patch(scope: page.Scope, plan) -> None:
    if not plan.files:
        return
    st.subheader("The whole patch", anchor=False)
    for patched in plan.files:
        for done in patched.checks:
            verdict = {True: "passes", False: "fails", None: "was not checked (not installed here)"}[done.ok]
            (st.success if done.ok else st.error if done.ok is False else st.caption)(
                f"{patched.path}: {done.tool} {verdict}" + ("" if done.ok else f": {done.output}"))
    text = output.render_diff(plan)
    st.download_button("Download the patch (git apply takes it)", text.encode("utf-8"),
                       file_name=f"alert-hygiene-{page.slug(scope)}.patch", mime="text/x-diff",
                       icon=":material/download:", key="advisor_patch")  # fmt: skip


def render() -> None:
    scope = page.start(
        "Advisor",
        "Changes to alerting that the period's history supports, each replayed over the period first.",
    )
    if scope is None:
        return
    identity.name_input()
    if message := st.session_state.pop("advice_accepted", None):
        st.success(format.inert(message), icon=":material/check:")
    rule_files, am_file = configuration(scope.config)
    try:
        plan = data.load(advisor_plan.from_texts, scope.period, scope.team, rule_files, am_file)
    except PatchError as exc:
        st.error(f"Could not read the configuration: {exc}", icon=":material/error:")
        return
    if not plan.suggestions:
        st.success(f"No change to suggest for {format.inert(scope.who)} in {scope.period_label}: nothing in its "
                   "history supports one.", icon=":material/check_circle:")  # fmt: skip
        return
    hiding = sum(1 for s in plan.suggestions if s.attended_hidden)
    left, right = page.tile_row(2, "advice")
    left.metric("Suggestions", len(plan.suggestions), border=True,
                help="Ranked by the pages each would have saved in the period, on its own.")  # fmt: skip
    right.metric("Hide an attended page", hiding, border=True,
                 help="Suggestions that would have hidden a page someone acknowledged or marked actionable.")
    chart(plan.suggestions)
    if not rule_files or am_file is None:
        st.caption("Without your rule files or Alertmanager configuration some changes are described, not "
                   "patched: add them above.")  # fmt: skip
    noted = review_notes(scope, plan.suggestions)
    first = shown_from(plan.suggestions, noted)
    for number, suggestion in enumerate(plan.suggestions[first:first + SHOWN], start=first + 1):
        one(scope, number, suggestion, noted)
    next_ones(len(plan.suggestions), first)
    whole_patch(scope, plan)


render()

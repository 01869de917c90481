"""The figures built from graph_objects traces show what plotly express drew for the same frame."""

import pandas as pd
import plotly.express as px
import pytest

from views import charts  # the page modules draw their page when imported

KEPT = ("type", "name", "legendgroup", "showlegend", "hovertemplate", "mode", "orientation")
HISTORY = pd.DataFrame({"team": ["payments", "payments", "search", "search"], "step": ["8 Jun", "22 Jun"] * 2,
                        "wake_ups": [3, 5, 1, 0]})


def _traces(figure) -> list[dict]:
    """What a reader sees of each trace: its kind, name, legend, hover text, colour and points."""
    seen = []
    for trace in figure.to_plotly_json()["data"]:
        colour = (trace.get("line") or trace.get("marker") or {}).get("color")
        seen.append({**{k: trace.get(k, "v" if k == "orientation" else None) for k in KEPT}, "colour": colour,
                     "x": [str(v) for v in trace["x"]], "y": [str(v) for v in trace["y"]]})
    return seen


def _titles(figure) -> tuple:
    layout = figure.layout
    return layout.title.text, layout.xaxis.title.text, layout.yaxis.title.text, layout.legend.title.text


@pytest.mark.parametrize("kind", ["lines", "bars"])
def test_per_step_charts_match_plotly_express(kind):
    labels = {**charts.LABELS, "step": "Sprint starting"}
    if kind == "lines":
        ours = charts.per_step_lines(HISTORY.head(2), "wake_ups", "Wake-ups", "Sprint starting")  # one team: a legend still
        theirs = px.line(HISTORY.head(2), x="step", y="wake_ups", color="team", markers=True, labels=labels,
                         title="Wake-ups")
    else:
        ours = charts.per_step_bars(HISTORY, "wake_ups", "Wake-ups", "Sprint starting")
        theirs = px.bar(HISTORY, x="step", y="wake_ups", color="team", labels=labels, title="Wake-ups")
    theirs.update_layout(legend_title_text="")
    assert _traces(ours) == _traces(theirs)
    assert _titles(ours) == _titles(theirs)


def test_load_and_verdict_figures_match_plotly_express():
    load = pd.DataFrame({"person_name": ["Amara", "Chloe", "Amara"], "interruptions": [4, 9, 2], "ceiling": 6,
                         "day": pd.to_datetime(["2026-11-02", "2026-11-02", "2026-11-09"])})
    theirs = px.scatter(load, x="day", y="interruptions", color="person_name", title="Each dot: one person's week",
                        labels={"interruptions": "Interruptions per person per week", "day": "Week starting",
                                "person_name": ""})
    ours = charts.load_figure(load, "week")
    assert _traces(ours) == _traces(theirs)
    assert _titles(ours) == _titles(theirs)
    by_verdict = pd.DataFrame({"verdict": ["Not reviewed", "Noise"], "alerts": [10, 30]})
    theirs = px.bar(by_verdict, x="alerts", y="verdict", orientation="h", color="verdict",
                    color_discrete_map=charts.VERDICT_COLOURS, labels={"alerts": "Alerts", "verdict": ""})
    ours = charts.verdict_bars(by_verdict)
    assert _traces(ours) == _traces(theirs)
    assert list(ours.layout.yaxis.categoryarray) == list(theirs.layout.yaxis.categoryarray)

"""Each page's own figures, built from graph_objects traces: pure functions of a frame, drawn by charts.draw.

They draw what plotly express drew for the same frame (traces, colours, hover text, legend, axis titles and
order; tests/test_chart_figures.py builds both and compares), at a fraction of its cost: express groups and
validates the frame again per trace, which was a large share of a page's cold run.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from settings import WEEKDAYS
from views import format
from views.charts import bar_trace, by_group, figure_of, point_trace, reference_line, short_ticks

VERDICT_COLOURS = {"Actionable": "#27ae60", "Noise": "#c0392b", "Needs tuning": "#f39c12", "Duplicate": "#8e44ad",
                   "Not reviewed": "#95a5a6"}
# Wake-ups: the interruption columns by local time of day, with their label and colour.
BUCKET_COLUMNS = {
    "business_hours_interruptions": "Business hours",
    "off_hours_interruptions": "Off hours",
    "wake_ups": "Sleep hours",
}
BUCKET_COLOURS = {"Business hours": "#7fb3d5", "Off hours": "#f5b041", "Sleep hours": "#c0392b"}
HOURS = [f"{hour:02d}:00" for hour in range(24)]
PAYBACK_COLOURS = {"within 1 sprint": "#27ae60", "within 3 sprints": "#f1c40f", "later": "#e67e22",
                   "no estimate yet": "#bdc3c7"}
STATE_COLOURS = {"Transient": "#c0392b", "Not transient": "#7f8c8d"}
RANKED = 15  # the loudest signatures drawn on the noisy page
LEGEND_PEOPLE = 20  # the most people the load chart's legend lists (it shows about 14 at its height, then scrolls)
# Dates in hover text as the pages write them (metrics.display: '9 Nov 2026', '9 Nov 2026 14:05').
DATE, MOMENT = "%-d %b %Y", "%-d %b %Y %H:%M"
_DAY_MS = 86_400_000
# A date axis's ticks by their spacing: hours within a day, then days ('9 Nov'), then months ('Nov 2026').
DATE_TICKS = [{"dtickrange": [None, _DAY_MS], "value": "%-d %b %H:%M"},
              {"dtickrange": [_DAY_MS, 28 * _DAY_MS], "value": "%-d %b"},
              {"dtickrange": [28 * _DAY_MS, None], "value": "%b %Y"}]


def _colour_scale(name: str, title: str, **bounds: float) -> dict:
    """A layout's shared colour axis: a named scale with its colour bar titled."""
    return {"colorbar": {"title": {"text": title}}, "colorscale": name, "autocolorscale": False, **bounds}


# --- Wake-ups -------------------------------------------------------------------------------------


def per_person(people: pd.DataFrame) -> go.Figure:
    """Each person's interruptions as one horizontal bar, stacked by local time of day, most loaded on top."""
    names = format.texts(people["person_name"], format.plotly_text)
    # The hover names them from customdata: %{y} is the axis's tick text, cut for a long name.
    traces = [bar_trace(BUCKET_COLOURS[label], x=people[column], y=names, name=label, legendgroup=label,
                        showlegend=True, orientation="h",
                        customdata=format.texts(people["person_name"], format.hover_name),
                        hovertemplate=f"Person: %{{customdata}}<br>Interruptions in {label.lower()}: %{{x:,}}"
                                      "<extra></extra>")
              for column, label in BUCKET_COLUMNS.items()]
    figure = figure_of(traces, "Interruptions", "", title={"text": "Interruptions per person, by local time of day"},
                       barmode="relative")
    figure.update_layout(height=max(260, 28 * len(people)), margin={"t": 48, "b": 8},
                         yaxis={"categoryorder": "total ascending"})
    return short_ticks(figure, "y", people["person_name"])


def heatmap(by_hour: pd.DataFrame) -> go.Figure:
    """Interruptions by weekday and hour of the day, midnight at the top."""
    grid = (by_hour.pivot_table(index="hour", columns="weekday", values="interruptions", aggfunc="sum")
            .reindex(index=range(24), columns=range(7)).fillna(0))
    cells = go.Heatmap(z=grid.to_numpy(), x=WEEKDAYS, y=HOURS, coloraxis="coloraxis",
                       hovertemplate="Day: %{x}<br>Hour starting: %{y} (their local time)"
                                     "<br>Interruptions: %{z:,.0f}<extra></extra>")
    return go.Figure(cells, layout={
        "title": {"text": "When people were paged, in their own time zone"},
        "yaxis": {"autorange": "reversed"}, "coloraxis": _colour_scale("Reds", "Interruptions"),
        "height": 520, "margin": {"t": 48, "b": 8},
    })


def load_figure(load: pd.DataFrame, per: str) -> go.Figure:
    """Each person's interruptions per day or week, against the team's ceiling."""
    x_title, y_title = ("Day" if per == "day" else "Week starting"), f"Interruptions per person per {per}"
    hover = (f"Person: {{name}}<br>{x_title}: %{{x|{DATE}}}<br>Interruptions that {per}: %{{y:,}}"
             "<extra></extra>")
    figure = figure_of(by_group(load, "person_name", point_trace, "day", "interruptions", hover),
                       x_title, y_title, title={"text": f"Each dot: one person's {per}"})
    # A legend of a hundred people shows a dozen and scrolls: past LEGEND_PEOPLE, each dot's hover names them.
    figure.update_layout(showlegend=load["person_name"].nunique() <= LEGEND_PEOPLE)
    reference_line(figure, float(load["ceiling"].iloc[0]), "ceiling")
    figure.update_layout(height=360, margin={"t": 48, "b": 8})
    return figure


# --- Response times ---------------------------------------------------------------------------

MEASURES = {"tta": "Time to acknowledge", "ttr": "Time to resolve"}
LOG_TICKS = [(0.25, "15 s"), (1, "1 min"), (5, "5 min"), (15, "15 min"), (60, "1 h"), (240, "4 h"), (960, "16 h"),
             (2880, "2 days")]


def distribution_figure(mine: pd.DataFrame, per: str) -> go.Figure:
    """Response times per service or team (`per`) as box plots, from quartiles worked out in the database."""
    figure, hovers = go.Figure(), []
    for measure, name in MEASURES.items():
        rows = mine[mine["measure"] == measure]
        names = format.texts(rows["name"], format.plotly_text).tolist()  # services' and teams' names as written
        minutes = {c: (rows[c] / 60).tolist() for c in ("q1", "median", "q3", "lower_fence", "upper_fence")}
        figure.add_trace(go.Box(x=names, name=name, q1=minutes["q1"], median=minutes["median"],
                                q3=minutes["q3"], lowerfence=minutes["lower_fence"],
                                upperfence=minutes["upper_fence"], boxpoints=False, hoverinfo="skip",
                                offsetgroup=name, legendgroup=name))
        hovers.append(_box_hover(rows, names, name, per, minutes["median"]))
    # After the boxes, which take their colours from the theme in trace order.
    figure.add_traces(hovers)
    figure.update_layout(boxmode="group", scattermode="group", height=380, margin={"t": 48, "b": 8},
                         legend_title_text="", modebar_remove=["select", "lasso"],
                         title=f"Distribution per {per}: box = middle half, line = median")
    # Named ticks: a log axis's own ticks read "5, 2, 100, 5, 2, 10" (leading digits only).
    figure.update_yaxes(type="log", title="Time (log scale)", tickvals=[minutes for minutes, _ in LOG_TICKS],
                        ticktext=[text for _, text in LOG_TICKS])
    figure.update_xaxes(title=per.title())
    return short_ticks(figure, "x", mine["name"])


def _box_hover(rows: pd.DataFrame, names: list[str], name: str, per: str, medians: list[float]) -> go.Scatter:
    """An unseen dot on each box's median that carries its hover: plotly.js ignores a box's hover template and
    labels its figures 'q1', 'max' in raw minutes ('median: 5.783333')."""
    def span(low: str, high: str) -> list[str]:
        return [f"{format.duration(a)} to {format.duration(b)}" for a, b in zip(rows[low], rows[high], strict=True)]

    texts = list(zip(format.texts(rows["median"], format.duration), span("q1", "q3"),
                     span("lower_fence", "upper_fence"), format.texts(rows["name"], format.hover_name), strict=True))
    return go.Scatter(x=names, y=medians, mode="markers", offsetgroup=name, legendgroup=name,
                      showlegend=False, marker={"size": 24, "opacity": 0, "symbol": "square"}, customdata=texts,
                      hovertemplate=f"{per.title()}: %{{customdata[3]}}<br>{name}<br>Median: %{{customdata[0]}}"
                                    "<br>Middle half: %{customdata[1]}<br>Range without outliers: %{customdata[2]}"
                                    "<extra></extra>")


# --- Noisy alerts and Sprint retro --------------------------------------------------------------


def ranking_title(shown: int, ranked: int) -> str:
    which = (f"The {shown} loudest signatures" if ranked > shown else
             "The only signature" if shown == 1 else f"All {shown} signatures")
    return which + " (colour: noise ratio)"


def ranking_chart(ranked: pd.DataFrame) -> go.Figure:
    """The loudest signatures as horizontal bars, loudest on top, coloured by noise ratio (green to red)."""
    top = format.ranked_labels(ranked.head(RANKED)).iloc[::-1]
    bars = go.Bar(x=top["alerts"], y=top["label"], orientation="h", name="", legendgroup="", showlegend=False,
                  marker={"color": top["noise_ratio"], "coloraxis": "coloraxis"},
                  hovertemplate="Signature: %{y}<br>Alerts: %{x:,}<br>Noise ratio: %{marker.color:.0%}"
                                "<extra></extra>")
    figure = figure_of([bars], "Alerts", "", title={"text": ranking_title(len(top), len(ranked))}, barmode="relative",
                       coloraxis=_colour_scale("RdYlGn_r", "Noise", cmin=0, cmax=1))
    figure.update_layout(height=480, margin={"t": 48, "b": 8}, coloraxis_colorbar={"tickformat": ".0%"})
    return figure


def verdict_bars(by_verdict: pd.DataFrame) -> go.Figure:
    """The period's alerts by verdict, one horizontal bar each."""
    traces = by_group(by_verdict, "verdict", bar_trace, "alerts", "verdict", "Verdict: %{y}<br>Alerts: %{x:,}<extra></extra>",
                      colours=VERDICT_COLOURS, orientation="h")
    # The first verdict on top, as a horizontal bar chart reads.
    figure = figure_of(traces, "Alerts", "", barmode="relative")
    figure.update_yaxes(categoryorder="array", categoryarray=list(by_verdict["verdict"])[::-1])
    figure.update_layout(height=170, showlegend=False, margin={"t": 8, "b": 8, "l": 8, "r": 8})
    return figure


def firings_timeline(alerts: pd.DataFrame) -> go.Figure:
    """One signature's firings, each a bar from creation to resolution on its service's row."""
    frame = alerts.assign(
        duration_ms=(alerts["resolved_at"] - alerts["created_at"]) // pd.Timedelta(milliseconds=1),
        state=alerts["is_transient"].map({True: "Transient", False: "Not transient"}),
        acknowledged=format.texts(alerts["tta_s"], format.duration),
        resolved=format.texts(alerts["ttr_s"], format.duration),
        service=alerts["service"].fillna("no service").map(format.plotly_text),
        service_named=alerts["service"].fillna("no service").map(format.hover_name),
        title=format.texts(alerts["title"], format.plotly_text),
    )
    hover = (f"Title: %{{customdata[0]}}<br>Service: %{{customdata[3]}}<br>Fired: %{{base|{MOMENT}}}"
             "<br>Acknowledged after: %{customdata[1]}<br>Resolved after: %{customdata[2]}<br>{name}<extra></extra>")
    traces = by_group(frame, "state", bar_trace, "duration_ms", "service", hover, colours=STATE_COLOURS,
                      columns={"base": "created_at", "customdata": ["title", "acknowledged", "resolved", "service_named"]},
                      orientation="h")
    figure = figure_of(traces, None, "", title={"text": "When it fired"}, barmode="overlay")
    # At most 5 date ticks (more ran together in a narrow column), written as the page writes dates.
    figure.update_xaxes(type="date", nticks=5, tickformatstops=DATE_TICKS)
    figure.update_layout(height=220, margin={"t": 40, "b": 8, "l": 8, "r": 8})
    return short_ticks(figure, "y", alerts["service"].fillna("no service"))


# --- Advisor ---------------------------------------------------------------------------------------


def replay_bars(labels: list[str], before: list[int], after: list[int]) -> go.Figure:
    """The Advisor's replay: pages each change (`labels`, as plotly shows text) left, beside the period's pages."""
    figure = go.Figure(
        [
            go.Bar(y=labels, x=before, name="Pages in the period", orientation="h", marker_color="#bdc3c7",
                   hovertemplate="Change: %{y}<br>Pages in the period: %{x:,}<extra></extra>"),
            go.Bar(y=labels, x=after, name="With the change", orientation="h", marker_color="#27ae60",
                   hovertemplate="Change: %{y}<br>Pages with the change: %{x:,}<extra></extra>"),
        ]
    )
    figure.update_layout(
        barmode="group",
        height=max(200, 90 + 46 * len(labels)), margin={"t": 32, "b": 8, "l": 8, "r": 8},
        legend={"orientation": "h", "x": 0, "y": 1.0, "yanchor": "bottom"}, xaxis_title="Pages",
    )  # fmt: skip
    return figure


# --- On call and Fix planner ----------------------------------------------------------------------


def carried(long: pd.DataFrame, schedule: str, people: int) -> go.Figure:
    """Each person's pages and off/sleep hours on call in one schedule, side by side."""
    people_named = long["person"]
    long = long.assign(person=long["person"].map(format.plotly_text), named=long["person"].map(format.hover_name))
    traces = by_group(long, "what", bar_trace, "value", "person",
                      "Person: %{customdata}<br>{name}: %{x:,.1~f}<extra></extra>", orientation="h",
                      columns={"customdata": "named"}, alignmentgroup="True")
    for trace in traces:
        trace["offsetgroup"] = trace["name"]  # side by side, as a grouped bar chart of express draws them
    figure = figure_of(traces, "", "", title={"text": f"Who carried {format.plotly_text(schedule)}"}, barmode="group")
    figure.update_layout(height=max(240, 40 * people + 100), margin={"t": 48, "b": 8},
                         legend={"orientation": "h", "y": -0.2})
    return short_ticks(figure, "y", people_named)


def saving_bars(top: pd.DataFrame) -> go.Figure:
    """Hours each fix would save per sprint (`label`, `projected_saving_h`), coloured by `payback`."""
    hover = "Fix: %{y}<br>Hours it would save per sprint: %{x:.1f}<br>Pays back: {name}<extra></extra>"
    traces = by_group(top.iloc[::-1], "payback", bar_trace, "projected_saving_h", "label", hover,
                      colours=PAYBACK_COLOURS, orientation="h")
    figure = figure_of(traces, "Hours a fix would save per sprint", "", barmode="relative")
    # Room above the plot: the legend's title sat under the chart's toolbar.
    figure.update_layout(height=max(268, 32 * len(top) + 88), margin={"t": 36, "b": 8}, legend_title_text="Pays back",
                         yaxis={"categoryorder": "total ascending"})
    return figure

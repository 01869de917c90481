"""The figures built from graph_objects traces show what plotly express drew for the same frame, and their
hover text says what each value is.

Each page's figure is built both ways: ours, and the plotly express call the page made before (kept here
as the reference). What a reader sees must be the same: each trace's kind, name, legend, colour, points and
order, and the layout (titles, colour axis, axis order, sizes). The hover text is ours, not express's
("=Amara", "x: Thu"): each figure's is checked for the values it must name.
"""

import ast
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import pytest

from views import charts, format, page_charts  # the page modules draw their page when imported

ROOT = Path(__file__).resolve().parent.parent

KEPT = ("type", "name", "legendgroup", "showlegend", "mode", "orientation", "offsetgroup")
POINTS = ("x", "y", "z", "base")
HISTORY = pd.DataFrame({"team": ["payments", "payments", "search", "search"], "step": ["8 Jun", "22 Jun"] * 2,
                        "wake_ups": [3, 5, 1, 0]})


def _values(values) -> list:
    """Points as text: the same values drawn the same, whatever their number type."""
    return [str(v) for v in np.asarray(values, dtype=object).ravel().tolist()]


def _traces(figure) -> list[dict]:
    """What a reader sees of each trace: its kind, name, legend, hover text, colour, points and hover data."""
    seen = []
    for trace in figure.data:
        shown = {k: trace[k] if k in trace else None for k in KEPT}
        shown["orientation"] = shown["orientation"] or "v"  # unset draws upright, as express's "v"
        parts = [trace[part] for part in ("line", "marker") if part in trace]
        colour = next((part.color for part in parts if part.color is not None), None)
        shown["colour"] = colour if colour is None or isinstance(colour, str) else _values(colour)
        shown["coloraxis"] = trace.coloraxis if "coloraxis" in trace else trace.marker.coloraxis
        shown.update({k: _values(trace[k]) for k in POINTS if k in trace and trace[k] is not None})
        # Only the hover data the hover text names: express also keeps columns it never shows.
        used = sorted({int(i) for i in re.findall(r"customdata\[(\d+)\]", trace.hovertemplate or "")})
        if used:
            shown["customdata"] = [_values(np.asarray(trace.customdata, dtype=object)[:, i]) for i in used]
        seen.append(shown)
    return seen


def _layout(figure) -> dict:
    """The layout but for express's defaults that draw nothing (axis anchors, the template)."""
    layout = figure.to_plotly_json()["layout"]
    layout.pop("template", None)
    for axis in ("xaxis", "yaxis"):
        for default in ("anchor", "domain"):
            layout.get(axis, {}).pop(default, None)
        if not layout.get(axis, True):
            layout.pop(axis)
    layout.get("legend", {}).pop("tracegroupgap", None)
    return layout


def _same(ours, theirs) -> None:
    assert _traces(ours) == _traces(theirs)
    assert _layout(ours) == _layout(theirs)


def _hover(figure, *lines: str) -> None:
    """Each trace's hover names every value it shows ('Label: value', never express's bare '=Amara' or
    'x: Thu'), and the figure's hover holds each of `lines` (one trace's `lines` may be in another's)."""
    # A group's name is the trace's, which plotly.js puts in as data, in full, from its meta (%{meta[0]}).
    templates = [trace.hovertemplate.replace("%{meta[0]}", (trace.meta or [""])[0]) for trace in figure.data]
    for template in templates:
        assert template.endswith("<extra></extra>"), template  # no trace name box beside it
        assert "=" not in template and not re.search(r"(^|>)[xyz]:", template), template
        for line in template.removesuffix("<extra></extra>").split("<br>"):
            for value in re.finditer(r"%\{", line):
                assert re.search(r"[A-Za-z)]: $", line[: value.start()]), f"an unnamed value in {line!r}"
    shown = "<br>".join(templates).split("<br>")
    for line in lines:
        assert any(line in text for text in shown), (line, templates)


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
    _hover(ours, "Team payments, Wake-ups: %{y:,.1~f}")
    assert ours.layout.title.text == theirs.layout.title.text
    assert ours.layout.xaxis.title.text == theirs.layout.xaxis.title.text
    assert ours.layout.yaxis.title.text == theirs.layout.yaxis.title.text


def test_wake_ups_figures_match_plotly_express():
    load = pd.DataFrame({"person_name": ["Amara", "Chloe", "Amara"], "interruptions": [4, 9, 2], "ceiling": 6,
                         "day": pd.to_datetime(["2026-11-02", "2026-11-02", "2026-11-09"])})
    theirs = px.scatter(load, x="day", y="interruptions", color="person_name", title="Each dot: one person's week",
                        labels={"interruptions": "Interruptions per person per week", "day": "Week starting",
                                "person_name": ""})
    theirs.add_hline(y=6, line_dash="dash", line_color="#c0392b", annotation_text="ceiling",
                     annotation_position="top left")
    theirs.update_layout(height=360, margin={"t": 48, "b": 8}, legend_title_text="", showlegend=True)
    ours = page_charts.load_figure(load, "week")
    _same(ours, theirs)
    _hover(ours, "Person: Amara", "Person: Chloe", "Week starting: %{x|%-d %b %Y}", "Interruptions that week: %{y:,}")
    crowd = pd.DataFrame({"person_name": [f"P{i}" for i in range(25)], "interruptions": 1, "ceiling": 6,
                          "day": pd.Timestamp("2026-11-02")})
    assert page_charts.load_figure(crowd, "day").layout.showlegend is False  # 25 people: each dot's hover names them

    people = pd.DataFrame({"person_name": ["Amara", "Chloe"], "business_hours_interruptions": [3, 0],
                           "off_hours_interruptions": [1, 4], "wake_ups": [0, 2]})
    long = people.melt(id_vars=["person_name"], value_vars=list(page_charts.BUCKET_COLUMNS), var_name="bucket",
                       value_name="count").assign(bucket=lambda f: f["bucket"].map(page_charts.BUCKET_COLUMNS))
    theirs = px.bar(long, x="count", y="person_name", color="bucket", orientation="h",
                    title="Interruptions per person, by local time of day",
                    labels={"count": "Interruptions", "person_name": "", "bucket": ""},
                    color_discrete_map={"Business hours": "#7fb3d5", "Off hours": "#f5b041", "Sleep hours": "#c0392b"})
    theirs.update_layout(height=260, margin={"t": 48, "b": 8}, yaxis={"categoryorder": "total ascending"})
    ours = page_charts.per_person(people)
    _same(ours, theirs)
    _hover(ours, "Person: %{customdata}", "Interruptions in business hours: %{x:,}", "Interruptions in off hours: %{x:,}",
           "Interruptions in sleep hours: %{x:,}")

    # Monday 09:00 twice (summed), Sunday 23:00 once; every other hour is zero, midnight on top.
    by_hour = pd.DataFrame({"weekday": [0, 0, 6], "hour": [9, 9, 23], "interruptions": [2, 3, 1]})
    grid = np.zeros((24, 7))
    grid[9, 0], grid[23, 6] = 5, 1
    theirs = px.imshow(grid, x=["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
                       y=[f"{h:02d}:00" for h in range(24)], aspect="auto", color_continuous_scale="Reds",
                       labels={"color": "Interruptions"}, title="When people were paged, in their own time zone")
    theirs.update_layout(height=520, margin={"t": 48, "b": 8})
    theirs.update_traces(name=None)  # express names the one trace "0", which nothing shows
    ours = page_charts.heatmap(by_hour)
    _same(ours, theirs)
    _hover(ours, "Day: %{x}", "Hour starting: %{y} (their local time)", "Interruptions: %{z:,.0f}")


def test_noisy_and_retro_figures_match_plotly_express():
    ranked = pd.DataFrame({"title": ["Disk full", "CPU high", "Disk full"], "alerts": [30, 12, 5],
                           "noise_ratio": [0.9, 0.25, 0.5]})
    top = ranked.assign(label=["1. Disk full", "2. CPU high", "3. Disk full"]).iloc[::-1]
    theirs = px.bar(
        top.assign(noise=top["noise_ratio"]), x="alerts", y="label", orientation="h", color="noise",
        range_color=(0, 1), color_continuous_scale="RdYlGn_r",
        labels={"alerts": "Alerts", "label": "", "noise": "Noise"},
        title="All 3 signatures (colour: noise ratio)", hover_data={"noise": ":.0%", "label": False},
    )
    theirs.update_layout(height=480, margin={"t": 48, "b": 8}, coloraxis_colorbar={"tickformat": ".0%"})
    ours = page_charts.ranking_chart(ranked)
    theirs.update_layout(legend_title_text="")  # no legend is shown: the colour bar says what colour means
    _same(ours, theirs)
    _hover(ours, "Signature: %{y}", "Alerts: %{x:,}", "Noise ratio: %{marker.color:.0%}")

    by_verdict = pd.DataFrame({"verdict": ["Not reviewed", "Noise"], "alerts": [10, 30]})
    theirs = px.bar(by_verdict, x="alerts", y="verdict", orientation="h", color="verdict",
                    color_discrete_map=page_charts.VERDICT_COLOURS, labels={"alerts": "Alerts", "verdict": ""})
    theirs.update_yaxes(categoryorder="array", categoryarray=["Noise", "Not reviewed"])
    theirs.update_layout(height=170, showlegend=False, margin={"t": 8, "b": 8, "l": 8, "r": 8}, legend_title_text="")
    ours = page_charts.verdict_bars(by_verdict)
    _same(ours, theirs)
    _hover(ours, "Verdict: %{y}", "Alerts: %{x:,}")


def test_firings_timeline_matches_plotly_express():
    alerts = pd.DataFrame({
        "created_at": pd.to_datetime(["2026-11-02 10:00", "2026-11-02 11:00", "2026-11-03 01:00"], utc=True),
        "resolved_at": pd.to_datetime(["2026-11-02 10:30", "2026-11-02 13:00", "2026-11-03 01:05"], utc=True),
        "service": ["api", None, "api"], "is_transient": [True, False, True], "title": ["Disk full"] * 3,
        "tta_s": [60.0, None, 120.0], "ttr_s": [1800.0, 7200.0, 300.0],
    })
    frame = alerts.assign(ended=alerts["resolved_at"], state=["Transient", "Not transient", "Transient"],
                          acknowledged=["1 min", "—", "2 min"], resolved=["30 min", "2 h", "5 min"],
                          service=["api", "no service", "api"], named=["api", "no service", "api"])
    theirs = px.timeline(
        frame, x_start="created_at", x_end="ended", y="service", color="state",
        hover_data={"title": True, "acknowledged": True, "resolved": True, "named": True, "service": False, "state": False,
                    "ended": False, "created_at": "|%d %b %H:%M"},
        labels={"service": "", "state": "", "title": "Title", "acknowledged": "Acknowledged after",
                "resolved": "Resolved after", "created_at": "Fired"},
        title="When it fired", color_discrete_map={"Transient": "#c0392b", "Not transient": "#7f8c8d"},
    )
    theirs.update_layout(height=220, margin={"t": 40, "b": 8, "l": 8, "r": 8}, legend_title_text="")
    # Fewer date ticks than express's, which ran together in a narrow column, written as the pages write dates.
    theirs.update_xaxes(nticks=5, tickformatstops=page_charts.DATE_TICKS)
    ours = page_charts.firings_timeline(alerts)
    _same(ours, theirs)
    _hover(ours, "Title: %{customdata[0]}", "Service: %{customdata[3]}", "Fired: %{base|%-d %b %Y %H:%M}",
           "Acknowledged after: %{customdata[1]}", "Resolved after: %{customdata[2]}", "Transient", "Not transient")


def test_on_call_and_planner_figures_match_plotly_express():
    long = pd.DataFrame({"person": ["Amara", "Chloe", "Amara", "Chloe"], "value": [3.0, 1.0, 10.5, 2.0],
                         "what": ["Pages on call"] * 2 + ["Off/sleep hours on call"] * 2})
    theirs = px.bar(long, x="value", y="person", color="what", barmode="group", orientation="h",
                    labels={"value": "", "person": "", "what": ""}, title="Who carried Primary")
    theirs.update_layout(height=240, margin={"t": 48, "b": 8}, legend={"orientation": "h", "y": -0.2})
    ours = page_charts.carried(long, "Primary", 2)
    _same(ours, theirs)
    _hover(ours, "Person: %{customdata}", "Pages on call: %{x:,.1~f}", "Off/sleep hours on call: %{x:,.1~f}")

    top = pd.DataFrame({"label": ["1. Disk full (alert fix)", "2. CPU high (cause fix)", "3. Flappy (alert fix)"],
                        "projected_saving_h": [6.25, 3.0, 1.04], "payback": ["within 1 sprint", "later", "later"]})
    theirs = px.bar(
        top.iloc[::-1], x="projected_saving_h", y="label", orientation="h", color="payback",
        color_discrete_map=page_charts.PAYBACK_COLOURS,
        labels={"projected_saving_h": "Hours a fix would save per sprint", "label": "", "payback": "Pays back"},
        hover_data={"label": False, "projected_saving_h": ":.1f"},
    )
    # Taller by the room above the plot, where the legend's title sat under the chart's toolbar.
    theirs.update_layout(height=268, margin={"t": 36, "b": 8}, yaxis={"categoryorder": "total ascending"})
    ours = page_charts.saving_bars(top)
    _same(ours, theirs)
    _hover(ours, "Fix: %{y}", "Hours it would save per sprint: %{x:.1f}", "Pays back: within 1 sprint",
           "Pays back: later")


def test_no_page_imports_plotly_express():
    """The dashboard never loads plotly express: it regrouped and revalidated every frame, per trace, in a
    page's cold run (and took 50 ms more to import on a server's first page)."""
    imports = []
    for path in [ROOT / "dashboard.py", *sorted((ROOT / "views").glob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
                     if isinstance(node, ast.ImportFrom) else [])
            imports += [f"{path.name}: {name}" for name in names if name.startswith("plotly.express")]
    assert imports == []


def test_alert_titles_in_charts_are_shown_as_written():
    """plotly reads tags and entities in labels and hover text as markup: alert titles reach it escaped."""
    title = "<b>boom</b> p99 < 2s & errors"
    shown = "&lt;b&gt;boom&lt;/b&gt; p99 &lt; 2s &amp; errors"
    ranking = page_charts.ranking_chart(pd.DataFrame({"title": [title], "alerts": [3], "noise_ratio": [0.5]}))
    assert list(ranking.data[0].y) == [f"1. {shown}"]
    alerts = pd.DataFrame({"created_at": pd.to_datetime(["2026-11-02 10:00"], utc=True),
                           "resolved_at": pd.to_datetime(["2026-11-02 10:30"], utc=True), "service": ["api"],
                           "is_transient": [True], "title": [title], "tta_s": [60.0], "ttr_s": [1800.0]})
    timeline = page_charts.firings_timeline(alerts.assign(service=["<i>api</i>"]))
    assert timeline.data[0].customdata[0][0] == shown and list(timeline.data[0].y) == ["&lt;i&gt;api&lt;/i&gt;"]
    # People's and teams' names too: on an axis, and as a trace's legend entry and hover.
    people = pd.DataFrame({"person_name": ["<b>Amara</b>"], "business_hours_interruptions": [1],
                           "off_hours_interruptions": [0], "wake_ups": [0]})
    assert {tuple(trace.y) for trace in page_charts.per_person(people).data} == {("&lt;b&gt;Amara&lt;/b&gt;",)}
    load = pd.DataFrame({"person_name": ["<b>Amara</b>"], "interruptions": [4], "ceiling": 6,
                         "day": pd.to_datetime(["2026-11-02"])})
    trace = page_charts.load_figure(load, "week").data[0]
    assert trace.name == "&lt;b&gt;Amara&lt;/b&gt;" and trace.hovertemplate.startswith("Person: %{meta[0]}<br>")
    long = pd.DataFrame({"person": ["Amara"], "value": [3.0], "what": ["Pages on call"]})
    assert page_charts.carried(long, "<b>Primary</b>", 1).layout.title.text == "Who carried &lt;b&gt;Primary&lt;/b&gt;"


def test_response_boxes_hover_in_words():
    """plotly.js labels a box's own hover 'median: 5.783333' (raw minutes, fences as 'max'): an unseen dot on
    each median carries it instead, grouped with its box, and the boxes keep their colours (traces first)."""
    spread = pd.DataFrame({"measure": ["tta", "ttr"], "name": ["<b>api</b>", "<b>api</b>"], "q1": [120.0, 600.0],
                           "median": [347.0, 900.0], "q3": [570.0, 3600.0], "lower_fence": [45.0, 300.0],
                           "upper_fence": [960.0, 7200.0]})
    figure = page_charts.distribution_figure(spread, "service")
    assert [trace.type for trace in figure.data] == ["box", "box", "scatter", "scatter"]
    boxes, dots = figure.data[:2], figure.data[2:]
    assert all(box.hoverinfo == "skip" for box in boxes) and figure.layout.scattermode == "group"
    assert [dot.offsetgroup for dot in dots] == [box.offsetgroup for box in boxes] == list(page_charts.MEASURES.values())
    assert list(dots[0].y) == list(boxes[0].median) == [347 / 60]
    assert list(boxes[0].x) == list(dots[0].x) == ["&lt;b&gt;api&lt;/b&gt;"]
    assert list(dots[0].customdata[0]) == ["6 min", "2 min to 10 min", "45 s to 16 min", "&lt;b&gt;api&lt;/b&gt;"]
    _hover(go.Figure(list(dots)), "Service: %{customdata[3]}", "Time to acknowledge", "Time to resolve", "Median: %{customdata[0]}",
           "Middle half: %{customdata[1]}", "Range without outliers: %{customdata[2]}")



# A name as a person, team, service or alert may carry it: plotly's template syntax and markup, as text.
HOSTILE = "db %{y} primary <b>x</b> &amp; %{x|%Y}"


@pytest.fixture(scope="module")
def plotly_js_page():
    """A Chromium page with plotly.js loaded, to draw figures into and hover them."""
    import plotly.offline

    from tests.browser import chromium_page

    with chromium_page(1000, 700) as page:
        page.set_content("<html><body><div id='chart' style='width:960px;height:640px'></div></body></html>")
        page.add_script_tag(content=plotly.offline.get_plotlyjs())
        yield page


def hover_lines(page, figure: go.Figure) -> list[str]:
    """Every line plotly.js shows on hovering each point of each hovered trace, as the reader sees it."""
    page.evaluate("f => Plotly.newPlot('chart', f.data, f.layout)", json.loads(figure.to_json()))
    lines = []
    for curve, trace in enumerate(figure.data):
        if trace.hoverinfo == "skip" or trace.type == "heatmap":
            continue
        for point in range(len(trace.y if trace.y is not None else trace.x)):
            lines += page.evaluate(
                """([curve, point]) => {
                    Plotly.Fx.hover('chart', [{curveNumber: curve, pointNumber: point}]);
                    return [...document.querySelectorAll('.hoverlayer text')].flatMap(text => {
                        const parts = text.querySelectorAll('tspan.line');
                        return parts.length ? [...parts].map(part => part.textContent) : [text.textContent];
                    });
                }""", [curve, point])
    return lines


@pytest.mark.browser
def test_names_reach_the_hover_as_text_in_plotly_js(plotly_js_page):
    """plotly.js reads %{…} in a hover template: a name spliced into one showed a value, not the name."""
    people = pd.DataFrame({"person_name": [HOSTILE], "business_hours_interruptions": [1],
                           "off_hours_interruptions": [2], "wake_ups": [0]})
    load = pd.DataFrame({"person_name": [HOSTILE, "Chloe"], "interruptions": [4, 2], "ceiling": 6,
                         "day": pd.to_datetime(["2026-11-02", "2026-11-02"])})
    alerts = pd.DataFrame({"created_at": pd.to_datetime(["2026-11-02 10:00"], utc=True),
                           "resolved_at": pd.to_datetime(["2026-11-02 10:30"], utc=True), "service": [HOSTILE],
                           "is_transient": [True], "title": [HOSTILE], "tta_s": [60.0], "ttr_s": [1800.0]})
    spread = pd.DataFrame({"measure": ["tta", "ttr"], "name": [HOSTILE] * 2, "q1": [60.0] * 2,
                           "median": [120.0] * 2, "q3": [300.0] * 2, "lower_fence": [30.0] * 2,
                           "upper_fence": [600.0] * 2})
    carried = pd.DataFrame({"person": [HOSTILE], "value": [3.0], "what": ["Pages on call"]})
    cases = {
        "per_person": (page_charts.per_person(people), f"Person: {HOSTILE}"),
        "load_figure": (page_charts.load_figure(load, "week"), f"Person: {HOSTILE}"),
        "ranking_chart": (page_charts.ranking_chart(pd.DataFrame({"title": [HOSTILE], "alerts": [3],
                                                                  "noise_ratio": [0.5]})), f"Signature: 1. {HOSTILE}"),
        "firings_timeline (title)": (page_charts.firings_timeline(alerts), f"Title: {HOSTILE}"),
        "firings_timeline (service)": (page_charts.firings_timeline(alerts), f"Service: {HOSTILE}"),
        "distribution_figure": (page_charts.distribution_figure(spread, "service"), f"Service: {HOSTILE}"),
        "carried": (page_charts.carried(carried, "Primary", 1), f"Person: {HOSTILE}"),
        "saving_bars": (page_charts.saving_bars(format.ranked_labels(pd.DataFrame({
            "what": [HOSTILE], "projected_saving_h": [2.0], "payback": ["later"]}), "what")), f"Fix: 1. {HOSTILE}"),
        "replay_bars": (page_charts.replay_bars([f"1. {format.plotly_text(HOSTILE)}"], [3], [1]), f"Change: 1. {HOSTILE}"),
        "per_step_bars": (charts.per_step_bars(HISTORY.replace({"payments": HOSTILE}), "wake_ups", "Wake-ups",
                                               "Sprint starting"), f"Team {HOSTILE}, Wake-ups: 3"),
        "per_step_lines": (charts.per_step_lines(HISTORY.replace({"payments": HOSTILE}), "wake_ups", "Wake-ups",
                                                 "Sprint starting"), f"Team {HOSTILE}, Wake-ups: 3"),
    }
    missing = {}
    for case, (figure, line) in cases.items():
        shown = hover_lines(plotly_js_page, figure)
        if line not in shown:
            missing[case] = shown
    assert missing == {}


# A team, person or service named at length (providers accept 200 characters and more), with markup and
# template syntax in the part a chart cuts off.
LONG = "payments-" + "very-long-team-name-" * 9 + "<b>end</b> %{y}"


def _plot_area(page, figure: go.Figure) -> dict:
    """The plot's own width and height as plotly.js lays it out, and the tick and legend texts it draws."""
    page.evaluate("f => Plotly.newPlot('chart', f.data, f.layout)", json.loads(figure.to_json()))
    return page.evaluate("""() => {
        const size = document.getElementById('chart')._fullLayout._size;
        const texts = selector => [...document.querySelectorAll(selector)].map(t => t.textContent);
        return {w: size.w, h: size.h, ticks: texts('.xtick text, .ytick text'), legend: texts('.legendtext')};
    }""")


@pytest.mark.browser
def test_long_names_are_cut_beside_the_plot_and_shown_whole_in_the_hover(plotly_js_page):
    """A 200-character name took the plot's room as a legend entry or tick label: it is cut there, with an
    ellipsis, and the hover still names it in full, as written."""
    history = HISTORY.replace({"payments": LONG})
    people = pd.DataFrame({"person_name": [LONG, "Chloe"], "business_hours_interruptions": [1, 2],
                           "off_hours_interruptions": [2, 0], "wake_ups": [0, 1]})
    spread = pd.DataFrame({"measure": ["tta", "ttr"] * 2, "name": [LONG] * 2 + ["api"] * 2, "q1": [60.0] * 4,
                           "median": [120.0] * 4, "q3": [300.0] * 4, "lower_fence": [30.0] * 4,
                           "upper_fence": [600.0] * 4})
    alerts = pd.DataFrame({"created_at": pd.to_datetime(["2026-11-02 10:00"] * 2, utc=True),
                           "resolved_at": pd.to_datetime(["2026-11-02 10:30"] * 2, utc=True), "service": [LONG, "api"],
                           "is_transient": [True, False], "title": ["disk full"] * 2, "tta_s": [60.0] * 2,
                           "ttr_s": [1800.0] * 2})
    carried = pd.DataFrame({"person": [LONG, "Chloe"], "value": [3.0, 1.0], "what": ["Pages on call"] * 2})
    load = pd.DataFrame({"person_name": [LONG, "Chloe"], "interruptions": [4, 2], "ceiling": 6,
                         "day": pd.to_datetime(["2026-11-02", "2026-11-02"])})
    cases = {  # each chart with the long name and with a short one in its place
        "per_step_bars": lambda f: charts.per_step_bars(f(history), "wake_ups", "Wake-ups", "Sprint starting"),
        "per_step_lines": lambda f: charts.per_step_lines(f(history), "wake_ups", "Wake-ups", "Sprint starting"),
        "load_figure": lambda f: page_charts.load_figure(f(load), "week"),
        "per_person": lambda f: page_charts.per_person(f(people)),
        "distribution_figure": lambda f: page_charts.distribution_figure(f(spread), "service"),
        "firings_timeline": lambda f: page_charts.firings_timeline(f(alerts)),
        "carried": lambda f: page_charts.carried(f(carried), "Primary", 2),
    }
    for case, chart in cases.items():
        long, short = chart(lambda frame: frame), chart(lambda frame: frame.replace({LONG: "payments"}))
        drawn, plain = _plot_area(plotly_js_page, long), _plot_area(plotly_js_page, short)
        # The plot keeps most of the room it has beside a short name (a cut name is still longer).
        assert drawn["w"] >= 0.8 * plain["w"] and drawn["h"] >= 0.8 * plain["h"], (case, drawn, plain)
        beside = [text for text in drawn["ticks"] + drawn["legend"] if text.startswith("payments-")]
        assert beside, (case, drawn)
        for text in beside:
            assert text.endswith("…") and len(text) <= max(format.LEGEND_CHARS, format.TICK_CHARS), (case, text)
        # In full, in lines of at most format.HOVER_CHARS (one line of 200 characters ran out of the chart).
        shown = hover_lines(plotly_js_page, long)
        assert LONG in "".join(shown) and max(len(line) for line in shown) < 100, (case, shown)

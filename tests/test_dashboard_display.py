"""Every page on demo and on empty data: no None, nan, raw column names or raw timestamps reach a reader."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest import freeze_today, open_page

PAGES = ["views/overview.py", "views/noisy.py", "views/retro.py", "views/advice.py", "views/wakeups.py", "views/on_call.py",
         "views/response.py", "views/planner.py", "views/data_sources.py"]
# What a reader must never see: missing values spelled out, machine timestamps, snake_case names.
RAW_VALUE = re.compile(r"\b(None|nan|NaN|NaT|null|undefined)\b|\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}|\+00:00")
RAW_NAME = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")
# Names that are the vendors' own words, shown as such (Prometheus rule fields).
VENDOR_WORDS = {"keep_firing_for"}
# Switches that open more of a page: (page, widget key, value).
EXTRAS = {"views/retro.py": ("report_ready", True), "views/planner.py": ("plan_all", True)}


@pytest.fixture(autouse=True)
def frozen_today(monkeypatch):
    freeze_today(monkeypatch)


def _texts(node) -> list[str]:
    """Every string a reader sees on an element and its children (labels, values, options, deltas)."""
    found = []
    for attribute in ("value", "label", "body", "delta", "placeholder"):
        try:
            value = getattr(node, attribute, None)
        except Exception:  # noqa: BLE001 - some elements compute values they do not have
            continue
        if isinstance(value, str):
            found.append(value)
    for option in getattr(node, "options", None) or []:
        found.append(str(option))
    for child in getattr(node, "children", {}).values() if isinstance(getattr(node, "children", None), dict) else []:
        found += _texts(child)
    return found


_PATH = re.compile(r"(?:[A-Za-z]:)?/[^\s`]+")
_CODE = re.compile(r"`[^`]*`")  # configuration keys and commands, shown as code on purpose


def _raw_names(text: str) -> set[str]:
    """snake_case words in `text`, leaving out file paths (the database's), code and the vendors' own words."""
    return {name for name in RAW_NAME.findall(_PATH.sub("", _CODE.sub("", text))) if name not in VENDOR_WORDS}


def _table_problems(frame) -> list[str]:
    """A table shows every column under a label, missing cells as a dash, times formatted."""
    problems = []
    config = json.loads(frame.proto.columns or "{}")
    data = frame.value
    shown = list(frame.proto.column_order) or [c for c in data.columns if not str(c).startswith("_")]
    for column in shown:
        own = config.get(str(column), {})
        label = own.get("label") or str(column)
        if RAW_NAME.fullmatch(label) or label == label.lower() and label.isidentifier():
            problems.append(f"column {column!r} shown as {label!r}")
        if column not in data:
            continue
        values = data[column]
        if values.isna().any() and frame.proto.placeholder in ("", "None"):
            problems.append(f"column {label!r}: missing cells shown as None")
        if pd.api.types.is_datetime64_any_dtype(values) and not own.get("type_config", {}).get("format"):
            problems.append(f"column {label!r}: timestamps without a format")
        if values.dtype == object or pd.api.types.is_string_dtype(values):
            bad = [v for v in values.dropna().astype(str) if RAW_VALUE.search(v)]
            if bad:
                problems.append(f"column {label!r}: {bad[:2]}")
    return problems


def _chart_problems(chart) -> list[str]:
    """Chart titles, axis titles, legends and hover labels use human names; a hover names each value it shows
    (never a bare '=Amara' or plotly's 'x: Thu')."""
    spec = json.loads(chart.proto.spec)
    layout, problems = spec.get("layout", {}), []
    words = [str(layout.get("title", {}).get("text", ""))]
    for axis in ("xaxis", "yaxis"):
        words.append(str(layout.get(axis, {}).get("title", {}).get("text", "")))
    words.append(str(layout.get("coloraxis", {}).get("colorbar", {}).get("title", {}).get("text", "")))
    for trace in spec.get("data", []):
        words.append(str(trace.get("name", "")))
        hover = str(trace.get("hovertemplate", ""))
        words += re.findall(r"([^<>=]+)(?:=|: )%\{", hover)
        unnamed = re.findall(r"(?:^|<br>)(?:=|[xyz]: )", hover)
        problems += [f"chart {trace.get('name')!r} hover {hover!r} leaves a value unnamed"] if unnamed else []
    return problems + [f"chart shows {sorted(_raw_names(w))}" for w in words if _raw_names(w)]


def _problems(app: AppTest) -> list[str]:
    problems = []
    texts = _texts(app.main) + _texts(app.sidebar)
    assert len(texts) > 5, "the walk over the page found almost nothing to check"
    for node in (app.main, app.sidebar):
        for text in _texts(node):
            if RAW_VALUE.search(text):
                problems.append(f"text {text[:80]!r}")
    for element in [*app.title, *app.header, *app.subheader, *app.caption, *app.metric, *app.info, *app.success,
                    *app.warning, *app.toggle, *app.button, *app.get("download_button")]:
        label = getattr(element, "label", None) or getattr(element, "value", "")
        if isinstance(label, str) and (names := _raw_names(label)):
            problems.append(f"{type(element).__name__} {label[:60]!r} names {sorted(names)}")
    for frame in app.dataframe:
        problems += _table_problems(frame)
    for chart in app.get("plotly_chart"):
        problems += _chart_problems(chart)
    return problems


@pytest.mark.parametrize("page", PAGES)
def test_a_page_on_demo_data_shows_no_raw_values_or_names(monkeypatch, demo_db, page):
    app = open_page(monkeypatch, demo_db, page, team="payments")
    if page in EXTRAS:
        key, value = EXTRAS[page]
        app.toggle(key=key).set_value(value).run()
    assert not app.exception
    assert _problems(app) == []


@pytest.mark.parametrize("page", ["views/overview.py", "views/noisy.py", "views/wakeups.py", "views/on_call.py",
                                  "views/response.py"])
def test_a_page_over_free_dates_for_all_teams_shows_no_raw_values_or_names(monkeypatch, demo_db, page):
    app = open_page(monkeypatch, demo_db, page, **{"from": "2026-09-01", "to": "2026-11-20"})
    assert not app.exception
    assert _problems(app) == []


@pytest.mark.parametrize("page", PAGES)
def test_a_page_on_an_empty_database_shows_no_raw_values_or_names(monkeypatch, db, page):
    app = open_page(monkeypatch, db, page)
    assert not app.exception
    assert _problems(app) == []

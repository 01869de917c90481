"""The registry: every metric has a label, a one-line formula, a unit and a test that names it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import metrics
from metrics.registry import Metric, register

TESTS = Path(__file__).parent
UNITS = {"count", "s", "share", "hours", "sprints", "list", "ratio"}


def test_every_metric_is_defined_completely():
    assert len(metrics.REGISTRY) >= 30
    for name, metric in metrics.REGISTRY.items():
        assert metric.name == name
        assert metric.label.strip(), name
        assert metric.formula.strip() and "\n" not in metric.formula, name
        assert metric.unit in UNITS, name
        assert metric.sql.strip(), name
        assert metrics.formula(name) == metric.formula


def test_every_metric_has_a_test_naming_it():
    text = "\n".join(
        p.read_text(encoding="utf-8") for p in TESTS.glob("test_metrics_*.py") if p.name != Path(__file__).name
    )
    # A name counts when it stands alone (not inside a longer name: `interruptions` is not named by
    # `sleep_interruptions`) or inside a test's name (test_<name>_...).
    test_names = "\n".join(re.findall(r"def (test_\w+)", text))

    def named(name: str) -> bool:
        return bool(
            re.search(rf"(?<!\w){name}(?!\w)", text)
            or re.search(rf"(?<![a-z0-9]){name}(?![a-z0-9])", test_names)
        )

    untested = [name for name in metrics.REGISTRY if not named(name)]
    assert not untested, f"metrics without a test naming them: {untested}"


def test_json_report_figures_are_registered():
    from metrics.report import HEADLINE, JSON_FIGURES

    for name in set(JSON_FIGURES) | set(HEADLINE):
        assert metrics.formula(name)
    assert set(JSON_FIGURES) <= set(metrics.headline_names())


def test_registry_rejects_incomplete_definitions():
    with pytest.raises(ValueError):
        Metric("bad name", "Bad", "x", "count", "count(*)")
    with pytest.raises(ValueError):
        Metric("no_formula", "Bad", " ", "count", "count(*)")
    with pytest.raises(ValueError):
        register(Metric("alerts", "Again", "twice", "count", "count(*)"))
    with pytest.raises(KeyError, match="known"):
        metrics.formula("no_such_metric")


def test_metric_sql_binds_parameters_and_never_formats_values():
    for metric in metrics.REGISTRY.values():
        assert "{" not in metric.sql.replace("{}", ""), metric.name  # no unfilled templates
        assert "%s" not in metric.sql and "?" not in metric.sql, metric.name


def test_metrics_never_imports_streamlit():
    for path in (TESTS.parent / "metrics").glob("*.py"):
        assert "streamlit" not in path.read_text(encoding="utf-8"), path.name


def test_fact_stages_parse_in_order():
    from metrics import facts

    names = [name for name, _ in facts.STAGES]
    assert names == re.findall(r"^([a-z_]+) AS \(", facts.FACTS, re.M)
    assert names[:3] == ["buckets", "in_period", "scope"]
    assert {"alert_facts", "interruption_facts", "signature_history"} <= set(names)
    for name, select in facts.STAGES:
        assert re.sub(r"--[^\n]*", "", select).lstrip().upper().startswith("SELECT"), name

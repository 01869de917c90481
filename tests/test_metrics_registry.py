"""The registry: every metric has a label, a one-line description rendered from the settings, a unit and a
test that names it; every name the code reads is registered."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import metrics
from metrics import facts
from metrics.registry import Metric, register, stray_numbers
from settings import Settings, Thresholds

TESTS = Path(__file__).parent
ROOT = TESTS.parent
UNITS = {"count", "s", "share", "hours", "sprints", "list", "ratio", "text"}


def test_every_metric_is_defined_completely():
    assert len(metrics.REGISTRY) >= 30
    for name, metric in metrics.REGISTRY.items():
        assert metric.name == name
        assert metric.label.strip(), name
        text = metrics.describe(name, Settings())
        assert text.strip() and "\n" not in text and "{" not in text, name
        assert metric.unit in UNITS, name
        assert metric.sql.strip() or metric.grain == "column", name


def test_no_description_writes_a_setting_out():
    """A number in a description comes from the settings in force, never from the text."""
    written = {name: stray_numbers(m.description) for name, m in metrics.REGISTRY.items()}
    assert not {name: words for name, words in written.items() if words}
    assert stray_numbers("alerts resolved within 300 s") == ["300"]  # what the check would catch


def test_descriptions_follow_the_settings():
    changed = Settings(thresholds=Thresholds(transient_s=120, flap_s=900, paging_ceiling_per_shift=3))
    assert "120 s" in metrics.describe("transient", changed) and "300 s" not in metrics.describe("transient", changed)
    assert "900 s" in metrics.describe("flaps", changed)
    assert "300 s" in metrics.describe("transient", Settings())
    assert "6" in metrics.describe("paging_load", changed) or "3" in metrics.describe("paging_load", changed)


# Where the code names figures it reads or describes: read([...]), describe("..."), label("..."),
# figures["..."] and the tuples of names a page or the report reads.
_CALL = re.compile(r"(?:\bdescribe|(?<![\w.])label|(?<![\w.])metric|metrics\.label)\(\s*\"(\w+)\"")
_LIST = re.compile(r"\bread\(\s*(?:db,\s*|data\.db_path\(\),\s*)?[\[(]([^\])]*)[\])]")
_TUPLE = re.compile(r"^[A-Z_]*NAMES\s*=\s*\(([^)]*)\)", re.M)


def named_in(text: str) -> set[str]:
    names = set(_CALL.findall(text))
    for group in [*_LIST.findall(text), *_TUPLE.findall(text)]:
        names |= set(re.findall(r"\"(\w+)\"", group))
    return names


def test_every_name_the_code_reads_is_registered():
    sources = [p for folder in ("views", "metrics", "outbound", "advisor", "ingest", "bench")
               for p in (ROOT / folder).rglob("*.py")] + [ROOT / "dashboard.py"]
    read = {p.relative_to(ROOT).as_posix(): named_in(p.read_text(encoding="utf-8")) for p in sources}
    unknown = {path: sorted(names - set(metrics.REGISTRY)) for path, names in read.items() if names - set(metrics.REGISTRY)}
    assert not unknown, f"names read or described but not registered: {unknown}"
    assert sum(map(len, read.values())) > 50  # the scan finds the names the pages read
    assert named_in('figures = data.read(["noisy", "no_such_figure"], scope)') == {"noisy", "no_such_figure"}


def test_an_unknown_name_fails_loudly():
    with pytest.raises(KeyError, match="unknown metric 'no_such_metric'"):
        metrics.read(None, ["no_such_metric"], settings=Settings())
    with pytest.raises(KeyError, match="known"):
        metrics.describe("no_such_metric", Settings())


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
        assert metrics.describe(name, Settings())
    assert set(JSON_FIGURES) <= set(metrics.figure_names())


def test_registry_rejects_incomplete_definitions():
    with pytest.raises(ValueError):
        Metric("bad name", "Bad", "x", "count", "count(*)")
    with pytest.raises(ValueError):
        Metric("no_formula", "Bad", " ", "count", "count(*)")
    with pytest.raises(ValueError):
        register(Metric("alerts", "Again", "twice", "count", "count(*)"))
    with pytest.raises(ValueError, match="placeholders"):
        Metric("unknown_term", "Bad", "within {no_such_setting}", "count", "count(*)")
    with pytest.raises(ValueError, match="window"):
        Metric("bad_window", "Bad", "x", "count", "count(*)", window="fortnight")


def test_metric_sql_binds_parameters_and_never_formats_values():
    for metric in metrics.REGISTRY.values():
        assert "{" not in metric.sql.replace("{}", "").replace("{'", ""), metric.name  # no unfilled templates
        assert "%s" not in metric.sql and "?" not in metric.sql, metric.name


def test_metrics_never_imports_streamlit():
    for path in (TESTS.parent / "metrics").glob("*.py"):
        assert "streamlit" not in path.read_text(encoding="utf-8"), path.name


def test_fact_stages_parse_in_order():
    names = [name for name, _ in facts.parse_stages(facts.ALERT_FACTS)]
    defined = re.findall(r"^([a-z_]+) AS \(", facts.ALERT_FACTS, re.M)
    assert names == [name for name in defined if name in names]  # each stage, in the order written
    assert {"flaps", "signature_history", "verdict_in_force"} <= set(names)
    for name, select in facts.parse_stages(facts.ALERT_FACTS):
        assert re.sub(r"--[^\n]*", "", select).lstrip().upper().startswith("SELECT"), name

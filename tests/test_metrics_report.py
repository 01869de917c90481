"""The report CLI, run as a subprocess: JSON contract, Markdown and HTML escaping, exit codes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from metrics_fixtures import T0, alert, at, build, page

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = "<script>alert(1)</script> disk | full [click](http://evil.example) <img src=x>"
CONTRACT = [
    "period", "team", "alerts", "tta_median_s", "tta_mean_s", "tta_p90_s", "ttr_median_s", "ttr_mean_s",
    "ttr_p90_s", "unacknowledged", "auto_resolved", "transient", "flaps", "interruptions",
    "business_hours_interruptions", "off_hours_interruptions", "sleep_interruptions", "disturbed_nights",
    "new_signature_share", "actionable_rate", "noisy", "reviews", "in_progress", "targets", "fix_effects",
    "generated",
]
NOISY_KEYS = ["signature", "alerts", "transient", "flaps", "unacknowledged", "noise_ratio", "ttr_median_s",
              "interruptions", "sleep_interruptions"]


@pytest.fixture
def db(tmp_path):
    hostile = alert(at(60), ack_s=120, resolve_s=720, title=HOSTILE, signature="api|<script>x | y")
    quick = alert(at(600), resolve_s=60, team="web", signature="web|quick")
    return build(tmp_path / "report.duckdb", alerts=[hostile, quick], notifications=[page(hostile, "ann")])


def run(tmp_path, *args: str, **environ: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("ALERTHYGIENE_DB", "ALERTHYGIENE_READ_MEMORY")}
    env["PYTHONPATH"] = str(ROOT)
    env.update(environ)
    return subprocess.run([sys.executable, "-m", "metrics", *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)


def test_json_report_keys_and_figures(tmp_path, db):
    done = run(tmp_path, "report", "--db", db, "--sprint", T0.date().isoformat(), "--format", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert list(report) == CONTRACT
    assert report["period"] == {"from": "2026-03-02T00:00:00+00:00", "to": "2026-03-16T00:00:00+00:00"}
    assert report["team"] is None and report["alerts"] == 2
    assert report["tta_median_s"] == 120 and report["ttr_median_s"] == pytest.approx((720 + 60) / 2)
    assert report["transient"] == 1 and report["unacknowledged"] == 1
    assert report["interruptions"] == 2  # ann by phone; the web alert by fallback to unknown
    assert report["actionable_rate"] is None and report["auto_resolved"] is None
    assert [list(row) for row in report["noisy"]] == [NOISY_KEYS, NOISY_KEYS]
    assert report["reviews"] == [] and report["in_progress"] is False and report["targets"] == {}
    assert report["fix_effects"] == []  # nothing reviewed or marked done in this history
    assert list(report["generated"]) == ["at", "database", "sources"]
    assert report["generated"]["database"] == db and "pagerduty" in report["generated"]["sources"]


def test_json_report_for_a_team_and_a_custom_period(tmp_path, db):
    done = run(tmp_path, "report", "--db", db, "--team", "web", "--from", "2026-03-02", "--to", "2026-03-03",
               "--format", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["team"] == "web" and report["alerts"] == 1 and report["transient"] == 1
    assert report["period"]["to"] == "2026-03-03T00:00:00+00:00"
    assert [row["signature"] for row in report["noisy"]] == ["web|quick"]


def test_markdown_report_escapes_alert_text_and_shows_formulas(tmp_path, db):
    done = run(tmp_path, "report", "--db", db, "--sprint", "2026-03-05")
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert "<script>" not in text and "<img" not in text
    assert not re.search(r"(?<!\\)\]\(http", text)  # no live link: the bracket is escaped
    assert r"\[click\]" in text
    assert r"disk \| full" in text
    assert "&lt;script>" in text  # a tag-like '<' is escaped, a plain one ('p99 < 2 s') is not
    for section in ("## Headline", "## Decisions", "### Verdicts and notes", "### Action items",
                    "### Reviewed alerts still firing", "## Noisiest alerts", "## Glossary"):
        assert f"\n{section}\n" in text
    # Formulas live in the glossary, once each, not beside every row.
    assert text.count("count of alerts created in the period") == 1
    assert text.index("## Glossary") < text.index("count of alerts created in the period")
    assert "from database " in text


def test_html_report_escapes_alert_text(tmp_path, db):
    done = run(tmp_path, "report", "--db", db, "--sprint", "2026-03-05", "--format", "html")
    assert done.returncode == 0, done.stderr
    assert "<script>" not in done.stdout and "<img" not in done.stdout
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in done.stdout
    assert done.stdout.startswith("<!DOCTYPE html>")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--team", "nope"], "known teams: core, web"),
        (["--sprint", "2026-13-01"], "--sprint"),
        (["--from", "2026-03-01"], "--from and --to go together"),
        (["--from", "2026-03-05", "--to", "2026-03-01"], "must be after"),
        (["--format", "pdf"], "invalid choice"),
    ],
)
def test_bad_usage_exits_2_with_one_line(tmp_path, db, args, message):
    done = run(tmp_path, "report", "--db", db, *args)
    assert done.returncode == 2
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_missing_database_and_bad_config_exit_2(tmp_path, db):
    missing = run(tmp_path, "report", "--db", str(tmp_path / "none.duckdb"))
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    assert not (tmp_path / "none.duckdb").exists()
    bad = tmp_path / "bad.toml"
    bad.write_text("[thresholds]\nflap_s = -1\n", encoding="utf-8")
    config = run(tmp_path, "report", "--db", db, "--config", str(bad))
    assert config.returncode == 2 and "thresholds.flap_s" in config.stderr


def test_read_memory_is_a_size_and_a_small_one_gives_the_same_report(tmp_path, db):
    """ALERTHYGIENE_READ_MEMORY caps what a read holds (DuckDB spills past it); anything but a size is
    bad usage, in one line."""
    wrong = run(tmp_path, "report", "--db", db, ALERTHYGIENE_READ_MEMORY="lots")
    assert wrong.returncode == 2 and wrong.stdout == ""
    assert wrong.stderr.strip() == ("python -m metrics: error: ALERTHYGIENE_READ_MEMORY: expected a size such as "
                                    "2GB or 500MB, got 'lots'")
    args = ("report", "--db", db, "--sprint", T0.date().isoformat(), "--format", "json")
    small, default = run(tmp_path, *args, ALERTHYGIENE_READ_MEMORY="64MB"), run(tmp_path, *args)
    assert small.returncode == default.returncode == 0, small.stderr + default.stderr
    assert {**json.loads(small.stdout), "generated": None} == {**json.loads(default.stdout), "generated": None}
    # A read that cannot fit the cap (not every operator spills) is read again under DuckDB's own.
    tiny = run(tmp_path, *args, ALERTHYGIENE_READ_MEMORY="1MB")
    assert tiny.returncode == 0, tiny.stderr
    assert "reading again without that cap" in tiny.stderr and "Traceback" not in tiny.stderr
    assert {**json.loads(tiny.stdout), "generated": None} == {**json.loads(default.stdout), "generated": None}


def test_help(tmp_path):
    done = run(tmp_path, "report", "--help")
    assert done.returncode == 0 and "--sprint" in done.stdout and "Exit codes" in done.stdout

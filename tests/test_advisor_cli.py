"""`python -m metrics advise`: a patch that applies as it is, checked by the real tools, with the replay's figures."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
import yaml
from advisor_fixtures import history
from metrics_fixtures import T0, build

from tests.am_servers import free_port
from tests.conftest import ROOT, require_tool

FIXTURES = ROOT / "tests" / "fixtures" / "advisor"
SPRINT = T0.date().isoformat()


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> str:
    rows, reviews = history()
    return build(tmp_path_factory.mktemp("advise") / "a.duckdb", alerts=rows, reviews=reviews)


@pytest.fixture
def workdir(tmp_path):
    """A copy of the fixture configuration, as a team's repository would hold it."""
    shutil.copytree(FIXTURES / "rules", tmp_path / "rules")
    shutil.copy(FIXTURES / "alertmanager.yml", tmp_path / "alertmanager.yml")
    return tmp_path


def advise(db: str, *args: str, cwd=None, config=None) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "metrics", "advise", "--db", db, "--sprint", SPRINT, *args]
    if config:
        argv += ["--config", str(config)]
    env = {"PYTHONPATH": str(ROOT), "PATH": __import__("os").environ["PATH"]}
    return subprocess.run(argv, capture_output=True, text=True, timeout=240, cwd=cwd or ROOT, env=env)


def test_advice_as_json_with_the_replay_of_each_kind(db, workdir):
    done = advise(db, "--rules", "rules", "--alertmanager-config", "alertmanager.yml", "--format", "json",
                  cwd=workdir)  # fmt: skip
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    assert plan["period"]["from"].startswith(SPRINT) and plan["team"] is None
    by_kind = {s["kind"]: s for s in plan["suggestions"] if s["provider"] == "prometheus"}
    hold = by_kind["hold_down"]
    # 6 of 8 resolved within 2.5 min unattended; the two outages were reviewed actionable.
    assert (hold["pages_before"], hold["pages_after"], hold["attended_delayed"]) == (8, 2, 2)
    assert hold["figures"]["hold_s"] == 300 and "for: 5m → 10m" in hold["title"]
    assert hold["warning"] == "This would delay 2 acknowledged or actionable alerts by 5 min."
    keep = by_kind["keep_firing"]
    # The 90th percentile of the gaps 3, 3, 3, 3 and 12 min is 8.4 min: nine minutes; the last gap stays.
    assert (keep["pages_before"], keep["pages_after"], keep["figures"]["keep_firing_s"]) == (6, 2, 540)
    assert "keep_firing_for: 1m → 9m" in keep["title"]
    group = by_kind["group"]
    assert sorted(group["signatures"]) == ["CheckoutLatency|checkout", "HighErrorRate|checkout"]
    # The route groups by alertname, cluster and service now: each alertname pages alone (10); grouped by
    # service within 30 s, once per incident (5).
    assert (group["pages_before"], group["pages_after"]) == (10, 5)
    assert group["figures"]["group_by"] == ["service", "severity"] and group["figures"]["group_wait_s"] == 30
    inhibit = by_kind["inhibit"]
    assert inhibit["signatures"] == ["PodCrash|payments"] and inhibit["figures"]["equal"] == ["node"]
    assert (inhibit["pages_before"], inhibit["pages_after"]) == (7, 1)
    pager = next(s for s in plan["suggestions"] if s["provider"] == "pagerduty")
    assert pager["kind"] == "hold_down" and "Auto-pause incident notifications" in pager["provider_settings"]
    assert pager["patch"] is None
    saved = [s["pages_saved"] for s in plan["suggestions"]]
    assert saved == sorted(saved, reverse=True)
    checks = {f["path"]: [c["ok"] for c in f["checks"]] for f in plan["files"]}
    assert checks == {"rules/api.yaml": [True], "rules/instances.yml": [True], "alertmanager.yml": [True]}


def test_the_diff_applies_as_it_is_and_the_result_passes_the_real_tools(db, workdir):
    git = require_tool("git")
    done = advise(db, "--rules", "rules", "--alertmanager-config", "alertmanager.yml", cwd=workdir)
    assert done.returncode == 0, done.stderr
    patch = workdir / "advice.patch"
    patch.write_text(done.stdout)
    header = done.stdout.split("\n--- a/")[0].splitlines()
    assert all(line.startswith("#") for line in header) and "passes" in done.stdout
    applied = subprocess.run([git, "apply", "--verbose", str(patch)], cwd=workdir, capture_output=True, text=True)
    assert applied.returncode == 0, applied.stderr
    rules = yaml.safe_load((workdir / "rules" / "instances.yml").read_text())
    assert rules["groups"][0]["rules"][0]["for"] == "10m"
    api = {r.get("alert"): r for r in yaml.safe_load((workdir / "rules" / "api.yaml").read_text())["groups"][0]["rules"]}
    assert api["QueueBacklog"]["keep_firing_for"] == "9m" and api["QueueBacklog"]["for"] == "2m"
    am = yaml.safe_load((workdir / "alertmanager.yml").read_text())
    assert am["inhibit_rules"][-1] == {
        "source_matchers": ['alertname="NodeDown"', 'job="kubelet"', 'severity="critical"'],
        "target_matchers": ['alertname="PodCrash"', 'namespace="payments"', 'severity="warning"'],
        "equal": ["node"]}  # fmt: skip
    assert am["route"]["routes"][0]["matchers"] == ['alertname=~"CheckoutLatency|HighErrorRate"',
                                                     'service="checkout"', 'severity="page"']  # fmt: skip
    promtool, amtool = require_tool("promtool"), require_tool("amtool")
    for path in ("rules/instances.yml", "rules/api.yaml"):
        checked = subprocess.run([promtool, "check", "rules", path], cwd=workdir, capture_output=True, text=True)
        assert checked.returncode == 0, checked.stdout + checked.stderr
    checked = subprocess.run([amtool, "check-config", "alertmanager.yml"], cwd=workdir, capture_output=True,
                             text=True)  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    # Advised again over the same history, the applied rule moves on, its comment replaced, not stacked.
    again = advise(db, "--rules", "rules", cwd=workdir)
    assert "\n-    # alert-hygiene: 2026-03-02..2026-03-15: for 5m -> 10m: " in again.stdout
    assert "\n+    # alert-hygiene: 2026-03-02..2026-03-15: for 10m -> 15m: " in again.stdout


def test_yaml_gives_the_patched_files_whole(db, workdir):
    done = advise(db, "--rules", "rules/instances.yml", "--format", "yaml", cwd=workdir)
    assert done.returncode == 0, done.stderr
    body = done.stdout.split("# rules/instances.yml, patched\n", 1)[1]
    assert yaml.safe_load(body)["groups"][0]["rules"][0]["for"] == "10m"
    assert "no patch: your Alertmanager configuration was not given" in done.stdout  # grouping, inhibition: words only


def test_without_configuration_the_advice_is_said_not_patched(db):
    done = advise(db)
    assert done.returncode == 0, done.stderr
    assert "\n--- a/" not in done.stdout and "no patch: your Prometheus rule files were not given" in done.stdout
    assert "In your paging provider: On service ledger: Auto-pause incident notifications" in done.stdout


def test_a_patched_file_failing_its_check_exits_1_and_says_so(db, tmp_path):
    broken = tmp_path / "rules.yml"
    broken.write_text("groups:\n- name: g\n  rules:\n  - alert: InstanceDown\n    expr: up ==\n"
                      "    labels: {severity: page}\n")  # fmt: skip
    done = advise(db, "--rules", str(broken), cwd=tmp_path)
    assert done.returncode == 1
    assert "promtool check rules FAILS" in done.stdout and "the patched" in done.stderr
    assert "(it fails without the patch too)" in done.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rules", "nowhere"], "nowhere: no such file or directory"),
        (["--alertmanager-config", "missing.yml"], "missing.yml: no such file"),
        (["--rules", "rules", "--prometheus", "http://x"], "--rules and --prometheus: give one of them"),
        (["--prometheus", "prometheus:9090"], "--prometheus must be an http:// or https:// URL"),
        (["--team", "nobody"], "unknown team 'nobody'"),
        (["--format", "xml"], "invalid choice: 'xml'"),
    ],
)
def test_bad_usage_gets_one_line_and_exit_2(db, workdir, args, message):
    done = advise(db, *args, cwd=workdir)
    assert done.returncode == 2 and done.stdout == ""
    assert message in done.stderr and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_an_unreachable_prometheus_exits_1(db, tmp_path):
    config = tmp_path / "alerthygiene.toml"
    config.write_text("[providers.prometheus]\nmax_attempts = 1\n")
    done = advise(db, "--prometheus", f"http://127.0.0.1:{free_port()}", config=config)
    assert done.returncode == 1 and "prometheus: GET /api/v1/rules failed" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_long_query_never_draws_on_the_output(db):
    """DuckDB draws a progress bar on stdout after two seconds of a query: a JSON or diff would break."""
    import store

    with store.reading(db) as con:
        assert con.execute("SELECT current_setting('enable_progress_bar')").fetchone() == (False,)

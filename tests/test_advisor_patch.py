"""The advisor's patches: only the changed lines change, the result says what was meant, real promtool and amtool pass it."""

from __future__ import annotations

import copy
import difflib
import subprocess

import pytest
import yaml

from advisor import durations
from advisor.amconfig import AmConfig, Matcher, parse_matchers
from advisor.rules import COMMENT, RuleSet, read_rule_file, set_duration
from advisor.yamlpatch import PatchError
from tests.conftest import ROOT, require_tool

FIXTURES = ROOT / "tests" / "fixtures" / "advisor"


def changes(before: str, after: str) -> tuple[list[str], list[str]]:
    """(lines removed, lines added) between two texts."""
    removed, added = [], []
    for line in difflib.ndiff(before.splitlines(), after.splitlines()):
        if line.startswith("- "):
            removed.append(line[2:])
        elif line.startswith("+ "):
            added.append(line[2:])
    return removed, added


def promtool(text: str, tmp_path, name: str = "rules.yml") -> str:
    binary = require_tool("promtool")
    path = tmp_path / name
    path.write_text(text)
    done = subprocess.run([binary, "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def amtool(*args: str) -> subprocess.CompletedProcess:
    binary = require_tool("amtool")
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=60)


def rules_of(document: dict) -> dict[str, dict]:
    return {r["alert"]: r for g in document["groups"] for r in g["rules"] if "alert" in r}


# --- rule files ------------------------------------------------------------------------------------


def test_rule_files_are_found_with_their_rules_labels_and_durations():
    ruleset = RuleSet.from_paths([FIXTURES / "rules"])
    assert [f.path.removeprefix(str(FIXTURES) + "/") for f in ruleset.files] == [
        "rules/api.yaml", "rules/instances.yml", "rules/kube/prometheusrule.yaml"]  # no kustomization
    found = {r.alert: (r.group, r.labels, r.for_s, r.keep_firing_s) for r in ruleset.rules}
    assert found == {
        "HighErrorRate": ("api", {"severity": "page", "service": "checkout"}, 0.0, 0.0),
        "QueueBacklog": ("api", {"severity": "ticket", "service": "checkout"}, 120.0, 60.0),
        "CheckoutLatency": ("api", {"severity": "page", "service": "checkout"}, 0.0, 0.0),
        "InstanceDown": ("example", {"severity": "page"}, 300.0, 0.0),
        "APIHighRequestLatency": ("example", {}, 600.0, 0.0),
        "HighRequestLatency": ("latency", {"severity": "page"}, 600.0, 0.0),
        "ExampleAlert": ("./example.rules", {}, 0.0, 0.0),
        "NodeDown": ("node", {"severity": "critical"}, 60.0, 0.0),
    }  # fmt: skip
    assert ruleset.by_unit[f"{FIXTURES}/rules/instances.yml › example › InstanceDown"].alert == "InstanceDown"


def patch_all(ruleset: RuleSet) -> None:
    rule = {r.alert: r for r in ruleset.rules}
    set_duration(rule["InstanceDown"], "for", 600, "for 5m -> 10m: 14 of 20 alerts resolved within 5m")
    set_duration(rule["APIHighRequestLatency"], "keep_firing_for", 240, "keep_firing_for 0s -> 4m")
    set_duration(rule["HighRequestLatency"], "for", 900, "for 10m -> 15m")
    set_duration(rule["HighErrorRate"], "for", 300, "for 0s -> 5m")
    set_duration(rule["HighErrorRate"], "keep_firing_for", 120, "keep_firing_for 0s -> 2m")
    set_duration(rule["QueueBacklog"], "for", 420, "for 2m -> 7m")
    set_duration(rule["QueueBacklog"], "keep_firing_for", 240, "keep_firing_for 1m -> 4m")
    set_duration(rule["CheckoutLatency"], "for", 60, "for 0s -> 1m")
    set_duration(rule["ExampleAlert"], "for", 120, "for 0s -> 2m")
    set_duration(rule["NodeDown"], "for", 180, "for 1m -> 3m")


def test_patched_rule_files_change_only_the_lines_they_must(tmp_path):
    ruleset = RuleSet.from_paths([FIXTURES / "rules"])
    patch_all(ruleset)
    by_name = {f.path.rsplit("/", 1)[-1]: f for f in ruleset.files}
    for rule_file in ruleset.files:
        before, after = rule_file.document.text, rule_file.patched()
        removed, added = changes(before, after)
        assert any(line.lstrip().startswith(COMMENT) for line in added)
        assert all(line.lstrip().startswith(("for:", "keep_firing_for:", COMMENT, "- {alert"))
                   for line in added), added  # fmt: skip
        assert all(line.lstrip().startswith(("for:", "keep_firing_for:", "- {alert")) for line in removed), removed
    instances = by_name["instances.yml"]
    removed, added = changes(instances.document.text, instances.patched())
    assert removed == ["    for: 5m", "    for: 10m"]
    assert added == [
        "    # alert-hygiene: for 5m -> 10m: 14 of 20 alerts resolved within 5m", "    for: 10m",
        "    # alert-hygiene: keep_firing_for 0s -> 4m", "    keep_firing_for: 4m",
        "    # alert-hygiene: for 10m -> 15m", "    for: 15m",
    ]  # fmt: skip
    api = by_name["api.yaml"]
    removed, added = changes(api.document.text, api.patched())
    assert '        for: "7m"' in added and "        keep_firing_for: 4m" in added  # the quotes kept
    assert any("CheckoutLatency" in line and "for: 1m}" in line for line in added)


def test_patched_rule_files_say_what_was_meant_and_pass_promtool(tmp_path):
    ruleset = RuleSet.from_paths([FIXTURES / "rules"])
    patch_all(ruleset)
    expected = {"InstanceDown": {"for": "10m"}, "APIHighRequestLatency": {"keep_firing_for": "4m"},
                "HighRequestLatency": {"for": "15m"}, "HighErrorRate": {"for": "5m", "keep_firing_for": "2m"},
                "QueueBacklog": {"for": "7m", "keep_firing_for": "4m"}, "CheckoutLatency": {"for": "1m"},
                "ExampleAlert": {"for": "2m"}, "NodeDown": {"for": "3m"}}  # fmt: skip
    for rule_file in ruleset.files:
        before = [d for d in yaml.safe_load_all(rule_file.document.text) if d]
        after = [d for d in yaml.safe_load_all(rule_file.patched()) if d]
        want = copy.deepcopy(before)
        for document in want:
            for group in (document.get("spec") or document)["groups"]:
                for rule in group["rules"]:
                    rule.update(expected.get(rule.get("alert"), {}))
        assert after == want, rule_file.path
        for index, groups in enumerate(rule_file.rule_groups(rule_file.patched())):
            assert "SUCCESS" in promtool(yaml.safe_dump(groups), tmp_path, f"{index}.yml")
    assert "SUCCESS: 3 rules" in promtool(next(f for f in ruleset.files if "instances" in f.path).patched(),
                                          tmp_path)  # fmt: skip


def test_a_second_patch_replaces_its_own_comment(tmp_path):
    text = (FIXTURES / "rules" / "instances.yml").read_text()
    first = read_rule_file("instances.yml", text)
    set_duration(first.rules[0], "for", 600, "first advice")
    second = read_rule_file("instances.yml", first.patched())
    set_duration(second.rules[0], "for", 900, "second advice")
    final = second.patched()
    assert final.count(COMMENT) == 1 and "second advice" in final and "for: 15m" in final
    removed, added = changes(text, final)
    assert removed == ["    for: 5m"] and added == ["    # alert-hygiene: second advice", "    for: 15m"]


def test_windows_line_endings_stay_windows_line_endings(tmp_path):
    text = (FIXTURES / "rules" / "api.yaml").read_text().replace("\n", "\r\n")
    rule_file = read_rule_file("api.yaml", text)
    for rule in rule_file.rules:
        set_duration(rule, "for", 300, f"{rule.alert} held down")
    after = rule_file.patched()
    assert after.count("\n") == after.count("\r\n") and after.count(COMMENT) == 3
    assert {r["alert"]: r.get("for") for r in rules_of(yaml.safe_load(after)).values()} == {
        "HighErrorRate": "5m", "QueueBacklog": "5m", "CheckoutLatency": "5m"}  # fmt: skip


def test_rule_files_the_advisor_cannot_read_get_one_line():
    with pytest.raises(PatchError, match=r"^broken.yml: not valid YAML at line 4: ") as caught:
        read_rule_file("broken.yml", "groups:\n  - name: x\n    rules: [\n")
    assert "\n" not in str(caught.value)
    with pytest.raises(PatchError, match=r"rule Bad: not a duration: 'soon'"):
        read_rule_file("bad.yml", "groups:\n- name: g\n  rules:\n  - alert: Bad\n    expr: up\n    for: soon\n")
    with pytest.raises(PatchError, match="no such file or directory"):
        RuleSet.from_paths([FIXTURES / "nowhere"])


def test_a_rule_whose_for_comes_from_an_anchor_is_not_patched_behind_its_back():
    text = ("defaults: &slow {for: 10m}\ngroups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n"
            "    <<: *slow\n")  # fmt: skip
    rule_file = read_rule_file("anchored.yml", text)
    with pytest.raises(PatchError, match=r"from a YAML anchor or merge \(<<\); change its for by hand"):
        set_duration(rule_file.rules[0], "for", 900, "x")


def test_rules_rebuilt_from_the_prometheus_api_answer():
    data = {"groups": [{
        "name": "api", "file": "/etc/prometheus/rules/api.yml", "interval": 30,
        "rules": [
            {"type": "recording", "name": "job:up:sum", "query": "sum by (job) (up)"},
            {"type": "alerting", "name": "Down", "query": "up == 0", "duration": 300, "keepFiringFor": 60,
             "labels": {"severity": "page"}, "annotations": {"summary": "{{ $labels.job }} down"}},
        ]}]}  # fmt: skip
    ruleset = RuleSet.from_api(data, "http://prometheus:9090")
    [rule] = ruleset.rules
    assert (rule.file.path, rule.group, rule.alert, rule.for_s, rule.keep_firing_s, rule.labels) == (
        "/etc/prometheus/rules/api.yml", "api", "Down", 300.0, 60.0, {"severity": "page"})
    assert yaml.safe_load(rule.file.document.text)["groups"][0]["rules"][0] == {
        "record": "job:up:sum", "expr": "sum by (job) (up)"}


def test_durations_read_and_written_as_prometheus_does():
    assert [durations.parse(t) for t in ("5m", "1h30m", "0", "90s", "1d", "", None)] == [
        300, 5400, 0, 90, 86400, None, None]
    assert [durations.format(s) for s in (0, 45, 300, 5400, 3630, 7200)] == [
        "0s", "45s", "5m", "1h30m", "1h0m30s", "2h"]
    with pytest.raises(ValueError):
        durations.parse("5 minutes")


# --- Alertmanager configuration ------------------------------------------------------------------------


def test_matchers_are_read_as_alertmanager_reads_them():
    assert parse_matchers('service =~ "database|db-.*"') == [Matcher("service", "=~", "database|db-.*")]
    assert parse_matchers('{severity!="info", team="a,b"}') == [Matcher("severity", "!=", "info"),
                                                                Matcher("team", "=", "a,b")]  # fmt: skip
    assert parse_matchers("env=prod") == [Matcher("env", "=", "prod")]
    regex = Matcher("service", "=~", "db|cache")
    assert regex.matches({"service": "db"}) and not regex.matches({"service": "db2"})  # anchored
    assert Matcher("team", "=", "").matches({}) and Matcher("team", "!~", "a.*").matches({"team": "b"})
    assert Matcher("summary", "=", 'say "hi" \\ bye').text() == 'summary="say \\"hi\\" \\\\ bye"'


ROUTED = [
    {"service": "database", "owner": "team-Y"}, {"service": "foo1", "severity": "critical"},
    {"service": "foo2"}, {"service": "files", "severity": "critical"}, {"service": "checkout"},
    {"service": "db-7", "severity": "page"}, {"service": "db-7", "severity": "info"},
]  # fmt: skip


@pytest.mark.parametrize("name", ["alertmanager.yml", "alertmanager_matchers.yml"])
def test_routing_agrees_with_amtool(name):
    config = AmConfig.read(str(FIXTURES / name))
    for labels in ROUTED:
        ours = [route.receiver_name for route in config.routes_for(labels)]
        done = amtool("config", "routes", "test", f"--config.file={FIXTURES / name}",
                      *(f"{k}={v}" for k, v in labels.items()))  # fmt: skip
        assert done.stdout.strip() == ",".join(ours), labels


def test_alertmanager_patch_adds_inhibit_rules_and_routes_and_nothing_else(tmp_path):
    config = AmConfig.read(str(FIXTURES / "alertmanager.yml"))
    database = config.route_for({"service": "database", "owner": "team-X"})
    assert database.path == "route.routes[2].routes[0]" and database.group_by == ("alertname", "cluster", "database")
    config.add_route(database, [Matcher("alertname", "=~", "DbDown|DbSlow"), Matcher("service", "=", "database")],
                     ["cluster", "service"], 60, "group DbDown DbSlow: 16 pages -> 6")  # fmt: skip
    config.add_inhibit_rule([Matcher("alertname", "=", "NodeDown")], [Matcher("alertname", "=", "PodCrash")],
                            ["node"], "6 of 8 PodCrash pages came while NodeDown fired")  # fmt: skip
    before, after = config.document.text, config.document.result()
    removed, added = changes(before, after)
    assert removed == []
    assert added == [
        "      routes:",
        "        # alert-hygiene: group DbDown DbSlow: 16 pages -> 6",
        "        - matchers:",
        "            - 'alertname=~\"DbDown|DbSlow\"'",
        "            - 'service=\"database\"'",
        "          group_by: [cluster, service]",
        "          group_wait: 1m",
        "# alert-hygiene: 6 of 8 PodCrash pages came while NodeDown fired",
        "- source_matchers:",
        "    - 'alertname=\"NodeDown\"'",
        "  target_matchers:",
        "    - 'alertname=\"PodCrash\"'",
        "  equal: [node]",
    ]  # fmt: skip
    path = tmp_path / "alertmanager.yml"
    path.write_text(after)
    done = amtool("check-config", str(path))
    assert done.returncode == 0 and "2 inhibit rules" in done.stdout, done.stdout + done.stderr
    routed = {"service": "database", "owner": "team-X", "alertname": "DbDown"}
    assert amtool("config", "routes", "test", f"--config.file={path}",
                  *(f"{k}={v}" for k, v in routed.items())).stdout.strip() == "team-X-pager"  # fmt: skip
    patched = AmConfig(str(path), after)
    new = patched.route_for(routed)
    assert new.path == "route.routes[2].routes[0].routes[0]" and new.group_by == ("cluster", "service")
    assert new.group_wait_s == 60 and new.receiver_name == "team-X-pager"  # the same receiver as before


def test_routes_go_first_under_a_route_that_has_children(tmp_path):
    config = AmConfig.read(str(FIXTURES / "alertmanager_matchers.yml"))
    config.add_route(config.root, [Matcher("alertname", "=~", "A|B")], [], 30, "group A B")
    config.add_inhibit_rule([Matcher("alertname", "=", "A")], [Matcher("alertname", "=", "B")], [], "inhibit")
    after = config.document.result()
    document = yaml.safe_load(after)
    assert document["route"]["routes"][0] == {"matchers": ['alertname=~"A|B"'], "group_by": [], "group_wait": "30s"}
    assert document["inhibit_rules"] == [{"source_matchers": ['alertname="A"'], "target_matchers": ['alertname="B"']}]
    assert "  group_wait: 10s   # page fast" in after  # untouched
    path = tmp_path / "am.yml"
    path.write_text(after)
    assert amtool("check-config", str(path)).returncode == 0


@pytest.mark.parametrize("empty", ["inhibit_rules: []", "inhibit_rules:", "inhibit_rules: []  # none yet"])
def test_an_empty_inhibit_rules_list_gets_its_first_rule(tmp_path, empty):
    text = "route:\n  receiver: x\nreceivers:\n- name: x\n" + empty + "\n"
    config = AmConfig("am.yml", text)
    config.add_inhibit_rule([Matcher("alertname", "=", "A")], [Matcher("alertname", "=", "B")], ["job"], "why")
    after = config.document.result()
    assert yaml.safe_load(after)["inhibit_rules"] == [
        {"source_matchers": ['alertname="A"'], "target_matchers": ['alertname="B"'], "equal": ["job"]}]
    path = tmp_path / "am.yml"
    path.write_text(after)
    assert amtool("check-config", str(path)).returncode == 0


def test_alertmanager_configurations_the_advisor_cannot_patch_get_one_line():
    with pytest.raises(PatchError, match="no `route:` section"):
        AmConfig("x.yml", "receivers: []\n")
    flow = AmConfig("flow.yml", "route: {receiver: x}\nreceivers: [{name: x}]\ninhibit_rules: [{equal: [a]}]\n")
    with pytest.raises(PatchError, match="written as a flow list"):
        flow.add_inhibit_rule([Matcher("alertname", "=", "A")], [Matcher("alertname", "=", "B")], [], "why")
    with pytest.raises(PatchError, match="cannot read the matcher"):
        AmConfig("bad.yml", "route:\n  receiver: x\n  routes:\n    - matchers: ['no operator']\n")


def test_every_fixture_passes_the_real_tools_as_it_is(tmp_path):
    for path in (FIXTURES / "rules").rglob("*.y*ml"):
        rule_file = read_rule_file(str(path), path.read_text())
        if rule_file is not None:
            for index, groups in enumerate(rule_file.rule_groups(path.read_text())):
                promtool(yaml.safe_dump(groups), tmp_path, f"{path.stem}{index}.yml")
    for name in ("alertmanager.yml", "alertmanager_matchers.yml"):
        assert amtool("check-config", str(FIXTURES / name)).returncode == 0


def test_secret_settings_are_masked_in_what_is_shown_never_in_the_patch_itself():
    from advisor.output import masked

    context = ("   pagerduty_configs:\n   - service_key: abc123\n+  # alert-hygiene: x\n   - routing_key: 'xyz'\n"
               "     api_url: https://hooks.slack.com/services/T0/B0/s3cr3t\n   http_config:\n"
               "     authorization:\n       type: Bearer\n       credentials: tok3n\n   summary: \"5m of it\"\n")
    shown = masked(context)
    for secret in ("abc123", "xyz", "s3cr3t", "tok3n"):
        assert secret not in shown
    assert "       type: Bearer" in shown and 'summary: "5m of it"' in shown and "# alert-hygiene: x" in shown
    assert shown.count("***") == 4


def test_an_empty_for_gets_its_value_after_the_colon(tmp_path):
    rule_file = read_rule_file("x.yml", "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: up\n    for:\n")
    set_duration(rule_file.rules[0], "for", 300, "held down")
    assert rule_file.patched().endswith("    # alert-hygiene: held down\n    for: 5m\n")
    assert "SUCCESS" in promtool(rule_file.patched(), tmp_path)

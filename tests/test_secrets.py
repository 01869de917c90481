"""Known tokens through every ingest path: never in logs, output, exceptions, the database, reports or pages."""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest
import requests
from streamlit.testing.v1 import AppTest

import settings
from ingest import cli
from tests.am_servers import start_receiver, wait_until
from tests.conftest import ROOT
from tests.provider_servers import (
    BASE_URLS,
    SECRETS,
    FakeOnCall,
    FakeOpsgenie,
    FakePagerDuty,
    Fault,
    all_text,
    oncall_history,
    opsgenie_history,
    pagerduty_history,
    serve,
)

TOKENS = {"pagerduty": "pdTOKEN-7f3a9c11", "opsgenie": "ogKEY-1b2c3d44", "oncall": "ocTOKEN-9e8d7c55"}
WEBHOOK_TOKEN, WRONG_TOKEN = "amBEARER-5a5a5a66", "amWRONG-0c0c0c77"
EVERY_TOKEN = [*TOKENS.values(), WEBHOOK_TOKEN, WRONG_TOKEN]
START = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)
SINCE, UNTIL = "2026-05-01", "2026-05-03"
PAGES = ["views/overview.py", "views/noisy.py", "views/retro.py", "views/advice.py", "views/wakeups.py",
         "views/response.py", "views/planner.py", "views/data_sources.py"]


def assert_clean(where: str, text: str) -> None:
    for token in EVERY_TOKEN:
        assert token not in text, f"{token} in {where}"


def fakes() -> dict:
    return {
        "pagerduty": FakePagerDuty(TOKENS["pagerduty"], pagerduty_history(30, START, 3600)),
        "opsgenie": FakeOpsgenie(TOKENS["opsgenie"], opsgenie_history(20, START, 3600)),
        "oncall": FakeOnCall(TOKENS["oncall"], oncall_history(20, START, 3600)),
    }


# Each case: what the fake does to every request (None: serves normally), and the secret it expects.
CASES = {"ok": None, "401": "wrong-secret", "500": Fault("500", "/", 1000), "timeout": Fault("slow", "/", 1000)}


def configure(tmp_path: Path) -> Path:
    config = tmp_path / "alerthygiene.toml"
    policy = 'wait_scale = 0.001\ntimeout_s = 0.3\nconnect_timeout_s = 1.0\nmax_attempts = 2\n'
    config.write_text("".join(f"[providers.{s}]\n{policy}" for s in TOKENS))
    return config


def sync_everything(monkeypatch, capsys, db: str, config: Path) -> str:
    """Each provider, each case, through the CLI's own main(); returns everything printed."""
    printed = []
    for source, fake in fakes().items():
        fake.slow_s = 0.6
        with serve(fake) as url:
            monkeypatch.setenv(SECRETS[source], TOKENS[source])
            monkeypatch.setenv(BASE_URLS[source], url)
            for case, change in CASES.items():
                fake.secret = change if isinstance(change, str) else TOKENS[source]
                fake.faults = [change] if isinstance(change, Fault) else []
                code = cli.main(["-v", "sync", "--db", db, "--config", str(config), "--source", source,
                                 "--since", SINCE, "--until", UNTIL])
                out = capsys.readouterr()
                assert code == (0 if case == "ok" else 1), (source, case, out.err)
                printed += [out.out, out.err]
    return "\n".join(printed)


def webhook_traffic(tmp_path: Path, db: str) -> str:
    """The receiver with a token: one right, one wrong, one missing; its own log at -v."""
    server = start_receiver(tmp_path / "receiver", db, token=WEBHOOK_TOKEN)
    body = (ROOT / "tests" / "fixtures" / "alertmanager" / "blinking_firing.json").read_bytes()
    try:
        for token, status in ((WEBHOOK_TOKEN, 200), (WRONG_TOKEN, 401), (None, 401)):
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            answer = requests.post(server.url + "/alertmanager", data=body, headers=headers, timeout=10)
            assert answer.status_code == status
            assert_clean(f"webhook answer {status}", answer.text + str(answer.headers))
        health = wait_until(lambda: (h := requests.get(server.url + "/healthz", timeout=5)).json()
                            ["spool_segments"] == 0 and h.text, timeout=30, what="the spool to load")
    finally:
        server.stop()
    return health + server.log.read_text(errors="replace")


def run_cli(*argv: str, **extra_env: str) -> str:
    env = {**os.environ, **{SECRETS[s]: t for s, t in TOKENS.items()}, "ALERTMANAGER_WEBHOOK_TOKEN": WEBHOOK_TOKEN,
           **extra_env}
    done = subprocess.run([sys.executable, "-m", *argv], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=180)
    return f"{done.returncode}\n{done.stdout}\n{done.stderr}"


def page_text(monkeypatch, db: str, page: str) -> str:
    monkeypatch.setenv("ALERTHYGIENE_DB", db)
    app = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
    app.run()
    app.switch_page(page).run()
    assert not app.exception
    return "\n".join(str(getattr(node, "proto", "")) for node in _nodes(app._tree))


def _nodes(node):
    yield node
    for child in getattr(node, "children", {}).values():
        yield from _nodes(child)


@pytest.mark.slow
def test_known_tokens_never_leave_the_environment(monkeypatch, capsys, caplog, tmp_path):
    caplog.set_level(logging.DEBUG)
    db, config = str(tmp_path / "alerts.duckdb"), configure(tmp_path)
    printed = sync_everything(monkeypatch, capsys, db, config)
    assert "HTTP 401" in printed and "HTTP 500" in printed and "no answer within" in printed  # the failures happened
    received = webhook_traffic(tmp_path, db)
    csv_import = run_cli("ingest", "-v", "import", str(ROOT / "tests" / "fixtures" / "pagerduty_incidents_export.csv"),
                         "--format", "pagerduty-csv", "--db", db)
    refused = {name: "http://127.0.0.1:9" for name in BASE_URLS.values()}  # nothing listens there
    failing = run_cli("ingest", "-v", "sync", "--db", db, "--config", str(config), "--since", SINCE, "--until", UNTIL,
                      **refused)
    status = run_cli("ingest", "status", "--db", db)
    reports = [run_cli("metrics", "report", "--db", db, "--from", SINCE, "--to", UNTIL, "--format", fmt)
               for fmt in ("markdown", "json", "html")]
    for where, text in {"sync output": printed, "captured logs": caplog.text, "receiver": received,
                        "csv import": csv_import, "failing sync": failing, "status": status,
                        "reports": "\n".join(reports), "database": all_text(db)}.items():
        assert_clean(where, text)
    assert "pagerduty" in status and "opsgenie" in status and "oncall" in status and "alertmanager" in status
    pages = "\n".join(page_text(monkeypatch, db, page) for page in PAGES)
    assert_clean("dashboard pages", pages)
    assert "connection failed" in pages  # the Data page shows the last failures, without the tokens


def test_the_filter_redacts_messages_arguments_and_exceptions(monkeypatch, caplog):
    monkeypatch.setenv("PAGERDUTY_TOKEN", TOKENS["pagerduty"])
    caplog.set_level(logging.DEBUG)
    settings.install_redaction()
    log = logging.getLogger("ingest.test")
    log.info("headers: %s", {"Authorization": f"Token token={TOKENS['pagerduty']}"})
    log.warning("raw header Authorization: GenieKey %s", "someone-elses-key")
    log.debug("Bearer %s and Token token=%s", "abc.def.ghi", "zzz999")
    try:
        raise RuntimeError(f"boom with {TOKENS['pagerduty']}")
    except RuntimeError:
        log.exception("failed")
    for token in (TOKENS["pagerduty"], "someone-elses-key", "abc.def.ghi", "zzz999"):
        assert token not in caplog.text
    assert caplog.text.count("***") >= 5 and "boom with ***" in caplog.text


# --- the outcome: chat webhooks, Slack's signing secret, Jira and GitHub tokens -----------------------

OUTCOME = {
    "SLACK_WEBHOOK_URL": "slackHOOK-3e2d1c0b", "SLACK_SIGNING_SECRET": "slackSIGN-7a6b5c4d",
    "TEAMS_WEBHOOK_URL": "teamsSIG-9f8e7d6c", "DIGEST_WEBHOOK_URL": "digestHOOK-5b4a3928",
    "JIRA_API_TOKEN": "jiraTOKEN-1d2e3f40", "GITHUB_TOKEN": "ghTOKEN-6c5d4e3f",
}
JIRA_BASIC = base64.b64encode(f"bot@example.com:{OUTCOME['JIRA_API_TOKEN']}".encode()).decode()


def outcome_clean(where: str, text: str) -> None:
    for value in [*OUTCOME.values(), JIRA_BASIC, "wrongHOOK-00aa11bb"]:
        assert value not in text, f"{value} in {where}"


def outcome_runs(monkeypatch, capsys, db: str, config: Path) -> str:
    """post to each destination and tickets to each system: working, refused, failing and unreachable."""
    from metrics import __main__ as metrics_cli
    from tests.outcome_servers import FakePlainWebhook, FakeSlack, FakeTeamsWorkflow, serve
    from tests.ticket_servers import FakeGitHub, FakeJira

    printed, week = [], ["--db", db, "--config", str(config), "--sprint", SINCE]
    slack = FakeSlack(token_path=f"/services/T1/B1/{OUTCOME['SLACK_WEBHOOK_URL']}")
    teams = FakeTeamsWorkflow(sig=OUTCOME["TEAMS_WEBHOOK_URL"])
    plain = FakePlainWebhook(faults=[500] * 10)
    jira = FakeJira(token=OUTCOME["JIRA_API_TOKEN"])
    github = FakeGitHub(token=OUTCOME["GITHUB_TOKEN"])
    with serve(slack) as s, serve(teams) as t, serve(plain) as w, serve(jira) as j, serve(github) as g:
        cases = [
            ({"SLACK_WEBHOOK_URL": s + slack.token_path}, ["post", "--to", "slack", *week], 0),
            ({"SLACK_WEBHOOK_URL": s + "/services/T1/B1/wrongHOOK-00aa11bb"}, ["post", "--to", "slack", "--again",
                                                                            *week], 1),
            ({"TEAMS_WEBHOOK_URL": f"{t}{teams.path}?sig={OUTCOME['TEAMS_WEBHOOK_URL']}"},
             ["post", "--to", "teams", *week], 0),
            ({"TEAMS_WEBHOOK_URL": f"{t}{teams.path}?sig=wrongHOOK-00aa11bb"}, ["post", "--to", "teams", "--again",
                                                                             *week], 1),
            ({"DIGEST_WEBHOOK_URL": f"{w}/{OUTCOME['DIGEST_WEBHOOK_URL']}"}, ["post", "--to", "webhook", *week], 1),
            ({"DIGEST_WEBHOOK_URL": f"http://127.0.0.1:9/{OUTCOME['DIGEST_WEBHOOK_URL']}"},
             ["post", "--to", "webhook", *week], 1),
            ({"JIRA_URL": j, "JIRA_EMAIL": "bot@example.com"}, ["tickets", "--to", "jira", "--no-advisor",
                                                                 "--signature", "db|x", *week[:4]], 0),
            ({"JIRA_URL": j, "JIRA_EMAIL": "someone@example.com"}, ["tickets", "--to", "jira", "--no-advisor",
                                                                     *week[:4]], 1),
            ({"GITHUB_API_URL": g, "GITHUB_REPOSITORY": github.repository}, ["tickets", "--to", "github",
                                                                             "--no-advisor", "--signature", "db|x",
                                                                             *week[:4]], 0),
            ({"GITHUB_API_URL": "http://127.0.0.1:9", "GITHUB_REPOSITORY": github.repository},
             ["tickets", "--to", "github", *week[:4]], 1),
        ]
        for env, argv, expected in cases:
            for name, value in {**{k: v for k, v in OUTCOME.items() if k != "SLACK_WEBHOOK_URL"}, **env}.items():
                monkeypatch.setenv(name, value)
            code = metrics_cli.main(argv)
            out = capsys.readouterr()
            assert code == expected, (argv, out.err)
            printed += [out.out, out.err]
    assert len(slack.messages) == 1 and len(teams.posted) == 1 and len(jira.issues) == 1
    return "\n".join(printed)


def slack_presses(tmp_path: Path, db: str, monkeypatch) -> str:
    """The receiver with Slack's signing secret: a forged press and a signed one; its own log."""
    from outbound.slack_actions import signature

    monkeypatch.setenv("SLACK_SIGNING_SECRET", OUTCOME["SLACK_SIGNING_SECRET"])
    server = start_receiver(tmp_path / "slack-receiver", db, token=None)
    value = json.dumps({"signature": "db|x", "from": "2026-05-01T00:00:00+00:00", "to": "2026-05-15T00:00:00+00:00"})
    body = urlencode({"payload": json.dumps({"type": "block_actions", "user": {"username": "ana"}, "actions": [
        {"action_id": "verdict:0:noise", "value": value}]})}).encode()
    try:
        for secret, status in (("forged-secret-xyz", 401), (OUTCOME["SLACK_SIGNING_SECRET"], 200)):
            stamp = str(int(time.time()))
            answer = requests.post(server.url + "/slack/actions", data=body, timeout=10, headers={
                "X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature(secret, stamp, body)})
            assert answer.status_code == status
            outcome_clean("slack answer", answer.text + str(answer.headers))
        wait_until(lambda: "noise" in all_text(db), timeout=30, what="the verdict from Slack")
    finally:
        server.stop()
    return server.log.read_text(errors="replace")


@pytest.mark.slow
def test_outcome_secrets_never_leave_the_environment(monkeypatch, capsys, caplog, tmp_path):
    caplog.set_level(logging.DEBUG)
    db = str(tmp_path / "outcome.duckdb")
    config = tmp_path / "alerthygiene.toml"
    fast = 'wait_scale = 0.001\ntimeout_s = 0.5\nconnect_timeout_s = 0.5\nmax_attempts = 2\n'
    config.write_text('[outcome]\njira_project = "OPS"\n' + "".join(
        f"[providers.{name}]\n{fast}" for name in ("slack", "teams", "webhook", "jira", "github")))
    fake = FakePagerDuty(TOKENS["pagerduty"], pagerduty_history(10, START, 3600))
    with serve(fake) as url:
        monkeypatch.setenv(SECRETS["pagerduty"], TOKENS["pagerduty"])
        monkeypatch.setenv(BASE_URLS["pagerduty"], url)
        assert cli.main(["sync", "--db", db, "--source", "pagerduty", "--since", SINCE, "--until", UNTIL]) == 0
    printed = outcome_runs(monkeypatch, capsys, db, config)
    assert "HTTP 401" in printed and "HTTP 500" in printed and "connection failed" in printed
    received = slack_presses(tmp_path, db, monkeypatch)
    for where, text in {"outcome output": printed, "captured logs": caplog.text, "receiver": received,
                        "database": all_text(db)}.items():
        outcome_clean(where, text)

"""`python -m metrics post` and `tickets` on the demo history: what a team runs from cron."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import pytest
import reads
from conftest import DEMO_END
from outcome_servers import FakeSlack, serve
from ticket_servers import FakeGitHub

import metrics
from metrics import __main__ as cli
from settings import Settings

SPRINT = (DEMO_END.date().replace(day=10)).isoformat()  # a finished sprint of the demo


@pytest.fixture
def demo(demo_db, tmp_path):
    copy = str(tmp_path / "demo.duckdb")
    shutil.copy(demo_db, copy)
    return copy


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_post_sends_the_sprint_once_and_its_figures_are_the_reports(monkeypatch, capsys, demo):
    fake = FakeSlack()
    with serve(fake) as base:
        monkeypatch.setenv("SLACK_WEBHOOK_URL", base + fake.token_path)
        first = run(capsys, "post", "--to", "slack", "--db", demo, "--team", "payments", "--sprint", SPRINT)
        second = run(capsys, "post", "--to", "slack", "--db", demo, "--team", "payments", "--sprint", SPRINT)
    assert first[0] == 0 and first[1].startswith("posted the digest of payments, sprint of ")
    assert second[0] == 0 and "already; --again posts it again" in second[1]
    assert len(fake.messages) == 1
    period = metrics.sprint_period(Settings(), dt.date.fromisoformat(SPRINT))
    alerts = reads.summary(demo, period, "payments", settings=Settings())["alerts"]
    fields = next(b for b in fake.messages[0]["blocks"] if "fields" in b)["fields"]
    assert fields[0]["text"].startswith(f"*Alerts*\n{alerts:,}")
    assert base + fake.token_path not in first[1] + first[2]


def test_post_without_its_url_or_refused_is_one_line_and_an_exit_code(monkeypatch, capsys, demo):
    monkeypatch.delenv("TEAMS_WEBHOOK_URL", raising=False)
    code, out, err = run(capsys, "post", "--to", "teams", "--db", demo, "--sprint", SPRINT)
    assert code == 2 and err.strip() == ("python -m metrics: error: TEAMS_WEBHOOK_URL is not set: put the teams "
                                         "webhook's URL in it")
    fake = FakeSlack(archived=True)
    with serve(fake) as base:
        monkeypatch.setenv("SLACK_WEBHOOK_URL", base + fake.token_path)
        code, out, err = run(capsys, "post", "--to", "slack", "--db", demo, "--sprint", SPRINT)
    assert code == 1 and len(err.strip().splitlines()) == 1 and "channel_is_archived" in err
    assert fake.token_path not in err


def test_tickets_to_github_twice_opens_each_once_and_prints_their_status(monkeypatch, capsys, demo):
    fake = FakeGitHub()
    top = reads.fix_planner(demo, DEMO_END.date(), settings=Settings())["signature"].head(2).tolist()
    with serve(fake) as base:
        monkeypatch.setenv("GITHUB_API_URL", base)
        monkeypatch.setenv("GITHUB_TOKEN", fake.token)
        monkeypatch.setenv("GITHUB_REPOSITORY", fake.repository)
        args = ["tickets", "--to", "github", "--db", demo, "--no-advisor", *(a for s in top for a in ("--signature", s))]
        first = run(capsys, *args)
        second = run(capsys, *args)
    assert first[0] == 0 and first[1].startswith("github: opened 2, updated 0")
    assert second[0] == 0 and second[1].startswith("github: opened 0, updated 2")
    assert len([i for i in fake.issues.values() if "pull_request" not in i]) == 2
    lines = second[1].strip().splitlines()[1:]
    assert sorted(line.split("\t")[3] for line in lines) == sorted(top)
    assert all("\topen\thttps://github.com/acme/ops/issues/" in line for line in lines)
    assert fake.token not in json.dumps([first, second])


def test_tickets_to_jira_needs_its_project_and_credentials(monkeypatch, capsys, demo):
    for name in ("JIRA_URL", "JIRA_EMAIL", "JIRA_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    code, out, err = run(capsys, "tickets", "--to", "jira", "--db", demo)
    assert code == 2 and "JIRA_URL, JIRA_EMAIL, JIRA_API_TOKEN not set" in err
    monkeypatch.setenv("JIRA_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("JIRA_EMAIL", "bot@example.com")
    monkeypatch.setenv("JIRA_API_TOKEN", "jiraTOKEN-00")
    code, out, err = run(capsys, "tickets", "--to", "jira", "--db", demo)
    assert code == 2 and "outcome.jira_project is not set" in err

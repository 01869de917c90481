"""The Advisor page: suggestions ranked by pages saved with their replay and patch, accepted into the review."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest
from advisor_fixtures import history
from metrics_fixtures import T0, alert, build

import store
from tests.apptest import open_page
from tests.browser import chromium_page, screenshot, streamlit_server, wait_for_app
from tests.conftest import ROOT

PAGE = "views/advice.py"
FIXTURES = ROOT / "tests" / "fixtures" / "advisor"
SPRINT = {"from": T0.date().isoformat(), "to": "2026-03-16"}


@pytest.fixture(scope="module")
def history_db(tmp_path_factory) -> str:
    rows, reviews = history()
    rows.append(alert(T0 + dt.timedelta(hours=100), resolve_s=30, service="ledger",
                      signature="ledger|<b>boom</b> **#**", title="<b>boom</b> **3**"))  # fmt: skip
    return build(tmp_path_factory.mktemp("page") / "a.duckdb", alerts=rows, reviews=reviews)


@pytest.fixture
def team_repository(tmp_path, monkeypatch):
    """The working directory of a team whose alerthygiene.toml names its rule files and Alertmanager file."""
    shutil.copytree(FIXTURES / "rules", tmp_path / "rules")
    shutil.copy(FIXTURES / "alertmanager.yml", tmp_path / "alertmanager.yml")
    (tmp_path / "alerthygiene.toml").write_text('[advice]\nrules = "rules"\nalertmanager_config = "alertmanager.yml"\n')
    monkeypatch.chdir(tmp_path)
    return tmp_path


def reviews(db: str) -> list[tuple]:
    with store.reading(db) as con:
        return con.execute("SELECT signature, verdict, note, reviewer FROM reviews WHERE verdict = 'needs-tuning' "
                           "ORDER BY signature").fetchall()  # fmt: skip


def test_the_advisor_ranks_suggestions_with_replay_and_patch(monkeypatch, history_db, team_repository):
    app = open_page(monkeypatch, history_db, PAGE, **SPRINT)
    assert not app.exception, app.exception[0].value if app.exception else None
    assert app.title[0].value == "Advisor" and not app.error
    titles = [s.value for s in app.subheader]
    assert titles[0].startswith("1. Hide PodCrash \\(payments, warning\\) while NodeDown \\(kubelet, critical\\)")
    assert titles[-1] == "The whole patch"
    assert app.get("plotly_chart")
    patches = [c.value for c in app.code]
    assert any("+    for: 10m" in p and "a/rules/instances.yml" in p for p in patches)
    assert any("+- source_matchers:" in p for p in patches)
    passes = " ".join(s.value for s in app.success)
    assert "rules/instances.yml: promtool check rules passes" in passes
    assert "alertmanager.yml: amtool check-config passes" in passes
    # The hold-down delays two alerts someone acted on: said first, before the title.
    assert any("would delay 2 acknowledged or actionable alerts by 5 min" in w.value for w in app.warning)
    pages = {m.label: m.value for m in app.metric}
    assert pages["Suggestions"] == "6"
    # Five in full at a time (a browser draws thirty slowly); the sixth is a page further, its number kept.
    assert [t.split(".")[0] for t in titles[:-1]] == ["1", "2", "3", "4", "5"]
    pager = app.selectbox(key="advice_page_6")
    assert pager.options == ["1–5 of 6 (most pages saved)", "6 of 6"]
    app.button(key="advice_next").click().run()  # under the fifth: on to the next ones
    assert app.selectbox(key="advice_page_6").value == 5 and "advice_next" not in [b.key for b in app.button]
    titles = [s.value for s in app.subheader]
    assert len(titles) == 2 and titles[0].startswith("6. ") and titles[-1] == "The whole patch"
    # Alert text is shown as text, never as markup.
    assert any("\\<b\\>boom\\</b\\> \\*\\*\\#\\*\\*" in t for t in titles), titles


def test_a_suggestion_is_accepted_into_the_review_with_its_patch_as_the_note(monkeypatch, history_db, tmp_path,
                                                                             team_repository):  # fmt: skip
    db = str(tmp_path / "copy.duckdb")
    shutil.copy(history_db, db)
    app = open_page(monkeypatch, db, PAGE, **SPRINT)
    app.sidebar.text_input(key="reviewer").input("Dana")
    app.button(key="accept_1").click().run()
    assert not app.exception
    assert any(s.value.startswith("Accepted into the review\\: Hide PodCrash") for s in app.success)
    [(signature, verdict, note, reviewer)] = reviews(db)
    assert (signature, verdict, reviewer) == ("PodCrash|payments", "needs-tuning", "Dana")
    assert note.startswith("Hide PodCrash (payments, warning) while NodeDown (kubelet, critical) fires on the same "
                           "node: 7 → 1 pages")  # fmt: skip
    assert "+- source_matchers:" in note and "--- a/alertmanager.yml" in note
    again = open_page(monkeypatch, db, PAGE, **SPRINT)
    assert "In the review as needs-tuning, with this change as its note." in [c.value for c in again.caption]
    assert "accept_1" not in [b.key for b in again.button]
    assert again.selectbox(key="advice_page_6").options[0] == "1–5 of 6 (most pages saved) · 1 in the review"


def test_without_configuration_the_advice_is_in_words(monkeypatch, history_db, tmp_path):
    monkeypatch.chdir(tmp_path)
    app = open_page(monkeypatch, history_db, PAGE, **SPRINT)
    assert not app.exception and not app.code
    infos = " ".join(i.value for i in app.info)
    assert "Auto\\-pause incident notifications" in infos
    assert any("your Prometheus rule files were not given" in c.value for c in app.caption)


def test_a_period_with_nothing_to_advise_says_so(monkeypatch, tmp_path):
    db = build(tmp_path / "quiet.duckdb", alerts=[alert(T0, ack_s=60, resolve_s=3600)])
    app = open_page(monkeypatch, db, PAGE, **SPRINT)
    assert not app.exception
    assert any("No change to suggest" in s.value for s in app.success)


def test_a_broken_configuration_is_one_error_not_a_traceback(monkeypatch, history_db, team_repository):
    (team_repository / "alertmanager.yml").write_text("route: [\n")
    app = open_page(monkeypatch, history_db, PAGE, **SPRINT)
    assert not app.exception
    [error] = app.error
    assert error.value.startswith("Could not read the configuration alerthygiene.toml names: alertmanager.yml: "
                                  "not valid YAML")  # fmt: skip


@pytest.mark.browser
@pytest.mark.slow
def test_the_advisor_in_chromium(history_db, team_repository, tmp_path):
    db = str(tmp_path / "browser.duckdb")
    shutil.copy(history_db, db)
    query = "&".join(f"{k}={v}" for k, v in SPRINT.items())
    with streamlit_server(db, workdir=team_repository) as url, chromium_page(1400, 3400) as page:
        page.goto(f"{url}/advice?{query}")
        # The plan runs promtool and amtool on every patched file first: on a loaded machine that takes a while.
        wait_for_app(page, ready="[data-testid='stCode']", timeout_ms=150_000)
        assert page.locator("[data-testid='stException']").count() == 0
        body = page.inner_text("[data-testid='stMain']")
        assert "1. Hide PodCrash (payments, warning) while NodeDown (kubelet, critical) fires on the same node" in body
        labels = page.locator(".js-plotly-plot .ytick").all_text_contents()
        assert any("<b>boom</b>" in label for label in labels), labels  # shown as written in the chart's labels
        screenshot(page, "advisor")
        page.get_by_role("button", name="Next: 6 of 6").click()  # the sixth is drawn in full a page further
        wait_for_app(page, ready="text=6. ")
        headings = page.locator("[data-testid='stMain'] h3").all_inner_texts()
        assert [h.split(".")[0] for h in headings] == ["6", "The whole patch"], headings
        assert "<b>boom</b> **#**" in headings[0]  # shown as written
        assert page.locator("[data-testid='stMain'] b").count() == 0  # never as markup
        screenshot(page, "advisor-next")
        page.get_by_role("combobox", name="Suggestions shown in full").click()
        page.get_by_role("option", name="1–5 of 6 (most pages saved)").click()
        wait_for_app(page, ready="text=1. Hide PodCrash")
        page.get_by_role("button", name="Accept into the review").first.click()
        page.wait_for_selector("text=Accepted into the review", timeout=60_000)
        wait_for_app(page, ready="text=In the review as needs-tuning")
        assert reviews(db)[0][:2] == ("PodCrash|payments", "needs-tuning")
        screenshot(page, "advisor-accepted")


def test_secret_settings_near_a_change_are_masked_on_the_page_and_in_the_review(monkeypatch, history_db, tmp_path,
                                                                                  team_repository):  # fmt: skip
    (team_repository / "alertmanager.yml").write_text(
        "route:\n  receiver: pager\n  group_by: [alertname]\nreceivers:\n  - name: pager\n"
        "    pagerduty_configs:\n      - routing_key: R0UT1NG-KEY-0123456789\n")  # fmt: skip
    db = str(tmp_path / "secret.duckdb")
    shutil.copy(history_db, db)
    app = open_page(monkeypatch, db, PAGE, **SPRINT)
    shown = "\n".join(c.value for c in app.code)
    assert "+inhibit_rules:" in shown and "routing_key: ***" in shown and "R0UT1NG" not in shown
    assert "Secret settings in the lines around the change are masked here" in " ".join(c.value for c in app.caption)
    app.button(key="accept_1").click().run()
    [(_, _, note, _)] = reviews(db)
    assert "routing_key: ***" in note and "R0UT1NG" not in note

"""Access: with an [auth] section configured, no page shows data before login; without, pages open."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.apptest import new_app

AUTH = {
    "redirect_uri": "http://127.0.0.1:8501/oauth2callback",
    "cookie_secret": "a-long-random-cookie-secret-for-tests",
    "client_id": "alert-hygiene",
    "client_secret": "not-a-real-secret",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}
PAGES = ["views/overview.py", "views/noisy.py", "views/retro.py", "views/advice.py", "views/wakeups.py",
         "views/on_call.py", "views/response.py", "views/planner.py", "views/data_sources.py"]


def _app(monkeypatch, db: str, auth: dict | None) -> AppTest:
    app = new_app(monkeypatch, db)
    if auth is not None:
        app.secrets["auth"] = auth
    return app


def test_with_login_configured_no_page_shows_data_before_login(monkeypatch, demo_db):
    for page in PAGES:
        app = _app(monkeypatch, demo_db, AUTH).run()
        app.switch_page(page).run()
        assert not app.exception
        assert [b.label for b in app.button] == ["Log in"], page
        assert not app.metric and not app.dataframe and not app.get("plotly_chart"), page
        assert "database" not in app.session_state, "the database was not even opened"


def test_without_login_configured_pages_open(monkeypatch, demo_db):
    app = _app(monkeypatch, demo_db, None).run()
    assert not app.exception
    assert len(app.metric) == 5
    assert "Log in" not in [b.label for b in app.button]

"""Running the dashboard under Streamlit's AppTest, shared by the dashboard tests."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.conftest import DEMO_END, ROOT

DASHBOARD = str(ROOT / "dashboard.py")


def new_app(monkeypatch, db: str, **params: str) -> AppTest:
    """The dashboard on `db` with URL parameters `params`, not yet run."""
    monkeypatch.setenv("ALERTHYGIENE_DB", db)
    app = AppTest.from_file(DASHBOARD, default_timeout=120)
    for key, value in params.items():
        app.query_params[key] = value
    return app


def open_page(monkeypatch, db: str, page: str | None = None, **params: str) -> AppTest:
    """The dashboard run once, then switched to `page` (a views/*.py path) when given."""
    app = new_app(monkeypatch, db, **params).run()
    return app.switch_page(page).run() if page else app


def freeze_today(monkeypatch) -> None:
    """The app's 'today' becomes the demo's last day, so the default sprint is a known one."""
    from views import filters

    monkeypatch.setattr(filters, "today", lambda: DEMO_END.date())

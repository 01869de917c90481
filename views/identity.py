"""Who is saving: the signed-in user when login is on, else a name this browser remembers."""

from __future__ import annotations

import json
from urllib.parse import unquote

import streamlit as st

from views import access

COOKIE = "alerthygiene_reviewer"
_SESSION = "_reviewer"  # this session's name, kept across pages (not a widget key)
_WIDGET = "reviewer"
MAX_NAME = 80


def signed_in() -> str | None:
    """The logged-in person's e-mail (or name) when the app's login is configured."""
    if not access.login_configured() or not st.user.get("is_logged_in"):
        return None
    return st.user.get("email") or st.user.get("name") or None


def _normal(name: object) -> str:
    return " ".join(str(name or "").split())[:MAX_NAME]


def _remembered() -> str | None:
    # The field's own value first: a save's callback may run before the field's on_change has.
    if _WIDGET in st.session_state:
        return _normal(st.session_state[_WIDGET]) or None
    if _SESSION in st.session_state:
        return st.session_state[_SESSION] or None
    cookie = st.context.cookies.get(COOKIE)
    if not isinstance(cookie, str):  # no browser behind this session (a script run, a test): no cookie
        return None
    return unquote(cookie)[:MAX_NAME].strip() or None


def reviewer() -> str | None:
    """The name saved with a verdict or an estimate; None when nobody has said who they are."""
    return signed_in() or _remembered()


def _changed() -> None:
    name = _normal(st.session_state.get(_WIDGET))
    st.session_state[_SESSION] = name
    st.session_state["_reviewer_cookie"] = name  # written to the browser on this run


def name_input() -> str | None:
    """The sidebar field for a name (unless signed in); returns who is saving."""
    if who := signed_in():
        st.sidebar.caption(f"Saving as {who}")
        return who
    st.sidebar.text_input(
        "Your name, saved with your verdicts", value=_remembered() or "", key=_WIDGET, max_chars=MAX_NAME,
        on_change=_changed, placeholder="e.g. Robin", help="Remembered by this browser.",
    )
    if (name := st.session_state.pop("_reviewer_cookie", None)) is not None:
        _remember_in_browser(name)
    return reviewer()


def _remember_in_browser(name: str) -> None:
    """Set (or clear) the browser cookie that brings the name back after a reload."""
    value = json.dumps(name).replace("<", "\\u003c")  # a JS string literal that cannot close the script
    st.html(
        "<script>document.cookie = " + json.dumps(COOKIE + "=") + " + encodeURIComponent(" + value + ")"
        " + '; path=/; max-age=31536000; SameSite=Lax';</script>",
        unsafe_allow_javascript=True,
    )


def unnamed_warning() -> None:
    """Say, before anything is saved, that saves carry no name yet."""
    if reviewer() is None:
        st.warning("Add your name in the sidebar: verdicts and estimates are saved with it. "
                   "Without one they are saved as “not named”.", icon=":material/badge:")

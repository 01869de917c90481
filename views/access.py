"""Access: with an [auth] section in Streamlit's secrets, nobody sees data before an OIDC login."""

from __future__ import annotations

import streamlit as st


def login_configured() -> bool:
    """True when `.streamlit/secrets.toml` (or the deployment's secrets) has an [auth] section."""
    try:
        return "auth" in st.secrets
    except FileNotFoundError:  # no secrets file at all
        return False
    except Exception as exc:  # noqa: BLE001 - a malformed secrets file must not open the app
        st.error(f"Cannot read Streamlit's secrets: {type(exc).__name__}. Fix .streamlit/secrets.toml.")
        st.stop()


def require_login() -> None:
    """Stop the page unless login is not configured or the reader has logged in."""
    if not login_configured():
        return
    if st.user.get("is_logged_in"):
        with st.sidebar:
            st.caption(f"Signed in as {st.user.get('email') or st.user.get('name') or 'you'}")
            st.button("Log out", on_click=st.logout, key="logout")
        return
    st.title("Alert hygiene")
    st.write("This dashboard shows your organisation's alert history. Sign in to continue.")
    st.button("Log in", on_click=st.login, type="primary", key="login", icon=":material/login:")
    st.stop()

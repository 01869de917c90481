"""Alert hygiene dashboard: the entry point only picks the database and routes to the pages."""

import streamlit as st

import settings
import store
from views import access, database

settings.install_redaction()  # Streamlit's own log handlers: no token in what they print

st.set_page_config(page_title="Alert hygiene", page_icon=":material/notifications_off:", layout="wide")
access.require_login()  # before anything reads the database

try:
    db = database.current()
except store.DatabaseError as exc:  # missing, unreadable, or of a newer schema: one line, no traceback
    database.cannot_open(exc)
if db.is_demo:
    database.demo_banner()

PAGES = {
    "Sprint": [
        st.Page("views/overview.py", title="Overview", icon=":material/dashboard:", default=True),
        st.Page("views/noisy.py", title="Noisy alerts", icon=":material/campaign:"),
        st.Page("views/retro.py", title="Sprint retro", icon=":material/rate_review:"),
        st.Page("views/advice.py", title="Advisor", icon=":material/auto_fix_high:"),
    ],
    "People and time": [
        st.Page("views/wakeups.py", title="Wake-ups and load", icon=":material/bedtime:"),
        st.Page("views/on_call.py", title="On call", icon=":material/support_agent:"),
        st.Page("views/response.py", title="Response times", icon=":material/timer:"),
    ],
    "Planning": [
        st.Page("views/planner.py", title="Fix planner", icon=":material/construction:"),
        st.Page("views/data_sources.py", title="Data", icon=":material/database:"),
    ],
}
navigation = st.navigation(PAGES)
st.sidebar.caption(f"Database: {store.display_name(db.path)}" + (" (demo)" if db.is_demo else ""))
with store.read_session(db.path):  # the page's reads share one open database, closed when the run ends
    navigation.run()

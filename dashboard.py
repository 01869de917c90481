"""Alert hygiene dashboard: the entry point only picks the database and routes to the pages."""

import streamlit as st

from views import database

st.set_page_config(page_title="Alert hygiene", page_icon=":material/notifications_off:", layout="wide")

db = database.current()
if db.is_demo:
    database.demo_banner()

pages = [
    st.Page("views/overview.py", title="Overview", icon=":material/dashboard:", default=True),
]
navigation = st.navigation(pages)
st.sidebar.caption(f"Database: {db.path}" + (" (demo)" if db.is_demo else ""))
navigation.run()

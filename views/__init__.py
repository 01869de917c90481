"""The dashboard's pages and what they share; the only package that imports Streamlit."""

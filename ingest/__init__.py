"""Ingest: provider records → canonical rows in the DuckDB store."""

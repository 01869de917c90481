"""CSV downloads: a cell that a spreadsheet would run as a formula arrives as text; everything else unchanged."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pandas as pd
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from metrics.spreadsheet import FORMULA_STARTS, to_csv

ROOT = Path(__file__).resolve().parent.parent


@given(texts=st.lists(st.text(min_size=0, max_size=40), min_size=1, max_size=8))
@hsettings(max_examples=200, deadline=None)
def test_no_text_cell_starts_a_formula_and_every_cell_reads_back(texts):
    frame = pd.DataFrame({"title": texts, "alerts": range(len(texts))})
    rows = list(csv.reader(io.StringIO(to_csv(frame).decode("utf-8"), newline="")))
    assert rows[0] == ["title", "alerts"]
    for (title, count), text in zip(rows[1:], texts, strict=True):
        assert not title.startswith(FORMULA_STARTS)
        assert title == ("'" + text if text.startswith(FORMULA_STARTS) else text) or (text == "" and title == "")
        assert int(count) >= 0  # numbers stay numbers (a negative number is not text)


def test_the_reported_title_and_a_negative_number():
    frame = pd.DataFrame({"title": ["=cmd|' /C calc'!A0", "+1 replica", "Disk full"], "delta": [-3, 0, 2]})
    text = to_csv(frame).decode("utf-8")
    assert text.split("\r\n")[:-1] == ["title,delta", "'=cmd|' /C calc'!A0,-3", "'+1 replica,0", "Disk full,2"]


def test_views_build_csv_only_through_the_one_helper():
    offenders = [p.name for p in [*(ROOT / "views").glob("*.py"), ROOT / "metrics" / "report.py"]
                 if re.search(r"(?<!spreadsheet)\.to_csv\(", p.read_text())]
    assert offenders == []

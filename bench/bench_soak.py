"""Soak: webhook load, provider syncs, dashboard reads and review writes at once for minutes; what was lost."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.soak import run_soak  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=3.0, help="how long everything runs at once (default 3)")
    parser.add_argument("--rate", type=float, default=20.0, help="webhook bodies per second (5 alerts each)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        result = run_soak(Path(work), args.minutes * 60, args.rate)
    for line in result.lines():
        print(line)
    for error in result.user_visible_errors[:20]:
        print("  error:", error)
    return 0 if not (result.lost or result.duplicated or result.user_visible_errors) else 1


if __name__ == "__main__":
    sys.exit(main())

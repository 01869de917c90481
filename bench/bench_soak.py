"""Soak: webhook load, a sync loop, dashboard clicks, a report loop, a 200k-row CSV import and review saves at
once; what was lost, doubled or shown as an error, and whether a writer starved, for each locking design."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.soak import SoakPlan, percentile, run_soak  # noqa: E402

# The designs a run can compare (ALERTHYGIENE_LOCKING): "queue" is the product's (the queue lock, and a
# person's saves kept aside while the file is busy); "queue-wait" the queue lock alone, saves waiting
# for their turn; "retry" the first one (no lock of our own; DuckDB's lock errors retried).
DESIGNS = ("queue", "queue-wait", "retry")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=3.0, help="how long everything runs at once (default 3)")
    parser.add_argument("--rate", type=float, default=20.0, help="webhook bodies per second (5 alerts each)")
    parser.add_argument("--csv-rows", type=int, default=200_000, help="rows of the CSV import (default 200000)")
    parser.add_argument("--designs", default="queue", help=f"comma-separated, in run order: {', '.join(DESIGNS)}")
    parser.add_argument("--repeat", type=int, default=1, help="run every design this many times, interleaved")
    args = parser.parse_args()
    designs = [d.strip() for d in args.designs.split(",") if d.strip()]
    if any(d not in DESIGNS for d in designs):
        parser.error(f"--designs: choose from {', '.join(DESIGNS)}")
    failed = False
    for round_ in range(args.repeat):
        for design in designs:
            plan = SoakPlan(seconds=args.minutes * 60, rate=args.rate, csv_rows=args.csv_rows,
                            env={"ALERTHYGIENE_LOCKING": design})
            with tempfile.TemporaryDirectory() as work:
                result = run_soak(Path(work), plan)
            print(f"== design {design}, round {round_ + 1}")
            for line in result.lines():
                print("  " + line)
            for error in result.user_visible_errors[:10]:
                print("  error:", error[:300])
            met = (not result.user_visible_errors and not result.lost and not result.duplicated
                   and percentile(result.review_s, 95) <= 1.0 and (result.import_ratio or 0) <= 1.5)
            print(f"  targets (import <= 1.5x alone, review p95 <= 1 s, no error, none lost or doubled): "
                  f"{'met' if met else 'NOT met'}", flush=True)
            failed |= design == "queue" and not met
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

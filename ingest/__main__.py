"""Entry point for `python -m ingest`."""

import os
import sys

from ingest.cli import main

try:
    sys.exit(main())
except BrokenPipeError:  # the reader stopped early (`... | head`): no traceback, as Python's docs advise
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the exit's flush must not fail again
    sys.exit(1)

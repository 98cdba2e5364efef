"""The Zoho sandbox for the demo: `python -m zoho_sandbox` plus `--clock-start`, so the data set ends "today".

    python -m tools.demo_sandbox --clock-start 2026-09-27T00:00:00+00:00 --port 8900 --deals 20000 --seed 7 --state F

The sandbox generates its deals relative to its clock's start (a fixed date by default); the demo starts the
clock `DEMO_HISTORY_DAYS` before today and then advances it day by day, so the simulated history ends now and
the API's date-based metrics (trend, movement, stale deals) have content around today. Every other flag is the
sandbox CLI's own.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Sequence
from datetime import datetime

from zoho_sandbox.__main__ import parse_args
from zoho_sandbox.server import SandboxServer


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.demo_sandbox", add_help=False)
    parser.add_argument("--clock-start", required=True, type=datetime.fromisoformat)
    ours, rest = parser.parse_known_args(argv)
    if ours.clock_start.tzinfo is None:
        parser.error("--clock-start needs a UTC offset, e.g. 2026-09-27T00:00:00+00:00")
    config = dataclasses.replace(parse_args(rest), clock_start=ours.clock_start)
    server = SandboxServer(config)
    print(
        f"generating {config.deals} deals (seed {config.seed}, clock from {config.clock_start:%Y-%m-%d}) ...",
        file=sys.stderr,
        flush=True,
    )
    server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

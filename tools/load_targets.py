"""Load sales targets from a CSV file into `sales_targets` (the warehouse of DATABASE_URL).

    python -m tools.load_targets targets.csv                    # add / replace the file's targets
    python -m tools.load_targets targets.csv --replace-periods  # the file is the whole truth for its periods
    python -m tools.load_targets targets.csv --dry-run          # validate only

The CSV format (period, region, owner_id / owner_email, amount) is described in pipeline_pulse/warehouse/targets.py
and docs/metrics.md, section 12.2. Nothing is written when any row is invalid; every problem is printed with
its line number. Exit status: 0 loaded (or valid, with --dry-run), 1 invalid file, 2 unreadable file.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from pipeline_pulse.core.db import create_sync_engine
from pipeline_pulse.core.settings import get_settings
from pipeline_pulse.warehouse.targets import Lookups, TargetFileError, load_targets, parse_targets


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.load_targets", description=__doc__.split("\n\n")[0])
    parser.add_argument("csv_file", type=Path, help="UTF-8 CSV with a header row (a BOM from Excel is fine)")
    parser.add_argument(
        "--replace-periods", action="store_true", help="remove every existing target of the file's periods first"
    )
    parser.add_argument("--dry-run", action="store_true", help="validate the file, write nothing")
    args = parser.parse_args(argv)
    try:
        text = args.csv_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"load_targets: cannot read {args.csv_file}: {exc}", file=sys.stderr)
        return 2
    engine = create_sync_engine(get_settings().sqlalchemy_url())
    try:
        with engine.begin() as connection:
            try:
                rows = parse_targets(text, Lookups.read(connection))
            except TargetFileError as exc:
                print(f"load_targets: {args.csv_file}: {exc}\nNothing was loaded.", file=sys.stderr)
                return 1
            if args.dry_run:
                print(f"load_targets: {args.csv_file} is valid: {len(rows)} target(s); nothing written (--dry-run)")
                return 0
            result = load_targets(connection, rows, source=args.csv_file.name, replace_periods=args.replace_periods)
    finally:
        engine.dispose()
    print(
        f"load_targets: loaded {result.rows} target(s) for {', '.join(result.periods)} from {args.csv_file.name}; "
        f"{result.replaced} existing target(s) replaced"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

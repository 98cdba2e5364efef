"""Partitions: one per UTC day for deal snapshots, from the first day the warehouse has history for.

`build_definitions` picks the start when the code location loads: HISTORY_START_DATE when set, else the
history start recorded in the warehouse, else today. A new install shows no partitions before its first sync,
and days before the history start (unknown states, docs/metrics.md section 3) never appear. Set
HISTORY_START_DATE where the code location cannot read the warehouse when it loads.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import dagster as dg

from pipeline_pulse.core.config import PipelineSettings
from pipeline_pulse.warehouse.history import recorded_history_start

# Start of the module-level asset (tests materialise it directly); the code location uses `snapshots_start`.
DEFAULT_SNAPSHOTS_START = date(2024, 1, 1)


def snapshots_start(pipeline: PipelineSettings, warehouse_url: str) -> date:
    if pipeline.history_start_date is not None:
        return pipeline.history_start_date
    recorded = recorded_history_start(warehouse_url)
    return recorded.astimezone(UTC).date() if recorded is not None else datetime.now(UTC).date()


def daily_snapshots(start: date) -> dg.DailyPartitionsDefinition:
    return dg.DailyPartitionsDefinition(start_date=start.isoformat(), timezone="UTC")


def day_of(partition_key: str) -> date:
    return date.fromisoformat(partition_key)

"""Partitions: one per UTC day for deal snapshots."""

from __future__ import annotations

from datetime import date

import dagster as dg

SNAPSHOTS_START = "2024-01-01"


DAILY_SNAPSHOTS = dg.DailyPartitionsDefinition(start_date=SNAPSHOTS_START, timezone="UTC")


def day_of(partition_key: str) -> date:
    return date.fromisoformat(partition_key)

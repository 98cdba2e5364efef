"""Shared asset settings: owners, groups, the retry policy of extract steps, the Zoho run-concurrency pool."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import dagster as dg
from sqlalchemy import Connection, func, select

from pipeline_pulse.core.config import ConfigurationError
from pipeline_pulse.models import Deal
from pipeline_pulse.services.zoho.errors import ZohoAuthError, ZohoBudgetExhaustedError

OWNERS = ["team:data-engineering"]
ZOHO_POOL = "zoho_api"  # one extract step talks to Zoho at a time (pool limit 1 in dagster.yaml)
EXTRACT_RETRY = dg.RetryPolicy(max_retries=3, delay=20, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)
# Retrying cannot fix a refused grant, a spent credit budget or missing configuration / unreadable production
# secrets (ConfigurationError, SecretsUnavailableError); fail at once with a clear message instead.
NOT_RETRYABLE: tuple[type[Exception], ...] = (ZohoAuthError, ZohoBudgetExhaustedError, ConfigurationError)


def fail_fast(exc: Exception) -> dg.Failure:
    return dg.Failure(description=f"{type(exc).__name__}: {exc}", allow_retries=False)


@contextmanager
def failing_fast_on_fatal_zoho_errors() -> Iterator[None]:
    """Turn NOT_RETRYABLE errors raised inside the block into a Failure that skips the retry policy."""
    try:
        yield
    except NOT_RETRYABLE as exc:
        raise fail_fast(exc) from exc


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join("" if v is None else str(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def open_pipeline_preview(connection: Connection, limit: int = 40) -> str:
    """Open pipeline (home currency) by stage x region: the small preview shown with each deals run."""
    rows = connection.execute(
        select(Deal.stage, Deal.region, func.count(), func.sum(Deal.amount_home), func.sum(Deal.weighted_amount_home))
        .where(Deal.deleted_at.is_(None), Deal.deal_status == "open")
        .group_by(Deal.stage, Deal.region)
        .order_by(Deal.stage, Deal.region)
        .limit(limit)
    ).all()
    return markdown_table(
        ["stage", "region", "deals", "amount (home)", "weighted (home)"],
        [(s, r, n, f"{a or 0:,.2f}", f"{w or 0:,.2f}") for s, r, n, a, w in rows],
    )

"""Fixtures for pipeline tests against the Zoho sandbox: environment wiring and ground-truth comparison."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from pipeline_pulse.core.settings import reset_settings_cache
from pipeline_pulse.models import CountryRegion, Deal, Region
from tests.fixtures.sandbox import sandbox_factory  # noqa: F401  (fixture re-export)


def sandbox_env(server: Any, db_url: str, workdir: Path) -> dict[str, str]:
    """Environment that points the settings (and so the pipeline) at `server` and the test warehouse."""
    return {
        "DATABASE_URL": db_url,
        "ZOHO_API_URL": server.base_url,
        "ZOHO_ACCOUNTS_URL": server.accounts_url,
        "ZOHO_CLIENT_ID": server.config.client_id,
        "ZOHO_CLIENT_SECRET": server.config.client_secret,
        "ZOHO_REFRESH_TOKEN": server.config.refresh_token,
        "ZOHO_USER_EMAIL": "amelia.tan@example.com",
        "ZOHO_RESOURCE_PATH": str(workdir / "zoho_sdk"),
    }


@pytest.fixture
def pipeline_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Any]:
    """Call with (server, db_url): sets the environment for this process and resets cached settings/SDK."""

    def apply(server: Any, db_url: str) -> dict[str, str]:
        env = sandbox_env(server, db_url, tmp_path)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        reset_settings_cache()
        _reset_sdk()
        return env

    yield apply
    reset_settings_cache()
    _reset_sdk()


def _reset_sdk() -> None:
    from pipeline_pulse.services.zoho.sdk_manager import ImprovedZohoSDKManager

    ImprovedZohoSDKManager.reset_process_state()


def expected_region(record: dict[str, Any], codes: dict[str, str], countries: dict[str, str]) -> str:
    """The documented rule, written independently of the pipeline's code."""
    region = (record.get("Region") or "").strip().casefold()
    if region in codes:
        return codes[region]
    return countries.get((record.get("Country") or "").strip().casefold(), "Unassigned")


def assert_warehouse_equals_truth(engine: Engine, truth: dict[str, Any]) -> None:
    """Live deals = the sandbox's deals (ids, amounts, stages, regions); its deleted deals are soft-deleted."""
    with engine.connect() as connection:
        rows = {
            r.id: r
            for r in connection.execute(
                select(Deal.id, Deal.amount, Deal.stage, Deal.region, Deal.forecast_category, Deal.deleted_at)
            ).all()
        }
        codes = {c.casefold(): c for c in connection.execute(select(Region.code)).scalars()}
        countries = {
            c.casefold(): r
            for c, r in connection.execute(select(CountryRegion.country, CountryRegion.region_code)).all()
        }
    live = {deal_id for deal_id, row in rows.items() if row.deleted_at is None}
    truth_deals = {int(record["id"]): record for record in truth["deals"]}
    assert live == set(truth_deals), (
        f"missing {sorted(set(truth_deals) - live)[:5]}, extra {sorted(live - set(truth_deals))[:5]}"
    )
    # Forecast category: the deal's own Forecast_Category__s, else its stage's (stages in the picklist only).
    stage_category = {s["name"]: s["forecast_category"] for s in truth["stages"] if s["in_picklist"]}
    mismatches = []
    for deal_id, record in truth_deals.items():
        row = rows[deal_id]
        amount = None if record["Amount"] is None else Decimal(str(record["Amount"])).quantize(Decimal("0.01"))
        category = record.get("Forecast_Category__s") or stage_category.get(record["Stage"])
        expected = (amount, record["Stage"], expected_region(record, codes, countries), category)
        if (row.amount, row.stage, row.region, row.forecast_category) != expected:
            mismatches.append((deal_id, (row.amount, row.stage, row.region, row.forecast_category), expected))
    assert not mismatches, mismatches[:5]
    for deleted in truth["deleted"]:
        row = rows.get(int(deleted["id"]))
        assert row is None or row.deleted_at is not None, f"deal {deleted['id']} deleted in Zoho but live here"


def deals_checksum(engine: Engine) -> str:
    """sha256 over every column of every deals row, in id order."""
    digest = hashlib.sha256()
    with engine.connect() as connection:
        for row in connection.execute(select(Deal.__table__).order_by(Deal.id)):
            digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


def deals_stream_calls(stats: dict[str, Any]) -> int:
    """Calls of the deals stream (list + deleted + single-record reads), from the sandbox's per-path counters."""
    by_path = stats.get("by_path", {})
    return sum(
        count
        for path, count in by_path.items()
        if path.startswith("/crm/v8/Deals") and "Stage_History" not in path and not path.endswith("/actions/count")
    )

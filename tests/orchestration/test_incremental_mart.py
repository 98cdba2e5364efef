"""The metrics marts after an incremental refresh equal a full rebuild (issue 11.4), on both backends.

Rounds of random changes in the in-memory Zoho (stage moves, amounts, closing dates, owners, regions,
currencies, edits of untracked fields, new deals, deletions, restores) go through the real sync assets (the
transform, the load, the version writer) into a real warehouse; each round's pipeline_metrics step must take the
incremental path, and then every mart table must hold exactly the rows a full rebuild (`refresh_pipeline_metrics`,
the reference) writes for the same deals on the same day. The clock is fixed at NOW so the stale counts and the
day rule do not depend on when the test runs."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import dagster as dg
import pytest
from sqlalchemy import Connection, select

import orchestration.assets.reporting as reporting
from pipeline_pulse.core.db import create_sync_engine
from pipeline_pulse.models import MartDealContribution, SyncState
from pipeline_pulse.services.zoho.records import DealRecord
from pipeline_pulse.warehouse.metrics_mart import MARTS, refresh_pipeline_metrics
from tests.fakes.zoho import InMemoryZoho
from tests.orchestration.factories import CURRENCIES, STAGES, USERS, make_deal
from tests.orchestration.test_assets_on_fake import UNPARTITIONED, metadata, resources

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
SYNC_ASSETS = {"regions", "crm_users", "pipeline_stages", "currencies", "deals", "pipeline_metrics"}  # zoho_sync's
SYNC = [asset for asset in UNPARTITIONED if asset.key.path[-1] in SYNC_ASSETS]
PLACES = [("APAC", "Singapore"), ("EMEA", "Germany"), ("India", "India"), (None, "Atlantis"), ("Americas", "Brazil")]
OWNERS = [USERS[0].id, USERS[1].id, None]


def _deal(rng: random.Random, index: int, modified: datetime) -> DealRecord:
    region, country = rng.choice(PLACES)
    currency = rng.choice(CURRENCIES)
    return make_deal(
        index,
        stage=rng.choice(STAGES).stage,
        amount=rng.choice([None, Decimal("0.10"), Decimal("1000.00"), Decimal(rng.randint(1, 10**6)) / 100]),
        currency=currency.iso_code,
        exchange_rate=currency.exchange_rate,
        closing_date=rng.choice([None, NOW.date() + timedelta(days=rng.randint(-90, 120))]),
        created_time=rng.choice([None, NOW - timedelta(days=rng.randint(30, 400), hours=rng.randint(0, 23))]),
        modified_time=modified,
        owner_id=rng.choice(OWNERS),
        region=region,
        country=country,
    )


def _change(rng: random.Random, record: DealRecord, modified: datetime) -> DealRecord:
    kind = rng.choice(["stage", "amount", "closing", "owner", "place", "currency", "untracked", "many"])
    changes: dict[str, Any] = {}
    if kind in ("stage", "many"):
        changes["stage"] = rng.choice(STAGES).stage
    if kind in ("amount", "many"):
        changes["amount"] = rng.choice([None, Decimal(rng.randint(0, 10**7)) / 100])
    if kind in ("closing", "many"):
        changes["closing_date"] = rng.choice([None, NOW.date() + timedelta(days=rng.randint(-60, 60))])
    if kind == "owner":
        changes["owner_id"] = rng.choice(OWNERS)
    if kind in ("place", "many"):
        changes["region"], changes["country"] = rng.choice(PLACES)
    if kind == "currency":
        currency = rng.choice(CURRENCIES)
        changes["currency"], changes["exchange_rate"] = currency.iso_code, currency.exchange_rate
    if kind == "untracked":
        changes["lead_source"] = rng.choice(["Web", "Trade show", "Referral"])
    return replace(record, modified_time=modified, **changes)


def _mart_rows(connection: Connection) -> dict[str, list[tuple[Any, ...]]]:
    """Every mart table's rows without the surrogate id and refresh time, sorted (NULLs first)."""
    rows: dict[str, list[tuple[Any, ...]]] = {}
    for mart in MARTS:
        columns = [c for c in mart.table.c if c.name not in ("id", "refreshed_at")]
        found = [tuple(row) for row in connection.execute(select(*columns))]
        rows[mart.table.name] = sorted(found, key=lambda row: [(v is not None, v) for v in row])
    return rows


def _full_rebuild(connection: Connection) -> dict[str, list[tuple[Any, ...]]]:
    """What the reference full rebuild writes now, rolled back afterwards."""
    connection.rollback()
    try:
        refresh_pipeline_metrics(connection, NOW)
        return _mart_rows(connection)
    finally:
        connection.rollback()


def _sync(db_url: str, fake: InMemoryZoho, **config: Any) -> dict[str, Any]:
    run_config = {"ops": {"pipeline_metrics": {"config": config}}} if config else None
    result = dg.materialize(
        SYNC, resources=resources(db_url, fake), instance=dg.DagsterInstance.ephemeral(), run_config=run_config
    )
    assert result.success
    return metadata(result, "pipeline_metrics")


@pytest.fixture
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reporting, "utcnow", lambda: NOW)


@pytest.mark.usefixtures("fixed_clock")
@pytest.mark.parametrize("seed", [1, 2])
def test_incremental_refresh_equals_the_full_rebuild_after_random_changes(db_url: str, seed: int) -> None:
    rng = random.Random(seed)
    start = NOW - timedelta(days=70)
    deals = [_deal(rng, i, start + timedelta(hours=i)) for i in range(60)]
    fake = InMemoryZoho(deals=deals, users=USERS, stages=STAGES, currencies=CURRENCIES, per_page=50)
    assert _sync(db_url, fake)["refresh"] == "full"
    assert _sync(db_url, fake)["refresh"] == "current"

    clock = NOW - timedelta(days=10)  # modified times move forward from here: deals turn fresh, months change
    deleted: dict[int, DealRecord] = {}
    done: Counter[str] = Counter()
    next_index = len(deals)
    engine = create_sync_engine(db_url)
    try:
        for _ in range(6):
            for _ in range(rng.randint(3, 9)):
                clock += timedelta(hours=rng.randint(1, 30))
                op = rng.choice(["edit", "edit", "edit", "create", "delete", "restore"])
                if op == "create":
                    done[op] += 1
                    fake.put(_deal(rng, next_index, clock))
                    next_index += 1
                elif op == "delete" and fake.deals:
                    done[op] += 1
                    victim = rng.choice(sorted(fake.deals))
                    deleted[victim] = fake.deals[victim]
                    fake.delete(victim, clock)
                elif op == "restore" and deleted:
                    done[op] += 1
                    back = deleted.pop(rng.choice(sorted(deleted)))
                    fake.put(replace(back, modified_time=clock))
                elif fake.deals:
                    done["edit"] += 1
                    deal_id = rng.choice(sorted(fake.deals))
                    fake.put(_change(rng, fake.deals[deal_id], clock))
            result = _sync(db_url, fake)
            assert result["refresh"] == "incremental"
            with engine.connect() as connection:
                assert _mart_rows(connection) == _full_rebuild(connection)
        assert set(done) == {"edit", "create", "delete", "restore"}
        assert _sync(db_url, fake, full=True)["refresh"] == "full"
        with engine.connect() as connection:
            assert _mart_rows(connection) == _full_rebuild(connection)
    finally:
        engine.dispose()


@pytest.mark.usefixtures("fixed_clock")
def test_the_marts_are_rebuilt_in_full_on_a_new_day_and_without_incremental_state(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = InMemoryZoho(deals=[make_deal(i) for i in range(5)], users=USERS, stages=STAGES, currencies=CURRENCIES)
    assert _sync(db_url, fake)["refresh"] == "full"
    fake.edit(make_deal(1).id, NOW - timedelta(hours=1), stage="Closed Won")
    applied = _sync(db_url, fake)
    # The edited deal, and the one whose modified time was the newest at the last build (re-applied: a no-op).
    assert (applied["refresh"], applied["deals_applied"]) == ("incremental", 2)
    assert _sync(db_url, fake)["refresh"] == "current"

    tomorrow = NOW + timedelta(days=1)
    monkeypatch.setattr(reporting, "utcnow", lambda: tomorrow)
    assert _sync(db_url, fake)["refresh"] == "full"  # stale counts are as of the build day
    engine = create_sync_engine(db_url)
    try:
        with engine.begin() as connection:
            assert connection.execute(select(MartDealContribution.stale)).scalars().all() != []
            # A warehouse migrated from before the contributions (no `as_of` recorded) rebuilds in full once.
            connection.execute(MartDealContribution.__table__.delete())
            connection.execute(
                SyncState.__table__.update()
                .where(SyncState.stream == "derived:pipeline_metrics")
                .values(cursor={"deal_marker": "0|-"})
            )
    finally:
        engine.dispose()
    fake.edit(make_deal(2).id, tomorrow - timedelta(hours=1), stage="Closed Lost")
    assert _sync(db_url, fake)["refresh"] == "full"

"""The shared credit ledger on both warehouses: atomic charges across engines (processes) and threads."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest

from pipeline_pulse.core.db import create_sync_engine
from pipeline_pulse.services.zoho.credit_ledger import CreditLedger
from pipeline_pulse.services.zoho.errors import ZohoBudgetExhaustedError


def test_charges_refunds_and_refuses_past_the_limit(db_url: str) -> None:
    engine = create_sync_engine(db_url)
    ledger = CreditLedger("client-a", engine)
    assert ledger.spent_today() == 0
    ledger.reserve(40, limit=100)
    ledger.reserve(60, limit=100)
    with pytest.raises(ZohoBudgetExhaustedError) as refused:
        ledger.reserve(1, limit=100)
    assert refused.value.details == {"spent": 100, "limit": 100, "needed": 1}
    assert not refused.value.retryable
    ledger.refund(10)
    ledger.reserve(10, limit=100)
    with pytest.raises(ZohoBudgetExhaustedError):
        CreditLedger("client-b", engine).reserve(101, limit=100)  # more than the whole budget, first call
    assert CreditLedger("client-b", engine).spent_today() == 0  # other clients have their own budget
    ledger.refund(1_000)
    assert ledger.spent_today() == 0  # never below zero
    engine.dispose()


def test_every_process_shares_one_budget_and_concurrent_charges_never_overspend(db_url: str) -> None:
    engines = [create_sync_engine(db_url) for _ in range(4)]  # four "processes", each with its own pool
    ledgers = [CreditLedger("shared", engine) for engine in engines]

    def spend(ledger: CreditLedger) -> int:
        charged = 0
        for _ in range(40):
            try:
                ledger.reserve(3, limit=300)
                charged += 3
            except ZohoBudgetExhaustedError:
                pass
        return charged

    with ThreadPoolExecutor(max_workers=4) as pool:
        charged = sum(pool.map(spend, ledgers))
    assert charged == 300  # 4 x 40 x 3 = 480 asked for; exactly the budget granted
    assert all(ledger.spent_today() == 300 for ledger in ledgers)
    for engine in engines:
        engine.dispose()


def test_a_new_utc_day_starts_a_new_budget(db_url: str) -> None:
    engine = create_sync_engine(db_url)
    day = [date(2026, 3, 1)]
    ledger = CreditLedger("client-a", engine, today=lambda: day[0])
    ledger.reserve(100, limit=100)
    day[0] = date(2026, 3, 2)
    ledger.reserve(100, limit=100)
    assert ledger.spent_today() == 100
    engine.dispose()

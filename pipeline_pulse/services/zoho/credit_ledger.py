"""The daily Zoho credit budget, kept in the warehouse so every process that calls Zoho shares it.

One row per (client, UTC day). A charge is one atomic statement - an upsert that adds the credits only while
the sum stays within the limit - so concurrent runs (a scheduled sync beside a manual backfill, the history
import, tools) can never overspend together, and a crashed process leaves nothing to clean up.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

from sqlalchemy import Engine, case, select, update
from sqlalchemy.dialects import postgresql, sqlite

from pipeline_pulse.models import ZohoCreditLedger, utcnow
from pipeline_pulse.services.zoho.errors import ZohoBudgetExhaustedError

LEDGER = ZohoCreditLedger.__table__


def _utc_today() -> date:
    return datetime.now(UTC).date()


class CreditLedger:
    """Credits spent today by one Zoho client (`key`), shared through `engine`."""

    def __init__(self, key: str, engine: Engine, *, today: Callable[[], date] = _utc_today) -> None:
        self.key = key
        self.engine = engine
        self._today = today
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert

    def spent_today(self) -> int:
        with self.engine.connect() as connection:
            spent = connection.execute(
                select(LEDGER.c.credits_spent).where(LEDGER.c.ledger_key == self.key, LEDGER.c.day == self._today())
            ).scalar_one_or_none()
        return int(spent or 0)

    def reserve(self, credits: int, limit: int) -> None:
        """Charge `credits`, or raise ZohoBudgetExhaustedError (not retryable) if that would pass `limit`."""
        charged = None
        if credits <= limit:
            stmt = self._insert(LEDGER).values(
                ledger_key=self.key, day=self._today(), credits_spent=credits, updated_at=utcnow()
            )
            total = LEDGER.c.credits_spent + stmt.excluded.credits_spent
            stmt = stmt.on_conflict_do_update(
                index_elements=["ledger_key", "day"],
                set_={"credits_spent": total, "updated_at": stmt.excluded.updated_at},
                where=total <= limit,
            ).returning(LEDGER.c.credits_spent)
            with self.engine.begin() as connection:
                charged = connection.execute(stmt).scalar_one_or_none()
        if charged is None:
            spent = self.spent_today()
            raise ZohoBudgetExhaustedError(
                "CREDIT_BUDGET_EXHAUSTED",
                f"stopping before the daily Zoho credit budget is exceeded: {spent} of {limit} credits spent "
                f"today, the next call needs {credits}",
                details={"spent": spent, "limit": limit, "needed": credits},
            )

    def refund(self, credits: int) -> None:
        """Give back the credits of a call Zoho did not charge (it failed)."""
        with self.engine.begin() as connection:
            connection.execute(
                update(LEDGER)
                .where(LEDGER.c.ledger_key == self.key, LEDGER.c.day == self._today())
                .values(
                    credits_spent=case((LEDGER.c.credits_spent > credits, LEDGER.c.credits_spent - credits), else_=0),
                    updated_at=utcnow(),
                )
            )

    def set_spent(self, credits: int) -> None:
        """Seed today's spend (e.g. from Zoho's usage report)."""
        stmt = self._insert(LEDGER).values(
            ledger_key=self.key, day=self._today(), credits_spent=credits, updated_at=utcnow()
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["ledger_key", "day"],
            set_={"credits_spent": stmt.excluded.credits_spent, "updated_at": stmt.excluded.updated_at},
        )
        with self.engine.begin() as connection:
            connection.execute(stmt)

"""Currency conversion with Zoho's convention: a rate is units of the currency per 1 home-currency unit, so
amount_home = amount / rate. Rates are dated; a lookup takes the latest rate in force on the given day."""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import Connection, select, update

from pipeline_pulse.models import Currency, utcnow
from pipeline_pulse.services.zoho.records import CurrencyRecord
from pipeline_pulse.warehouse.upsert import UpsertResult, UpsertSpec, upsert

CENT = Decimal("0.01")


def to_home(amount: Decimal | None, rate: Decimal | None) -> Decimal | None:
    """amount / rate rounded half-up to cents; None when either is missing or the rate is not positive."""
    if amount is None or rate is None or rate <= 0:
        return None
    return (amount / rate).quantize(CENT, rounding=ROUND_HALF_UP)


def weighted(amount_home: Decimal | None, probability: int | None) -> Decimal | None:
    if amount_home is None or probability is None:
        return None
    return (amount_home * Decimal(probability) / 100).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass
class CurrencyRates:
    """Dated rates per ISO code; the home currency always converts at 1."""

    home: str | None
    _dates: dict[str, list[date]] = field(default_factory=dict)
    _rates: dict[str, list[Decimal]] = field(default_factory=dict)

    def add(self, iso_code: str, rate_date: date, rate: Decimal) -> None:
        code = iso_code.upper()
        dates = self._dates.setdefault(code, [])
        rates = self._rates.setdefault(code, [])
        index = bisect.bisect_left(dates, rate_date)
        if index < len(dates) and dates[index] == rate_date:
            rates[index] = rate
        else:
            dates.insert(index, rate_date)
            rates.insert(index, rate)

    def knows(self, iso_code: str | None) -> bool:
        return iso_code is not None and (iso_code.upper() == self.home or iso_code.upper() in self._dates)

    def rate(self, iso_code: str, on: date | None = None) -> Decimal | None:
        """The latest rate dated on or before `on` (the earliest known if none is that old); None if unknown."""
        code = iso_code.upper()
        if code == self.home:
            return Decimal(1)
        dates = self._dates.get(code)
        if not dates:
            return None
        if on is None:
            return self._rates[code][-1]
        index = bisect.bisect_right(dates, on) - 1
        return self._rates[code][max(index, 0)]


def load_currency_rates(connection: Connection, home_override: str | None = None) -> CurrencyRates:
    rows = connection.execute(
        select(Currency.iso_code, Currency.rate_date, Currency.exchange_rate, Currency.is_home)
    ).all()
    home = home_override.upper() if home_override else None
    if home is None:
        latest_home = [(day, code) for code, day, _, is_home in rows if is_home]
        home = max(latest_home)[1] if latest_home else None
    rates = CurrencyRates(home=home)
    for code, day, rate, _ in rows:
        rates.add(code, day, Decimal(rate))
    return rates


CURRENCY_UPSERT = UpsertSpec(
    table=Currency.__table__,  # type: ignore[arg-type]
    key=("iso_code", "rate_date"),
    update=("name", "symbol", "exchange_rate", "is_home", "is_active", "synced_at"),
    compare=("name", "symbol", "exchange_rate", "is_home", "is_active"),
)


def store_currency_rates(
    connection: Connection, currencies: Sequence[CurrencyRecord], rate_date: date, home_override: str | None = None
) -> UpsertResult:
    """Record today's rate of every org currency (one row per currency and day). With a home override the
    override is flagged as home, whatever Zoho says."""
    now = utcnow()
    rows = []
    for record in currencies:
        code = record.iso_code.upper()
        is_home = (code == home_override.upper()) if home_override else bool(record.is_home)
        rows.append(
            {
                "iso_code": code,
                "rate_date": rate_date,
                "name": record.name,
                "symbol": record.symbol,
                "exchange_rate": Decimal(1) if is_home else Decimal(record.exchange_rate),
                "is_home": is_home,
                "is_active": bool(record.is_active),
                "synced_at": now,
            }
        )
    result = upsert(connection, CURRENCY_UPSERT, rows)
    if home_override:
        connection.execute(update(Currency).where(Currency.iso_code != home_override.upper()).values(is_home=False))
    return result


def currencies_without_rate(connection: Connection, codes: Iterable[str]) -> list[str]:
    known = set(connection.execute(select(Currency.iso_code).distinct()).scalars())
    return sorted({code for code in codes if code and code.upper() not in known})

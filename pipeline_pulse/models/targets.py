"""Sales targets the data team loads from a CSV (tools/load_targets.py); Zoho's v8 API does not expose them."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from pipeline_pulse.models.base import Base, SurrogateKey, UTCDateTime, utcnow
from pipeline_pulse.models.deals import Money


class SalesTarget(Base):
    __tablename__ = "sales_targets"
    __table_args__ = (
        CheckConstraint("amount_home >= 0", name="amount_non_negative"),
        CheckConstraint("period_end >= period_start", name="period_range"),
        # One target per (period, region) and per (period, region, owner); NULL owner = the region's own target.
        Index(
            "uq_sales_targets_region_target",
            "period",
            "region",
            unique=True,
            postgresql_where=text("owner_id IS NULL"),
            sqlite_where=text("owner_id IS NULL"),
        ),
        Index(
            "uq_sales_targets_owner_target",
            "period",
            "region",
            "owner_id",
            unique=True,
            postgresql_where=text("owner_id IS NOT NULL"),
            sqlite_where=text("owner_id IS NOT NULL"),
        ),
        {"comment": "Sales targets per period and region, optionally per owner, in home currency (loaded from CSV)."},
    )

    id: Mapped[int] = mapped_column(SurrogateKey, primary_key=True, autoincrement=True, comment="Row id.")
    period: Mapped[str] = mapped_column(
        String(7), comment="Target period: YYYY-MM (calendar month) or YYYY-Qn (calendar quarter)."
    )
    period_start: Mapped[date] = mapped_column(Date, comment="First day of the period (UTC).")
    period_end: Mapped[date] = mapped_column(Date, comment="Last day of the period (UTC, inclusive).")
    region: Mapped[str] = mapped_column(
        ForeignKey("regions.code", ondelete="RESTRICT"), index=True, comment="Region code the target is for."
    )
    owner_id: Mapped[int | None] = mapped_column(
        BigInteger, comment="Zoho user id of the owner the target is for; NULL for the region's own target."
    )
    amount_home: Mapped[Decimal] = mapped_column(Money, comment="Target amount in home currency.")
    source: Mapped[str] = mapped_column(String(255), comment="Where the row came from, e.g. the CSV file name.")
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, comment="When loaded (UTC).")

"""Dimension tables: CRM users, pipeline stages, currencies with dated rates, regions and countries."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Date, ForeignKey, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from pipeline_pulse.models.base import Base, UTCDateTime, utcnow

DEAL_STATUSES = ("open", "won", "lost")
FORECAST_TYPES = ("Open", "Closed Won", "Closed Lost")


class Region(Base):
    __tablename__ = "regions"
    __table_args__ = {"comment": "Sales regions; JWT region claims and deals.region use these codes."}

    code: Mapped[str] = mapped_column(String(32), primary_key=True, comment="Region code, e.g. APAC, EMEA.")
    name: Mapped[str] = mapped_column(String(120), comment="Display name of the region.")
    description: Mapped[str | None] = mapped_column(Text, comment="What the region covers.")


class CountryRegion(Base):
    __tablename__ = "country_regions"
    __table_args__ = {"comment": "Maps a deal's Country (as spelled in Zoho) to a region when Region is empty."}

    country: Mapped[str] = mapped_column(
        String(120), primary_key=True, comment="Country name as written in Zoho; matched case-insensitively."
    )
    iso_code: Mapped[str | None] = mapped_column(String(2), comment="ISO 3166-1 alpha-2 code.")
    region_code: Mapped[str] = mapped_column(
        ForeignKey("regions.code", ondelete="RESTRICT"), index=True, comment="Region the country belongs to."
    )


class CrmUser(Base):
    __tablename__ = "crm_users"
    __table_args__ = {"comment": "Zoho CRM users (deal owners), refreshed on every sync."}

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False, comment="Zoho user id.")
    full_name: Mapped[str | None] = mapped_column(String(255), comment="User's full name.")
    email: Mapped[str | None] = mapped_column(String(255), index=True, comment="User's e-mail address.")
    role_name: Mapped[str | None] = mapped_column(String(120), comment="Zoho role.")
    profile_name: Mapped[str | None] = mapped_column(String(120), comment="Zoho profile.")
    status: Mapped[str | None] = mapped_column(String(32), comment="Zoho status, e.g. active, disabled.")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, comment="True while the user is active in Zoho.")
    country: Mapped[str | None] = mapped_column(String(120), comment="User's country in Zoho, if set.")
    region: Mapped[str | None] = mapped_column(
        ForeignKey("regions.code", ondelete="SET NULL"), comment="Region derived from the user's country."
    )
    modified_time: Mapped[datetime | None] = mapped_column(UTCDateTime, comment="Last change in Zoho (UTC).")
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, comment="When we last loaded it (UTC).")


class PipelineStage(Base):
    __tablename__ = "pipeline_stages"
    __table_args__ = (
        CheckConstraint("probability BETWEEN 0 AND 100", name="probability_range"),
        CheckConstraint("deal_status IN ('open', 'won', 'lost')", name="deal_status_values"),
        {"comment": "Stages per pipeline with Zoho's probability and forecast settings."},
    )

    pipeline: Mapped[str] = mapped_column(String(120), primary_key=True, comment="Pipeline name in Zoho.")
    stage: Mapped[str] = mapped_column(String(120), primary_key=True, comment="Stage name (Zoho picklist value).")
    zoho_stage_id: Mapped[int | None] = mapped_column(BigInteger, comment="Zoho picklist value id.")
    sequence: Mapped[int] = mapped_column(Integer, comment="Order of the stage within its pipeline (1 = first).")
    probability: Mapped[int] = mapped_column(Integer, comment="Default win probability of the stage, percent.")
    forecast_type: Mapped[str] = mapped_column(String(20), comment="Zoho forecast type: Open, Closed Won, Closed Lost.")
    forecast_category: Mapped[str | None] = mapped_column(
        String(60), comment="Zoho forecast category, e.g. Pipeline, Best Case, Committed, Closed, Omitted."
    )
    deal_status: Mapped[str] = mapped_column(String(8), comment="open / won / lost, from forecast_type.")
    is_active: Mapped[bool] = mapped_column(
        Boolean, default=True, comment="False when the stage was removed from Zoho's picklist."
    )
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, comment="When we last loaded it (UTC).")


class Currency(Base):
    __tablename__ = "currencies"
    __table_args__ = (
        CheckConstraint("exchange_rate > 0", name="exchange_rate_positive"),
        {"comment": "Org currencies with dated exchange rates (units of the currency per 1 home-currency unit)."},
    )

    iso_code: Mapped[str] = mapped_column(String(3), primary_key=True, comment="ISO 4217 code, e.g. SGD.")
    rate_date: Mapped[date] = mapped_column(Date, primary_key=True, comment="Date the rate was in force (UTC).")
    name: Mapped[str | None] = mapped_column(String(120), comment="Currency name.")
    symbol: Mapped[str | None] = mapped_column(String(16), comment="Currency symbol.")
    exchange_rate: Mapped[Decimal] = mapped_column(
        Numeric(20, 9), comment="Units of this currency per 1 unit of home currency (Zoho's convention)."
    )
    is_home: Mapped[bool] = mapped_column(Boolean, default=False, comment="True for the org's home currency.")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, comment="Active in Zoho.")
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, comment="When we last loaded it (UTC).")

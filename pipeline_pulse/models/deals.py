"""Fact tables: deals (current state), their observed versions, stage history and daily snapshots, and the
metrics mart."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from pipeline_pulse.models.base import Base, JSONText, SurrogateKey, UTCDateTime, utcnow
from pipeline_pulse.services.zoho.deal_fields import column_comment  # the field table holds their comments

Money = Numeric(20, 2)
Rate = Numeric(20, 9)


class Deal(Base):
    __tablename__ = "deals"
    __table_args__ = (
        CheckConstraint("probability IS NULL OR probability BETWEEN 0 AND 100", name="probability_range"),
        CheckConstraint("deal_status IN ('open', 'won', 'lost')", name="deal_status_values"),
        Index("ix_deals_deal_status_region", "deal_status", "region"),
        # A stage or a pipeline in the scope's regions (/deals?stage=, ?pipeline=): one with few or no deals
        # there is read from here instead of walking a sort index past every other deal (migrations 0021, 0022).
        Index("ix_deals_stage_region", "stage", "region"),
        Index("ix_deals_pipeline_region", "pipeline", "region"),
        # Read API (docs/api.md, "Speed"): keyset pages in every sort order walk (column, id) forwards or
        # backwards; the INCLUDE columns let a closing-date range be aggregated (partial months) and the strips
        # of the fresh-deal count (api/queries/staleness.py) be read from the index alone on Postgres.
        Index(
            "ix_deals_live_closing_date_id",
            "closing_date",
            "id",
            postgresql_include=[
                "region",
                "deal_status",
                "owner_id",
                "pipeline",
                "stage",
                "amount_home",
                "weighted_amount_home",
                "created_time",
                "modified_time",
            ],
            postgresql_where=text("deleted_at IS NULL"),
            sqlite_where=text("deleted_at IS NULL"),
        ),
        # /deals with a closing range sorted by modified time, read day by day (api/queries/deals.py).
        Index(
            "ix_deals_live_closing_date_modified_time_id",
            "closing_date",
            "modified_time",
            "id",
            postgresql_include=["region", "deal_status", "owner_id", "pipeline", "stage"],
            postgresql_where=text("deleted_at IS NULL"),
            sqlite_where=text("deleted_at IS NULL"),
        ),
        # The same read under a region scope: one probe per (region, day), reading only deals in scope.
        Index(
            "ix_deals_live_region_closing_date_modified_time_id",
            "region",
            "closing_date",
            "modified_time",
            "id",
            postgresql_include=["deal_status", "owner_id", "pipeline", "stage"],
            postgresql_where=text("deleted_at IS NULL"),
            sqlite_where=text("deleted_at IS NULL"),
        ),
        # By-owner figures of a cut month's days for one status in a region scope (the day mart has no owner):
        # exactly those deals, from the index alone, instead of every deal of each day filtered.
        Index(
            "ix_deals_live_status_region_closing_date",
            "deal_status",
            "region",
            "closing_date",
            postgresql_include=["owner_id", "pipeline", "stage", "amount_home", "weighted_amount_home"],
            postgresql_where=text("deleted_at IS NULL"),
            sqlite_where=text("deleted_at IS NULL"),
        ),
        # One owner's deals (a few thousand at most): their cut-month days, fresh count and closing-date pages.
        Index(
            "ix_deals_live_owner_closing_date_id",
            "owner_id",
            "closing_date",
            "id",
            postgresql_include=[
                "region",
                "deal_status",
                "pipeline",
                "stage",
                "amount_home",
                "weighted_amount_home",
                "created_time",
                "modified_time",
            ],
            postgresql_where=text("deleted_at IS NULL"),
            sqlite_where=text("deleted_at IS NULL"),
        ),
        Index(
            "ix_deals_live_modified_time_id",
            "modified_time",
            "id",
            postgresql_include=["region", "deal_status", "owner_id", "pipeline", "stage", "closing_date"],
            postgresql_where=text("deleted_at IS NULL"),
            sqlite_where=text("deleted_at IS NULL"),
        ),
        Index(
            "ix_deals_live_amount_home_id",
            "amount_home",
            "id",
            postgresql_where=text("deleted_at IS NULL"),
            sqlite_where=text("deleted_at IS NULL"),
        ),
        {"comment": "One row per Zoho deal, current state. Deleted deals stay with deleted_at set."},
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False, comment=column_comment("id"))
    deal_name: Mapped[str | None] = mapped_column(String(255), comment=column_comment("deal_name"))
    account_id: Mapped[int | None] = mapped_column(BigInteger, comment=column_comment("account_id"))
    account_name: Mapped[str | None] = mapped_column(String(255), comment=column_comment("account_name"))
    owner_id: Mapped[int | None] = mapped_column(BigInteger, index=True, comment=column_comment("owner_id"))
    owner_name: Mapped[str | None] = mapped_column(String(255), comment=column_comment("owner_name"))
    owner_email: Mapped[str | None] = mapped_column(String(255), comment=column_comment("owner_email"))
    stage: Mapped[str] = mapped_column(String(120), comment="Current stage (Zoho Stage).")
    pipeline: Mapped[str | None] = mapped_column(String(120), comment=column_comment("pipeline"))
    probability: Mapped[int | None] = mapped_column(Integer, comment=column_comment("probability"))
    forecast_category: Mapped[str | None] = mapped_column(
        String(60), comment="Forecast category: the deal's own Forecast_Category__s, else its stage's."
    )
    forecast_type: Mapped[str | None] = mapped_column(
        String(20), comment="Forecast type of the stage: Open, Closed Won or Closed Lost."
    )
    deal_status: Mapped[str] = mapped_column(String(8), comment="open / won / lost, from the stage's forecast type.")
    amount: Mapped[Decimal | None] = mapped_column(Money, comment=column_comment("amount"))
    currency: Mapped[str | None] = mapped_column(String(3), comment="ISO code of the deal's currency.")
    exchange_rate: Mapped[Decimal | None] = mapped_column(
        Rate, comment="Rate used for conversion: units of deal currency per 1 home-currency unit."
    )
    amount_home: Mapped[Decimal | None] = mapped_column(
        Money, comment="Amount in home currency = amount / exchange_rate."
    )
    weighted_amount_home: Mapped[Decimal | None] = mapped_column(Money, comment="amount_home x probability / 100.")
    closing_date: Mapped[date | None] = mapped_column(Date, comment=column_comment("closing_date"))
    created_time: Mapped[datetime | None] = mapped_column(UTCDateTime, comment=column_comment("created_time"))
    modified_time: Mapped[datetime | None] = mapped_column(UTCDateTime, comment=column_comment("modified_time"))
    last_activity_time: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment=column_comment("last_activity_time")
    )
    lead_source: Mapped[str | None] = mapped_column(String(120), comment=column_comment("lead_source"))
    deal_type: Mapped[str | None] = mapped_column(String(120), comment=column_comment("deal_type"))
    country: Mapped[str | None] = mapped_column(String(120), comment=column_comment("country"))
    region: Mapped[str] = mapped_column(
        ForeignKey("regions.code", ondelete="RESTRICT"),
        index=True,
        comment="Region: the Region field, else the country's region, else Unassigned.",
    )
    raw: Mapped[dict[str, Any]] = mapped_column(JSONText, comment="The record as received from Zoho.")
    deleted_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="When Zoho reported the deal deleted (soft delete); NULL while it exists."
    )
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, comment="First loaded (UTC).")
    last_synced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, comment="Last loaded (UTC).")


VERSION_PRODUCERS = ("sync", "reconcile", "deletion", "restore")


class DealVersion(Base):
    __tablename__ = "deal_versions"
    __table_args__ = (
        CheckConstraint("produced_by IN ('sync', 'reconcile', 'deletion', 'restore')", name="produced_by_values"),
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="valid_range"),
        Index("ix_deal_versions_deal_id_valid_from", "deal_id", "valid_from"),
        Index("ix_deal_versions_valid_from", "valid_from"),
        # Exactly one current version per deal; also the index of "the current state" reads.
        Index(
            "uq_deal_versions_current",
            "deal_id",
            unique=True,
            postgresql_where=text("valid_to IS NULL"),
            sqlite_where=text("valid_to IS NULL"),
        ),
        {
            "comment": "Every observed state of every deal (SCD type 2): the fields metrics depend on, valid over "
            "[valid_from, valid_to). Written with the deals upsert; see docs/metrics.md, 'Deal history'."
        },
    )

    id: Mapped[int] = mapped_column(SurrogateKey, primary_key=True, autoincrement=True, comment="Row id.")
    deal_id: Mapped[int] = mapped_column(
        ForeignKey("deals.id", ondelete="CASCADE"), nullable=False, comment="The deal (deals.id)."
    )
    valid_from: Mapped[datetime] = mapped_column(
        UTCDateTime,
        nullable=False,
        comment="Start of validity (UTC, inclusive): Zoho Modified_Time of the change; for a deletion Zoho's "
        "deleted time (or the reconcile's observed time); the observed time for drift without a newer "
        "Modified_Time.",
    )
    valid_to: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="End of validity (UTC, exclusive) = the next version's valid_from; NULL while current."
    )
    produced_by: Mapped[str] = mapped_column(
        String(10),
        nullable=False,
        comment="What wrote it: sync (incremental), reconcile (full read), deletion (deleted in Zoho), restore "
        "(a deleted deal reappeared).",
    )
    deleted: Mapped[bool] = mapped_column(
        Boolean, nullable=False, server_default=false(), comment="True from the deal's deletion on (a tombstone)."
    )
    stage: Mapped[str] = mapped_column(String(120), nullable=False, comment="Stage.")
    pipeline: Mapped[str | None] = mapped_column(String(120), comment="Pipeline.")
    deal_status: Mapped[str] = mapped_column(String(8), nullable=False, comment="open / won / lost.")
    probability: Mapped[int | None] = mapped_column(Integer, comment="Win probability, percent.")
    forecast_category: Mapped[str | None] = mapped_column(String(60), comment="Forecast category.")
    amount: Mapped[Decimal | None] = mapped_column(Money, comment="Amount in the deal's own currency.")
    currency: Mapped[str | None] = mapped_column(String(3), comment="ISO code of the deal's currency.")
    exchange_rate: Mapped[Decimal | None] = mapped_column(Rate, comment="Units of deal currency per home unit.")
    amount_home: Mapped[Decimal | None] = mapped_column(Money, comment="Amount in home currency.")
    weighted_amount_home: Mapped[Decimal | None] = mapped_column(Money, comment="amount_home x probability / 100.")
    closing_date: Mapped[date | None] = mapped_column(Date, comment="Closing date.")
    owner_id: Mapped[int | None] = mapped_column(BigInteger, comment="Zoho user id of the owner.")
    region: Mapped[str] = mapped_column(String(32), nullable=False, comment="Region code.")
    modified_time: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="Zoho Modified_Time of the deal when this version was written (UTC)."
    )
    recorded_at: Mapped[datetime] = mapped_column(
        UTCDateTime, nullable=False, default=utcnow, comment="When the warehouse wrote the version (UTC)."
    )


STAGE_HISTORY_SOURCES = ("zoho", "versions")


class DealStageHistory(Base):
    __tablename__ = "deal_stage_history"
    __table_args__ = (
        CheckConstraint("source IN ('zoho', 'versions')", name="source_values"),
        Index("ix_deal_stage_history_deal_id_entered_at", "deal_id", "entered_at"),
        {
            "comment": "One stage timeline per deal, one row per stage entered: Zoho's Stage_History up to the deal's "
            "first observation, then the stage changes recorded in deal_versions (docs/metrics.md, section 8). "
            "Rebuilt per deal by pipeline_pulse/warehouse/stage_timeline.py; never written by hand."
        },
    )

    id: Mapped[int] = mapped_column(
        BigInteger,
        primary_key=True,
        autoincrement=False,
        comment="Zoho stage-history record id (source zoho) or the deal_versions id (source versions; far below "
        "Zoho's 19-digit ids, and a clash would fail loudly on this key).",
    )
    deal_id: Mapped[int] = mapped_column(ForeignKey("deals.id", ondelete="CASCADE"), comment="The deal (deals.id).")
    stage: Mapped[str] = mapped_column(String(120), index=True, comment="Stage entered.")
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="When the deal entered the stage (UTC).")
    left_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="When it moved on (next entry's entered_at); NULL for the current stage."
    )
    duration_days: Mapped[Decimal | None] = mapped_column(
        Numeric(12, 4), comment="Days spent in the stage (left_at - entered_at); NULL while current."
    )
    amount: Mapped[Decimal | None] = mapped_column(Money, comment="Deal amount at the time, deal currency.")
    probability: Mapped[int | None] = mapped_column(Integer, comment="Probability at the time, percent.")
    expected_revenue: Mapped[Decimal | None] = mapped_column(
        Money, comment="Expected revenue at the time (Zoho's; amount x probability / 100 for source versions)."
    )
    closing_date: Mapped[date | None] = mapped_column(Date, comment="Closing date at the time.")
    changed_by_id: Mapped[int | None] = mapped_column(
        BigInteger, comment="Zoho user who changed the stage (source zoho; NULL for versions)."
    )
    changed_by_name: Mapped[str | None] = mapped_column(String(255), comment="Name of that user.")
    source: Mapped[str] = mapped_column(
        String(8),
        nullable=False,
        server_default="zoho",
        comment="Where the entry comes from: zoho (Stage_History, before the first observation) or versions "
        "(a stage change recorded in deal_versions).",
    )
    last_synced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, comment="Last rebuilt (UTC).")


class ZohoStageHistory(Base):
    __tablename__ = "zoho_stage_history"
    __table_args__ = (
        Index("ix_zoho_stage_history_deal_id_entered_at", "deal_id", "entered_at"),
        {
            "comment": "Zoho's Stage_History rows as imported by the stage_history_import asset (raw, every row "
            "Zoho returned); deal_stage_history takes the ones up to the deal's first observation."
        },
    )

    id: Mapped[int] = mapped_column(
        BigInteger, primary_key=True, autoincrement=False, comment="Zoho stage-history record id."
    )
    deal_id: Mapped[int] = mapped_column(ForeignKey("deals.id", ondelete="CASCADE"), comment="The deal (deals.id).")
    stage: Mapped[str] = mapped_column(String(120), comment="Stage entered.")
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="Zoho Modified_Time of the entry (UTC).")
    amount: Mapped[Decimal | None] = mapped_column(Money, comment="Deal amount at the time, deal currency.")
    probability: Mapped[int | None] = mapped_column(Integer, comment="Probability at the time, percent.")
    expected_revenue: Mapped[Decimal | None] = mapped_column(Money, comment="Expected revenue at the time.")
    closing_date: Mapped[date | None] = mapped_column(Date, comment="Closing date at the time.")
    changed_by_id: Mapped[int | None] = mapped_column(BigInteger, comment="Zoho user who made the change.")
    changed_by_name: Mapped[str | None] = mapped_column(String(255), comment="Name of that user.")
    last_synced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, comment="Last imported (UTC).")


class StageHistoryImport(Base):
    __tablename__ = "zoho_stage_history_imports"
    __table_args__ = (
        {
            "comment": "Deals whose Zoho Stage_History has been imported (the import's progress: the backlog is the "
            "deals created before the history start without a row here)."
        },
    )

    deal_id: Mapped[int] = mapped_column(
        ForeignKey("deals.id", ondelete="CASCADE"), primary_key=True, autoincrement=False, comment="deals.id."
    )
    imported_at: Mapped[datetime] = mapped_column(
        UTCDateTime, nullable=False, default=utcnow, comment="When it was read (UTC)."
    )
    entries: Mapped[int] = mapped_column(Integer, nullable=False, comment="Stage_History rows Zoho returned.")


class DealSnapshot(Base):
    __tablename__ = "deal_snapshots"
    __table_args__ = (
        Index("ix_deal_snapshots_deal_id", "deal_id"),
        {"comment": "Daily state of every open deal (and deals closed that day), for trends and movement."},
    )

    snapshot_date: Mapped[date] = mapped_column(Date, primary_key=True, comment="Day of the snapshot (UTC).")
    deal_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False, comment="deals.id.")
    stage: Mapped[str] = mapped_column(String(120), comment="Stage on that day.")
    pipeline: Mapped[str | None] = mapped_column(String(120), comment="Pipeline on that day.")
    deal_status: Mapped[str] = mapped_column(String(8), comment="open / won / lost on that day.")
    region: Mapped[str] = mapped_column(String(32), comment="Region on that day.")
    owner_id: Mapped[int | None] = mapped_column(BigInteger, comment="Owner on that day.")
    probability: Mapped[int | None] = mapped_column(Integer, comment="Probability on that day, percent.")
    amount_home: Mapped[Decimal | None] = mapped_column(Money, comment="Amount in home currency on that day.")
    weighted_amount_home: Mapped[Decimal | None] = mapped_column(Money, comment="Weighted home amount on that day.")
    closing_date: Mapped[date | None] = mapped_column(Date, comment="Closing date on that day.")
    captured_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, comment="When captured (UTC).")


class PipelineMetric(Base):
    __tablename__ = "pipeline_metrics"
    __table_args__ = (
        Index("ix_pipeline_metrics_region_deal_status", "region", "deal_status"),
        {
            "comment": "Metrics mart rebuilt after every sync: live deals grouped by region, pipeline, stage, "
            "owner, status and closing month, so the API never scans all deals."
        },
    )

    id: Mapped[int] = mapped_column(SurrogateKey, primary_key=True, autoincrement=True, comment="Row id.")
    region: Mapped[str] = mapped_column(String(32), comment="Region code.")
    pipeline: Mapped[str | None] = mapped_column(String(120), comment="Pipeline.")
    stage: Mapped[str] = mapped_column(String(120), comment="Stage.")
    owner_id: Mapped[int | None] = mapped_column(BigInteger, comment="Owner (Zoho user id).")
    deal_status: Mapped[str] = mapped_column(String(8), comment="open / won / lost.")
    closing_month: Mapped[date | None] = mapped_column(Date, comment="First day of the closing month.")
    deal_count: Mapped[int] = mapped_column(Integer, comment="Number of deals.")
    amount_home: Mapped[Decimal] = mapped_column(Money, server_default=text("0"), comment="Sum of amount_home.")
    weighted_amount_home: Mapped[Decimal] = mapped_column(
        Money, server_default=text("0"), comment="Sum of weighted_amount_home."
    )
    cycle_days_sum: Mapped[Decimal] = mapped_column(
        Numeric(20, 4), server_default=text("0"), comment="Sum of days from created to closing date."
    )
    cycle_deal_count: Mapped[int] = mapped_column(
        Integer, server_default=text("0"), comment="Deals with both created and closing date (cycle_days_sum's n)."
    )
    stale_count: Mapped[int] = mapped_column(
        Integer,
        server_default=text("0"),
        comment="Open deals not modified for 30 days before the refresh day (UTC), or closing before it.",
    )
    refreshed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, comment="When rebuilt (UTC).")


class MartDealContribution(Base):
    __tablename__ = "mart_deal_contributions"
    __table_args__ = {
        "comment": "Per live deal, the keys and measures it adds to pipeline_metrics, pipeline_metrics_daily and "
        "open_deal_freshness(_daily) as of the last mart refresh: a sync subtracts the old row and adds the new one "
        "for the deals it changed instead of rebuilding the marts."
    }

    deal_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False, comment="deals.id.")
    region: Mapped[str] = mapped_column(String(32), comment="Region code.")
    pipeline: Mapped[str | None] = mapped_column(String(120), comment="Pipeline.")
    stage: Mapped[str] = mapped_column(String(120), comment="Stage.")
    owner_id: Mapped[int | None] = mapped_column(BigInteger, comment="Owner (Zoho user id).")
    deal_status: Mapped[str] = mapped_column(String(8), comment="open / won / lost.")
    closing_date: Mapped[date | None] = mapped_column(Date, comment="Closing date.")
    closing_month: Mapped[date | None] = mapped_column(Date, comment="First day of the closing month.")
    freshness_month: Mapped[date | None] = mapped_column(
        Date, comment="First day of the UTC month of modified_time when counted in open_deal_freshness, else NULL."
    )
    freshness_date: Mapped[date | None] = mapped_column(
        Date, comment="UTC day of modified_time when counted in open_deal_freshness_daily, else NULL."
    )
    amount_home: Mapped[Decimal | None] = mapped_column(Money, comment="Amount in home currency.")
    weighted_amount_home: Mapped[Decimal | None] = mapped_column(Money, comment="Weighted home amount.")
    cycle_days: Mapped[int | None] = mapped_column(Integer, comment="Closing date minus created day (NULL: unknown).")
    stale: Mapped[int] = mapped_column(Integer, comment="1 when stale as of the mart's refresh day, else 0.")


class PipelineMetricDaily(Base):
    __tablename__ = "pipeline_metrics_daily"
    __table_args__ = (
        Index("ix_pipeline_metrics_daily_closing_date_region", "closing_date", "region"),
        {
            "comment": "Day-grain metrics mart rebuilt with pipeline_metrics: live deals grouped by region, "
            "pipeline, stage, status and closing DAY (no owner), so a closing range that cuts months sums days, "
            "not deals."
        },
    )

    id: Mapped[int] = mapped_column(SurrogateKey, primary_key=True, autoincrement=True, comment="Row id.")
    region: Mapped[str] = mapped_column(String(32), comment="Region code.")
    pipeline: Mapped[str | None] = mapped_column(String(120), comment="Pipeline.")
    stage: Mapped[str] = mapped_column(String(120), comment="Stage.")
    deal_status: Mapped[str] = mapped_column(String(8), comment="open / won / lost.")
    closing_date: Mapped[date | None] = mapped_column(Date, comment="Closing date (NULL: deals without one).")
    deal_count: Mapped[int] = mapped_column(Integer, comment="Number of deals.")
    amount_home: Mapped[Decimal] = mapped_column(Money, server_default=text("0"), comment="Sum of amount_home.")
    weighted_amount_home: Mapped[Decimal] = mapped_column(
        Money, server_default=text("0"), comment="Sum of weighted_amount_home."
    )
    cycle_days_sum: Mapped[Decimal] = mapped_column(
        Numeric(20, 4), server_default=text("0"), comment="Sum of days from created to closing date."
    )
    cycle_deal_count: Mapped[int] = mapped_column(
        Integer, server_default=text("0"), comment="Deals with both created and closing date (cycle_days_sum's n)."
    )
    refreshed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, comment="When rebuilt (UTC).")


class OpenDealFreshness(Base):
    __tablename__ = "open_deal_freshness"
    __table_args__ = (
        Index("ix_open_deal_freshness_modified_month_closing_month", "modified_month", "closing_month"),
        {
            "comment": "Open live deals with a modified time, counted by region, pipeline, stage, closing month "
            "and modified month; rebuilt with pipeline_metrics. The whole-month cells of the stale-deal count "
            "for any as_of and threshold (docs/metrics.md 6.3)."
        },
    )

    id: Mapped[int] = mapped_column(SurrogateKey, primary_key=True, autoincrement=True, comment="Row id.")
    region: Mapped[str] = mapped_column(String(32), comment="Region code.")
    pipeline: Mapped[str | None] = mapped_column(String(120), comment="Pipeline.")
    stage: Mapped[str] = mapped_column(String(120), comment="Stage.")
    closing_month: Mapped[date | None] = mapped_column(Date, comment="First day of the closing month (NULL: none).")
    modified_month: Mapped[date] = mapped_column(Date, comment="First day of the UTC month of modified_time.")
    deal_count: Mapped[int] = mapped_column(Integer, comment="Number of open deals.")
    refreshed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, comment="When rebuilt (UTC).")


class OpenDealFreshnessDaily(Base):
    __tablename__ = "open_deal_freshness_daily"
    __table_args__ = (
        Index("ix_open_deal_freshness_daily_modified_date", "modified_date"),
        {
            "comment": "open_deal_freshness by modified DAY (UTC) instead of month: the part of a month the "
            "stale cutoff cuts, read as at most about half a month of days (docs/metrics.md 6.3)."
        },
    )

    id: Mapped[int] = mapped_column(SurrogateKey, primary_key=True, autoincrement=True, comment="Row id.")
    region: Mapped[str] = mapped_column(String(32), comment="Region code.")
    pipeline: Mapped[str | None] = mapped_column(String(120), comment="Pipeline.")
    stage: Mapped[str] = mapped_column(String(120), comment="Stage.")
    closing_month: Mapped[date | None] = mapped_column(Date, comment="First day of the closing month (NULL: none).")
    modified_date: Mapped[date] = mapped_column(Date, comment="UTC calendar day of modified_time.")
    deal_count: Mapped[int] = mapped_column(Integer, comment="Number of open deals.")
    refreshed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, comment="When rebuilt (UTC).")

"""Pipeline bookkeeping: per-stream cursors and quarantined records."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from pipeline_pulse.models.base import Base, JSONType, SurrogateKey, UTCDateTime, utcnow


class SyncState(Base):
    __tablename__ = "sync_state"
    __table_args__ = {"comment": "One row per extracted stream: its committed cursor and last run's counts."}

    stream: Mapped[str] = mapped_column(String(64), primary_key=True, comment="Stream name, e.g. deals.")
    cursor_modified_time: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="Modified_Time of the last record committed (UTC)."
    )
    cursor_id: Mapped[int | None] = mapped_column(BigInteger, comment="Zoho id tie-break for that Modified_Time.")
    cursor: Mapped[dict[str, Any] | None] = mapped_column(JSONType, comment="Stream-specific cursor details.")
    last_run_id: Mapped[str | None] = mapped_column(String(64), comment="Dagster run id of the last run.")
    last_run_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, comment="Last run start (UTC).")
    last_run_finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, comment="Last run end (UTC).")
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime, comment="Last successful run end (UTC).")
    last_status: Mapped[str | None] = mapped_column(String(16), comment="success / failed / running.")
    last_error: Mapped[str | None] = mapped_column(Text, comment="Error of the last failed run.")
    records_extracted: Mapped[int] = mapped_column(Integer, default=0, comment="Records read last run.")
    records_inserted: Mapped[int] = mapped_column(Integer, default=0, comment="Rows inserted last run.")
    records_updated: Mapped[int] = mapped_column(Integer, default=0, comment="Rows updated last run.")
    records_deleted: Mapped[int] = mapped_column(Integer, default=0, comment="Rows soft-deleted last run.")
    records_rejected: Mapped[int] = mapped_column(Integer, default=0, comment="Records quarantined last run.")
    api_calls: Mapped[int] = mapped_column(Integer, default=0, comment="Zoho API calls last run.")
    credits_used: Mapped[int] = mapped_column(Integer, default=0, comment="Zoho API credits last run.")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, comment="Row change.")


class RejectedRecord(Base):
    __tablename__ = "rejected_records"
    __table_args__ = {"comment": "Records that failed validation, kept with the reason and the raw payload."}

    id: Mapped[int] = mapped_column(SurrogateKey, primary_key=True, autoincrement=True, comment="Row id.")
    fingerprint: Mapped[str] = mapped_column(
        String(64), unique=True, comment="sha256 of stream, Zoho id and reason; repeats update the row."
    )
    stream: Mapped[str] = mapped_column(String(64), index=True, comment="Stream, e.g. deals.")
    zoho_id: Mapped[str | None] = mapped_column(String(32), index=True, comment="Zoho id if the record had one.")
    reason: Mapped[str] = mapped_column(Text, comment="Why it was rejected.")
    payload: Mapped[Any] = mapped_column(JSONType, comment="The raw record as received.")
    run_id: Mapped[str | None] = mapped_column(String(64), comment="Run that last saw it.")
    occurrences: Mapped[int] = mapped_column(Integer, default=1, comment="How many runs saw it.")
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, comment="First rejection (UTC).")
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, comment="Last rejection (UTC).")
    resolved_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, comment="When a later run loaded the record fine (UTC)."
    )


class WarehouseDataVersion(Base):
    __tablename__ = "warehouse_data_version"
    __table_args__ = (
        CheckConstraint("id = 1", name="single_row"),
        {
            "comment": "One row: a counter every ETL writer bumps in its transaction; the read API polls it to "
            "drop its response cache (pipeline_pulse.warehouse.data_version)."
        },
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False, comment="Always 1.")
    version: Mapped[int] = mapped_column(BigInteger, nullable=False, comment="Bumped by one per writing transaction.")
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, comment="Last bump (UTC).")

"""Quarantine of records that failed validation: one row per (stream, Zoho id, reason), upserted by
fingerprint so repeats bump a counter instead of piling up. Nothing is dropped silently."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, and_, case, select, update
from sqlalchemy.dialects import postgresql, sqlite

from pipeline_pulse.models import RejectedRecord, utcnow
from pipeline_pulse.services.zoho.records import QuarantinedRecord

_CHUNK = 1_000


def fingerprint(stream: str, zoho_id: str | None, reason: str) -> str:
    return hashlib.sha256(f"{stream}\x1f{zoho_id or ''}\x1f{reason}".encode()).hexdigest()


def _json_safe(payload: Any) -> Any:
    return json.loads(json.dumps(payload, default=str, ensure_ascii=False))


def quarantine(connection: Connection, records: Iterable[QuarantinedRecord], *, run_id: str | None) -> int:
    """Upsert rejected records; a record seen again by another run bumps `occurrences` and reopens it."""
    now = utcnow()
    by_fp: dict[str, dict[str, Any]] = {}
    for record in records:
        zoho_id = None if record.zoho_id is None else str(record.zoho_id)[:32]
        fp = fingerprint(record.stream, zoho_id, record.reason)
        by_fp[fp] = {
            "fingerprint": fp,
            "stream": record.stream,
            "zoho_id": zoho_id,
            "reason": record.reason,
            "payload": _json_safe(record.payload),
            "run_id": run_id,
            "occurrences": 1,
            "first_seen_at": now,
            "last_seen_at": now,
        }
    rows = list(by_fp.values())
    if not rows:
        return 0
    table = RejectedRecord.__table__
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    for start in range(0, len(rows), _CHUNK):
        stmt = dialect.insert(table)
        stmt = stmt.on_conflict_do_update(
            index_elements=["fingerprint"],
            set_={
                "payload": stmt.excluded.payload,
                "run_id": stmt.excluded.run_id,
                "last_seen_at": stmt.excluded.last_seen_at,
                "resolved_at": None,
                # occurrences counts runs, not re-reads of an overlapping page within one run
                "occurrences": case(
                    (table.c.run_id.is_distinct_from(stmt.excluded.run_id), table.c.occurrences + 1),
                    else_=table.c.occurrences,
                ),
            },
        )
        connection.execute(stmt, rows[start : start + _CHUNK])
    return len(rows)


def resolve(connection: Connection, stream: str, zoho_ids: Sequence[int | str]) -> int:
    """Mark open rejections of these ids resolved: a later run loaded the record fine."""
    open_ones = select(RejectedRecord.id).where(RejectedRecord.stream == stream, RejectedRecord.resolved_at.is_(None))
    if not zoho_ids or connection.execute(open_ones.limit(1)).first() is None:
        return 0  # the common case (a backfill's every page): no id lists to bind at all
    ids = [str(zoho_id) for zoho_id in zoho_ids]
    resolved = 0
    now = utcnow()
    for start in range(0, len(ids), _CHUNK):
        resolved += connection.execute(
            update(RejectedRecord)
            .where(
                and_(
                    RejectedRecord.stream == stream,
                    RejectedRecord.resolved_at.is_(None),
                    RejectedRecord.zoho_id.in_(ids[start : start + _CHUNK]),
                )
            )
            .values(resolved_at=now)
        ).rowcount
    return resolved


def open_rejected_ids(connection: Connection, stream: str, *, limit: int) -> list[int]:
    """Zoho ids of the stream's unresolved rejections (oldest sighting first), to be read again by id."""
    rows = connection.execute(
        select(RejectedRecord.zoho_id)
        .where(
            RejectedRecord.stream == stream,
            RejectedRecord.resolved_at.is_(None),
            RejectedRecord.zoho_id.is_not(None),
        )
        .order_by(RejectedRecord.last_seen_at, RejectedRecord.id)
    ).scalars()
    ids: dict[int, None] = {}
    for zoho_id in rows:
        if zoho_id.isdigit():
            ids[int(zoho_id)] = None
            if len(ids) >= limit:
                break
    return list(ids)

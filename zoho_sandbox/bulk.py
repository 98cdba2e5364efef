"""Bulk Read jobs: create, poll (IN PROGRESS until the configured delay passes), download a zipped CSV."""

from __future__ import annotations

import csv
import io
import threading
import zipfile
from dataclasses import dataclass
from typing import Any

from . import reference as ref
from .clock import SandboxClock, iso, parse_iso
from .config import SandboxConfig
from .fields_sql import CSV_FIELD_SQL
from .metadata import field_id
from .store import DealStore

JOB_BASE = 4_876_876_000_009_000_000
_COMPARATORS = {
    "greater_than": ">",
    "greater_equal": ">=",
    "less_than": "<",
    "less_equal": "<=",
    "equal": "=",
    "not_equal": "!=",
}
_CRITERIA_COLUMNS = {
    "Modified_Time": ("d.modified_time", "datetime"),
    "Created_Time": ("d.created_time", "datetime"),
    "Stage": ("d.stage", "text"),
    "Region": ("d.region", "text"),
    "Pipeline": ("d.pipeline", "text"),
}


class BulkError(ValueError):
    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.details = code, message, details or {}


@dataclass
class BulkJob:
    id: int
    query: dict[str, Any]
    fields: list[str]
    where: str
    params: list[Any]
    page: int
    created_at: float
    created_mono_offset: float


def criteria_sql(criteria: dict[str, Any] | None) -> tuple[str, list[Any]]:
    """Translate Zoho bulk criteria (single or group) into a SQL condition."""
    if not criteria:
        return "", []
    if "group" in criteria:
        op = " AND " if criteria.get("group_operator", "and").lower() == "and" else " OR "
        parts, params = [], []
        for sub in criteria["group"]:
            sql, p = criteria_sql(sub)
            if sql:
                parts.append(f"({sql})")
                params.extend(p)
        return op.join(parts), params
    field = criteria.get("field", {}).get("api_name") or criteria.get("api_name")
    comparator = criteria.get("comparator")
    if field not in _CRITERIA_COLUMNS:
        raise BulkError("INVALID_QUERY", "the field given in criteria is not supported", {"api_name": field})
    column, kind = _CRITERIA_COLUMNS[field]
    value = criteria.get("value")
    conv = (lambda v: int(parse_iso(str(v)))) if kind == "datetime" else str
    if comparator == "between":
        low, high = value
        return f"{column} BETWEEN ? AND ?", [conv(low), conv(high)]
    if comparator == "in":
        values = [conv(v) for v in value]
        return f"{column} IN ({', '.join('?' for _ in values)})", values
    if comparator not in _COMPARATORS:
        raise BulkError("INVALID_QUERY", "the comparator given is not supported", {"comparator": comparator})
    return f"{column} {_COMPARATORS[comparator]} ?", [conv(value)]


def _typed(criteria: dict[str, Any] | None) -> dict[str, Any]:
    """Echo criteria as Zoho does, with a ``type`` (group / comparison) on every node."""
    if not criteria:
        return {"type": None}
    out = dict(criteria)
    if "group" in out:
        out["type"] = "group"
        out["group"] = [_typed(sub) for sub in out["group"]]
    else:
        out.setdefault("type", "comparison")
        field = dict(out.get("field") or {})
        if field.get("api_name") and not field.get("id"):
            field["id"] = field_id("Deals", field["api_name"])
        if field:
            out["field"] = field
    return out


class BulkJobs:
    def __init__(self, config: SandboxConfig, clock: SandboxClock, store: DealStore) -> None:
        self.config = config
        self.clock = clock
        self.store = store
        self._lock = threading.Lock()
        self._jobs: dict[int, BulkJob] = {}
        self._next = 1

    def reset(self) -> None:
        with self._lock:
            self._jobs.clear()
            self._next = 1

    def create(self, body: dict[str, Any]) -> BulkJob:
        query = body.get("query") or {}
        module = (query.get("module") or {}).get("api_name")
        if module != "Deals":
            raise BulkError("INVALID_DATA", "the module given is not supported", {"api_name": module})
        fields = list(query.get("fields") or [f for f in CSV_FIELD_SQL])
        unknown = [f for f in fields if f != "id" and f not in CSV_FIELD_SQL]
        if unknown:
            raise BulkError("INVALID_DATA", "invalid field(s) in query", {"api_name": unknown[0]})
        where, params = criteria_sql(query.get("criteria"))
        page = int(query.get("page") or 1)
        token = query.get("page_token")
        if token:
            page = int(str(token).split("-")[-1])
        with self._lock:
            job = BulkJob(
                id=JOB_BASE + self._next,
                query=query,
                fields=["id", *(f for f in fields if f != "id")],
                where=(" WHERE " + where) if where else "",
                params=params,
                page=page,
                created_at=self.clock.now(),
                created_mono_offset=0.0,
            )
            self._next += 1
            self._jobs[job.id] = job
        return job

    def get(self, job_id: int) -> BulkJob | None:
        with self._lock:
            return self._jobs.get(job_id)

    def state(self, job: BulkJob) -> str:
        return "COMPLETED" if self.clock.now() - job.created_at >= self.config.bulk_delay_seconds else "IN PROGRESS"

    def detail(self, job: BulkJob) -> dict[str, Any]:
        state = self.state(job)
        per_page = self.config.bulk_page_size
        detail: dict[str, Any] = {
            "id": str(job.id),
            "operation": "read",
            "state": state,
            "query": {
                "module": {"api_name": "Deals", "id": "4876876000000002181"},
                "cvid": None,
                "fields": job.fields,
                "page": job.page,
                "criteria": _typed(job.query.get("criteria")),
                "file_type": "csv",
            },
            "created_by": {"name": ref.ADMIN_USER.full_name, "id": str(ref.ADMIN_USER.id)},
            "created_time": iso(job.created_at),
            "file_type": "csv",
        }
        if state == "COMPLETED":
            total = self.store.count_where(job.where, job.params)
            count = max(0, min(per_page, total - (job.page - 1) * per_page))
            more = total > job.page * per_page
            detail["result"] = {
                "page": job.page,
                "count": count,
                "download_url": f"/crm/bulk/v8/read/{job.id}/result",
                "per_page": per_page,
                "more_records": more,
                "next_page_token": f"{job.id}-{job.page + 1}" if more else None,
            }
        else:
            detail["result"] = None
        return detail

    def result_zip(self, job: BulkJob) -> bytes:
        per_page = self.config.bulk_page_size
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(job.fields)
        for row in self.store.iter_csv_rows(job.fields, job.where, job.params, (job.page - 1) * per_page, per_page):
            writer.writerow(["" if v is None else v for v in row])
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(f"{job.id}.csv", buf.getvalue())
        return out.getvalue()

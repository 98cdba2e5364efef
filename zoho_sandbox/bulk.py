"""Bulk Read jobs: create, poll (IN PROGRESS until the configured delay passes), download a zipped CSV."""

from __future__ import annotations

import contextlib
import csv
import io
import operator
import os
import shutil
import tempfile
import threading
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

from . import reference as ref
from .clock import SandboxClock, iso, parse_iso
from .config import SandboxConfig
from .fields_sql import CSV_FIELD_SQL
from .metadata import field_id
from .store import DealStore

_first = operator.itemgetter(0)
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
    condition: str  # SQL condition on ``deals d`` ("" = every deal); values bound from ``params``
    params: list[Any]
    page: int
    created_at: float
    generation: int = 0
    built: threading.Event = dc_field(default_factory=threading.Event)
    path: str | None = None  # the result zip, once built
    count: int = 0
    more: bool = False
    error: str | None = None
    module: str = "Deals"


# Bulk Read of the modules Deals look up (Account_Name, Contact_Name, Campaign_Source): id and name only.
LOOKUP_MODULES = {
    "Accounts": ("accounts", "Account_Name"),
    "Contacts": ("contacts", "Full_Name"),
    "Campaigns": ("campaigns", "Campaign_Name"),
}


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
    """Bulk Read jobs. Each job's result page is built into a zip file in the background as soon as the job is
    created (one builder thread, jobs in creation order); the job reports COMPLETED once the configured delay has
    passed *and* its file exists, as Zoho does. Downloads are then a plain file response.

    Result files live in a private temporary directory (under the store's own temporary directory when it has
    one); the newest ``MAX_RESULT_FILES`` are kept, older results are gone (404) as on Zoho after a day.
    """

    MAX_RESULT_FILES = 64
    CHUNK_ROWS = 5_000  # rows fetched per store-lock hold while building

    def __init__(self, config: SandboxConfig, clock: SandboxClock, store: DealStore) -> None:
        self.config = config
        self.clock = clock
        self.store = store
        self._lock = threading.Lock()
        self._jobs: dict[int, BulkJob] = {}
        self._files: list[BulkJob] = []  # jobs holding a result file, oldest first
        self._next = 1
        self._generation = 0
        self._closed = False
        self._dir: str | None = None
        self._builder: ThreadPoolExecutor | None = None

    # ----------------------------------------------------------------- lifecycle
    def _result_dir(self) -> str:
        if self._dir is None:
            self._dir = tempfile.mkdtemp(prefix="zoho_sandbox_bulk_", dir=self.store.work_dir)
        return self._dir

    def reset(self) -> None:
        with self._lock:
            self._generation += 1  # running and queued builds see it and stop
            self._jobs.clear()
            self._files.clear()
            self._next = 1
            directory, self._dir = self._dir, None
        if directory:
            shutil.rmtree(directory, ignore_errors=True)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._generation += 1
            builder, self._builder = self._builder, None
        if builder is not None:
            builder.shutdown(wait=True, cancel_futures=True)
        self.reset()

    # ----------------------------------------------------------------- jobs
    def create(self, body: dict[str, Any]) -> BulkJob:
        query = body.get("query") or {}
        module = (query.get("module") or {}).get("api_name")
        if module != "Deals" and module not in LOOKUP_MODULES:
            raise BulkError("INVALID_DATA", "the module given is not supported", {"api_name": module})
        known = CSV_FIELD_SQL if module == "Deals" else {LOOKUP_MODULES[module][1]: ""}
        fields = list(query.get("fields") or list(known))
        unknown = [f for f in fields if f != "id" and f not in known]
        if unknown:
            raise BulkError("INVALID_DATA", "invalid field(s) in query", {"api_name": unknown[0]})
        condition, params = criteria_sql(query.get("criteria"))
        page = int(query.get("page") or 1)
        token = query.get("page_token")
        if token:
            page = int(str(token).split("-")[-1])
        with self._lock:
            if self._closed:
                raise BulkError("INTERNAL_ERROR", "the sandbox is shutting down")
            job = BulkJob(
                id=JOB_BASE + self._next,
                query=query,
                fields=["id", *(f for f in fields if f != "id")],
                condition=condition,
                params=params,
                page=page,
                created_at=self.clock.now(),
                generation=self._generation,
                module=module,
            )
            self._next += 1
            self._jobs[job.id] = job
            if self._builder is None:
                self._builder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="zoho-sandbox-bulk")
            self._builder.submit(self._build, job)
        return job

    def get(self, job_id: int) -> BulkJob | None:
        with self._lock:
            return self._jobs.get(job_id)

    def wait(self, job: BulkJob, timeout: float | None = None) -> bool:
        """Block until the job's file is built (or failed); True when built in time."""
        return job.built.wait(timeout)

    def state(self, job: BulkJob) -> str:
        if job.error is not None:
            return "FAILURE"
        if not job.built.is_set() or self.clock.now() - job.created_at < self.config.bulk_delay_seconds:
            return "IN PROGRESS"
        return "COMPLETED"

    def detail(self, job: BulkJob) -> dict[str, Any]:
        state = self.state(job)
        per_page = self.config.bulk_page_size
        detail: dict[str, Any] = {
            "id": str(job.id),
            "operation": "read",
            "state": state,
            "query": {
                "module": {"api_name": job.module, "id": "4876876000000002181"},
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
            detail["result"] = {
                "page": job.page,
                "count": job.count,
                "download_url": f"/crm/bulk/v8/read/{job.id}/result",
                "per_page": per_page,
                "more_records": job.more,
                "next_page_token": f"{job.id}-{job.page + 1}" if job.more else None,
            }
        else:
            detail["result"] = None
        return detail

    def result_path(self, job: BulkJob) -> str | None:
        """The built zip of a COMPLETED job (None once the file has been dropped or if the job failed)."""
        path = job.path
        return path if path is not None and os.path.exists(path) else None

    def result_zip(self, job: BulkJob) -> bytes:
        """The result zip's bytes (waits for the build; for in-process callers and tests)."""
        job.built.wait()
        path = self.result_path(job)
        if path is None:
            raise BulkError("RESOURCE_NOT_FOUND", "the result of this job is no longer available")
        with open(path, "rb") as fh:
            return fh.read()

    # ----------------------------------------------------------------- building
    def _build(self, job: BulkJob) -> None:
        try:
            if self._stale(job):
                job.error = "cancelled"
                return
            directory = self._result_dir()
            path = os.path.join(directory, f"{job.id}.zip")
            part = path + ".part"
            count, more = self._write_zip(job, part)
            if count < 0:
                job.error = "cancelled"
                with contextlib.suppress(OSError):
                    os.unlink(part)
                return
            os.replace(part, path)
            with self._lock:
                if job.generation != self._generation:
                    with contextlib.suppress(OSError):
                        os.unlink(path)
                    job.error = "cancelled"
                    return
                job.path, job.count, job.more = path, count, more
                self._files.append(job)
                dropped = self._files[: -self.MAX_RESULT_FILES]
                del self._files[: -self.MAX_RESULT_FILES]
            for old in dropped:
                old_path, old.path = old.path, None
                if old_path:
                    with contextlib.suppress(OSError):
                        os.unlink(old_path)
        except Exception as exc:  # a failed build is a FAILURE job, as on Zoho
            job.error = f"{type(exc).__name__}: {exc}"
        finally:
            job.built.set()

    def _write_lookup_zip(self, job: BulkJob, path: str) -> tuple[int, bool]:
        """A lookup module's page: id and name of its records (thousands, so plain csv.writer is fine)."""
        table, name_field = LOOKUP_MODULES[job.module]
        per_page = self.config.bulk_page_size
        rows: list[tuple[int, str | None]] = []
        after: int | None = None
        skip = (job.page - 1) * per_page
        while True:
            chunk = self.store.lookup_rows(table, after, self.CHUNK_ROWS)
            if not chunk:
                break
            after = chunk[-1][0]
            if skip >= len(chunk):
                skip -= len(chunk)
                continue
            rows.extend(chunk[skip:])
            skip = 0
            if len(rows) > per_page:
                break
        more, rows = len(rows) > per_page, rows[:per_page]
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(["id", name_field] if name_field in job.fields else ["id"])
        writer.writerows((str(i), n or "") if name_field in job.fields else (str(i),) for i, n in rows)
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
            zf.writestr(f"{job.id}.csv", text.getvalue())
        return len(rows), more

    def _stale(self, job: BulkJob) -> bool:
        return job.generation != self._generation

    def _write_zip(self, job: BulkJob, path: str) -> tuple[int, bool]:
        """Write the job's page as ``{id}.csv`` in a zip at ``path``; (rows, more_records), rows -1 if cancelled.

        SQLite renders each CSV line in C (one printf per row, see ``csv_line_select``); each chunk of lines is
        joined and deflated in one call: no per-row Python code. (A second deflating thread was slower: the
        sqlite3 module drops and retakes the GIL on every row, so the two threads convoy.)
        """
        if job.module != "Deals":
            return self._write_lookup_zip(job, path)
        per_page = self.config.bulk_page_size
        count = 0
        remaining, after = per_page, None
        with (
            open(path, "wb") as raw,
            zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf,
            zf.open(f"{job.id}.csv", "w", force_zip64=True) as member,
        ):
            header = io.StringIO()
            csv.writer(header, lineterminator="\n").writerow(job.fields)
            member.write(header.getvalue().encode())
            while remaining > 0:
                if self._stale(job):
                    return -1, False
                want = min(self.CHUNK_ROWS, remaining)
                offset = (job.page - 1) * per_page if after is None else 0
                rows = self.store.csv_chunk(job.fields, job.condition, job.params, after, offset, want)
                if not rows:
                    break
                member.write(("\n".join(map(_first, rows)) + "\n").encode())
                count += len(rows)
                remaining -= len(rows)
                after = rows[-1][1]
                if len(rows) < want:
                    break
        more = remaining == 0 and after is not None and self.store.exists_after(job.condition, job.params, after)
        return count, more

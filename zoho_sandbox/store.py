"""Deal state in SQLite: generated rows, deletions, stage-history overlay; queries that emit JSON in C.

One connection guarded by a lock: the server's worker threads and the in-process control object share it.
Initial stage histories are not stored: they are regenerated from (seed, idx) on demand; only stage moves
made by mutations are stored (``history_overlay``).
"""

# SQL is assembled only from whitelisted column/field names (DEAL_FIELD_SQL, SORT_COLUMNS); values are bound.
# ruff: noqa: S608

from __future__ import annotations

import itertools
import json
import os
import random
import shutil
import sqlite3
import tempfile
import threading
from collections.abc import Collection, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from . import activity
from . import generator as gen
from . import reference as ref
from .clock import SandboxClock, iso
from .config import SandboxConfig
from .fields_sql import DEAL_FIELD_SQL, SORT_COLUMNS, csv_line_select, record_select

_ALL_FIELDS = frozenset(DEAL_FIELD_SQL)
RECYCLE_BIN_DAYS = 60  # Zoho keeps deleted records in the recycle bin for 60 days
SCHEMA_VERSION = "5"
GENERATION_CHUNK = 20_000
# Stage moves made by mutations number from here on generated deals (a generated history has at most 9
# entries); a Stage_History id is HISTORY_BASE + idx * 256 + seq.
OVERLAY_SEQ_START = 64  # deals generated (and held as tuples) at a time

_DEAL_DDL = """
CREATE TABLE deals (
    id INTEGER PRIMARY KEY, deal_name TEXT, owner_id INTEGER, account_id INTEGER, contact_id INTEGER,
    campaign_id INTEGER, amount REAL, currency TEXT, exchange_rate REAL, closing_date TEXT, stage TEXT,
    pipeline TEXT, probability INTEGER, expected_revenue REAL, type TEXT, lead_source TEXT, next_step TEXT,
    description TEXT, created_by INTEGER, modified_by INTEGER, created_time INTEGER, modified_time INTEGER,
    last_activity_time INTEGER, reason_for_loss TEXT, sales_cycle_duration INTEGER,
    overall_sales_duration INTEGER, lead_conversion_time INTEGER, region TEXT, country TEXT,
    solution_type TEXT, product_line TEXT, deal_age_days INTEGER, contract_term_months INTEGER,
    renewal INTEGER, partner_name TEXT, competitor TEXT, locked INTEGER, forecast_category TEXT
)"""
_OTHER_DDL = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)",
    # Pre-rendered full record JSON: a request for every field is then a plain read (the hot path).
    "CREATE TABLE docs (id INTEGER PRIMARY KEY, doc TEXT)",
    "CREATE TABLE users (id INTEGER PRIMARY KEY, ref TEXT)",
    "CREATE TABLE accounts (id INTEGER PRIMARY KEY, ref TEXT)",
    "CREATE TABLE contacts (id INTEGER PRIMARY KEY, ref TEXT)",
    "CREATE TABLE campaigns (id INTEGER PRIMARY KEY, ref TEXT)",
    "CREATE TABLE deleted (id INTEGER PRIMARY KEY, display_name TEXT, deleted_time INTEGER, "
    "deleted_by INTEGER, created_by INTEGER)",
    "CREATE TABLE history_overlay (deal_id INTEGER, seq INTEGER, stage TEXT, probability INTEGER, "
    "amount REAL, expected_revenue REAL, closing_date TEXT, modified_time INTEGER, modified_by INTEGER, "
    "PRIMARY KEY (deal_id, seq))",
)
_INDEXES = (
    "CREATE INDEX deals_modified ON deals (modified_time, id)",
    "CREATE INDEX deals_created ON deals (created_time, id)",
    "CREATE INDEX deleted_time_idx ON deleted (deleted_time, id)",
)


@dataclass(frozen=True)
class PageQuery:
    """A normalised records query; ``cursor`` is the keyset position of a page_token."""

    fields: tuple[str, ...]
    sort_by: str = "id"
    sort_order: str = "asc"
    modified_since: float | None = None
    offset: int = 0
    limit: int = 200
    cursor: tuple[int, int] | None = None

    def signature(self) -> str:
        return json.dumps([sorted(self.fields), self.sort_by, self.sort_order, self.modified_since])


LOOKUP_TABLES = ("accounts", "contacts", "campaigns")
_CLOSED_SQL = ", ".join(f"'{stage.name}'" for stage in ref.STAGES if stage.closed)
# Columns an edit may set (activity.Edit.changes plus the modification stamp).
_EDITABLE = frozenset(gen.DEAL_COLUMNS) - {"id", "created_time", "created_by"}


class DealStore:
    def __init__(self, config: SandboxConfig, clock: SandboxClock) -> None:
        self.config = config
        self.clock = clock
        self._lock = threading.RLock()
        self._tmpdir: str | None = None
        if config.state_file:
            path = config.state_file
        else:
            self._tmpdir = tempfile.mkdtemp(prefix="zoho_sandbox_")
            path = os.path.join(self._tmpdir, "state.sqlite")
        self.path = path
        self.shape = gen.OrgShape(config.awkward_share, config.stale_close_share, config.reopen_share)
        # Scratch space for derived files (Bulk Read results); None = the system's temporary directory.
        self.work_dir: str | None = self._tmpdir
        self._mutation_counter = 0
        self.generation_seconds = 0.0
        self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA synchronous=OFF")
        self.db.execute("PRAGMA cache_size=-131072")  # 128 MB page cache, bounded
        if not self._load_existing():
            self._generate()

    # ----------------------------------------------------------------- lifecycle
    def _load_existing(self) -> bool:
        try:
            rows = dict(self.db.execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.OperationalError:
            return False
        expected = self._identity()
        if all(rows.get(k) == v for k, v in expected.items()):
            self._mutation_counter = int(rows.get("mutations", "0"))
            return True
        for (name,) in self.db.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall():
            self.db.execute(f"DROP TABLE IF EXISTS {name}")
        return False

    def _identity(self) -> dict[str, str]:
        c = self.config
        return {
            "schema": SCHEMA_VERSION,
            "seed": str(c.seed),
            "deals": str(c.deals),
            "clock_start": str(self.clock.start_epoch),
            "awkward_share": repr(c.awkward_share),
            "stale_close_share": repr(c.stale_close_share),
            "reopen_share": repr(c.reopen_share),
        }

    def _generate(self) -> None:
        import time

        started = time.perf_counter()
        c = self.config
        db = self.db
        db.execute("PRAGMA journal_mode=OFF")
        db.execute(_DEAL_DDL)
        for ddl in _OTHER_DDL:
            db.execute(ddl)
        db.execute("BEGIN")
        db.executemany(
            "INSERT INTO users VALUES (?, ?)",
            [(u.id, json.dumps({"name": u.full_name, "id": str(u.id), "email": u.email})) for u in ref.USERS],
        )
        db.executemany(
            "INSERT INTO accounts VALUES (?, ?)",
            (
                (
                    ref.ACCOUNT_BASE + i,
                    json.dumps({"name": gen.account_name(c.seed, i), "id": str(ref.ACCOUNT_BASE + i)}),
                )
                for i in range(ref.account_count(c.deals))
            ),
        )
        db.executemany(
            "INSERT INTO contacts VALUES (?, ?)",
            (
                (
                    ref.CONTACT_BASE + i,
                    json.dumps({"name": " ".join(gen.contact_name(c.seed, i)), "id": str(ref.CONTACT_BASE + i)}),
                )
                for i in range(ref.contact_count(c.deals))
            ),
        )
        db.executemany(
            "INSERT INTO campaigns VALUES (?, ?)",
            [
                (ref.CAMPAIGN_BASE + i, json.dumps({"name": n, "id": str(ref.CAMPAIGN_BASE + i)}))
                for i, n in enumerate(ref.CAMPAIGNS)
            ],
        )
        self._insert_deals()
        for ddl in _INDEXES:
            db.execute(ddl)
        db.executemany("INSERT INTO meta VALUES (?, ?)", [*self._identity().items(), ("mutations", "0")])
        db.execute("COMMIT")
        self.generation_seconds = time.perf_counter() - started

    def _insert_deals(self) -> None:
        """Generate deals in chunks; each chunk's pre-rendered JSON docs are built by SQLite in a second thread
        (one INSERT ... SELECT: C code, GIL released) while this thread generates the next chunk in Python.
        The connection is used by one thread at a time; memory holds at most one chunk of rows."""
        c = self.config
        db = self.db
        insert = f"INSERT INTO deals VALUES ({', '.join('?' for _ in gen.DEAL_COLUMNS)})"
        docs = f"INSERT INTO docs SELECT d.id, {record_select(list(DEAL_FIELD_SQL))} FROM deals d WHERE d.id BETWEEN ? AND ?"
        rows_iter = gen.iter_deals(c.seed, c.deals, self.clock.start_epoch, self.shape)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="zoho-sandbox-docs") as pool:
            pending: Future[Any] | None = None
            while True:
                rows = list(itertools.islice(rows_iter, GENERATION_CHUNK))
                if pending is not None:
                    pending.result()
                if not rows:
                    break
                db.executemany(insert, rows)
                pending = pool.submit(db.execute, docs, (rows[0][0], rows[-1][0]))
                del rows

    def reset(self) -> None:
        """Back to the freshly generated state (regenerates; used by /__sandbox/reset)."""
        with self._lock:
            for (name,) in self.db.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall():
                self.db.execute(f"DROP TABLE IF EXISTS {name}")
            self._mutation_counter = 0
            self._generate()

    def close(self) -> None:
        with self._lock:
            self.db.close()
        if self._tmpdir:
            shutil.rmtree(self._tmpdir, ignore_errors=True)

    # ----------------------------------------------------------------- reads
    def _where(self, q: PageQuery) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if q.modified_since is not None:
            # Strictly after, at second resolution (HTTP If-Modified-Since semantics).
            clauses.append("d.modified_time > ?")
            params.append(int(q.modified_since))
        if q.cursor is not None:
            col = SORT_COLUMNS[q.sort_by]
            op = ">" if q.sort_order == "asc" else "<"
            if q.sort_by == "id":
                clauses.append(f"d.id {op} ?")
                params.append(q.cursor[1])
            else:
                clauses.append(f"({col}, d.id) {op} (?, ?)")
                params.extend(q.cursor)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params

    def count(self, modified_since: float | None = None) -> int:
        q = PageQuery(fields=(), modified_since=modified_since)
        where, params = self._where(q)
        with self._lock:
            return int(self.db.execute(f"SELECT count(*) FROM deals d{where}", params).fetchone()[0])

    def page(self, q: PageQuery) -> tuple[list[str], bool, tuple[int, int] | None]:
        """Records (JSON text) of one page, whether more exist, and the keyset cursor of the last row."""
        where, params = self._where(q)
        col = SORT_COLUMNS[q.sort_by]
        order = "ASC" if q.sort_order == "asc" else "DESC"
        order_sql = f"{col} {order}" if q.sort_by == "id" else f"{col} {order}, d.id {order}"
        select = record_select(list(q.fields))
        if set(q.fields) >= _ALL_FIELDS:
            select = "(SELECT doc FROM docs WHERE docs.id = d.id)"
        sql = f"SELECT {select}, {col}, d.id FROM deals d{where} ORDER BY {order_sql} LIMIT ? OFFSET ?"
        with self._lock:
            rows = self.db.execute(sql, [*params, q.limit + 1, q.offset]).fetchall()
        more = len(rows) > q.limit
        rows = rows[: q.limit]
        cursor = (int(rows[-1][1]), int(rows[-1][2])) if rows else None
        return [row[0] for row in rows], more, cursor

    def record(self, deal_id: int) -> str | None:
        sql = "SELECT doc FROM docs WHERE id = ? AND EXISTS (SELECT 1 FROM deals WHERE id = ?)"
        with self._lock:
            row = self.db.execute(sql, (deal_id, deal_id)).fetchone()
        return row[0] if row else None

    def records_by_ids(self, ids: list[int], fields: tuple[str, ...]) -> list[str]:
        """Records (JSON text) of the live deals among `ids`, in id order (GET /Deals?ids=...)."""
        select = record_select(list(fields))
        if set(fields) >= _ALL_FIELDS:
            select = "(SELECT doc FROM docs WHERE docs.id = d.id)"
        marks = ", ".join("?" for _ in ids)
        with self._lock:
            rows = self.db.execute(
                f"SELECT {select} FROM deals d WHERE d.id IN ({marks}) ORDER BY d.id", ids
            ).fetchall()
        return [row[0] for row in rows]

    def exists(self, deal_id: int) -> bool:
        with self._lock:
            return self.db.execute("SELECT 1 FROM deals WHERE id = ?", (deal_id,)).fetchone() is not None

    def deleted_page(
        self, kind: str, modified_since: float | None, offset: int, limit: int
    ) -> tuple[list[dict[str, Any]], bool]:
        now = self.clock.now_int()
        boundary = now - RECYCLE_BIN_DAYS * 86_400
        clauses, params = [], []
        if kind == "recycle":
            clauses.append("deleted_time > ?")
            params.append(boundary)
        elif kind == "permanent":
            clauses.append("deleted_time <= ?")
            params.append(boundary)
        if modified_since is not None:
            clauses.append("deleted_time > ?")
            params.append(int(modified_since))
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        sql = (
            "SELECT id, display_name, deleted_time, (SELECT ref FROM users WHERE id = deleted_by), "
            f"(SELECT ref FROM users WHERE id = created_by) FROM deleted{where} "
            "ORDER BY deleted_time DESC, id DESC LIMIT ? OFFSET ?"
        )
        with self._lock:
            rows = self.db.execute(sql, [*params, limit + 1, offset]).fetchall()
        out = []
        for deal_id, name, when, deleted_by, created_by in rows[:limit]:
            permanent = when <= boundary
            out.append(
                {
                    "id": str(deal_id),
                    "display_name": name,
                    "type": "permanent" if permanent else "recycle",
                    "deleted_time": iso(when),
                    "deleted_by": _minified(deleted_by),
                    "created_by": _minified(created_by),
                }
            )
        return out, len(rows) > limit

    def stage_history(self, deal_id: int) -> list[dict[str, Any]] | None:
        """Stage history of a live deal, newest first; None if the deal does not exist."""
        with self._lock:
            if not self.exists(deal_id):
                return None
            entries = self._history_entries(deal_id)
            users = dict(self.db.execute("SELECT id, ref FROM users").fetchall())
        out = []
        for i, e in enumerate(entries):
            until = entries[i + 1].modified_time if i + 1 < len(entries) else self.clock.now_int()
            out.append(
                {
                    "id": str(ref.HISTORY_BASE + gen.deal_index(deal_id) * 256 + e.seq),
                    "Stage": e.stage,
                    "Amount": e.amount,
                    "Probability": e.probability,
                    "Expected_Revenue": e.expected_revenue,
                    "Closing_Date": e.closing_date,
                    "Modified_Time": iso(e.modified_time),
                    "Modified_By": json.loads(users[e.modified_by]),
                    "Stage_Duration_Calendar_Days": max(0, (until - e.modified_time) // 86_400),
                }
            )
        out.reverse()
        return out

    def _history_entries(self, deal_id: int) -> list[gen.HistoryEntry]:
        idx = gen.deal_index(deal_id)
        c = self.config
        initial: list[gen.HistoryEntry] = []
        if idx < c.deals:
            initial = gen.generate_deal(c.seed, idx, c.deals, self.clock.start_epoch, self.shape, True)[1]
        rows = self.db.execute(
            "SELECT seq, stage, probability, amount, expected_revenue, closing_date, modified_time, modified_by "
            "FROM history_overlay WHERE deal_id = ? ORDER BY seq",
            (deal_id,),
        ).fetchall()
        return initial + [gen.HistoryEntry(*row) for row in rows]

    # ----------------------------------------------------------------- bulk read / truth
    def csv_chunk(
        self, fields: list[str], condition: str, params: list[Any], after_id: int | None, offset: int, limit: int
    ) -> list[tuple[str, int]]:
        """Bulk Read rows in id order matching ``condition`` with id > ``after_id``: (CSV line, id) tuples."""
        clauses, values = ([f"({condition})"], list(params)) if condition else ([], [])
        if after_id is not None:
            clauses.append("d.id > ?")
            values.append(after_id)
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        sql = f"SELECT {csv_line_select(fields)}, d.id FROM deals d{where} ORDER BY d.id LIMIT ? OFFSET ?"
        with self._lock:
            return self.db.execute(sql, [*values, limit, offset]).fetchall()

    def lookup_rows(self, table: str, after_id: int | None, limit: int) -> list[tuple[int, str | None]]:
        """(id, name) of a lookup module's records (accounts / contacts / campaigns) in id order after `after_id`."""
        if table not in LOOKUP_TABLES:
            raise ValueError(f"not a lookup table: {table}")
        sql = f"SELECT id, json_extract(ref, '$.name') FROM {table} WHERE id > ? ORDER BY id LIMIT ?"
        with self._lock:
            return self.db.execute(sql, (after_id or 0, limit)).fetchall()

    def exists_after(self, condition: str, params: list[Any], after_id: int) -> bool:
        where = f"({condition}) AND d.id > ?" if condition else "d.id > ?"
        with self._lock:
            row = self.db.execute(f"SELECT 1 FROM deals d WHERE {where} LIMIT 1", [*params, after_id]).fetchone()
        return row is not None

    def iter_truth_deals(self, chunk: int = 5000) -> Iterator[str]:
        select = "(SELECT doc FROM docs WHERE docs.id = d.id)"
        last = -1
        while True:
            with self._lock:
                rows = self.db.execute(
                    f"SELECT {select}, d.id FROM deals d WHERE d.id > ? ORDER BY d.id LIMIT ?", (last, chunk)
                ).fetchall()
            if not rows:
                return
            last = rows[-1][1]
            for row in rows:
                yield row[0]

    def iter_truth_deleted(self) -> Iterator[dict[str, Any]]:
        with self._lock:
            rows = self.db.execute("SELECT id, display_name, deleted_time FROM deleted ORDER BY id").fetchall()
        boundary = self.clock.now_int() - RECYCLE_BIN_DAYS * 86_400
        for deal_id, name, when in rows:
            yield {
                "id": str(deal_id),
                "display_name": name,
                "deleted_time": iso(when),
                "type": "permanent" if when <= boundary else "recycle",
            }

    def deal_count(self) -> int:
        with self._lock:
            return int(self.db.execute("SELECT count(*) FROM deals").fetchone()[0])

    def deleted_count(self) -> int:
        with self._lock:
            return int(self.db.execute("SELECT count(*) FROM deleted").fetchone()[0])

    # ----------------------------------------------------------------- mutations
    def mutate(
        self, modify: int = 0, create: int = 0, delete: int = 0, same_second: bool = False, formula_drift: int = 0
    ) -> dict[str, list[str]]:
        """Apply changes like users in the CRM would; returns the touched ids (strings) per kind.

        Without ``same_second`` every touched deal gets its own second (the clock is nudged forward by one
        second per change); with it, all changes of this call share one Modified_Time.
        """
        with self._lock:
            self._mutation_counter += 1
            rng = random.Random((self.config.seed << 20) ^ self._mutation_counter)
            touched: dict[str, list[str]] = {"modified": [], "created": [], "deleted": [], "formula_drift": []}
            self.db.execute("BEGIN")
            try:
                edits = self._pick_edits(rng, modify)
                chosen = {deal_id for deal_id, _ in edits}
                del_ids = self._pick_ids(rng, delete, chosen)
                drift_ids = self._pick_ids(rng, formula_drift, chosen)
                for deal_id, kind in edits:
                    self._modify_one(rng, deal_id, kind, self._tick(same_second))
                    touched["modified"].append(str(deal_id))
                for _ in range(create):
                    touched["created"].append(str(self._create_one(rng, self._tick(same_second))))
                for deal_id in del_ids:
                    self._delete_one(rng, deal_id, self._tick(same_second))
                    touched["deleted"].append(str(deal_id))
                for deal_id in drift_ids:
                    # A formula field recomputes without touching Modified_Time, as in Zoho.
                    self.db.execute("UPDATE deals SET deal_age_days = deal_age_days + 1 WHERE id = ?", (deal_id,))
                    touched["formula_drift"].append(str(deal_id))
                changed = [int(i) for i in touched["modified"] + touched["created"] + touched["formula_drift"]]
                self._refresh_docs(changed)
                self.db.executemany("DELETE FROM docs WHERE id = ?", [(int(i),) for i in touched["deleted"]])
                self.db.execute("INSERT OR REPLACE INTO meta VALUES ('mutations', ?)", (str(self._mutation_counter),))
                self.db.execute("COMMIT")
            except Exception:
                self.db.execute("ROLLBACK")
                raise
            if same_second and (modify or create or delete):
                self.clock.advance(1.0)  # later calls land in a later second
            return touched

    def _refresh_docs(self, ids: list[int]) -> None:
        select = record_select(list(DEAL_FIELD_SQL))
        self.db.executemany(
            f"INSERT OR REPLACE INTO docs SELECT d.id, {select} FROM deals d WHERE d.id = ?", [(i,) for i in ids]
        )

    def _tick(self, same_second: bool) -> int:
        now = self.clock.now_int()
        if not same_second:
            self.clock.advance(1.0)
        return now

    def _pick_edits(self, rng: random.Random, n: int) -> list[tuple[int, str]]:
        """(deal id, kind) of ``n`` edits on distinct deals, in id order. Reps mostly work their open deals:
        ``reopen_share`` of edits reopen a closed deal, 85% of the rest edit an open deal, the others any deal
        (a closed one gets an amount correction)."""
        reopen_share = self.config.reopen_share
        picks: dict[int, str] = {}
        for _ in range(min(n, self._live_count())):
            draw = rng.random()
            kind = (
                "reopen"
                if draw < reopen_share
                else "open"
                if draw < reopen_share + 0.85 * (1 - reopen_share)
                else "any"
            )
            deal_id = self._pick_one(rng, kind, picks.keys()) or self._pick_one(rng, "any", picks.keys())
            if deal_id is None:
                break
            picks[deal_id] = kind
        return sorted(picks.items())

    def _pick_ids(self, rng: random.Random, n: int, chosen: set[int]) -> list[int]:
        """``n`` distinct deals (not in ``chosen``, which they join), in id order."""
        picked: list[int] = []
        for _ in range(min(n, self._live_count() - len(chosen))):
            deal_id = self._pick_one(rng, "any", chosen)
            if deal_id is None:
                break
            chosen.add(deal_id)
            picked.append(deal_id)
        return sorted(picked)

    def _live_count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM deals").fetchone()[0])

    def _pick_one(self, rng: random.Random, kind: str, taken: Collection[int]) -> int | None:
        """A random live deal of ``kind`` (open / reopen = closed / any) not in ``taken``: the first such deal at
        or after a random id; None if random probes find none (then the first untaken deal for ``any``)."""
        where = {"open": f"stage NOT IN ({_CLOSED_SQL})", "reopen": f"stage IN ({_CLOSED_SQL})", "any": "1"}[kind]
        # Two subqueries: SQLite answers a lone min() / max() from the primary key, both at once by a full scan.
        lo, hi = self.db.execute("SELECT (SELECT min(id) FROM deals), (SELECT max(id) FROM deals)").fetchone()
        if lo is None:
            return None
        sql = f"SELECT id FROM deals WHERE id >= ? AND {where} ORDER BY id LIMIT 1"
        for _ in range(64):
            row = self.db.execute(sql, (rng.randint(lo, hi),)).fetchone()
            if row is not None and row[0] not in taken:
                return int(row[0])
        if kind == "any":  # nearly every deal is taken: the first free one
            for (deal_id,) in self.db.execute("SELECT id FROM deals ORDER BY id"):
                if deal_id not in taken:
                    return int(deal_id)
        return None

    def _modify_one(self, rng: random.Random, deal_id: int, kind: str, now: int) -> None:
        stage, pipeline, amount, currency, closing_date, probability, created = self.db.execute(
            "SELECT stage, pipeline, amount, currency, closing_date, probability, created_time FROM deals WHERE id = ?",
            (deal_id,),
        ).fetchone()
        deal = activity.DealState(stage, pipeline, amount, currency, closing_date, probability, created)
        modifier = rng.choice(ref.USERS).id
        if not activity.is_closed(stage):
            edit = activity.edit_open(rng, deal, now, self.config.stale_close_share)
        elif kind == "reopen":
            back_to = activity.reopen_stage(pipeline, [e.stage for e in self._history_entries(deal_id)])
            edit = activity.reopen(rng, deal, now, back_to)
        else:
            edit = activity.edit_closed(rng, deal)
        changes = {**edit.changes, "modified_time": now, "modified_by": modifier, "last_activity_time": now}
        assignments = ", ".join(f"{column} = ?" for column in changes if column in _EDITABLE)
        self.db.execute(
            f"UPDATE deals SET {assignments} WHERE id = ?",
            [value for column, value in changes.items() if column in _EDITABLE] + [deal_id],
        )
        if edit.stage_moved:  # Zoho's Stage_History gets one row per stage change, with the values after it
            row = self.db.execute(
                "SELECT stage, probability, amount, expected_revenue, closing_date FROM deals WHERE id = ?",
                (deal_id,),
            ).fetchone()
            self.db.execute(
                "INSERT INTO history_overlay VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (deal_id, self._next_seq(deal_id), *row, now, modifier),
            )

    def _next_seq(self, deal_id: int) -> int:
        """Sequence number of a deal's next Stage_History entry: after its stored ones, or after the generated
        ones (fewer than OVERLAY_SEQ_START, so the initial history is not regenerated just to count it)."""
        (top,) = self.db.execute("SELECT max(seq) FROM history_overlay WHERE deal_id = ?", (deal_id,)).fetchone()
        if top is not None:
            return int(top) + 1
        return 0 if gen.deal_index(deal_id) >= self.config.deals else OVERLAY_SEQ_START

    def _create_one(self, rng: random.Random, now: int) -> int:
        c = self.config
        next_idx = max(c.deals, gen.deal_index(self._max_id_ever()) + 1)
        row, _ = gen.generate_deal(c.seed, next_idx, c.deals, self.clock.start_epoch, self.shape)
        values = dict(zip(gen.DEAL_COLUMNS, row, strict=True))
        first_stage = ref.PIPELINES[str(values["pipeline"])][0][0]
        st = ref.STAGES_BY_NAME[first_stage]
        amount = values["amount"]
        values.update(
            stage=first_stage,
            probability=st.probability,
            forecast_category=st.forecast_category,
            expected_revenue=gen.expected_revenue(amount, st.probability),  # type: ignore[arg-type]
            reason_for_loss=None,
            sales_cycle_duration=None,
            overall_sales_duration=None,
            created_time=now,
            modified_time=now,
            last_activity_time=now,
            deal_age_days=0,
            closing_date=gen.add_days(iso(now)[:10], rng.randint(30, 180)),
        )
        placeholders = ", ".join("?" for _ in gen.DEAL_COLUMNS)
        self.db.execute(f"INSERT INTO deals VALUES ({placeholders})", [values[k] for k in gen.DEAL_COLUMNS])
        self.db.execute(
            "INSERT INTO history_overlay VALUES (?, 0, ?, ?, ?, ?, ?, ?, ?)",
            (
                values["id"],
                first_stage,
                st.probability,
                amount,
                values["expected_revenue"],
                values["closing_date"],
                now,
                values["modified_by"],
            ),
        )
        return int(values["id"])  # type: ignore[call-overload]

    def _max_id_ever(self) -> int:
        live = self.db.execute("SELECT max(id) FROM deals").fetchone()[0] or 0
        gone = self.db.execute("SELECT max(id) FROM deleted").fetchone()[0] or 0
        return max(int(live), int(gone))

    def _delete_one(self, rng: random.Random, deal_id: int, now: int) -> None:
        name, created_by = self.db.execute(
            "SELECT deal_name, created_by FROM deals WHERE id = ?", (deal_id,)
        ).fetchone()
        self.db.execute("DELETE FROM deals WHERE id = ?", (deal_id,))
        self.db.execute(
            "INSERT INTO deleted VALUES (?, ?, ?, ?, ?)", (deal_id, name, now, rng.choice(ref.USERS).id, created_by)
        )


def _minified(user_json: str | None) -> dict[str, str] | None:
    if user_json is None:
        return None
    user = json.loads(user_json)
    return {"name": user["name"], "id": user["id"]}

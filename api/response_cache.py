"""In-process cache of serialized response bodies (+ ETag), dropped when the warehouse data version changes.

A polling frontend asks the same questions between two syncs, and a metrics request costs ~2 ms of Python
(routing, dependencies, driver, response models) for < 1 ms of SQL. A hit here costs routing, the
dependencies (JWT from the verified-token cache, RegionScope, query validation) and a dict lookup: no
database connection, no query, no response model. A request repeated byte for byte (api/hit_path.py) skips
routing and the dependencies too: it is recalled by its request key, mapped to the response key below.

Keys come from ONE function, `response_key`: the route (the request path), the scope key
(the sorted tuple of the caller's *effective* regions after `region=` narrowing, `None` for all regions, as
decided by the one RegionScope dependency; never the token or its subject) and the endpoint's validated
parameter model (api/filters.py: every field, plus its `cache_salt()`, e.g. today's date for the summary
without `as_of`). No endpoint builds a key: `respond()` derives it, so a parameter added to a model is in the
key. The answer of every cached endpoint is a function of exactly these (and of the warehouse data), so two
callers with the same effective scope may share an entry and callers with different scopes never do.

Freshness: a background task reads `pipeline_pulse.warehouse.data_version` every `poll_seconds` (default 1 s,
`API_CACHE_VERSION_POLL_SECONDS`; 0 disables the cache) and clears the cache when the value changes; every
ETL writer bumps it in its own transaction. So an answer can lag a committed write by at most one poll
interval (plus the poll query). When the version cannot be read, the cache is cleared and bypassed until it
can. A miss that started before a clear does not store its (possibly older) answer: entries carry the cache
generation at which their computation began.

Bounds (per worker process): `API_CACHE_MAX_ENTRIES` (default 4,096) and `API_CACHE_MAX_BYTES` (default
32 MiB, body + key + a fixed per-entry overhead), least recently used evicted first; a body larger than 1/8 of
the byte budget is served but not stored. Remembered requests (api/hit_path.py): at most
`API_CACHE_MAX_ENTRIES` more keys, each with a query string of at most 1 KiB.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import hashlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass

from fastapi import Request, Response
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from api.caching import CACHE_CONTROL
from api.filters import QueryParams
from api.scope import RegionScope
from pipeline_pulse.core.config import ApiSettings
from pipeline_pulse.warehouse.data_version import DATA_VERSION_QUERY

logger = logging.getLogger("api.cache")
ENTRY_OVERHEAD_BYTES = 256  # the entry object, its key tuple and the OrderedDict slot, roughly
GZIP_MINIMUM_BYTES = 1000  # smaller answers go out uncompressed (the app's GZipMiddleware uses the same bound)
# A cached answer is compressed once and sent many times, so the level matters less than for the middleware's
# per-response compression; zlib's default is within a few percent of 9's size at a fraction of its time.
GZIP_LEVEL = 6


@dataclass(frozen=True, slots=True)
class CacheConfig:
    # Defaults are the API_CACHE_* settings' defaults (one home: pipeline_pulse/core/config.py).
    poll_seconds: float = ApiSettings.model_fields["cache_version_poll_seconds"].default  # 0 disables caching
    max_entries: int = ApiSettings.model_fields["cache_max_entries"].default
    max_bytes: int = ApiSettings.model_fields["cache_max_bytes"].default

    @classmethod
    def from_settings(cls, api: ApiSettings) -> CacheConfig:
        return cls(
            poll_seconds=api.cache_version_poll_seconds,
            max_entries=api.cache_max_entries,
            max_bytes=api.cache_max_bytes,
        )

    @property
    def enabled(self) -> bool:
        return self.poll_seconds > 0 and self.max_entries > 0 and self.max_bytes > 0


@dataclass(frozen=True, slots=True)
class CachedBody:
    body: bytes
    etag: str
    gzipped: bytes | None  # the body compressed once, for clients that accept gzip (None: too small to bother)

    @classmethod
    def of(cls, body: bytes, *, compress: bool = True) -> CachedBody:
        etag = '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'
        compress = compress and len(body) >= GZIP_MINIMUM_BYTES
        gzipped = gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0) if compress else None
        return cls(body, etag, gzipped)

    @property
    def size(self) -> int:
        return len(self.body) + len(self.gzipped or b"") + len(self.etag) + ENTRY_OVERHEAD_BYTES


def scope_key(scope: RegionScope) -> tuple[str, ...] | None:
    """The effective scope as a cache key component: the sorted region codes, or None for all regions."""
    return None if scope.regions is None else tuple(sorted(scope.regions))


def response_key(request: Request, scope: RegionScope, params: QueryParams | None) -> Hashable:
    """The one derivation of a response-cache key (see the module docstring)."""
    path = request.scope["path"]  # the route, path parameters included
    if params is None:
        return (path, scope_key(scope))
    return (path, scope_key(scope), params, params.cache_salt())


class ResponseCache:
    """LRU bounded by entries and bytes; only touched from the event loop thread (no locks)."""

    def __init__(self, config: CacheConfig) -> None:
        self.config = config
        self.max_entry_bytes = config.max_bytes // 8
        self._entries: OrderedDict[Hashable, tuple[CachedBody, int]] = OrderedDict()
        # Requests already answered through `respond`: request key (api/hit_path.py) -> (response key, conditional).
        self._requests: OrderedDict[Hashable, tuple[Hashable, bool]] = OrderedDict()
        self.request_paths: set[str] = set()  # the paths of those requests (a cheap first test per request)
        self.bytes = 0
        self.version: int | None = None  # None until the first successful poll, or after a failed one
        self.polled = False
        self.generation = 0
        self.hits = self.misses = self.evictions = self.recalls = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def active(self) -> bool:
        return self.version is not None

    def get(self, key: Hashable) -> CachedBody | None:
        if self.version is None:
            return None
        found = self._entries.get(key)
        if found is None:
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return found[0]

    def put(self, key: Hashable, entry: CachedBody, generation: int) -> bool:
        """Store unless the cache was cleared since the computation began (`generation`) or the body is too big."""
        if self.version is None or generation != self.generation:
            return False
        size = entry.size
        if size > self.max_entry_bytes:
            return False
        previous = self._entries.pop(key, None)
        if previous is not None:
            self.bytes -= previous[1]
        self._entries[key] = (entry, size)
        self.bytes += size
        while len(self._entries) > self.config.max_entries or self.bytes > self.config.max_bytes:
            _key, (_entry, evicted) = self._entries.popitem(last=False)
            self.bytes -= evicted
            self.evictions += 1
        return True

    def recall(self, request_key: Hashable) -> tuple[CachedBody, bool] | None:
        """The cached body (and whether it is served conditionally) of a request seen before, if still held."""
        if self.version is None:
            return None
        remembered = self._requests.get(request_key)
        if remembered is None:
            return None
        key, conditional = remembered
        found = self._entries.get(key)
        if found is None:  # evicted: the request takes the full path again
            del self._requests[request_key]
            return None
        self._requests.move_to_end(request_key)
        self._entries.move_to_end(key)
        self.hits += 1
        self.recalls += 1
        return found[0], conditional

    def remember(self, path: str, request_key: Hashable, key: Hashable, conditional: bool, generation: int) -> None:
        """Map a request answered by `respond` to its response key, unless the cache was cleared meanwhile."""
        if self.version is None or generation != self.generation:
            return
        self._requests[request_key] = (key, conditional)
        self._requests.move_to_end(request_key)
        self.request_paths.add(path)
        while len(self._requests) > self.config.max_entries:
            self._requests.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()
        self._requests.clear()
        self.request_paths.clear()
        self.bytes = 0
        self.generation += 1

    def observe_version(self, version: int | None) -> bool:
        """Record the polled data version (None: unknown); clears and returns True when it changed."""
        if version == self.version:
            return False
        self.clear()
        self.version = version
        return True


async def read_version(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(DATA_VERSION_QUERY)).scalar() or 0)


async def poll_once(engine: AsyncEngine, cache: ResponseCache, limit_seconds: float) -> bool:
    """Read the data version into the cache (clearing it on a change); on failure clear and bypass it.
    Returns whether the version was read."""
    try:
        version = await asyncio.wait_for(read_version(engine), timeout=limit_seconds)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # any failure: we cannot tell whether the data changed
        if cache.version is not None or not cache.polled:
            logger.warning("cannot read the warehouse data version (%s); response cache off", type(exc).__name__)
        cache.observe_version(None)
        cache.polled = True
        return False
    if cache.version is None and cache.polled:
        logger.info("warehouse data version readable again; response cache on")
    cache.observe_version(version)
    cache.polled = True
    return True


async def poll_data_version(engine: AsyncEngine, cache: ResponseCache, interval: float, stop: asyncio.Event) -> None:
    """Until `stop` is set: wait `interval`, then `poll_once`."""
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
        if not stop.is_set():
            await poll_once(engine, cache, limit_seconds=max(interval, 1.0) * 5)


@contextlib.asynccontextmanager
async def version_poller(engine: AsyncEngine, cache: ResponseCache | None):  # type: ignore[no-untyped-def]
    """Poll the data version for the app's lifetime (nothing when caching is disabled). The first read happens
    before the app serves (at most 2 s; on failure the cache starts bypassed)."""
    if cache is None:
        yield
        return
    await poll_once(engine, cache, limit_seconds=2.0)
    stop = asyncio.Event()
    poll = poll_data_version(engine, cache, cache.config.poll_seconds, stop)
    task = asyncio.create_task(poll, name="api-cache-poll")
    try:
        yield
    finally:
        # Stop between polls rather than cancelling one mid-query: a cancelled asyncpg query could leave its
        # connection half-closed, and shutting the pool down behind it was seen to hang the lifespan exit.
        stop.set()
        try:
            await asyncio.wait_for(task, timeout=max(cache.config.poll_seconds, 1.0) * 6)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def render(entry: CachedBody, *, conditional: bool, if_none_match: str | None, accept_encoding: str | None) -> Response:
    """The response for a body, the same for a hit, a miss and a recalled request (api/hit_path.py), from the
    request's If-None-Match and Accept-Encoding headers. `conditional` adds ETag / Cache-Control / 304. The
    compressed form is the entry's own (the GZipMiddleware passes a response with Content-Encoding through),
    with the headers the middleware would have given it."""
    headers = {"ETag": entry.etag, "Cache-Control": CACHE_CONTROL, "Vary": "Authorization"} if conditional else {}
    if conditional and if_none_match:
        candidates = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        if entry.etag in candidates or "*" in candidates:
            return Response(status_code=304, headers=headers)
    if entry.gzipped is not None and _accepts_gzip(accept_encoding):
        vary = headers.get("Vary")
        headers["Vary"] = "Accept-Encoding" if vary is None else f"{vary}, Accept-Encoding"
        headers["Content-Encoding"] = "gzip"
        return Response(content=entry.gzipped, media_type="application/json", headers=headers)
    return Response(content=entry.body, media_type="application/json", headers=headers or None)


Builder = Callable[[AsyncConnection], Awaitable[bytes]]
RECALL_SLOT = "pipeline_pulse.recall_slot"  # the ASGI scope entry api/hit_path.py reads back


@dataclass(slots=True)
class RecallSlot:
    """Set by `respond` for api/hit_path.py: the response key the request was answered under."""

    key: Hashable = None
    conditional: bool = False


async def respond(
    request: Request,
    scope: RegionScope,
    params: QueryParams | None,
    build: Builder,
    *,
    conditional: bool = False,
) -> Response:
    """Serve the answer for (route, scope, params) from the cache, or open a connection, `build` the body, store
    it and serve it. `build` must depend on nothing but these and the warehouse.

    Authentication and the scope check have already run (they are dependencies of the endpoint), so a hit
    never skips them; only the database and the response models are skipped."""
    cache: ResponseCache | None = request.app.state.response_cache
    headers = request.headers
    accept_encoding = headers.get("accept-encoding")
    key = response_key(request, scope, params) if cache is not None else None
    entry = cache.get(key) if cache is not None else None
    if entry is None:
        generation = cache.generation if cache is not None else 0
        engine: AsyncEngine = request.app.state.engine
        async with engine.connect() as connection:
            body = await build(connection)
        # Compressed for a stored entry (a later caller may want it) or for this caller, else not at all.
        entry = CachedBody.of(body, compress=cache is not None or _accepts_gzip(accept_encoding))
        if cache is not None:
            cache.put(key, entry, generation)
    slot: RecallSlot | None = request.scope.get(RECALL_SLOT)
    if slot is not None and cache is not None:
        slot.key, slot.conditional = key, conditional
    return render(
        entry, conditional=conditional, if_none_match=headers.get("if-none-match"), accept_encoding=accept_encoding
    )


def _accepts_gzip(accept_encoding: str | None) -> bool:
    return accept_encoding is not None and "gzip" in accept_encoding  # the GZipMiddleware's own test

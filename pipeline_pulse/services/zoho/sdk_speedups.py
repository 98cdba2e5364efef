"""Two guarded speedups of the SDK, installed once per process by ImprovedZohoSDKManager.

1. An in-process cache in front of the SDK's field-cache reader, `Initializer.get_json(file_path)`.

The unmodified SDK (zohocrmsdk8-0 7.0.0) opens and `json.load`s its field-metadata file under
`resource_path/resources/` for every record and every lookup it converts; with a realistic Deals metadata file
(~110 KB) that is about half of its conversion time. This cache keeps the parsed file per path and re-reads it
whenever the file changes, so it returns exactly what the SDK would have read:

* Key: (st_ino, st_size, st_mtime_ns, st_ctime_ns) of the file. The SDK rewrites the file in place
  (`open(path, "w")`), which changes mtime/ctime.
* Racy timestamps: file times tick coarsely (a few ms). A file whose mtime is younger than `RACY_WINDOW_NS`
  is never cached, so a second write inside the same tick cannot be missed (git's "racy git" rule).
* Mutation: SDK callers modify the returned dict (top level: add/delete modules; module level: add class
  members). Each call therefore gets a fresh top-level dict whose module dicts are fresh shallow copies; deeper
  levels are only read by the SDK (checked against 7.0.0's source).

2. One JSON parse per response on the raw path. `JSONConverter.get_wrapped_response(response, pack)` calls
   `response.json()` twice (once for the object conversion, once for `response_json`). For `pack=None` (our
   raw-JSON requests, where the conversion returns None without looking at the body) the patched version
   parses once; every other call runs the SDK's original code unchanged.

`install()` is idempotent and refuses to patch an SDK whose patched functions differ from the checked
source (sha256 of `inspect.getsource`), so an SDK upgrade cannot silently run with a stale assumption
(tests/pipeline_pulse/services guard this too).
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import os
import threading
import time
from typing import Any

from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer
from zohocrmsdk.src.com.zoho.crm.api.util.constants import Constants
from zohocrmsdk.src.com.zoho.crm.api.util.json_converter import JSONConverter

logger = logging.getLogger(__name__)

CHECKED_SDK_VERSION = "7.0.0"
# sha256 of inspect.getsource(Initializer.get_json) in zohocrmsdk8-0 7.0.0.
CHECKED_GET_JSON_SHA256 = "a1ef35b99092b986ff431c0465306ce383401ae91d9ef87396c6289365bfdfd5"
CHECKED_WRAPPED_RESPONSE_SHA256 = "fb8f5b2ec0c73f5950cd8586a615091813d98ea2a196655471e2851142255d0a"
RACY_WINDOW_NS = 100_000_000  # 100 ms, well above file-system timestamp granularity (one kernel tick, <= 10 ms)

_lock = threading.Lock()
_cache: dict[str, tuple[tuple[int, int, int, int], dict[str, Any]]] = {}
_original_get_json: Any = None
_original_get_wrapped_response: Any = None
_stats = {"hits": 0, "misses": 0}


class SDKPatchMismatchError(RuntimeError):
    """The installed SDK's get_json is not the one this cache was checked against."""


def original_wrapped_response_sha256() -> str:
    target = _original_get_wrapped_response or JSONConverter.get_wrapped_response
    return hashlib.sha256(inspect.getsource(target).encode()).hexdigest()


def single_parse_get_wrapped_response(self: Any, response: Any, pack: Any) -> Any:
    """`JSONConverter.get_wrapped_response` parsing the body once when no object conversion is asked for."""
    if pack is None:
        try:
            return [None, response.json()]
        except ValueError:
            return None
    return _original_get_wrapped_response(self, response, pack)


def original_get_json_source() -> str:
    target = _original_get_json if _original_get_json is not None else Initializer.get_json
    return inspect.getsource(target)


def original_get_json_sha256() -> str:
    return hashlib.sha256(original_get_json_source().encode()).hexdigest()


def _fresh_copy(parsed: dict[str, Any]) -> dict[str, Any]:
    return {key: (dict(value) if isinstance(value, dict) else value) for key, value in parsed.items()}


def cached_get_json(file_path: str) -> dict[str, Any]:
    """Drop-in for `Initializer.get_json`: same result, parsed at most once per file version."""
    try:
        st = os.stat(file_path)
    except OSError:
        return _original_get_json(file_path)  # let the SDK raise its own error
    key = (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    entry = _cache.get(file_path)
    if entry is not None and entry[0] == key:
        _stats["hits"] += 1
        return _fresh_copy(entry[1])
    _stats["misses"] += 1
    with open(file_path) as handle:
        parsed = json.load(handle)
    if time.time_ns() - st.st_mtime_ns > RACY_WINDOW_NS and isinstance(parsed, dict):
        # Re-check the file did not change while we read it before trusting the key.
        st_after = os.stat(file_path)
        if (st_after.st_ino, st_after.st_size, st_after.st_mtime_ns, st_after.st_ctime_ns) == key:
            with _lock:
                _cache[file_path] = (key, parsed)
            return _fresh_copy(parsed)
    return parsed


def install() -> None:
    """Put the cache in front of `Initializer.get_json` (idempotent, thread-safe)."""
    global _original_get_json
    with _lock:
        if _original_get_json is not None:
            return
        if Constants.SDK_VERSION != CHECKED_SDK_VERSION:
            raise SDKPatchMismatchError(
                f"field-cache speedup was checked against zohocrmsdk8-0 {CHECKED_SDK_VERSION}, "
                f"found {Constants.SDK_VERSION}; re-check Initializer.get_json and its callers"
            )
        digest = original_get_json_sha256()
        if digest != CHECKED_GET_JSON_SHA256:
            raise SDKPatchMismatchError(
                f"Initializer.get_json changed (sha256 {digest}); re-check the field-cache speedup"
            )
        wrapped_digest = original_wrapped_response_sha256()
        if wrapped_digest != CHECKED_WRAPPED_RESPONSE_SHA256:
            raise SDKPatchMismatchError(
                f"JSONConverter.get_wrapped_response changed (sha256 {wrapped_digest}); re-check the speedup"
            )
        global _original_get_wrapped_response
        _original_get_json = Initializer.get_json
        _original_get_wrapped_response = JSONConverter.get_wrapped_response
        Initializer.get_json = staticmethod(cached_get_json)
        JSONConverter.get_wrapped_response = single_parse_get_wrapped_response
        logger.debug("installed the SDK speedups (field-cache reader, single JSON parse)")


def installed() -> bool:
    return _original_get_json is not None


def clear() -> None:
    with _lock:
        _cache.clear()


def stats() -> dict[str, int]:
    return dict(_stats)

"""Zoho CRM v8-compatible local sandbox (stands in for Zoho; imports nothing from the rest of the project).

Public interface::

    from zoho_sandbox import SandboxServer, SandboxConfig

    with SandboxServer(SandboxConfig(deals=1000, seed=42)).start() as server:
        server.base_url       # "http://127.0.0.1:PORT"  -> DataCenter.Environment(url=...)
        server.accounts_url   # base_url + "/oauth/v2/token" (full token URL)
        server.control        # in-process control: same operations as /__sandbox/* below

``SandboxConfig`` fields (all optional): deals=1000, seed=42, host="127.0.0.1", port=0 (free port),
client_id="sandbox-client-id", client_secret="sandbox-client-secret", refresh_token="sandbox-refresh-token",
grant_codes=("sandbox-grant-code",), redirect_uri, token_ttl_seconds=3600, page_token_ttl_seconds=86400,
bulk_delay_seconds=0.5, edition="enterprise", max_concurrency=None (edition's), daily_credits=None (edition's),
state_file=None (temporary SQLite), clock_start=2025-07-01T00:00:00Z, awkward_share=0.02,
stale_close_share=0.15, reopen_share=0.04, bulk_page_size=200000, request_log_size=10000.

Control endpoints (JSON) and their in-process twins on ``server.control``:

    GET    /__sandbox/ready                 ready()
    POST   /__sandbox/clock/advance {seconds}                       advance_clock(seconds)
    POST   /__sandbox/mutate {modify, create, delete, same_second, formula_drift}
                                            mutate(...) -> {"modified","created","deleted","formula_drift": [ids]}
    POST   /__sandbox/faults {kind, path, method, count, probability, seconds, skip} or {"faults": [...]}
                                            add_faults(*rules);   GET /__sandbox/faults  faults()
    DELETE /__sandbox/faults                clear_faults()
    GET    /__sandbox/stats[?log=0]         stats()  calls, credits, by_status, by_path, request log
    POST   /__sandbox/reset                 reset()  regenerate data, clear tokens/faults/stats, reset clock
    GET    /__sandbox/truth[?gzip=1]        truth_lines() (NDJSON bytes) / truth() (one dict)

Fault kinds: 429, 500, 502, 503-html, latency, timeout, reset, revoke_token, expire_page_token, bad_record,
truncated_json. Truth format (NDJSON, one object per line): {"kind":"meta",...}, then "user", "stage",
"currency" lines, then {"kind":"deal","record":{...every API field, ids as strings...}} per live deal (by id)
and {"kind":"deleted","id","display_name","deleted_time","type"} per deleted deal. See docs/sandbox.md.
"""

from .config import SandboxConfig
from .control import SandboxControl
from .server import SandboxServer

__all__ = ["SandboxConfig", "SandboxControl", "SandboxServer"]

"""CLI: python -m zoho_sandbox --host 127.0.0.1 --port 8900 --deals N --seed S [--state FILE] ..."""

from __future__ import annotations

import argparse
import sys

from .config import EDITIONS, SandboxConfig
from .server import SandboxServer


def parse_args(argv: list[str] | None = None) -> SandboxConfig:
    p = argparse.ArgumentParser(prog="python -m zoho_sandbox", description="Zoho CRM v8 sandbox server")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8900)
    p.add_argument("--deals", type=int, default=1000)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--state", default=None, help="SQLite state file (reused when seed/deals match)")
    p.add_argument("--client-id", default="sandbox-client-id")
    p.add_argument("--client-secret", default="sandbox-client-secret")
    p.add_argument("--refresh-token", default="sandbox-refresh-token")
    p.add_argument("--token-ttl", type=int, default=3600, help="access token lifetime, seconds")
    p.add_argument("--page-token-ttl", type=int, default=86400, help="page_token lifetime, seconds")
    p.add_argument("--bulk-delay", type=float, default=0.5, help="seconds before a bulk job completes")
    p.add_argument("--edition", choices=sorted(EDITIONS), default="enterprise")
    p.add_argument("--max-concurrency", type=int, default=None)
    p.add_argument("--daily-credits", type=int, default=None)
    p.add_argument("--awkward-share", type=float, default=0.02)
    p.add_argument("--stale-close-share", type=float, default=0.15, help="closings that keep the planned Closing_Date")
    p.add_argument("--reopen-share", type=float, default=0.04, help="deals reopened in their past; reopening edits")
    a = p.parse_args(argv)
    return SandboxConfig(
        deals=a.deals,
        seed=a.seed,
        host=a.host,
        port=a.port,
        client_id=a.client_id,
        client_secret=a.client_secret,
        refresh_token=a.refresh_token,
        token_ttl_seconds=a.token_ttl,
        page_token_ttl_seconds=a.page_token_ttl,
        bulk_delay_seconds=a.bulk_delay,
        edition=a.edition,
        max_concurrency=a.max_concurrency,
        daily_credits=a.daily_credits,
        state_file=a.state,
        awkward_share=a.awkward_share,
        stale_close_share=a.stale_close_share,
        reopen_share=a.reopen_share,
    )


def main(argv: list[str] | None = None) -> int:
    config = parse_args(argv)
    server = SandboxServer(config)
    print(f"generating {config.deals} deals (seed {config.seed}) ...", file=sys.stderr, flush=True)
    server.start()
    print(
        f"zoho sandbox ready: {server.base_url}  token URL: {server.accounts_url}  "
        f"(generated in {server.state.store.generation_seconds:.1f}s)",
        file=sys.stderr,
        flush=True,
    )
    server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

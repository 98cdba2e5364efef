"""`python -m api.tokens mint --sub NAME --regions APAC,EMEA [--role admin] [--ttl SECONDS]`: a signed dev JWT.

Signs with the configured key (JWT_SECRET for HS256, JWT_PRIVATE_KEY for RS256) and refuses APP_ENV=production.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from jose import jwt

from pipeline_pulse.core.config import ConfigurationError, Settings
from pipeline_pulse.core.settings import load_settings, read_environment
from pipeline_pulse.core.startup import exit_on_configuration_error, fail


def mint_token(
    settings: Settings,
    subject: str,
    regions: list[str] | str,
    role: str | None = None,
    ttl_seconds: int = 3600,
    kid: str | None = None,
) -> str:
    if settings.is_production:
        raise ConfigurationError("refusing to mint tokens with APP_ENV=production")
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": subject,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "nbf": now,
        "exp": now + ttl_seconds,
        "regions": regions,
    }
    if role:
        claims["role"] = role
    if settings.jwt_algorithm == "HS256":
        key = settings.require_jwt_secret()
    else:
        if settings.jwt_private_key is None:
            raise ConfigurationError("JWT_ALGORITHM=RS256 needs JWT_PRIVATE_KEY to mint tokens")
        key = settings.jwt_private_key.get_secret_value()
    headers = {"kid": kid} if kid else None
    return jwt.encode(claims, key, algorithm=settings.jwt_algorithm, headers=headers)


def parse_regions(value: str) -> list[str] | str:
    if value.strip() == "*":
        return "*"
    regions = [code.strip() for code in value.split(",") if code.strip()]
    if not regions:
        raise argparse.ArgumentTypeError("give at least one region code, or *")
    return regions


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m api.tokens", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    mint = commands.add_parser("mint", help="print a signed development JWT")
    mint.add_argument("--sub", required=True, help="subject (user name)")
    mint.add_argument("--regions", required=True, type=parse_regions, help="comma-separated codes, or *")
    mint.add_argument("--role", default=None, help="e.g. admin (sees all regions)")
    mint.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds (default 3600)")
    mint.add_argument("--kid", default=None, help="key id header (for JWKS verification)")
    args = parser.parse_args(argv)
    # Checked before load_settings(): a production start would reach for Secrets Manager first.
    environment = exit_on_configuration_error(read_environment)
    if environment.is_production:
        fail(f"refusing to mint tokens: {environment.app_env_source}; minting is for APP_ENV=development or test")
    settings = exit_on_configuration_error(load_settings)
    print(exit_on_configuration_error(mint_token, settings, args.sub, args.regions, args.role, args.ttl, args.kid))
    return 0


if __name__ == "__main__":
    sys.exit(main())

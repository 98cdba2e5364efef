"""Process start-up: load settings or stop with a one-line reason (for the API, Dagster and tools).

`python -m pipeline_pulse.core.startup` checks the configuration the same way and exits 0 or 2.
"""

from __future__ import annotations

import sys
from typing import NoReturn, TextIO

from pipeline_pulse.core.config import ConfigurationError, Settings, get_settings

EXIT_CONFIGURATION = 2


def fail(reason: str, stream: TextIO | None = None) -> NoReturn:
    """Print `pipeline-pulse: configuration error: <reason>` as one line on stderr and exit 2."""
    line = " ".join(reason.split())  # collapse any newline so log shippers keep it as one event
    print(f"pipeline-pulse: configuration error: {line}", file=stream or sys.stderr, flush=True)
    raise SystemExit(EXIT_CONFIGURATION)


def settings_or_exit() -> Settings:
    """The process settings; on a configuration or secrets problem, one line on stderr and exit status 2.

    The messages of ConfigurationError (and SecretsUnavailableError, a subclass) name the variable or the
    secret id and never a value, so printing them is safe.
    """
    try:
        return get_settings()
    except ConfigurationError as exc:
        fail(str(exc))


def main() -> None:
    settings = settings_or_exit()
    print(f"configuration ok (APP_ENV={settings.app_env.value})")


if __name__ == "__main__":
    main()

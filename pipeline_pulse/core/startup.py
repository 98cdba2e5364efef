"""Process start-up: load settings or stop with a one-line reason (the API, Dagster, alembic and tools).

`python -m pipeline_pulse.core.startup` checks the configuration the same way and exits 0 or 2.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import NoReturn, ParamSpec, TextIO, TypeVar

from pipeline_pulse.core.config import ConfigurationError, Settings
from pipeline_pulse.core.settings import get_settings

EXIT_CONFIGURATION = 2
P = ParamSpec("P")
T = TypeVar("T")


def fail(reason: str, stream: TextIO | None = None) -> NoReturn:
    """Print `pipeline-pulse: configuration error: <reason>` as one line on stderr and exit 2."""
    line = " ".join(reason.split())  # collapse any newline so log shippers keep it as one event
    print(f"pipeline-pulse: configuration error: {line}", file=stream or sys.stderr, flush=True)
    raise SystemExit(EXIT_CONFIGURATION)


def exit_on_configuration_error(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """`function(*args, **kwargs)`, or the one-line exit if it raises ConfigurationError.

    The messages of ConfigurationError (and SecretsUnavailableError, a subclass) name the variable or the
    secret id and never a value, so printing them is safe.
    """
    try:
        return function(*args, **kwargs)
    except ConfigurationError as exc:
        fail(str(exc))


def settings_or_exit() -> Settings:
    """The process settings; on a configuration or secrets problem, one line on stderr and exit status 2."""
    return exit_on_configuration_error(get_settings)


def main() -> None:
    settings = settings_or_exit()
    print(f"configuration ok (APP_ENV={settings.app_env.value})")


if __name__ == "__main__":
    main()

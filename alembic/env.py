"""Alembic environment: the URL comes from the settings (or `-x url=...`), the schema from the models."""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from pipeline_pulse.core.db import create_sync_engine
from pipeline_pulse.core.startup import settings_or_exit
from pipeline_pulse.models import Base

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def _database_url() -> str:
    # An explicit connection or URL (tests, tools) wins over the environment.
    explicit = context.get_x_argument(as_dictionary=True).get("url") or config.attributes.get("url")
    # A missing production secret or key is one line on stderr and exit status 2, not a traceback.
    return explicit or settings_or_exit().sqlalchemy_url()


def _configure(**kwargs: object) -> None:
    context.configure(
        target_metadata=target_metadata,
        compare_type=True,
        compare_server_default=True,
        # SQLite cannot ALTER most things; batch mode recreates tables instead.
        render_as_batch=True,
        **kwargs,
    )


def run_migrations_offline() -> None:
    _configure(url=_database_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_sync_engine(_database_url())
    try:
        with engine.connect() as conn:
            _configure(connection=conn)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()

"""Alembic environment: runs migrations against the URL set by assistant.storage.db."""

from alembic import context
from sqlalchemy import Engine, event

from assistant.storage.db import make_engine
from assistant.storage.models import Base

config = context.config
MIGRATION_LOCK = 0x62_6A_6D_67  # PostgreSQL advisory lock held by the transaction that migrates
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def atomic_sqlite_ddl(engine: Engine) -> None:
    """Make SQLite DDL transactional: Python's sqlite3 runs CREATE/ALTER outside any transaction, so a migration
    killed half-way would leave tables behind that make every later upgrade fail. With an explicit BEGIN each
    migration and its version stamp commit together or not at all."""

    @event.listens_for(engine, "connect")
    def _no_implicit_transactions(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(conn) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("alembic: sqlalchemy.url is not set (assistant.storage.db.alembic_config sets it)")
    engine = make_engine(url)
    if engine.dialect.name == "sqlite":
        atomic_sqlite_ddl(engine)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":  # several nodes starting at once: one migrates, the
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")  # others then see head
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()

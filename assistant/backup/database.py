"""Database access both directions share: the SQLite file, the reflected tables and their row counts."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection, MetaData, Table, func, select

from assistant.backup.archive import BackupError

VERSION_TABLE = "alembic_version"
BATCH = 1000


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite database URL (None for other databases and in-memory ones)."""
    if url.startswith("sqlite:///") and ":memory:" not in url:
        return Path(url.removeprefix("sqlite:///").split("?")[0])
    return None


def public_url(url: str) -> str:
    """The database location without credentials, for messages."""
    return url.split("@")[-1]


def reflect(conn: Connection) -> tuple[list[Table], str | None]:
    """The tables of the database in dependency order (without Alembic's) and its schema revision."""
    meta = MetaData()
    meta.reflect(conn)
    revision = None
    if VERSION_TABLE in meta.tables:
        versions = list(conn.execute(select(meta.tables[VERSION_TABLE].c.version_num)).scalars())
        if len(versions) > 1:
            raise BackupError(f"数据库结构版本不唯一：{versions}")
        revision = versions[0] if versions else None
    return [t for t in meta.sorted_tables if t.name != VERSION_TABLE], revision


def count_rows(conn: Connection, tables: list[Table]) -> dict[str, int]:
    return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in tables}

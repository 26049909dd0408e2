"""Create an archive: the tables read in one read-only snapshot, the knowledge files and pending spool records."""

from __future__ import annotations

import hashlib
import json
import os
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, Table, select
from sqlalchemy.exc import SQLAlchemyError

from assistant.backup.archive import (
    MANIFEST,
    SPOOL_MEMBER,
    BackupError,
    Manifest,
    TableEntry,
    add_bytes,
    knowledge_files,
    parse_manifest,
    row_line,
    sha,
)
from assistant.backup.database import BATCH, public_url, reflect, sqlite_path
from assistant.storage.db import make_engine
from assistant.storage.files import private_file


def _order(table: Table) -> list:
    return list(table.primary_key.columns) or list(table.columns)


@contextmanager
def _snapshot(engine: Engine) -> Iterator[Connection]:
    """One read-only transaction, so that every table is dumped as of the same moment."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                conn.exec_driver_sql("SET TRANSACTION READ ONLY")
                yield conn
        else:
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("BEGIN")  # pysqlite does not open a transaction for reads by itself
            try:
                yield conn
            finally:
                conn.rollback()


def _dump_table(conn: Connection, table: Table, target: Path) -> TableEntry:
    columns = [c.name for c in table.columns]
    digest, rows = hashlib.sha256(), 0
    result = conn.execution_options(stream_results=True, yield_per=BATCH).execute(
        select(table).order_by(*_order(table)))
    with open(target, "wb") as handle:
        for row in result:
            line = row_line(columns, tuple(row)).encode()
            digest.update(line)
            handle.write(line)
            rows += 1
    return TableEntry(table.name, rows, digest.hexdigest(), tuple(columns))


def create_backup(database_url: str, knowledge_dir: Path | None, spool_path: Path | None, out: Path,
                  missing_database_ok: bool = False) -> Manifest:
    """Write an archive of the database, the knowledge files and pending spool records to `out` (atomic).

    The tables are read in one read-only transaction, so the service may keep running meanwhile."""
    out = Path(out)
    if out.exists():
        raise BackupError(f"文件已存在，不会覆盖：{out}")
    if knowledge_dir is not None and not Path(knowledge_dir).is_dir():
        raise BackupError(f"知识库目录不存在：{knowledge_dir}")
    sqlite_file = sqlite_path(database_url)
    with tempfile.TemporaryDirectory(prefix="bangjiao-backup-") as staging:
        staging_dir = Path(staging)
        if sqlite_file is not None and not sqlite_file.exists():
            if not missing_database_ok:
                raise BackupError(f"数据库文件不存在：{sqlite_file}")
            tables: list[TableEntry] = []
            revision: str | None = None
            dialect: str | None = "sqlite"
        else:
            tables, revision, dialect = _dump_database(database_url, staging_dir)
        knowledge = {}
        contents = {}
        root = Path(knowledge_dir or ".")
        for rel in knowledge_files(root) if knowledge_dir is not None else []:
            data = (root / rel).read_bytes()
            knowledge[rel], contents[rel] = sha(data), data
        spool_data = spool_path.read_bytes() if spool_path and spool_path.is_file() else b""
        manifest = Manifest(datetime.now(UTC).isoformat(timespec="seconds"), dialect, revision, tuple(tables),
                            knowledge, sha(spool_data) if spool_data.strip() else None)
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = private_file(out.with_name(f".{out.name}.partial"))  # holds password hashes: owner-only
        try:
            with tarfile.open(partial, "w:gz") as tar:
                add_bytes(tar, MANIFEST, json.dumps(manifest.to_json(), ensure_ascii=False, indent=1).encode())
                for t in tables:
                    tar.add(staging_dir / f"{t.name}.jsonl", arcname=t.member, recursive=False)
                for rel, data in contents.items():
                    add_bytes(tar, f"knowledge/{rel}", data)
                if manifest.spool:
                    add_bytes(tar, SPOOL_MEMBER, spool_data)
            with open(partial, "rb") as handle:
                os.fsync(handle.fileno())
            os.replace(partial, out)
        finally:
            partial.unlink(missing_ok=True)
    return parse_manifest(manifest.to_json())


def _dump_database(url: str, staging: Path) -> tuple[list[TableEntry], str | None, str | None]:
    engine = make_engine(url)
    try:
        with _snapshot(engine) as conn:
            tables, revision = reflect(conn)
            if tables and revision is None:
                raise BackupError("数据库没有结构版本记录（alembic_version），请先运行 assistant db upgrade")
            entries = [_dump_table(conn, t, staging / f"{t.name}.jsonl") for t in tables]
            return entries, revision, engine.dialect.name
    except SQLAlchemyError as exc:
        raise BackupError(f"读取数据库失败（{public_url(url)}）：{exc}") from exc
    finally:
        engine.dispose()

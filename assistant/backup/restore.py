"""Restore an archive: verify all of it first, refuse a target holding data unless forced (then save it first)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, Integer, MetaData, Table, text
from sqlalchemy.exc import SQLAlchemyError

from assistant.backup.archive import SPOOL_MEMBER, BackupError, Manifest, decode_value, read_archive
from assistant.backup.create import create_backup
from assistant.backup.database import BATCH, VERSION_TABLE, count_rows, public_url, reflect, sqlite_path
from assistant.storage.db import alembic_config, make_engine, make_private, upgrade
from assistant.storage.files import private_file
from assistant.storage.models import Base


@dataclass(frozen=True)
class RestoreResult:
    manifest: Manifest
    safety_backup: Path | None


def target_contents(database_url: str, knowledge_dir: Path, spool_path: Path | None) -> list[str]:
    """What the restore target already holds (empty list: nothing would be overwritten)."""
    found = []
    rows = _target_rows(database_url)
    if any(rows.values()):
        found.append(f"数据库 {public_url(database_url)} 已有数据（"
                     + "，".join(f"{n} {c} 行" for n, c in rows.items() if c) + "）")
    if Path(knowledge_dir).is_dir() and any(Path(knowledge_dir).iterdir()):
        found.append(f"知识库目录 {knowledge_dir} 已存在且不是空的")
    if spool_path and spool_path.is_file() and spool_path.read_text(encoding="utf-8").strip():
        found.append(f"暂存文件 {spool_path} 里有尚未写入数据库的记录")
    return found


def _target_rows(url: str) -> dict[str, int]:
    sqlite_file = sqlite_path(url)
    if sqlite_file is not None and not sqlite_file.exists():
        return {}
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            tables, _ = reflect(conn)
            return count_rows(conn, tables)
    except SQLAlchemyError as exc:
        raise BackupError(f"无法读取目标数据库（{public_url(url)}）：{exc}") from exc
    finally:
        engine.dispose()


def restore_backup(archive: Path, database_url: str, knowledge_dir: Path, spool_path: Path | None,
                   force: bool = False, safety_dir: Path | None = None) -> RestoreResult:
    """Restore `archive` into the database and knowledge folder. Verifies everything before writing;
    refuses a target holding data unless `force`, and then first saves that data under `safety_dir`."""
    knowledge_dir = Path(knowledge_dir)
    with tempfile.TemporaryDirectory(prefix="bangjiao-restore-") as staging:
        staging_dir = Path(staging)
        manifest = read_archive(archive, staging_dir)
        _check_revision(manifest.revision, database_url)
        if knowledge_dir.exists() and not knowledge_dir.is_dir():
            raise BackupError(f"知识库位置 {knowledge_dir} 是一个文件而不是目录，请先移走")
        existing = target_contents(database_url, knowledge_dir, spool_path)
        safety = None
        if existing:
            if not force:
                raise BackupError("恢复目标已有数据，为防止覆盖已停止（未写入任何内容）：\n  - "
                                  + "\n  - ".join(existing)
                                  + "\n确认要替换时请加 --force（会先把现有数据另存一份备份）。")
            safety = _safety_backup(database_url, knowledge_dir, spool_path, safety_dir)
        try:
            _restore_database(manifest, staging_dir, database_url)
            _restore_knowledge(staging_dir / "knowledge", knowledge_dir)
            _restore_spool(staging_dir / SPOOL_MEMBER if manifest.spool else None, spool_path)
        except (BackupError, OSError) as exc:
            kept = f"；原有数据已另存在 {safety}" if safety else ""
            raise BackupError(f"{exc}{kept}") from exc
    return RestoreResult(manifest, safety)


def _check_revision(revision: str | None, url: str) -> None:
    if revision is None:
        return
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    try:
        known = ScriptDirectory.from_config(alembic_config(url)).get_revision(revision)
    except CommandError:
        known = None
    if known is None:
        raise BackupError(f"备份的数据库结构版本 {revision} 比本程序新，请先升级程序再恢复")


def _safety_backup(url: str, knowledge_dir: Path, spool_path: Path | None, safety_dir: Path | None) -> Path:
    if safety_dir is None:
        raise BackupError("没有指定现有数据的另存位置，不能覆盖")
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-%f")
    target = Path(safety_dir) / f"before-restore-{stamp}.tar.gz"
    try:
        create_backup(url, knowledge_dir if knowledge_dir.is_dir() else None, spool_path, target,
                      missing_database_ok=True)
    except BackupError as exc:
        raise BackupError(f"无法先另存现有数据，未恢复任何内容：{exc}") from exc
    return target


def _restore_database(manifest: Manifest, staging: Path, url: str) -> None:
    try:
        _drop_known_tables(url, {t.name for t in manifest.tables})
        if manifest.revision is None:
            upgrade(url)
            return
        from alembic import command

        make_private(url)
        command.upgrade(alembic_config(url), manifest.revision)
        engine = make_engine(url)
        try:
            with engine.begin() as conn:
                tables = {t.name: t for t in reflect(conn)[0]}
                missing = [t.name for t in manifest.tables if t.name not in tables]
                if missing:
                    raise BackupError(f"数据库结构 {manifest.revision} 中没有这些表：{'、'.join(missing)}")
                order = [t for t in tables.values() if t.name in manifest.rows]
                for table in order:
                    _insert_rows(conn, table, staging / f"db/{table.name}.jsonl")
                counts = count_rows(conn, order)
                if counts != manifest.rows:
                    raise BackupError(f"恢复后的行数与备份不符：{counts}")
                if conn.dialect.name == "postgresql":
                    _reset_sequences(conn, order)
        finally:
            engine.dispose()
        upgrade(url)
    except SQLAlchemyError as exc:
        raise BackupError(f"写入数据库失败（{public_url(url)}），已写入的行已撤销：{exc}") from exc


def _drop_known_tables(url: str, archive_tables: set[str]) -> None:
    """Remove this application's (empty or already saved) tables so that the schema is rebuilt at the
    archive's revision. Tables of anything else in the same database are left alone."""
    sqlite_file = sqlite_path(url)
    if sqlite_file is not None and not sqlite_file.exists():
        return
    ours = set(Base.metadata.tables) | archive_tables | {VERSION_TABLE}
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            meta = MetaData()
            meta.reflect(conn, only=lambda name, _meta: name in ours)
            meta.drop_all(conn)
    finally:
        engine.dispose()


def _insert_rows(conn: Connection, table: Table, path: Path) -> None:
    types = {c.name: c.type for c in table.columns}
    batch: list[dict] = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            unknown = set(row) - set(types)
            if unknown:
                raise BackupError(f"表 {table.name} 没有这些字段：{'、'.join(sorted(unknown))}")
            batch.append({k: decode_value(v, types[k]) for k, v in row.items()})
            if len(batch) >= BATCH:
                conn.execute(table.insert(), batch)
                batch = []
    if batch:
        conn.execute(table.insert(), batch)


def _reset_sequences(conn: Connection, tables: list[Table]) -> None:
    """PostgreSQL: the next generated id of every serial/identity column follows the restored rows."""
    quote = conn.dialect.identifier_preparer.quote
    for table in tables:
        for column in table.primary_key.columns:
            if not isinstance(column.type, Integer):
                continue
            tname, cname = quote(table.name), quote(column.name)
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence(:t, :c), COALESCE(MAX({cname}), 1), "
                              f"MAX({cname}) IS NOT NULL) FROM {tname}"), {"t": tname, "c": column.name})


def _restore_knowledge(source: Path, target: Path) -> None:
    """Put the restored knowledge folder in place with renames, so no half-written tree is left."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fresh = Path(tempfile.mkdtemp(prefix=f".{target.name}.restore-", dir=target.parent))
    fresh.chmod(0o755)  # mkdtemp's 0700 would hide the knowledge base from a service running as another user
    old = fresh.with_name(fresh.name.replace(".restore-", ".old-"))
    try:
        if source.is_dir():
            shutil.copytree(source, fresh, dirs_exist_ok=True)
        if target.exists():
            os.replace(target, old)
        try:
            os.replace(fresh, target)
        except OSError:
            if old.exists():
                os.replace(old, target)  # put the previous tree back
            raise
    finally:
        if fresh.exists():
            shutil.rmtree(fresh, ignore_errors=True)
    if old.exists():  # replaced, and saved in the safety backup
        shutil.rmtree(old)


def _restore_spool(source: Path | None, target: Path | None) -> None:
    if target is None:
        return
    if source is None:
        with suppress(FileNotFoundError):
            target.unlink()
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    shutil.copyfile(source, partial)
    private_file(partial)
    os.replace(partial, target)

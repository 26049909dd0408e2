"""Backup and restore of the database (every table, generically) and the knowledge base.

An archive is a ``.tar.gz``: ``manifest.json`` first (format, Alembic revision, row counts, SHA-256 of every
other member), then ``db/<table>.jsonl`` (one JSON object per row, primary-key order), ``knowledge/…`` (the
knowledge files as they are) and ``spool/questions.jsonl`` when log records were waiting for the database.
The search index and the converted model are not included: they are rebuilt from the knowledge base.

Restore verifies the whole archive before it writes anything, refuses a target that already holds data
unless forced, and then saves that data in a safety backup first.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import IO

from sqlalchemy import (
    Connection,
    Date,
    DateTime,
    Engine,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    Table,
    Time,
    func,
    select,
    text,
)
from sqlalchemy.exc import SQLAlchemyError

from assistant.storage.db import alembic_config, make_engine, make_private, upgrade
from assistant.storage.files import private_file
from assistant.storage.models import Base

FORMAT = "bangjiao-backup"
VERSION = 1
MANIFEST = "manifest.json"
SPOOL_MEMBER = "spool/questions.jsonl"
VERSION_TABLE = "alembic_version"
NOT_INCLUDED = ["检索索引（由知识库重建）", "转换后的向量模型（首次使用时重新转换）"]
BATCH = 1000


class BackupError(Exception):
    """A backup or restore that cannot proceed; the message (Chinese) says why and what to do."""


@dataclass(frozen=True)
class TableEntry:
    name: str
    rows: int
    sha256: str
    columns: tuple[str, ...]

    @property
    def member(self) -> str:
        return f"db/{self.name}.jsonl"


@dataclass(frozen=True)
class Manifest:
    """What an archive holds. `files` maps every member except the manifest to its SHA-256."""

    created_at: str
    dialect: str | None
    revision: str | None
    tables: tuple[TableEntry, ...]
    knowledge: dict[str, str]
    spool: str | None
    files: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"format": FORMAT, "version": VERSION, "created_at": self.created_at, "dialect": self.dialect,
                "alembic_revision": self.revision, "not_included": NOT_INCLUDED,
                "tables": [{"name": t.name, "rows": t.rows, "sha256": t.sha256, "columns": list(t.columns)}
                           for t in self.tables],
                "knowledge": self.knowledge, "spool": self.spool}

    @property
    def rows(self) -> dict[str, int]:
        return {t.name: t.rows for t in self.tables}


@dataclass(frozen=True)
class RestoreResult:
    manifest: Manifest
    safety_backup: Path | None


# ---------------------------------------------------------------- pure: values, names, manifest


def encode_value(value: object) -> object:
    """A column value as JSON: datetimes as ISO 8601 (aware ones in UTC), bytes as base64, decimals as text."""
    if isinstance(value, datetime):
        return (value.astimezone(UTC) if value.tzinfo else value).isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, Decimal):
        return str(value)
    return value


def decode_value(value: object, column_type: object) -> object:
    """The inverse of `encode_value`, guided by the target column's type; naive times in aware columns are UTC."""
    if value is None:
        return None
    if isinstance(column_type, DateTime) and isinstance(value, str):
        parsed = datetime.fromisoformat(value)
        return parsed.replace(tzinfo=UTC) if column_type.timezone and parsed.tzinfo is None else parsed
    if isinstance(column_type, Date) and isinstance(value, str):
        return date.fromisoformat(value)
    if isinstance(column_type, Time) and isinstance(value, str):
        return time.fromisoformat(value)
    if isinstance(column_type, LargeBinary) and isinstance(value, str):
        return base64.b64decode(value)
    if isinstance(column_type, Numeric) and isinstance(value, str):
        return Decimal(value)
    return value


def row_line(columns: list[str], row: tuple) -> str:
    return json.dumps({c: encode_value(v) for c, v in zip(columns, row, strict=True)}, ensure_ascii=False,
                      separators=(",", ":")) + "\n"


def safe_member_name(name: str) -> PurePosixPath:
    """A member path that stays inside the archive's layout; anything else is refused."""
    path = PurePosixPath(name)
    if path.is_absolute() or not path.parts or any(p in ("", ".", "..") for p in path.parts) or "\\" in name:
        raise BackupError(f"备份文件中有不安全的路径：{name!r}，拒绝恢复")
    return path


def parse_manifest(data: dict) -> Manifest:
    """Validate manifest.json; raise BackupError naming the problem."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise BackupError("这不是帮教问答的备份文件（manifest.json 格式不对）")
    if data.get("version") != VERSION:
        raise BackupError(f"备份格式版本 {data.get('version')} 不受支持（本程序支持版本 {VERSION}）")
    try:
        tables = tuple(TableEntry(t["name"], int(t["rows"]), str(t["sha256"]), tuple(t["columns"]))
                       for t in data["tables"])
        knowledge = {str(k): str(v) for k, v in data["knowledge"].items()}
        manifest = Manifest(str(data["created_at"]), data.get("dialect"), data.get("alembic_revision"), tables,
                            knowledge, data.get("spool"))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BackupError(f"备份清单 manifest.json 不完整：{exc}") from exc
    if tables and not manifest.revision:
        raise BackupError("备份清单缺少数据库结构版本（alembic_revision）")
    for t in tables:
        if "/" in t.name or safe_member_name(t.member).as_posix() != t.member:
            raise BackupError(f"备份清单中有不安全的表名：{t.name!r}")
    files = {t.member: t.sha256 for t in tables}
    files |= {f"knowledge/{safe_member_name(k)}": v for k, v in knowledge.items()}
    if manifest.spool:
        files[SPOOL_MEMBER] = manifest.spool
    return Manifest(manifest.created_at, manifest.dialect, manifest.revision, tables, knowledge, manifest.spool,
                    files)


# ---------------------------------------------------------------- database access


def _sqlite_file(url: str) -> Path | None:
    if url.startswith("sqlite:///") and ":memory:" not in url:
        return Path(url.removeprefix("sqlite:///").split("?")[0])
    return None


def public_url(url: str) -> str:
    """The database location without credentials, for messages."""
    return url.split("@")[-1]


def _reflect(conn: Connection) -> tuple[list[Table], str | None]:
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


def _count_rows(conn: Connection, tables: list[Table]) -> dict[str, int]:
    return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in tables}


# ---------------------------------------------------------------- knowledge and spool files


def knowledge_files(root: Path) -> list[str]:
    """Every regular file under `root` (POSIX relative paths, sorted); symlinked folders are not followed."""
    out = []
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in files:
            path = Path(folder) / name
            if path.is_file():
                out.append(path.relative_to(root).as_posix())
    return sorted(out)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o644, int(datetime.now(UTC).timestamp())
    tar.addfile(info, io.BytesIO(data))


# ---------------------------------------------------------------- create


def create_backup(database_url: str, knowledge_dir: Path | None, spool_path: Path | None, out: Path,
                  missing_database_ok: bool = False) -> Manifest:
    """Write an archive of the database, the knowledge files and pending spool records to `out` (atomic).

    The tables are read in one read-only transaction, so the service may keep running meanwhile."""
    out = Path(out)
    if out.exists():
        raise BackupError(f"文件已存在，不会覆盖：{out}")
    if knowledge_dir is not None and not Path(knowledge_dir).is_dir():
        raise BackupError(f"知识库目录不存在：{knowledge_dir}")
    sqlite_file = _sqlite_file(database_url)
    with tempfile.TemporaryDirectory(prefix="bangjiao-backup-") as staging:
        staging_dir = Path(staging)
        if sqlite_file is not None and not sqlite_file.exists():
            if not missing_database_ok:
                raise BackupError(f"数据库文件不存在：{sqlite_file}")
            tables: list[TableEntry] = []
            revision, dialect = None, "sqlite"
        else:
            tables, revision, dialect = _dump_database(database_url, staging_dir)
        contents = ({rel: (Path(knowledge_dir) / rel).read_bytes() for rel in knowledge_files(Path(knowledge_dir))}
                    if knowledge_dir is not None else {})
        knowledge = {rel: _sha(data) for rel, data in contents.items()}
        spool_data = spool_path.read_bytes() if spool_path and spool_path.is_file() else b""
        manifest = Manifest(datetime.now(UTC).isoformat(timespec="seconds"), dialect, revision, tuple(tables),
                            knowledge, _sha(spool_data) if spool_data.strip() else None)
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = private_file(out.with_name(f".{out.name}.partial"))  # holds password hashes: owner-only
        try:
            with tarfile.open(partial, "w:gz") as tar:
                _add_bytes(tar, MANIFEST, json.dumps(manifest.to_json(), ensure_ascii=False, indent=1).encode())
                for t in tables:
                    tar.add(staging_dir / f"{t.name}.jsonl", arcname=t.member, recursive=False)
                for rel, data in contents.items():
                    _add_bytes(tar, f"knowledge/{rel}", data)
                if manifest.spool:
                    _add_bytes(tar, SPOOL_MEMBER, spool_data)
            with open(partial, "rb") as handle:
                os.fsync(handle.fileno())
            os.replace(partial, out)
        finally:
            partial.unlink(missing_ok=True)
    return parse_manifest(manifest.to_json())


def _dump_database(url: str, staging: Path) -> tuple[list[TableEntry], str | None, str]:
    engine = make_engine(url)
    try:
        with _snapshot(engine) as conn:
            tables, revision = _reflect(conn)
            if tables and revision is None:
                raise BackupError("数据库没有结构版本记录（alembic_version），请先运行 assistant db upgrade")
            entries = [_dump_table(conn, t, staging / f"{t.name}.jsonl") for t in tables]
            return entries, revision, engine.dialect.name
    except SQLAlchemyError as exc:
        raise BackupError(f"读取数据库失败（{public_url(url)}）：{exc}") from exc
    finally:
        engine.dispose()


# ---------------------------------------------------------------- verify


def read_archive(archive: Path, staging: Path) -> Manifest:
    """Extract `archive` into `staging`, checking every member against the manifest. Raises BackupError."""
    archive = Path(archive)
    if not archive.is_file():
        raise BackupError(f"备份文件不存在：{archive}")
    try:
        return _read_archive(archive, staging)
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile, UnicodeDecodeError) as exc:
        raise BackupError(f"备份文件已损坏或不完整，未恢复任何数据：{archive}（{exc}）") from exc


def _member_file(tar: tarfile.TarFile, member: tarfile.TarInfo) -> IO[bytes]:
    """The contents of a regular-file member (the caller has checked `member.isfile()`)."""
    source = tar.extractfile(member)
    if source is None:
        raise BackupError(f"备份文件中的条目无法读取：{member.name}")
    return source


def _read_archive(archive: Path, staging: Path) -> Manifest:
    manifest: Manifest | None = None
    seen: set[str] = set()
    with gzip.open(archive, "rb") as stream, tarfile.open(fileobj=stream, mode="r|") as tar:
        for member in tar:
            name = safe_member_name(member.name).as_posix()
            if member.isdir():
                continue
            if not member.isfile():
                raise BackupError(f"备份文件中有不允许的条目（链接或设备）：{name}")
            if manifest is None:
                if name != MANIFEST:
                    raise BackupError("备份文件开头没有 manifest.json，不是帮教问答的备份")
                try:
                    manifest = parse_manifest(json.loads(_member_file(tar, member).read()))
                except ValueError as exc:
                    raise BackupError(f"备份清单 manifest.json 已损坏：{exc}") from exc
                continue
            expected = manifest.files.get(name)
            if expected is None or name in seen:
                raise BackupError(f"备份文件中有清单之外或重复的条目：{name}")
            seen.add(name)
            target = staging / name
            target.parent.mkdir(parents=True, exist_ok=True)
            digest = hashlib.sha256()
            source = _member_file(tar, member)
            with open(target, "wb") as handle:
                while chunk := source.read(1 << 20):
                    digest.update(chunk)
                    handle.write(chunk)
            if digest.hexdigest() != expected:
                raise BackupError(f"校验和不符，备份文件已损坏：{name}")
        while stream.read(1 << 20):  # to the end, so that gzip checks its CRC and length as well
            pass
    if manifest is None:
        raise BackupError("备份文件是空的")
    missing = sorted(set(manifest.files) - seen)
    if missing:
        raise BackupError(f"备份文件不完整，缺少：{'、'.join(missing[:5])}{' 等' if len(missing) > 5 else ''}")
    for t in manifest.tables:
        _check_table_file(staging / t.member, t)
    return manifest


def _check_table_file(path: Path, entry: TableEntry) -> None:
    rows = 0
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise BackupError(f"{entry.member} 第 {number} 行不是有效的 JSON") from exc
            if not isinstance(row, dict) or tuple(row) != entry.columns:
                raise BackupError(f"{entry.member} 第 {number} 行的字段与清单不符")
            rows += 1
    if rows != entry.rows:
        raise BackupError(f"{entry.member} 有 {rows} 行，清单记载 {entry.rows} 行")


# ---------------------------------------------------------------- restore


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
    sqlite_file = _sqlite_file(url)
    if sqlite_file is not None and not sqlite_file.exists():
        return {}
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            tables, _ = _reflect(conn)
            return _count_rows(conn, tables)
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
                tables = {t.name: t for t in _reflect(conn)[0]}
                missing = [t.name for t in manifest.tables if t.name not in tables]
                if missing:
                    raise BackupError(f"数据库结构 {manifest.revision} 中没有这些表：{'、'.join(missing)}")
                order = [t for t in tables.values() if t.name in manifest.rows]
                for table in order:
                    _insert_rows(conn, table, staging / f"db/{table.name}.jsonl")
                counts = _count_rows(conn, order)
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
    sqlite_file = _sqlite_file(url)
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

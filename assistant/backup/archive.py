"""The archive format: a ``.tar.gz`` with ``manifest.json`` first, then every other member checked against it.

Members: ``db/<table>.jsonl`` (one JSON object per row, primary-key order), ``knowledge/…`` (the knowledge files
as they are) and ``spool/questions.jsonl`` when log records were waiting for the database. The manifest holds the
format, the Alembic revision, row counts and the SHA-256 of every other member.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import os
import tarfile
import zlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import IO

from sqlalchemy import Date, DateTime, LargeBinary, Numeric, Time

FORMAT = "bangjiao-backup"
VERSION = 1
MANIFEST = "manifest.json"
SPOOL_MEMBER = "spool/questions.jsonl"
NOT_INCLUDED = ["检索索引（由知识库重建）", "转换后的向量模型（首次使用时重新转换）"]


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


# ---------------------------------------------------------------- knowledge files and members


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


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o644, int(datetime.now(UTC).timestamp())
    tar.addfile(info, io.BytesIO(data))


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
                    manifest = parse_manifest(json.loads(_member(tar, member).read()))
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
            source = _member(tar, member)
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


def _member(tar: tarfile.TarFile, member: tarfile.TarInfo) -> IO[bytes]:
    """A regular file's contents (anything else in a backup is refused)."""
    handle = tar.extractfile(member)
    if handle is None:
        raise BackupError(f"备份文件中的条目不是普通文件：{member.name}")
    return handle

"""Backup and restore of the database (every table, generically) and the knowledge base.

An archive is a ``.tar.gz``: ``manifest.json`` first (format, Alembic revision, row counts, SHA-256 of every
other member), then ``db/<table>.jsonl`` (one JSON object per row, primary-key order), ``knowledge/…`` (the
knowledge files as they are) and ``spool/questions.jsonl`` when log records were waiting for the database.
The search index and the converted model are not included: they are rebuilt from the knowledge base.

Restore verifies the whole archive before it writes anything, refuses a target that already holds data
unless forced, and then saves that data in a safety backup first.

archive.py  the format: manifest, row values, reading and verifying an archive
database.py what creating and restoring share: the SQLite file, reflected tables, row counts
create.py   create_backup
restore.py  restore_backup
"""

from assistant.backup.archive import BackupError, Manifest
from assistant.backup.create import create_backup
from assistant.backup.database import public_url
from assistant.backup.restore import RestoreResult, restore_backup

__all__ = ["BackupError", "Manifest", "RestoreResult", "create_backup", "public_url", "restore_backup"]

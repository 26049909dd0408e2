"""Files that hold password and PIN hashes, inmate numbers or questions are readable by the service's user only."""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO

PRIVATE_DIR, PRIVATE_FILE = 0o700, 0o600


def private_dir(path: Path) -> Path:
    """Create `path` (and missing parents) and make it owner-only (0700)."""
    path = Path(path)
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    os.chmod(path, PRIVATE_DIR)
    return path


def private_file(path: Path) -> Path:
    """Create `path` empty if missing; make it owner-only (0600) either way. Contents are kept."""
    path = Path(path)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE))
    os.chmod(path, PRIVATE_FILE)
    return path


def _opener(name: str, flags: int) -> int:
    return os.open(name, flags, PRIVATE_FILE)


def open_private(path: Path, mode: str, **kwargs) -> IO:
    """`open`, except that a file it creates is owner-only (0600) from the start."""
    return open(path, mode, opener=_opener, **kwargs)


def write_private(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically (a reader never sees half a file) and owner-only (0600)."""
    path = Path(path)
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    with open_private(tmp, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)

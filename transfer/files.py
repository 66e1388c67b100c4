"""Durable file operations.

- atomic_write: a reader sees the old file or the new one, never half of either;
- read_limited: read a file, refusing an oversized one before reading it all;
- fsync_dir: make new, renamed or removed names in a directory durable.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from transfer.errors import TransferError
from transfer.faults import fault_point


def fsync_dir(directory: str | os.PathLike[str]) -> None:
    """Make a directory's entries (new, renamed or removed names) durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)



def atomic_write(path: str | os.PathLike[str], data: bytes | Iterable[bytes], *,
                 overwrite: bool = False, mode: int = 0o644) -> Path:
    """Write `data` (bytes, or pieces of them) to `path` via temp file + fsync + rename.

    Refuses to replace an existing file unless `overwrite` is true. The parent directory must
    exist. Returns the resolved path.
    """
    target = Path(path)
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise TransferError(f"cannot write {target}: directory {parent} does not exist")
    if target.exists() and not overwrite:
        raise TransferError(f"refusing to overwrite existing file {target} (use --force)")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            for piece in ([data] if isinstance(data, bytes | bytearray | memoryview) else data):
                fh.write(piece)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        fault_point("atomic_write.before_rename")
        if overwrite:
            os.replace(tmp, target)
        else:
            # link() fails if the target appeared meanwhile: no silent overwrite.
            try:
                os.link(tmp, target)
            except FileExistsError:
                raise TransferError(
                    f"refusing to overwrite existing file {target} (use --force)") from None
            os.unlink(tmp)
        fault_point("atomic_write.before_dir_fsync")
        fsync_dir(parent)
    except OSError as exc:
        raise TransferError(f"cannot write {target}: {exc.strerror or exc}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def read_limited(path: str | os.PathLike[str], max_bytes: int, *, what: str = "file") -> bytes:
    """Read a whole file, refusing (without reading it all) one larger than `max_bytes`."""
    target = Path(path)
    try:
        with open(target, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except FileNotFoundError:
        raise TransferError(f"{what} {target} does not exist") from None
    except IsADirectoryError:
        raise TransferError(f"{what} {target} is a directory") from None
    except OSError as exc:
        raise TransferError(f"cannot read {what} {target}: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise TransferError(f"{what} {target} is larger than the limit of {max_bytes} bytes")
    return data


DIR_MODE = 0o755  # folders of public trust data: never group- or world-writable


def make_dirs(path: str | os.PathLike[str]) -> None:
    """`mkdir -p` with DIR_MODE for every folder made (Path.mkdir(parents=True) gives the
    parents the default mode, which a permissive umask makes writable by anyone)."""
    path = Path(path)
    if path.is_dir():
        return
    make_dirs(path.parent)
    try:
        path.mkdir(mode=DIR_MODE)
    except FileExistsError:
        if not path.is_dir():
            raise

"""Atomic file writes: a reader sees the old file or the new one, never half of either."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from transfer.errors import TransferError


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: str | os.PathLike[str], data: bytes, *, overwrite: bool = False,
                 mode: int = 0o644) -> Path:
    """Write `data` to `path` via temp file + fsync + rename.

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
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
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
        _fsync_dir(parent)
    except OSError as exc:
        raise TransferError(f"cannot write {target}: {exc.strerror or exc}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target

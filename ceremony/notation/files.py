"""Writing outputs: atomically, and never over an existing file without `force`."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ceremony.notation.errors import NotationError


def refuse_existing(paths: list[Path], force: bool) -> None:
    """Check every output before anything is made, so that nothing is half written."""
    if force:
        return
    for path in paths:
        if path.exists():
            raise NotationError(f"{path} exists: choose another path or pass --force to "
                                "replace it")


def write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

"""A record of work done, kept so that a killed run can go on where it stopped: an append-only
file of JSON lines, each flushed as it is written (a line cut short by a kill is the reader's to
skip) and the file synced at close. The fetch record and the publish record are two of these."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

from transfer.errors import TransferError


class LineRecord:
    """Opens (or makes) the record at `path`; `earlier` holds the lines an earlier run wrote, and
    a new record starts with `header`. A file that cannot be opened is refused with `error`,
    naming `what` the record is and `hint` (what to do instead)."""

    def __init__(self, path: Path, header: dict[str, Any], *, what: str,
                 error: type[TransferError] = TransferError, hint: str = "") -> None:
        self.path = Path(path)
        self._lock = threading.Lock()  # taken by writers on several threads
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        except OSError as exc:
            raise error(f"cannot open the {what} {self.path}: {exc.strerror or exc}{hint}") \
                from None
        self._file = os.fdopen(fd, "r+", encoding="utf-8")
        self.earlier = self._file.read().splitlines()
        if not self.earlier:
            self._write(header)

    def _write(self, obj: dict[str, Any]) -> None:
        self._file.write(json.dumps(obj, sort_keys=True) + "\n")
        self._file.flush()

    def close(self) -> None:
        try:
            os.fsync(self._file.fileno())
        finally:
            self._file.close()

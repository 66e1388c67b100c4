"""What an interrupted `online fetch` already has: a JSON-lines file next to the request.

    REQUEST.fetched     first line: what is being fetched (server, GUNs, operation, params)
                        then one line per repository fetched, everything the bundle needs

A fetch of thousands of repositories takes minutes; killed (Ctrl-C, a lost connection, a
reboot) it used to start again from nothing -- and for a new repository every GET of a key
makes the server create another key. Each repository fetched is appended (flushed) as soon as
it is complete, so a rerun of the same command fetches only the rest and writes the same
bundle. A line cut short by a kill is ignored (that repository is fetched again). The file is
removed once the request bundle is written.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from transfer.bundle import RequestEntry
from transfer.errors import TransferError
from transfer.linerecord import LineRecord


class FetchRecordError(TransferError):
    """The record cannot be used; the message says what to do."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: Any) -> bytes:
    if not isinstance(text, str):
        raise TypeError("not base64 text")
    return base64.b64decode(text, validate=True)


def entry_json(e: RequestEntry) -> dict[str, Any]:
    return {"gun": e.gun, "operation": e.operation, "params": dict(e.params),
            "fetched_at": e.fetched_at,
            "metadata": {role: _b64(data) for role, data in e.metadata.items()},
            "root_history": [_b64(data) for data in e.root_history],
            "server_keys": {role: _b64(data) for role, data in e.server_keys.items()}}


def entry_from_json(d: Mapping[str, Any]) -> RequestEntry:
    return RequestEntry(gun=d["gun"], operation=d["operation"], params=dict(d["params"]),
                        fetched_at=d["fetched_at"],
                        metadata={r: _unb64(v) for r, v in d["metadata"].items()},
                        root_history=tuple(_unb64(v) for v in d["root_history"]),
                        server_keys={r: _unb64(v) for r, v in d["server_keys"].items()})


class FetchRecord(LineRecord):
    """Repositories of one fetch already fetched, kept in a file as they come."""

    def __init__(self, path: Path, *, server: str, guns: Sequence[str],
                 what: Mapping[str, Any]):
        self.done: dict[str, RequestEntry] = {}
        header = {"fetch": {"server": server.rstrip("/"), **what,
                            "guns_sha256": hashlib.sha256("\n".join(guns).encode()).hexdigest()}}
        super().__init__(path, header, what="fetch record", error=FetchRecordError)
        lines = self.earlier
        if not lines:
            return
        try:
            same = json.loads(lines[0]) == json.loads(json.dumps(header))
        except ValueError:
            same = False
        if not same:
            self._file.close()
            raise FetchRecordError(f"{self.path} records another fetch (other server, GUNs or "
                                   "operation); remove it to start this one from the beginning")
        wanted = set(guns)
        for line in lines[1:]:
            try:
                entry = entry_from_json(json.loads(line))
            except (ValueError, KeyError, TypeError, AttributeError, binascii.Error):
                continue  # a line cut short by a kill: that repository is fetched again
            if entry.gun in wanted:
                self.done[entry.gun] = entry

    def add(self, entry: RequestEntry) -> None:
        line = entry_json(entry)
        with self._lock:
            self._write(line)
            self.done[entry.gun] = entry

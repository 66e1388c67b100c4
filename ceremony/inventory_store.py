"""The inventory on disk: records in small buckets, each bucket versioned by generation.

    DIR/inventory/tokens/all/00000042.json     every token record, as of generation 42
    DIR/inventory/keys/3f/00000042.json        active keys whose key ID starts with 3f
    DIR/inventory/retired/3f/00000017.json     retired keys whose key ID starts with 3f
    DIR/inventory/canonical/a0/00000040.json   canonical key ID -> key IDs (active or retired)

Each file is a JSON object of records by ID, immutable once made. A bucket's state in
generation G is its file with the highest number at or below G, exactly like a repository's
snapshot (workspace_files.py): a commit writes a new file numbered G+1 for each bucket it
changes and nothing for the others. A workspace of 10,000 repositories holds 10,000 root-key
records (one certificate per repository): kept in one file, every ceremony read (and every change
rewrote) all of them; in 256 buckets by key ID, a one-repository ceremony reads the few buckets
of the keys it looks at, and a change rewrites ~1/256 of the records.

Crash safety is the repositories' own: files numbered above the generation `current` names are
never read, and what a killed commit left is swept before the next commit writes anything.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable, Iterator, MutableMapping
from pathlib import Path
from typing import Any

from ceremony.workspace_files import LazyRecords, Writer
from groundfloor.faults import fault_point
from groundfloor.files import fsync_dir

KINDS = ("tokens", "keys", "retired", "canonical")
_FILE = re.compile(r"([0-9]{8})\.json")
_BUCKET = re.compile(r"[0-9a-f]{2}|all")
_HEX_START = re.compile(r"[0-9a-f]{2}")


def bucket_of(kind: str, record_id: str) -> str | None:
    """The bucket holding `record_id` (None: no bucket could hold it, so it is absent)."""
    if kind == "tokens":
        return "all"  # a handful of tokens, not one per repository
    head = record_id[:2] if isinstance(record_id, str) else ""
    return head if _HEX_START.fullmatch(head) else None


def versions(folder: Path) -> list[int]:
    """Numbers of a bucket's files, ascending (none if the folder is absent)."""
    try:
        names = os.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(int(m.group(1)) for n in names if (m := _FILE.fullmatch(n)))


def file_name(number: int) -> str:
    return f"{number:08d}.json"


def in_force(folder: Path, generation: int) -> Path | None:
    """The file of a bucket in force at `generation`, or None."""
    numbers = [n for n in versions(folder) if n <= generation]
    return folder / file_name(numbers[-1]) if numbers else None


class Bucketed(MutableMapping[str, Any]):
    """Records of one kind by ID, each bucket read when an ID in it is first asked for.

    Records are parsed (and checked) when first used (LazyRecords); a bucket that is written
    has every record in it parsed first, so damage is reported rather than copied forward."""

    def __init__(self, top: Path | None, generation: int, kind: str,
                 parse: Callable[[Any], Any], dump: Callable[[Any], Any],
                 damage: tuple[type[BaseException], ...],
                 damaged: Callable[[str, BaseException], Exception]):
        self._top, self._generation, self.kind = top, generation, kind
        self._parse, self._dump = parse, dump
        self._damage, self._damaged = damage, damaged
        self._buckets: dict[str, LazyRecords] = {}
        self.dirty: set[str] = set()
        self._listed = False

    def _bucket(self, name: str) -> LazyRecords:
        if name in self._buckets:
            return self._buckets[name]
        raw: dict[str, Any] = {}
        path = in_force(self._top / self.kind / name, self._generation) \
            if self._top is not None else None
        if path is not None:
            try:
                data = json.loads(path.read_bytes())
                if not isinstance(data, dict):
                    raise TypeError("a bucket is not a JSON object")
                for record_id in data:
                    if bucket_of(self.kind, record_id) != name:
                        raise ValueError("a record in the wrong bucket")
                raw = data
            except self._damage as exc:
                raise self._damaged(str(path), exc) from None

        def damaged(exc: BaseException) -> Exception:
            return self._damaged(str(path), exc)
        self._buckets[name] = LazyRecords(self._parse, raw, self._damage, damaged)
        return self._buckets[name]

    def _all(self) -> None:
        """Read every bucket (listing every record: a full scan, for the few who need it)."""
        if self._listed or self._top is None:
            self._listed = True
            return
        try:
            names = os.listdir(self._top / self.kind)
        except FileNotFoundError:
            names = []
        for name in sorted(names):
            if _BUCKET.fullmatch(name):
                self._bucket(name)
        self._listed = True

    def __getitem__(self, record_id: str) -> Any:
        name = bucket_of(self.kind, record_id)
        if name is None:
            raise KeyError(record_id)
        return self._bucket(name)[record_id]

    def __contains__(self, record_id: object) -> bool:
        name = bucket_of(self.kind, record_id)  # type: ignore[arg-type]
        return name is not None and record_id in self._bucket(name)

    def __setitem__(self, record_id: str, value: Any) -> None:
        name = bucket_of(self.kind, record_id)
        if name is None:
            raise ValueError(f"{record_id!r} cannot be an inventory record ID")
        self._bucket(name)[record_id] = value
        self.dirty.add(name)

    def __delitem__(self, record_id: str) -> None:
        name = bucket_of(self.kind, record_id)
        if name is None:
            raise KeyError(record_id)
        del self._bucket(name)[record_id]
        self.dirty.add(name)

    def __iter__(self) -> Iterator[str]:
        self._all()
        return iter([k for b in list(self._buckets.values()) for k in b])

    def __len__(self) -> int:
        self._all()
        return sum(len(b) for b in self._buckets.values())

    def changed_buckets(self) -> Iterator[tuple[str, bytes]]:
        """(bucket name, file content) of each bucket changed, every record in it checked."""
        for name in sorted(self.dirty):
            bucket = self._buckets[name]
            records = {k: self._dump(bucket[k]) for k in sorted(bucket)}
            yield name, json.dumps(records, indent=1, sort_keys=True).encode()


def write(writer: Writer, top: Path, number: int, kinds: list[Bucketed]) -> list[Path]:
    """Write generation `number`'s file of each changed bucket; the bucket folders written."""
    written = []
    for records in kinds:
        for name, data in records.changed_buckets():
            folder = top / records.kind / name
            writer.write(folder / file_name(number), data)
            written.append(folder)
    fault_point("workspace.inventory.written")
    return written


def rewrite(workspace: Path, number: int, raw: dict[str, dict[str, Any]]) -> None:
    """Replace the whole inventory by the records given (by kind, then ID), as generation
    `number` (the upgrade from one file). Durable before it returns."""
    top = workspace / "inventory"
    if top.exists():
        shutil.rmtree(top)
    writer = Writer(bulk=False)
    writer.mkdirs(top)
    for kind, records in raw.items():
        buckets: dict[str, dict[str, Any]] = {}
        for record_id, record in records.items():
            name = bucket_of(kind, record_id)
            if name is None:
                raise ValueError(f"{kind} record ID {record_id!r} is not hex")
            buckets.setdefault(name, {})[record_id] = record
        for name, content in sorted(buckets.items()):
            writer.write(top / kind / name / file_name(number),
                         json.dumps(content, indent=1, sort_keys=True).encode())
    writer.durable(workspace)
    fault_point("workspace.upgrade.inventory")


def sweep(top: Path, current: int) -> None:
    """Remove bucket files a killed commit left (numbered above `current`), and bucket folders
    with no file in force. Durable before it returns."""
    if not top.is_dir():
        return
    for kind in sorted(top.iterdir()):
        if not kind.is_dir():
            continue
        for folder in sorted(kind.iterdir()):
            numbers = versions(folder)
            stale = [n for n in numbers if n > current]
            for n in stale:
                (folder / file_name(n)).unlink()
            if len(stale) == len(numbers):
                shutil.rmtree(folder, ignore_errors=True)
            elif stale:
                fsync_dir(folder)
        fsync_dir(kind)
    fault_point("workspace.recovery.inventory_swept")


def collect(folder: Path, keep: set[int]) -> None:
    """Remove a bucket's files other than `keep` (in force now and at the previous
    generation: a reader racing with one commit still sees whole files)."""
    for n in versions(folder):
        if n not in keep:
            (folder / file_name(n)).unlink(missing_ok=True)
            fault_point("workspace.gc.removed")


def versions_of(path: Path) -> int:
    """The generation number of a bucket file."""
    match = _FILE.fullmatch(path.name)
    assert match is not None  # only names in_force returned
    return int(match.group(1))


def discard(top: Path, number: int, kinds: list[Bucketed]) -> None:
    """Remove what a commit that failed (disk full...) wrote: files numbered `number` of the
    buckets it changed, and bucket folders that held nothing else."""
    for records in kinds:
        for name in records.dirty:
            folder = top / records.kind / name
            (folder / file_name(number)).unlink(missing_ok=True)
            if not versions(folder):
                shutil.rmtree(folder, ignore_errors=True)


def from_one_file(source: Path | None) -> dict[str, dict[str, Any]]:
    """The records of a version 2 `inventory.json` (one file per generation), by kind and ID,
    as they are (each is still checked when used). Raises what a damaged file raises."""
    raw: dict[str, dict[str, Any]] = {kind: {} for kind in KINDS}
    if source is None or not source.exists():
        return raw
    data = json.loads(source.read_bytes())
    for t in data["tokens"]:
        raw["tokens"][_text_id(t["serial"])] = t
    for k in data["keys"]:
        raw["keys"][_text_id(k["key_id"])] = k
    for r in data["retired"]:
        raw["retired"][_text_id(r["key"]["key_id"])] = r
    for k in [*data["keys"], *(r["key"] for r in data["retired"])]:
        if isinstance(k.get("canonical_id"), str):  # else damaged: found by key ID only
            raw["canonical"].setdefault(k["canonical_id"], []).append(k["key_id"])
    for kind, records in raw.items():
        for record_id in records:
            if bucket_of(kind, record_id) is None:
                raise ValueError(f"{kind} record ID {record_id!r} is not hex")
    return raw


def _text_id(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError("a record ID is not a string")
    return value


def to_dict(record: Any) -> Any:
    return record.to_dict()


def id_set(data: object) -> set[str]:
    """A canonical index entry: the key IDs with one canonical key ID (a sorted list on disk;
    a set in memory, as a bulk init adds 10,000 root certificates of one root key)."""
    if not isinstance(data, list) or not all(isinstance(k, str) for k in data):
        raise TypeError("a canonical key ID index entry is not a list of key IDs")
    return set(data)

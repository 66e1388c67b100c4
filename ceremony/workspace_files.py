"""The workspace on disk: generations, repository snapshots, durability, collection, recovery.

    DIR/current -> state/gen-00000042     the commit point (a relative symlink)
    DIR/state/gen-00000042/               a generation (the inventory: inventory_store.py)
    DIR/repos/<name, '/' as '+'>/00000040/ one snapshot of one repository (immutable once made):
        repo.json, roots/<N>.root.json, signed/<role>.json

A repository's state in generation G is its snapshot with the highest number at or below G.
A commit writes a snapshot numbered with the new generation for each repository it changes
and nothing for the others, so it costs what it changes, not what the workspace holds (the
earlier layout hard-linked every file of every repository into each generation).

Crash safety: the new generation's folder is made (and made durable) before any snapshot with
its number, all new files and folders are durable before `current` moves, and readers ignore
snapshots above the generation `current` names. A killed commit leaves such snapshots and its
generation folder behind; the next commit sees a generation above `current`, removes every
snapshot above `current` (`sweep`) before it writes anything, and only then proceeds.
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import json
import os
import re
import shutil
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from pathlib import Path
from typing import Any

from groundfloor.faults import fault_point
from groundfloor.files import DIR_MODE, fsync_dir
from groundfloor.names import role_relpath

GEN = re.compile(r"gen-([0-9]{8})")
# repo.json names its repository under "gun": the field keeps Notary's word (a repository's
# Globally Unique Name) because workspaces already on disk hold it; the code says repository.
NAME_FIELD = "gun"
SNAPSHOT = re.compile(r"[0-9]{8}")
# Above this many changed repositories one filesystem sync replaces a fsync per file and
# folder: 10,000 repositories are ~70,000 fsyncs (1-2 ms each) against one syncfs.
BULK_REPOS = 8


def gen_name(number: int) -> str:
    return f"gen-{number:08d}"


def gen_number(generation: Path | None) -> int:
    if generation is None:
        return 0
    match = GEN.fullmatch(generation.name)
    assert match is not None  # `current` is checked before it is used
    return int(match.group(1))


def snapshot_name(number: int) -> str:
    return f"{number:08d}"


def snapshots(folder: Path) -> list[int]:
    """Snapshot numbers in a repository folder, ascending (none if the folder is absent)."""
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return []
    return sorted(int(n) for n in names if SNAPSHOT.fullmatch(n))


def snapshot_at(folder: Path, generation: int) -> Path | None:
    """The snapshot of a repository in force at `generation`, or None."""
    numbers = [n for n in snapshots(folder) if n <= generation]
    return folder / snapshot_name(numbers[-1]) if numbers else None


class Writer:
    """Files and folders of one commit, made durable together before `current` moves."""

    def __init__(self, bulk: bool):
        self.bulk = bulk
        self.folders: set[Path] = set()
        self._known: set[Path] = set()  # folders known to exist: no stat for each file

    def mkdirs(self, folder: Path) -> None:
        if folder in self._known:
            return
        missing = []
        probe = folder
        while probe not in self._known and not probe.is_dir():
            missing.append(probe)
            probe = probe.parent
        for made in reversed(missing):
            try:
                # public trust data written only by this tool: 0755 (0644 files), never the
                # umask's default (under umask 000 that was 0777: anyone could swap a root in)
                os.mkdir(made, DIR_MODE)
            except FileExistsError:
                if not made.is_dir():
                    raise
        if missing:
            self.folders.add(probe)  # the existing parent gains an entry
            self.folders.update(missing)
        self._known.update(missing, (probe,))

    def write(self, path: Path, data: bytes) -> None:
        """Write a file no reader looks at yet (so no temp file is needed)."""
        self.mkdirs(path.parent)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            if not self.bulk:
                os.fsync(fd)
        finally:
            os.close(fd)
        self.folders.add(path.parent)
        fault_point("workspace.commit.file")

    def link(self, src: Path, dst: Path) -> None:
        """Hard-link an unchanged (immutable) file; copy it if links are not possible."""
        self.mkdirs(dst.parent)
        try:
            os.link(src, dst)
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.EXDEV, errno.ENOTSUP, errno.EMLINK):
                raise
            self.write(dst, src.read_bytes())
            return
        self.folders.add(dst.parent)

    def durable(self, top: Path) -> None:
        """Everything written so far is on disk once this returns."""
        if self.bulk:
            sync_filesystem(top)
        else:
            # deepest first, so a folder's own entry is synced after what it holds
            for folder in sorted(self.folders, key=lambda p: len(p.parts), reverse=True):
                fsync_dir(folder)
        fault_point("workspace.commit.synced")


_libc = ctypes.CDLL(None, use_errno=True) if os.name == "posix" else None
_syncfs = getattr(_libc, "syncfs", None)


def can_sync_filesystem() -> bool:
    return _syncfs is not None


def sync_filesystem(top: Path) -> None:
    """syncfs(2): write back every dirty file and folder of the filesystem holding `top`."""
    assert _syncfs is not None
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    try:
        if _syncfs(fd) != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))
    finally:
        os.close(fd)


def sweep(repos: Path, current: int) -> None:
    """Remove what killed commits left: snapshots above generation `current`, and folders of
    repositories that have no snapshot at or below it. Durable before it returns."""
    if not repos.is_dir():
        return
    for folder in sorted(repos.iterdir()):
        numbers = snapshots(folder)
        stale = [n for n in numbers if n > current]
        for n in stale:
            shutil.rmtree(folder / snapshot_name(n))
        if len(stale) == len(numbers):
            shutil.rmtree(folder, ignore_errors=True)
        elif stale:
            fsync_dir(folder)
    fsync_dir(repos)
    fault_point("workspace.recovery.swept")


def collect_repo(folder: Path, keep: set[int]) -> None:
    """Remove a repository's snapshots other than `keep` (those in force at the current and
    the previous generation: a reader racing with a commit still sees whole files)."""
    for n in snapshots(folder):
        if n not in keep:
            shutil.rmtree(folder / snapshot_name(n), ignore_errors=True)
            fault_point("workspace.gc.removed")


class LazyRecords(MutableMapping[str, Any]):
    """Inventory records by ID, each checked and parsed from its JSON when first used.

    A workspace of 10,000 repositories holds 10,000 root-key records (one certificate per
    repository); checking every one (PEM parsing, secret scan) on each open made a one-repository
    ceremony cost what the workspace holds. A damaged record is still reported as damage,
    when it is used or when the inventory is written (which reads every record)."""

    def __init__(self, parse: Callable[[Any], Any], raw: dict[str, Any],
                 damage: tuple[type[BaseException], ...],
                 damaged: Callable[[BaseException], Exception]):
        self._parse, self._raw, self._damaged = parse, raw, damaged
        self._damage = damage
        self._done: dict[str, Any] = {}

    def __getitem__(self, key: str) -> Any:
        if key not in self._done:
            data = self._raw[key]
            try:
                self._done[key] = self._parse(data)
            except self._damage as exc:
                raise self._damaged(exc) from None
            del self._raw[key]
        return self._done[key]

    def __contains__(self, key: object) -> bool:
        return key in self._done or key in self._raw

    def __setitem__(self, key: str, value: Any) -> None:
        self._raw.pop(key, None)
        self._done[key] = value

    def __delitem__(self, key: str) -> None:
        if key in self._done:
            del self._done[key]
        else:
            del self._raw[key]

    def __iter__(self) -> Iterator[str]:
        return iter([*self._done, *self._raw])

    def __len__(self) -> int:
        return len(self._done) + len(self._raw)

    def ids_where(self, raw: Callable[[Any], bool], parsed: Callable[[Any], bool]) -> list[str]:
        """IDs of the records a test accepts, unparsed ones tested on their JSON."""
        found = [k for k, v in self._done.items() if parsed(v)]
        for k, v in self._raw.items():
            try:
                if raw(v):
                    found.append(k)
            except (TypeError, KeyError, AttributeError):
                found.append(k)  # damaged: parsed by the caller, which reports it
        return found


def write_snapshot(writer: Writer, folder: Path, repository: str, roots: Mapping[int, bytes],
                   signed: Mapping[str, Any], previous: Path | None) -> None:
    """Write one repository's new snapshot: files unchanged since `previous` linked from it."""
    index: dict[str, Any] = {NAME_FIELD: repository, "roots": {}, "signed": {}}
    for version, data in sorted(roots.items()):
        name = Path("roots") / f"{version}.root.json"
        index["roots"][str(version)] = hashlib.sha256(data).hexdigest()
        _place(writer, folder / name, data, previous / name if previous else None)
    for role, rec in sorted(signed.items()):
        name = Path("signed") / role_relpath(role)
        index["signed"][role] = {"version": rec.version, "sha256": rec.sha256, "time": rec.time}
        same = folder / "roots" / f"{rec.version}.root.json"  # a signed root is also pinned
        if role == "root" and roots.get(rec.version) == rec.data and same.is_file():
            writer.link(same, folder / name)  # one file less to create in a bulk commit
        else:
            _place(writer, folder / name, rec.data, previous / name if previous else None)
    writer.write(folder / "repo.json", json.dumps(index, indent=1, sort_keys=True).encode())


def _place(writer: Writer, path: Path, data: bytes, previous: Path | None) -> None:
    same = False
    if previous is not None:
        try:  # one stat, and a read only when the size matches (a bulk commit, per file)
            same = os.stat(previous).st_size == len(data) and previous.read_bytes() == data
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            same = False
    if same:
        writer.link(previous, path)
    else:
        writer.write(path, data)


def upgrade_repos(top: Path, gen: Path | None) -> None:
    """Workspace format 1 -> 2: each repository of generation `gen` (format 1 kept every
    repository in every generation) becomes a snapshot with that generation's number, its files
    hard-linked; durable when this returns (the caller then rewrites the format marker)."""
    repos = top / "repos"
    if repos.exists():
        shutil.rmtree(repos)
    writer = Writer(bulk=False)
    writer.mkdirs(repos)
    old = gen / "repos" if gen is not None else None
    if gen is not None and old is not None and old.is_dir():
        number = snapshot_name(gen_number(gen))
        for source in sorted(old.iterdir()):
            for path in sorted(source.rglob("*")):
                if path.is_file():
                    writer.link(path, repos / source.name / number / path.relative_to(source))
    writer.durable(top)

"""A repository's metadata as bytes, and where to find it on disk.

Three layouts are understood, for a GUN:
- a notary client trust dir: `PATH/tuf/<gun>/metadata/...`;
- that `metadata` directory itself;
- a folder of files downloaded from a server (`GET /v2/<gun>/_trust/tuf/<role>.json` and
  `<n>.root.json`), delegations under their role path (`targets/releases.json`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from ceremony.errors import MetadataFormatError, MissingMetadataError
from ceremony.notary.format.model import TOP_LEVEL_ROLES
from groundfloor.errors import GroundFloorError
from groundfloor.files import files_under
from groundfloor.limits import MAX_METADATA_FILE_BYTES, MAX_REPOSITORY_BYTES

_HISTORY = re.compile(r"([1-9][0-9]{0,8})\.root")
_DELEGATION_NAME = re.compile(r"targets/[-a-z0-9_/]+")
# Notary's own client refuses to download more than this for one file (notary.MaxDownloadSize).
MAX_DEPTH = 64  # delegation folders (targets/a/b/...); Notary's role names stop far earlier


@dataclass
class RepositoryFiles:
    """Raw metadata of one repository: current files by role, and the root history.

    `roles` maps a role name ("root", "targets", "snapshot", "timestamp", "targets/releases")
    to the bytes of its current file; `root_history` maps n to the bytes of `n.root.json`.
    """

    roles: dict[str, bytes] = field(default_factory=dict)
    root_history: dict[int, bytes] = field(default_factory=dict)
    source: str = ""
    ignored: list[str] = field(default_factory=list)

    @staticmethod
    def file_name(role: str) -> str:
        return f"{role}.json"

    @staticmethod
    def history_name(version: int) -> str:
        return f"{version}.root.json"


def find_metadata_dir(path: Path, gun: str) -> Path:
    """The directory holding the metadata of `gun` under `path` (any of the three layouts)."""
    candidates = [path / "tuf" / gun / "metadata", path]
    for candidate in candidates:
        if candidate.is_dir() and (any(candidate.glob("root.json"))
                                   or any(candidate.glob("*.root.json"))):
            return candidate
    raise MissingMetadataError(
        f"no Notary metadata for {gun} under {path} (looked for {candidates[0]} and for "
        f"root.json or N.root.json in {path})")


def read_repository(path: Path, gun: str) -> RepositoryFiles:
    """Collect the metadata files of `gun` found under `path`."""
    folder = find_metadata_dir(path, gun)
    files = RepositoryFiles(source=str(folder))
    try:
        listed = files_under(folder, ".json", max_depth=MAX_DEPTH,
                             max_total_bytes=MAX_REPOSITORY_BYTES,
                             what="metadata folder")
    except GroundFloorError as exc:
        raise MetadataFormatError(str(exc)) from None
    for file in listed:
        if not file.is_file():
            continue
        name = file.relative_to(folder).as_posix().removesuffix(".json")
        history = _HISTORY.fullmatch(name)
        if history:
            files.root_history[int(history.group(1))] = _read(file, folder)
        elif name in TOP_LEVEL_ROLES or _DELEGATION_NAME.fullmatch(name):
            files.roles[name] = _read(file, folder)
        else:
            files.ignored.append(f"{name}.json")
    return files


def _read(file: Path, folder: Path) -> bytes:
    """A file's bytes; one over MAX_METADATA_FILE_BYTES is refused before it is read."""
    name = file.relative_to(folder).as_posix()
    try:
        with open(file, "rb") as handle:
            too_big = os.fstat(handle.fileno()).st_size > MAX_METADATA_FILE_BYTES
            data = b"" if too_big else handle.read(MAX_METADATA_FILE_BYTES + 1)
    except OSError as exc:
        raise MetadataFormatError(f"cannot read: {exc.strerror or exc}", file=name) from None
    if too_big or len(data) > MAX_METADATA_FILE_BYTES:
        raise MetadataFormatError(
            f"larger than {MAX_METADATA_FILE_BYTES} bytes, Notary's own limit", file=name)
    return data

"""The workspace's rules for what it stores (names, versions, contents) and its small records;
split from workspace.py, which keeps the state and its transactions."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from ceremony import workspace_systems as systems
from ceremony.errors import CeremonyError
from groundfloor.limits import MAX_WORKSPACE_FILE_BYTES
from groundfloor.names import InvalidName, validate_gun, validate_role

__all__ = ["RollbackError", "SignedRecord", "WorkspaceError"]


class WorkspaceError(CeremonyError):
    """The workspace cannot do what was asked; the message says why."""


class RollbackError(WorkspaceError):
    """A version at or below one this machine already trusts or signed."""


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _repository_name(name: str) -> str:
    """A repository's name: the workspace keeps Notary's naming rule for it (a GUN), which is
    also the folder name rule of repos/ (groundfloor/names.py)."""
    try:
        return validate_gun(name)
    except InvalidName as exc:
        raise WorkspaceError(str(exc)) from None


def _role(role: str) -> str:
    try:
        return validate_role(role)
    except InvalidName as exc:
        raise WorkspaceError(str(exc)) from None


def _version(version: object, what: str) -> int:
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise WorkspaceError(f"{what}: version must be a positive integer, got {version!r}")
    return version


def _content(data: object, what: str) -> bytes:
    if not isinstance(data, bytes) or not data:
        raise WorkspaceError(f"{what}: expected non-empty bytes")
    if len(data) > MAX_WORKSPACE_FILE_BYTES:
        raise WorkspaceError(f"{what}: {len(data)} bytes, more than {MAX_WORKSPACE_FILE_BYTES}")
    return data


@dataclass(frozen=True)
class SignedRecord:
    """The last metadata this machine signed for one role of one repository."""

    role: str
    version: int
    sha256: str
    time: str
    data: bytes


@dataclass
class _Repo:
    name: str  # the repository's name (stored as "gun" in repo.json: workspace_files.NAME_FIELD)
    roots: dict[int, bytes]
    signed: dict[str, SignedRecord]


def _checked(check: Any, *args: Any) -> Any:
    """A workspace_systems check, its refusal as a WorkspaceError."""
    try:
        return check(*args)
    except ValueError as exc:
        raise WorkspaceError(str(exc)) from None


def _system_path(path: str) -> str:
    return _checked(systems.check_path, path)


def _same_record(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """The same record but for when it was first added (kept from the old one)."""
    return {**old, "added": ""} == {**new, "added": ""}

"""A trust system's own section of the workspace (notation's CAs, TUF repositories): small files
by relative path, committed in the same generations as everything else.

    DIR/state/gen-N/systems/<system>/index.json    {"files": {path: sha256}}
    DIR/state/gen-N/systems/<system>/files/<path>  the exact bytes

A commit that changes a system writes its changed files and index; every other file of the
generation is hard-linked from the previous one (so a commit costs what the section holds in
names, not in bytes: sections are meant for a CA's or a repository's state, not for bulk data).
Reads check every file against the index's digest.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from ceremony import workspace_files as store
from groundfloor.limits import MAX_WORKSPACE_FILE_BYTES

SYSTEM = re.compile(r"[a-z][a-z0-9-]{0,31}")
_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,127}")
MAX_DEPTH = 8
MAX_PATH = 512
MAX_FILES = 100_000


def check_system(system: object) -> str:
    if not isinstance(system, str) or not SYSTEM.fullmatch(system):
        raise ValueError(f"{system!r} is not a trust-system name (lowercase letters, digits, -)")
    return system


def check_path(path: object) -> str:
    """A relative path of plain segments: no '..', no leading dot, no empty segment."""
    if not isinstance(path, str) or not path or len(path) > MAX_PATH:
        raise ValueError(f"{path!r} is not a workspace file path")
    parts = path.split("/")
    if len(parts) > MAX_DEPTH or not all(_SEGMENT.fullmatch(p) and not p.endswith(".")
                                         for p in parts):
        raise ValueError(f"{path!r} is not a workspace file path (plain names separated by '/', "
                         f"at most {MAX_DEPTH} deep)")
    return path


def check_data(data: object, what: str) -> bytes:
    if not isinstance(data, bytes):
        raise ValueError(f"{what}: expected bytes")
    if len(data) > MAX_WORKSPACE_FILE_BYTES:
        raise ValueError(f"{what}: {len(data)} bytes, more than {MAX_WORKSPACE_FILE_BYTES}")
    return data


def load(generation: Path | None, system: str) -> dict[str, bytes]:
    """The files of `system` in `generation` (every digest checked). Raises OSError/ValueError/
    KeyError/TypeError on damage: the workspace turns them into its "damaged" error."""
    if generation is None:
        return {}
    folder = generation / "systems" / system
    if not folder.is_dir():
        return {}
    index = json.loads((folder / "index.json").read_bytes())
    files = index["files"]
    if not isinstance(files, dict) or len(files) > MAX_FILES:
        raise ValueError("index.json: files must be an object")
    out = {}
    for path, digest in files.items():
        data = (folder / "files" / check_path(path)).read_bytes()
        if hashlib.sha256(data).hexdigest() != digest:
            raise ValueError(f"{system}/{path} does not match its digest")
        out[path] = data
    return out


def systems_in(generation: Path | None) -> list[str]:
    if generation is None or not (generation / "systems").is_dir():
        return []
    return sorted(p.name for p in (generation / "systems").iterdir() if SYSTEM.fullmatch(p.name))


def write(writer: store.Writer, old: Path | None, new: Path, system: str,
          files: dict[str, bytes] | None) -> None:
    """Put `system`'s section into generation `new`: `files` if it changed in this commit (None:
    unchanged, hard-linked from `old`). A file whose bytes did not change is hard-linked too."""
    source = old / "systems" / system if old is not None else None
    target = new / "systems" / system
    if files is None:
        if source is None or not source.is_dir():
            return
        for path in sorted(p for p in source.rglob("*") if p.is_file()):
            writer.link(path, target / path.relative_to(source))
        return
    if not files:
        return  # a section emptied by this commit is simply not carried on
    previous: dict[str, str] = {}
    if source is not None and (source / "index.json").is_file():
        previous = json.loads((source / "index.json").read_bytes())["files"]
    index = {}
    for path, data in sorted(files.items()):
        digest = hashlib.sha256(data).hexdigest()
        index[path] = digest
        if previous.get(path) == digest:
            assert source is not None
            writer.link(source / "files" / path, target / "files" / path)
        else:
            writer.write(target / "files" / path, data)
    writer.write(target / "index.json",
                 json.dumps({"files": index}, indent=1, sort_keys=True).encode())

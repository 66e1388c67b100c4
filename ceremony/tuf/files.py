"""Reading the files of a TUF repository with bounds: metadata is refused above a size before
it is read (a hostile file must not fill the offline machine's memory), target files are
hashed in pieces, and a target name must stay inside the targets folder."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from ceremony.tuf.errors import ConsistencyError, TufFormatError
from groundfloor.errors import GroundFloorError
from groundfloor.files import read_limited
from groundfloor.limits import MAX_TUF_METADATA_BYTES

# The largest metadata file read (groundfloor/limits.py): a targets file of 100,000 entries
# is about 25 MB.
MAX_METADATA_BYTES = MAX_TUF_METADATA_BYTES
HASHES = {"sha256": hashlib.sha256, "sha384": hashlib.sha384, "sha512": hashlib.sha512}
_CHUNK = 1024 * 1024
_DOT_PART = re.compile(r"(?:^|/)\.\.?(?:/|$)")
_BAD_CHAR = re.compile(r"[\x00-\x1f\x7f\\]")


def read_metadata(path: str | os.PathLike[str]) -> bytes:
    """A metadata file's bytes; TufFormatError if it cannot be read or is too large. Read by
    the tool's one bounded reader (a FIFO, device or folder is refused unread)."""
    try:
        size = os.stat(path).st_size
    except OSError as exc:
        raise TufFormatError(f"cannot read ({exc.strerror})", file=str(path)) from None
    if size > MAX_METADATA_BYTES:
        raise TufFormatError(f"is {size} bytes, more than the {MAX_METADATA_BYTES >> 20} MiB a "
                             "metadata file may have: not a TUF metadata file", file=str(path))
    try:
        return read_limited(path, MAX_METADATA_BYTES, what="metadata file")
    except GroundFloorError as exc:
        raise TufFormatError(str(exc), file=str(path)) from None


def file_digests(path: Path, algorithms: list[str]) -> tuple[int, dict[str, str]]:
    """Length and hex digests of a target file, read in pieces (targets may be large)."""
    hashers = {a: HASHES[a]() for a in algorithms if a in HASHES}
    length = 0
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                length += len(chunk)
                for h in hashers.values():
                    h.update(chunk)
    except OSError as exc:
        raise ConsistencyError(f"cannot read ({exc.strerror})", file=str(path)) from None
    return length, {a: h.hexdigest() for a, h in hashers.items()}


def check_target_path(path: str) -> None:
    """A target name a client may store under its name without leaving its folder: no
    absolute path, no '.' or '..' part, no backslash or control character."""
    if path and path[0] not in "./" and "/." not in path and "\\" not in path and \
            path.isprintable():
        return  # the common case, decided by string methods alone
    bad = None
    if not path or path.startswith("/"):
        bad = "is empty or absolute"
    elif "." in path and _DOT_PART.search(path):
        bad = "has a '.' or '..' part"
    elif _BAD_CHAR.search(path):
        bad = "holds a backslash or a control character"
    if bad:
        raise TufFormatError(f"target name {ascii(path[:200])} {bad}: a client saving it "
                             "under its name would write outside its folder; the repository "
                             "must not list it")

"""A targets file's `targets` map, checked in one pass and built lazily.

A targets file can list 100,000 entries. Building a TargetFile object for each is most of the
cost of reading one, yet verification uses only their count and the entries it downloads or
checks. So every entry is CHECKED when the file is read (target name, length, hashes: the same
rules as TargetFile.from_dict and check_target_path, in bulk where that is exactly equivalent),
and its TargetFile is BUILT when first asked for. Nothing unchecked is ever handed out.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from itertools import chain
from operator import itemgetter
from typing import Any

from ceremony.tuf.errors import TufError
from ceremony.tuf.files import check_target_path

_HEX_BYTES = b"0123456789abcdefABCDEF"
_PRINTABLE_ASCII = bytes(range(0x20, 0x7F))
_LENGTH, _HASHES = itemgetter("length"), itemgetter("hashes")


def _all_common_and_valid(raw: dict[str, Any]) -> bool:
    """Whether every entry has the common shape {length, hashes} with valid values and a
    safe name, decided by C-level passes over all entries (map, set) rather than Python
    steps per entry. False means: look entry by entry (which names the bad one, or accepts
    an entry with extra fields)."""
    values = list(raw.values())
    if set(map(type, values)) != {dict} or set(map(len, values)) != {2}:
        return False
    try:
        lengths = list(map(_LENGTH, values))
        hashes = list(map(_HASHES, values))
    except KeyError:
        return False
    # type() is int exactly: a bool is not a length
    if set(map(type, lengths)) != {int} or min(lengths) < 0:
        return False
    if set(map(type, hashes)) != {dict} or not all(hashes):
        return False
    digests = list(chain.from_iterable(map(dict.values, hashes)))
    # Every digest a non-empty string of hex digits (check_hashes' rule, for all at once).
    if not all(digests):
        return False
    try:
        if "".join(digests).encode("ascii").translate(None, _HEX_BYTES):
            return False
    except (TypeError, UnicodeEncodeError):
        return False
    # check_target_path's common case for every name at once: joined by "/" after a leading
    # "/", an empty name or one starting with "/" shows as "//" (or a trailing "/"), one
    # starting with "." or holding "/." as "/."; backslashes and control characters stay.
    try:
        joined = "/" + "/".join(raw)
    except TypeError:
        return False
    if "/." in joined or "//" in joined or joined.endswith("/") or "\\" in joined:
        return False
    if joined.isascii():  # isprintable's rule for ASCII, by a bytes pass several times faster
        return not joined.encode("ascii").translate(None, _PRINTABLE_ASCII)
    return joined.isprintable()


class TargetMap(MutableMapping[str, Any]):
    """dict[str, TargetFile] over the parsed entries; `raw()` gives them back for writing
    (an entry asked for or set since is written from its TargetFile, so changes are kept)."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self._raw = raw
        self._built: dict[str, Any] = {}

    @classmethod
    def read(cls, raw: dict[str, Any]) -> TargetMap:
        """Check every entry (TufFormatError located at `targets.<name>` for a bad one)."""
        from ceremony.tuf.targets import TargetFile
        if not _all_common_and_valid(raw):
            for path, value in raw.items():
                try:
                    check_target_path(path)
                    TargetFile.from_dict(value)
                except TufError as exc:
                    raise exc.located(prefix=f"targets.{path}") from None
        return cls(dict(raw))

    def __getitem__(self, path: str) -> Any:
        built = self._built.get(path)
        if built is None:
            from ceremony.tuf.targets import TargetFile
            built = self._built[path] = TargetFile.from_dict(self._raw[path])
        return built

    def __setitem__(self, path: str, value: Any) -> None:
        self._raw[path] = None  # keeps the key's place; written from _built
        self._built[path] = value

    def __delitem__(self, path: str) -> None:
        del self._raw[path]
        self._built.pop(path, None)

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)

    def __contains__(self, path: object) -> bool:
        return path in self._raw

    def __repr__(self) -> str:
        return f"TargetMap({len(self._raw)} entries)"

    def raw(self) -> dict[str, Any]:
        out = dict(self._raw)
        for path, target in self._built.items():
            out[path] = target.to_dict()
        return out

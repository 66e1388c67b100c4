"""A targets file's `targets` map, checked in one pass and built lazily.

A targets file can list 100,000 entries. Building a TargetFile object for each is most of the
cost of reading one, yet verification uses only their count and the entries it downloads or
checks. So every entry is CHECKED when the file is read (target name, length, hashes: the same
rules as TargetFile.from_dict and check_target_path, in bulk where that is exactly equivalent),
and its TargetFile is BUILT when first asked for. Nothing unchecked is ever handed out.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass, field
from itertools import chain
from operator import itemgetter
from typing import Any

from ceremony.tuf import fields as f
from ceremony.tuf.errors import TufError
from ceremony.tuf.files import check_target_path

_HEX_BYTES = b"0123456789abcdefABCDEF"
_ALGORITHM = re.compile(r"[A-Za-z0-9_.-]+")
_PRINTABLE_ASCII = bytes(range(0x20, 0x7F))
_PART_START = re.compile(r"/[./]")  # "/." or "//": one regex pass, twice as fast as two `in`
_LENGTH, _HASHES = itemgetter("length"), itemgetter("hashes")


@dataclass
class _Columns:
    """The entries of a map that passed _common_and_valid, column by column (read order)."""

    names: list[str]
    lengths: list[int]
    algorithms: list[str] | None  # the same for every entry (sorted), else None
    digests: list[list[str]]  # one column per algorithm (when `algorithms`)
    source: dict[str, Any]  # the parsed map they were read from
    quoted: bool  # whether a name holds a `"` (canonical JSON escapes it)


def _common_and_valid(raw: dict[str, Any]) -> _Columns | None:
    """Whether every entry has the common shape {length, hashes} with valid values and a
    safe name, decided by C-level passes over all entries (map, set) rather than Python
    steps per entry; its columns if so. None means: look entry by entry (which names the bad
    one, or accepts an entry with extra fields)."""
    values = list(raw.values())
    if set(map(type, values)) != {dict} or set(map(len, values)) != {2}:
        return None
    try:
        lengths = list(map(_LENGTH, values))
        hashes = list(map(_HASHES, values))
    except KeyError:
        return None
    # type() is int exactly: a bool is not a length
    if set(map(type, lengths)) != {int} or min(lengths) < 0:
        return None
    if set(map(type, hashes)) != {dict} or not all(hashes):
        return None
    algorithms: list[str] | None = sorted(hashes[0], key=str)
    columns: list[list[Any]] = []
    if set(map(len, hashes)) == {len(algorithms)}:
        try:  # as many hashes everywhere and each of these present: the same algorithms
            columns = [list(map(itemgetter(a), hashes)) for a in algorithms]
        except KeyError:
            algorithms = None
    else:
        algorithms = None
    digests = columns if algorithms is not None else \
        [list(chain.from_iterable(map(dict.values, hashes)))]
    # Every digest a non-empty string of hex digits (check_hashes' rule, for all at once).
    if not all(map(all, digests)):
        return None
    try:
        if "".join(chain.from_iterable(digests)).encode("ascii").translate(None, _HEX_BYTES):
            return None
    except (TypeError, UnicodeEncodeError):
        return None
    # check_target_path's common case for every name at once: joined by "/" after a leading
    # "/", an empty name or one starting with "/" shows as "//" (or a trailing "/"), one
    # starting with "." or holding "/." as "/."; backslashes and control characters stay.
    names = list(raw)
    try:
        joined = "/" + "/".join(names)
    except TypeError:
        return None
    if _PART_START.search(joined) or joined.endswith("/") or "\\" in joined:
        return None
    if joined.isascii():  # isprintable's rule for ASCII, by a bytes pass several times faster
        if joined.encode("ascii").translate(None, _PRINTABLE_ASCII):
            return None
    elif not joined.isprintable():
        return None
    return _Columns(names, lengths, algorithms, columns, raw, '"' in joined)


@dataclass
class TargetFile:
    """A target: its length and hashes (`custom` and anything else kept as found)."""

    length: int
    hashes: dict[str, str]
    unrecognized: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Any) -> TargetFile:
        length = f.mapping(data).get("length")
        if len(data) == 2 and type(length) is int and length >= 0 and "hashes" in data:
            return cls(length, f.check_hashes(data["hashes"]), {})  # the common shape
        rest = dict(data)
        length = f.take_int(rest, "length", 0)
        hashes = f.check_hashes(f.take(rest, "hashes"))
        return cls(length, hashes, rest)

    def to_dict(self) -> dict[str, Any]:
        return {"length": self.length, "hashes": self.hashes, **self.unrecognized}


class TargetMap(MutableMapping[str, Any]):
    """dict[str, TargetFile] over the parsed entries; `raw()` gives them back for writing
    (an entry asked for or set since is written from its TargetFile, so changes are kept)."""

    def __init__(self, raw: dict[str, Any], columns: _Columns | None = None) -> None:
        self._raw = raw
        self._built: dict[str, Any] = {}
        self._columns = columns  # every entry passed _common_and_valid

    @classmethod
    def read(cls, raw: dict[str, Any]) -> TargetMap:
        """Check every entry (TufFormatError located at `targets.<name>` for a bad one)."""
        columns = _common_and_valid(raw)
        if columns is None:
            for path, value in raw.items():
                try:
                    check_target_path(path)
                    TargetFile.from_dict(value)
                except TufError as exc:
                    raise exc.located(prefix=f"targets.{path}") from None
        return cls(dict(raw), columns)

    def __getitem__(self, path: str) -> Any:
        built = self._built.get(path)
        if built is None:
                built = self._built[path] = TargetFile.from_dict(self._raw[path])
        return built

    def __setitem__(self, path: str, value: Any) -> None:
        self._columns = None  # the columns of the entries as read no longer describe the map
        self._raw[path] = None  # keeps the key's place; written from _built
        self._built[path] = value

    def __delitem__(self, path: str) -> None:
        self._columns = None
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

    def canonical_pieces(self) -> list[str] | None:
        """Pieces whose concatenation is the canonical JSON of the map as read, written by a
        C-level map over its columns (the caller joins them once with the rest of `signed`),
        not by the general encoder: only when
        every entry has the common shape (checked when read), all with the same hash
        algorithms, and no name needs an escape (canonical JSON escapes only `"` and `\\`;
        names with a backslash or a control character never pass the check). None otherwise,
        or once an entry was asked for or changed: then the general encoder writes it."""
        columns = self._columns
        if columns is None or self._built or not columns.names or columns.algorithms is None \
                or len(columns.names) != len(self._raw):
            return None
        names, lengths, digests = columns.names, columns.lengths, columns.digests
        ordered = sorted(names)
        if ordered != names:  # python-tuf writes sorted keys; others are put in order here
            order = sorted(range(len(names)), key=names.__getitem__)
            names = ordered
            lengths = list(map(lengths.__getitem__, order))
            digests = [list(map(column.__getitem__, order)) for column in digests]
        algorithms = columns.algorithms
        if columns.quoted or not all(
                type(a) is str and _ALGORITHM.fullmatch(a) for a in algorithms):
            return None
        # One entry per %-format, by a C-level map over the columns, joined once:
        # '"NAME":{"hashes":{"ALG":"DIGEST",...},"length":LENGTH}'. Names are %s arguments,
        # never part of the format; algorithms hold no `%` (_ALGORITHM); %d of an int (a
        # length's type is exactly int) is its str.
        entry = ('"%s":{"hashes":{' + ",".join('"' + a + '":"%s"' for a in algorithms) +
                 '},"length":%d}').__mod__
        return ["{", ",".join(map(entry, zip(names, *digests, lengths, strict=True))), "}"]

    def integers_as_read(self) -> tuple[dict[str, Any], list[int]] | None:
        """(the parsed map this one was read from, the lengths of its entries) when every
        entry had the common shape {length, hashes} with string digests (_common_and_valid),
        so that these lengths are every integer that map holds; None otherwise, or once the
        map was changed."""
        columns = self._columns
        if columns is None or len(columns.names) != len(self._raw):
            return None
        return columns.source, columns.lengths

"""The review shown before anything is signed: old -> new, who must sign, the digest.

Completeness is by construction, not by hand-picking: the changes are a field-by-field diff of
the old and new signed parts *as the data model serialises them* (`to_dict()`, whose canonical
encoding is exactly the bytes signed), so any field that differs in the bytes appears. On top,
key objects are shown as people need them -- key type, both IDs (cert key ID and canonical key
ID), certificate CN and validity, and where the key lives (token label, serial, key label) --
instead of their base64. A key object's ID is the SHA-256 of the object, so showing the ID
shows any change of the object.

Each file ends with the SHA-256 of the exact bytes to be signed, as hex and as words; the whole
ceremony gets one digest over every (GUN, role, version, file digest), also as hex and words.
"""

from __future__ import annotations

import hashlib
import json
import re
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ceremony.ceremonies.signing import FileToSign, SignerSet
from ceremony.errors import MetadataError
from ceremony.metadata.certs import common_name
from ceremony.metadata.keys import Key
from ceremony.metadata.model import ROOT, AnySigned, Root, Targets
from groundfloor.words import digest_words
from transfer.escaping import shown

# (key ID, key) -> where it lives, e.g. "token 'root-a' (serial 1a2b), key 'root'"
WhereIs = Callable[[str, Key], str]


@dataclass(frozen=True)
class Change:
    path: str
    kind: str  # "+" added, "-" removed, "~" changed
    old: Any = None
    new: Any = None


def _is_key_object(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"keytype", "keyval"}


def _is_leaf(value: Any) -> bool:
    return not isinstance(value, dict) or _is_key_object(value) or "hashes" in value


def diff(old: Any, new: Any, path: str = "") -> list[Change]:
    """Every difference between two JSON-like trees, as leaf changes.

    Objects are compared key by key (a whole new or removed sub-object is listed leaf by leaf);
    key objects and file metadata are leaves; arrays are leaves, except arrays of named objects
    (delegation roles), compared by name.
    """
    if old == new:
        return []
    if isinstance(old, dict) and isinstance(new, dict) and not (_is_leaf(old) and _is_leaf(new)):
        out: list[Change] = []
        for key in sorted(set(old) | set(new)):
            sub = f"{path}.{key}" if path else key
            if key not in old:
                out += _whole(new[key], sub, "+")
            elif key not in new:
                out += _whole(old[key], sub, "-")
            else:
                out += diff(old[key], new[key], sub)
        return out
    if _named_list(old) and _named_list(new):
        before = {item["name"]: item for item in old}
        after = {item["name"]: item for item in new}
        out = []
        for name in sorted(set(before) | set(after)):
            sub = f"{path}[{name}]"
            if name not in before:
                out += _whole(after[name], sub, "+")
            elif name not in after:
                out += _whole(before[name], sub, "-")
            else:
                out += diff(before[name], after[name], sub)
        if [i["name"] for i in old] != [i["name"] for i in new] and set(before) == set(after):
            out.append(Change(f"{path} order", "~", [i["name"] for i in old],
                              [i["name"] for i in new]))
        return out
    return [Change(path, "~", old, new)]


def _named_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(i, dict) and isinstance(i.get("name"), str)
                                           for i in value) and \
        len({i["name"] for i in value}) == len(value)


def _whole(value: Any, path: str, kind: str) -> list[Change]:
    if isinstance(value, dict) and not _is_leaf(value) and value:
        out = []
        for key in sorted(value):
            out += _whole(value[key], f"{path}.{key}", kind)
        return out
    if isinstance(value, list) and _named_list(value) and value:
        out = []
        for item in value:
            out += _whole(item, f"{path}[{item['name']}]", kind)
        return out
    return [Change(path, kind, value if kind == "-" else None, value if kind == "+" else None)]


def describe_key(key_id: str, key: Key, where: WhereIs | None = None) -> str:
    """A key as a person checks it: type, both IDs, certificate, and where it lives."""
    parts = [f"{key.keytype} key"]
    try:
        if key.is_certificate:
            parts.append(f"cert key ID {key_id}, canonical key ID {key.canonical_key_id}")
            leaf = key.certificates[0]
            parts.append(f"certificate CN={shown(common_name(leaf))} valid "
                         f"{leaf.not_valid_before_utc:%Y-%m-%d} .. "
                         f"{leaf.not_valid_after_utc:%Y-%m-%d}")
        else:
            parts.append(f"key ID {key_id} (= canonical key ID)")
    except MetadataError as exc:
        parts.append(f"key ID {key_id} (UNREADABLE: {exc})")
    if key.key_id != key_id:
        parts.append(f"WARNING: listed under {key_id} but its real ID is {key.key_id}")
    if where is not None:
        parts.append(shown(where(key_id, key)))
    return "; ".join(parts)


def _render(value: Any, where: WhereIs | None, path: str,
            described: frozenset[str] = frozenset()) -> str:
    if _is_key_object(value):
        key_id = path.rsplit(".", 1)[-1]
        try:
            key = Key.from_dict(value)
        except MetadataError as exc:
            return f"unreadable key object ({exc})"
        if key_id in described and key.key_id == key_id:  # once per key: the summary has it all
            return f"{key.keytype} key {key_id} (described above)"
        return describe_key(key_id, key, where)
    if isinstance(value, dict) and "hashes" in value:
        hashes = ", ".join(f"{alg} {h}" for alg, h in sorted(value["hashes"].items()))
        custom = f", custom {json.dumps(value['custom'], sort_keys=True)}" \
            if "custom" in value else ""
        return f"length {value['length']}, {hashes}{custom}"
    if isinstance(value, list):
        return "[" + ", ".join(_render(v, where, path) for v in value) + "]"
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def render_changes(changes: Sequence[Change], where: WhereIs | None = None,
                   described: frozenset[str] = frozenset()) -> list[str]:
    """One line per change. A key added that the summary above describes (`described`) is named
    by type and ID only, so each key is described once; a removed key is described whole."""
    lines = []
    for c in changes:
        if c.kind == "+":
            lines.append(f"+ {shown(c.path)}: {_render(c.new, where, c.path, described)}")
        elif c.kind == "-":
            lines.append(f"- {shown(c.path)}: {_render(c.old, where, c.path)}")
        else:
            lines.append(f"~ {shown(c.path)}: {_render(c.old, where, c.path)} -> "
                         f"{_render(c.new, where, c.path, described)}")
    return lines


def summarised_keys(signed: AnySigned) -> frozenset[str]:
    """The key IDs `_summary` describes in full (those listed by a role or delegation)."""
    if isinstance(signed, Root):
        return frozenset(kid for r in signed.roles.values() for kid in r.keyids
                         if kid in signed.keys)
    if isinstance(signed, Targets):
        return frozenset(kid for r in signed.delegations.roles for kid in r.keyids
                         if kid in signed.delegations.keys)
    return frozenset()


def _summary(signed: AnySigned, where: WhereIs | None) -> list[str]:
    """What the file says once signed: roles, thresholds, keys, delegations and paths."""
    lines = [f"version {signed.version}, expires {signed.expires}"]
    if isinstance(signed, Root):
        for role in ("root", "targets", "snapshot", "timestamp"):
            r = signed.roles[role]
            lines.append(f"{role}: threshold {r.threshold} of {len(r.keyids)} key(s)")
            lines += [f"    {describe_key(kid, signed.keys[kid], where)}" for kid in r.keyids]
    elif isinstance(signed, Targets):
        lines.append(f"targets listed: {len(signed.targets)}")
        if not signed.delegations.roles:
            lines.append("delegations: none")
        for role in signed.delegations.roles:
            paths = ", ".join(json.dumps(p) for p in role.paths) if role.paths else "none"
            every = " (all paths)" if "" in role.paths else ""
            lines.append(f"delegation {role.name}: threshold {role.threshold} of "
                         f"{len(role.keyids)} key(s), paths [{paths}]{every}")
            lines += [f"    {describe_key(kid, signed.delegations.keys[kid], where)}"
                      for kid in role.keyids if kid in signed.delegations.keys]
    else:
        for name, meta in sorted(getattr(signed, "meta", {}).items()):
            lines.append(f"{name}: {_render(meta.to_dict(), None, name)}")
    return lines


def ceremony_digest(files: Sequence[FileToSign]) -> bytes:
    """One digest over every file of the ceremony: SHA-256 of the canonical JSON list of
    [gun, role, version, sha256 of the bytes to sign]."""
    items = [[f.gun, f.role, f.version, f.digest] for f in files]
    return hashlib.sha256(json.dumps(items, separators=(",", ":")).encode()).digest()


@dataclass(frozen=True)
class FileFacts:
    """One file of a GUN's review block: what the per-repository table shows."""

    role: str
    old_version: int | None  # None: a new file
    version: int
    digest: str  # hex SHA-256 of the bytes to sign

    @property
    def consecutive(self) -> bool:
        return self.old_version is not None and self.version == self.old_version + 1

    @property
    def header(self) -> str:
        """The file's header line in the review block."""
        return (f"--- {self.role}.json: NEW, version {self.version}" if self.old_version is None
                else f"--- {self.role}.json: version {self.old_version} -> {self.version}")

    @property
    def digest_lines(self) -> list[str]:
        return [f"{_DIGEST_PREFIX}{self.digest}",
                f"{_WORDS_PREFIX}{digest_words(bytes.fromhex(self.digest))}"]


@dataclass(frozen=True)
class GunBlock:
    """One GUN's block of the review, exactly as in the text (from its `=== GUN ===` line)."""

    gun: str
    lines: tuple[str, ...]
    files: tuple[FileFacts, ...]


@dataclass
class Review:
    text: str
    files: list[dict[str, Any]]
    digest: bytes  # the ceremony digest (over the files), not of the text
    head: list[str] = field(default_factory=list)  # title and header lines
    blocks: list[GunBlock] = field(default_factory=list)
    tail: list[str] = field(default_factory=list)  # blank line, ceremony digest and words

    @property
    def text_sha256(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()


_DIGEST_PREFIX = "  sha256 of the bytes to sign: "
_WORDS_PREFIX = "  words: "


def review_files(title: str, files: Sequence[FileToSign],
                 old: Mapping[tuple[str, str], AnySigned | None], signers: SignerSet,
                 where: WhereIs | None = None, notes: Mapping[str, Sequence[str]] | None = None,
                 header: Sequence[str] = ()) -> Review:
    """The review of `files` (old[(gun, role)] is the current signed part, or None if new)."""
    head = [title, *header]
    by_gun: dict[str, list[FileToSign]] = {}
    for f in files:
        by_gun.setdefault(f.gun, []).append(f)
    summary = []
    blocks = []
    for gun, gun_files in by_gun.items():
        lines = [f"=== {gun} ==="]
        lines += [f"  note: {n}" for n in (notes or {}).get(gun, [])]
        facts = []
        for f in gun_files:
            before = old.get((gun, f.role))
            fact = FileFacts(f.role, before.version if before is not None else None, f.version,
                             f.digest)
            facts.append(fact)
            lines.append(fact.header)
            lines += [f"  {line}" for line in _summary(f.signed, where)]
            changes = diff(before.to_dict() if before is not None else {}, f.signed.to_dict())
            lines.append(f"  changes ({len(changes)}, old -> new):")
            lines += [f"    {line}" for line in render_changes(changes, where,
                                                                 summarised_keys(f.signed))]
            lines.append("  signatures required:")
            done = f.signed_identities() if f.signatures else set()  # co-signing
            for t in f.thresholds:
                lines.append(f"    {t.name}: {t.threshold} of {len(t.keys)}")
                for kid, key in sorted(t.keys.items()):
                    entry = signers.find(key)
                    state = ("SIGNED already (a valid signature is in the file)"
                             if key.identity in done else
                             f"WILL SIGN: token '{entry.token_label}' (serial "
                             f"{entry.token_serial}), key '{entry.key_label}'"
                             if entry is not None else "no token given to this command holds it")
                    lines.append(f"      {kid}: {state}")
            lines += fact.digest_lines
            summary.append({"gun": gun, "role": f.role, "version": f.version,
                            "signed_sha256": f.digest, "changes": len(changes)})
        blocks.append(GunBlock(gun, tuple(lines), tuple(facts)))
    digest = ceremony_digest(files)
    tail = ["", f"ceremony digest ({len(files)} file(s) to sign): {digest.hex()}",
            f"ceremony words: {digest_words(digest)}"]
    text_lines = list(head)
    for block in blocks:
        text_lines += ["", *block.lines]
    text_lines += tail
    return Review("\n".join(text_lines), summary, digest, head, blocks, tail)


# -- the condensed display of a bulk review ------------------------------------------------------
#
# Over more than BULK_REVIEW_THRESHOLD repositories the screen shows each set of identical blocks
# once. A block is normalised: its GUN -> `<GUN>`; for a file whose version goes from A to A+1,
# its header `version A -> A+1`, its summary `version A+1, ...` and its change
# `~ version: A -> A+1` -> `version +1` (`~ version: +1`), and (when that file is root)
# `root vA` / `root vA+1` / `change to vA+1` -> `root v(N)` / `root v(N+1)` / `change to v(N+1)`;
# the lines with the SHA-256 and the words of the bytes to sign are taken out (the
# per-repository table shows them); each 64-hex value becomes an ordinal placeholder (by first
# appearance), and lines the review lists sorted by key ID are put in one order. Blocks whose
# normalised lines are equal form a group; in the group's block a value that is the same for
# every member is put back literally, one that differs is shown as
# `<per-repository key ID #k>`. Before a block joins a group, the group's display is checked to
# give back that block exactly once its own GUN, versions, digests and per-repository values are
# put in; a block for which it does not (e.g. its text happens to contain a placeholder) is shown
# on its own, literally, as is a block that is like no other. So the screen hides no difference:
# what is not in a group's block is in the table or in the full review file.

BULK_REVIEW_THRESHOLD = 3  # more repositories than this: the condensed display on screen
SCREEN_WIDTH = 100  # where the lists of GUNs are wrapped

_HEX64 = re.compile(r"(?<![0-9A-Fa-f])[0-9a-f]{64}(?![0-9A-Fa-f])")
# Lines the review lists sorted by key ID: changes of a `keys` object, and the keys under a
# threshold. Their order follows from the IDs alone, so a group shows them in one order.
_SORTED_ENTRY = re.compile(r" {4}[+~-] ((?:\S+\.)?keys\.)([0-9a-f]{64}):| {6}()([0-9a-f]{64}): ")
_ROOT_VERSION = re.compile(r"\b(root |change to )v(\d+)\b")
_GUN = "<GUN>"
_PLUS_ONE = "version +1"
_VERSION_CHANGE = "    ~ version: +1"
_OLD_ROOT, _NEW_ROOT = "v(N)", "v(N+1)"


def _sorted_runs(lines: Sequence[str]) -> list[tuple[int, int]]:
    """[start, end) of each run of two or more consecutive lines listed by key ID."""
    runs = []
    i = 0
    while i < len(lines):
        m = _SORTED_ENTRY.match(lines[i])
        j = i + 1
        if m is not None:
            level = m.group(1) if m.group(1) is not None else m.group(3)
            while j < len(lines) and (n := _SORTED_ENTRY.match(lines[j])) is not None and \
                    (n.group(1) if n.group(1) is not None else n.group(3)) == level:
                j += 1
            if j - i > 1:
                runs.append((i, j))
        i = j
    return runs


def _by_key_id(line: str) -> str:
    m = _SORTED_ENTRY.match(line)
    assert m is not None
    return m.group(2) or m.group(4)


def _ordinal(k: int) -> str:
    return f"<key ID #{k}>"


@dataclass(frozen=True)
class _Normal:
    lines: tuple[str, ...]  # the grouping key
    values: tuple[str, ...]  # the 64-hex value of ordinal k + 1


def _root_of(files: Sequence[FileFacts]) -> FileFacts | None:
    return next((f for f in files if f.role == ROOT and f.consecutive), None)


def _normalise(block: GunBlock) -> _Normal | None:
    """The block's normalised lines and 64-hex values, or None if its digest lines are not
    exactly where the file facts put them (then it is shown literally)."""
    kept: list[str] = []
    removed: list[str] = []
    for line in block.lines:
        (removed if line.startswith((_DIGEST_PREFIX, _WORDS_PREFIX)) else kept).append(line)
    if removed != [line for f in block.files for line in f.digest_lines]:
        return None
    headers = {f.header: f for f in block.files}
    root = _root_of(block.files)

    def root_version(m: re.Match[str]) -> str:
        assert root is not None
        n = int(m.group(2))
        return (m.group(1) + _OLD_ROOT if n == root.old_version else
                m.group(1) + _NEW_ROOT if n == root.version else m.group(0))

    current: FileFacts | None = None
    out: list[str] = []
    for line in kept:
        if line in headers:
            current = headers[line]
            if current.consecutive:
                line = f"--- {current.role}.json: {_PLUS_ONE}"
        elif current is not None and current.consecutive:
            if line.startswith(f"  version {current.version}, "):
                line = f"  {_PLUS_ONE}, " + line[len(f"  version {current.version}, "):]
            elif line == f"    ~ version: {current.old_version} -> {current.version}":
                line = _VERSION_CHANGE
        if root is not None:
            line = _ROOT_VERSION.sub(root_version, line)
        out.append(line.replace(block.gun, _GUN))
    values: dict[str, int] = {}

    def ordinal(m: re.Match[str]) -> str:
        return _ordinal(values.setdefault(m.group(0), len(values) + 1))

    lines = [_HEX64.sub(ordinal, line) for line in out]
    for start, end in _sorted_runs(kept):  # one order for the group: by placeholder
        lines[start:end] = sorted(lines[start:end])
    return _Normal(tuple(lines), tuple(values))


def _denormalise(lines: Sequence[str], block: GunBlock, per_repository: Mapping[str, str]) -> \
        list[str]:
    """What a group's displayed lines say for one member: its per-repository values, versions
    and GUN put in, entries listed by key ID in that order (the inverse of `_normalise`,
    without the digest lines)."""
    root = _root_of(block.files)
    by_header = {f"--- {f.role}.json: {_PLUS_ONE}": f for f in block.files if f.consecutive}
    literal = {f.header: f for f in block.files}
    current: FileFacts | None = None
    out = []
    for line in lines:
        for placeholder, value in per_repository.items():
            line = line.replace(placeholder, value)
        line = line.replace(_GUN, block.gun)
        if root is not None:
            line = line.replace(_NEW_ROOT, f"v{root.version}").replace(
                _OLD_ROOT, f"v{root.old_version}")
        if line in by_header:
            current = by_header[line]
            line = current.header
        elif line in literal:
            current = literal[line]
        elif current is not None and current.consecutive:
            if line.startswith(f"  {_PLUS_ONE}, "):
                line = f"  version {current.version}, " + line[len(f"  {_PLUS_ONE}, "):]
            elif line == _VERSION_CHANGE:
                line = f"    ~ version: {current.old_version} -> {current.version}"
        out.append(line)
    for start, end in _sorted_runs(out):  # the review's order: by key ID
        out[start:end] = sorted(out[start:end], key=_by_key_id)
    return out


@dataclass(frozen=True)
class Group:
    """Repositories shown with one block. `per_repository` maps each placeholder shown in
    `lines` to its value for each member, in `guns` order. `literal`: one repository whose
    block is shown exactly as in the full review (a block like no other, or one that does not
    normalise back to itself)."""

    guns: tuple[str, ...]
    lines: tuple[str, ...]
    per_repository: Mapping[str, tuple[str, ...]]
    literal: bool = False


def _display(key: Sequence[str], members: Sequence[tuple[GunBlock, _Normal]]) -> Group:
    shown = []
    per_repository: dict[str, tuple[str, ...]] = {}
    substitute: dict[str, str] = {}
    for k in range(len(members[0][1].values)):
        values = tuple(n.values[k] for _, n in members)
        if len(set(values)) == 1:
            substitute[_ordinal(k + 1)] = values[0]
        else:
            first = next(line for line in key if _ordinal(k + 1) in line)
            before = first[:first.index(_ordinal(k + 1))]
            what = "sha256" if before.endswith("sha256 ") else "key ID"
            label = f"<per-repository {what} #{len(per_repository) + 1}>"
            substitute[_ordinal(k + 1)] = label
            per_repository[label] = values
    pattern = re.compile(r"<key ID #\d+>")
    for line in key:
        shown.append(pattern.sub(lambda m: substitute.get(m.group(0), m.group(0)), line))
    return Group(tuple(b.gun for b, _ in members), tuple(shown), per_repository)


def group_blocks(blocks: Sequence[GunBlock]) -> list[Group]:
    """The blocks grouped as the condensed display shows them, in the order of their first
    member. Any difference that normalisation does not account for yields separate groups."""
    keyed: dict[tuple[str, ...], list[tuple[GunBlock, _Normal]]] = {}
    order: list[tuple[str, ...] | GunBlock] = []
    for block in blocks:
        normal = _normalise(block)
        if normal is None:
            order.append(block)
            continue
        if normal.lines not in keyed:
            keyed[normal.lines] = []
            order.append(normal.lines)
        keyed[normal.lines].append((block, normal))
    groups: list[Group] = []
    for item in order:
        if isinstance(item, GunBlock):
            groups.append(Group((item.gun,), item.lines, {}, literal=True))
            continue
        members = keyed[item]
        while members:
            group = _display(item, members)
            wrong = [(b, n) for i, (b, n) in enumerate(members)
                     if _denormalise(group.lines, b, {p: v[i] for p, v in
                                                      group.per_repository.items()})
                     != [line for line in b.lines
                         if not line.startswith((_DIGEST_PREFIX, _WORDS_PREFIX))]]
            if not wrong:
                groups.append(group if len(members) > 1 else
                              Group(group.guns, members[0][0].lines, {}, literal=True))
                break
            groups += [Group((b.gun,), b.lines, {}, literal=True) for b, _ in wrong]
            members = [m for m in members if m not in wrong]
    return groups


def _wrapped(text: str, indent: str = "    ") -> list[str]:
    return textwrap.wrap(text, width=SCREEN_WIDTH, subsequent_indent=indent,
                         break_long_words=False, break_on_hyphens=False)


def condensed_text(review: Review, full_path: str) -> str:
    """The screen for a review over many repositories (see above); the full review is the
    file `full_path` (review.text, whose SHA-256 the transcript records)."""
    groups = group_blocks(review.blocks)
    n = len(review.blocks)
    lines = [*review.head, ""]
    lines += _wrapped(f"CONDENSED REVIEW: {n} repositories in {len(groups)} group(s); the "
                      "repositories of a group have the same block once the differences named "
                      "below are set aside. Any other difference makes another group.", "  ")
    lines += [f"  full review (every repository's block, as reviewed): {full_path}",
              f"  its sha256 (the transcript's text_sha256): {review.text_sha256}"]
    lines += _wrapped("  In a group's block: <GUN> is each repository of the group; "
                      f"'{_PLUS_ONE}' is the file's current version + 1, root {_OLD_ROOT} -> "
                      f"{_NEW_ROOT} the repository's current and new root version (both in the "
                      "table at the end); <per-repository key ID #k> is a value that differs "
                      "per repository (listed in the full review file); the sha256 and words of "
                      "each file's bytes to sign are in the table and in the full review file.",
                      "  ")
    for i, g in enumerate(groups, 1):
        count = f"{len(g.guns)} repositor{'y' if len(g.guns) == 1 else 'ies'}"
        lines.append("")
        lines += _wrapped(f"=== group {i} of {len(groups)}, {count}: {', '.join(g.guns)}")
        if g.literal:
            lines.append("    (shown exactly as in the full review)")
        if g.per_repository:
            lines += _wrapped(
                f"    {', '.join(g.per_repository)}: differ per repository, listed in the full "
                "review file (typically each repository's own root certificate, whose CN is its "
                "GUN, and its own server keys)")
        lines += g.lines
    width = min(max(len(b.gun) for b in review.blocks), 60) if review.blocks else 0
    lines += ["", "bytes to sign, per repository (sha256: first 16 hex digits; all 64 and the "
              "words in the full review file):"]
    for b in review.blocks:
        cells = "   ".join(f"{f.role} {'new' if f.old_version is None else f.old_version} -> "
                           f"{f.version} {f.digest[:16]}" for f in b.files)
        lines.append(f"  {b.gun.ljust(width)}  {cells}")
    lines += review.tail
    return "\n".join(lines)

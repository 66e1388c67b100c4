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
`Review` keeps the text's parts (head, one block per GUN, tail) for the condensed display of a
review over many repositories (bulkreview.py).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ceremony.errors import MetadataError
from ceremony.notary.ceremonies.signing import FileToSign, SignerSet
from ceremony.notary.format.certs import common_name
from ceremony.notary.format.keys import Key
from ceremony.notary.format.model import AnySigned, Root, Targets
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


# The two lines that end each file's part of a block (the condensed display sets them aside).
DIGEST_PREFIX = "  sha256 of the bytes to sign: "
WORDS_PREFIX = "  words: "


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
        return [f"{DIGEST_PREFIX}{self.digest}",
                f"{WORDS_PREFIX}{digest_words(bytes.fromhex(self.digest))}"]


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

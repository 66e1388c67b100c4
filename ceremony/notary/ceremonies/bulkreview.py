"""The condensed display of a review over many repositories: readable at any scale.

Over more than BULK_REVIEW_THRESHOLD repositories the screen shows each set of repositories
whose change is the same once: one group's block, its count and a few of its GUNs. Three files
carry the rest, nothing is hidden: the full review (every repository's block, as reviewed; its
SHA-256 is the transcript's `text_sha256`), the per-repository table (each repository's group,
versions, the SHA-256 of each file's bytes to sign, its per-repository values; its SHA-256 on
the screen and in the transcript, `table_sha256`), and the screen itself (`screen_sha256`).
The ceremony digest and words end the screen as they end the full review: what people confirm
is what is recorded.

Grouping. A block is normalised: its GUN -> `<GUN>`; for a file whose version goes from A to
A+1, its header `version A -> A+1`, its summary `version A+1, ...` and its change
`~ version: A -> A+1` -> `version +1` (`~ version: +1`), and (when that file is root)
`root vA` / `root vA+1` / `change to vA+1` -> `root v(N)` / `root v(N+1)` / `change to v(N+1)`;
the lines with the SHA-256 and the words of the bytes to sign are taken out (the table shows
them); each 64-hex value becomes an ordinal placeholder (by first appearance), and lines the
review lists sorted by key ID are put in one order. Blocks whose normalised lines are equal form
a group; in the group's block a value that is the same for every member is put back literally,
one that differs is shown as `<per-repository key ID #k>`. The same holds for the dates that
are each repository's own (a file's current expiry, a certificate's validity, a root
certificate's expiry in a note: `<per-repository date #k>`); the NEW expiry of a file is never
set aside, so repositories given different expiries are different groups. Before a block joins
a group, the group's display is checked to give back that block exactly once its own GUN,
versions, digests and per-repository values are put in; a block for which it does not (e.g. its
text happens to contain a placeholder) is shown on its own, literally, as is a block that is
like no other. So any other difference -- another key, threshold, new expiry, delegation, a note
or warning (an expiry shortened) -- makes another group, and a repository unlike the others is
shown by name, whole. The versions each group's files go from and to are counted on the screen
(a repository at an unusual version is named there).
"""

from __future__ import annotations

import hashlib
import re
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ceremony.notary.ceremonies.review import (
    DIGEST_PREFIX,
    WORDS_PREFIX,
    FileFacts,
    GunBlock,
    Review,
)
from ceremony.notary.format.model import ROOT
from ceremony.secrets import check_no_secret
from groundfloor.files import atomic_write

BULK_REVIEW_THRESHOLD = 3  # more repositories than this: the condensed display on screen
SCREEN_WIDTH = 100  # where long lines of the condensed display are wrapped
EXAMPLES = 3  # GUNs named in a group's heading (all of them when a group has at most 5)
VERSION_PAIRS = 4  # version changes listed per file of a group (the rest: in the table)

_HEX64 = re.compile(r"(?<![0-9A-Fa-f])[0-9a-f]{64}(?![0-9A-Fa-f])")
# Dates that are each repository's own, by where they stand: a file's CURRENT expiry (the old
# side of `~ expires`), a certificate's validity, a root certificate's expiry in a note. The new
# expiry (the summary line, the new side of `~ expires`) is never one: another makes a group.
_DATE = r"\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2}))?"
_OWN_DATES = (re.compile(rf'^(    ~ expires: ")({_DATE})(" -> )'),
              re.compile(rf"(certificate CN=.* valid )({_DATE})( \.\. )"),
              re.compile(rf"(certificate CN=.* valid <key ID #\d+> \.\. )({_DATE})()"),
              re.compile(rf"(root certificate <key ID #\d+> expires )({_DATE})(, before )"))
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
        (removed if line.startswith((DIGEST_PREFIX, WORDS_PREFIX)) else kept).append(line)
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
        if root is not None and ("root v" in line or "change to v" in line):
            line = _ROOT_VERSION.sub(root_version, line)  # the guard: what the pattern needs
        out.append(line.replace(block.gun, _GUN))
    values: dict[str, int] = {}

    def ordinal(m: re.Match[str]) -> str:
        return _ordinal(values.setdefault(m.group(0), len(values) + 1))

    def own_date(m: re.Match[str]) -> str:
        return m.group(1) + _ordinal(values.setdefault(m.group(2), len(values) + 1)) + m.group(3)

    # The guards only skip lines no pattern can match (shorter than a 64-hex value; neither
    # "expires" nor " valid " in them): most lines of a block, searched once per repository.
    lines = [_HEX64.sub(ordinal, line) if len(line) >= 64 else line for line in out]
    for i, line in enumerate(lines):  # after the key IDs: the note's pattern names one
        if "expires" not in line and " valid " not in line:
            continue
        for pattern in _OWN_DATES:
            line = pattern.sub(own_date, line, count=1)
        lines[i] = line
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
            what = "sha256" if before.endswith("sha256 ") else \
                "key ID" if _HEX64.fullmatch(values[0]) else "date"
            same_kind = sum(1 for p in per_repository if p.startswith(f"<per-repository {what} #"))
            label = f"<per-repository {what} #{same_kind + 1}>"
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
                         if not line.startswith((DIGEST_PREFIX, WORDS_PREFIX))]]
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


def _count(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


def _named(guns: Sequence[str]) -> str:
    """A few GUNs of a list, all of them when it is short."""
    if len(guns) <= EXAMPLES + 2:
        return ", ".join(guns)
    return f"e.g. {', '.join(guns[:EXAMPLES])} and {len(guns) - EXAMPLES:,} more"


def _version(v: int | None) -> str:
    return "new" if v is None else str(v)


def version_lines(group: Group, facts: Mapping[str, Sequence[FileFacts]]) -> list[str]:
    """Per file of the group: each (old -> new) version pair with how many repositories have
    it, the most common first; a pair of a few repositories names them."""
    pairs: dict[str, dict[tuple[int | None, int], list[str]]] = {}
    for gun in group.guns:
        for f in facts[gun]:
            pairs.setdefault(f.role, {}).setdefault((f.old_version, f.version), []).append(gun)
    out = []
    for role, by_pair in pairs.items():
        ranked = sorted(by_pair.items(), key=lambda item: -len(item[1]))
        cells = []
        for (old, new), guns in ranked[:VERSION_PAIRS]:
            who = _count(len(guns), "repository", "repositories") if len(guns) > EXAMPLES \
                else ", ".join(guns)
            cells.append(f"{_version(old)} -> {new} ({who})")
        if len(ranked) > VERSION_PAIRS:
            rest = sum(len(guns) for _, guns in ranked[VERSION_PAIRS:])
            cells.append(f"{len(ranked) - VERSION_PAIRS} other version pair(s) in "
                         f"{_count(rest, 'repository', 'repositories')} (see the table)")
        out += _wrapped(f"    versions, {role}.json: {'; '.join(cells)}", "      ")
    return out


@dataclass(frozen=True)
class BulkReview:
    """A review over many repositories, grouped: what the screen and the table show."""

    review: Review
    groups: tuple[Group, ...]

    @classmethod
    def of(cls, review: Review) -> BulkReview:
        return cls(review, tuple(group_blocks(review.blocks)))

    def table_text(self, full_name: str) -> str:
        """The per-repository table: a header, then one tab-separated line per repository
        (GUN, group, each file's versions and SHA-256 of the bytes to sign, per-repository
        values), in the review's order; the ceremony digest and words at the end."""
        facts = {b.gun: b.files for b in self.review.blocks}
        where: dict[str, tuple[int, Group, int]] = {}
        for i, g in enumerate(self.groups, 1):
            for j, gun in enumerate(g.guns):
                where[gun] = (i, g, j)
        lines = [f"PER-REPOSITORY TABLE of {self.review.head[0] if self.review.head else ''}",
                 f"full review: {full_name} (sha256 {self.review.text_sha256})",
                 "one line per repository, tab-separated: GUN, its group in the condensed "
                 "review, each file as ROLE OLD -> NEW SHA256-OF-THE-BYTES-TO-SIGN, then the "
                 "group's per-repository values as <placeholder>=VALUE", ""]
        for b in self.review.blocks:
            i, g, j = where[b.gun]
            cells = [b.gun, f"group {i}"]
            cells += [f"{f.role} {_version(f.old_version)} -> {f.version} {f.digest}"
                      for f in facts[b.gun]]
            cells += [f"{p}={values[j]}" for p, values in g.per_repository.items()]
            lines.append("\t".join(cells))
        return "\n".join([*lines, *self.review.tail]) + "\n"

    def screen(self, full_path: str, table_path: str, table_sha256: str) -> str:
        """What the operator reads: the head, each group once, the ceremony digest."""
        review, groups = self.review, self.groups
        facts = {b.gun: b.files for b in review.blocks}
        n = len(review.blocks)
        lines = [*review.head, ""]
        lines += _wrapped(f"CONDENSED REVIEW: {n:,} repositories in {len(groups)} group(s); the "
                          "repositories of a group have the same block once the differences "
                          "named below are set aside. Any other difference makes another "
                          "group.", "  ")
        lines += [f"  full review (every repository's block, as reviewed): {full_path}",
                  f"  its sha256 (the transcript's text_sha256): {review.text_sha256}",
                  f"  per-repository table (every repository, its group, versions, sha256 of "
                  f"the bytes to sign, per-repository values): {table_path}",
                  f"  its sha256 (the transcript's table_sha256): {table_sha256}"]
        lines += _wrapped("  In a group's block: <GUN> is each repository of the group; "
                          f"'{_PLUS_ONE}' is the file's current version + 1, root {_OLD_ROOT} -> "
                          f"{_NEW_ROOT} the repository's current and new root version (counted "
                          "under each group, each repository's in the table); <per-repository "
                          "key ID #k> and <per-repository date #k> are values that differ per "
                          "repository (its own keys; its files' current expiries and its "
                          "certificates' dates), in the table and the full review file; the "
                          "sha256 and words of each file's bytes to sign are in the table and "
                          "the full review file.", "  ")
        for i, g in enumerate(groups, 1):
            count = _count(len(g.guns), "repository", "repositories")
            lines.append("")
            lines += _wrapped(f"=== group {i} of {len(groups)}, {count}: {_named(g.guns)}")
            if g.literal:
                lines.append("    (shown exactly as in the full review)")
            else:
                lines += version_lines(g, facts)
            if g.per_repository:
                lines += _wrapped(
                    f"    {', '.join(g.per_repository)}: differ per repository, listed in the "
                    "table and the full review file (typically each repository's own root "
                    "certificate, whose CN is its GUN, its own server keys, its files' current "
                    "expiries)")
            lines += g.lines
        lines += review.tail
        return "\n".join(lines)


def write_bulk_review(review: Review, beside: Path, kind: str) -> tuple[str, dict[str, Any]]:
    """Write the full review (`<beside stem>.<kind>.txt`, exactly `review.text`) and the
    per-repository table (`<beside stem>.<kind>-table.txt`) beside `beside` (the transcript);
    return the screen and what the transcript records of them."""
    check_no_secret(review.text, "the review")
    bulk = BulkReview.of(review)
    full = beside.with_name(f"{beside.stem}.{kind}.txt")
    table = beside.with_name(f"{beside.stem}.{kind}-table.txt")
    table_bytes = bulk.table_text(full.name).encode()
    atomic_write(full, review.text.encode())
    atomic_write(table, table_bytes)
    table_sha256 = hashlib.sha256(table_bytes).hexdigest()
    screen = bulk.screen(str(full), str(table), table_sha256)
    return screen, {"text_file": full.name, "table_file": table.name,
                    "table_sha256": table_sha256,
                    "screen_sha256": hashlib.sha256(screen.encode()).hexdigest(),
                    "groups": len(bulk.groups)}

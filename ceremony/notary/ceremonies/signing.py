"""Collecting signatures: what each file needs, who can sign it, what is still missing.

The one module every ceremony signs through, and the one co-signing builds on (`ceremony sign`,
`status`, `merge`):

    files = [FileToSign(gun, "root", new_root, thresholds_for("root", new_root,
                                                               previous_root=old_root)), ...]
    signers = SignerSet(); signers.add(token_signer, token_label=..., token_serial=..., ...)
    plan_missing(files, signers)   # which thresholds the signers present cannot meet
    sign_files(files, signers)     # each available key signs each file once
    missing_signatures(files, describe)   # what is still needed, key by key
    merge_files(a, b)              # two partial signings of the same bytes

`SignerSet` and `SignerEntry` are the common ones (ceremony/ceremonies/signers.py): a Notary
`Key` is found on the tokens by its `identity`.

A partial response carries these files between sites as a `partialstate.PartialState`.

Thresholds follow Notary's rules (docs/verify.md, rotation rule): a new root needs the
previous root's threshold of signatures from the previous root's keys AND its own threshold from
its own keys -- one key listed in both counts for both; targets/snapshot need the threshold root
lists for them; a delegation the threshold its parent lists. Counting is the verifier's own
(`check_threshold`): valid signatures from distinct public keys.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from ceremony.ceremonies.errors import CeremonyRefused
from ceremony.ceremonies.signers import SignerEntry, SignerSet
from ceremony.errors import MetadataError
from ceremony.notary.format.keys import Key
from ceremony.notary.format.model import (
    ROOT,
    SNAPSHOT,
    TARGETS,
    TIMESTAMP,
    AnySigned,
    Metadata,
    Root,
    Signature,
    Targets,
)
from ceremony.notary.format.serialization import (
    MetadataFile,
    signed_bytes,
    write_metadata,
)
from ceremony.notary.format.verify import check_threshold, signature_problem

# SignerEntry, SignerSet: re-exported, the Notary ceremonies take them from this module.
__all__ = [
    "FileToSign", "KeyDescriber", "SignerEntry", "SignerSet", "SigningResult", "Threshold",
    "merge_files", "missing_signatures", "plan_missing", "sign_files", "thresholds_for",
]


@dataclass(frozen=True)
class Threshold:
    """`threshold` valid signatures from distinct keys among `keys` (key ID -> key)."""

    name: str  # for people: "root v2 (its own root keys)"
    role: str  # the role whose keys these are: root, targets, snapshot, targets/NAME
    threshold: int
    keys: Mapping[str, Key]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "role": self.role, "threshold": self.threshold,
                "key_ids": sorted(self.keys)}


def thresholds_for(role: str, signed: AnySigned, *, previous_root: Root | None = None,
                   root: Root | None = None, parent: Targets | None = None) -> list[Threshold]:
    """The thresholds the file of `role` holding `signed` must meet.

    - root: its own threshold over its own keys, and (from version 2) `previous_root`'s
      threshold over `previous_root`'s keys;
    - targets, snapshot, timestamp: the threshold `root` lists (the root this file is published
      with: the new one when root changes in the same ceremony);
    - targets/...: the threshold `parent` (the delegating targets file) lists.
    """
    if role == ROOT:
        assert isinstance(signed, Root)
        own = Threshold(f"root v{signed.version} (its own root keys)", ROOT,
                        signed.roles[ROOT].threshold, signed.role_keys(ROOT))
        if previous_root is None:
            if signed.version != 1:
                raise CeremonyRefused(f"root version {signed.version} needs the previous root "
                                      "to know who must sign it")
            return [own]
        if signed.version != previous_root.version + 1:
            raise CeremonyRefused(f"root version {signed.version} does not follow the trusted "
                                  f"root version {previous_root.version}")
        before = Threshold(f"root v{previous_root.version} keys (they approve the change to "
                           f"v{signed.version})", ROOT, previous_root.roles[ROOT].threshold,
                           previous_root.role_keys(ROOT))
        return [before, own]
    if role in (TARGETS, SNAPSHOT, TIMESTAMP):
        if root is None:
            raise CeremonyRefused(f"{role} needs the root that lists its keys")
        return [Threshold(f"{role} keys listed in root v{root.version}", role,
                          root.roles[role].threshold, root.role_keys(role))]
    if parent is None:
        raise CeremonyRefused(f"{role} needs the targets file that delegates it")
    delegated = parent.delegations.role(role)
    if delegated is None:
        raise CeremonyRefused(f"{role} is not delegated by its parent")
    keys = {kid: parent.delegations.keys[kid] for kid in delegated.keyids}
    return [Threshold(f"{role} keys listed by its parent", role, delegated.threshold, keys)]


@dataclass
class FileToSign:
    """One metadata file of one GUN being signed: its content, thresholds, signatures so far."""

    gun: str
    role: str  # the file: root, targets, snapshot, targets/NAME
    signed: AnySigned
    thresholds: list[Threshold]
    signatures: list[Signature] = field(default_factory=list)

    @cached_property
    def message(self) -> bytes:
        """The canonical signed part: exactly the bytes every signature is over."""
        return signed_bytes(self.signed)

    @property
    def digest(self) -> str:
        """Hex SHA-256 of the bytes to be signed (what the review shows)."""
        return hashlib.sha256(self.message).hexdigest()

    @property
    def version(self) -> int:
        return self.signed.version

    @property
    def keys(self) -> dict[str, Key]:
        """Every key that may sign this file, by key ID (all thresholds together)."""
        out: dict[str, Key] = {}
        for t in self.thresholds:
            out.update(t.keys)
        return out

    @property
    def data(self) -> bytes:
        """The file's bytes with the signatures so far, exactly as Notary writes them.

        Kept for the signatures it was made with: the response, the workspace and the offline
        snapshot all ask for it, and one copy shared beats three serialisations (and three
        copies held at once across thousands of repositories)."""
        made_with = (id(self.signed), tuple((s.keyid, s.method, s.sig) for s in self.signatures))
        kept = self.__dict__.get("_data")
        if kept is not None and kept[0] == made_with:
            return kept[1]
        data = write_metadata(Metadata(self.signed, list(self.signatures)))
        self.__dict__["_data"] = (made_with, data)
        return data

    @cached_property
    def _memo(self) -> dict[tuple[str, str, bytes], str | None]:
        """Signature verdicts already computed (the bytes signed never change)."""
        return {}

    def _as_file(self) -> MetadataFile:
        return MetadataFile(f"{self.role}.json", b"", Metadata(self.signed, self.signatures),
                            self.message, True, self._memo)

    def counted(self, threshold: Threshold) -> list[str]:
        """Key IDs whose valid signatures count toward `threshold` (distinct public keys)."""
        return check_threshold(self._as_file(), threshold.role, threshold.keys,
                               threshold.threshold).signed_by

    def unmet(self) -> list[tuple[Threshold, list[str]]]:
        """Thresholds not met yet, each with the key IDs that count so far."""
        out = []
        for t in self.thresholds:
            counted = self.counted(t)
            if len(counted) < t.threshold:
                out.append((t, counted))
        return out

    @property
    def complete(self) -> bool:
        return not self.unmet()

    def add_signature(self, signature: Signature) -> None:
        """Add a signature after checking it over this file's bytes (replacing an earlier one
        by the same key ID). Raises CeremonyRefused if it is not a valid signature of a key
        that may sign this file."""
        key = self.keys.get(signature.keyid)
        if key is None:
            raise CeremonyRefused(f"{self.gun} {self.role}: a signature by key "
                                  f"{signature.keyid} is not one this file needs")
        problem = signature_problem(key, signature.method, signature.sig, self.message)
        self._memo[(signature.keyid, signature.method, signature.sig)] = problem
        if problem is not None:
            raise CeremonyRefused(f"{self.gun} {self.role}: signature by key "
                                  f"{signature.keyid} does not verify: {problem}")
        self.signatures = [s for s in self.signatures if s.keyid != signature.keyid]
        self.signatures.append(signature)

    def signed_identities(self) -> set[bytes]:
        """Public keys that already have a valid signature on this file."""
        keys = self.keys
        out = set()
        for sig in self.signatures:
            key = keys.get(sig.keyid)
            memo = (sig.keyid, sig.method, sig.sig)
            if key is not None and memo not in self._memo:
                self._memo[memo] = signature_problem(key, sig.method, sig.sig, self.message)
            if key is not None and self._memo[memo] is None:
                ident = key.identity
                if ident is not None:
                    out.add(ident)
        return out


def plan_missing(files: Sequence[FileToSign], signers: SignerSet) -> list[tuple[FileToSign,
                                                                               Threshold, int]]:
    """Thresholds that stay unmet even after every signer present has signed.

    Returns (file, threshold, signatures it would have) for each.
    """
    out = []
    for f in files:
        have = f.signed_identities()
        for t in f.thresholds:
            idents = {k.identity for k in t.keys.values()} - {None}
            would = {i for i in idents if i in have}
            would |= {k.identity for k in t.keys.values()
                      if k.identity is not None and signers.find(k) is not None}
            if len(would) < t.threshold:
                out.append((f, t, len(would)))
    return out


@dataclass
class SigningResult:
    operations: int = 0  # calls to a token (one per key per file)
    signatures: int = 0  # signature entries added (a key listed under two IDs gives two)
    by_token: dict[str, int] = field(default_factory=dict)


def sign_files(files: Iterable[FileToSign], signers: SignerSet,
               on_sign: Callable[[FileToSign, SignerEntry], None] | None = None) -> SigningResult:
    """Every key present signs every file it may sign and has not signed yet, once.

    One token operation per (file, public key); its signature is added under every key ID of
    the file with that public key (a root key listed in the old and in the new root under two
    certificate IDs counts for both). Each signature is verified before it is added.
    """
    result = SigningResult()
    for f in files:
        done = f.signed_identities()
        by_identity: dict[bytes, list[str]] = {}
        for kid, key in sorted(f.keys.items()):
            ident = key.identity
            if ident is not None:
                by_identity.setdefault(ident, []).append(kid)
        for ident, kids in by_identity.items():
            if ident in done:
                continue
            entry = signers.find(f.keys[kids[0]])
            if entry is None:
                continue
            if on_sign is not None:
                on_sign(f, entry)
            sig = entry.signer.sign(f.message)
            result.operations += 1
            result.by_token[entry.token_label] = result.by_token.get(entry.token_label, 0) + 1
            for kid in kids:
                f.add_signature(Signature(kid, entry.signer.method, sig))
                result.signatures += 1
    return result


KeyDescriber = Callable[[str, Key], Mapping[str, Any]]


def missing_signatures(files: Iterable[FileToSign],
                       describe: KeyDescriber | None = None) -> list[dict[str, Any]]:
    """Every key whose signature would still help meet an unmet threshold, one entry each:
    gun, role, threshold (name, needed, have), key_id, canonical_key_id, keytype, and what
    `describe(key_id, key)` adds (token_label, token_serial, key_label from the inventory)."""
    out = []
    for f in files:
        for t, counted in f.unmet():
            for kid, key in sorted(t.keys.items()):
                if kid in counted:
                    continue
                try:
                    canonical = key.canonical_key_id
                except MetadataError:
                    canonical = None
                item: dict[str, Any] = {
                    "gun": f.gun, "role": f.role, "version": f.version,
                    "threshold": t.name, "needed": t.threshold, "have": len(counted),
                    "key_id": kid, "canonical_key_id": canonical, "keytype": key.keytype,
                    "token_label": None, "token_serial": None, "key_label": None}
                if describe is not None:
                    item.update({k: v for k, v in describe(kid, key).items() if v is not None})
                out.append(item)
    return out


def merge_files(a: Sequence[FileToSign], b: Sequence[FileToSign]) -> list[FileToSign]:
    """Combine two signings of the same files: same roles in the same order, same bytes to
    sign; the result holds every valid signature of either."""
    if [f.role for f in a] != [f.role for f in b]:
        raise CeremonyRefused("the two partial responses hold different files")
    merged = []
    for x, y in zip(a, b, strict=True):
        if x.message != y.message:
            raise CeremonyRefused(f"{x.gun} {x.role}: the two partial responses sign "
                                  "different content; they cannot be merged")
        f = FileToSign(x.gun, x.role, x.signed, list(x.thresholds), list(x.signatures))
        have = {s.keyid for s in f.signatures}
        for sig in y.signatures:
            if sig.keyid not in have:
                f.add_signature(sig)
        merged.append(f)
    return merged

"""The partial-response state: one ceremony's signing carried between sites.

What is signed so far (each file with its signatures), by whom and what is still needed (the
thresholds, recorded for people and recomputed by whoever resumes), where it started (the
previous root and the files it replaces), what the workspace records once complete
(`on_complete`), which site started it (`origin`) and what that site says (`claims`). Written
by a ceremony run with `--partial` (runner), carried opaque by the response bundle
(`ResponseEntry.pending.state`), read back by co-signing (partial.py, cosign.py). This module
is the one place that writes and reads it; the rule it serves: nothing read from a state is
trusted -- shapes are checked when it is decoded, the previous root must be one the reader
trusts, the thresholds are recomputed, every signature is verified again, and the claims are
only ever shown as the originating site's word.

Its JSON form (`PartialState.to_dict`), unchanged since version 1:

    {"format": "notary-ceremony-signing", "version": 1, "ceremony": NAME,
     "previous_root": B64 of the trusted root.json the thresholds derive from, or null,
     "files": [{"role", "data": B64 of the file with the signatures so far,
                "signed_sha256": hex of the bytes to sign,
                "thresholds": [{"name", "role", "threshold", "key_ids"}]}, ...],
     "previous_files": {role: B64 of the current file each new one replaces},
     "on_complete": {...what the workspace records once complete...},
     "origin": the site ID of the workspace that started it (partial.site_id), or null,
     "claims": {"options": {"reason": ...}, "keys": {key ID: {"token_label", ...}}}}
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ceremony.ceremonies.errors import CeremonyRefused
from ceremony.notary.ceremonies.signing import FileToSign, thresholds_for
from ceremony.notary.format.model import ROOT, SNAPSHOT, TARGETS, AnySigned, Root, Snapshot, Targets
from ceremony.notary.format.serialization import read_metadata
from ceremony.notary.format.verify import check_threshold

STATE_FORMAT = "notary-ceremony-signing"
STATE_VERSION = 1
SITE_ID_PATTERN = re.compile(r"[0-9a-f]{32}")  # a site ID as partial.site_id makes it
# The originator's choices worth showing to a co-signer (never paths, URIs or PIN sources).
CLAIMED_OPTIONS = ("reason", "label", "labels", "root_threshold", "remove_keys", "threshold",
                   "name", "role", "expires", "key_ids", "paths")
KEY_LABELS = ("token_label", "token_serial", "key_label")
_CLASSES: dict[str, type] = {ROOT: Root, TARGETS: Targets, SNAPSHOT: Snapshot}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: Any, what: str, gun: str) -> bytes:
    if not isinstance(text, str):
        raise CeremonyRefused(f"{gun}: partial state: {what} must be base64 text")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise CeremonyRefused(f"{gun}: partial state: {what} is not base64") from None


def _object(value: Any, what: str, gun: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise CeremonyRefused(f"{gun}: partial state: {what} must be an object")
    return value


@dataclass(frozen=True)
class StateFile:
    """One file of the state as carried: its bytes with the signatures so far, the digest of
    the bytes to sign and the thresholds as the writer recorded them (for people)."""

    role: str
    data: bytes
    signed_sha256: Any
    thresholds: Any

    @classmethod
    def of(cls, f: FileToSign) -> StateFile:
        return cls(f.role, f.data, f.digest, [t.to_dict() for t in f.thresholds])


@dataclass(frozen=True)
class PartialState:
    """A partial response entry's state, decoded (its shapes checked) but not yet trusted:
    `restore` and `verified_previous_files` check it against the reader's own trust."""

    ceremony: str
    previous_root: bytes | None  # the root the thresholds derive from; None: starts the GUN
    files: tuple[StateFile, ...]  # in upload order
    previous_files: Mapping[str, bytes] = field(default_factory=dict)  # as carried, unverified
    on_complete: Mapping[str, Any] = field(default_factory=dict)
    origin: str | None = None  # site ID of the workspace that started it
    claims: Mapping[str, Any] = field(default_factory=dict)  # the originator's, unverified

    @classmethod
    def of(cls, files: Sequence[FileToSign], *, ceremony: str, previous_root: bytes | None,
           previous_files: Mapping[str, bytes] | None = None,
           on_complete: Mapping[str, Any] | None = None, origin: str | None = None,
           claims: Mapping[str, Any] | None = None) -> PartialState:
        """The state of `files` as signed so far (the writer's side)."""
        return cls(ceremony, previous_root, tuple(StateFile.of(f) for f in files),
                   dict(previous_files or {}), dict(on_complete or {}), origin,
                   dict(claims or {}))

    def with_files(self, files: Sequence[FileToSign]) -> PartialState:
        """The same state with `files` as they are signed now (after co-signing or a merge)."""
        return replace(self, files=tuple(StateFile.of(f) for f in files))

    # --- the JSON form -----------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The JSON data a response entry carries (`ResponseEntry.pending.state`)."""
        return {
            "format": STATE_FORMAT, "version": STATE_VERSION, "ceremony": self.ceremony,
            "previous_root": _b64(self.previous_root) if self.previous_root is not None
            else None,
            "files": [{"role": f.role, "data": _b64(f.data), "signed_sha256": f.signed_sha256,
                       "thresholds": f.thresholds} for f in self.files],
            "previous_files": {role: _b64(data) for role, data in self.previous_files.items()},
            "on_complete": dict(self.on_complete),
            "origin": self.origin,
            # What the originating site says (its reasons, where its keys live): shown to the
            # co-signers as its claims, never used to decide anything.
            "claims": dict(self.claims),
        }

    @classmethod
    def from_dict(cls, gun: str, data: Mapping[str, Any]) -> PartialState:
        """Decode a state read from a response entry, refusing any malformed part."""
        if data.get("format") != STATE_FORMAT or data.get("version") != STATE_VERSION:
            raise CeremonyRefused(f"{gun}: partial state is not {STATE_FORMAT} version "
                                  f"{STATE_VERSION}")
        ceremony = data.get("ceremony")
        if not isinstance(ceremony, str) or len(ceremony) > 64 or not ceremony.isprintable():
            raise CeremonyRefused(f"{gun}: partial state: ceremony must be a short printable "
                                  "string")
        raw_prev = data.get("previous_root")
        previous_root = _unb64(raw_prev, "previous_root", gun) if raw_prev is not None else None
        raw_files = data.get("files")
        if not isinstance(raw_files, list) or not raw_files:
            raise CeremonyRefused(f"{gun}: partial state lists no files")
        files = []
        for item in raw_files:
            if not isinstance(item, Mapping) or not isinstance(item.get("role"), str):
                raise CeremonyRefused(f"{gun}: partial state has a malformed file entry")
            role = item["role"]
            files.append(StateFile(role, _unb64(item.get("data"), f"{role} data", gun),
                                   item.get("signed_sha256"), item.get("thresholds")))
        previous_files = {str(role): _unb64(text, f"previous {role}", gun) for role, text
                          in _object(data.get("previous_files"), "previous_files", gun).items()}
        on_complete = _object(data.get("on_complete"), "on_complete", gun)
        origin = data.get("origin")
        if origin is not None and (not isinstance(origin, str)
                                   or not SITE_ID_PATTERN.fullmatch(origin)):
            raise CeremonyRefused(f"{gun}: partial state: origin must be a site ID (32 hex "
                                  "digits)")
        claims = _object(data.get("claims"), "claims", gun)
        return cls(ceremony, previous_root, tuple(files), previous_files, on_complete, origin,
                   claims)

    # --- checked against the reader's own trust ----------------------------------------------

    def restore(self, gun: str, trusted_roots: Mapping[int, bytes],
                ) -> tuple[list[FileToSign], Root | None]:
        """Rebuild the files to sign, trusting nothing in the state:

        - `previous_root` must be byte for byte a root in `trusted_roots` (the resuming
          workspace's history) -- unless the state starts a repository (no previous root);
        - the thresholds are recomputed from that root and from the files themselves (a new
          root in the same state governs targets), and must equal the ones recorded;
        - every signature already there must verify over the file's bytes.
        Returns (files in upload order, the previous root or None). A file that does not read
        raises MetadataError.
        """
        previous: Root | None = None
        if self.previous_root is not None:
            if self.previous_root not in trusted_roots.values():
                raise CeremonyRefused(f"{gun}: the partial response starts from a root this "
                                      "workspace does not trust")
            previous = read_metadata(self.previous_root, "previous root", Root).signed
        files: list[FileToSign] = []
        governing = previous
        for item in self.files:
            role = item.role
            expected = _CLASSES.get(role, Targets if role.startswith("targets/") else None)
            parsed = read_metadata(item.data, f"{role}.json", expected)
            signed = parsed.signed
            if isinstance(signed, Root):
                thresholds = thresholds_for(ROOT, signed, previous_root=previous)
                governing = signed
            elif role.startswith("targets/"):
                parent_role = role.rsplit("/", 1)[0]
                parent = next((f.signed for f in files if f.role == parent_role), None)
                thresholds = thresholds_for(role, signed, parent=parent)  # type: ignore[arg-type]
            else:
                thresholds = thresholds_for(role, signed, root=governing)
            if item.thresholds != [t.to_dict() for t in thresholds]:
                raise CeremonyRefused(f"{gun} {role}: the thresholds recorded in the partial "
                                      "response differ from the ones this workspace computes")
            f = FileToSign(gun, role, signed, thresholds)
            if item.signed_sha256 != f.digest:
                raise CeremonyRefused(f"{gun} {role}: signed_sha256 does not match the file")
            for sig in parsed.signatures:
                f.add_signature(sig)
            files.append(f)
        return files, previous

    def verified_previous_files(self, gun: str,
                                previous_root: Root | None) -> dict[str, AnySigned]:
        """The current files the state replaces, each verified before it is returned: a
        targets/snapshot file must be signed by the threshold `previous_root` (the trusted
        root, from `restore`) lists for it; the previous root is that root itself. For the
        co-signer's old -> new review. A file that does not read raises MetadataError."""
        out: dict[str, AnySigned] = {}
        for role, data in self.previous_files.items():
            if role == ROOT:
                if previous_root is not None:
                    out[ROOT] = previous_root
                continue
            if previous_root is None or role not in (TARGETS, SNAPSHOT):
                continue
            parsed = read_metadata(data, f"{role}.json", _CLASSES.get(role))
            check = check_threshold(parsed, role, previous_root.role_keys(role),
                                    previous_root.roles[role].threshold)
            if not check.met:
                raise CeremonyRefused(f"{gun}: the previous {role} in the partial state is not "
                                      f"signed by the keys root v{previous_root.version} lists")
            out[role] = parsed.signed
        return out

    # --- what the originating site says (shown as its word, never used to decide) ------------

    def claimed(self, key_id: str,
                recorded_missing: Sequence[Mapping[str, Any]] = ()) -> dict[str, str]:
        """Where the originating site says a key lives (empty if it says nothing); else as
        the entry's list of missing signatures records it."""
        keys = self.claims.get("keys")
        found = keys.get(key_id) if isinstance(keys, Mapping) else None
        if not isinstance(found, Mapping):
            found = next((m for m in recorded_missing if m.get("key_id") == key_id), {})
        return {k: v for k, v in found.items() if k in KEY_LABELS and isinstance(v, str) and v
                and len(v) <= 64 and v.isprintable()}

    def claim_lines(self) -> list[str]:
        """The originator's reasons and choices, as claims, for `status` and `sign`."""
        options = self.claims.get("options")
        out = []
        retires = bool(self.on_complete.get("retire_keys"))
        if isinstance(options, Mapping):
            # a reason is a claim only where something is retired for it (else a default)
            shown = [f"{k.replace('_', ' ')} {_shown(v)}" for k, v in sorted(options.items())
                     if k != "reason" or retires]
            if shown:
                out.append(f"the originating site says: {'; '.join(shown)}")
        for item in self.on_complete.get("retire_keys") or []:
            if isinstance(item, Mapping):
                kid = item.get("key_id")
                kid = kid if isinstance(kid, str) and re.fullmatch(r"[0-9a-f]{64}", kid) \
                    else _shown(kid)
                out.append(f"once complete, key {kid} is recorded as "
                           f"retired: {_shown(item.get('reason'))}")
        return out


def _shown(value: Any) -> str:
    """A claimed value for display: short, printable, quoted when text."""
    text = repr(value) if isinstance(value, str) else ", ".join(map(str, value)) \
        if isinstance(value, list) else str(value)
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text if len(text) <= 120 else text[:117] + "..."


def claims_of(run: Any, files: Sequence[FileToSign]) -> dict[str, Any]:
    """What this (originating) site says, for the state it writes: its choices (reason,
    labels, threshold) and, for every key the files need, where this site knows it to live."""
    keys: dict[str, dict[str, str]] = {}
    for f in files:
        for t in f.thresholds:
            for kid, key in sorted(t.keys.items()):
                if kid in keys:
                    continue
                entry = run.signers.find(key)
                found = ({"token_label": entry.token_label, "token_serial": entry.token_serial,
                          "key_label": entry.key_label} if entry is not None
                         else dict(run.describe_missing(kid, key)))
                found = {k: v for k, v in found.items()
                         if k in KEY_LABELS and isinstance(v, str) and v}
                if found:
                    keys[kid] = found
    options = {k: v for k, v in run.ceremony.options_record().items()
               if k in CLAIMED_OPTIONS and v not in (None, "", [], {})}
    return {"options": options, "keys": keys}


def pending_state(files: Sequence[FileToSign], **fields: Any) -> dict[str, Any]:
    """The JSON state of `files` for a new partial response entry (`PartialState.of`)."""
    return PartialState.of(files, **fields).to_dict()

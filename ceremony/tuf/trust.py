"""What the offline machine trusts of a TUF repository before it signs for it: the newest root
of the workspace's history, moved forward along the roots the request carries (each verified as
a client does: a threshold of the previous root's root keys and of its own), or, on first
contact, the root whose SHA-256 the operator gives (pinned, with a warning).

Also what this site has signed (`NAME/signatures/ROLE.VERSION.json` in the workspace's "tuf"
section, next to state.py's root history): a second, different `signed` for the same role and
version is refused (a site never signs two versions of the same thing), and so is a version
older than one it signed.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ceremony.ceremonies.errors import CeremonyRefused
from ceremony.tuf import state as tuf_state
from ceremony.tuf.errors import RootChainError, TufError
from ceremony.tuf.model import Metadata
from ceremony.tuf.verify import verify_threshold

_ROOT_FILE = re.compile(r"([1-9][0-9]{0,18})\.root\.json")
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Trusted:
    """The root this run trusts, and how it came to trust it."""

    root: Metadata | None  # None: a new repository's first root is proposed (bootstrap)
    data: bytes
    first_contact: bool
    pinned: tuple[int, ...]  # root versions pinned by this run (first contact, chain)

    @property
    def version(self) -> int | None:
        return int(self.root.signed.version) if self.root is not None else None


def _roots_in(metadata: Mapping[str, bytes]) -> dict[int, bytes]:
    return {int(m.group(1)): data for name, data in metadata.items()
            if (m := _ROOT_FILE.fullmatch(name))}


def _self_signed(md: Metadata) -> None:
    verify_threshold(md, *md.signed.role_keys("root"), role_name="root", signer_desc="its own")


def trusted_root(tx: Any, name: str, metadata: Mapping[str, bytes], first_root_sha256: str | None,
                 warn: Callable[[str], None], *, bootstrap: bool = False) -> Trusted:
    """The newest root this run may trust for repository `name` (see the module docstring);
    the roots it newly trusts are staged in `tx`. `bootstrap`: the proposal is a root v1; if
    neither the workspace nor the request has a root, there is nothing to trust before it."""
    state = tuf_state.TufState.load(tx, name)
    offered = _roots_in(metadata)
    pinned: list[int] = []
    if bootstrap and not state.exists and not offered:
        if first_root_sha256 is not None:
            raise CeremonyRefused("the request proposes the repository's FIRST root: there is "
                                  "no earlier root to pin; leave out --trust-root-sha256")
        warn(f"'{name}' is a new repository: its first root is reviewed with nothing to "
             "compare against (every key is new); check each key ID with its holder")
        return Trusted(None, b"", True, ())
    if state.exists:
        if first_root_sha256 is not None:
            raise CeremonyRefused(f"the workspace already trusts root v{state.latest_root[0]} "
                                  f"of '{name}': leave out --trust-root-sha256")
        version, data = state.latest_root
        root = state.trusted_root()
        first = False
    else:
        if first_root_sha256 is None:
            raise CeremonyRefused(
                f"first contact with TUF repository '{name}': the workspace holds no root for "
                "it. Get the SHA-256 of a root file you trust from the repository's owners "
                "(out of band) and give it with --trust-root-sha256 HEX")
        wanted = first_root_sha256.lower()
        if wanted == "0" * 64:
            raise CeremonyRefused("--trust-root-sha256 is still the placeholder (all zeros): "
                                  "write in the SHA-256 of the root file the repository's "
                                  "owners gave you")
        if not _SHA256.fullmatch(wanted):
            raise CeremonyRefused("--trust-root-sha256 must be 64 hex digits (the SHA-256 of a "
                                  "root file's exact bytes)")
        match = [v for v, d in offered.items() if hashlib.sha256(d).hexdigest() == wanted]
        if not match:
            raise CeremonyRefused(
                f"no root in the request has SHA-256 {wanted[:16]}...: the request carries "
                + (", ".join(f"v{v} {hashlib.sha256(d).hexdigest()[:16]}..."
                             for v, d in sorted(offered.items())) or "no root")
                + "; check the digest with the repository's owners")
        version = match[0]
        data = offered[version]
        root = Metadata.from_bytes(data, f"{version}.root.json", "root")
        if root.signed.version != version:
            raise RootChainError(f"is root v{root.signed.version}, named as v{version}",
                                 file=f"{version}.root.json")
        _self_signed(root)
        warn(f"first contact with TUF repository '{name}': root v{version} (sha256 {wanted}) is "
             "trusted because its digest was given on the command line; it is now pinned in "
             "the workspace")
        tuf_state.pin_first_root(tx, name, data)
        pinned.append(version)
        first = True
    while version + 1 in offered:
        nxt = version + 1
        new = Metadata.from_bytes(offered[nxt], f"{nxt}.root.json", "root")
        if new.signed.version != nxt:
            raise RootChainError(f"is root v{new.signed.version}, named as v{nxt}",
                                 file=f"{nxt}.root.json")
        try:
            verify_threshold(new, *root.signed.role_keys("root"), role_name="root",
                             signer_desc=f"root v{version}")
            _self_signed(new)
        except TufError as exc:
            raise RootChainError(f"the repository's root v{nxt} does not follow the trusted "
                                 f"v{version}: {exc.reason}; the repository may have been "
                                 "tampered with: stop and ask its owners",
                                 file=f"{nxt}.root.json") from None
        tuf_state.stage_root(tx, name, offered[nxt])
        pinned.append(nxt)
        root, data, version = new, offered[nxt], nxt
    return Trusted(root, data, first, tuple(pinned))


def _record_path(name: str, role: str, version: int) -> str:
    return f"{name}/signatures/{tuf_state.check_role(role)}.{version}.json"


def check_not_signed_otherwise(tx: Any, name: str, role: str, version: int,
                               signed_sha256: str) -> None:
    """Refuse to sign a `signed` that differs from one this site signed at the same role and
    version, or a version older than one it signed."""
    existing = tx.system_file(tuf_state.SECTION, _record_path(name, role, version))
    if existing is not None and json.loads(existing)["signed_sha256"] != signed_sha256:
        raise CeremonyRefused(
            f"this workspace already signed a DIFFERENT {role} v{version} of '{name}' (signed "
            f"sha256 {json.loads(existing)['signed_sha256'][:16]}...): a site never signs two "
            "versions of the same metadata; ask for a proposal with a new version")
    prefix = f"{name}/signatures/{role}."
    newer = [int(p[len(prefix):-5]) for p in tx.system_paths(tuf_state.SECTION, prefix)
             if p[len(prefix):-5].isdigit()]
    if newer and max(newer) > version:
        raise CeremonyRefused(f"this workspace signed {role} v{max(newer)} of '{name}' already: "
                              f"v{version} would roll it back")


def record_signed(tx: Any, name: str, role: str, version: int, record: dict[str, Any]) -> str:
    """Keep what this site signed (merged with an earlier record of the same file)."""
    path = _record_path(name, role, version)
    existing = tx.system_file(tuf_state.SECTION, path)
    if existing is not None:
        old = json.loads(existing)
        record = {**record, "keyids": sorted(set(old["keyids"]) | set(record["keyids"])),
                  "ceremonies": old.get("ceremonies", 0) + 1}
    else:
        record = {**record, "ceremonies": 1}
    tx.put_system_file(tuf_state.SECTION, path,
                       json.dumps(record, indent=1, sort_keys=True).encode() + b"\n")
    return path


def signed_records(ws: Any, name: str) -> list[dict[str, Any]]:
    """What this site signed for `name` (for status and tests)."""
    prefix = f"{name}/signatures/"
    return [json.loads(ws.system_file(tuf_state.SECTION, p))
            for p in ws.system_paths(tuf_state.SECTION, prefix)]

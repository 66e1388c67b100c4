"""The online side of TUF ceremonies: make a request bundle from a repository's metadata folder
(`ceremony tuf request`) and write a response's signed files into it (`ceremony tuf apply`).

Nothing here signs: snapshot and timestamp are the online service's roles; after `apply` it
makes a new snapshot and timestamp with its own keys (docs/tuf.md says how).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ceremony.tuf.bundles import (
    FILE_NAME,
    MAX_FILES,
    OnlineRole,
    TufBundleError,
    TufRequest,
    TufResponse,
    request_bundle,
)
from ceremony.tuf.errors import TufError, TufVerificationError
from ceremony.tuf.files import read_metadata
from ceremony.tuf.keys import Key, key_from_public
from ceremony.tuf.model import Metadata
from groundfloor.files import atomic_write
from transfer.systembundle import write_system_bundle

_VERSIONED = re.compile(r"([1-9][0-9]{0,18})\.(.+)\.json")


def current_files(folder: Path) -> dict[str, bytes]:
    """The files a request carries: every N.root.json (the chain), the newest version of every
    other role (N.ROLE.json, or ROLE.json when the folder keeps no versioned copy) and
    timestamp.json. `root.json` is the newest N.root.json again: left out."""
    if not folder.exists():
        return {}
    if not folder.is_dir():
        raise TufBundleError(f"{folder} is not a folder: give the repository's metadata folder")
    names = sorted(p.name for p in folder.iterdir() if p.is_file() and FILE_NAME.fullmatch(p.name))
    newest: dict[str, tuple[int, str]] = {}
    chosen = []
    for name in names:
        m = _VERSIONED.fullmatch(name)
        if m is None:
            continue
        version, role = int(m.group(1)), m.group(2)
        if role == "root":
            chosen.append(name)
        elif version > newest.get(role, (0, ""))[0]:
            newest[role] = (version, name)
    chosen += [name for _, name in newest.values()]
    for name in names:
        role = name[:-5]
        if not _VERSIONED.fullmatch(name) and role != "root" and role not in newest:
            chosen.append(name)
    if len(chosen) > MAX_FILES:
        raise TufBundleError(f"{folder}: {len(chosen)} metadata files, more than {MAX_FILES}")
    return {name: read_metadata(folder / name) for name in sorted(chosen)}


def read_public_key(path: str) -> Key:
    """A public key for a request: a PEM SubjectPublicKeyInfo, or a TUF key as JSON (a key
    object, or `ceremony tuf key --json`'s {"keyid", "key"})."""
    from cryptography.hazmat.primitives import serialization
    data = Path(path).read_bytes()[:1 << 20]
    if data.lstrip().startswith(b"-----BEGIN"):
        try:
            return key_from_public(serialization.load_pem_public_key(data))
        except ValueError as exc:
            raise TufBundleError(f"{path}: not a PEM public key ({exc})") from None
    try:
        obj = json.loads(data)
    except ValueError:
        raise TufBundleError(f"{path}: neither a PEM public key nor a TUF key as JSON") from None
    if isinstance(obj, dict) and "key" in obj:
        obj = obj["key"]
    try:
        key = Key.from_dict("key", obj)
        return key_from_public(key.public_key()) if key.scheme != "ed25519" else \
            Key(key.default_keyid(), key.keytype, key.scheme, key.keyval)
    except TufError as exc:
        raise TufBundleError(f"{path}: {exc.reason}") from None


def target_entry(path: str) -> dict[str, Any]:
    """A targets entry ({length, hashes}) for a local file."""
    data = Path(path).read_bytes()
    return {"length": len(data), "hashes": {"sha256": hashlib.sha256(data).hexdigest()}}


def make_request(folder: Path, name: str, operation: str, params: Mapping[str, Any],
                 online: Mapping[str, Sequence[Key]], thresholds: Mapping[str, int],
                 out: str, force: bool = False) -> dict[str, Any]:
    files = current_files(folder)
    online_keys = {role: OnlineRole({k.keyid: k for k in keys}, thresholds.get(role, 1))
                   for role, keys in online.items()}
    summary = [f"TUF {operation} for repository '{name}'"]
    roots = sorted(int(n.split(".")[0]) for n in files if n.endswith(".root.json")
                   and n[0].isdigit())
    if roots:
        summary.append(f"current root v{roots[-1]} ({len(files)} metadata file(s))")
    for role, entry in online_keys.items():
        summary.append(f"online {role} key(s): " + ", ".join(k[:16] for k in entry.keys)
                       + f" (threshold {entry.threshold})")
    summary += [f"{k}: {json.dumps(v, sort_keys=True)}"[:200] for k, v in sorted(params.items())
                if k != "keys" and k != "targets"]
    request = TufRequest(repository=name, operation=operation, params=dict(params),
                         metadata=files, online_keys=online_keys, summary=tuple(summary))
    bundle = request_bundle(request)
    path = write_system_bundle(out, bundle, overwrite=force)
    return {"request": str(path), "request_sha256": bundle.digest_hex,
            "file_sha256": hashlib.sha256(bundle.to_bytes()).hexdigest(),
            "files": sorted(files), "operation": operation, "repository": name}


def apply_response(response: TufResponse, folder: Path, *,
                   request_sha256: str | None = None) -> dict[str, Any]:
    """Write the response's signed files into the metadata folder: each under its consistent-
    snapshot name, a root also as root.json (and, for a repository without consistent
    snapshots, every other file also as ROLE.json). Checked first: a root follows the folder's
    newest root (its threshold and its own); an existing file is never replaced by other bytes.
    Nothing is written unless every check passed."""
    from ceremony.tuf.signing import status
    if response.partial is not None:
        raise TufBundleError(f"the response is partial ({response.partial.file} still needs "
                             "signatures): complete it by co-signing before applying it")
    if request_sha256 is not None and response.request_sha256 != request_sha256:
        raise TufBundleError("the response answers another request (request_sha256 differs): "
                             "apply the response of this request")
    folder.mkdir(parents=True, exist_ok=True)
    writes: dict[str, bytes] = {}
    previous_root = _newest_root(folder)
    for name, data in sorted(response.files.items(), key=lambda kv: _order(kv[0])):
        md = Metadata.from_bytes(data, name)
        m = _VERSIONED.fullmatch(name)
        if m is None or int(m.group(1)) != md.signed.version:
            raise TufBundleError(f"{name}: the name does not carry the file's version "
                                 f"{md.signed.version}")
        if md.signed.type == "root":
            checks = status(md, previous_root.signed if previous_root else None)
            unmet = [k for k, v in checks.items() if not v["met"]]
            if unmet or (previous_root and md.signed.version != previous_root.signed.version + 1):
                raise TufVerificationError(f"{name} does not follow the folder's root "
                                           f"(threshold not met: {', '.join(unmet) or 'none'}); "
                                           "nothing was written")
            previous_root = md
            writes["root.json"] = data
        existing = folder / name
        if existing.exists() and existing.read_bytes() != data:
            raise TufBundleError(f"{existing} exists with other bytes: a published version "
                                 "is never replaced; nothing was written")
        writes[name] = data
        if md.signed.type != "root" and previous_root is not None and \
                previous_root.signed.consistent_snapshot is False:
            # without consistent snapshots clients ask for ROLE.json
            writes[f"{m.group(2)}.json"] = data
    for name, data in writes.items():
        atomic_write(folder / name, data, overwrite=True)
    return {"written": sorted(writes), "repository": response.repository,
            "operation": response.operation}


def _order(name: str) -> tuple[int, int, str]:
    m = _VERSIONED.fullmatch(name)
    return (0 if name.endswith(".root.json") else 1, int(m.group(1)) if m else 0, name)


def _newest_root(folder: Path) -> Metadata | None:
    versions = [int(m.group(1)) for p in folder.iterdir()
                if (m := _VERSIONED.fullmatch(p.name)) and m.group(2) == "root"]
    if not versions:
        return None
    name = f"{max(versions)}.root.json"
    return Metadata.from_bytes(read_metadata(os.path.join(folder, name)), name, "root")

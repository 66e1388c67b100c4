"""`ceremony pin GUN --request REQ [--root-cert-id ID ...]`: establish or bring up to date a
workspace's trust in a repository it did not create -- the second site of a co-signing setup.

- First time (this workspace trusts no root for GUN): the root certificate IDs, read out by the
  first site (its review, `--json`, or `ceremony status`) and compared by people, anchor the
  trust exactly as `trust_pinning.certs` does in a Notary client: the first root of the served
  history that lists a pinned ID must be signed by the pinned keys, every later root by its
  predecessor's threshold and its own, and the whole repository must verify.
- Later: the served history must chain from the newest root this workspace trusts (and equal
  it where they overlap); the newer roots it proves are pinned too.
Refused with one line and nothing changed otherwise. Recorded in a transcript.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import Any

from ceremony.airgap import NetworkPresentError, require_offline
from ceremony.ceremonies.errors import CeremonyRefused
from ceremony.metadata.model import ROOT, Root
from ceremony.metadata.repository import RepositoryFiles
from ceremony.metadata.repository_check import verify_repository
from ceremony.metadata.serialization import read_metadata
from ceremony.transcript import Transcript
from ceremony.workspace import Transaction, Workspace
from groundfloor.errors import GroundFloorError
from groundfloor.files import read_limited
from groundfloor.limits import MAX_REQUEST_BYTES
from groundfloor.words import digest_words
from transfer.bundle import parse_request

_ID = re.compile(r"[0-9a-f]{64}")


def pin_repository(gun: str, request: str, cert_ids: Sequence[str], *,
                   workspace: str | None = None, participants: Sequence[str] = (),
                   allow_network: bool = False) -> dict[str, Any]:
    ids = [c.strip().lower() for c in cert_ids]
    for cid in ids:
        if not _ID.fullmatch(cid):
            raise CeremonyRefused(f"--root-cert-id {cid!r}: a root certificate ID is 64 hex "
                                  "digits (the cert key ID root.json lists)")
    ws = Workspace.open(workspace, create=True)
    t = Transcript.create(ws.new_transcript_path("pin"), ceremony="pin",
                          participants=list(participants),
                          data={"gun": gun, "request": str(request), "root_cert_ids": ids})
    try:
        with ws.transaction() as tx:  # the lock is held throughout, as for every ceremony
            findings = require_offline(allow_network)
            t.append("airgap", {"findings": findings, "allow_network": allow_network,
                                "offline": not findings})
            result = _pin(ws, tx, t, gun, request, ids)
        t.append("workspace", {"trusted_roots": [[gun, v] for v in result["pinned_versions"]]})
    except (CeremonyRefused, NetworkPresentError) as exc:
        t.refusal(str(exc))
        t.close("refused")
        raise
    except BaseException as exc:
        t.error(exc)
        t.close("failed")
        raise
    digest = t.close("completed", pinned=result["pinned_versions"])
    result.update({"transcript": str(t.path), "transcript_sha256": digest,
                   "transcript_words": digest_words(bytes.fromhex(digest))})
    return result


def _pin(ws: Workspace, tx: Transaction, t: Transcript, gun: str, path: str,
         ids: list[str]) -> dict[str, Any]:
    try:
        data = read_limited(path, MAX_REQUEST_BYTES, what="request bundle")
        bundle = parse_request(data)
        entry = bundle.entry(gun)
    except GroundFloorError as exc:
        raise CeremonyRefused(f"request {path}: {exc}") from None
    t.input("request", data, path=str(path), bundle_sha256=bundle.digest_hex)
    if not entry.exists:
        raise CeremonyRefused(f"{gun}: the server has no trust data for this repository: "
                              "nothing to pin")
    history = tx.trusted_root_history(gun)
    served = dict(enumerate(entry.root_history, start=1))
    files = RepositoryFiles(roles=dict(entry.metadata), root_history=served,
                            source="request bundle")
    if history:
        latest = max(history)
        for version, trusted in history.items():
            if version in served and served[version] != trusted:
                raise CeremonyRefused(f"{gun}: root version {version} in the request differs "
                                      "from the one this workspace trusts (a forged or "
                                      "replaced root history)")
        report = verify_repository(files, gun, trusted_root=history[latest])
        first = latest + 1
    else:
        if not ids:
            raise CeremonyRefused(f"{gun}: this workspace trusts no root of this repository "
                                  "yet: give the root certificate IDs to pin (--root-cert-id, "
                                  "as read out by the site that holds the repository)")
        report = verify_repository(files, gun, root_cert_ids=ids)
        first = report.anchor_version or 1
    if not report.ok:
        raise CeremonyRefused(f"{gun}: the request does not verify"
                              f"{' against the pinned root certificate IDs' if ids else ''}: "
                              f"{report.errors[0]}")
    newest = max(served)
    root: Root = read_metadata(served[newest], "root.json", Root).signed
    unlisted = [cid for cid in ids if cid not in root.roles[ROOT].keyids]
    if history and unlisted:
        raise CeremonyRefused(f"{gun}: root version {newest} does not list the root "
                              f"certificate ID {unlisted[0]} given")
    pinned = list(range(first, newest + 1))
    for version in pinned:
        tx.add_trusted_root(gun, version, served[version])
    digest = hashlib.sha256(served[newest]).digest()
    result = {"gun": gun, "pinned_versions": pinned, "root_version": newest,
              "root_cert_ids": list(root.roles[ROOT].keyids),
              "root_threshold": root.roles[ROOT].threshold, "root_sha256": digest.hex(),
              "root_words": digest_words(digest), "warnings": list(report.warnings),
              "workspace": str(ws.path)}
    return result

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
from collections.abc import Sequence
from typing import Any

from ceremony.ceremonies.errors import CeremonyRefused
from ceremony.ceremonies.session import Console, Options, Session, session
from ceremony.notary.ceremonies.runner import read_request, request_entry
from ceremony.notary.format.model import ROOT, Root
from ceremony.notary.format.repository import RepositoryFiles
from ceremony.notary.format.repository_check import verify_repository
from ceremony.notary.format.serialization import read_metadata
from ceremony.notary.pins import root_cert_ids
from groundfloor.words import digest_words


def pin_repository(gun: str, request: str, cert_ids: Sequence[str], *,
                   workspace: str | None = None, participants: Sequence[str] = (),
                   allow_network: bool = False,
                   console: Console) -> dict[str, Any]:
    ids = root_cert_ids(cert_ids)
    options = Options(request=request, workspace=workspace, participants=participants,
                      allow_network=allow_network)
    data = {"gun": gun, "request": str(request), "root_cert_ids": ids}
    with session("pin", options, console, data=data,
                 create_workspace=True) as s:
        result = _pin(s, gun, ids)
        s.finish({"trusted_roots": [[gun, v] for v in result["pinned_versions"]]},
                 pinned=result["pinned_versions"])
    result.update(s.transcript_fields())
    return result


def _pin(s: Session, gun: str, ids: list[str]) -> dict[str, Any]:
    ws, tx = s.ws, s.tx
    entry = request_entry(read_request(s), gun)
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

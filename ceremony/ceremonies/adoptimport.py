"""`ceremony adopt import`: pin an existing repository's root history in the workspace, anchored
on a root certificate ID the user already trusts, before the first ceremony for it.

Any request for the GUN serves (e.g. the one fetched for the `rotate targets` that follows): the
whole repository must verify from the first root that lists a pinned certificate ID (signatures,
thresholds, expiry, delegations); the roots from that version to the current one are then
pinned, exactly as served. Nothing is signed and no token is used. Refused with one line and
nothing written: a GUN the workspace already holds a history for, a pin no root lists, metadata
that does not verify.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from ceremony.airgap import require_offline
from ceremony.ceremonies.errors import CeremonyRefused
from ceremony.metadata.model import ROOT, Root
from ceremony.metadata.repository import RepositoryFiles
from ceremony.metadata.repository_check import verify_repository
from ceremony.metadata.serialization import read_metadata
from ceremony.transcript import Transcript
from ceremony.workspace import Workspace
from groundfloor.errors import GroundFloorError
from groundfloor.files import read_limited
from groundfloor.limits import MAX_REQUEST_BYTES
from groundfloor.words import digest_words
from transfer.bundle import parse_request

_KEY_ID = re.compile(r"[0-9a-f]{64}")


def import_repository(*, request: str, gun: str, root_cert_ids: Sequence[str],
                      workspace: str | None = None, allow_network: bool = False,
                      participants: Sequence[str] = ()) -> dict[str, Any]:
    """Verify GUN in the request from the pinned IDs and pin its root history; returns a
    summary (with the trusted roots: `previous_root` and `root`)."""
    pins = [p.strip().lower() for p in root_cert_ids]
    if not pins:
        raise CeremonyRefused("adopt import needs --root-cert-id ID: the root certificate ID you "
                              "already trust (trust_pinning.certs of your clients)")
    for pin in pins:
        if not _KEY_ID.fullmatch(pin):
            raise CeremonyRefused(f"--root-cert-id {pin[:80]!r}: give a root certificate ID "
                                  "(64 hex digits)")
    ws = Workspace.open(workspace, create=True)
    transcript = Transcript.create(ws.new_transcript_path("adopt-import"),
                                   ceremony="adopt-import", participants=list(participants),
                                   data={"request": request, "gun": gun, "root_cert_ids": pins})
    try:
        with ws.transaction() as tx:
            result = _import(ws, tx, transcript, request, gun, pins, allow_network)
        transcript.append("workspace", {"trusted_roots": [[gun, v] for v in result["pinned"]]})
        transcript.close("completed")
    except CeremonyRefused as exc:
        transcript.refusal(str(exc))
        transcript.close("refused")
        raise
    except BaseException as exc:
        transcript.error(exc)
        transcript.close("failed")
        raise
    result["transcript"] = str(transcript.path)
    return result


def _import(ws: Workspace, tx: Any, transcript: Transcript, request: str, gun: str,
            pins: list[str], allow_network: bool) -> dict[str, Any]:
    findings = require_offline(allow_network)
    transcript.append("airgap", {"findings": findings, "allow_network": allow_network,
                                 "offline": not findings})
    try:
        data = read_limited(request, MAX_REQUEST_BYTES, what="request bundle")
        bundle = parse_request(data)
    except GroundFloorError as exc:
        raise CeremonyRefused(f"request {request}: {exc}") from None
    transcript.input("request", data, path=request, bundle_sha256=bundle.digest_hex)
    entry = next((e for e in bundle.entries if e.gun == gun), None)
    if entry is None:
        raise CeremonyRefused(f"the request has no repository {gun} (it holds "
                              f"{', '.join(bundle.guns[:5])})")
    if not entry.exists:
        raise CeremonyRefused(f"{gun}: the server has no trust data for this repository; "
                              "nothing to import")
    known = ws.latest_root_version(gun)
    if known is not None:
        raise CeremonyRefused(f"{gun}: this workspace already holds its root history (up to "
                              f"v{known}); requests are checked against it, nothing to import")
    history = {n: d for n, d in enumerate(entry.root_history, start=1)}
    roots = {n: read_metadata(d, f"{n}.root.json", Root).signed for n, d in history.items()}
    anchor = next((n for n, r in sorted(roots.items())
                   if set(pins) & set(r.roles[ROOT].keyids)), None)
    if anchor is None:
        raise CeremonyRefused(f"{gun}: no root version lists the pinned root certificate ID(s) "
                              f"{', '.join(pins)}; check the ID (`ceremony verify` shows each "
                              "root's certificate IDs)")
    files = RepositoryFiles(roles=dict(entry.metadata), root_history=history,
                            source="request bundle")
    report = verify_repository(files, gun, root_cert_ids=pins)
    if not report.ok:
        raise CeremonyRefused(f"{gun}: the request's metadata does not verify from the pinned "
                              f"root certificate: {report.errors[0]}")
    pinned = []
    for version in range(anchor, max(history) + 1):
        tx.add_trusted_root(gun, version, history[version])
        pinned.append(version)
    root = roots[max(roots)]
    return {"ceremony": "adopt-import", "gun": gun, "pinned": pinned,
            "root_version": root.version, "root_cert_ids": list(root.roles[ROOT].keyids),
            "request_sha256": bundle.digest_hex,
            "request_words": digest_words(bundle.digest()),
            "warnings": list(report.warnings), "workspace": str(ws.path),
            "previous_root": roots[anchor], "root": root}

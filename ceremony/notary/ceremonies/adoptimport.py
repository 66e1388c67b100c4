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

from collections.abc import Sequence
from typing import Any

from ceremony.ceremonies.errors import CeremonyRefused
from ceremony.ceremonies.session import Console, Options, Session, session
from ceremony.notary.ceremonies.runner import read_request, request_entry
from ceremony.notary.format.model import ROOT, Root
from ceremony.notary.format.repository import RepositoryFiles
from ceremony.notary.format.repository_check import verify_repository
from ceremony.notary.format.serialization import read_metadata
from ceremony.notary.pins import root_cert_ids as parse_root_cert_ids
from groundfloor.words import digest_words


def import_repository(*, request: str, gun: str, root_cert_ids: Sequence[str],
                      workspace: str | None = None, allow_network: bool = False,
                      participants: Sequence[str] = (), console: Console) -> dict[str, Any]:
    """Verify GUN in the request from the pinned IDs and pin its root history; returns a
    summary (with the trusted roots: `previous_root` and `root`)."""
    if not root_cert_ids:
        raise CeremonyRefused("adopt import needs --root-cert-id ID: the root certificate ID you "
                              "already trust (trust_pinning.certs of your clients)")
    pins = parse_root_cert_ids(root_cert_ids)
    options = Options(request=request, workspace=workspace, participants=participants,
                      allow_network=allow_network)
    with session("adopt-import", options, console, create_workspace=True,
                 data={"request": request, "gun": gun, "root_cert_ids": pins}) as s:
        result = _import(s, gun, pins)
        s.finish({"trusted_roots": [[gun, v] for v in result["pinned"]]})
    result["transcript"] = str(s.transcript.path)
    return result


def _import(s: Session, gun: str, pins: list[str]) -> dict[str, Any]:
    ws, tx = s.ws, s.tx
    bundle = read_request(s)
    entry = request_entry(bundle, gun)
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

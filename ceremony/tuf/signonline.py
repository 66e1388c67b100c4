"""The online half of signing metadata made elsewhere: put the proposed file into a request
bundle (`ceremony tuf request-sign`), and take a complete response's file out for a tool that
publishes it itself (`ceremony tuf response-file`: an RSTUF payload for `rstuf admin send
bootstrap FILE`, or the signatures alone). A complete response of a metadata file is applied to
the repository folder with `ceremony tuf apply` (online.py). Nothing here signs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ceremony.tuf.bundles import TufBundleError, TufRequest, TufResponse, request_bundle
from ceremony.tuf.files import read_metadata
from ceremony.tuf.online import current_files
from ceremony.tuf.signceremony import load_proposal, needs_lines
from groundfloor.files import atomic_write
from transfer.systembundle import write_system_bundle


def make_sign_request(folder: Path, name: str, proposed: str, out: str, *,
                      force: bool = False) -> dict[str, Any]:
    """A "sign" request: the repository's current metadata (its root chain above all: the
    offline side follows it from the root it trusts) and the proposed file, by its name."""
    data = read_metadata(proposed)
    file_name = Path(proposed).name
    p = load_proposal(data, file_name)  # refuse what is not TUF metadata before it travels
    files = current_files(folder)
    summary = [f"TUF sign for repository '{name}': {p.role} v{p.version} ({file_name})"[:200],
               f"proposed signed part sha256 {_sha(p.md.signed_bytes())}",
               f"with {len(files)} metadata file(s) of the repository"]
    if p.envelope is not None:
        summary.append("an RSTUF payload (the root inside is signed)")
    request = TufRequest(repository=name, operation="sign", params={"file": file_name},
                         metadata=files, proposed={file_name: data}, summary=tuple(summary))
    bundle = request_bundle(request)
    path = write_system_bundle(out, bundle, overwrite=force)
    return {"request": str(path), "request_sha256": bundle.digest_hex, "role": p.role,
            "version": p.version, "files": sorted(files), "proposed": file_name,
            "repository": name}


def _sha(data: bytes) -> str:
    import hashlib
    return hashlib.sha256(data).hexdigest()


def response_file(response: TufResponse, out: str, *, force: bool = False,
                  request_sha256: str | None = None) -> dict[str, Any]:
    """Write the one file of a complete "sign" response to `out`. A partial response is not
    publishable: refused, naming what it lacks."""
    if response.operation != "sign":
        raise TufBundleError(f"a '{response.operation}' response: apply it with `ceremony tuf "
                             "apply`")
    if response.partial is not None:
        raise TufBundleError("the response is PARTIAL, not publishable: "
                             + "; ".join(needs_lines(response.partial.needed))
                             + ". Co-sign it at a site holding those keys (ceremony tuf "
                             "sign-request --partial)")
    if request_sha256 is not None and response.request_sha256 != request_sha256:
        raise TufBundleError("the response answers another request (request_sha256 differs)")
    if len(response.files) != 1:
        raise TufBundleError(f"a sign response carries one file, this one {len(response.files)}")
    name, data = next(iter(response.files.items()))
    atomic_write(out, data, overwrite=force)
    return {"out": out, "file": name, "repository": response.repository}

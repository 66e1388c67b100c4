"""Stand-ins for a rehearsal (`ceremony run --dry-run`) of a notation script: what the online
machine or another site would have made, made here on throwaway material, said on screen and
recorded in the transcript ("rehearsal" entries).

- a CSR request not given: one CSR from a throwaway software key;
- a signing request not given: two made-up image descriptors of the script's first repository
  (signing is offline: no registry is needed to rehearse it); each signature made is verified
  offline against the rehearsal's root CA;
- serials to revoke that the rehearsal's CA did not issue: the certificates it did issue (in
  the script's rehearsal.setup) are revoked instead.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ceremony.scripts.context import Context, Produced, StepFailed
from ceremony.scripts.record import path_sha256
from ceremony.scripts.schema import Step
from transfer.systembundle import write_system_bundle

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def _record(ctx: Context, action: str, **data: object) -> None:
    ctx.transcript.append("rehearsal", {"action": action, **data})


def stand_in_request(ctx: Context, step: Step, kind: str) -> Produced:
    from ceremony.notation import bundles
    from ceremony.notation.payload import Descriptor
    dest = ctx.out_path(step, f"{step.id}.stand-in.request")
    if kind == "issue":
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        key = ec.generate_private_key(ec.SECP256R1())
        csr = x509.CertificateSigningRequestBuilder().subject_name(
            x509.Name.from_rfc4514_string("CN=rehearsal signer,O=Rehearsal,ST=WA,C=US")
        ).sign(key, hashes.SHA256())
        bundle = bundles.csr_request([("rehearsal-signer", csr)])
        what = "one CSR from a throwaway software key"
    else:
        repo = ctx.script.guns[0] if ctx.script.guns else "registry.example.com/app"
        artifacts = []
        for i in (1, 2):
            body = os.urandom(64)
            artifacts.append((f"{repo}:rehearsal-{i}", Descriptor(
                OCI_MANIFEST, "sha256:" + hashlib.sha256(body).hexdigest(), 400 + i)))
        bundle = bundles.sign_request(artifacts)
        what = f"two made-up image descriptors of {repo}"
    write_system_bundle(dest, bundle, overwrite=True)
    ctx.say(f"  rehearsal: input {step.params['request']!r} is not here; a stand-in request "
            f"({what}) is used: {dest}")
    _record(ctx, "stand-in", step=step.id, input=step.params["request"], what=what,
            bundle_sha256=bundle.digest_hex)
    return Produced(step.params["request"], "request", dest, path_sha256(dest),
                    bundle.digest_hex, auto=True)


def _roots(ctx: Context) -> list[object]:
    from ceremony.notation.castate import CAState, names_in
    from ceremony.workspace import Workspace
    ws = Workspace.open(ctx.workspace)
    return [CAState.from_workspace(ws, name).chain[-1] for name in names_in(ws)]


def verify_signatures(ctx: Context, response: Path) -> None:
    """Each signature of the response verified offline against the rehearsal's root CAs."""
    import datetime as dt

    from ceremony.notation import bundles
    from ceremony.notation.payload import Descriptor
    from ceremony.notation.verify import verify
    bundle = bundles.read(response, "response", "signatures")
    roots = _roots(ctx)
    for entry, envelope in bundles.read_signatures(bundle.content):
        result = verify(envelope, roots, media_type=entry["mediaType"],  # type: ignore[arg-type]
                        expected=Descriptor.from_dict(entry["descriptor"]),
                        at=dt.datetime.now(dt.UTC))
        ctx.say(f"  rehearsal: VERIFIED {entry['reference']} ({entry['mediaType']}) by "
                f"{result.signer}, chained to the rehearsal's root CA")
        ctx.verified.append(f"notation signature on {entry['reference']}")
    _record(ctx, "verified", response=str(response))


def stand_in_serials(ctx: Context, ca: str, serials: list[str]) -> list[str]:
    from ceremony.notation.castate import CAState
    from ceremony.workspace import Workspace
    state = CAState.from_workspace(Workspace.open(ctx.workspace), ca)
    if all(s in state.issued for s in serials):
        return serials
    issued = [s for s in state.issued if s not in state.revoked]
    if not issued:
        raise StepFailed("the rehearsal's CA issued no certificate to revoke: add the steps "
                         "that issue one to the script's rehearsal.setup")
    ctx.say(f"  rehearsal: the certificate(s) to revoke were not issued by the rehearsal's CA "
            f"'{ca}'; revoking what it issued instead: {', '.join(issued)}")
    _record(ctx, "stand-in", what="serials to revoke", serials=issued)
    return issued

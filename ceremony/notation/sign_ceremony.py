"""`ceremony notation sign-descriptors --request REQ --out RESP`: the artifact-signing ceremony,
inside the session frame. The request (from `ceremony notation resolve` on the online machine)
lists references and descriptors; the signing key is on a token and its certificate chain is
the one the workspace's CA issued for that key (or `--chain FILE`). The review shows every
reference, digest, size and media type, the signer's subject and certificate fingerprint (hex
and words), the one signing time of the run and the expiry; after the confirmation each
descriptor is signed (one login) into a response bundle that `attach --response` pushes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding

from ceremony.ceremonies.errors import CeremonyRefused
from ceremony.ceremonies.session import Console, Options, Session
from ceremony.notation import bundles, certs, cose, frame, jws
from ceremony.notation.castate import CAState, issued_chains, spki
from ceremony.notation.payload import COSE_MEDIA_TYPE, JWS_MEDIA_TYPE


def find_chain(s: Session, public_key: Any, at: dt.datetime) -> list[x509.Certificate]:
    """The newest certificate the workspace's CAs issued for this key, valid now and not
    revoked, with its chain."""
    want = spki(public_key)
    found = []
    revoked: dict[str, set[str]] = {}
    for ca, chain in issued_chains(s.tx):
        leaf = chain[0]
        if spki(leaf.public_key()) != want:
            continue
        if ca not in revoked:
            revoked[ca] = set(CAState.from_workspace(s.tx, ca).revoked)
        if f"{leaf.serial_number:x}" in revoked[ca]:
            continue
        if leaf.not_valid_before_utc <= at <= leaf.not_valid_after_utc:
            found.append(chain)
    if not found:
        raise CeremonyRefused("this workspace's CAs issued no valid, unrevoked certificate for "
                              "the signing key: issue one (`ceremony notation ca issue`), or "
                              "give its chain with --chain FILE")
    return max(found, key=lambda c: c[0].not_valid_before_utc)


def sign_request(options: Options, console: Console, *, token: str, label: str,
                 chain: list[x509.Certificate] | None = None, envelope: str = "jws",
                 expiry: dt.timedelta | None = None) -> dict[str, Any]:
    from ceremony.notation.rules import check_signing_certificate
    media = JWS_MEDIA_TYPE if envelope == "jws" else COSE_MEDIA_TYPE
    module = jws if envelope == "jws" else cose
    data = {"request": options.request, "out": options.out, "envelope": media,
            "expiry_days": expiry.days if expiry else None, "key_label": label}
    with frame.notation_session("notation-sign", options, console, data=data) as s:
        request = frame.read_request(s, "sign")
        artifacts = bundles.read_sign_request(request.content)
        tok, info = frame.open_key(s, token, label, "notation signing")
        when = certs.now()
        chain = chain or find_chain(s, info.public_key, when)
        check_signing_certificate(chain[0])
        if spki(chain[0].public_key()) != spki(info.public_key):
            raise CeremonyRefused(f"key '{label}' is not the key of the signing certificate "
                                  f"{chain[0].subject.rfc4514_string()}: give the matching "
                                  "chain")
        leaf = chain[0]
        until = when + expiry if expiry else None
        lines = [f"  request:       bundle sha256 {request.digest_hex}",
                 f"  signer:        {leaf.subject.rfc4514_string()}",
                 *frame.fingerprint("signer certificate", leaf.fingerprint(hashes.SHA256()).hex()),
                 "  chain:         " + " <- ".join(c.subject.rfc4514_string() for c in chain),
                 f"  key:           {frame.key_line(tok, label)}",
                 f"  envelope:      {media}",
                 f"  signing time:  {when.isoformat()}",
                 f"  expiry:        {until.isoformat() if until else 'none'}",
                 f"  artifacts:     {len(artifacts)}"]
        lines += [f"    {ref}  {d.digest}  {d.size} bytes  {d.media_type}"
                  for ref, d in artifacts]
        digest = frame.review(s, f"notation sign: {len(artifacts)} artifact(s) as {media}", lines)
        frame.confirm_review(s, f"Sign {len(artifacts)} artifact(s)", digest)
        key = frame.token_key(tok, label)
        key.require_envelope_signing()
        chain_der = [c.public_bytes(Encoding.DER) for c in chain]
        thumbprints = [c.fingerprint(hashes.SHA256()).hex() for c in chain]
        entries = []
        from transfer.systembundle import b64
        for reference, desc in artifacts:
            sig = module.sign(desc, key, chain_der, signing_time=when, expiry=until)
            entries.append({"reference": reference, "descriptor": desc.to_dict(),
                            "envelope": b64(sig), "mediaType": media,
                            "thumbprints": thumbprints, "signingTime": when.isoformat()})
        s.transcript.append("signed", {"signatures": len(entries), "logins": s.tokens.logins,
                                       "logins_by_token": s.tokens.logins_by_token()})
        tokens = frame.stage_tokens(s)
        frame.record_key(s, tok, info, "signing", [f"subject:{leaf.subject.rfc4514_string()}"],
                   leaf.public_bytes(Encoding.PEM).decode("ascii"))
        response = bundles.signatures_response(request.digest_hex, s.transcript.head, entries)
        written = frame.write_response(s, response)
        s.finish({"notation": {"signed": len(entries)}, "tokens": tokens},
                 signatures=len(entries), logins=s.tokens.logins)
        result = {"ceremony": "notation-sign", "signed": len(entries), "mediaType": media,
                  "signer": leaf.subject.rfc4514_string(), "logins": s.tokens.logins,
                  "request_sha256": request.digest_hex, "review_sha256": digest, **written}
    result.update(s.transcript_fields())
    return result

"""A CSR for a signing key on a token, made inside the session frame and packed straight into a
notation request bundle (type `issue`) for `ca issue`: the key is generated on the token if
asked and missing (custody recorded), the review shows the subject and the key's SHA-256 in
hex and words, and the token signs the CSR only after the confirmation. Used by the script
action `notation-csr` (a signing token prepared at the CA's machine, and rehearsals)."""

from __future__ import annotations

from typing import Any

from ceremony.ceremonies.session import Console, Options
from ceremony.notation import bundles, certs
from ceremony.notation.frame import (
    confirm_review,
    fingerprint,
    key_line,
    notation_session,
    open_key,
    record_key,
    review,
    stage_tokens,
    token_key,
    write_response,
)
from ceremony.notation.keyspec import key_spec
from ceremony.notation.review import key_fingerprint


def csr_request(options: Options, console: Console, *, token: str, label: str, subject: str,
                algorithm: str | None = None, name: str | None = None) -> dict[str, Any]:
    xname = certs.parse_subject(subject)
    data = {"subject": subject, "key_label": label, "algorithm": algorithm, "out": options.out}
    with notation_session("notation-csr", options, console, data=data) as s:
        tok, info = open_key(s, token, label, "notation signing key", algorithm)
        spec = key_spec(info.public_key)
        lines = [f"  subject:       {xname.rfc4514_string()}",
                 f"  key:           {spec.name} on {key_line(tok, label)}",
                 *fingerprint("key", key_fingerprint(info.public_key))]
        digest = review(s, "notation csr: a certificate request for a token key", lines)
        confirm_review(s, "Sign the certificate request with the token key", digest)
        csr = certs.signing_request(token_key(tok, label), xname)
        bundle = bundles.csr_request([(name or label, csr)])
        tokens = stage_tokens(s)
        record_key(s, tok, info, "signing", [f"subject:{xname.rfc4514_string()}"])
        written = write_response(s, bundle, "request")
        s.finish({"notation": {"csr": label}, "tokens": tokens}, logins=s.tokens.logins)
        result = {"ceremony": "notation-csr", "subject": xname.rfc4514_string(),
                  "key_sha256": key_fingerprint(info.public_key), "review_sha256": digest,
                  "logins": s.tokens.logins, **written}
    result.update(s.transcript_fields())
    return result

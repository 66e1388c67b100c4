"""Trust material for notation verifiers (trust-store-trust-policy.md; notation-go dir):

    <config>/truststore/x509/ca/<store>/<name>.crt   a pinned root CA (PEM)
    <config>/trustpolicy.json                        the OCI trust policy

The file name is the one notation v1.3.2 (the pinned, tested version) reads: notation-go
v1.3.2 has dir.PathTrustPolicy = "trustpolicy.json" and does not read
`trustpolicy.oci.json`; check again when the pinned version changes. Trusted identities
are the signing certificates' full subjects (`x509.subject: C=.., ST=.., O=.., ...`): the
specification asks for at least C, ST and O in each.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from ceremony.notation.errors import NotationError
from ceremony.notation.files import refuse_existing, write_atomic

POLICY_FILE = "trustpolicy.json"
_STORE_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


def notation_subject(name: x509.Name) -> str:
    """A Name as notation writes identities: 'C=US, ST=WA, O=Example, CN=signer'."""
    parts = name.rfc4514_string().split(",")
    return ", ".join(reversed([p.strip() for p in parts]))


def trust_policy(store: str, *, scopes: list[str], identities: list[str],
                 name: str = "notary-ceremony") -> dict[str, Any]:
    for ident in identities:
        if ident != "*" and not all(f"{k}=" in ident for k in ("C", "ST", "O")):
            raise NotationError(f"trusted identity {ident!r} must name at least C, ST and O "
                                "(notation's rule): give the full signing certificate subject")
    return {"version": "1.0", "trustPolicies": [{
        "name": name, "registryScopes": scopes,
        "signatureVerification": {"level": "strict"},
        "trustStores": [f"ca:{store}"],
        "trustedIdentities": [i if i == "*" else f"x509.subject: {i}" for i in identities],
    }]}


def write_trust_material(config_dir: Path, store: str, roots: list[x509.Certificate], *,
                         scopes: list[str], identities: list[str], force: bool = False
                         ) -> list[Path]:
    """Write the trust store and policy; returns the paths written."""
    if not _STORE_NAME.match(store):
        raise NotationError(f"trust store name {store!r}: use letters, digits, '.', '_', '-'")
    if not scopes:
        raise NotationError("give at least one registry scope, e.g. --scope "
                            "registry.example/app (or '*')")
    policy = trust_policy(store, scopes=scopes, identities=identities or ["*"])
    folder = config_dir / "truststore" / "x509" / "ca" / store
    files = {folder / f"root-{i}.crt": r.public_bytes(Encoding.PEM)
             for i, r in enumerate(roots)}
    files[config_dir / POLICY_FILE] = (json.dumps(policy, indent=2) + "\n").encode()
    refuse_existing(list(files), force)
    for path, data in files.items():
        write_atomic(path, data)
    return list(files)

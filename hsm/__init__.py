"""PKCS#11 tokens: modules, tokens, keys, signing. Knows nothing of TUF.

The API the rest of the project uses (details in docs/hsm.md):

    from hsm import TokenPool

    with TokenPool(pin_source="env:ROOT_A_PIN") as pool:      # one login per token per run
        token = pool.open("pkcs11:token=root-a")               # URI, bare label, or None
        key = token.generate_key("root", "ecdsa-p256")          # -> KeyInfo (custody evidence)
        cert = token.certificate("root", gun="example.com/app") # -> CertificateResult
        signer = token.signer("root")                           # -> TokenSigner (a Signer)
        sig = signer.sign(canonical_signed_bytes)              # Notary method: signer.method
        token.keys()                                            # -> list[KeyInfo]
        pool.logins                                             # C_Login count (1 here)

- `open_token(token, module=None, pin_source=None, pool=None) -> Token` uses a process-wide
  pool, so separate calls for the same token still log in once.
- `Signer` (hsm.signer) is all that code outside `hsm/` needs: `public_key`, `method`,
  `sign(message)`.
- `public_key_der` / `public_key_pem` (hsm.pubkey): SubjectPublicKeyInfo of a public key.
  Notary key objects and key IDs are not made here but in `ceremony.notary.format.keys`.
- Errors are `HSMError` subclasses (hsm.errors) with one-line, PIN-free messages.

Names are imported lazily so that `import hsm.errors` (done by the CLI root) stays cheap.
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "TokenPool": "hsm.session", "open_token": "hsm.session", "default_pool": "hsm.session",
    "TokenInfo": "hsm.session",
    "Token": "hsm.token", "CertificateResult": "hsm.token",
    "KeyInfo": "hsm.keys", "Custody": "hsm.keys", "ALGORITHMS": "hsm.keys",
    "DEFAULT_ALGORITHM": "hsm.keys",
    "TokenSigner": "hsm.tokensigner", "verify_signature": "hsm.tokensigner",
    "Signer": "hsm.signer",
    "public_key_der": "hsm.pubkey", "public_key_pem": "hsm.pubkey",
    "Pkcs11URI": "hsm.uri", "parse_uri": "hsm.uri", "format_uri": "hsm.uri",
    "HSMError": "hsm.errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'hsm' has no attribute {name!r}")

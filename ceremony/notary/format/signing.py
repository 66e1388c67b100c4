"""Signing metadata through the Signer interface, returning exactly the bytes Notary writes.

The domain never sees a private key: a Signer (hsm/signer.py) holds a public key, a method and
`sign(message)`. The message is the canonical signed part. Every signature coming back is
verified before it is written, so a misbehaving token cannot produce a file that clients reject.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from cryptography.hazmat.primitives import serialization

from ceremony.errors import KeyFormatError, SigningError
from ceremony.notary.format.keys import Key
from ceremony.notary.format.model import ROOT, AnySigned, Metadata, Root, Signature
from ceremony.notary.format.serialization import signed_bytes, write_metadata
from ceremony.notary.format.verify import signature_problem
from hsm.signer import Signer


def _spki(public_key: object) -> bytes:
    return public_key.public_bytes(serialization.Encoding.DER,  # type: ignore[attr-defined]
                                   serialization.PublicFormat.SubjectPublicKeyInfo)


def keys_for_signer(signer: Signer, keys: Mapping[str, Key]) -> list[str]:
    """The key IDs among `keys` whose public key is the signer's (a certificate or plain key)."""
    wanted = _spki(signer.public_key)
    matches = []
    for keyid, key in keys.items():
        try:
            if key.spki == wanted:
                matches.append(keyid)
        except KeyFormatError:
            continue
    return matches


def sign_metadata(signed: AnySigned, signers: Sequence[Signer], *,
                  keys: Mapping[str, Key] | None = None,
                  existing: Iterable[Signature] = ()) -> bytes:
    """Sign `signed` with every signer and return the file's bytes, exactly as Notary writes it.

    `keys` are the keys the signatures are for, by key ID: the role's keys (root.role_keys(role),
    a delegation's keys) plus, for a root rotation, the previous root's keys. For a Root they
    default to its own root keys. A signer whose key is not among them is an error, as is a
    signature that does not verify. `existing` signatures (co-signing) are kept, except those by
    a key that signs again now.
    """
    if keys is None:
        if not isinstance(signed, Root):
            raise SigningError("keys are required to sign anything but a root")
        keys = signed.role_keys(ROOT)
    message = signed_bytes(signed)
    new: list[Signature] = []
    for signer in signers:
        keyids = keys_for_signer(signer, keys)
        if not keyids:
            raise SigningError(f"{type(signed).__name__.lower()}: the signer's key is not one of "
                               f"the keys it may sign with ({', '.join(keys) or 'none'})")
        signature = signer.sign(message)
        for keyid in keyids:
            problem = signature_problem(keys[keyid], signer.method, signature, message)
            if problem is not None:
                raise SigningError(f"signature by key {keyid} came back invalid: {problem}")
            new.append(Signature(keyid, signer.method, signature))
    renewed = {sig.keyid for sig in new}
    kept = []
    for sig in existing:
        if sig.keyid in renewed:
            continue
        if sig.keyid in keys:
            problem = signature_problem(keys[sig.keyid], sig.method, sig.sig, message)
            if problem is not None:
                raise SigningError(f"existing signature by key {sig.keyid} is not over this "
                                   f"content: {problem}")
        kept.append(sig)
    return write_metadata(Metadata(signed, kept + new))

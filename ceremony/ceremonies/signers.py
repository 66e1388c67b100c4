"""The signers of one ceremony run, found on its tokens by public key.

What the tokens need to know of a trust system's key is one thing: which public key it is.
A key of any system offers that as `identity`, the DER SubjectPublicKeyInfo of its public key
(or None when its bytes are unusable), whatever wraps it (a Notary certificate, a TUF key
value, an X.509 CA certificate). `CeremonyTokens.locate(keys)` returns a `SignerSet` holding a
signer for each of those keys found on a token, and a ceremony asks it `find(key)`.

    signers = tokens.locate(keys)           # keys: any objects with `identity`
    entry = signers.find(key)               # SignerEntry (signer, token label/serial, key
                                            # label) or None: no token present holds it
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from hsm.pubkey import public_key_der
from hsm.signer import Signer


class PublicKeyIdentity(Protocol):
    """A trust system's public key, as the tokens search for it."""

    @property
    def identity(self) -> bytes | None:
        """DER SubjectPublicKeyInfo of the public key; None if the key is unusable (damaged
        bytes, unknown type): two keys are the same key when their identities are equal and
        not None."""


@dataclass
class SignerEntry:
    """A signer and where its key lives (for reviews, transcripts and missing-key reports)."""

    signer: Signer
    token_label: str
    token_serial: str
    key_label: str


class SignerSet:
    """The signers present in this run, found by public key."""

    def __init__(self) -> None:
        self._by_identity: dict[bytes, SignerEntry] = {}

    def add(self, signer: Signer, *, token_label: str, token_serial: str = "",
            key_label: str = "") -> None:
        self._by_identity[public_key_der(signer.public_key)] = SignerEntry(
            signer, token_label, token_serial, key_label)

    def find(self, key: PublicKeyIdentity) -> SignerEntry | None:
        ident = key.identity
        return self._by_identity.get(ident) if ident is not None else None

    def __len__(self) -> int:
        return len(self._by_identity)

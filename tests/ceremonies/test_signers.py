"""The ceremony's tokens find any trust system's key by its public key alone
(ceremony/ceremonies/signers.py): a key object only needs `identity`, the DER
SubjectPublicKeyInfo. Real SoftHSM tokens; the key objects are the systems' own or a bare one."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from ceremony.ceremonies.signers import SignerSet
from ceremony.ceremonies.tokens import CeremonyTokens
from ceremony.notary.format import key_from_public_key
from hsm.pubkey import public_key_der


@dataclass(frozen=True)
class BareKey:
    """A key of a trust system this tool does not know: nothing but its identity."""

    identity: bytes | None


@pytest.fixture
def tokens(softhsm_env):
    labels = ["root-a", "root-b"]
    with CeremonyTokens(pin_sources=[f"{lb}={softhsm_env.pin_source(lb)}"
                                     for lb in labels]) as t:
        yield t


def _token_key(tokens, label):
    tok = tokens.open(label, "test")
    info, reused = tokens.generate_or_reuse(tok, f"k-{secrets.token_hex(4)}", "ecdsa-p256")
    assert not reused
    return tok, info


def test_a_key_known_only_by_its_identity_is_found_and_signs(tokens):
    tok, info = _token_key(tokens, "root-a")
    _, other = _token_key(tokens, "root-b")
    wanted = BareKey(public_key_der(info.public_key))
    elsewhere = BareKey(public_key_der(ec.generate_private_key(ec.SECP256R1()).public_key()))
    signers = tokens.locate([wanted, elsewhere, BareKey(None)])
    assert len(signers) == 1
    entry = signers.find(wanted)
    assert entry is not None and (entry.token_label, entry.key_label) == ("root-a", info.label)
    assert entry.token_serial == tok.info.serial
    assert signers.find(elsewhere) is None and signers.find(BareKey(None)) is None
    assert signers.find(BareKey(public_key_der(other.public_key))) is None  # not asked for
    # the signer found is the token's key: its signature verifies under the wanted public key
    signature = entry.signer.sign(b"message")
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    info.public_key.verify(encode_dss_signature(r, s), b"message", ec.ECDSA(hashes.SHA256()))


def test_a_notary_key_and_a_bare_key_for_the_same_public_key_are_one_signer(tokens):
    _, info = _token_key(tokens, "root-a")
    notary_key = key_from_public_key(info.public_key)
    signers = tokens.locate([notary_key])
    assert signers.find(BareKey(public_key_der(info.public_key))) is not None
    assert signers.find(notary_key) is signers.find(BareKey(notary_key.identity))
    assert SignerSet().find(notary_key) is None

"""Signing with a chosen hash (TokenSigner.sign_digest / sign_hashed) and P-521 keys, on SoftHSM.

Every signature is checked here with `cryptography` primitives written out, not hsm's helpers.
"""

from __future__ import annotations

import hashlib
import os

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, utils
from pkcs11 import Mechanism

from hsm.errors import AlgorithmError
from hsm.keys import get_algorithm
from hsm.mechanisms import Capabilities, refuse_digest_signing, refuse_unsupported
from hsm.signer import DigestSigner
from hsm.tokensigner import verify_digest_signature, verify_signature

HASH = {"sha256": hashes.SHA256, "sha384": hashes.SHA384, "sha512": hashes.SHA512}
EC_ALGORITHMS = ["ecdsa-p256", "ecdsa-p384"]
RSA_ALGORITHMS = ["rsa-3072", "rsa-4096"]


@pytest.fixture(scope="module")
def p521(keyring):
    """A P-521 key generated on the keyring's token."""
    _, token, _ = keyring
    return token, token.generate_key(f"k-p521-{os.urandom(3).hex()}", "ecdsa-p521")


def _raw_to_der(sig: bytes) -> bytes:
    half = len(sig) // 2
    return utils.encode_dss_signature(int.from_bytes(sig[:half], "big"),
                                      int.from_bytes(sig[half:], "big"))


def test_p521_keys_are_generated_on_the_token_and_sign(p521):
    token, info = p521
    assert info.algorithm == "ecdsa-p521" and info.method == "ecdsa"
    assert isinstance(info.public_key, ec.EllipticCurvePublicKey)
    assert info.public_key.curve.name == "secp521r1"
    assert info.custody is not None and info.custody.ok, info.custody
    listed = {k.label: k for k in token.keys()}
    assert listed[info.label].algorithm == "ecdsa-p521"
    signer = token.signer(info.label)
    sig = signer.sign(b"notary v1 method")
    assert len(sig) == 132  # raw r||s, 66 bytes each
    assert verify_signature(signer.public_key, "ecdsa", b"notary v1 method", sig)


@pytest.mark.parametrize("hash_name", sorted(HASH))
@pytest.mark.parametrize("algorithm", [*EC_ALGORITHMS, "ecdsa-p521"])
def test_ecdsa_signs_the_digest_of_the_chosen_hash(keyring, p521, algorithm, hash_name):
    _, token, _ = keyring
    signer = token.signer(p521[1].label if algorithm == "ecdsa-p521" else f"k-{algorithm}")
    assert isinstance(signer, DigestSigner)
    message = b"{\"payload\": 1}" + os.urandom(40)
    sig = signer.sign_hashed(message, hash_name)
    width = (signer.public_key.curve.key_size + 7) // 8
    assert len(sig) == 2 * width
    signer.public_key.verify(_raw_to_der(sig), message, ec.ECDSA(HASH[hash_name]()))
    digest = hashlib.new(hash_name, message).digest()
    again = signer.sign_digest(digest, hash_name)
    signer.public_key.verify(_raw_to_der(again), message, ec.ECDSA(HASH[hash_name]()))
    other = "sha256" if hash_name != "sha256" else "sha384"
    with pytest.raises(InvalidSignature):
        signer.public_key.verify(_raw_to_der(sig), message, ec.ECDSA(HASH[other]()))


@pytest.mark.parametrize("hash_name", sorted(HASH))
@pytest.mark.parametrize("algorithm", RSA_ALGORITHMS)
def test_rsa_pss_uses_mgf1_and_salt_of_the_chosen_hash(keyring, algorithm, hash_name):
    _, token, _ = keyring
    signer = token.signer(f"k-{algorithm}")
    message = os.urandom(100)
    sig = signer.sign_hashed(message, hash_name)
    h = HASH[hash_name]
    signer.public_key.verify(sig, message, padding.PSS(mgf=padding.MGF1(h()),
                                                       salt_length=h.digest_size), h())
    with pytest.raises(InvalidSignature):  # the salt is exactly the hash length
        signer.public_key.verify(sig, message, padding.PSS(mgf=padding.MGF1(h()),
                                                           salt_length=h.digest_size - 1), h())


@pytest.mark.parametrize("hash_name", sorted(HASH))
def test_rsa_pkcs1v15_digest_info_matches_the_tokens_own_hash_mechanism(keyring, hash_name):
    """PKCS#1 v1.5 is deterministic: CKM_RSA_PKCS over our DigestInfo must give the very bytes
    of the token's CKM_SHA*_RSA_PKCS over the message."""
    _, token, _ = keyring
    signer = token.signer("k-rsa-3072")
    message = b"tbsCertificate " + os.urandom(30)
    sig = signer.sign_hashed(message, hash_name, padding="pkcs1v15")
    h = HASH[hash_name]
    signer.public_key.verify(sig, message, padding.PKCS1v15(), h())
    mech = {"sha256": Mechanism.SHA256_RSA_PKCS, "sha384": Mechanism.SHA384_RSA_PKCS,
            "sha512": Mechanism.SHA512_RSA_PKCS}[hash_name]
    # the token's own answer, through the same logged-in session (a cross-check, not the API)
    assert bytes(signer._key.sign(message, mechanism=mech)) == sig


def test_sha256_digest_signing_matches_notary_v1_verification(keyring):
    """sign_digest(sha256) makes what Notary v1's `sign` makes: both verify the same way."""
    _, token, _ = keyring
    for label, method in (("k-ecdsa-p256", "ecdsa"), ("k-rsa-3072", "rsapss")):
        signer = token.signer(label)
        sig = signer.sign_hashed(b"same bytes", "sha256")
        assert verify_signature(signer.public_key, method, b"same bytes", sig)


def test_refusals_are_one_line_and_sign_nothing(keyring):
    _, token, _ = keyring
    ed = token.signer("k-ed25519")
    with pytest.raises(AlgorithmError, match="cannot sign a prehashed digest"):
        ed.sign_hashed(b"x", "sha512")
    with pytest.raises(AlgorithmError, match="cannot sign a prehashed digest") as caught:
        ed.require_digest_signing("sha512")  # the up-front check, before any review
    assert "\n" not in str(caught.value)
    token.signer("k-rsa-4096").require_digest_signing("sha512", padding="pkcs1v15")  # can
    ec_signer = token.signer("k-ecdsa-p256")
    with pytest.raises(AlgorithmError, match="unsupported hash 'sha1'"):
        ec_signer.sign_hashed(b"x", "sha1")
    with pytest.raises(AlgorithmError, match="a sha384 digest is 48 bytes, not 32"):
        ec_signer.sign_digest(hashlib.sha256(b"x").digest(), "sha384")
    with pytest.raises(AlgorithmError, match="unknown RSA padding 'oaep'"):
        token.signer("k-rsa-3072").sign_hashed(b"x", "sha256", padding="oaep")


def test_a_wrong_signature_never_verifies(keyring):
    _, token, _ = keyring
    signer = token.signer("k-rsa-3072")
    digest = hashlib.sha384(b"a").digest()
    sig = signer.sign_digest(digest, "sha384")
    assert verify_digest_signature(signer.public_key, digest, "sha384", sig)
    assert not verify_digest_signature(signer.public_key, hashlib.sha384(b"b").digest(),
                                       "sha384", sig)
    assert not verify_digest_signature(signer.public_key, digest, "sha384", sig,
                                       padding="pkcs1v15")


# A module's mechanism list as a value: what openCryptoki 3.8 and a TPM 2.0 report (measured,
# see tests/modules/conftest.py); the refusal logic is exercised on it without a token.
OPENCRYPTOKI_LIKE = Capabilities(frozenset({int(Mechanism.RSA_PKCS_KEY_PAIR_GEN),
                                            int(Mechanism.RSA_PKCS)}),
                                 {int(Mechanism.RSA_PKCS_KEY_PAIR_GEN): (512, 4096)})
TPM_LIKE = Capabilities(frozenset({int(Mechanism.EC_KEY_PAIR_GEN), int(Mechanism.ECDSA)}),
                        {int(Mechanism.EC_KEY_PAIR_GEN): (256, 384)})


def test_missing_digest_mechanism_is_refused_before_signing():
    with pytest.raises(AlgorithmError) as caught:
        refuse_digest_signing(OPENCRYPTOKI_LIKE, "rsapss", "pss", "oc", "ca")
    assert str(caught.value) == ("token 'oc' cannot sign with key 'ca': it has no "
                                 "CKM_RSA_PKCS_PSS; nothing was signed")
    refuse_digest_signing(OPENCRYPTOKI_LIKE, "rsapss", "pkcs1v15", "oc", "ca")  # has CKM_RSA_PKCS


def test_p521_generation_is_refused_where_the_ec_generator_stops_at_p384():
    with pytest.raises(AlgorithmError) as caught:
        refuse_unsupported(TPM_LIKE, get_algorithm("ecdsa-p521"), "tpm", "libtpm2_pkcs11.so")
    assert "CKM_EC_KEY_PAIR_GEN makes EC keys of 256-384 bits" in str(caught.value)
    assert "nothing was generated" in str(caught.value)
    assert "\n" not in str(caught.value)
    refuse_unsupported(TPM_LIKE, get_algorithm("ecdsa-p384"), "tpm", "libtpm2_pkcs11.so")
    assert "ecdsa-p521" not in TPM_LIKE.algorithms()

"""Signing through the Signer interface, one login per token, and PIN handling on SoftHSM."""

from __future__ import annotations

import hashlib
import os

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, utils
from pkcs11 import exceptions as p11

from hsm.errors import PinIncorrectError, PinLockedError
from hsm.session import TokenPool, login_error
from hsm.signer import Signer
from hsm.tokensigner import verify_signature
from tests.hsm.conftest import ALL_ALGORITHMS

METHODS = {"ecdsa-p256": "ecdsa", "ecdsa-p384": "ecdsa", "rsa-3072": "rsapss",
           "rsa-4096": "rsapss", "ed25519": "eddsa"}
MESSAGES = [b"", b"{\"signed\":1}", os.urandom(3000)]


def _verify_independently(public_key, method, message, sig):
    """Verification written out with `cryptography` primitives, not hsm's helper."""
    if method == "ecdsa":
        size = (public_key.curve.key_size + 7) // 8
        assert len(sig) == 2 * size  # raw r||s, not DER
        r, s = int.from_bytes(sig[:size], "big"), int.from_bytes(sig[size:], "big")
        public_key.verify(utils.encode_dss_signature(r, s), message, ec.ECDSA(hashes.SHA256()))
    elif method == "rsapss":
        assert len(sig) == public_key.key_size // 8
        public_key.verify(sig, message, padding.PSS(mgf=padding.MGF1(hashes.SHA256()),
                                                    salt_length=32), hashes.SHA256())
    else:
        assert len(sig) == 64
        public_key.verify(sig, message)


@pytest.mark.parametrize("algorithm", ALL_ALGORITHMS)
def test_signatures_verify(keyring, algorithm):
    _, token, keys = keyring
    signer = token.signer(f"k-{algorithm}")
    assert isinstance(signer, Signer)
    assert signer.method == METHODS[algorithm]
    assert signer.public_key == keys[algorithm].public_key
    for message in MESSAGES:
        sig = signer.sign(message)
        _verify_independently(signer.public_key, signer.method, message, sig)
        assert verify_signature(signer.public_key, signer.method, message, sig)
        assert not verify_signature(signer.public_key, signer.method, message + b"x", sig)
    with pytest.raises(InvalidSignature):
        _verify_independently(signer.public_key, signer.method, b"other", signer.sign(b"one"))


def test_rsa_pss_salt_is_32(keyring):
    _, token, _ = keyring
    signer = token.signer("k-rsa-3072")
    sig = signer.sign(b"salt check")
    with pytest.raises(InvalidSignature):  # a different salt length must not verify
        signer.public_key.verify(sig, b"salt check", padding.PSS(
            mgf=padding.MGF1(hashes.SHA256()), salt_length=20), hashes.SHA256())


def test_ecdsa_signs_the_sha256_digest(keyring):
    """CKM_ECDSA gets SHA-256(message): the signature verifies as a prehashed one."""
    _, token, _ = keyring
    signer = token.signer("k-ecdsa-p256")
    sig = signer.sign(b"abc")
    der = utils.encode_dss_signature(int.from_bytes(sig[:32], "big"),
                                     int.from_bytes(sig[32:], "big"))
    signer.public_key.verify(der, hashlib.sha256(b"abc").digest(),
                             ec.ECDSA(utils.Prehashed(hashes.SHA256())))


def test_one_login_per_token_across_signers_and_signatures(softhsm_env):
    with TokenPool(pin_source=softhsm_env.pin_source("targets")) as pool:
        first = pool.open("pkcs11:token=targets")
        first.generate_key("t-one", "ecdsa-p256")
        first.generate_key("t-two", "ed25519")
        second = pool.open("targets")  # a label, same token
        signers = [first.signer("t-one"), second.signer("t-two"), second.signer("t-one")]
        for i in range(200):
            signers[i % 3].sign(b"metadata %d" % i)
        first.keys()
        second.certificate("t-one", "example.com/login-once")
        assert pool.logins == 1
        assert pool.logins_by_token() == {"targets": 1}
        # A second token is a second login, and only one.
        spare = pool.open("spare", pin_source=softhsm_env.pin_source("spare"))
        spare.keys()
        spare.keys()
        assert pool.logins == 2 and pool.logins_by_token() == {"targets": 1, "spare": 1}


def test_login_is_shared_across_pools_in_a_process(softhsm_env):
    """PKCS#11 login state is per process: a second pool reuses it instead of failing with
    CKR_USER_ALREADY_LOGGED_IN, and the token stays logged in until the last pool closes."""
    a = TokenPool(pin_source=softhsm_env.pin_source("targets"))
    b = TokenPool(pin_source="env:NO_SUCH_PIN_VARIABLE")
    try:
        a.open("targets").generate_key("t-shared", "ecdsa-p256")  # its own key: no test order
        signer = b.open("targets").signer("t-shared")
        a.close()
        signer.sign(b"still logged in")
        assert (a.logins, b.logins) == (1, 0)
    finally:
        a.close()
        b.close()


def test_wrong_pin_then_count_low_warning(softhsm_env, monkeypatch):
    real = softhsm_env.pin("spare")
    monkeypatch.setenv("TEST_WRONG_PIN", "wrong-" + real[:3])
    with TokenPool(pin_source="env:TEST_WRONG_PIN") as pool, \
            pytest.raises(PinIncorrectError) as exc:
        pool.open("spare").keys()
    text = str(exc.value)
    assert "wrong PIN for token 'spare'" in text and "CKR_PIN_INCORRECT" in text
    assert real not in text and "wrong-" not in text
    assert real not in repr(exc.value.args) and exc.value.__cause__ is None
    # SoftHSM now sets CKF_USER_PIN_COUNT_LOW; the next successful login warns about it.
    with TokenPool(pin_source=softhsm_env.pin_source("spare")) as pool:
        pool.open("spare").keys()
        assert any("CKF_USER_PIN_COUNT_LOW" in w for w in pool.warnings), pool.warnings
        assert all(real not in w for w in pool.warnings)


def test_softhsm_never_locks_the_pin(softhsm_env, monkeypatch):
    """SoftHSM 2 counts no attempts and never answers CKR_PIN_LOCKED: after many wrong PINs
    it still says CKR_PIN_INCORRECT and the right PIN still works. Locking is token policy;
    the CKR_PIN_LOCKED path is covered below with python-pkcs11's own exception."""
    monkeypatch.setenv("TEST_WRONG_PIN", "0000")
    for _ in range(12):
        with TokenPool(pin_source="env:TEST_WRONG_PIN") as pool, \
                pytest.raises(PinIncorrectError):
            pool.open("spare").login()
    with TokenPool(pin_source=softhsm_env.pin_source("spare")) as pool:
        pool.open("spare").login()
        assert pool.logins == 1


def test_locked_pin_message():
    err = login_error(p11.PinLocked(), "root-a")
    assert isinstance(err, PinLockedError)
    assert str(err).startswith("the user PIN of token 'root-a' is locked (CKR_PIN_LOCKED)")
    assert "security officer" in str(err)
    from pkcs11 import TokenFlag
    err = login_error(p11.PinIncorrect(), "root-a", int(TokenFlag.USER_PIN_FINAL_TRY))
    assert "one more wrong PIN will LOCK it" in str(err)
    err = login_error(p11.PinIncorrect(), "root-a", int(TokenFlag.USER_PIN_LOCKED))
    assert "now LOCKED" in str(err)


def test_reprs_hold_no_pin(keyring, softhsm_env):
    pool, token, _ = keyring
    pin = softhsm_env.pin("root-a")
    for obj in (pool, token, token.signer("k-ecdsa-p256"), token.info, token.keys()):
        assert pin not in repr(obj)

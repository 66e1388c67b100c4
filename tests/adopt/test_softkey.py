"""Software key files as the Notary and Docker clients write them, read in memory only.

Current format: made here by the REAL notary client (`notary key generate`, and the targets key
of a repository it made). Legacy format (`BEGIN EC PRIVATE KEY`, `Proc-Type: 4,ENCRYPTED`,
`DEK-Info: AES-256-CBC,...`, `role: root`): no client old enough to write it is at hand, so the
files are made with the two encoders that write the same thing as Go's x509.EncryptPEMBlock
(OpenSSL's `openssl ec -aes256` and `cryptography`'s TraditionalOpenSSL with a password), with
the `role: root` header line older notary clients added.
"""

from __future__ import annotations

import os
import subprocess

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from ceremony.notary.format.keys import key_from_public_key
from ceremony.secrets import contains_secret
from ceremony.softkey import (
    ENCRYPTED_PKCS8,
    LEGACY_PEM,
    SoftKeyError,
    read_key_file,
    read_passphrase,
    unlock,
)
from hsm.pin import Pin

PASSPHRASE = "correct horse battery staple 7"


def _verifies(signer, message=b"signed part") -> bool:
    sig = signer.sign(message)
    half = len(sig) // 2
    der = encode_dss_signature(int.from_bytes(sig[:half], "big"), int.from_bytes(sig[half:], "big"))
    signer.public_key.verify(der, message, ec.ECDSA(hashes.SHA256()))
    return True


def notary_key(tmp_path, role="root"):
    env = dict(os.environ, NOTARY_ROOT_PASSPHRASE=PASSPHRASE, NOTARY_TARGETS_PASSPHRASE=PASSPHRASE)
    subprocess.run(["notary", "-d", str(tmp_path / "trust"), "key", "generate", "ecdsa", "--role",
                    role], env=env, check=True, capture_output=True, stdin=subprocess.DEVNULL)
    return next((tmp_path / "trust" / "private").glob("*.key"))


def test_a_real_notary_key_file_is_read_with_its_passphrase(tmp_path):
    path = notary_key(tmp_path)
    text = path.read_text()
    assert text.startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----\nrole: root\n")
    kf = read_key_file(path)
    assert (kf.form, kf.role, kf.gun) == (ENCRYPTED_PKCS8, "root", "")
    signer = unlock(kf, Pin(PASSPHRASE))
    # The client names the file by the canonical key ID of its public key.
    assert key_from_public_key(signer.public_key).key_id == path.stem
    assert signer.method == "ecdsa" and _verifies(signer)
    with pytest.raises(SoftKeyError, match="already used for its one signature"):
        signer.sign(b"a second message")
    assert path.read_text() == text  # read, never rewritten
    with pytest.raises(SoftKeyError, match="wrong passphrase"):
        unlock(kf, Pin("not the passphrase"))
    with pytest.raises(SoftKeyError, match="a passphrase is needed"):
        unlock(kf, None)


def _with_role_header(pem: bytes) -> bytes:
    lines = pem.decode().splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("DEK-Info:"))
    return ("\n".join(lines[:at + 1] + ["role: root"] + lines[at + 1:]) + "\n").encode()


@pytest.mark.parametrize("maker", ["openssl", "cryptography"])
def test_a_legacy_openssl_encrypted_key_file_is_read(tmp_path, maker):
    private = ec.generate_private_key(ec.SECP256R1())
    plain = private.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.TraditionalOpenSSL,
                                  serialization.NoEncryption())
    if maker == "openssl":
        pem = subprocess.run(["openssl", "ec", "-aes256", "-passout", "env:LEGACY_PASS"],
                             input=plain, capture_output=True, check=True,
                             env=dict(os.environ, LEGACY_PASS=PASSPHRASE)).stdout
    else:
        pem = private.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.TraditionalOpenSSL,
                                    serialization.BestAvailableEncryption(PASSPHRASE.encode()))
    assert b"Proc-Type: 4,ENCRYPTED" in pem and b"DEK-Info: AES-256-CBC," in pem
    path = tmp_path / "legacy.key"
    path.write_bytes(_with_role_header(pem))
    kf = read_key_file(path)
    assert (kf.form, kf.role, kf.block_type) == (LEGACY_PEM, "root", "EC PRIVATE KEY")
    signer = unlock(kf, Pin(PASSPHRASE))
    assert signer.public_key.public_numbers() == private.public_key().public_numbers()
    assert _verifies(signer)
    with pytest.raises(SoftKeyError, match="wrong passphrase"):
        unlock(kf, Pin(PASSPHRASE + "x"))


def test_passphrase_sources_never_argv(tmp_path, monkeypatch):
    monkeypatch.setenv("ROOT_KEY_PASSPHRASE", PASSPHRASE)
    assert read_passphrase("env:ROOT_KEY_PASSPHRASE", "the root key").reveal() == PASSPHRASE
    assert contains_secret(f"oops {PASSPHRASE}")  # registered: no output can carry it
    secret = tmp_path / "pass"
    secret.write_text("from a file 123\n")
    assert read_passphrase(f"file:{secret}", "the root key").reveal() == "from a file 123"
    assert repr(read_passphrase(f"file:{secret}", "k")) == "Pin(<redacted>)"
    with pytest.raises(SoftKeyError) as exc:
        read_passphrase("hunter2-typed-by-mistake", "the root key")
    assert "hunter2" not in str(exc.value) and "passphrase source" in str(exc.value)
    monkeypatch.delenv("ROOT_KEY_PASSPHRASE")
    with pytest.raises(SoftKeyError, match="empty passphrase from environment variable"):
        read_passphrase("env:ROOT_KEY_PASSPHRASE", "the root key")


def test_files_that_are_not_client_key_files(tmp_path):
    cert = tmp_path / "cert.pem"
    cert.write_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    with pytest.raises(SoftKeyError, match="not a Notary/Docker private key file"):
        read_key_file(cert)
    with pytest.raises(SoftKeyError, match="does not exist"):
        read_key_file(tmp_path / "missing.key")
    two = tmp_path / "two.key"
    two.write_text(notary_key(tmp_path).read_text() * 2)
    with pytest.raises(SoftKeyError, match="exactly one PEM private key block"):
        read_key_file(two)

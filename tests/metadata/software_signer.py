"""A test double for hsm.signer.Signer: signs in software with a `cryptography` private key.

Never used outside tests. It returns what a token returns: raw r||s for ECDSA (what CKM_ECDSA
gives over a SHA-256 digest), PSS with salt 32 for RSA, plain Ed25519.
"""

from __future__ import annotations

import os
import subprocess

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature


class SoftwareSigner:
    """Signer protocol over an in-memory private key (test double)."""

    def __init__(self, private_key: PrivateKeyTypes, method: str | None = None) -> None:
        self.private_key = private_key
        if method is None:
            method = ("ecdsa" if isinstance(private_key, ec.EllipticCurvePrivateKey) else
                      "rsapss" if isinstance(private_key, rsa.RSAPrivateKey) else "eddsa")
        self._method = method

    @property
    def public_key(self) -> PublicKeyTypes:
        return self.private_key.public_key()

    @property
    def method(self) -> str:
        return self._method

    def sign(self, message: bytes) -> bytes:
        key = self.private_key
        if isinstance(key, ec.EllipticCurvePrivateKey):
            r, s = decode_dss_signature(key.sign(message, ec.ECDSA(hashes.SHA256())))
            size = (key.curve.key_size + 7) // 8
            return r.to_bytes(size, "big") + s.to_bytes(size, "big")
        if isinstance(key, rsa.RSAPrivateKey):
            if self._method == "rsapkcs1v15":
                return key.sign(message, padding.PKCS1v15(), hashes.SHA256())
            return key.sign(message, padding.PSS(mgf=padding.MGF1(hashes.SHA256()),
                                                 salt_length=32), hashes.SHA256())
        if isinstance(key, ed25519.Ed25519PrivateKey):
            return key.sign(message)
        raise TypeError(f"unsupported key {type(key).__name__}")


def load_notary_private_key(pem: bytes, passphrase: str) -> PrivateKeyTypes:
    """A private key file from a notary client trust dir (encrypted PKCS#8 with role/gun headers).

    Decrypted with the openssl CLI: `cryptography` refuses Notary's PBES2 parameters.
    """
    lines = pem.decode().splitlines()
    body = "\n".join(line for line in lines if ":" not in line and line.strip()) + "\n"
    clear = subprocess.run(["openssl", "pkcs8", "-passin", "env:NOTARY_KEY_PASSPHRASE"],
                           input=body.encode(), capture_output=True, check=True,
                           env={**os.environ, "NOTARY_KEY_PASSPHRASE": passphrase}).stdout
    return serialization.load_pem_private_key(clear, password=None)

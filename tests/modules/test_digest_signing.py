"""hsm's digest signing with a chosen hash (sign_digest / sign_hashed) on every module (`case`):
ECDSA and RSA-PSS with SHA-256/384/512 and PKCS#1 v1.5, each signature checked with
`cryptography` primitives (the refusals: tests/hsm/test_digest_signing.py). Measured: SoftHSM,
tpm2-pkcs11 and openCryptoki 3.8 all sign PSS with SHA-384/512 digests and PKCS#1 v1.5."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, utils

from tests.modules.conftest import Case, unique

pytestmark = pytest.mark.xdist_group("pkcs11-modules")
HASH = {"sha256": hashes.SHA256, "sha384": hashes.SHA384, "sha512": hashes.SHA512}


def test_every_supported_key_signs_with_every_hash(case: Case) -> None:
    with case.pool() as pool:
        token = pool.open(f"pkcs11:token={case.root}")
        for algorithm in case.supported:
            if algorithm == "ed25519":
                continue
            label = unique(f"digest-{algorithm}")
            token.generate_key(label, algorithm)
            signer = token.signer(label)
            for name, h in HASH.items():
                message = b"signed by digest " + os.urandom(8)
                sig = signer.sign_hashed(message, name)
                key = signer.public_key
                if isinstance(key, ec.EllipticCurvePublicKey):
                    half = len(sig) // 2
                    der = utils.encode_dss_signature(int.from_bytes(sig[:half], "big"),
                                                     int.from_bytes(sig[half:], "big"))
                    key.verify(der, message, ec.ECDSA(h()))
                else:
                    key.verify(sig, message, padding.PSS(mgf=padding.MGF1(h()),
                                                         salt_length=h.digest_size), h())
                    v15 = signer.sign_hashed(message, name, padding="pkcs1v15")
                    key.verify(v15, message, padding.PKCS1v15(), h())


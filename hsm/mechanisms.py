"""What a token can do, asked of the token itself (C_GetMechanismList / C_GetMechanismInfo).

Modules differ: SoftHSM offers every algorithm here; a TPM 2.0 (tpm2-pkcs11) has no Ed25519 and
RSA up to 3072 bits; openCryptoki's software token (Debian's 3.8) has RSA only, no EC at all,
and no CKM_SHA256_RSA_PKCS; a TPM's EC generator stops at P-384. A key generation is refused
BEFORE any login or generation when the token lacks a mechanism (or, for RSA and EC, the key
size), with one line naming the token, its module and the mechanism. Signing with a chosen hash
(`TokenSigner.sign_digest`) is checked the same way before the token is asked to sign.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from pkcs11 import Mechanism
from pkcs11 import exceptions as p11

from hsm.errors import AlgorithmError
from hsm.keys import ALGORITHMS, Algorithm

# Notary signature method -> the signing mechanism the token must offer.
SIGN_MECHANISMS = {"ecdsa": Mechanism.ECDSA, "rsapss": Mechanism.RSA_PKCS_PSS,
                   "eddsa": Mechanism.EDDSA}
# (signature method, RSA padding) -> the mechanism that signs a digest hashed by this tool.
# CKM_RSA_PKCS signs DigestInfo || digest (PKCS#1 v1.5), for X.509 and where PSS is not wanted.
DIGEST_MECHANISMS = {("ecdsa", None): Mechanism.ECDSA, ("rsapss", "pss"): Mechanism.RSA_PKCS_PSS,
                     ("rsapss", "pkcs1v15"): Mechanism.RSA_PKCS}
# Generators whose key-size range (CK_MECHANISM_INFO, in bits) is checked against the key.
SIZED_GENERATORS = (Mechanism.RSA_PKCS_KEY_PAIR_GEN, Mechanism.EC_KEY_PAIR_GEN)


def mechanism_name(mech: Any) -> str:
    try:
        return f"CKM_{Mechanism(mech).name}"
    except ValueError:
        return f"mechanism 0x{int(mech):08x}"


@dataclass(frozen=True)
class Capabilities:
    """A token's mechanisms; `known` is False when the token would not list them."""

    mechanisms: frozenset[int]
    key_sizes: dict[int, tuple[int, int]]  # mechanism -> (min, max) as the token reports
    known: bool = True
    broken: dict[str, str] = field(default_factory=dict)  # algorithm -> why (KNOWN_BROKEN)

    def has(self, mech: Mechanism) -> bool:
        return not self.known or int(mech) in self.mechanisms

    def missing_for(self, alg: Algorithm) -> str | None:
        """Why the token cannot make and use keys of `alg`, or None if it can."""
        if alg.name in self.broken:
            return self.broken[alg.name]
        for mech in (alg.gen_mechanism, SIGN_MECHANISMS[alg.method]):
            if not self.has(mech):
                return f"no {mechanism_name(mech)}"
        if alg.gen_mechanism in SIZED_GENERATORS and int(alg.gen_mechanism) in self.key_sizes:
            low, high = self.key_sizes[int(alg.gen_mechanism)]
            kind = "RSA" if alg.is_rsa else "EC"
            # Some modules give EC sizes in bytes (e.g. 32-66) or 0: only a range that reads
            # as bits (a maximum of 256 or more) is held against the curve.
            if high and (alg.is_rsa or high >= 256) and not low <= alg.bits <= high:
                return f"{mechanism_name(alg.gen_mechanism)} makes {kind} keys of {low}-{high} bits"
        return None

    def algorithms(self) -> list[str]:
        """The algorithms of this tool the token can generate and sign with."""
        return [name for name, alg in ALGORITHMS.items() if self.missing_for(alg) is None]


# Algorithms a module lists every mechanism and key size for, yet cannot use (measured; keyed
# by its C_GetInfo library description). tpm2-pkcs11 1.9 (Debian bookworm, on swtpm 0.7) reports
# EC keys of 192-638 bits and generates a P-521 key, but C_Sign with it fails
# (CKR_HOST_MEMORY): its own DER parser refuses the 133-byte EC point as "too long".
KNOWN_BROKEN: dict[str, dict[str, str]] = {
    "TPM2.0 Cryptoki": {"ecdsa-p521": "tpm2-pkcs11 makes P-521 keys it cannot sign with "
                                      "(CKM_ECDSA fails with CKR_HOST_MEMORY)"},
}


def capabilities(slot: Any, library_description: str = "") -> Capabilities:
    """Read a slot's mechanism list and the key sizes of its key-pair generators."""
    broken = KNOWN_BROKEN.get(library_description.strip(), {})
    try:
        mechs = frozenset(int(m) for m in slot.get_mechanisms())
    except p11.PKCS11Error:
        return Capabilities(frozenset(), {}, known=False, broken=broken)
    sizes: dict[int, tuple[int, int]] = {}
    for mech in SIZED_GENERATORS:
        if int(mech) in mechs:
            try:
                info = slot.get_mechanism_info(mech)
                sizes[int(mech)] = (int(info.min_key_length), int(info.max_key_length))
            except p11.PKCS11Error:
                pass
    return Capabilities(mechs, sizes, broken=broken)


def refuse_digest_signing(caps: Capabilities, method: str, rsa_padding: str | None,
                          token_label: str, key_label: str) -> None:
    """Raise the one-line refusal when the token cannot sign a digest the way asked."""
    mech = DIGEST_MECHANISMS.get((method, rsa_padding))
    if mech is None:
        raise AlgorithmError(f"key '{key_label}' on token '{token_label}' is a {method} key, "
                             "which cannot sign a prehashed digest (Ed25519 signs the message "
                             "itself)" if method == "eddsa" else
                             f"unknown padding {rsa_padding!r} for a {method} key: choose pss "
                             "or pkcs1v15")
    if not caps.has(mech):
        raise AlgorithmError(f"token '{token_label}' cannot sign with key '{key_label}': it has "
                             f"no {mechanism_name(mech)}; nothing was signed")


def module_name(path: str, description: str = "") -> str:
    """How a module is named in messages: its file name and what it says it is."""
    base = os.path.basename(path)
    return f"{base} ({description})" if description else base


def refuse_unsupported(caps: Capabilities, alg: Algorithm, token_label: str,
                       module: str) -> None:
    """Raise the one-line refusal when the token cannot do `alg`."""
    missing = caps.missing_for(alg)
    if missing is None:
        return
    offered = ", ".join(caps.algorithms()) or "none of this tool's algorithms"
    raise AlgorithmError(f"token '{token_label}' (module {module}) cannot make {alg.name} keys: "
                         f"{missing}; it offers {offered}; nothing was generated")


# Modules known (by their C_GetInfo library description) to reject a sign-only key template
# with CKR_GENERAL_ERROR, after printing errors of their own: tpm2-pkcs11 makes every TPM key
# with the decrypt attribute. Others are tried sign-only first and retried if they refuse.
NO_SIGN_ONLY_KEYS = {"TPM2.0 Cryptoki"}


def sign_only_keys(library_description: str) -> bool:
    """Whether to ask the module for a sign-only key (CKA_DECRYPT/CKA_ENCRYPT false)."""
    return library_description.strip() not in NO_SIGN_ONLY_KEYS

"""What a token can do, asked of the token itself (C_GetMechanismList / C_GetMechanismInfo).

Modules differ: SoftHSM offers every algorithm here; a TPM 2.0 (tpm2-pkcs11) has no Ed25519 and
RSA up to 3072 bits; openCryptoki's software token (Debian's 3.8) has RSA only, no EC at all,
and no CKM_SHA256_RSA_PKCS. A key generation is refused BEFORE any login or generation when the
token lacks a mechanism, with one line naming the token, its module and the mechanism.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from pkcs11 import Mechanism
from pkcs11 import exceptions as p11

from hsm.errors import AlgorithmError
from hsm.keys import ALGORITHMS, Algorithm

# Notary signature method -> the signing mechanism the token must offer.
SIGN_MECHANISMS = {"ecdsa": Mechanism.ECDSA, "rsapss": Mechanism.RSA_PKCS_PSS,
                   "eddsa": Mechanism.EDDSA}


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

    def has(self, mech: Mechanism) -> bool:
        return not self.known or int(mech) in self.mechanisms

    def missing_for(self, alg: Algorithm) -> str | None:
        """Why the token cannot make and use keys of `alg`, or None if it can."""
        for mech in (alg.gen_mechanism, SIGN_MECHANISMS[alg.method]):
            if not self.has(mech):
                return f"no {mechanism_name(mech)}"
        if alg.is_rsa and int(alg.gen_mechanism) in self.key_sizes:
            low, high = self.key_sizes[int(alg.gen_mechanism)]
            if high and not low <= alg.bits <= high:
                return f"{mechanism_name(alg.gen_mechanism)} makes RSA keys of {low}-{high} bits"
        return None

    def algorithms(self) -> list[str]:
        """The algorithms of this tool the token can generate and sign with."""
        return [name for name, alg in ALGORITHMS.items() if self.missing_for(alg) is None]


def capabilities(slot: Any) -> Capabilities:
    """Read a slot's mechanism list and the key sizes of its key-pair generators."""
    try:
        mechs = frozenset(int(m) for m in slot.get_mechanisms())
    except p11.PKCS11Error:
        return Capabilities(frozenset(), {}, known=False)
    sizes: dict[int, tuple[int, int]] = {}
    for mech in (Mechanism.RSA_PKCS_KEY_PAIR_GEN,):
        if int(mech) in mechs:
            try:
                info = slot.get_mechanism_info(mech)
                sizes[int(mech)] = (int(info.min_key_length), int(info.max_key_length))
            except p11.PKCS11Error:
                pass
    return Capabilities(mechs, sizes)


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

"""Signing TUF 1.0 metadata made elsewhere with token keys, and the review of the change.

Each scheme's hash is made here and signed on the token through hsm's digest signing
(`hsm.signer.DigestSigner.sign_digest`): `ecdsa-sha2-nistp256` SHA-256, `ecdsa-sha2-nistp384`
SHA-384 (CKM_ECDSA, raw r||s re-encoded as the DER that TUF wants), `rsassa-pss-sha256`
(CKM_RSA_PKCS_PSS, MGF1-SHA-256, salt 32 = digest length, as securesystemslib signs); Ed25519
signs the message itself (Notary's `sign`). A signer without digest signing (a software signer)
can make only the SHA-256 schemes through its Notary method. Every signature is verified against
the key the metadata lists before it is handed out.
"""

from __future__ import annotations

import hashlib
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, utils

from ceremony.tuf.errors import RootChainError, SigningError, TufFormatError
from ceremony.tuf.keys import Key, same_public_key
from ceremony.tuf.model import TOP_LEVEL_ROLES, Metadata, Role, Root, Signature
from hsm.signer import DigestSigner, Signer

# scheme -> (token signature method, hash signed as a digest; None: the message itself)
_METHOD = {"ecdsa-sha2-nistp256": ("ecdsa", "sha256"), "ecdsa-sha2-nistp384": ("ecdsa", "sha384"),
           "rsassa-pss-sha256": ("rsapss", "sha256"), "ed25519": ("eddsa", None)}


def check_signable(key: Key) -> str:
    """The token signature method for `key`'s scheme; SigningError if a token key cannot make
    that scheme's signatures (checked before the review, so nobody confirms in vain)."""
    entry = _METHOD.get(key.scheme)
    if entry is None or not key.supported:
        raise SigningError(f"key {key.keyid[:16]} has scheme '{key.scheme}', which a token key "
                           f"cannot sign here (supported: {', '.join(_METHOD)})")
    return entry[0]


def check_signer(signer: Signer, key: Key) -> None:
    """Refuse, before the review, a token key that cannot make `key`'s scheme: its token lacks
    the mechanism (hsm checks the token's list; nothing is signed)."""
    hash_name = _METHOD[key.scheme][1] if key.scheme in _METHOD else None
    if hash_name is not None and isinstance(signer, DigestSigner):
        signer.require_digest_signing(hash_name)


def tuf_signature(signer: Signer, key: Key, payload: bytes) -> str:
    """The hex signature TUF wants of `payload` by `key`, made by `signer` (its token key)."""
    method = check_signable(key)
    if signer.method != method or not same_public_key(signer.public_key, key.public_key()):
        raise SigningError(f"the token key is not key {key.keyid[:16]} ({key.scheme})")
    hash_name = _METHOD[key.scheme][1]
    if hash_name is None:
        raw = signer.sign(payload)
    elif isinstance(signer, DigestSigner):
        raw = signer.sign_digest(hashlib.new(hash_name, payload).digest(), hash_name)
    elif hash_name == "sha256":
        raw = signer.sign(payload)  # Notary's methods are exactly these SHA-256 schemes
    else:
        raise SigningError(f"the signer of key {key.keyid[:16]} cannot sign {key.scheme} "
                           f"(it signs SHA-256 only)")
    if method == "ecdsa":
        assert isinstance(signer.public_key, ec.EllipticCurvePublicKey)
        half = len(raw) // 2
        raw = utils.encode_dss_signature(int.from_bytes(raw[:half], "big"),
                                         int.from_bytes(raw[half:], "big"))
    sig = raw.hex()
    if not key.verify(sig, payload):
        raise SigningError(f"the token's signature for key {key.keyid[:16]} does not verify; "
                           "nothing was written: check the token and run again")
    return sig


def signing_keys(md: Metadata, trusted_root: Root | None) -> dict[str, Key]:
    """The keys whose signatures count for `md`: for a root N+1, root N's root keys and its
    own; for targets, snapshot or timestamp, the keys the trusted root lists for that role."""
    kind = md.signed.type
    if kind == "root":
        keys, _ = md.signed.role_keys("root")
        if trusted_root is not None:
            old, _ = trusted_root.role_keys("root")
            keys = {**old, **keys}
        return keys
    if trusted_root is None:
        raise SigningError(f"signing '{kind}' needs the trusted root that lists its keys "
                           "(--trusted ROOT.json)")
    if kind not in TOP_LEVEL_ROLES:
        raise SigningError(f"cannot sign role type '{kind}'")
    keys, _ = trusted_root.role_keys(kind)
    return keys


def check_root_step(proposed: Metadata, trusted: Metadata | None) -> None:
    """A proposed root must follow the trusted one (version + 1)."""
    if trusted is None:
        if proposed.signed.version != 1:
            raise RootChainError(f"is root v{proposed.signed.version}: give the trusted "
                                 f"v{proposed.signed.version - 1} with --trusted to review "
                                 "the change", file=proposed.file)
        return
    if proposed.signed.version != trusted.signed.version + 1:
        raise RootChainError(f"is root v{proposed.signed.version} but the trusted root is "
                             f"v{trusted.signed.version}: a root must follow the one before it "
                             "(versions go up by exactly one)", file=proposed.file)


def threshold_status(md: Metadata, keys: dict[str, Key], role: Role) -> dict[str, Any]:
    payload = md.signed_bytes()
    valid = sorted({s.keyid for s in md.signatures if s.keyid in role.keyids
                    and s.keyid in keys and keys[s.keyid].verify(s.sig, payload)})
    return {"threshold": role.threshold, "valid": valid, "met": len(valid) >= role.threshold,
            "missing": [k for k in role.keyids if k not in valid]}


def status(md: Metadata, trusted_root: Root | None) -> dict[str, dict[str, Any]]:
    """Which thresholds `md` meets now: for a root, the previous root's and its own."""
    out = {}
    kind = md.signed.type
    if kind == "root":
        if trusted_root is not None:
            out["previous_root"] = threshold_status(md, *trusted_root.role_keys("root"))
        out["own_root"] = threshold_status(md, *md.signed.role_keys("root"))
    elif trusted_root is not None:
        out[kind] = threshold_status(md, *trusted_root.role_keys(kind))
    return out


def drop_invalid(md: Metadata, keys: dict[str, Key]) -> list[str]:
    """Remove signatures that do not verify with the key their key ID names (stale ones from
    an earlier draft); returns their key IDs. Signatures by unknown keys are kept as found."""
    payload = md.signed_bytes()
    bad = [s.keyid for s in md.signatures if s.keyid in keys
           and not keys[s.keyid].verify(s.sig, payload)]
    md.signatures = [s for s in md.signatures if s.keyid not in bad]
    return bad


def add_signature(md: Metadata, keyid: str, sig: str) -> None:
    md.signatures = [s for s in md.signatures if s.keyid != keyid] + [Signature(keyid, sig)]


def _key_facts(key: Key) -> dict[str, Any]:
    return {"keyid": key.keyid, "scheme": key.scheme, "keytype": key.keytype,
            "default_keyid": key.default_keyid() == key.keyid}


def review(proposed: Metadata, previous: Metadata | None) -> dict[str, Any]:
    """What changes from `previous` (the trusted earlier version of the same role) to
    `proposed`: version, expiry, keys, each role's key IDs and threshold, targets."""
    new = proposed.signed
    old = previous.signed if previous is not None else None
    if old is not None and old.type != new.type:
        raise TufFormatError(f"is '{new.type}' but the previous version given is '{old.type}'",
                             file=proposed.file)
    out: dict[str, Any] = {
        "role": new.type, "version": [old.version if old else None, new.version],
        "expires": [old.expires if old else None, new.expires],
        "spec_version": [old.spec_version if old else None, new.spec_version],
        "signed_sha256": hashlib.sha256(proposed.signed_bytes()).hexdigest(),
    }
    if new.type == "root":
        old_keys = old.keys if old else {}
        out["keys_added"] = [_key_facts(k) for i, k in new.keys.items() if i not in old_keys]
        out["keys_removed"] = [_key_facts(k) for i, k in old_keys.items() if i not in new.keys]
        out["consistent_snapshot"] = [old.consistent_snapshot if old else None,
                                      new.consistent_snapshot]
        roles = {}
        for name in TOP_LEVEL_ROLES:
            n = new.roles[name]
            o = old.roles[name] if old else None
            roles[name] = {"threshold": [o.threshold if o else None, n.threshold],
                           "keyids": n.keyids,
                           "added": [k for k in n.keyids if not o or k not in o.keyids],
                           "removed": [k for k in (o.keyids if o else []) if k not in n.keyids]}
        out["roles"] = roles
    elif new.type == "targets":
        old_targets = old.targets if old else {}
        out["targets_added"] = sorted(set(new.targets) - set(old_targets))
        out["targets_removed"] = sorted(set(old_targets) - set(new.targets))
        out["targets_changed"] = sorted(p for p in set(new.targets) & set(old_targets)
                                        if new.targets[p] != old_targets[p])
        out["delegations"] = new.delegations.to_dict() if new.delegations else None
    else:
        old_meta = old.meta if old else {}
        out["meta"] = {name: [old_meta[name].version if name in old_meta else None, m.version]
                       for name, m in new.meta.items()}
    return out


def review_lines(r: dict[str, Any]) -> list[str]:
    """The review as the lines shown to the people signing."""
    def change(pair: list[Any]) -> str:
        return str(pair[1]) if pair[0] == pair[1] else f"{pair[0]} -> {pair[1]}"

    lines = [f"TUF {r['role']}: version {change(r['version'])}",
             f"  expires       {change(r['expires'])}",
             f"  spec_version  {change(r['spec_version'])}"]
    if r["role"] == "root":
        lines.append(f"  consistent_snapshot {change(r['consistent_snapshot'])}")
        for k in r["keys_added"]:
            note = "" if k["default_keyid"] else " (key ID is not the securesystemslib default)"
            lines.append(f"  + key {k['keyid']} {k['scheme']}{note}")
        for k in r["keys_removed"]:
            lines.append(f"  - key {k['keyid']} {k['scheme']}")
        for name, role in r["roles"].items():
            lines.append(f"  role {name}: threshold {change(role['threshold'])}, "
                         f"{len(role['keyids'])} key(s)")
            lines += [f"      + {k}" for k in role["added"]]
            lines += [f"      - {k}" for k in role["removed"]]
    elif r["role"] == "targets":
        lines += [f"  + target {p}" for p in r["targets_added"]]
        lines += [f"  - target {p}" for p in r["targets_removed"]]
        lines += [f"  ~ target {p}" for p in r["targets_changed"]]
    else:
        lines += [f"  meta {name}: version {change(v)}" for name, v in r["meta"].items()]
    lines.append(f"  signed sha256 {r['signed_sha256']}")
    return lines

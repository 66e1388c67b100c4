"""Verification of Notary metadata, as a Notary client does it, offline, as of a given time.

The rules, in the order they are applied (tuf/signed/verify.go, tuf/builder.go,
trustpinning/certs.go, client/tufclient.go):

1. Signatures are over the canonical bytes of the signed part. A signature counts for a role when
   its key ID names a key listed for the role, that key really has this ID, the method suits the
   key and the signature verifies. Methods: `ecdsa` (raw r||s of fixed width over SHA-256; DER
   is not accepted, as in Go), `rsapss` (SHA-256, MGF1-SHA-256, salt 32; RSA >= 2048),
   `rsapkcs1v15` (SHA-256; RSA >= 2048), `eddsa` (Ed25519).
2. A role's threshold is met by valid signatures from that many *distinct* keys. A key signing
   twice, or two key IDs for one public key, count once (stricter than Notary, which counts key
   IDs).
3. Root keys must be certificates that pass Notary's certificate rules (see certs.py). The
   oldest root is trusted because a pinned certificate ID is in it, because the caller already
   trusts it, or on first use (reported). Every later root n+1 must be signed by the threshold of
   root n's keys (their certificates may have expired) and by its own threshold, and carry
   version n+1. Only the newest root must be unexpired, with valid certificates.
4. Timestamp, snapshot and targets are signed by the keys root lists for them; snapshot.json
   must match the hashes and length in timestamp.json, and every other file the hashes and
   length in snapshot.json (mix-and-match). No role may be older than a version already trusted
   (rollback) or expired (freeze).
5. Delegations are `targets/...` names of `[-a-z0-9_/]`, under 256 characters, path-clean, and
   direct children of the file delegating them; their paths must lie within the parent's paths;
   their files are signed by the keys and threshold their parent lists; targets outside a role's
   paths are ignored by clients (reported).
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from ceremony.errors import (
    ExpiredError,
    KeyFormatError,
    MixAndMatchError,
    RollbackError,
    RootCertificateError,
    RootChainError,
    SignatureThresholdError,
    TrustPinningError,
)
from ceremony.notary.format.certs import RootCertificate, check_root_key
from ceremony.notary.format.keys import ECDSA, ECDSA_X509, ED25519, RSA, RSA_X509, Key
from ceremony.notary.format.model import (
    ROOT,
    FileMeta,
    Instant,
    Root,
    Targets,
)
from ceremony.notary.format.report import (
    SignatureReport,
)
from ceremony.notary.format.serialization import MetadataFile

MIN_RSA_BITS = 2048
METHOD_KEY_TYPES = {"ecdsa": (ECDSA, ECDSA_X509), "rsapss": (RSA, RSA_X509),
                    "rsapkcs1v15": (RSA, RSA_X509), "eddsa": (ED25519,)}
DELEGATION_NAME = re.compile(r"[-a-z0-9_/]+\Z")
MAX_ROLE_NAME = 255


# --- 1. one signature ----------------------------------------------------------------------------

def signature_problem(key: Key, method: str, signature: bytes, message: bytes) -> str | None:
    """Why `signature` by `key` over `message` does not verify with `method`; None if it does."""
    if method not in METHOD_KEY_TYPES:
        return f"signature method {method!r} is not supported"
    if key.keytype not in METHOD_KEY_TYPES[method]:
        return f"method {method} cannot be used with a {key.keytype} key"
    try:
        public_key = key.public_key
    except KeyFormatError as exc:
        return f"key cannot be used: {exc.reason}"
    try:
        if method == "ecdsa":
            assert isinstance(public_key, ec.EllipticCurvePublicKey)
            size = (public_key.curve.key_size + 7) // 8
            if len(signature) != 2 * size:
                return (f"ecdsa signature is {len(signature)} bytes; Notary expects raw r||s of "
                        f"{2 * size} bytes")
            r = int.from_bytes(signature[:size], "big")
            s = int.from_bytes(signature[size:], "big")
            public_key.verify(encode_dss_signature(r, s), message, ec.ECDSA(hashes.SHA256()))
        elif method in ("rsapss", "rsapkcs1v15"):
            assert isinstance(public_key, rsa.RSAPublicKey)
            if public_key.key_size < MIN_RSA_BITS:
                return f"RSA key has {public_key.key_size} bits; Notary requires {MIN_RSA_BITS}"
            if method == "rsapss":
                scheme: padding.AsymmetricPadding = padding.PSS(
                    mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
            else:
                scheme = padding.PKCS1v15()
            public_key.verify(signature, message, scheme, hashes.SHA256())
        else:
            assert isinstance(public_key, ed25519.Ed25519PublicKey)
            if len(signature) != 64:
                return f"eddsa signature is {len(signature)} bytes, not 64"
            public_key.verify(signature, message)
    except InvalidSignature:
        return "signature does not verify (the file was altered or signed by another key)"
    except Exception as exc:  # e.g. a curve this OpenSSL cannot verify with: fail closed
        return f"signature cannot be checked: {exc}"
    return None


# --- 2. thresholds -------------------------------------------------------------------------------

@dataclass
class ThresholdCheck:
    """The signatures of one file judged against one role's keys and threshold."""

    role: str
    threshold: int
    keys: Mapping[str, Key]
    signatures: list[SignatureReport] = field(default_factory=list)
    signed_by: list[str] = field(default_factory=list)

    @property
    def met(self) -> bool:
        return len(self.signed_by) >= self.threshold

    def summary(self) -> str:
        counted = len(self.signed_by)
        parts = [f"{counted} of threshold {self.threshold} valid signature"
                 f"{'s' if self.threshold != 1 else ''} from distinct {self.role} keys"]
        for sig in self.signatures:
            if sig.status != "valid":
                parts.append(f"signature by {sig.key_id}: {sig.detail}")
        if not self.signatures:
            parts.append("the file has no signatures")
        return "; ".join(parts)


def _public_identity(key: Key) -> bytes:
    """Same public key, whatever the key object (plain key or certificate) it is wrapped in."""
    return key.spki


def check_threshold(file: MetadataFile, role: str, keys: Mapping[str, Key], threshold: int,
                    excluded: Mapping[str, str] | None = None) -> ThresholdCheck:
    """Count the valid signatures of `file` from distinct keys among `keys` (key ID -> key).

    `excluded` names keys of the role that cannot count, with the reason (root certificates).
    """
    check = ThresholdCheck(role, threshold, keys)
    counted: list[Key] = []  # the keys of the signatures counted so far
    identities: dict[bytes, str] | None = None  # made when a second signature could count
    for sig in file.signatures:
        key = keys.get(sig.keyid)
        if key is None:
            reason = (excluded or {}).get(sig.keyid)
            check.signatures.append(SignatureReport(
                sig.keyid, sig.method, "ignored",
                f"key not counted: {reason}" if reason else f"not a key of {role}"))
            continue
        if key.key_id != sig.keyid:
            check.signatures.append(SignatureReport(
                sig.keyid, sig.method, "ignored",
                f"the key listed under this ID really has ID {key.key_id}"))
            continue
        memo = (sig.keyid, sig.method, sig.sig)
        if memo not in file.checked:
            file.checked[memo] = signature_problem(key, sig.method, sig.sig, file.signed_bytes)
        problem = file.checked[memo]
        if problem is not None:
            check.signatures.append(SignatureReport(sig.keyid, sig.method, "invalid", problem))
            continue
        if counted:
            if identities is None:
                identities = {_public_identity(earlier): keyid
                              for earlier, keyid in zip(counted, check.signed_by, strict=True)}
            identity = _public_identity(key)
            if identity in identities:
                first = identities[identity]
                detail = ("duplicate signature, counted once" if first == sig.keyid else
                          f"same public key as {first}, counted once")
                check.signatures.append(SignatureReport(sig.keyid, sig.method, "ignored",
                                                        detail))
                continue
            identities[identity] = sig.keyid
        counted.append(key)
        check.signed_by.append(sig.keyid)
        check.signatures.append(SignatureReport(sig.keyid, sig.method, "valid"))
    return check


def require_threshold(file: MetadataFile, role: str, keys: Mapping[str, Key],
                      threshold: int) -> ThresholdCheck:
    check = check_threshold(file, role, keys, threshold)
    if not check.met:
        raise SignatureThresholdError(check.summary(), file=file.name)
    return check


# --- 3. root chain -------------------------------------------------------------------------------

@dataclass
class RootStep:
    """One root of the chain with the verdicts that admitted it."""

    file: MetadataFile[Root]
    certificates: dict[str, RootCertificate]
    own: ThresholdCheck
    previous: ThresholdCheck | None = None


@dataclass
class TrustedRoot:
    """The outcome of root verification: the chain from the trust anchor (steps[0]) to the newest
    root, now trusted."""

    steps: list[RootStep]
    mode: str  # "pinned", "trusted-root", "tofu"

    @property
    def file(self) -> MetadataFile[Root]:
        return self.steps[-1].file

    @property
    def root(self) -> Root:
        return self.steps[-1].file.signed


def _root_keys(certs: Mapping[str, RootCertificate], check_time: bool,
               only: Sequence[str] | None = None) -> dict[str, Key]:
    """The root keys that count: certificates passing the rules (and among `only`, if given)."""
    return {listed: verdict.key for listed, verdict in certs.items()
            if verdict.usable(check_time) and (only is None or listed in only)}


def _unusable(certs: Mapping[str, RootCertificate], check_time: bool) -> dict[str, str]:
    """Root keys that cannot count, with Notary's reason."""
    return {listed: "; ".join(verdict.problems + (verdict.time_problems if check_time else []))
            for listed, verdict in certs.items() if not verdict.usable(check_time)}


def verify_root_chain(chain: Sequence[MetadataFile[Root]], gun: str, at: Instant, *,
                      pinned_cert_ids: Sequence[str] = (),
                      trusted: MetadataFile[Root] | None = None,
                      warnings: list[str] | None = None) -> TrustedRoot:
    """Verify consecutive roots, oldest first, and return the newest as trusted.

    `trusted`, when given, is a root the caller already trusts (a workspace's pinned history): the
    chain must contain it or continue right after it. Otherwise `pinned_cert_ids` select the
    first root holding one of them; otherwise the oldest root is trusted on first use.
    """
    warnings = warnings if warnings is not None else []
    at_dt = at.to_datetime()
    chain = list(chain)
    for earlier, later in zip(chain, chain[1:], strict=False):
        if later.signed.version != earlier.signed.version + 1:
            raise RootChainError(f"root versions are not consecutive: version "
                                 f"{earlier.signed.version} is followed by version "
                                 f"{later.signed.version}", file=later.name)
    certificates = [{listed: check_root_key(listed, root.signed.keys[listed], gun, at_dt)
                     for listed in root.signed.roles[ROOT].keyids} for root in chain]
    if trusted is not None:
        chain, anchor = _attach_trusted(chain, trusted)
        if len(chain) > len(certificates):
            root = trusted.signed
            certificates.insert(0, {listed: check_root_key(listed, root.keys[listed], gun, at_dt)
                                    for listed in root.roles[ROOT].keyids})
        mode = "trusted-root"
    elif pinned_cert_ids:
        mode = "pinned"
        anchor = _pinned_anchor(chain, certificates, pinned_cert_ids)
    else:
        mode, anchor = "tofu", 0
        ids = ", ".join(certificates[0])
        warnings.append(f"trusting root version {chain[0].signed.version} ({chain[0].name}) on "
                        f"first use: no root certificate ID was pinned (its root certificate "
                        f"IDs: {ids})")
    steps: list[RootStep] = []
    newest = len(chain) - 1
    if anchor > 0:
        warnings.append(f"root versions {chain[0].signed.version}-"
                        f"{chain[anchor - 1].signed.version} precede the trusted root and were "
                        "not verified")
    for index in range(anchor, len(chain)):
        file, certs = chain[index], certificates[index]
        root = file.signed
        is_newest = index == newest
        # At the pinned anchor, Notary counts pinned certificates only.
        only = pinned_cert_ids if index == anchor and mode == "pinned" else None
        own_keys = _root_keys(certs, check_time=is_newest, only=only)
        excluded = _unusable(certs, check_time=is_newest)
        if only is not None:
            excluded.update({kid: "not a pinned root certificate ID" for kid in certs
                             if kid not in own_keys and kid not in excluded})
        own = check_threshold(file, ROOT, own_keys, root.roles[ROOT].threshold, excluded)
        if not own.met:
            # only certificates out of their validity period stand in the way?
            if is_newest and check_threshold(file, ROOT, _root_keys(certs, False, only),
                                             root.roles[ROOT].threshold).met:
                problems = "; ".join(f"root key {kid}: {why}" for kid, why in excluded.items())
                raise RootCertificateError(f"root version {root.version} cannot be trusted: "
                                           f"{problems}", file=file.name)
            raise SignatureThresholdError(f"root version {root.version} is not signed by its "
                                          f"own root keys: {own.summary()}", file=file.name)
        step = RootStep(file, certs, own)
        if index > anchor:
            before = chain[index - 1].signed
            previous_keys = _root_keys(certificates[index - 1], check_time=False)
            step.previous = check_threshold(file, ROOT, previous_keys,
                                            before.roles[ROOT].threshold,
                                            _unusable(certificates[index - 1], check_time=False))
            if not step.previous.met:
                raise RootChainError(
                    f"root version {root.version} is not signed by the threshold of the root "
                    f"keys of version {before.version}: {step.previous.summary()}",
                    file=file.name)
        for listed, verdict in certs.items():
            for text in verdict.warnings:
                warnings.append(f"{file.name}: root key {listed}: {text}")
            if verdict.usable(check_time=False) and verdict.time_problems:
                if is_newest:
                    continue  # reported below as an error or as an unusable key
                warnings.append(f"{file.name}: root key {listed}: "
                                f"{'; '.join(verdict.time_problems)} (a client that has to walk "
                                f"through root version {root.version} refuses it)")
        if is_newest:
            for kid, why in _unusable(certs, check_time=True).items():
                warnings.append(f"{file.name}: root key {kid} not counted: {why}")
        steps.append(step)
    require_not_expired(chain[newest], ROOT, at)
    if mode == "pinned" and anchor != newest:
        current = [kid for kid in _root_keys(certificates[newest], True) if kid in pinned_cert_ids]
        if not current:
            warnings.append(
                f"the pinned ID(s) match root version {chain[anchor].signed.version}, which "
                f"chains to root version {chain[newest].signed.version}; a Notary client with "
                "these IDs in trust_pinning.certs rejects the current root, pin "
                f"{', '.join(certificates[newest])} instead")
    return TrustedRoot(steps, mode)


def _attach_trusted(chain: list[MetadataFile[Root]],
                    trusted: MetadataFile[Root]) -> tuple[list[MetadataFile[Root]], int]:
    version = trusted.signed.version
    first, last = chain[0].signed.version, chain[-1].signed.version
    if version > last:
        raise RollbackError(f"the repository's root is version {last}, older than the trusted "
                            f"root version {version}", file=chain[-1].name)
    if version == first - 1:
        return [trusted, *chain], 0
    if version < first:
        needed = (f"version {version + 1} is" if version + 1 == first - 1 else
                  f"versions {version + 1}-{first - 1} are")
        raise RootChainError(f"the root history starts at version {first}; {needed} needed to "
                             f"continue from the trusted root version {version}",
                             file=chain[0].name)
    index = version - first
    if chain[index].raw != trusted.raw:
        raise RootChainError(f"root version {version} differs from the trusted root of the same "
                             "version", file=chain[index].name)
    return chain, index


def _pinned_anchor(chain: Sequence[MetadataFile[Root]],
                   certificates: Sequence[Mapping[str, RootCertificate]],
                   pinned: Sequence[str]) -> int:
    for index, certs in enumerate(certificates):
        # validity in time is judged when the root is verified, with a precise message
        if any(kid in pinned for kid in _root_keys(certs, check_time=False)):
            return index
    current = ", ".join(certificates[-1]) or "none"
    raise TrustPinningError(
        f"no usable root certificate matches the pinned IDs ({', '.join(pinned)}); the root "
        f"certificate IDs of root version {chain[-1].signed.version} are: {current}",
        file=chain[-1].name)


# --- 4. top-level roles --------------------------------------------------------------------------

def require_not_expired(file: MetadataFile, role: str, at: Instant) -> None:
    """Freeze: metadata past its expiry must not be trusted (Notary: expires before now)."""
    if file.signed.expires < at:
        raise ExpiredError(f"{role} expired on {file.signed.expires}, before {at}",
                           file=file.name)


def require_no_rollback(file: MetadataFile, role: str, trusted_version: int | None) -> None:
    """Rollback: a role's version never goes below one already trusted."""
    if trusted_version is not None and file.signed.version < trusted_version:
        raise RollbackError(f"{role} is version {file.signed.version}, older than the trusted "
                            f"version {trusted_version}", file=file.name)


def require_matches(file: MetadataFile, meta: FileMeta, described_by: MetadataFile) -> None:
    """Mix-and-match: a file must have the hashes and length its describing role lists."""
    known = 0
    for algorithm in ("sha256", "sha512"):
        if algorithm not in meta.hashes:
            continue
        known += 1
        actual = hashlib.new(algorithm, file.raw).digest()
        if actual != meta.hashes[algorithm]:
            raise MixAndMatchError(
                f"{algorithm} {actual.hex()} does not match {meta.hashes[algorithm].hex()} "
                f"listed in {described_by.name} (version {described_by.signed.version})",
                file=file.name)
    if known == 0:
        raise MixAndMatchError(f"{described_by.name} lists no sha256 or sha512 hash for it",
                               file=file.name)
    if meta.length != len(file.raw):
        raise MixAndMatchError(f"length {len(file.raw)} does not match {meta.length} listed in "
                               f"{described_by.name}", file=file.name)


def verify_role(file: MetadataFile, role: str, keys: Mapping[str, Key], threshold: int,
                at: Instant, trusted_version: int | None) -> ThresholdCheck:
    """Signatures by the role's threshold, no rollback, not expired."""
    check = require_threshold(file, role, keys, threshold)
    require_no_rollback(file, role, trusted_version)
    require_not_expired(file, role, at)
    return check


# --- 5. delegations ------------------------------------------------------------------------------

def delegation_name_problem(name: str, parent: str) -> str | None:
    """Why `name` cannot be a delegation listed by `parent` (data.IsDelegation + parent rule)."""
    if not name.startswith("targets/"):
        return "delegation names start with targets/"
    if not DELEGATION_NAME.match(name):
        return "delegation names use only a-z, 0-9, -, _ and /"
    if len(name) > MAX_ROLE_NAME:
        return f"delegation names are under 256 characters ({len(name)})"
    if posixpath.normpath(name) != name:
        return "delegation names must be clean paths (no empty, . or .. parts, no trailing /)"
    if posixpath.dirname(name) != parent:
        return f"only {posixpath.dirname(name)} may delegate it, not {parent}"
    return None


def restrict_paths(parent_paths: Sequence[str], paths: Sequence[str]) -> tuple[list[str],
                                                                              list[str]]:
    """(paths within the parent's, paths outside it): RestrictDelegationPathPrefixes."""
    inside, outside = [], []
    for path in paths:
        (inside if any(path.startswith(p) for p in parent_paths) else outside).append(path)
    return inside, outside


def targets_outside(targets: Targets, paths: Sequence[str]) -> list[str]:
    """Target names none of `paths` is a prefix of (clients ignore them)."""
    if "" in paths:
        return []
    prefixes = tuple(paths)
    return [name for name in targets.targets if not name.startswith(prefixes)]

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

import datetime as dt
import hashlib
import posixpath
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from ceremony.errors import (
    DelegationError,
    ExpiredError,
    KeyFormatError,
    MetadataError,
    MetadataFormatError,
    MissingMetadataError,
    MixAndMatchError,
    RollbackError,
    RootCertificateError,
    RootChainError,
    SignatureThresholdError,
    TrustPinningError,
    VerificationError,
)
from ceremony.metadata.certs import RootCertificate, check_root_key
from ceremony.metadata.keys import ECDSA, ECDSA_X509, ED25519, RSA, RSA_X509, Key
from ceremony.metadata.model import (
    ROOT,
    SNAPSHOT,
    TARGETS,
    TIMESTAMP,
    FileMeta,
    Instant,
    Root,
    Snapshot,
    Targets,
    Timestamp,
)
from ceremony.metadata.report import (
    KeyReport,
    RepositoryReport,
    RoleReport,
    RootVersionReport,
    SignatureReport,
)
from ceremony.metadata.repository import RepositoryFiles
from ceremony.metadata.serialization import MetadataFile, read_metadata

MIN_RSA_BITS = 2048
METHOD_KEY_TYPES = {"ecdsa": (ECDSA, ECDSA_X509), "rsapss": (RSA, RSA_X509),
                    "rsapkcs1v15": (RSA, RSA_X509), "eddsa": (ED25519,)}
DELEGATION_NAME = re.compile(r"[-a-z0-9_/]+\Z")
MAX_ROLE_NAME = 255
T = TypeVar("T")


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


# --- the whole repository ------------------------------------------------------------------------

def _read(report: RepositoryReport, data: bytes, name: str, expected: type) -> MetadataFile | None:
    try:
        return read_metadata(data, name, expected)
    except MetadataError as exc:
        report.errors.append(exc)
        return None


def _attempt(report: RepositoryReport, action: Callable[..., T], *args: Any) -> T | None:
    """Run one check; a VerificationError is recorded and verification goes on."""
    try:
        return action(*args)
    except VerificationError as exc:
        report.errors.append(exc)
        return None


def _role_report(name: str, file: MetadataFile | None, keys: Mapping[str, Key],
                 threshold: int | None, check: ThresholdCheck | None) -> RoleReport:
    role = RoleReport(name, threshold=threshold,
                      keys=[KeyReport.of(kid, key) for kid, key in keys.items()])
    if file is not None:
        role.file, role.version = file.name, file.signed.version
        role.expires, role.go_exact = file.signed.expires, file.go_exact
    if check is not None:
        role.signatures, role.signed_by = check.signatures, check.signed_by
    return role


def verify_repository(files: RepositoryFiles, gun: str, *, at: Instant | None = None,
                      root_cert_ids: Sequence[str] = (), trusted_root: bytes | None = None,
                      trusted_versions: Mapping[str, int] | None = None) -> RepositoryReport:
    """Verify a repository's metadata offline and report everything found.

    - `at`: the time to verify as of (default: now);
    - `root_cert_ids`: pinned root certificate IDs (like `trust_pinning.certs`);
    - `trusted_root`: bytes of a root already trusted (the chain must contain or follow it);
    - `trusted_versions`: role -> lowest acceptable version (rollback protection).
    Never raises for bad metadata: errors are in `report.errors` (`report.raise_for_errors()`).
    """
    at = at if at is not None else Instant.now()
    trusted_versions = dict(trusted_versions or {})
    report = RepositoryReport(gun=gun, verified_at=at, source=files.source,
                              pinned_cert_ids=list(root_cert_ids))
    for name in files.ignored:
        report.warn(f"{name}: not used (only current role files and N.root.json are read)")

    trusted = _verify_roots(report, files, gun, at, root_cert_ids, trusted_root,
                            trusted_versions.get(ROOT))
    if trusted is None:
        return report
    root = trusted.root

    current: dict[str, MetadataFile | None] = {ROOT: trusted.file}
    for role, cls in ((TIMESTAMP, Timestamp), (SNAPSHOT, Snapshot), (TARGETS, Targets)):
        if role not in files.roles:
            report.errors.append(MissingMetadataError("not found", file=f"{role}.json"))
            current[role] = None
            continue
        current[role] = _read(report, files.roles[role], f"{role}.json", cls)

    for role in (TIMESTAMP, SNAPSHOT, TARGETS):
        keys, threshold = root.role_keys(role), root.roles[role].threshold
        file = current[role]
        check = None
        if file is not None:
            check = _attempt(report, verify_role, file, role, keys, threshold, at,
                             trusted_versions.get(role))
        entry = _role_report(role, file, keys, threshold, check)
        if file is not None and check is None:
            entry.signatures = check_threshold(file, role, keys, threshold).signatures
        entry.verified = check is not None
        report.roles.append(entry)

    timestamp, snapshot = current[TIMESTAMP], current[SNAPSHOT]
    if timestamp is not None and snapshot is not None:
        _attempt(report, require_matches, snapshot, timestamp.signed.meta[SNAPSHOT], timestamp)

    delegation_files: dict[str, MetadataFile] = {}
    for name, data in files.roles.items():
        if name.startswith("targets/"):
            file = _read(report, data, f"{name}.json", Targets)
            if file is not None:
                delegation_files[name] = file

    if snapshot is not None:
        described = {ROOT: trusted.file, TARGETS: current[TARGETS], **delegation_files}
        for name, file in described.items():
            if file is None:
                continue
            meta = snapshot.signed.meta.get(name)
            if meta is None:
                if name.startswith("targets/"):
                    report.warn(f"{file.name}: not listed in snapshot.json, so clients never "
                                "load it")
                continue
            _attempt(report, require_matches, file, meta, snapshot)

    targets = current[TARGETS]
    if targets is not None:
        entry = report.role(TARGETS)
        assert entry is not None
        entry.targets = len(targets.signed.targets)
        if entry.verified:
            _verify_delegations(report, targets, delegation_files, snapshot, at,
                                trusted_versions)

    for file in [trusted.file, *current.values(), *delegation_files.values()]:
        if file is not None and not file.go_exact:
            report.warn(f"{file.name}: bytes differ from what Notary writes for the same "
                        "content (another encoder wrote it); signatures were checked the way "
                        "Notary checks them")
    return report


def _verify_roots(report: RepositoryReport, files: RepositoryFiles, gun: str, at: Instant,
                  root_cert_ids: Sequence[str], trusted_root: bytes | None,
                  trusted_version: int | None) -> TrustedRoot | None:
    """Read the root history and the current root, and verify the chain."""
    if ROOT not in files.roles and not files.root_history:
        report.errors.append(MissingMetadataError("not found (nor any N.root.json)",
                                                  file="root.json"))
        return None
    try:
        chain = _root_chain(files)
        trusted_file = (read_metadata(trusted_root, "trusted root", Root)
                        if trusted_root is not None else None)
        warnings: list[str] = []
        trusted = verify_root_chain(chain, gun, at, pinned_cert_ids=root_cert_ids,
                                    trusted=trusted_file, warnings=warnings)
        for text in warnings:
            report.warn(text)
        require_no_rollback(trusted.file, ROOT, trusted_version)
    except MetadataError as exc:
        report.errors.append(exc)
        return None
    report.trust = trusted.mode
    report.anchor_version = trusted.steps[0].file.signed.version
    for step in trusted.steps:
        root = step.file.signed
        report.root_chain.append(RootVersionReport(
            root.version, step.file.name, root.expires, list(root.roles[ROOT].keyids),
            root.roles[ROOT].threshold, list(step.own.signed_by),
            list(step.previous.signed_by) if step.previous is not None else None))
    newest = trusted.steps[-1]
    root = newest.file.signed
    entry = _role_report(ROOT, newest.file, root.role_keys(ROOT), root.roles[ROOT].threshold,
                         newest.own)
    if newest.previous is not None:  # signatures the rotation needed from the previous root keys
        by_previous = set(newest.previous.signed_by)
        for sig in entry.signatures:
            if sig.status == "ignored" and sig.key_id in by_previous:
                sig.detail = (f"key of root version {root.version - 1}, valid: counted for the "
                              "rotation to this version")
    entry.verified = True
    report.roles.append(entry)
    return trusted


def _root_chain(files: RepositoryFiles) -> list[MetadataFile[Root]]:
    """The roots in version order: N.root.json history, then root.json where it continues it."""
    history = {}
    for number, data in sorted(files.root_history.items()):
        name = RepositoryFiles.history_name(number)
        file = read_metadata(data, name, Root)
        if file.signed.version != number:
            raise RootChainError(f"holds root version {file.signed.version}", file=name)
        history[number] = file
    if history:
        numbers = sorted(history)
        missing = sorted(set(range(numbers[0], numbers[-1] + 1)) - set(numbers))
        if missing:
            raise RootChainError(f"root history is missing version(s) "
                                 f"{', '.join(map(str, missing))}",
                                 file=RepositoryFiles.history_name(missing[0]))
    if ROOT not in files.roles:
        return [history[n] for n in sorted(history)]
    current = read_metadata(files.roles[ROOT], "root.json", Root)
    version = current.signed.version
    if not history:
        return [current]
    newest = max(history)
    if version < newest:
        raise RollbackError(f"root.json is version {version}, older than "
                            f"{RepositoryFiles.history_name(newest)}", file="root.json")
    if version in history:
        if history[version].raw != current.raw:
            raise RootChainError(f"root.json differs from {history[version].name} though both "
                                 f"are root version {version}", file="root.json")
        history[version] = current  # the same bytes: messages name it root.json
        return [history[n] for n in sorted(history)]
    return [*(history[n] for n in sorted(history)), current]


def _verify_delegations(report: RepositoryReport, targets: MetadataFile[Targets],
                        files: Mapping[str, MetadataFile[Targets]],
                        snapshot: MetadataFile[Snapshot] | None, at: Instant,
                        trusted_versions: Mapping[str, int]) -> None:
    """Walk the delegation tree from targets.json, verifying every delegated file present."""
    reached: set[str] = set()
    pending: list[tuple[MetadataFile[Targets], str, list[str]]] = [(targets, TARGETS, [""])]
    while pending:
        parent_file, parent, parent_paths = pending.pop(0)
        seen: set[str] = set()
        for role in parent_file.signed.delegations.roles:
            problem = delegation_name_problem(role.name, parent)
            if problem:
                # ascii(): a look-alike letter or a bidi control is shown escaped, never as is
                report.errors.append(DelegationError(f"delegation {ascii(role.name)}: {problem}",
                                                     file=parent_file.name))
                continue
            if role.name in seen:
                report.errors.append(DelegationError(f"{role.name} is listed twice",
                                                     file=parent_file.name))
                continue
            seen.add(role.name)
            reached.add(role.name)
            keys = {kid: parent_file.signed.delegations.keys[kid] for kid in role.keyids}
            paths, outside = restrict_paths(parent_paths, role.paths)
            for path in outside:
                report.warn(f"{parent_file.name}: {role.name} path {path!r} is outside the "
                            f"paths of {parent}; Notary ignores it")
            if not role.paths:
                report.warn(f"{parent_file.name}: {role.name} has no paths, so it cannot sign "
                            "any target")
            distinct = ({_safe_identity(key) for key in keys.values()}
                        if len(keys) >= role.threshold > 1 else keys)
            if len(distinct) < role.threshold:
                report.warn(f"{parent_file.name}: {role.name} needs {role.threshold} "
                            f"signatures but lists {len(distinct)} distinct key(s)")
            file = files.get(role.name)
            entry = _role_report(role.name, file, keys, role.threshold, None)
            entry.parent, entry.paths = parent, list(role.paths)
            report.roles.append(entry)
            if file is None:
                if snapshot is not None and role.name in snapshot.signed.meta:
                    report.warn(f"{role.name}: listed in snapshot.json but {role.name}.json is "
                                "not here; not verified")
                continue
            if snapshot is not None and role.name not in snapshot.signed.meta:
                continue  # reported with the snapshot checks
            check = _attempt(report, verify_role, file, role.name, keys, role.threshold, at,
                             trusted_versions.get(role.name))
            if check is None:
                entry.signatures = check_threshold(file, role.name, keys,
                                                   role.threshold).signatures
                continue
            entry.signatures, entry.signed_by, entry.verified = (check.signatures,
                                                                 check.signed_by, True)
            ignored = targets_outside(file.signed, paths)
            for name in ignored[:5]:
                report.warn(f"{file.name}: target {name!r} is outside the paths of "
                            f"{role.name}; clients ignore it")
            if len(ignored) > 5:
                report.warn(f"{file.name}: {len(ignored) - 5} more targets outside the paths "
                            f"of {role.name}")
            entry.targets = len(file.signed.targets) - len(ignored)
            pending.append((file, role.name, paths))
    for name, file in files.items():
        if name not in reached:
            report.warn(f"{file.name}: no role delegates {name}; clients ignore the file")


def _safe_identity(key: Key) -> bytes | str:
    try:
        return _public_identity(key)
    except MetadataError:
        return key.key_id


def parse_at(text: str) -> Instant:
    """A --at value: RFC 3339 / ISO 8601; without a zone it is UTC."""
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise MetadataFormatError(f"--at {text!r} is not an ISO 8601 / RFC 3339 time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    try:
        moment = moment.astimezone(dt.UTC)  # a zone can push it out of years 1..9999
    except OverflowError:
        raise MetadataFormatError(f"--at {text!r} is outside the years 1 to 9999 in UTC") \
            from None
    return Instant.from_datetime(moment)

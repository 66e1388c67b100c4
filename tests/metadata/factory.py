"""Build complete, validly signed Notary repositories in software, for unit tests and the bench.

Keys are `cryptography` keys behind the SoftwareSigner test double; root certificates are made
the way Notary makes them (self-signed, CN=GUN, CA:FALSE, codeSigning, 128-bit serial). Every
file goes through the real signing API, so these repositories exercise the same bytes as the
ceremony layer will produce. (Interop with the real Notary is tested in test_interop.py.)
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ceremony.notary.format import (
    DelegatedRole,
    FileMeta,
    Instant,
    Key,
    RepositoryFiles,
    Role,
    Root,
    Signature,
    Snapshot,
    Targets,
    Timestamp,
    key_from_certificate,
    key_from_public_key,
    read_metadata,
    sign_metadata,
)
from tests.metadata.software_signer import SoftwareSigner

GUN = "example.com/factory"
YEAR = dt.timedelta(days=365)


def notary_certificate(private_key: PrivateKeyTypes, common_name: str, *,
                       not_before: dt.datetime | None = None, days: int = 3650, ca: bool = False,
                       algorithm: hashes.HashAlgorithm | None = None) -> x509.Certificate:
    """A root certificate as `notary init` makes one (utils.NewCertificate)."""
    not_before = not_before or dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
               .public_key(private_key.public_key())
               .serial_number(x509.random_serial_number() >> 31)  # 128 bits
               .not_valid_before(not_before)
               .not_valid_after(not_before + dt.timedelta(days=days))
               .add_extension(x509.KeyUsage(True, False, True, False, False, False, False,
                                            False, False), critical=True)
               .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]),
                              critical=False)
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if isinstance(private_key, ed25519.Ed25519PrivateKey):
        algorithm = None
    else:
        algorithm = algorithm or hashes.SHA256()
    return builder.sign(private_key, algorithm)


def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def meta_of(data: bytes) -> FileMeta:
    return FileMeta(len(data), {"sha256": hashlib.sha256(data).digest(),
                                "sha512": hashlib.sha512(data).digest()})


@dataclass
class SoftRepo:
    """A repository and its private keys; methods re-sign what changed like a Notary client."""

    gun: str
    now: Instant
    root_keys: list[PrivateKeyTypes]
    root: Root
    targets_key: PrivateKeyTypes
    snapshot_key: PrivateKeyTypes
    timestamp_key: PrivateKeyTypes
    targets: Targets
    delegation_keys: dict[str, list[PrivateKeyTypes]] = field(default_factory=dict)
    delegated: dict[str, Targets] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    root_history: dict[int, bytes] = field(default_factory=dict)
    snapshot_version: int = 0
    timestamp_version: int = 0

    # -- building ---------------------------------------------------------------------------------
    @classmethod
    def create(cls, gun: str = GUN, *, now: Instant | None = None, root_count: int = 1,
               root_threshold: int = 1) -> SoftRepo:
        now = now or Instant.now()
        root_keys = [ec_key() for _ in range(root_count)]
        targets_key, snapshot_key = ec_key(), ec_key()
        timestamp_key = ed25519.Ed25519PrivateKey.generate()
        root_cert_keys = [key_from_certificate(notary_certificate(k, gun)) for k in root_keys]
        plain = {role: key_from_public_key(k.public_key()) for role, k in (
            ("targets", targets_key), ("snapshot", snapshot_key), ("timestamp", timestamp_key))}
        keys: dict[str, Key] = {k.key_id: k for k in root_cert_keys}
        keys.update({k.key_id: k for k in plain.values()})
        roles = {"root": Role([k.key_id for k in root_cert_keys], root_threshold)}
        roles.update({role: Role([key.key_id], 1) for role, key in plain.items()})
        root = Root(1, now + 10 * YEAR, keys, roles)
        repo = cls(gun, now, root_keys, root, targets_key, snapshot_key, timestamp_key,
                   Targets(1, now + 3 * YEAR))
        repo.sign_root()
        repo.sign_targets()
        repo.refresh()
        return repo

    def signers(self, keys: list[PrivateKeyTypes]) -> list[SoftwareSigner]:
        return [SoftwareSigner(k) for k in keys]

    def sign_root(self, extra_signers: list[PrivateKeyTypes] = (),
                  extra_keys: dict[str, Key] | None = None,
                  signers: list[PrivateKeyTypes] | None = None) -> bytes:
        """Sign the current root model with its root keys (and extra ones, for rotations)."""
        keys = dict(self.root.role_keys("root"))
        keys.update(extra_keys or {})
        chosen = self.root_keys if signers is None else signers
        data = sign_metadata(self.root, self.signers([*chosen, *extra_signers]), keys=keys)
        self.files["root"] = data
        self.root_history[self.root.version] = data
        return data

    def sign_targets(self) -> bytes:
        data = sign_metadata(self.targets, self.signers([self.targets_key]),
                             keys=self.root.role_keys("targets"))
        self.files["targets"] = data
        return data

    def sign_delegation(self, name: str) -> bytes:
        parent = self.targets if name.count("/") == 1 else self.delegated[name.rsplit("/", 1)[0]]
        role = parent.delegations.role(name)
        assert role is not None
        keys = {kid: parent.delegations.keys[kid] for kid in role.keyids}
        data = sign_metadata(self.delegated[name], self.signers(self.delegation_keys[name]),
                             keys=keys)
        self.files[name] = data
        return data

    def refresh(self) -> None:
        """New snapshot and timestamp over the current files (what the server does)."""
        self.snapshot_version += 1
        meta = {name: meta_of(data) for name, data in self.files.items()
                if name not in ("snapshot", "timestamp")}
        snapshot = Snapshot(self.snapshot_version, self.now + 3 * YEAR, meta)
        self.files["snapshot"] = sign_metadata(
            snapshot, self.signers([self.snapshot_key]), keys=self.root.role_keys("snapshot"))
        self.timestamp_version += 1
        timestamp = Timestamp(self.timestamp_version, self.now + dt.timedelta(days=14),
                              {"snapshot": meta_of(self.files["snapshot"])})
        self.files["timestamp"] = sign_metadata(
            timestamp, self.signers([self.timestamp_key]), keys=self.root.role_keys("timestamp"))

    def add_delegation(self, name: str, *, paths: list[str] | None = None, key_count: int = 1,
                       threshold: int = 1, certificates: bool = True) -> None:
        keys = [ec_key() for _ in range(key_count)]
        self.delegation_keys[name] = keys
        parent = self.targets if name.count("/") == 1 else self.delegated[name.rsplit("/", 1)[0]]
        objects = [key_from_certificate(notary_certificate(k, name.rsplit("/", 1)[1]))
                   if certificates else key_from_public_key(k.public_key()) for k in keys]
        for key in objects:
            parent.delegations.keys[key.key_id] = key
        parent.delegations.roles.append(DelegatedRole(
            name, [k.key_id for k in objects], threshold, [""] if paths is None else paths))
        parent.version += 1
        self.delegated[name] = Targets(1, self.now + 3 * YEAR)
        if parent is self.targets:
            self.sign_targets()
        else:
            self.sign_delegation(name.rsplit("/", 1)[0])
        self.sign_delegation(name)

    def add_target(self, role: str, name: str, content: bytes = b"content") -> None:
        file = self.targets if role == "targets" else self.delegated[role]
        file.targets[name] = meta_of(content)
        file.version += 1
        if role == "targets":
            self.sign_targets()
        else:
            self.sign_delegation(role)

    def rotate_root(self, *, sign_with_old: bool = True, sign_with_new: bool = True) -> None:
        """Replace the root keys by new ones: root version + 1 signed by old and new keys."""
        old_keys, old_role_keys = self.root_keys, self.root.role_keys("root")
        new_keys = [ec_key() for _ in old_keys]
        new_objects = [key_from_certificate(notary_certificate(k, self.gun)) for k in new_keys]
        for keyid in old_role_keys:
            del self.root.keys[keyid]
        for key in new_objects:
            self.root.keys[key.key_id] = key
        self.root.roles["root"] = Role([k.key_id for k in new_objects],
                                       self.root.roles["root"].threshold)
        self.root.version += 1
        self.root_keys = new_keys
        signers = (new_keys if sign_with_new else []) + (old_keys if sign_with_old else [])
        self.sign_root(signers=signers, extra_keys=old_role_keys)

    def modify(self, role: str, change: Callable[[Targets], None]) -> None:
        file = self.targets if role == "targets" else self.delegated[role]
        change(file)
        file.version += 1
        if role == "targets":
            self.sign_targets()
        else:
            self.sign_delegation(role)

    def repository(self, *, history: bool = True) -> RepositoryFiles:
        return RepositoryFiles(roles=dict(self.files),
                               root_history=dict(self.root_history) if history else {},
                               source="factory")

    def root_cert_ids(self) -> list[str]:
        return list(self.root.roles["root"].keyids)

    def signed_again(self, role: str, mutate: Callable[[object], None]) -> bytes:
        """Re-sign a top-level file after mutating its model (keeps other files as they are)."""
        cls = {"root": Root, "snapshot": Snapshot, "timestamp": Timestamp, "targets": Targets}
        model = read_metadata(self.files[role], f"{role}.json", cls[role]).signed
        mutate(model)
        key = {"root": None, "targets": self.targets_key, "snapshot": self.snapshot_key,
               "timestamp": self.timestamp_key}[role]
        signers = self.root_keys if key is None else [key]
        return sign_metadata(model, self.signers(signers), keys=self.root.role_keys(role))


def tamper_signature(data: bytes) -> bytes:
    """Flip one bit of the first signature, keeping the file well formed."""
    model = read_metadata(data, "x")
    sig = model.signatures[0]
    flipped = bytearray(sig.sig)
    flipped[len(flipped) // 2] ^= 0x01
    from ceremony.notary.format import write_metadata
    model.metadata.signatures[0] = Signature(sig.keyid, sig.method, bytes(flipped))
    return write_metadata(model.metadata)

"""Notary v1 metadata: model, Go-exact bytes, key IDs, verification and signing.

The API the ceremony layer uses:

    read_metadata(data, name, expected=None) -> MetadataFile     strict reading
    write_metadata(metadata) -> bytes                            Go-exact bytes
    signed_bytes(signed) -> bytes                                what signatures are over
    sign_metadata(signed, signers, keys=None, existing=()) -> bytes
    verify_repository(files, gun, at=None, root_cert_ids=(), trusted_root=None,
                      trusted_versions=None) -> RepositoryReport
    read_repository(path, gun) -> RepositoryFiles
    key_from_public_key(public_key) / key_from_certificate(cert, intermediates) -> Key
    Key.key_id (cert key ID for certificates), Key.canonical_key_id, Key.public_key
"""

from ceremony.notary.format.keys import (
    Key,
    certificate_pem,
    key_from_certificate,
    key_from_public_key,
)
from ceremony.notary.format.model import (
    DelegatedRole,
    Delegations,
    FileMeta,
    Instant,
    Metadata,
    Role,
    Root,
    Signature,
    Snapshot,
    Targets,
    Timestamp,
)
from ceremony.notary.format.report import KeyReport, RepositoryReport, RoleReport
from ceremony.notary.format.repository import RepositoryFiles, read_repository
from ceremony.notary.format.repository_check import verify_repository
from ceremony.notary.format.serialization import (
    MetadataFile,
    read_metadata,
    signed_bytes,
    write_metadata,
)
from ceremony.notary.format.signing import sign_metadata
from ceremony.notary.format.verify import verify_root_chain

__all__ = [
    "DelegatedRole", "Delegations", "FileMeta", "Instant", "Key", "KeyReport", "Metadata",
    "MetadataFile", "RepositoryFiles", "RepositoryReport", "Role", "RoleReport", "Root",
    "Signature", "Snapshot", "Targets", "Timestamp", "certificate_pem", "key_from_certificate",
    "key_from_public_key", "read_metadata", "read_repository", "sign_metadata", "signed_bytes",
    "verify_repository", "verify_root_chain", "write_metadata",
]

"""Errors of the ceremony domain (metadata, workspace, ceremonies).

Every error a ceremony officer can meet is a subclass of CeremonyError and carries a message they
can act on; the CLI prints it as one line and exits non-zero.

Metadata domain:
- MetadataFormatError: a file is not Notary metadata as Notary writes it (bad JSON, duplicate
  keys, wrong types, unknown fields...). Names the file and the field.
- VerificationError and its subclasses: the metadata is well formed but must not be trusted
  (bad signatures, broken root chain, rollback, expiry, mix-and-match, delegation rules...).
"""

from __future__ import annotations


class CeremonyError(Exception):
    """Base of all domain errors; the message is shown to the user as is."""


class MetadataError(CeremonyError):
    """Base of the Notary metadata domain: the message starts with the file (and field)."""

    def __init__(self, message: str, *, file: str | None = None, field: str | None = None):
        self.reason = message
        self.file = file
        self.field = field
        super().__init__(self._render())

    def _render(self) -> str:
        where = ": ".join(part for part in (self.file, self.field) if part)
        return f"{where}: {self.reason}" if where else self.reason

    def under(self, prefix: str) -> MetadataError:
        """Prefix the field path (a model error travelling up through its containers)."""
        if not self.field:
            self.field = prefix
        elif self.field.startswith("["):
            self.field = prefix + self.field
        else:
            self.field = f"{prefix}.{self.field}"
        self.args = (self._render(),)
        return self

    def in_file(self, file: str) -> MetadataError:
        """Attach the file name (used when a model error travels up to the reader)."""
        if self.file is None:
            self.file = file
            self.args = (self._render(),)
        return self


class MetadataFormatError(MetadataError):
    """Not Notary metadata as Notary writes it: bad JSON, wrong types, missing/unknown fields."""


class RoleTypeError(MetadataFormatError):
    """A file holds another role than its name says (e.g. targets.json served as snapshot.json)."""


class KeyFormatError(MetadataFormatError):
    """A key object cannot be used: unknown type, undecodable public key or certificate."""


class VerificationError(MetadataError):
    """Well-formed metadata that must not be trusted."""


class SignatureThresholdError(VerificationError):
    """Fewer valid signatures from distinct keys of the role than its threshold."""


class RootChainError(VerificationError):
    """A root version is not properly signed by its predecessor, or versions are not consecutive."""


class RootCertificateError(VerificationError):
    """Root keys whose certificates Notary refuses (CN, CA flag, validity, SHA-1, RSA size)."""


class TrustPinningError(VerificationError):
    """No root certificate matches the pinned certificate IDs."""


class RollbackError(VerificationError):
    """A role has a lower version than one already trusted."""


class ExpiredError(VerificationError):
    """A role's metadata has expired (freeze attack or neglected renewal)."""


class MixAndMatchError(VerificationError):
    """Snapshot/timestamp hashes or lengths do not match the files they describe."""


class DelegationError(VerificationError):
    """A delegation breaks Notary's rules (name, parent, paths) or is listed inconsistently."""


class MissingMetadataError(VerificationError):
    """A file needed to verify the repository is not there."""


class SigningError(CeremonyError):
    """Metadata could not be signed as asked (signer not in the role, bad signature back...)."""

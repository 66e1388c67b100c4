"""The errors of the TUF 1.0 package, one module (as python-tuf's exceptions.py).

Every error names the file (and field) and says what to do next: it is the ceremony domain's
located error (ceremony.errors.MetadataError: file, field path, reason), so anything that
reports a CeremonyError reports it in one line. `code` is a stable short name for scripts and
`--json` output, given where each class is declared (`class X(TufError, code="x")`).
"""

from __future__ import annotations

from typing import Any

from ceremony.errors import MetadataError

MAX_FIELD_SHOWN = 300  # a field path can hold a hostile name (a 100,000-character target)


class TufError(MetadataError):
    """Base of every TUF error; the message is shown to the user as is."""

    code = "tuf-error"

    def __init_subclass__(cls, code: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if code is not None:
            cls.code = code

    @property
    def field(self) -> str | None:
        return self._field

    @field.setter
    def field(self, value: str | None) -> None:
        if value is not None and len(value) > MAX_FIELD_SHOWN:
            value = f"{value[:MAX_FIELD_SHOWN]}..."
        self._field = value

    def located(self, file: str | None = None, prefix: str | None = None) -> TufError:
        """The same error with its file and the field path it travelled up through."""
        if file:
            self.in_file(file)
        if prefix:
            self.under(prefix)
        return self


class TufFormatError(TufError, code="format"):
    """Not TUF 1.0 metadata as the specification defines it (JSON, types, required fields)."""


class TufVerificationError(TufError, code="verification"):
    """Well formed, but must not be trusted."""


class ThresholdError(TufVerificationError, code="threshold"):
    """Fewer valid signatures than a role's threshold."""


class RootChainError(TufVerificationError, code="root-chain"):
    """A root does not follow the one before it (version, type, signatures of the old root)."""


class RollbackError(TufVerificationError, code="rollback"):
    """A version is lower than one already trusted."""


class ExpiredError(TufVerificationError, code="expired"):
    """A role is past its expiry (freeze attack, or a repository that needs renewing)."""


class ConsistencyError(TufVerificationError, code="consistency"):
    """Timestamp, snapshot and targets disagree (version, length or hash of a listed file)."""


class DelegationError(TufVerificationError, code="delegation"):
    """A delegated role is missing, badly delegated or not signed by its delegator's keys."""


class SigningError(TufError, code="signing"):
    """A signature could not be made (no key on the tokens, unsupported scheme...)."""

"""The errors of the TUF 1.0 package, one module (as python-tuf's exceptions.py).

Every error names the file (and field) and says what to do next. `code` is a stable short
name for scripts and `--json` output.
"""

from __future__ import annotations


class TufError(Exception):
    """Base of every TUF error; the message is shown to the user as is."""

    code = "tuf-error"

    def __init__(self, message: str, *, file: str | None = None, field: str | None = None):
        self.reason = message
        self.file = file
        self.field = field
        super().__init__(self._render())

    def _render(self) -> str:
        # a field path can hold a hostile name (a 100,000-character target): shortened
        field = self.field if not self.field or len(self.field) <= 300 else \
            f"{self.field[:300]}..."
        where = ": ".join(part for part in (self.file, field) if part)
        return f"{where}: {self.reason}" if where else self.reason

    def located(self, file: str | None = None, prefix: str | None = None) -> TufError:
        """The same error with its file and the field path it travelled up through."""
        if file and not self.file:
            self.file = file
        if prefix:
            self.field = f"{prefix}.{self.field}" if self.field else prefix
        self.args = (self._render(),)
        return self


class TufFormatError(TufError):
    """Not TUF 1.0 metadata as the specification defines it (JSON, types, required fields)."""

    code = "format"


class TufVerificationError(TufError):
    """Well formed, but must not be trusted."""

    code = "verification"


class ThresholdError(TufVerificationError):
    """Fewer valid signatures than a role's threshold."""

    code = "threshold"


class RootChainError(TufVerificationError):
    """A root does not follow the one before it (version, type, signatures of the old root)."""

    code = "root-chain"


class RollbackError(TufVerificationError):
    """A version is lower than one already trusted."""

    code = "rollback"


class ExpiredError(TufVerificationError):
    """A role is past its expiry (freeze attack, or a repository that needs renewing)."""

    code = "expired"


class ConsistencyError(TufVerificationError):
    """Timestamp, snapshot and targets disagree (version, length or hash of a listed file)."""

    code = "consistency"


class DelegationError(TufVerificationError):
    """A delegated role is missing, badly delegated or not signed by its delegator's keys."""

    code = "delegation"


class SigningError(TufError):
    """A signature could not be made (no key on the tokens, unsupported scheme...)."""

    code = "signing"

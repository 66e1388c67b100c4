"""Errors of the Notary Project side. All are CeremonyError, so the CLI prints one line."""

from __future__ import annotations

from ceremony.errors import CeremonyError


class NotationError(CeremonyError):
    """Base: the message says what is wrong and what to do next."""


class CertificateRuleError(NotationError):
    """A certificate or CSR breaks a Notary Project certificate rule; the message names it."""


class EnvelopeError(NotationError):
    """A signature envelope is not one the Notary Project specification allows."""


class SignatureVerificationError(NotationError):
    """A well-formed signature that must not be trusted (chain, key, time, revocation...)."""


class RegistryError(NotationError):
    """An OCI registry answered something we refuse (wrong digest, size, status...)."""

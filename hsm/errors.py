"""Errors of the PKCS#11 layer. Messages never contain a PIN.

Every message is meant to be shown to a ceremony officer as one line: it says what failed, on
which module/token/key, and what to do about it.
"""


class HSMError(Exception):
    """Base of all token/module errors; the message is shown to the user as is."""


class ModuleError(HSMError):
    """No PKCS#11 module could be found or loaded."""


class URIError(HSMError):
    """A PKCS#11 URI (RFC 7512) is malformed or asks for something refused."""


class TokenNotFoundError(HSMError):
    """No token (or more than one) matches the selection."""


class PinError(HSMError):
    """A PIN could not be obtained, or the token refused it."""


class PinIncorrectError(PinError):
    """The token answered CKR_PIN_INCORRECT."""


class PinLockedError(PinError):
    """The token answered CKR_PIN_LOCKED, or reports its user PIN as locked."""


class KeyExistsError(HSMError):
    """A key with the requested label or ID already exists on the token."""


class KeyNotFoundError(HSMError):
    """No key (or more than one) matches the selection."""


class AlgorithmError(HSMError):
    """An algorithm is unknown, unsupported by the token, or not allowed for this use."""


class TokenOperationError(HSMError):
    """The token failed an operation (generation, signing, reading attributes)."""

"""Errors of the PKCS#11 layer. Messages never contain a PIN."""


class HSMError(Exception):
    """Base of all token/module errors; the message is shown to the user as is."""

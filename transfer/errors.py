"""Errors of the transfer layer (bundles, files, QR frames)."""


class TransferError(Exception):
    """Base of all transfer errors; the message is shown to the user as is."""

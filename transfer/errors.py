"""Errors of the transfer layer (bundles, QR frames)."""

from groundfloor.errors import GroundFloorError


class TransferError(GroundFloorError):
    """Base of all transfer errors; the message is shown to the user as is."""

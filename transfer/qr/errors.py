"""Errors of QR transfer. Each message says what happened and what the person can do next."""

from __future__ import annotations

from transfer.errors import TransferError


class QRTransferError(TransferError):
    """Base of QR transfer errors."""


class FrameError(QRTransferError):
    """One frame text is not a valid frame (corrupted scan, foreign code, other format)."""


class IncompleteError(QRTransferError):
    """The input ended before every frame of the message was received."""

    def __init__(self, message: str, missing: list[int]) -> None:
        super().__init__(message)
        self.missing = missing


class IntegrityError(QRTransferError):
    """The reassembled message failed its digest, size or decompression check."""


class RenderError(QRTransferError):
    """A frame could not be rendered or shown (size, display, missing optional module)."""


class CaptureError(QRTransferError):
    """Frames could not be read from an image, video, camera or stream."""

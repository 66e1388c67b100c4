"""Sender side: a bundle becomes a series of frames (N data frames, then fountain frames)."""

from __future__ import annotations

import hashlib
import math
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import count as counter

from groundfloor.limits import MAX_QR_TRANSFER_BYTES
from transfer.qr.errors import QRTransferError
from transfer.qr.fountain import fountain_mask, xor_chunks
from transfer.qr.frames import (
    MAX_COUNT,
    MAX_INDEX,
    SeriesKey,
    format_frame,
    msg_id_from_digest,
)

DIGEST_LEN = 32
DEFAULT_FRAME_BYTES = 700


@dataclass(frozen=True)
class Series:
    """Everything the sender needs to produce any frame of one message."""

    key: SeriesKey
    digest: bytes  # SHA-256 of the bundle
    chunks: tuple[int, ...] = field(repr=False)  # data chunks as big-endian integers

    @property
    def count(self) -> int:
        return self.key.count

    @property
    def msg_id(self) -> str:
        return self.key.msg_id

    def payload(self, index: int) -> bytes:
        """Chunk bytes carried by frame `index` (a data chunk or a fountain XOR)."""
        mask = fountain_mask(self.key.msg_id, self.key.count, index)
        return xor_chunks(self.chunks, mask).to_bytes(self.key.chunk_size, "big")

    def frame(self, index: int) -> str:
        return format_frame(self.key, index, self.payload(index))

    def frames(self, extra: int = 0) -> list[str]:
        """The N data frames followed by `extra` fountain frames."""
        return [self.frame(i) for i in range(1, self.count + extra + 1)]

    def stream(self, start: int = 1) -> Iterator[str]:
        """Endless: data frames, then new fountain frames (wrapping round at MAX_INDEX)."""
        for i in counter(start):
            if i > MAX_INDEX:
                i = self.count + 1 + (i - self.count - 1) % (MAX_INDEX - self.count)
            yield self.frame(i)


def build_message(data: bytes) -> tuple[bytes, bytes]:
    """(digest, message): message = SHA-256(data) || zlib level 9 of data."""
    digest = hashlib.sha256(data).digest()
    return digest, digest + zlib.compress(data, 9)


def plan_series(data: bytes, frame_bytes: int = DEFAULT_FRAME_BYTES) -> Series:
    """Split `data` into the fewest frames of at most `frame_bytes` payload bytes, chunks balanced
    so a short message gets a smaller code rather than padding."""
    if len(data) > MAX_QR_TRANSFER_BYTES:
        raise QRTransferError(f"bundle is {len(data)} bytes; QR transfer is limited to "
                              f"{MAX_QR_TRANSFER_BYTES // (1024 * 1024)} MiB: move it as a file")
    digest, message = build_message(data)
    return series_from_message(digest, message, len(data), frame_bytes)


def series_from_message(digest: bytes, message: bytes, size: int, frame_bytes: int) -> Series:
    """Lower level than plan_series: frames for an already built message (tests use it to build
    lying or tampered series)."""
    if frame_bytes < 16:
        raise QRTransferError(f"--frame-bytes {frame_bytes} is too small (minimum 16)")
    count = math.ceil(len(message) / frame_bytes)
    if count > MAX_COUNT:
        raise QRTransferError(
            f"{len(message)} bytes at {frame_bytes} bytes a frame needs {count} frames "
            f"(limit {MAX_COUNT}): use a higher density or move the bundle as a file")
    chunk = math.ceil(len(message) / count)
    padded = message.ljust(count * chunk, b"\0")
    chunks = tuple(int.from_bytes(padded[i * chunk:(i + 1) * chunk], "big") for i in range(count))
    key = SeriesKey(msg_id_from_digest(digest), count, len(message), size, chunk)
    return Series(key, digest, chunks)


def default_extra(count: int) -> int:
    """Fountain frames added to static outputs (files, sheets, text): about 10 %, at least 2,
    so one unreadable code never blocks the transfer -- a one-frame message too (its spare
    frames carry the same chunk under other frame numbers)."""
    return max(2, math.ceil(count / 10))


def encode_frames(data: bytes, frame_bytes: int = DEFAULT_FRAME_BYTES,
                  extra: int | None = None) -> list[str]:
    """Bundle bytes -> frame texts: N data frames then `extra` fountain frames."""
    series = plan_series(data, frame_bytes)
    return series.frames(default_extra(series.count) if extra is None else extra)

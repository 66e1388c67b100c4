"""The frame text format, NCQR1: one QR code's content, plain text for QR alphanumeric mode.

    NCQR1:<ID>:<INDEX>/<COUNT>:<MSGLEN>:<SIZE>:<PAYLOAD>:<CRC>

ID is the first 5 bytes of the bundle's SHA-256 in base32 (8 chars); INDEX is 1..COUNT for data
frames and above COUNT for fountain frames; MSGLEN is the length of the framed message (digest +
zlib stream); SIZE is the declared size of the bundle; PAYLOAD is one chunk in RFC 4648 base32
without padding; CRC is CRC-32 of everything before the last colon, 8 uppercase hex digits.
Every character is in the QR alphanumeric set and on a plain keyboard. docs/transfer.md is the
full specification; this module is the only place that reads or writes the text.
"""

from __future__ import annotations

import base64
import binascii
import re
import zlib
from dataclasses import dataclass

from groundfloor.limits import MAX_QR_TRANSFER_BYTES
from transfer.qr.errors import FrameError

TAG = "NCQR"
VERSION = 1
PREFIX = f"{TAG}{VERSION}"
ID_LEN = 8  # base32 chars for 5 digest bytes
ID_BYTES = 5
MAX_COUNT = 9999  # data frames in one message
MAX_INDEX = 9_999_999  # fountain frames wrap round to COUNT + 1 after this
# digest + zlib never expands a 16 MiB input past this
MAX_MSGLEN = MAX_QR_TRANSFER_BYTES + 64 * 1024

_B32_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_ID_RE = re.compile(r"[A-Z2-7]{8}")
_NUM_RE = re.compile(r"0|[1-9][0-9]{0,8}")
_PAYLOAD_RE = re.compile(r"[A-Z2-7]+")
_CRC_RE = re.compile(r"[0-9A-F]{8}")
# Every character a frame may contain is in QR alphanumeric mode: 0-9 A-Z space $ % * + - . / :
ALPHANUMERIC = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")


@dataclass(frozen=True)
class SeriesKey:
    """What identifies one series of frames: frames agree on all of it or belong elsewhere."""

    msg_id: str
    count: int
    msglen: int
    size: int
    chunk_size: int


@dataclass(frozen=True)
class Frame:
    key: SeriesKey
    index: int
    payload: bytes

    @property
    def is_fountain(self) -> bool:
        return self.index > self.key.count


def b32encode(data: bytes) -> str:
    return base64.b32encode(data).decode("ascii").rstrip("=")


def b32decode(text: str) -> bytes:
    if len(text) % 8 in (1, 3, 6):
        raise ValueError("impossible base32 length")
    return base64.b32decode(text + "=" * (-len(text) % 8))


def b32len(nbytes: int) -> int:
    """Characters of unpadded base32 for `nbytes` bytes."""
    return (nbytes * 8 + 4) // 5


def msg_id_from_digest(digest: bytes) -> str:
    return b32encode(digest[:ID_BYTES])


def crc_text(text: str) -> str:
    return f"{zlib.crc32(text.encode('ascii')) & 0xFFFFFFFF:08X}"


def format_frame(key: SeriesKey, index: int, payload: bytes) -> str:
    """The text of one frame. `payload` must be exactly `key.chunk_size` bytes."""
    if len(payload) != key.chunk_size:
        raise ValueError(f"payload is {len(payload)} bytes, series chunk size is {key.chunk_size}")
    if not 1 <= index <= MAX_INDEX:
        raise ValueError(f"frame index {index} out of range 1..{MAX_INDEX}")
    body = (f"{PREFIX}:{key.msg_id}:{index}/{key.count}:{key.msglen}:{key.size}:"
            f"{b32encode(payload)}")
    return f"{body}:{crc_text(body)}"


def max_frame_len(key: SeriesKey) -> int:
    """Longest frame text of the series (widest index): sizes the one QR version of the series."""
    return (len(PREFIX) + 1 + ID_LEN + 1 + len(str(MAX_INDEX)) + 1 + len(str(key.count)) + 1
            + len(str(key.msglen)) + 1 + len(str(key.size)) + 1 + b32len(key.chunk_size) + 1 + 8)


def normalize(text: str) -> str:
    """What a scanner or decoder gave us, as the sender wrote it.

    Keyboard-mode scanners add CR/LF, some add trailing spaces, some turn letters lowercase; the
    format has no lowercase and no spaces, so both are safe to undo.
    """
    text = text.strip()
    # Only ASCII is case-folded: str.upper() maps some other letters onto ASCII ones
    # ('ı' -> 'I', 'ſ' -> 'S'), which would let a line that is not a frame pass for one.
    return text.upper() if text.isascii() else text


def parse_frame(text: str) -> Frame:
    """Parse and check one frame. Raises FrameError saying what is wrong with it."""
    text = normalize(text)
    if not text.startswith(TAG):
        raise FrameError("not a ceremony transfer frame")
    if not text.isascii():  # frames are ASCII; anything else is a damaged or forged scan
        raise FrameError("frame contains non-ASCII characters (damaged scan)")
    if not text.startswith(PREFIX + ":"):
        head = text.split(":", 1)[0]
        raise FrameError(f"frame format {head} is not supported (this tool reads {PREFIX})")
    body, _, crc = text.rpartition(":")
    if not _CRC_RE.fullmatch(crc) or crc_text(body) != crc:
        raise FrameError("frame checksum mismatch (damaged scan)")
    parts = body.split(":")
    if len(parts) != 6:
        raise FrameError("malformed frame: wrong number of fields")
    _, msg_id, position, msglen_s, size_s, payload_s = parts
    index_s, slash, count_s = position.partition("/")
    if not (_ID_RE.fullmatch(msg_id) and slash and all(
            _NUM_RE.fullmatch(s) for s in (index_s, count_s, msglen_s, size_s))
            and _PAYLOAD_RE.fullmatch(payload_s)):
        raise FrameError("malformed frame: bad field")
    index, count, msglen, size = int(index_s), int(count_s), int(msglen_s), int(size_s)
    try:
        payload = b32decode(payload_s)
    except (ValueError, binascii.Error):
        raise FrameError("malformed frame: bad payload encoding") from None
    if payload_s != b32encode(payload):
        raise FrameError("malformed frame: non-canonical payload encoding")
    chunk = len(payload)
    if not 1 <= count <= MAX_COUNT or not 1 <= index <= MAX_INDEX:
        raise FrameError("malformed frame: index or count out of range")
    if size > MAX_QR_TRANSFER_BYTES:
        raise FrameError(f"frame declares a {size}-byte bundle, over the "
                         f"{MAX_QR_TRANSFER_BYTES // (1024 * 1024)} MiB limit")
    if msglen > MAX_MSGLEN or not (count - 1) * chunk < msglen <= count * chunk:
        raise FrameError("malformed frame: message length does not match count and chunk size")
    return Frame(SeriesKey(msg_id, count, msglen, size, chunk), index, payload)

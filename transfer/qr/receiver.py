"""Receiver side: frames in any order, from any source, become the bundle or a clear error.

Frames are grouped by series (ID, count, sizes, chunk size); the first series seen is the one
progress is shown for, frames of other series are kept apart and noted, never mixed in and never
a reset. Whichever series completes first is checked (size bound, zlib, SHA-256) and returned.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from groundfloor.limits import MAX_QR_TRANSFER_BYTES
from groundfloor.words import digest_words
from transfer.qr.encoder import DIGEST_LEN
from transfer.qr.errors import FrameError, IncompleteError, IntegrityError
from transfer.qr.fountain import GF2Solver, SolverBudgetExceeded, fountain_mask
from transfer.qr.frames import (
    TAG,
    Frame,
    SeriesKey,
    msg_id_from_digest,
    normalize,
    parse_frame,
)

MAX_SERIES = 8  # series tracked at once; frames of more are ignored (noted)

# Event kinds returned by Receiver.add
NEW = "new"  # a frame that added information to its series
DUPLICATE = "duplicate"  # valid, but nothing new (seen before, or implied by others)
OTHER = "other-message"  # valid frame of a series that is not the one being shown
CORRUPT = "corrupt"  # looked like one of our frames but failed its checks
FOREIGN = "foreign"  # some other QR code or text
EMPTY = "empty"


@dataclass
class Event:
    kind: str
    detail: str = ""
    key: SeriesKey | None = None
    index: int | None = None


@dataclass
class Received:
    data: bytes
    digest: bytes
    key: SeriesKey

    @property
    def hex(self) -> str:
        return self.digest.hex()

    @property
    def words(self) -> str:
        return digest_words(self.digest)


@dataclass
class SeriesState:
    key: SeriesKey
    solver: GF2Solver
    indices: set[int] = field(default_factory=set)

    @property
    def missing(self) -> list[int]:
        """1-based data frame numbers still unknown."""
        return [k + 1 for k in self.solver.missing()]


def format_indices(indices: list[int], limit: int = 12) -> str:
    """1,2,3,5,7,8 -> '1-3, 5, 7-8'; long lists end in '... (+N more)'."""
    ranges: list[str] = []
    i = 0
    while i < len(indices):
        j = i
        while j + 1 < len(indices) and indices[j + 1] == indices[j] + 1:
            j += 1
        ranges.append(str(indices[i]) if i == j else f"{indices[i]}-{indices[j]}")
        i = j + 1
    if len(ranges) > limit:
        return ", ".join(ranges[:limit]) + f", ... (+{len(ranges) - limit} more)"
    return ", ".join(ranges)


class Receiver:
    """Feed frame texts with `add`; when `complete`, take the checked bundle from `result()`."""

    def __init__(self, max_size: int = MAX_QR_TRANSFER_BYTES) -> None:
        self.max_size = min(max_size, MAX_QR_TRANSFER_BYTES)
        self.series: dict[SeriesKey, SeriesState] = {}
        self.primary: SeriesKey | None = None
        self.counts: dict[str, int] = {}
        self._done: Received | None = None
        self._failed: IntegrityError | None = None
        self.last_rejection = ""  # why the latest frame-looking text was refused

    # -- feeding -------------------------------------------------------------------------------
    def add(self, text: str) -> Event:
        event = self._add(text)
        self.counts[event.kind] = self.counts.get(event.kind, 0) + 1
        if event.kind == CORRUPT:
            self.last_rejection = event.detail
        return event

    def _add(self, text: str) -> Event:
        if self._done is not None:
            return Event(DUPLICATE, "message already complete")
        norm = normalize(text)
        if not norm:
            return Event(EMPTY)
        try:
            frame = parse_frame(norm)
        except FrameError as exc:
            kind = CORRUPT if norm.startswith(TAG) else FOREIGN
            return Event(kind, str(exc))
        if frame.key.size > self.max_size:
            return Event(CORRUPT, f"frame declares a {frame.key.size}-byte bundle, over the "
                                  f"{self.max_size}-byte limit of this receiver")
        state = self.series.get(frame.key)
        if state is None:
            if len(self.series) >= MAX_SERIES:
                return Event(OTHER, f"too many different messages (over {MAX_SERIES}); "
                                    "frame ignored", frame.key, frame.index)
            state = SeriesState(frame.key, GF2Solver(frame.key.count))
            self.series[frame.key] = state
            if self.primary is None:
                self.primary = frame.key
        try:
            new = self._feed(state, frame)
        except SolverBudgetExceeded:
            self._failed = IntegrityError(
                f"message {frame.key.msg_id}: its frames cost more work to solve than any "
                f"real series of {frame.key.count} frames (a flood of forged frames?); stopped "
                "after a bounded effort, nothing written: receive again from the sender's "
                "own frames")
            raise self._failed from None
        if new is None:
            return Event(CORRUPT, f"frame {frame.index} contradicts earlier frames of message "
                                  f"{frame.key.msg_id} (tampered or mixed up); dropped",
                         frame.key, frame.index)
        if state.solver.complete:
            self._finish(state)
        if frame.key != self.primary and self._done is None:
            return Event(OTHER, f"frame {frame.index} of another message {frame.key.msg_id} "
                                f"(collecting {self.primary.msg_id if self.primary else '?'})",
                         frame.key, frame.index)
        return Event(NEW if new else DUPLICATE, "", frame.key, frame.index)

    @staticmethod
    def _feed(state: SeriesState, frame: Frame) -> bool | None:
        if frame.index in state.indices:
            return False
        state.indices.add(frame.index)
        mask = fountain_mask(frame.key.msg_id, frame.key.count, frame.index)
        return state.solver.add(mask, int.from_bytes(frame.payload, "big"))

    def _finish(self, state: SeriesState) -> None:
        try:
            self._done = assemble(state, self.max_size)
        except IntegrityError as exc:
            # A complete series that fails its checks was tampered with or mixed up: stop here.
            self._failed = exc
            raise

    # -- state ---------------------------------------------------------------------------------
    @property
    def complete(self) -> bool:
        return self._done is not None

    @property
    def current(self) -> SeriesState | None:
        """The series progress is shown for: the completed one, else the first one seen."""
        if self._done is not None:
            return self.series[self._done.key]
        return self.series.get(self.primary) if self.primary else None

    def progress(self) -> str:
        state = self.current
        if state is None:
            return "no frames yet"
        key, have = state.key, state.solver.rank
        text = f"{key.msg_id}: {have}/{key.count} frames"
        missing = state.missing
        if missing and len(missing) < key.count:
            text += f", missing {len(missing)}: {format_indices(missing)}"
        others = len(self.series) - 1
        if others > 0:
            text += f" ({others} other message{'s' if others > 1 else ''} seen)"
        return text

    def result(self) -> Received:
        if self._failed is not None:
            raise self._failed
        if self._done is not None:
            return self._done
        state = self.current
        if state is None:
            seen = ", ".join(f"{n} {k}" for k, n in sorted(self.counts.items())) or "no input"
            why = f"; last rejected: {self.last_rejection}" if self.last_rejection else ""
            raise IncompleteError(f"no ceremony transfer frames received ({seen}{why}); "
                                  "nothing written", [])
        missing = state.missing
        need = state.key.count - state.solver.rank
        raise IncompleteError(
            f"incomplete: message {state.key.msg_id} still misses {len(missing)} of "
            f"{state.key.count} frames: {format_indices(missing, 40)} "
            f"(any {need} more extra frame{'s' if need > 1 else ''} would also do); "
            "nothing written", missing)


def assemble(state: SeriesState, max_size: int = MAX_QR_TRANSFER_BYTES) -> Received:
    """Join the chunks of a complete series and check it: size bound, zlib, SHA-256."""
    key = state.key
    message = b"".join(state.solver.value(k).to_bytes(key.chunk_size, "big")
                       for k in range(key.count))
    if any(message[key.msglen:]):
        raise IntegrityError(f"message {key.msg_id}: padding is not zero (tampered frames); "
                             "nothing written")
    message = message[:key.msglen]
    if len(message) < DIGEST_LEN:
        raise IntegrityError(f"message {key.msg_id} is too short to hold a digest; "
                             "nothing written")
    digest, compressed = message[:DIGEST_LEN], message[DIGEST_LEN:]
    limit = min(key.size, max_size)
    inflater = zlib.decompressobj()
    try:
        data = inflater.decompress(compressed, limit + 1)
    except zlib.error as exc:
        raise IntegrityError(f"message {key.msg_id} does not decompress ({exc}): frames were "
                             "tampered with or mixed; nothing written") from None
    if len(data) > limit or inflater.unconsumed_tail:
        raise IntegrityError(
            f"message {key.msg_id} inflates past its declared size of {key.size} bytes "
            "(a lying size or a decompression bomb); nothing written")
    if not inflater.eof or inflater.unused_data:
        raise IntegrityError(f"message {key.msg_id} has a truncated or over-long zlib stream; "
                             "nothing written")
    if len(data) != key.size:
        raise IntegrityError(f"message {key.msg_id} is {len(data)} bytes, declared "
                             f"{key.size}; nothing written")
    actual = hashlib.sha256(data).digest()
    if actual != digest:
        raise IntegrityError(
            f"digest check failed for message {key.msg_id}: got sha256 {actual.hex()[:16]}..., "
            f"frames carry {digest.hex()[:16]}...; nothing written")
    if msg_id_from_digest(actual) != key.msg_id:
        raise IntegrityError(f"message id {key.msg_id} does not match the digest "
                             f"{actual.hex()[:16]}...; nothing written")
    return Received(data, actual, key)


class _HasTexts(Protocol):
    source: str
    texts: list[str]
    error: str


def receive_from(captures: Iterable[_HasTexts], receiver: Receiver,
                 report: Callable[[_HasTexts, list[Event]], None] | None = None) -> Received:
    """Feed every capture into `receiver` until a message completes; return it, checked.

    Raises IncompleteError (naming the missing frames) when the input ends first, and
    IntegrityError when the completed message fails its checks.
    """
    for capture in captures:
        events = [receiver.add(text) for text in capture.texts]
        if report is not None:
            report(capture, events)
        if receiver.complete:
            break
    return receiver.result()

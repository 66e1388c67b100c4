"""Fountain frames: XOR of a pseudo-random subset of data chunks, and the decoder that uses them.

Frame INDEX > COUNT carries the XOR of the chunks whose bits are set in `fountain_mask`. The mask
comes from SHAKE-256 of the frame's own header text, so sender and receiver derive it alone.
Subsets are dense (each chunk with probability 1/2): with the elimination decoder below, almost
any COUNT independent frames finish the message, so a receiver never waits for one specific
missed frame to come round again.

The solver's work is bounded per message (MAX_ROW_OPERATIONS): dense elimination costs up to
rank row operations a frame, so a flood of valid fountain frames of a message announcing many
chunks would otherwise cost time quadratic in the flood. A sender's series is solved well inside
the budget (data frames cost nothing, each extra frame at most one pass over the rows).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from transfer.qr.frames import PREFIX


def fountain_mask(msg_id: str, count: int, index: int) -> int:
    """Bit k set = data chunk k+1 is in frame `index` (a data frame has just its own bit)."""
    if index <= count:
        return 1 << (index - 1)
    seed = f"{PREFIX}:{msg_id}:{index}/{count}".encode("ascii")
    nbytes = (count + 7) // 8
    mask = int.from_bytes(hashlib.shake_256(seed).digest(nbytes), "little") & ((1 << count) - 1)
    return mask or 1 << ((index - 1) % count)


def xor_chunks(chunks: Sequence[int], mask: int) -> int:
    value = 0
    while mask:
        low = mask & -mask
        value ^= chunks[low.bit_length() - 1]
        mask ^= low
    return value


# Row operations (a row XORed into an equation, or a row looked at for back-substitution) one
# message may cost: ~1 s of work. A 1000-chunk message solved from fountain frames alone costs
# about 1.5 million; a real series (mostly data frames) a small fraction of that.
MAX_ROW_OPERATIONS = 4_000_000


class SolverBudgetExceeded(Exception):
    """The equations of one message cost more than MAX_ROW_OPERATIONS to solve."""


class GF2Solver:
    """Incremental Gauss-Jordan elimination over GF(2) on (mask, chunk) equations.

    Rows are kept fully reduced: each row holds its own pivot bit and otherwise only non-pivot
    bits. A data frame of an unknown chunk is then one insertion and no XOR (the peeling case);
    a fountain frame is reduced by the rows it touches and, if anything is left, becomes a new
    row. The message is complete when there are `n` rows; every row is then a single chunk.
    """

    def __init__(self, n: int, budget: int = MAX_ROW_OPERATIONS) -> None:
        self.n = n
        self.work = 0  # row operations spent so far
        self.budget = budget
        self._rows: dict[int, tuple[int, int]] = {}  # pivot -> (mask, value)
        self._pivots = 0  # bitmask of pivot columns
        self._dense: set[int] = set()  # pivots whose row still has other bits

    @property
    def rank(self) -> int:
        return len(self._rows)

    @property
    def complete(self) -> bool:
        return len(self._rows) == self.n

    def add(self, mask: int, value: int) -> bool | None:
        """Add one equation: True if it told us something new, False if it was implied by
        earlier ones, None if it contradicts them (a tampered or mixed-up frame, dropped)."""
        common = mask & self._pivots
        # Charged before the work is done: a frame that would pass the budget is not solved.
        self.work += common.bit_count() + len(self._dense)
        if self.work > self.budget:
            raise SolverBudgetExceeded(self.work)
        while common:
            low = common & -common
            row_mask, row_value = self._rows[low.bit_length() - 1]
            mask ^= row_mask
            value ^= row_value
            common ^= low
        if not mask:
            return None if value else False
        low = mask & -mask
        pivot = low.bit_length() - 1
        for q in list(self._dense):
            row_mask, row_value = self._rows[q]
            if row_mask & low:
                row_mask ^= mask
                self._rows[q] = (row_mask, row_value ^ value)
                if row_mask == 1 << q:
                    self._dense.discard(q)
        self._rows[pivot] = (mask, value)
        self._pivots |= low
        if mask != low:
            self._dense.add(pivot)
        return True

    def solved(self) -> list[int]:
        """0-based chunk numbers known so far."""
        return sorted(p for p in self._rows if p not in self._dense)

    def missing(self) -> list[int]:
        """0-based chunk numbers not known yet."""
        known = set(self.solved())
        return [k for k in range(self.n) if k not in known]

    def value(self, k: int) -> int:
        mask, value = self._rows[k]
        if mask != 1 << k:
            raise KeyError(k)
        return value

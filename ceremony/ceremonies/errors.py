"""Errors of the ceremonies: refusals (nothing written) and what a partial signing lacks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ceremony.errors import CeremonyError


class CeremonyRefused(CeremonyError):
    """The ceremony refuses to go on; nothing was signed, written or changed.

    `details` are recorded in the transcript next to the one-line message.
    """

    def __init__(self, message: str, **details: Any):
        super().__init__(message)
        self.details = details


class MissingSignaturesError(CeremonyRefused):
    """The tokens present cannot meet a threshold; `missing` lists every key still needed."""

    def __init__(self, message: str, missing: Sequence[Mapping[str, Any]]):
        super().__init__(message, missing=[dict(m) for m in missing])
        self.missing = [dict(m) for m in missing]

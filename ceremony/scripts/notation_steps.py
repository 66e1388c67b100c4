"""Executing the Notary v2 (notation) script actions described in notation_spec.py."""

from __future__ import annotations

from collections.abc import Callable

from ceremony.scripts.context import Context, Produced
from ceremony.scripts.schema import Step

EXECUTORS: dict[str, Callable[[Context, Step], Produced | None]] = {}

"""Executing the TUF 1.0 script actions described in tuf_spec.py."""

from __future__ import annotations

from collections.abc import Callable

from ceremony.scripts.context import Context, Produced
from ceremony.scripts.schema import Step

EXECUTORS: dict[str, Callable[[Context, Step], Produced | None]] = {}

"""Durations and expiries as a ceremony reads them: the tool's one grammar (hsm/duration.py),
a bad value refused as a ceremony refuses (CeremonyRefused: one line, nothing written).

`10y`, `6m`, `90d`, `52w`, `12h` (a year is 365 days, a month 30 days); an expiry may also be a
date, `2030-01-31` (midnight UTC) or `2030-01-31T12:00:00Z`. Every trust system's parameter
tables read theirs here (ceremonies/params.py).
"""

from __future__ import annotations

import datetime as dt

from ceremony.ceremonies.errors import CeremonyRefused
from hsm import duration


def parse_duration(text: str, flag: str, *, allow_zero: bool = False) -> dt.timedelta:
    """The tool's one duration grammar (hsm/duration.py), refusing as a ceremony does."""
    try:
        return duration.parse_duration(text, flag, allow_zero=allow_zero)
    except duration.DurationError as exc:
        raise CeremonyRefused(str(exc)) from None


def parse_expiry(text: str, flag: str, now: dt.datetime | None = None) -> dt.datetime:
    """A DURATION from now, or a DATE (hsm/duration.py); a whole-second UTC datetime."""
    try:
        return duration.parse_expiry(text, flag, now)
    except duration.DurationError as exc:
        raise CeremonyRefused(str(exc)) from None

"""The one duration and expiry grammar of the whole tool (every option, every script key).

It lives in `hsm/` because certificate validity (`ceremony key cert --valid-for`) needs it and
`hsm/` must not import the ceremony layer; the ceremonies use it from here.

- DURATION: a whole number (ASCII digits, no sign) with a unit: `y` (365 days, Notary's year),
  `m` (30 days), `w`, `d`, `h`. E.g. `10y`, `6m`, `90d`, `52w`, `12h`. At most 100 years.
  `0` (or `0d`) only where the option says so (e.g. `--reissue-within 0`: none).
- EXPIRY: a DURATION from now, or a UTC date `2031-06-30` (midnight UTC) or a time
  `2031-06-30T12:00:00Z`; it must lie more than an hour ahead and at most 100 years ahead.
"""

from __future__ import annotations

import datetime as dt
import re

from hsm.errors import HSMError

YEAR = dt.timedelta(days=365)  # Notary's `notary.Year`
UNITS = {"y": YEAR, "m": dt.timedelta(days=30), "w": dt.timedelta(weeks=1),
         "d": dt.timedelta(days=1), "h": dt.timedelta(hours=1)}
MAX_DURATION = 100 * YEAR
_DURATION = re.compile(r"([0-9]+)([ymwdh])")  # [0-9]: ASCII digits only
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_STAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
HINT = "use a whole number with a unit, e.g. 10y, 6m (30 days), 90d, 52w or 12h"


class DurationError(HSMError):
    """A duration or expiry the grammar refuses; the message names the option."""


def parse_duration(text: str, flag: str, *, allow_zero: bool = False) -> dt.timedelta:
    """DURATION -> timedelta; DurationError naming `flag` otherwise."""
    raw = (text or "").strip().lower()
    if allow_zero and raw in ("0", "0d"):
        return dt.timedelta(0)
    m = _DURATION.fullmatch(raw)
    if m is None or int(m.group(1)) == 0:
        raise DurationError(f"{flag} {text!r}: {HINT}")
    if len(m.group(1)) > 6 or int(m.group(1)) * UNITS[m.group(2)] > MAX_DURATION:
        raise DurationError(f"{flag} {text!r} is more than 100 years (give at most 100 "
                            "years, 100y)")
    return int(m.group(1)) * UNITS[m.group(2)]


def parse_expiry(text: str, flag: str, now: dt.datetime | None = None) -> dt.datetime:
    """EXPIRY -> a whole-second UTC datetime in the future; DurationError otherwise."""
    now = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    raw = (text or "").strip()
    if _DATE.fullmatch(raw) or _STAMP.fullmatch(raw):
        fmt = "%Y-%m-%d" if len(raw) == 10 else "%Y-%m-%dT%H:%M:%SZ"
        try:
            when = dt.datetime.strptime(raw, fmt).replace(tzinfo=dt.UTC)
        except ValueError:
            raise DurationError(f"{flag} {text!r} is not a valid date") from None
    else:
        when = now + parse_duration(raw, flag)
    if when > now + MAX_DURATION:
        raise DurationError(f"{flag} {text!r} is more than 100 years away")
    if when <= now + dt.timedelta(hours=1):
        raise DurationError(f"{flag} {text!r} is not in the future (give a later date or a "
                            "duration such as 3y)")
    return when

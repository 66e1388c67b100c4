"""An instant as Notary metadata states it: nanoseconds since the epoch, and the UTC offset its
text was written in (Go writes a time in the zone of the machine that made it)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from ceremony.notary.format.encoding import format_time, parse_time_offset


@dataclass(frozen=True, order=True, slots=True)
class Instant:
    """An instant with Go's nanosecond precision (Python's datetime stops at microseconds).

    `offset` is the UTC offset, in minutes, of the text it was read from: a workstation in Berlin
    writes `+02:00` and those bytes are what was signed, so they are written back unchanged.
    Instants compare by `ns` only, whatever zone their text was in; what the tool makes itself
    (offset 0) is written in UTC with `Z`.
    """

    ns: int
    offset: int = field(default=0, compare=False)

    @classmethod
    def parse(cls, text: str) -> Instant:
        """From RFC 3339 as Go writes it (any offset); ValueError otherwise."""
        return cls(*parse_time_offset(text))

    @classmethod
    def from_datetime(cls, moment: dt.datetime) -> Instant:
        if moment.tzinfo is None:
            raise ValueError("a timezone-aware datetime is required")
        delta = moment - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        return cls((delta // dt.timedelta(microseconds=1)) * 1000)

    @classmethod
    def now(cls) -> Instant:
        return cls.from_datetime(dt.datetime.now(dt.UTC))

    def to_datetime(self) -> dt.datetime:
        """As a datetime in UTC (nanoseconds truncated to microseconds)."""
        return dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=self.ns // 1000)

    def __add__(self, delta: dt.timedelta) -> Instant:
        return Instant(self.ns + (delta // dt.timedelta(microseconds=1)) * 1000)

    def __sub__(self, delta: dt.timedelta) -> Instant:
        return Instant(self.ns - (delta // dt.timedelta(microseconds=1)) * 1000)

    def __str__(self) -> str:
        return format_time(self.ns, self.offset)

    def utc(self) -> str:
        """The same instant in UTC (`Z`), for people comparing times from several zones."""
        return format_time(self.ns)

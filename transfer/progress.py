"""A progress bar for long runs over many repositories, on stderr.

On a terminal it redraws one line (at most ten times a second); when asked for elsewhere (a
log file, CI) it writes one plain line at most every `every` seconds, and always the last one.
Off by default when stderr is not a terminal, so scripts reading stderr see only messages.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

WIDTH = 30


class ProgressBar:
    """Call with (done, total) as work completes; `finish()` ends the line."""

    def __init__(self, what: str, *, stream: TextIO | None = None, enabled: bool | None = None,
                 every: float = 1.0):
        self.what = what
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.enabled = self.tty if enabled is None else enabled
        self.every = 0.1 if self.tty else every
        self.started = time.monotonic()
        self._last = float("-inf")  # the first call draws
        self._drawn = False
        self._line = ""

    def line(self, done: int, total: int) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = done / elapsed
        filled = WIDTH * done // total if total else WIDTH
        eta = f", {int((total - done) / rate)} s left" if rate and done < total else ""
        return (f"{self.what} [{'#' * filled}{'.' * (WIDTH - filled)}] {done}/{total} "
                f"repositories, {rate:.1f}/s{eta}")

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if done < total and now - self._last < self.every:
            return
        self._last = now
        self._line = self.line(done, total)
        if self.tty:
            self.stream.write("\r" + self._line.ljust(79) if len(self._line) < 79
                              else "\r" + self._line)
        else:
            self.stream.write(self._line + "\n")
        self._drawn = True
        self.stream.flush()

    def finish(self) -> None:
        if self.enabled and self.tty and self._drawn:
            self.stream.write("\n")
            self.stream.flush()

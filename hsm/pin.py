"""Where a token's user PIN comes from. Never from argv.

A pin source is one of:
- `prompt` (the default): ask on the terminal (/dev/tty) without echo;
- `env:NAME`: the value of environment variable NAME;
- `file:PATH` (or `file:///abs/path`, or a plain path containing '/'): the first line of a file.

A PIN is held in a `Pin`, whose repr and str never show the value, and is handed to the token
only at login; it is not kept after that. Error messages name the source, never the value.

Bounds: a PIN file is read by the one bounded reader (a regular file of at most
MAX_PIN_FILE_BYTES; a FIFO or a device is refused unopened), and the PIN's length is checked
against the token's own limits (CK_TOKEN_INFO ulMinPinLen/ulMaxPinLen, hsm/pinlimits.py)
BEFORE the login: a PIN the token would refuse must not cost a retry of its counter.
"""

from __future__ import annotations

import getpass
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from groundfloor.errors import GroundFloorError
from groundfloor.files import read_limited
from groundfloor.limits import MAX_PIN_FILE_BYTES
from hsm.errors import PinError

# A prompt callback: (token label) -> PIN text. The default reads /dev/tty without echo.
PinPrompt = Callable[[str], str]


class Pin:
    """A PIN value that does not print itself."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Pin(<redacted>)"

    __str__ = __repr__

    def __reduce__(self) -> tuple[object, ...]:  # never pickled into a file or a queue
        raise TypeError("a PIN cannot be pickled")


@dataclass(frozen=True)
class PinSource:
    """A parsed pin source: kind is "prompt", "env" or "file"."""

    kind: str
    where: str = ""

    def describe(self) -> str:
        return {"prompt": "the terminal prompt", "env": f"environment variable {self.where}",
                "file": f"PIN file {self.where}"}[self.kind]

    def __str__(self) -> str:
        return "prompt" if self.kind == "prompt" else f"{self.kind}:{self.where}"


def parse_pin_source(text: str | None) -> PinSource:
    """Parse `prompt`, `env:NAME`, `file:PATH`, `file:///PATH` or a path containing '/'.

    Anything else is refused without quoting it: a user who typed the PIN itself where a
    source was expected must not see it echoed into a terminal log.
    """
    if text is None or text == "" or text == "prompt":
        return PinSource("prompt")
    if text.startswith("env:"):
        name = text[4:]
        if not name or not all(c.isalnum() or c == "_" for c in name) or name[0].isdigit():
            raise PinError("pin-source env:NAME needs a valid environment variable name "
                           "(letters, digits, underscore)")
        return PinSource("env", name)
    if text.startswith("file:"):
        rest = text[5:]
        if rest.startswith("//"):
            # file://[host]/path (RFC 8089): only the local host is meaningful here.
            host, slash, path = rest[2:].partition("/")
            if host not in ("", "localhost") or not slash:
                raise PinError("pin-source file:// URI must name a local file "
                               "(file:///absolute/path)")
            rest = "/" + path
        path = unquote(rest)
        if not path:
            raise PinError("pin-source file:PATH needs a path")
        return PinSource("file", path)
    if "/" in text and ":" not in text.split("/", 1)[0]:
        return PinSource("file", text)
    raise PinError("unsupported pin-source (its value is not shown, it may be a PIN): use "
                   "'prompt', 'env:NAME', 'file:PATH' or a path containing '/'")


def tty_prompt(token_label: str) -> str:
    """Ask for the PIN on the controlling terminal, without echo."""
    try:
        with open("/dev/tty", "rb"):
            pass
    except OSError:
        raise PinError(f"no terminal to ask for the PIN of token '{token_label}': give "
                       "--pin-source env:NAME or --pin-source file:PATH") from None
    try:
        return getpass.getpass(f"PIN for token '{token_label}': ")
    except EOFError:
        raise PinError(f"no PIN entered for token '{token_label}'") from None


def read_pin(source: PinSource, token_label: str, *, prompt: PinPrompt | None = None,
             warn: Callable[[str], None] | None = None,
             limits: tuple[int, int] | None = None) -> Pin:
    """Obtain the PIN for `token_label` from `source`; `limits` = the token's (min, max) PIN
    length, checked here so that a PIN it cannot accept never reaches C_Login."""
    if source.kind == "prompt":
        value = (prompt or tty_prompt)(token_label)
    elif source.kind == "env":
        value = os.environ.get(source.where, "")
        if not value:
            raise PinError(f"environment variable {source.where} (pin-source of token "
                           f"'{token_label}') is not set or empty")
    elif source.kind == "file":
        value = _read_pin_file(Path(source.where), token_label, warn)
    else:  # pragma: no cover - PinSource is only built by parse_pin_source
        raise PinError(f"unknown pin-source kind {source.kind}")
    if value == "":
        raise PinError(f"empty PIN from {source.describe()} for token '{token_label}'")
    if limits is not None:
        low, high = limits
        length = len(value.encode("utf-8", errors="surrogateescape"))
        if not low <= length <= high:
            raise PinError(f"the PIN from {source.describe()} cannot be right for token "
                           f"'{token_label}': it takes PINs of {low} to {high} characters "
                           "(ulMinPinLen/ulMaxPinLen); no login was tried, so no attempt was "
                           "counted; check the PIN source")
    return Pin(value)


def _read_pin_file(path: Path, token_label: str, warn: Callable[[str], None] | None) -> str:
    try:
        st = path.stat()
        data = read_limited(path, MAX_PIN_FILE_BYTES, what="PIN file")
    except GroundFloorError as exc:
        raise PinError(f"{exc} (the pin-source of token '{token_label}')") from None
    except FileNotFoundError:
        raise PinError(f"PIN file {path} for token '{token_label}' does not exist") from None
    except PermissionError:
        raise PinError(f"PIN file {path} for token '{token_label}' is not readable "
                       "(permission denied)") from None
    except OSError as exc:
        raise PinError(f"cannot read PIN file {path} for token '{token_label}': "
                       f"{exc.strerror}") from None
    if warn and st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        warn(f"PIN file {path} is accessible to other users (mode {stat.S_IMODE(st.st_mode):o});"
             f" chmod 600 it")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise PinError(f"PIN file {path} for token '{token_label}' is not UTF-8 text") from None
    # The PIN is the first line; one trailing newline (LF or CRLF) is not part of it.
    first, _, rest = text.partition("\n")
    if rest.strip():
        raise PinError(f"PIN file {path} for token '{token_label}' has more than one line")
    return first.removesuffix("\r")

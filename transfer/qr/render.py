"""Frame text -> QR symbol -> pixels: PNG/PIL images, SVG, terminal half-blocks.

One QR version for a whole series (sized for its longest possible frame), alphanumeric mode
forced, ECC M unless asked otherwise.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import cache

import qrcode
import qrcode.constants
from PIL import Image
from qrcode.util import MODE_ALPHA_NUM, QRData

from transfer.qr.errors import RenderError
from transfer.qr.frames import ALPHANUMERIC, SeriesKey, max_frame_len

ECC_LEVELS = {
    "L": qrcode.constants.ERROR_CORRECT_L,
    "M": qrcode.constants.ERROR_CORRECT_M,
    "Q": qrcode.constants.ERROR_CORRECT_Q,
    "H": qrcode.constants.ERROR_CORRECT_H,
}
# Payload bytes per frame. low fits QR version 13 at ECC M (77x39 terminal cells with quiet
# zone); default is version 23, high version 34 (see docs/transfer.md for measured numbers).
DENSITIES = {"low": 260, "default": 700, "high": 1500}
QUIET_ZONE = 4  # modules, as the QR standard asks
V40_ALPHANUMERIC = {"L": 4296, "M": 3391, "Q": 2420, "H": 1852}  # characters, largest symbol


@dataclass(frozen=True)
class Symbol:
    """How every frame of a series is drawn."""

    version: int
    ecc: str = "M"
    mask: int | None = None  # None: the encoder picks the best mask per frame

    @property
    def modules(self) -> int:
        """Width in modules including the quiet zone."""
        return 17 + 4 * self.version + 2 * QUIET_ZONE


@cache
def version_for_length(nchars: int, ecc: str) -> int:
    """Smallest QR version holding `nchars` alphanumeric characters at `ecc`."""
    qr = qrcode.QRCode(error_correction=ECC_LEVELS[ecc])
    qr.add_data(QRData("A" * nchars, mode=MODE_ALPHA_NUM))
    try:
        return qr.best_fit()
    except (ValueError, qrcode.exceptions.DataOverflowError):
        # python-qrcode reports "too much data" as ValueError("Invalid version ...").
        most = (V40_ALPHANUMERIC[ecc] - 60) * 5 // 8
        raise RenderError(f"a frame of {nchars} characters does not fit one QR code at ECC {ecc}"
                          f" (about {most} payload bytes at most): lower --frame-bytes") from None


def symbol_for(key: SeriesKey, ecc: str = "M", mask: int | None = None) -> Symbol:
    return Symbol(version_for_length(max_frame_len(key), ecc), ecc, mask)


def qr_matrix(text: str, symbol: Symbol) -> list[list[bool]]:
    """Module matrix (True = dark) with the quiet zone."""
    if not set(text) <= ALPHANUMERIC:
        raise RenderError("frame text is not QR alphanumeric")
    qr = qrcode.QRCode(version=symbol.version, error_correction=ECC_LEVELS[symbol.ecc],
                       border=QUIET_ZONE, mask_pattern=symbol.mask)
    qr.add_data(QRData(text, mode=MODE_ALPHA_NUM))
    try:
        qr.make(fit=False)
    except (ValueError, qrcode.exceptions.DataOverflowError):
        raise RenderError(f"frame does not fit QR version {symbol.version}") from None
    return qr.get_matrix()


def matrix_image(matrix: list[list[bool]], module_px: int = 4) -> Image.Image:
    """Greyscale image: black modules on white, `module_px` pixels a module."""
    n = len(matrix)
    raw = bytes(0 if cell else 255 for row in matrix for cell in row)
    img = Image.frombytes("L", (n, n), raw)
    return img.resize((n * module_px, n * module_px), Image.Resampling.NEAREST)


def png_bytes(img: Image.Image, dpi: int | None = None) -> bytes:
    """PNG bytes; `dpi` (pHYs) makes "print at 100 %" give the intended physical size."""
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=False, **({"dpi": (dpi, dpi)} if dpi else {}))
    return buf.getvalue()


def svg_text(matrix: list[list[bool]], title: str, module_mm: float = 0.6) -> str:
    """A standalone SVG, one path of horizontal runs; `module_mm` sets the printed size."""
    n = len(matrix)
    runs: list[str] = []
    for y, row in enumerate(matrix):
        x = 0
        while x < n:
            if row[x]:
                start = x
                while x < n and row[x]:
                    x += 1
                runs.append(f"M{start} {y}h{x - start}v1h-{x - start}z")
            else:
                x += 1
    size = f"{n * module_mm:.1f}mm"
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" '
            f'viewBox="0 0 {n} {n}" shape-rendering="crispEdges">\n'
            f"<title>{title}</title>\n"
            f'<rect width="{n}" height="{n}" fill="#fff"/>\n'
            f'<path fill="#000" d="{"".join(runs)}"/>\n</svg>\n')


# Each character cell shows two module rows: (upper, lower) ink -> glyph.
_HALF_BLOCKS = {(False, False): " ", (True, False): "\u2580", (False, True): "\u2584",
                (True, True): "\u2588"}


def halfblock_lines(matrix: list[list[bool]], invert: bool = False) -> list[str]:
    """Terminal rendering, two modules a character cell.

    Glyphs are drawn in the terminal's text colour. By default they draw the LIGHT modules, which
    is right for the usual light-on-dark terminal; `invert` draws the dark modules instead, for
    dark-on-light terminals. A code drawn with the wrong polarity shows a dark quiet zone.
    """
    rows = [[(not cell) != invert for cell in row] for row in matrix]
    if len(rows) % 2:
        rows.append([not invert] * len(rows[0]))  # one more row of quiet zone
    return ["".join(_HALF_BLOCKS[(a, b)] for a, b in zip(top, bottom, strict=True))
            for top, bottom in zip(rows[0::2], rows[1::2], strict=True)]

"""Printable sheets: several codes a page, each with its frame number and the digest under it.

Pages are A4 (or US letter) images at 200 dpi, four pixels (0.51 mm) a module, saved as one PDF
or as PNG pages (whose pHYs says 200 dpi, so "print at 100 %" gives that size). Each page's
header says what the sheet carries (kind, repositories, ceremony or operation, PARTIAL, file
versions), so a sheet found in a safe can be told from another without scanning it.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont, features

from groundfloor.words import digest_words
from transfer.qr.render import Symbol, matrix_image, qr_matrix

DPI = 200
MODULE_PX = 4
PAPER_MM = {"a4": (210.0, 297.0), "letter": (215.9, 279.4)}
MARGIN_MM = 12.0
GAP_PX = 40
FONT_PX = 22
CAPTION_PX = 2 * FONT_PX + 16
MAX_CARRIES = 4  # lines of "what it carries" on a page header; more are summarised
HEADER_PX = (6 + MAX_CARRIES) * FONT_PX + 40


@dataclass(frozen=True)
class SheetInfo:
    title: str  # e.g. the bundle's file name
    msg_id: str
    digest: bytes  # the digest people compare: the bundle's own (or the file's, not a bundle)
    count: int  # data frames
    size: int  # bundle bytes
    carries: tuple[str, ...] = ()  # what the bundle carries (transfer.bundle.carries)
    digest_label: str = "bundle sha256"


def _px(mm: float) -> int:
    return round(mm / 25.4 * DPI)


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def grid(symbol: Symbol, paper: str = "a4") -> tuple[int, int]:
    """(columns, rows) of codes that fit one page."""
    width_mm, height_mm = PAPER_MM[paper]
    code = symbol.modules * MODULE_PX
    usable_w = _px(width_mm - 2 * MARGIN_MM)
    usable_h = _px(height_mm - 2 * MARGIN_MM) - HEADER_PX
    cols = max(1, (usable_w + GAP_PX) // (code + GAP_PX))
    rows = max(1, (usable_h + GAP_PX) // (code + CAPTION_PX + GAP_PX))
    return cols, rows


def render_pages(frames: list[tuple[int, str]], symbol: Symbol, info: SheetInfo,
                 paper: str = "a4", progress: Callable[[int], None] | None = None,
                 ) -> list[Image.Image]:
    """`frames` are (index, text). Returns greyscale page images."""
    width_mm, height_mm = PAPER_MM[paper]
    page_w, page_h = _px(width_mm), _px(height_mm)
    margin = _px(MARGIN_MM)
    cols, rows = grid(symbol, paper)
    per_page = cols * rows
    npages = (len(frames) + per_page - 1) // per_page
    code = symbol.modules * MODULE_PX
    font, small = _font(FONT_PX), _font(FONT_PX - 4)
    hexd = info.digest.hex()
    short_words = digest_words(info.digest, 3)
    extra = len(frames) - info.count
    pages: list[Image.Image] = []
    for p in range(npages):
        page = Image.new("L", (page_w, page_h), 255)
        draw = ImageDraw.Draw(page)
        y = margin
        header = header_lines(info, p + 1, npages, extra)
        for i, line in enumerate(header):
            draw.text((margin, y), line, fill=0, font=font if i < len(header) - 1 else small)
            y += FONT_PX + 6
        top = margin + HEADER_PX
        for slot, (index, text) in enumerate(frames[p * per_page:(p + 1) * per_page]):
            col, row = slot % cols, slot // cols
            x = margin + col * (code + GAP_PX)
            y = top + row * (code + CAPTION_PX + GAP_PX)
            page.paste(matrix_image(qr_matrix(text, symbol), MODULE_PX), (x, y))
            label = (f"{index}/{info.count}" if index <= info.count
                     else f"{index} (extra)")
            draw.text((x + 4 * MODULE_PX, y + code), f"{label}   id {info.msg_id}", fill=0,
                      font=font)
            draw.text((x + 4 * MODULE_PX, y + code + FONT_PX + 4),
                      f"{info.digest_label.split()[0]} {hexd[:16]}  {short_words}", fill=0,
                      font=small)
            if progress is not None:
                progress(1)
        pages.append(page)
    return pages


def header_lines(info: SheetInfo, page: int, npages: int, extra: int) -> list[str]:
    """The text at the top of every page: what the sheet carries and the digest to compare."""
    return [
        f"Ceremony transfer  {info.title}  -  message {info.msg_id}  -  page {page}/{npages}",
        f"{info.size} bytes in {info.count} codes + {extra} extra (extra codes replace "
        "unreadable ones); scan in any order",
        f"{info.digest_label} {info.digest.hex()}",
        f"{info.digest_label.split()[0]} words  {digest_words(info.digest)}",
        *_carries_lines(info.carries),
        "receive: ceremony transfer receive --images PHOTOS... --out FILE",
    ]


def _carries_lines(carries: tuple[str, ...]) -> list[str]:
    lines = [c if len(c) <= 110 else c[:107] + "..." for c in carries]
    if len(lines) > MAX_CARRIES:
        lines = lines[:MAX_CARRIES - 1] + [f"... and {len(lines) - MAX_CARRIES + 1} more "
                                           "repositories (see `ceremony transfer receive`)"]
    return lines


def pdf_bytes(pages: list[Image.Image]) -> bytes:
    """One PDF, pages stored losslessly.

    Pillow stores greyscale pages as JPEG, which smears module edges; bilevel pages go in as
    CCITT G4 (lossless, small) when Pillow has libtiff, else as palette images (lossless, large).
    """
    bilevel = [page.point(lambda v: 255 if v >= 128 else 0).convert("1") for page in pages]
    if not features.check("libtiff"):
        bilevel = [page.convert("P") for page in bilevel]
    buf = io.BytesIO()
    bilevel[0].save(buf, format="PDF", save_all=True, append_images=bilevel[1:], resolution=DPI)
    return buf.getvalue()

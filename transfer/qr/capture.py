"""Where frame texts come from: image files and folders, video files, cameras, text lines.

Images are decoded with zxing-cpp (several codes per image, any rotation, either polarity).
Video and cameras go through OpenCV, an optional extra imported only when asked for.
"""

from __future__ import annotations

import os
import stat
import struct
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import zxingcpp
from PIL import Image, UnidentifiedImageError

from groundfloor.files import file_kind
from groundfloor.limits import MAX_QR_LINE_CHARS, MAX_QR_STREAM_CHARS
from transfer.qr.errors import CaptureError

# Pixels an image may have before it is decoded (its header is read first): 40 million, a
# photo from any phone camera scaled to 8000x5000. A 13000x13000 frame would take ~1.5 GB.
MAX_IMAGE_PIXELS = 40_000_000
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
VIDEO_HINT = ("reading a video or a camera needs OpenCV: "
              "pip install 'notary-ceremony[video]' (installs opencv-python-headless)")


@dataclass
class Capture:
    """Texts decoded from one image or video frame; `error` when it could not be read."""

    source: str
    texts: list[str] = field(default_factory=list)
    error: str = ""


def decode_image(image: Any) -> list[str]:
    """Texts of every QR code found in a PIL image or a greyscale/BGR numpy array."""
    if isinstance(image, Image.Image) and image.mode not in ("L", "RGB"):
        image = image.convert("L")
    return [r.text for r in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)]


def image_paths(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Files as given; folders expanded to their image files, sorted by name."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files = sorted(p for p in path.iterdir()
                           if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
            if not files:
                raise CaptureError(f"folder {path} holds no image files "
                                   f"({', '.join(IMAGE_SUFFIXES)})")
            found.extend(files)
        elif path.is_file():
            found.append(path)
        elif path.exists():
            raise CaptureError(f"image {path} is {file_kind(os.stat(path).st_mode)}, not a "
                               "regular file; give image files or folders of them")
        else:
            raise CaptureError(f"no such file or folder: {path}")
    if not found:
        raise CaptureError("no images given")
    return found


def iter_images(paths: Iterable[str | os.PathLike[str]]) -> Iterator[Capture]:
    for path in image_paths(paths):
        try:
            if not stat.S_ISREG(os.stat(path).st_mode):  # swapped for a FIFO since listed
                raise OSError("not a regular file")
            # Pillow's own bomb warning is silenced: the size is checked here, first.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                with Image.open(path) as img:
                    width, height = img.size  # from the header: nothing decoded yet
                    if width * height > MAX_IMAGE_PIXELS:
                        raise CaptureError(
                            f"image {path} is {width}x{height} pixels, over the limit of "
                            f"{MAX_IMAGE_PIXELS} pixels: scale it down (a QR frame needs a "
                            "few hundred pixels a side)")
                    img.load()
                    texts = decode_image(img)
        # Pillow reports some damaged files with SyntaxError ("broken PNG file"), EOFError or
        # struct.error: a damaged photo is a noted capture error like any unreadable file.
        except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError,
                SyntaxError, EOFError, struct.error) as exc:
            reason = "not an image" if isinstance(exc, UnidentifiedImageError) else str(exc)
            yield Capture(str(path), error=f"cannot read {path}: {reason}")
            continue
        yield Capture(str(path), texts, "" if texts else f"no QR code found in {path}")


def _cv2() -> Any:
    try:
        import cv2
    except ImportError:
        raise CaptureError(VIDEO_HINT) from None
    return cv2


def _iter_capture(cap: Any, label: str) -> Iterator[Capture]:
    cv2 = _cv2()
    n = 0
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                return
            n += 1
            gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if frame.ndim == 3 else frame
            yield Capture(f"{label} frame {n}", decode_image(gray))
    finally:
        cap.release()


def iter_video(path: str | os.PathLike[str]) -> Iterator[Capture]:
    cv2 = _cv2()
    if not Path(path).is_file():
        raise CaptureError(f"no such video file: {path}")
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise CaptureError(f"cannot open video {path}: not a format OpenCV can read")
    return _iter_capture(cap, str(path))


def iter_camera(index: int) -> Iterator[Capture]:
    cv2 = _cv2()
    cap = cv2.VideoCapture(index)
    if not cap.isOpened():
        raise CaptureError(f"cannot open camera {index}: no such device or no permission "
                           "(list cameras with: v4l2-ctl --list-devices)")
    return _iter_capture(cap, f"camera {index}")


# A frame line is a few thousand characters; a longer line is no frame and is not kept.
# All the lines of one transfer: the text frames of the largest bundle (16 MiB) many times
# over. Endless input (a device, a stuck scanner) stops here instead of running forever.


def iter_lines(stream: TextIO, *, max_chars: int = MAX_QR_STREAM_CHARS) -> Iterator[Capture]:
    """One frame per line, as a keyboard-mode scanner types them (CR, LF or CRLF).

    Bounded: a line is read at most MAX_QR_LINE_CHARS at a time (of an over-long one only the start
    is kept, the rest read and dropped in bounded pieces) and the stream at most `max_chars` in
    all.
    """
    total = n = 0
    while True:
        line = stream.readline(MAX_QR_LINE_CHARS + 1)
        if not line:
            return
        n += 1
        total += len(line)
        long_line = len(line) > MAX_QR_LINE_CHARS
        head = line[:MAX_QR_LINE_CHARS]
        while line and not line.endswith(("\n", "\r")) and total <= max_chars and long_line:
            line = stream.readline(MAX_QR_LINE_CHARS)
            total += len(line)
        if total > max_chars:
            raise CaptureError(f"the input passed {max_chars} characters without completing a "
                               "bundle: stopped reading (endless or wrong input?); nothing "
                               "written")
        if long_line:  # its head goes on (and fails its checks there); the rest was dropped
            yield Capture(f"line {n}", [head], error=f"line {n} is over {MAX_QR_LINE_CHARS} "
                                                     "characters long: only its start was read")
            continue
        yield Capture(f"line {n}", [line])

"""Test helpers: realistic bundles, degraded captures, terminal text turned into pixels."""

from __future__ import annotations

import hashlib
import io
import json
import random

from PIL import Image, ImageDraw, ImageFilter


def targets_bundle(size: int, seed: int = 0) -> bytes:
    """Targets-like JSON of at least `size` bytes with random hashes, so zlib behaves as on real
    Notary metadata (the hex hashes do not compress much, the structure does)."""
    rnd = random.Random(seed)

    def hexbytes(n: int) -> str:
        return rnd.randbytes(n).hex()

    targets: dict[str, object] = {}
    doc = {"signed": {"_type": "Targets", "delegations": {"keys": {}, "roles": []},
                      "expires": "2031-06-30T12:00:00Z", "targets": targets, "version": 7},
           "signatures": [{"keyid": hexbytes(32), "method": "ecdsa", "sig": hexbytes(64)}]}
    i = 0
    def dump() -> bytes:
        return json.dumps(doc, separators=(",", ":")).encode()

    while len(dump()) < size:
        name = f"releases/{rnd.choice(['app', 'agent', 'cli', 'web'])}-{i // 7}.{i % 7}.tar.gz"
        targets[name] = {"hashes": {"sha256": hexbytes(32), "sha512": hexbytes(64)},
                         "length": rnd.randint(1000, 90_000_000)}
        i += 1
    return dump()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def degrade(img: Image.Image, rnd: random.Random, px_per_module: float = 3.2) -> Image.Image:
    """A camera-like copy: small rotation, blur, downscale to ~3 px a module, JPEG."""
    img = img.convert("L")
    img = img.rotate(rnd.uniform(-5, 5), resample=Image.Resampling.BILINEAR, expand=True,
                     fillcolor=255)
    img = img.filter(ImageFilter.GaussianBlur(rnd.uniform(0.5, 1.0)))
    scale = px_per_module / 6  # frames are written at 6 px a module
    img = img.resize((int(img.width * scale), int(img.height * scale)),
                     Image.Resampling.BILINEAR)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=rnd.randint(55, 80))
    return Image.open(io.BytesIO(buf.getvalue()))


def jpeg_bytes(img: Image.Image, quality: int = 70) -> bytes:
    buf = io.BytesIO()
    img.convert("L").save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def terminal_to_image(lines: list[str], cell_w: int = 4, cell_h: int = 8,
                      fg: int = 230, bg: int = 25) -> Image.Image:
    """Pixels of a terminal showing `lines`: each cell's upper and lower half lit by the glyph
    (foreground) or left as background, like a light-on-dark terminal."""
    width = max(len(line) for line in lines)
    img = Image.new("L", (width * cell_w, len(lines) * cell_h), bg)
    draw = ImageDraw.Draw(img)
    half = cell_h // 2
    for y, line in enumerate(lines):
        for x, ch in enumerate(line):
            top = ch in "\u2580\u2588"
            bottom = ch in "\u2584\u2588"
            if top:
                draw.rectangle([x * cell_w, y * cell_h, (x + 1) * cell_w - 1,
                                y * cell_h + half - 1], fill=fg)
            if bottom:
                draw.rectangle([x * cell_w, y * cell_h + half, (x + 1) * cell_w - 1,
                                (y + 1) * cell_h - 1], fill=fg)
    return img

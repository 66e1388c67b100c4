"""Bad input for the transport: request/response bundles (read by `online publish`, which parses
before any connection), QR frames typed by a scanner and QR codes in images."""

from __future__ import annotations

import base64
import json
import os
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import qrcode

from groundfloor.limits import MAX_BUNDLE_BYTES
from tests.bundle.helpers import as_obj, seal
from tests.hardening.cases.rows import PUBLISH, Case, Inputs, Invocation, deep, flip, write
from transfer.qr.encoder import build_message, plan_series, series_from_message
from transfer.qr.frames import crc_text
from transfer.qr.render import matrix_image, png_bytes, qr_matrix, symbol_for

# --- input kinds: how a broken input reaches its command ----------------------------------------

def bundle(make: Callable[[Inputs], bytes]) -> Callable[[Inputs, Path], Invocation]:
    """A response bundle read by `online publish` (the reader in main today)."""
    def run(i: Inputs, work: Path) -> Invocation:
        path = write(work, "response.bundle", make(i))
        return Invocation(("online", "publish", str(path), *PUBLISH))
    return run


def sparse_bundle(i: Inputs, work: Path) -> Invocation:
    path = work / "huge.bundle"
    with open(path, "wb") as fh:
        fh.truncate(MAX_BUNDLE_BYTES + 1)
    return Invocation(("online", "publish", str(path), *PUBLISH))


def lines(make: Callable[[Inputs], bytes], *extra: str) -> Callable[[Inputs, Path], Invocation]:
    """Scanner lines typed into `transfer receive --stdin`."""
    def run(i: Inputs, work: Path) -> Invocation:
        return Invocation(("transfer", "receive", "--stdin", "--out", str(work / "out.bundle"),
                           *extra), stdin=make(i))
    return run


def images(make: Callable[[Inputs, Path], list[str]]) -> Callable[[Inputs, Path], Invocation]:
    """Image files read by `transfer receive --images`."""
    def run(i: Inputs, work: Path) -> Invocation:
        return Invocation(("transfer", "receive", "--images", *make(i, work), "--out",
                           str(work / "out.bundle")))
    return run


def resealed(make: Callable[[dict], None]) -> Callable[[Inputs, Path], Invocation]:
    """Edit the response object, then re-seal it with a valid digest: only the content is bad."""
    def run(i: Inputs) -> bytes:
        obj = as_obj(i.response)
        make(obj)
        return seal(obj)
    return bundle(run)


def _repo0(obj: dict) -> dict:
    return obj["content"]["repositories"][0]


def _set(path: list, value: object) -> Callable[[dict], None]:
    def run(obj: dict) -> None:
        target = obj
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return run


def frames(i: Inputs, frame_bytes: int = 300) -> list[str]:
    return plan_series(i.bundle_for_qr, frame_bytes).frames(0)


def reframed(text: str) -> str:
    """A frame body with a correct checksum: gets past the CRC, so deeper checks are tested."""
    body = text.rpartition(":")[0] if text.count(":") == 6 else text
    return f"{body}:{crc_text(body)}"


def with_field(frame: str, index: int, value: str) -> str:
    parts = frame.rpartition(":")[0].split(":")
    parts[index] = value
    return reframed(":".join(parts))


def forged(message_of: Callable[[bytes], tuple[bytes, bytes, int]], frame_bytes: int = 200
           ) -> Callable[[Inputs], bytes]:
    """Frames of a hand-built message: (digest, message, declared size) from the bundle."""
    def run(i: Inputs) -> bytes:
        digest, message, size = message_of(i.bundle_for_qr)
        series = series_from_message(digest, message, size, frame_bytes)
        return "\n".join(series.frames(0)).encode() + b"\n"
    return run


def bomb(data: bytes) -> tuple[bytes, bytes, int]:
    payload = b"\0" * (4 * 1024 * 1024)
    digest = build_message(payload)[0]
    return digest, digest + zlib.compress(payload, 9), 1000  # declares 1000 bytes


def truncated_zlib(data: bytes) -> tuple[bytes, bytes, int]:
    digest, message = build_message(data)
    return digest, message[:-8], len(data)


def padded_frames(i: Inputs) -> bytes:
    """Frames whose message padding (the bytes after MSGLEN) is not zero, checksums valid."""
    digest, message = build_message(i.bundle_for_qr)
    size = next(fb for fb in range(100, 1000)  # a frame size that leaves padding
                if (n := -(-len(message) // fb)) * -(-len(message) // n) > len(message))
    series = series_from_message(digest, message, len(i.bundle_for_qr), size)
    texts = series.frames(0)
    parts = texts[-1].rpartition(":")[0].split(":")
    payload = base64.b32decode(parts[5] + "=" * (-len(parts[5]) % 8))
    parts[5] = base64.b32encode(payload[:-1] + b"\x01").decode().rstrip("=")
    texts[-1] = reframed(":".join(parts))
    return "\n".join(texts).encode() + b"\n"


def qr_png(text: str | bytes, path: Path) -> str:
    code = qrcode.QRCode(border=4)
    code.add_data(text)
    code.make(fit=True)
    code.make_image().save(path)
    return str(path)


def frame_pngs(texts: list[str], work: Path) -> list[str]:
    out = []
    for n, text in enumerate(texts, 1):
        from transfer.qr.frames import parse_frame
        symbol = symbol_for(parse_frame(text).key)
        out.append(str(write(work, f"f{n:03d}.png", png_bytes(matrix_image(
            qr_matrix(text, symbol), 6)))))
    return out


def png_bomb(work: Path) -> list[str]:
    """A tiny PNG declaring 65535 x 65535 pixels: Pillow's decompression-bomb guard."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(
            ">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", 65535, 65535, 1, 0, 0, 0, 0)
    data = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\0" * 1024)) + chunk(b"IEND", b""))
    return [str(write(work, "bomb.png", data))]


def truncated_png(i: Inputs, work: Path) -> list[str]:
    (path,) = frame_pngs(frames(i, 700)[:1], work)
    data = Path(path).read_bytes()
    Path(path).write_bytes(data[:len(data) // 2])
    return [path]


def broken_png(i: Inputs, work: Path) -> list[str]:
    """A frame PNG with 8 bytes inserted inside its image data: Pillow says SyntaxError."""
    (path,) = frame_pngs(frames(i, 700)[:1], work)
    data = Path(path).read_bytes()
    Path(path).write_bytes(data[:len(data) // 2] + bytes(8) + data[len(data) // 2:])
    return [path]


# --- the rows ------------------------------------------------------------------------------------

C = Case

BUNDLES: list[Case] = [
    # request/response bundles (`online publish` parses before any connection)
    C("bundle-empty", "bundle", bundle(lambda i: b""), "is empty"),
    C("bundle-truncated", "bundle", bundle(lambda i: i.response[: len(i.response) // 2]),
      "truncated"),
    C("bundle-bit-flipped", "bundle", bundle(lambda i: flip(i.response, 0.7, 1)),
      "digest mismatch"),
    C("bundle-oversized", "bundle", sparse_bundle, "larger than the limit"),
    C("bundle-deeply-nested", "bundle", bundle(lambda i: deep(100_000)), "nested too deeply"),
    C("bundle-duplicate-key", "bundle",
      bundle(lambda i: i.response.replace(b'{"content":', b'{"kind":"request","content":', 1)),
      "duplicate key 'kind'"),
    C("bundle-version-as-string", "bundle", resealed(_set(["version"], "1")),
      "unsupported bundle version '1'"),
    C("bundle-float", "bundle",
      bundle(lambda i: i.response.replace(b'"request_sha256":', b'"n":1.5,"request_sha256":', 1)),
      "fraction or exponent"),
    C("bundle-integer-too-large", "bundle",
      bundle(lambda i: i.response.replace(b'"version":1', b'"version":1' + b"0" * 30, 1)),
      "too large"),
    C("bundle-non-ascii", "bundle",
      bundle(lambda i: i.response.replace(b'"tool":"', b'"tool":"\xc3\xa9', 1)),
      "non-ASCII byte"),
    C("bundle-binary-garbage", "bundle", bundle(lambda i: os.urandom(64) + b"\xff"),
      "non-ASCII byte"),
    C("bundle-pretty-printed", "bundle",
      bundle(lambda i: json.dumps(as_obj(i.response), indent=1, sort_keys=True).encode()),
      "not in canonical form"),
    C("bundle-unknown-field", "bundle", resealed(_set(["content", "extra"], 1)),
      "unknown field 'extra'"),
    C("bundle-files-wrong-type", "bundle",
      resealed(lambda o: _repo0(o).__setitem__("files", {"role": "root"})), "expected an array"),
    C("bundle-gun-traversal", "bundle",
      resealed(lambda o: _repo0(o).__setitem__("gun", "../../etc/cron.d")),
      "'.' or '..' component"),
    C("bundle-gun-absolute", "bundle",
      resealed(lambda o: _repo0(o).__setitem__("gun", "/etc/passwd")), "empty path component"),
    C("bundle-gun-rtl-override", "bundle",
      resealed(lambda o: _repo0(o).__setitem__("gun", "example.com/\u202eppa")),
      "non-ASCII characters"),
    C("bundle-gun-homoglyph", "bundle",
      resealed(lambda o: _repo0(o).__setitem__("gun", "examp\u04cfe.com/app")),
      "GUN 'examp\\u04cfe.com/app' contains non-ASCII characters"),
    C("bundle-gun-uppercase", "bundle",
      resealed(lambda o: _repo0(o).__setitem__("gun", "Example.com/App")), "must be lowercase"),
    C("bundle-role-traversal", "bundle",
      resealed(lambda o: _repo0(o)["files"][2].__setitem__("role", "targets/../../root")),
      "not of the form targets/NAME"),
    C("bundle-timestamp-role", "bundle",
      resealed(lambda o: _repo0(o)["files"][2].__setitem__("role", "timestamp")),
      "timestamp is made by the server"),
    C("bundle-base64-not-canonical", "bundle",
      resealed(lambda o: _repo0(o)["files"][1].__setitem__("data", "eR==")),
      "base64 is not in canonical form"),
    C("bundle-request-not-response", "bundle", bundle(lambda i: i.request),
      "expected a response bundle"),
]

QR_LINES: list[Case] = [
    # QR frames typed by a scanner (`transfer receive --stdin`)
    C("lines-garbage", "qr-lines", lines(lambda i: b"hello world\nscanner test 123\n"),
      "no ceremony transfer frames received (2 foreign)"),
    C("lines-empty", "qr-lines", lines(lambda i: b""), "no ceremony transfer frames received"),
    C("lines-truncated-frame", "qr-lines",
      lines(lambda i: frames(i)[0][:120].encode() + b"\n"), "frame checksum mismatch"),
    C("lines-wrong-crc", "qr-lines",
      lines(lambda i: (frames(i)[0][:-8] + "00000000\n").encode()), "frame checksum mismatch"),
    C("lines-other-version", "qr-lines",
      lines(lambda i: (reframed(frames(i)[0].replace("NCQR1", "NCQR2", 1)) + "\n").encode()),
      "frame format NCQR2 is not supported"),
    C("lines-decompression-bomb", "qr-lines", lines(forged(bomb, 1500)),
      "inflates past its declared size of 1000 bytes"),
    C("lines-declared-size-over-cap", "qr-lines",
      lines(lambda i: (with_field(frames(i)[0], 4, str(16 * 1024 * 1024 + 1)) + "\n").encode()),
      "over the 16 MiB limit"),
    C("lines-over-max-size", "qr-lines",
      lines(lambda i: "\n".join(frames(i)).encode(), "--max-size", "100"),
      "over the 100-byte limit"),
    C("lines-lying-message-length", "qr-lines",
      lines(lambda i: (with_field(frames(i)[0], 3, "99999999") + "\n").encode()),
      "message length does not match"),
    C("lines-tampered-payload", "qr-lines",
      lines(lambda i: "\n".join(
          [with_field(f, 5, "B" + f.split(":")[5][1:]) if n == 1 else f
           for n, f in enumerate(frames(i))]).encode()),
      "nothing written"),
    C("lines-missing-frames", "qr-lines",
      lines(lambda i: "\n".join(frames(i, 100)[:1] + frames(i, 100)[3:]).encode()),
      "still misses 2 of"),
    C("lines-bad-base32", "qr-lines",
      lines(lambda i: (with_field(frames(i)[0], 5, "A1" + frames(i)[0].split(":")[5][2:])
                       + "\n").encode()), "malformed frame: bad field"),
    C("lines-non-canonical-base32", "qr-lines",
      lines(lambda i: (with_field(frames(i)[0], 5, frames(i)[0].split(":")[5] + "A")
                       + "\n").encode()), "malformed frame"),
    C("lines-index-zero", "qr-lines",
      lines(lambda i: (with_field(frames(i)[0], 2, "0/" + frames(i)[0].split(":")[2]
                                  .split("/")[1]) + "\n").encode()),
      "index or count out of range"),
    C("lines-huge-numbers", "qr-lines",
      lines(lambda i: (with_field(frames(i)[0], 2, "1/99999999999999999999") + "\n").encode()),
      "malformed frame: bad field"),
    C("lines-non-ascii-bytes", "qr-lines",
      lines(lambda i: b"NCQR1:\xff\xfe:ABCDEF01\nNCQR1:\xc3\xa9:ABCDEF01\n"),
      "non-ASCII characters"),
    C("lines-lookalike-letters", "qr-lines",
      lines(lambda i: (frames(i)[0].lower().replace("ncqr1", "ncqr\u0131", 1) + "\n")
            .encode()), "no ceremony transfer frames received (1 foreign)"),
    C("lines-nul-bytes", "qr-lines", lines(lambda i: b"NCQR1:\0\0\0\0:ABCDEF01\n"),
      "frame checksum mismatch"),
    C("lines-one-huge-line", "qr-lines", lines(lambda i: b"NCQR1:" + b"A" * 4_000_000 + b"\n"),
      "frame checksum mismatch"),
    C("lines-padding-not-zero", "qr-lines", lines(padded_frames), "padding is not zero"),
    C("lines-truncated-zlib", "qr-lines", lines(forged(truncated_zlib)),
      "truncated or over-long zlib stream"),
]

QR_IMAGES: list[Case] = [
    # QR codes in images (`transfer receive --images`)
    C("images-not-an-image", "qr-images",
      images(lambda i, w: [str(write(w, "photo.png", b"this is not a PNG"))]),
      "no ceremony transfer frames received"),
    C("images-empty-file", "qr-images",
      images(lambda i, w: [str(write(w, "photo.jpg", b""))]),
      "no ceremony transfer frames received"),
    C("images-truncated-png", "qr-images", images(truncated_png),
      "no ceremony transfer frames received"),
    C("images-broken-png-chunk", "qr-images", images(broken_png),
      "no ceremony transfer frames received"),
    C("images-decompression-bomb", "qr-images", images(lambda i, w: png_bomb(w)),
      "no ceremony transfer frames received"),
    C("images-foreign-qr", "qr-images",
      images(lambda i, w: [qr_png("https://example.com/not-a-frame", w / "url.png")]),
      "no ceremony transfer frames received (1 foreign)"),
    C("images-non-ascii-frame", "qr-images",
      images(lambda i, w: [qr_png("NCQR1:\u00e9\u00e9:ABCDEF01".encode(), w / "u.png")]),
      "non-ASCII characters"),
    C("images-lying-size", "qr-images",
      images(lambda i, w: frame_pngs(series_from_message(*bomb(b"")[:2], 1000, 1500)
                                     .frames(0), w)),
      "inflates past its declared size"),
    C("images-empty-folder", "qr-images",
      images(lambda i, w: [str((w / "photos").mkdir() or w / "photos")]),
      "holds no image files"),
    C("images-missing-path", "qr-images", images(lambda i, w: [str(w / "nope")]),
      "no such file or folder"),
]

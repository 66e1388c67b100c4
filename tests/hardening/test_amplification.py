"""Amplification under the size caps, images, the fountain solver (issue 12).

Inputs well under every size cap that would cost far more to build than they weigh: 100 MB of
`[],` or `{},` as a bundle (2 GB of lists once parsed), a 99 MB list as a metadata file, a
re-sealed request carrying five 16 MB list files, a 60 MB transcript of lists; a 127 MB bundle
that is one string; a 13000x13000 PNG and JPEG; ten thousand CRC-valid fountain frames of one
message. Each: one error line, exit 1, peak RSS under 512 MiB, within the time limit, nothing
written. And the weights of the parse-cost estimate (groundfloor/jsonlimits.py) are checked
against what CPython really spends.
"""

from __future__ import annotations

import base64
import io
import json
import os
import struct
import tracemalloc
import zlib

import pytest
from PIL import Image

from groundfloor.jsonlimits import parse_cost
from tests.bundle.helpers import as_obj, seal
from tests.conftest import AIRGAPPED
from tests.hardening.bounded import Watch, assert_refused
from tests.hardening.catalogue import GUN, PUBLISH

MB = 1 << 20


def lists(n_bytes: int, unit: bytes = b"[],") -> bytes:
    return b"[" + unit * (n_bytes // len(unit)) + b"0]"


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, softhsm_factory):
    from tests.hardening.catalogue import make_inputs
    hsm = softhsm_factory("amplification", ["root-a"])
    return make_inputs(tmp_path_factory.mktemp("inputs"), hsm.env, hsm.root,
                       hsm.pin_source("root-a"))


@pytest.mark.parametrize("unit", [b"[],", b"{},", b'{"a":[]},', b"1000,"],
                         ids=["lists", "objects", "nested", "numbers"])
def test_bundle_of_structure(unit, tmp_path):
    path = tmp_path / "response.bundle"
    path.write_bytes(lists(100 * MB, unit))
    assert_refused(["online", "publish", str(path), *PUBLISH], "refused before parsing",
                   watch=Watch([tmp_path]))


def test_bundle_that_is_one_huge_string(tmp_path):
    """127 MB, under the 128 MB cap, one JSON string: bytes, text and string at once."""
    path = tmp_path / "response.bundle"
    path.write_bytes(b'"' + b"A" * (127 * MB) + b'"')
    assert_refused(["online", "publish", str(path), *PUBLISH], watch=Watch([tmp_path]))


def test_metadata_file_of_lists(inputs, tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    for name, data in inputs.repository.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_bytes(data)
    (repo / "targets.json").write_bytes(lists(99 * MB))
    assert_refused(["verify", str(repo), "--gun", GUN], "refused before parsing",
                   watch=Watch([tmp_path]))


def test_request_with_five_16_mb_list_files(inputs, tmp_path):
    """Re-sealed (a valid digest): only the metadata inside it is hostile."""
    from ceremony.workspace import Workspace
    obj = as_obj(inputs.request)
    files = obj["content"]["repositories"][0]["metadata"]
    blob = base64.b64encode(lists(16 * MB - 1024)).decode()
    for role in list(files)[:5]:
        files[role] = blob
    path = tmp_path / "request.bundle"
    path.write_bytes(seal(obj))
    Workspace.open(tmp_path / "ws", create=True)
    from tests.hardening.test_resources import allow_refusal_record
    assert_refused(["pin", GUN, "--request", str(path), "--workspace", str(tmp_path / "ws")],
                   watch=Watch([tmp_path]), wrapper=AIRGAPPED,
                   allow=allow_refusal_record(tmp_path / "ws"))


def test_transcript_of_lists(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_bytes((b"[" + b"[]," * (4 * MB // 3 - 4) + b"0]\n") * 15)
    assert_refused(["transcript", "verify", str(path)], "refused before parsing",
                   watch=Watch([tmp_path]))


def png_header_only(width: int, height: int) -> bytes:
    """A PNG declaring width x height (8-bit grey) whose pixels are a zlib stream of zeros."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(
            ">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    compressor = zlib.compressobj(9)
    row = b"\0" * (width + 1)
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0,
                                                               0, 0, 0))
            + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


def jpeg_claiming(width: int, height: int) -> bytes:
    """A small real JPEG whose frame header (SOF0) is patched to claim width x height."""
    out = io.BytesIO()
    Image.new("L", (16, 16)).save(out, "JPEG")
    data = bytearray(out.getvalue())
    sof = data.index(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, height, width)
    return bytes(data)


@pytest.mark.parametrize("kind", ["png", "jpeg"])
def test_huge_image_frame(kind, tmp_path):
    path = tmp_path / f"frame.{'png' if kind == 'png' else 'jpg'}"
    path.write_bytes(png_header_only(13000, 13000) if kind == "png"
                     else jpeg_claiming(13000, 13000))
    r = assert_refused(["transfer", "receive", "--images", str(path), "--out",
                        str(tmp_path / "o.bundle")], "13000x13000 pixels",
                       watch=Watch([tmp_path]), progress=True)
    assert "DecompressionBomb" not in r.stderr


def test_ten_thousand_fountain_frames_of_one_message(tmp_path):
    """CRC-valid frames of a message announcing 9,999 chunks, none of them consistent with a
    real message: the solver's work for it is bounded (the flood is refused), not quadratic."""
    from transfer.qr.frames import SeriesKey, format_frame
    count, chunk = 9999, 16
    key = SeriesKey("AAAAAAAA", count, count * chunk, 1000, chunk)
    lines = "".join(format_frame(key, count + i, os.urandom(chunk)) + "\n"
                    for i in range(1, 10_001)).encode()
    assert_refused(["transfer", "receive", "--stdin", "--out", str(tmp_path / "o.bundle")],
                   "bounded effort", stdin=lines, watch=Watch([tmp_path]), progress=True)


SHAPES = {"lists": b"[],", "objects": b"{},", "numbers": b"1000,", "strings": b'"abcd",',
          "pairs": b'{"a":1},', "targets": json.dumps(
              {"hashes": {"sha256": "x8XB1wxd7EQWq2FYr9CyI+9Awpsdwfl+2UKLlNTK2xw="},
               "length": 8}, separators=(",", ":")).encode() + b","}


@pytest.mark.parametrize("shape", SHAPES)
def test_parse_cost_estimate_is_never_below_the_real_cost(shape):
    data = lists(4 * MB, SHAPES[shape])
    estimate = parse_cost(data)[2]
    text = data.decode()
    tracemalloc.start()
    try:
        value = json.loads(text)
        real = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    del value
    assert real <= estimate, (shape, real >> 20, estimate >> 20)

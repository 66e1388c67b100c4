"""bundle -> PNG frames / printed sheet / SVG -> degraded captures -> receive -> same bytes.

Real images, the real zxing-cpp decoder, the real CLI in a subprocess.
"""

from __future__ import annotations

import random
import re

import pytest
from PIL import Image, ImageFilter

from tests.conftest import run_cli
from tests.transfer.helpers import degrade, jpeg_bytes, sha
from transfer.qr.capture import decode_image
from transfer.qr.encoder import plan_series


def sender_digest(r) -> str:
    m = re.search(r"file sha256 ([0-9a-f]{64})", r.stderr)
    assert m, r.stderr
    return m.group(1)


@pytest.mark.parametrize("name", ["1k", "5k", "30k", "100k"])
def test_png_frames_survive_camera_like_degradation(name, bundles, tmp_path):
    bundle = bundles[name]
    sent = run_cli("transfer", "send", str(bundle), "--png", str(tmp_path / "frames"))
    assert sent.returncode == 0, sent.output
    digest = sender_digest(sent)
    assert digest == sha(bundle.read_bytes())
    pngs = sorted((tmp_path / "frames").glob("frame-*.png"))
    rnd = random.Random(name)
    shots = tmp_path / "shots"
    shots.mkdir()
    for png in pngs:
        with Image.open(png) as img:
            degrade(img, rnd).save(shots / f"{png.stem}.jpg", quality=95)
    if len(pngs) > 3:
        (shots / "frame-0002.jpg").unlink()  # one frame never captured: an extra replaces it
    out = tmp_path / "received.json"
    r = run_cli("transfer", "receive", "--images", str(shots), "--out", str(out))
    assert r.returncode == 0, r.output
    assert out.read_bytes() == bundle.read_bytes()
    assert f"file sha256 {digest}" in r.stdout  # not a bundle: the file's digest, so named
    words = re.search(r"file words  (.+)", r.stdout).group(1)
    assert f"file words  {words}" in sent.stderr  # the sender showed the same words


def test_root_sized_bundle_fits_five_frames_at_default_density(bundles, tmp_path):
    r = run_cli("transfer", "send", str(bundles["5k"]), "--text")
    assert r.returncode == 0, r.output
    count = int(r.stdout.splitlines()[0].split(":")[2].split("/")[1])
    assert count <= 5


def test_photographed_printed_sheet(bundles, tmp_path):
    bundle = bundles["30k"]
    r = run_cli("transfer", "send", str(bundle), "--sheet", str(tmp_path / "sheet.png"))
    assert r.returncode == 0, r.output
    pages = sorted(tmp_path.glob("sheet-*.png"))
    assert len(pages) >= 2
    rnd = random.Random(5)
    photos = []
    for page in pages:
        with Image.open(page) as img:
            # a phone photo of the page: ~3 px a module, slightly turned, soft, JPEG
            photo = img.convert("L").rotate(rnd.uniform(-3, 3), expand=True, fillcolor=235,
                                            resample=Image.Resampling.BILINEAR)
            photo = photo.resize((int(photo.width * 0.8), int(photo.height * 0.8)),
                                 Image.Resampling.BILINEAR)
            photo = photo.filter(ImageFilter.GaussianBlur(0.7))
        path = tmp_path / f"photo-{page.stem}.jpg"
        path.write_bytes(jpeg_bytes(photo, 75))
        photos.append(path)
        with Image.open(path) as shot:
            assert len(decode_image(shot)) >= 2  # several codes from one image
    out = tmp_path / "received.json"
    r = run_cli("transfer", "receive", "--images", *map(str, photos), "--out", str(out))
    assert r.returncode == 0, r.output
    assert out.read_bytes() == bundle.read_bytes()


def test_pdf_sheet_is_written(bundles, tmp_path):
    r = run_cli("transfer", "send", str(bundles["5k"]), "--sheet", str(tmp_path / "s.pdf"),
                "--paper", "letter")
    assert r.returncode == 0, r.output
    pdf = (tmp_path / "s.pdf").read_bytes()
    assert pdf.startswith(b"%PDF")
    assert b"/DCTDecode" not in pdf  # never JPEG: codes are stored losslessly
    r = run_cli("transfer", "send", str(bundles["5k"]), "--sheet", str(tmp_path / "s.pdf"))
    assert r.returncode != 0 and "refusing to overwrite" in r.stderr


def svg_to_image(svg: str, px: int = 4) -> Image.Image:
    size = int(re.search(r'viewBox="0 0 (\d+) \d+"', svg).group(1))
    img = Image.new("L", (size * px, size * px), 255)
    for x, y, w in re.findall(r"M(\d+) (\d+)h(\d+)", svg):
        x, y, w = int(x), int(y), int(w)
        img.paste(0, (x * px, y * px, (x + w) * px, (y + 1) * px))
    return img


def test_svg_frames(bundles, tmp_path):
    bundle = bundles["5k"]
    r = run_cli("transfer", "send", str(bundle), "--svg", str(tmp_path / "svg"),
                "--density", "low")
    assert r.returncode == 0, r.output
    texts = []
    for path in sorted((tmp_path / "svg").glob("*.svg")):
        texts += decode_image(svg_to_image(path.read_text()))
    out = tmp_path / "received.json"
    r = run_cli("transfer", "receive", "--stdin", "--out", str(out), input="\n".join(texts))
    assert r.returncode == 0, r.output
    assert out.read_bytes() == bundle.read_bytes()


def test_explicit_frame_bytes_and_ecc(bundles, tmp_path):
    bundle = bundles["5k"]
    r = run_cli("transfer", "send", str(bundle), "--png", str(tmp_path / "f"),
                "--frame-bytes", "400", "--ecc", "Q", "--extra", "0")
    assert r.returncode == 0, r.output
    assert "ECC Q" in r.stderr
    assert len(list((tmp_path / "f").glob("*.png"))) == plan_series(bundle.read_bytes(), 400).count
    out = tmp_path / "received.json"
    r = run_cli("transfer", "receive", str(tmp_path / "f"), "--out", str(out))
    assert r.returncode == 0 and out.read_bytes() == bundle.read_bytes()
    r = run_cli("transfer", "send", str(bundle), "--png", str(tmp_path / "f"))
    assert r.returncode != 0 and "refusing to overwrite" in r.stderr


def test_plain_file_copy(bundles, tmp_path):
    out = tmp_path / "copy.json"
    r = run_cli("transfer", "send", str(bundles["1k"]), "--out", str(out))
    assert r.returncode == 0, r.output
    assert out.read_bytes() == bundles["1k"].read_bytes()
    assert sha(out.read_bytes()) in r.stderr
    r = run_cli("transfer", "send", str(bundles["1k"]), "--out", str(out))
    assert r.returncode == 1 and "refusing to overwrite" in r.stderr

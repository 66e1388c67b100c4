"""What a person compares and prints when a bundle crosses between sites (issue 9, items 5, 17).

- one digest: the bundle's own (`bundle sha256`), the same in `transfer send`, `transfer
  receive`, the sheet and `describe` (what `online fetch` and the ceremonies print);
- a printed sheet says what it carries (request/response, repositories, ceremony, PARTIAL,
  versions), its PNG pages carry 200 dpi, missing output folders are made (0755);
- `--text` adds spare frames to a one-frame message, as its help says.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os

from PIL import Image

from tests.conftest import run_cli
from transfer.bundle import (
    PendingSignatures,
    RequestBundle,
    RequestEntry,
    ResponseBundle,
    ResponseEntry,
    write_bundle,
)
from transfer.qr.sheet import DPI, SheetInfo, header_lines
from transfer.summary import ORIGIN_MERGE, carries, describe, threshold_needs

GUN = "registry.example.com/acme/app"


def request_bundle() -> RequestBundle:
    return RequestBundle(server="https://notary.example.com", entries=(
        RequestEntry(gun=GUN, operation="init", fetched_at="2026-12-04T10:00:00Z"),))


def partial_response() -> ResponseBundle:
    root = json.dumps({"signed": {"_type": "Root", "version": 3}, "signatures": []}).encode()
    missing = [{"gun": GUN, "role": "root", "version": 3, "threshold": "root v2 (old keys)",
                "needed": 2, "have": 1, "key_id": k, "token_label": label}
               for k, label in (("a" * 64, "root-b"), ("c" * 64, None))]
    state = {"ceremony": "rotate-root", "files": [
        {"role": "root", "data": base64.b64encode(root).decode()}]}
    return ResponseBundle((ResponseEntry(GUN, (), PendingSignatures(tuple(missing), state)),),
                          request_sha256="e" * 64)


def test_send_and_receive_show_the_bundles_own_digest(tmp_path):
    bundle = request_bundle()
    path = write_bundle(tmp_path / "req.json", bundle)
    file_sha = hashlib.sha256(path.read_bytes()).hexdigest()
    assert file_sha != bundle.digest_hex  # the two digests that used to be mixed up

    sent = run_cli("transfer", "send", str(path), "--text")
    assert sent.returncode == 0, sent.output
    assert f"bundle sha256 {bundle.digest_hex}" in sent.stderr
    assert file_sha not in sent.output
    assert f"{GUN}: init (new repository)" in sent.stderr  # what it carries

    out = tmp_path / "got.json"
    got = run_cli("transfer", "receive", "--stdin", "--out", str(out), input=sent.stdout)
    assert got.returncode == 0, got.output
    assert out.read_bytes() == path.read_bytes()
    assert f"bundle sha256 {bundle.digest_hex}" in got.stdout
    assert file_sha not in got.output
    # the same two lines `describe` (fetch, `ceremony transfer` and the docs) shows
    tail = describe(bundle).splitlines()[-2:]
    assert all(line in got.stdout for line in tail)

    copy = run_cli("transfer", "send", str(path), "--out", str(tmp_path / "usb" / "req.json"))
    assert copy.returncode == 0, copy.output
    assert f"bundle sha256 {bundle.digest_hex}" in copy.stderr


def test_a_file_that_is_not_a_bundle_is_shown_by_its_file_digest(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_bytes(b"not a bundle at all\n")
    sent = run_cli("transfer", "send", str(path), "--text")
    assert sent.returncode == 0, sent.output
    assert f"file sha256 {hashlib.sha256(path.read_bytes()).hexdigest()}" in sent.stderr
    assert "bundle sha256" not in sent.stderr and "not a bundle" in sent.stderr


def test_one_frame_message_gets_spare_frames_and_one_of_them_is_enough(tmp_path):
    path = write_bundle(tmp_path / "req.json", request_bundle())
    sent = run_cli("transfer", "send", str(path), "--text")
    frames = sent.stdout.splitlines()
    assert len(frames) == 3, sent.output  # 1 data frame + 2 spare ("at least 2")
    out = tmp_path / "got.json"
    got = run_cli("transfer", "receive", "--stdin", "--out", str(out), input=frames[-1] + "\n")
    assert got.returncode == 0, got.output
    assert out.read_bytes() == path.read_bytes()


def test_sheet_png_is_200_dpi_in_a_folder_made_for_it(tmp_path):
    path = write_bundle(tmp_path / "resp.json", partial_response())
    target = tmp_path / "print" / "site-b" / "sheet.png"
    old = os.umask(0)
    try:
        r = run_cli("transfer", "send", str(path), "--sheet", str(target))
    finally:
        os.umask(old)
    assert r.returncode == 0, r.output
    assert (target.parent.stat().st_mode & 0o777) == 0o755
    assert (target.parent.parent.stat().st_mode & 0o777) == 0o755
    with Image.open(target) as img:
        assert [round(v) for v in img.info["dpi"]] == [DPI, DPI]
    assert "PARTIAL" in r.stderr and "rotate-root: root v3" in r.stderr

    frames = run_cli("transfer", "send", str(path), "--png", str(tmp_path / "a" / "b"))
    assert frames.returncode == 0, frames.output
    assert len(list((tmp_path / "a" / "b").glob("frame-*.png"))) == 3


def test_sheet_header_says_what_it_carries():
    bundle = partial_response()
    info = SheetInfo("resp.json", "ABCDEFGH", bundle.digest(), 1, 1000,
                     tuple(carries(bundle)))
    text = "\n".join(header_lines(info, 1, 1, 2))
    assert "RESPONSE, PARTIAL (co-signing needed, NOT publishable)" in text
    assert f"{GUN}: PARTIAL, rotate-root: root v3" in text
    assert f"bundle sha256 {bundle.digest_hex}" in text
    req = request_bundle()
    text = "\n".join(header_lines(SheetInfo("req.json", "X", req.digest(), 1, 10,
                                            tuple(carries(req))), 1, 1, 2))
    assert "REQUEST from https://notary.example.com" in text and f"{GUN}: init" in text


def test_partial_needs_read_as_one_more_signature_from_any_of():
    bundle = partial_response()
    assert threshold_needs(bundle.entries[0].pending.missing) == [
        f"root v2 (old keys): 1 more signature from any of: {'a' * 64} (token 'root-b'), "
        f"{'c' * 64}"]
    assert "1 more signature from any of" in describe(bundle)


def test_a_response_awaiting_the_origins_merge_says_so():
    partial = partial_response()
    state = partial.entries[0].pending.state
    item = {"kind": ORIGIN_MERGE, "gun": GUN, "text": "every signature is present; the "
            "originating site must merge it first"}
    bundle = ResponseBundle((ResponseEntry(GUN, (), PendingSignatures((item,), state)),))
    assert not bundle.complete  # so `online publish` refuses it
    assert carries(bundle)[1] == (f"{GUN}: fully signed, awaiting the originating site's "
                                  "merge, rotate-root: root v3")
    assert "the originating site must merge it first" in describe(bundle)

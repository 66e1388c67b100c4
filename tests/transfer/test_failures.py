"""Every failure is one clear line, a non-zero exit, and no output file."""

from __future__ import annotations

import hashlib
import random
import zlib

from PIL import Image

from tests.conftest import run_cli
from tests.transfer.helpers import targets_bundle
from transfer.qr.encoder import plan_series, series_from_message
from transfer.qr.fountain import fountain_mask
from transfer.qr.frames import crc_text


def one_line_error(r) -> str:
    assert r.returncode != 0, r.output
    assert "Traceback" not in r.output
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, r.stderr
    return lines[0]


def retamper(frame: str, new_payload_b32: str) -> str:
    """Replace the payload and recompute the CRC: a deliberate, checksum-valid tamper."""
    parts = frame.rpartition(":")[0].split(":")
    parts[5] = new_payload_b32
    body = ":".join(parts)
    return f"{body}:{crc_text(body)}"


def flip_char(b32: str, pos: int) -> str:
    c = "B" if b32[pos] != "B" else "C"
    return b32[:pos] + c + b32[pos + 1:]


def test_missing_frames_are_named(tmp_path):
    series = plan_series(targets_bundle(5000, seed=1), 300)
    lines = [series.frame(i) for i in range(1, series.count + 1) if i not in (3, 7)]
    out = tmp_path / "out.json"
    r = run_cli("transfer", "receive", "--stdin", "--out", str(out), input="\n".join(lines))
    err = one_line_error(r)
    assert f"misses 2 of {series.count} frames: 3, 7" in err
    assert "any 2 more extra frames would also do" in err
    assert not out.exists()


def test_tampered_frame_with_valid_checksum_fails_the_digest(tmp_path):
    data = targets_bundle(5000, seed=2)
    series = plan_series(data, 300)
    frames = series.frames(0)
    # frame 1 starts with the SHA-256 the receiver checks against: change one byte of it
    payload = frames[0].split(":")[5]
    frames[0] = retamper(frames[0], flip_char(payload, 3))
    out = tmp_path / "out.json"
    r = run_cli("transfer", "receive", "--stdin", "--out", str(out), input="\n".join(frames))
    err = one_line_error(r)
    assert "digest check failed" in err and "nothing written" in err
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_tampered_compressed_data_is_refused(tmp_path):
    series = plan_series(targets_bundle(5000, seed=3), 300)
    frames = series.frames(0)
    payload = frames[4].split(":")[5]
    frames[4] = retamper(frames[4], flip_char(payload, 40))
    out = tmp_path / "out.json"
    r = run_cli("transfer", "receive", "--stdin", "--out", str(out), input="\n".join(frames))
    err = one_line_error(r)
    assert "nothing written" in err and ("decompress" in err or "digest" in err)
    assert not out.exists()


def test_damaged_scan_is_rejected_then_named_missing(tmp_path):
    series = plan_series(targets_bundle(3000, seed=4), 300)
    frames = series.frames(0)
    frames[1] = frames[1][:60] + ("A" if frames[1][60] != "A" else "B") + frames[1][61:]
    out = tmp_path / "out.json"
    r = run_cli("transfer", "receive", "--stdin", "--out", str(out), input="\n".join(frames))
    assert "note: rejected a frame: frame checksum mismatch" in r.stderr
    assert "frames: 2 " in one_line_error(r)
    assert not out.exists()


def test_lying_declared_size_is_a_decompression_bomb(tmp_path):
    bomb = b"\0" * (8 * 1024 * 1024)
    digest = hashlib.sha256(bomb).digest()
    message = digest + zlib.compress(bomb, 9)
    series = series_from_message(digest, message, 1000, 700)  # declares 1000 bytes
    out = tmp_path / "out.json"
    r = run_cli("transfer", "receive", "--stdin", "--out", str(out),
                input="\n".join(series.frames(0)))
    err = one_line_error(r)
    assert "inflates past its declared size of 1000 bytes" in err
    assert not out.exists()


def test_declared_size_over_the_limit_is_refused(tmp_path):
    data = targets_bundle(20000, seed=5)
    series = plan_series(data, 700)
    out = tmp_path / "out.json"
    r = run_cli("transfer", "receive", "--stdin", "--max-size", "10000", "--out", str(out),
                input="\n".join(series.frames(0)))
    err = one_line_error(r)
    assert "over the 10000-byte limit" in err
    assert not out.exists()


def test_two_messages_mixed_give_the_complete_one(tmp_path):
    a, b = targets_bundle(5000, seed=6), targets_bundle(5000, seed=7)
    sa, sb = plan_series(a, 300), plan_series(b, 300)
    rnd = random.Random(1)
    lines = [sb.frame(1), sb.frame(2)] + sa.frames(0) + [sb.frame(3)]
    rnd.shuffle(lines)
    lines.remove(sb.frame(1))
    lines.insert(0, sb.frame(1))  # the first frame seen is of the incomplete message
    out = tmp_path / "out.json"
    r = run_cli("transfer", "receive", "--stdin", "--out", str(out), input="\n".join(lines))
    assert r.returncode == 0, r.output
    assert out.read_bytes() == a
    assert f"ignoring frames of another message {sa.msg_id}" in r.stderr
    assert hashlib.sha256(a).hexdigest() in r.stdout


def test_two_incomplete_messages_give_no_output(tmp_path):
    a, b = targets_bundle(5000, seed=8), targets_bundle(5000, seed=9)
    sa, sb = plan_series(a, 300), plan_series(b, 300)
    lines = sa.frames(0)[:-1] + sb.frames(0)[1:]
    out = tmp_path / "out.json"
    r = run_cli("transfer", "receive", "--stdin", "--out", str(out), input="\n".join(lines))
    err = one_line_error(r)
    assert f"message {sa.msg_id} still misses 1 of {sa.count} frames: {sa.count}" in err
    assert not out.exists()


def test_garbage_images(tmp_path):
    rnd = random.Random(3)
    noise = Image.frombytes("L", (300, 300), rnd.randbytes(300 * 300))
    noise.save(tmp_path / "noise.png")
    (tmp_path / "text.png").write_bytes(b"this is not a png")
    Image.new("L", (200, 200), 255).save(tmp_path / "blank.jpg")
    out = tmp_path / "out.json"
    r = run_cli("transfer", "receive", "--images", str(tmp_path), "--out", str(out))
    err = one_line_error(r)
    assert "no ceremony transfer frames received" in err
    assert "cannot read" in r.stderr and "not an image" in r.stderr
    assert "no QR code found" in r.stderr
    assert not out.exists()


def test_foreign_qr_codes_are_ignored(tmp_path):
    import qrcode

    qrcode.make("https://example.org/not-a-frame").save(tmp_path / "foreign.png")
    out = tmp_path / "out.json"
    r = run_cli("transfer", "receive", "--images", str(tmp_path / "foreign.png"),
                "--out", str(out))
    assert "not a ceremony transfer frame" in r.stderr
    assert "1 foreign" in one_line_error(r)


def test_missing_paths_and_empty_folders(tmp_path):
    r = run_cli("transfer", "receive", "--images", str(tmp_path / "nope"), "--out",
                str(tmp_path / "o"))
    assert "no such file or folder" in one_line_error(r)
    (tmp_path / "empty").mkdir()
    r = run_cli("transfer", "receive", "--images", str(tmp_path / "empty"), "--out",
                str(tmp_path / "o"))
    assert "holds no image files" in one_line_error(r)


def test_output_is_never_overwritten_without_force(tmp_path):
    data = targets_bundle(2000, seed=10)
    out = tmp_path / "out.json"
    out.write_bytes(b"precious")
    lines = "\n".join(plan_series(data).frames(0))
    r = run_cli("transfer", "receive", "--stdin", "--out", str(out), input=lines)
    assert "refusing to overwrite" in one_line_error(r)
    assert out.read_bytes() == b"precious"
    r = run_cli("transfer", "receive", "--stdin", "--out", str(out), "--force", input=lines)
    assert r.returncode == 0 and out.read_bytes() == data


def test_usage_errors(tmp_path):
    r = run_cli("transfer", "receive", "--stdin", "--video", "x.mp4", "--out", "o")
    assert r.returncode != 0 and "exactly one input" in r.output
    r = run_cli("transfer", "send", str(tmp_path / "missing.json"), "--text")
    assert "bundle" in one_line_error(r) and "does not exist" in r.stderr
    (tmp_path / "b").write_bytes(b"x")
    r = run_cli("transfer", "send", str(tmp_path / "b"))
    assert r.returncode != 0 and "choose at least one output" in r.output



def tampered_fountain_frame(series, covers_last: bool) -> str:
    """A checksum-valid fountain frame with a wrong payload, whose subset does or does not
    include the last data chunk."""
    index = next(i for i in range(series.count + 1, series.count + 200)
                 if bool(fountain_mask(series.msg_id, series.count, i)
                         >> (series.count - 1) & 1) == covers_last)
    extra = series.frame(index)
    return retamper(extra, flip_char(extra.split(":")[5], 10))


def test_tampered_fountain_frame_seen_first_fails_the_digest(tmp_path):
    data = targets_bundle(5000, seed=11)
    series = plan_series(data, 300)
    lines = [tampered_fountain_frame(series, covers_last=True)] + series.frames(0)
    out = tmp_path / "out.json"
    r = run_cli("transfer", "receive", "--stdin", "--out", str(out), input="\n".join(lines))
    assert "nothing written" in one_line_error(r)
    assert not out.exists()


def test_contradicting_frame_is_dropped_with_a_note(tmp_path):
    data = targets_bundle(5000, seed=12)
    series = plan_series(data, 300)
    frames = series.frames(0)
    lines = frames[:-1] + [tampered_fountain_frame(series, covers_last=False), frames[-1]]
    out = tmp_path / "out.json"
    r = run_cli("transfer", "receive", "--stdin", "--out", str(out), input="\n".join(lines))
    assert r.returncode == 0, r.output
    assert "contradicts earlier frames" in r.stderr
    assert out.read_bytes() == data

"""Animated and typed transfers: a video with dropped frames, the terminal rendering turned
into pixels, keyboard-scanner lines, and the window's no-display path."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest
from PIL import Image

from tests.conftest import ROOT, run_cli
from tests.transfer.helpers import sha, terminal_to_image
from transfer.qr.capture import decode_image
from transfer.qr.encoder import plan_series
from transfer.qr.receiver import Receiver
from transfer.qr.render import matrix_image, qr_matrix, symbol_for

NO_DISPLAY = {"DISPLAY": "", "WAYLAND_DISPLAY": ""}


def write_video(path, images: list[Image.Image], fps: float = 10.0) -> None:
    size = max(img.width for img in images) + 40
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (size, size))
    assert writer.isOpened()
    for img in images:
        canvas = Image.new("L", (size, size), 255)
        canvas.paste(img, ((size - img.width) // 2, (size - img.height) // 2))
        writer.write(cv2.cvtColor(np.asarray(canvas), cv2.COLOR_GRAY2BGR))
    writer.release()


def test_video_of_the_animation_with_dropped_frames(bundles, tmp_path):
    data = bundles["30k"].read_bytes()
    series = plan_series(data, 700)
    symbol = symbol_for(series.key, "M")
    rnd = random.Random(11)
    stream = series.stream()
    kept = []
    for _ in range(3 * series.count):
        text = next(stream)
        if rnd.random() < 0.3:  # the camera missed this frame
            continue
        kept.append(matrix_image(qr_matrix(text, symbol), 3))
    video = tmp_path / "animation.avi"
    write_video(video, kept)
    out = tmp_path / "received.json"
    r = run_cli("transfer", "receive", "--video", str(video), "--out", str(out))
    assert r.returncode == 0, r.output
    assert out.read_bytes() == data
    assert sha(data) in r.stdout


def test_video_that_ends_early_names_missing_frames(bundles, tmp_path):
    series = plan_series(bundles["5k"].read_bytes(), 700)
    symbol = symbol_for(series.key, "M")
    images = [matrix_image(qr_matrix(series.frame(i), symbol), 3) for i in (1, 3)]
    video = tmp_path / "short.avi"
    write_video(video, images)
    out = tmp_path / "received.json"
    r = run_cli("transfer", "receive", "--video", str(video), "--out", str(out))
    assert r.returncode == 1 and "error: incomplete" in r.stderr
    assert f"misses {series.count - 2} of {series.count} frames: 2, 4" in r.stderr
    assert not out.exists()


def test_video_without_opencv_says_how_to_install_it(tmp_path):
    blocker = tmp_path / "block"
    blocker.mkdir()
    (blocker / "cv2.py").write_text("raise ImportError('no OpenCV here')\n")
    (tmp_path / "v.avi").write_bytes(b"\0" * 100)
    env = {"PYTHONPATH": f"{blocker}{os.pathsep}{os.getcwd()}"}
    r = run_cli("transfer", "receive", "--video", str(tmp_path / "v.avi"), "--out",
                str(tmp_path / "o"), env=env)
    assert r.returncode == 1
    assert "error: reading a video or a camera needs OpenCV: pip install" in r.stderr
    r = run_cli("transfer", "receive", "--camera", "0", "--out", str(tmp_path / "o"), env=env)
    assert "needs OpenCV" in r.stderr


def test_unreadable_video_and_absent_camera(tmp_path):
    (tmp_path / "v.avi").write_bytes(b"not a video at all" * 10)
    r = run_cli("transfer", "receive", "--video", str(tmp_path / "v.avi"), "--out",
                str(tmp_path / "o"))
    assert r.returncode == 1 and "error: cannot open video" in r.stderr
    r = run_cli("transfer", "receive", "--camera", "57", "--out", str(tmp_path / "o"))
    assert r.returncode == 1 and "error: cannot open camera 57" in r.stderr
    assert not (tmp_path / "o").exists()


def split_terminal_frames(stdout: str) -> list[list[str]]:
    frames = []
    for chunk in stdout.split("\x1b[H")[1:]:
        lines = chunk.split("\n")
        frames.append([ln for ln in lines if ln and set(ln) <= set(" \u2580\u2584\u2588")])
    return frames


def test_terminal_rendering_decodes_in_both_polarities(bundles, tmp_path):
    data = bundles["5k"].read_bytes()
    count = plan_series(data, 260).count
    texts = []
    for invert, (fg, bg) in ((False, (235, 20)), (True, (10, 250))):
        r = run_cli("transfer", "send", str(bundles["5k"]), "--qr", "terminal", "--density",
                    "low", "--fps", "30", "--frames", str(count + 1),
                    *(["--invert"] if invert else []), env=NO_DISPLAY)
        assert r.returncode == 0, r.output
        frames = split_terminal_frames(r.stdout)
        assert len(frames) == count + 1
        assert len(frames[0]) <= 40 and max(map(len, frames[0])) <= 77  # v13 fits 80x40
        for lines in frames:
            found = decode_image(terminal_to_image(lines, fg=fg, bg=bg))
            assert len(found) == 1
            texts += found
        assert "words  " in r.stdout and sha(data) in r.stdout  # digest beside the code
    out = tmp_path / "received.json"
    r = run_cli("transfer", "receive", "--stdin", "--out", str(out), input="\n".join(texts))
    assert r.returncode == 0, r.output
    assert out.read_bytes() == data


def test_qr_auto_without_display_falls_back_to_terminal(bundles):
    r = run_cli("transfer", "send", str(bundles["1k"]), "--qr", "--density", "low",
                "--frames", "1", env=NO_DISPLAY)
    assert r.returncode == 0, r.output
    assert "no display" in r.stderr and "animating in the terminal" in r.stderr
    assert "\u2588" in r.stdout


def test_window_without_display_is_a_clear_error(bundles):
    r = run_cli("transfer", "send", str(bundles["1k"]), "--qr", "window", env=NO_DISPLAY)
    assert r.returncode == 1
    assert "error: cannot open a window: no display" in r.stderr


def test_keyboard_scanner_lines(bundles, tmp_path):
    data = bundles["30k"].read_bytes()
    r = run_cli("transfer", "send", str(bundles["30k"]), "--text", "--density", "low")
    assert r.returncode == 0, r.output
    lines = r.stdout.splitlines()
    rnd = random.Random(4)
    typed = []
    for line in lines + rnd.sample(lines, 5):  # some scanned twice
        style = rnd.randrange(4)
        if style == 0:
            line = line.lower() + "\r"  # lowercase scanner, CRLF suffix
        elif style == 1:
            line = line + "   "  # trailing spaces
        elif style == 2:
            line = "\n" + line  # empty lines between scans
        typed.append(line)
    rnd.shuffle(typed)
    out = tmp_path / "received.json"
    r = run_cli("transfer", "receive", "--stdin", "--out", str(out), input="\n".join(typed))
    assert r.returncode == 0, r.output
    assert out.read_bytes() == data
    assert "missing" in r.stderr  # progress named what was still missing


@pytest.fixture
def xvfb_display():
    """A real X server (Xvfb) for the window test; bootstrap installs the xvfb package."""
    for number in range(97, 120):
        if not os.path.exists(f"/tmp/.X11-unix/X{number}") and \
                not os.path.exists(f"/tmp/.X{number}-lock"):
            break
    proc = subprocess.Popen(["Xvfb", f":{number}", "-screen", "0", "1280x1024x24", "-nolisten",
                             "tcp"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not os.path.exists(f"/tmp/.X11-unix/X{number}"):
        assert proc.poll() is None and time.monotonic() < deadline, "Xvfb did not start"
        time.sleep(0.05)
    yield f":{number}"
    proc.terminate()
    proc.wait(timeout=10)


def test_window_shows_decodable_codes_and_the_digest(bundles, xvfb_display):
    from PIL import ImageGrab

    data = bundles["5k"].read_bytes()
    env = dict(os.environ, DISPLAY=xvfb_display, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "ceremony", "transfer", "send",
                             str(bundles["5k"]), "--qr", "window", "--fps", "4",
                             "--frames", "40"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    texts: set[str] = set()
    deadline = time.monotonic() + 30
    count = plan_series(data, 700).count
    while time.monotonic() < deadline and len(texts) < count:
        shot = ImageGrab.grab(xdisplay=xvfb_display)
        texts.update(decode_image(shot))
        time.sleep(0.1)
    proc.terminate()
    out, err = proc.communicate(timeout=20)
    assert len(texts) >= count, err
    receiver = Receiver()
    for text in texts:
        receiver.add(text)
    assert receiver.result().data == data
    assert sha(data) in err  # the sender also printed the digest

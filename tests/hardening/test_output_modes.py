"""Output folders the tool makes are never group- or world-writable, whatever the umask."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

from tests.conftest import ROOT


def test_qr_frame_folders_are_0755_under_umask_000(tmp_path):
    bundle = tmp_path / "some.bundle"
    bundle.write_bytes(b'{"example": "bytes to frame"}\n' * 20)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    script = (f"umask 000 && {sys.executable} -m ceremony transfer send {bundle} "
              f"--png {tmp_path / 'png'} --svg {tmp_path / 'svg'}")
    proc = subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=120)
    assert proc.returncode == 0, proc.stderr
    for name in ("png", "svg"):
        folder = tmp_path / name
        assert any(folder.iterdir())
        assert stat.S_IMODE(folder.stat().st_mode) == 0o755
        for frame in folder.iterdir():
            assert not stat.S_IMODE(frame.stat().st_mode) & 0o022, frame

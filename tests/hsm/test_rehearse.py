"""scripts/rehearse: the README's first command, end to end, non-interactive."""

from __future__ import annotations

import os
import subprocess

from softhsm.env import load_env
from tests.conftest import ROOT


def test_rehearse(tmp_path):
    folder = tmp_path / "reh"
    env = {k: v for k, v in os.environ.items()
           if k not in ("SOFTHSM2_CONF", "CEREMONY_PKCS11_MODULE")}
    env["REHEARSAL_DIR"] = str(folder)
    r = subprocess.run(["bash", str(ROOT / "scripts" / "rehearse")], env=env,
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    assert r.stdout.count("custody OK") == 4  # two generations, two listings
    assert "generated ecdsa-p256 key 'root' on token 'root-a'" in r.stdout
    assert "cert key ID (ecdsa-x509; root.json, trust pinning)" in r.stdout
    for name in ("root.crt", "root.pub.pem", "targets.key.json"):
        assert (folder / name).is_file()
    assert f"{folder / 'root.crt'}: OK" in r.stdout
    made = load_env(folder / "softhsm")
    for label in ("root-a", "targets"):
        assert made.pin(label) not in r.stdout + r.stderr

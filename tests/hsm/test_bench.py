"""bench/sign.py runs and reports a login count of one per module (numbers vary by machine)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT


def test_bench_smoke():
    r = subprocess.run([sys.executable, str(ROOT / "bench" / "sign.py"), "--seconds", "0.05",
                        "--rounds", "1", "--algorithms", "ecdsa-p256,ed25519",
                        "--modules", "softhsm,tpm2"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode in (0, 1), r.stderr  # 1 = a ratio over target on a noisy, tiny run
    data = json.loads(r.stdout)
    assert data["target_ratio"] == 1.3 and data["skipped"] == {}
    softhsm, tpm = data["modules"]["softhsm"], data["modules"]["tpm2"]
    assert softhsm["logins"] == 1 and tpm["logins"] == 1
    assert [x["algorithm"] for x in softhsm["results"]] == ["ecdsa-p256", "ed25519"]
    # the TPM has no Ed25519: reported as not offered, not as a failure
    assert [x["algorithm"] for x in tpm["results"]] == ["ecdsa-p256"]
    assert tpm["not_offered"] == ["ed25519"]
    for x in softhsm["results"] + tpm["results"]:
        assert x["raw_per_sec"] > 0 and x["signer_per_sec"] > 0 and x["overhead_ratio"] > 0


def test_a_module_that_cannot_start_is_listed_with_its_reason():
    r = subprocess.run([sys.executable, str(ROOT / "bench" / "sign.py"), "--seconds", "0.05",
                        "--rounds", "1", "--algorithms", "ecdsa-p256",
                        "--modules", "softhsm,tpm2"],
                       env={"PATH": "/nonexistent", "PYTHONPATH": str(ROOT)},
                       capture_output=True, text=True, timeout=300)
    data = json.loads(r.stdout)
    assert "swtpm" in data["skipped"]["tpm2"] or "No such file" in data["skipped"]["tpm2"]
    assert "softhsm" in data["modules"]

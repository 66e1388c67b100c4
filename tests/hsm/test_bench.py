"""bench/sign.py runs and reports a login count of one (numbers themselves vary by machine)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT


def test_bench_smoke():
    r = subprocess.run([sys.executable, str(ROOT / "bench" / "sign.py"), "--seconds", "0.05",
                        "--rounds", "1", "--algorithms", "ecdsa-p256,ed25519"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode in (0, 1), r.stderr  # 1 = a ratio over target on a noisy, tiny run
    data = json.loads(r.stdout)
    assert data["logins"] == 1 and data["target_ratio"] == 1.3
    assert [x["algorithm"] for x in data["results"]] == ["ecdsa-p256", "ed25519"]
    for x in data["results"]:
        assert x["raw_per_sec"] > 0 and x["signer_per_sec"] > 0 and x["overhead_ratio"] > 0

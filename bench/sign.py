"""Signatures per second through the Signer interface vs a raw python-pkcs11 loop.

    python bench/sign.py [--seconds 1.0] [--rounds 5] [--algorithms ecdsa-p256,ed25519]

Makes a throwaway SoftHSM environment (a temporary folder, deleted afterwards), generates one
key per algorithm on a token through hsm/, then alternates rounds of
- raw:    `key.sign(sha256(message), mechanism=...)` straight on a python-pkcs11 key object,
- signer: `TokenSigner.sign(message)` (the same digest computed the same way inside),
on the same key, the same messages, and reports the median rate of each and their ratio.
Prints JSON; exits 1 if any ratio exceeds the target (1.3).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TARGET_RATIO = 1.3


def _rate(fn: Callable[[bytes], bytes], messages: list[bytes], seconds: float) -> float:
    count = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for message in messages:
            fn(message)
        count += len(messages)
        now = time.perf_counter()
        if now >= deadline:
            return count / (now - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="length of one round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per loop (median taken)")
    parser.add_argument("--algorithms", default="ecdsa-p256,ecdsa-p384,ed25519,rsa-3072")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-softhsm-") as tmp:
        from softhsm.env import TokenSpec, create_env
        env = create_env(Path(tmp) / "softhsm", [TokenSpec("bench")])
        os.environ.update(env.env)  # before the module is loaded in this process

        import pkcs11
        from pkcs11 import MGF, Mechanism, ObjectClass

        from hsm.session import TokenPool

        raw_calls = {
            "ecdsa": lambda key: lambda m: key.sign(hashlib.sha256(m).digest(),
                                                    mechanism=Mechanism.ECDSA),
            "rsapss": lambda key: lambda m: key.sign(
                hashlib.sha256(m).digest(), mechanism=Mechanism.RSA_PKCS_PSS,
                mechanism_param=(Mechanism.SHA256, MGF.SHA256, 32)),
            "eddsa": lambda key: lambda m: key.sign(m, mechanism=Mechanism.EDDSA),
        }
        messages = [os.urandom(1024) for _ in range(16)]
        results = []
        with TokenPool(pin_source=env.pin_source("bench")) as pool:
            token = pool.open("pkcs11:token=bench")
            token.login()
            # A plain python-pkcs11 session of its own; PKCS#11 login state is per application,
            # so it sees the private keys without logging in a second time.
            raw_session = pkcs11.lib(env.module).get_token(token_label="bench").open()
            for algorithm in args.algorithms.split(","):
                token.generate_key(f"bench-{algorithm}", algorithm)
                signer = token.signer(f"bench-{algorithm}")
                raw_key = raw_session.get_key(object_class=ObjectClass.PRIVATE_KEY,
                                              label=f"bench-{algorithm}")
                raw = raw_calls[signer.method](raw_key)
                raw_rates, signer_rates = [], []
                _rate(raw, messages, 0.1)  # warm up both paths
                _rate(signer.sign, messages, 0.1)
                for _ in range(args.rounds):
                    raw_rates.append(_rate(raw, messages, args.seconds))
                    signer_rates.append(_rate(signer.sign, messages, args.seconds))
                raw_rate = statistics.median(raw_rates)
                signer_rate = statistics.median(signer_rates)
                results.append({
                    "algorithm": algorithm, "method": signer.method,
                    "raw_per_sec": round(raw_rate, 1), "signer_per_sec": round(signer_rate, 1),
                    "overhead_ratio": round(raw_rate / signer_rate, 3),
                })
            logins = pool.logins
            raw_session.close()
    ok = all(r["overhead_ratio"] <= TARGET_RATIO for r in results)
    print(json.dumps({
        "module": env.module, "message_bytes": 1024, "rounds": args.rounds,
        "seconds_per_round": args.seconds, "results": results, "logins": logins,
        "target_ratio": TARGET_RATIO, "ok": ok,
    }, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

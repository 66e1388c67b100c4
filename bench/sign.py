"""Signatures per second through the Signer interface vs a raw python-pkcs11 loop, per module.

    python bench/sign.py [--seconds 1.0] [--rounds 5] [--algorithms ecdsa-p256,ed25519]
                         [--modules softhsm,tpm2,opencryptoki]

For every PKCS#11 implementation it finds installed (SoftHSM; a TPM 2.0 through swtpm +
tpm2-abrmd + tpm2-pkcs11; openCryptoki's software token), it starts a throwaway environment
(softhsm/), generates one key per algorithm the token offers through hsm/, then alternates
rounds of
- raw:    `key.sign(sha256(message), mechanism=...)` straight on a python-pkcs11 key object,
- signer: `TokenSigner.sign(message)` (the same digest computed the same way inside),
on the same key, the same messages, and reports the median rate of each and their ratio.
Modules it cannot start are listed under "skipped" with the reason. Prints JSON; exits 1 if
any ratio exceeds the target (1.3).
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
from typing import Any

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


MODULE_ORDER = ["softhsm", "tpm2", "opencryptoki"]


def _start(name: str, folder: Path) -> tuple[Any, str]:
    """(environment, token label) for one implementation; raises if it cannot start."""
    if name == "softhsm":
        from softhsm.env import TokenSpec, create_env
        env = create_env(folder, [TokenSpec("bench")])
        return env, "bench"
    if name == "tpm2":
        from softhsm.tpm import start_tpm_env
        return start_tpm_env(folder, ["bench"]), "bench"
    from softhsm.opencryptoki import start_opencryptoki_env
    return start_opencryptoki_env(folder, "bench"), "bench"


def _bench_module(env: Any, label: str, algorithms: list[str], messages: list[bytes],
                  args: argparse.Namespace) -> dict[str, Any]:
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
    results, not_offered = [], []
    with TokenPool(module=env.module, pin_source=env.pin_source(label)) as pool:
        token = pool.open(f"pkcs11:token={label}")
        token.login()
        offered = token.algorithms()
        # A plain python-pkcs11 session of its own; PKCS#11 login state is per application,
        # so it sees the private keys without logging in a second time.
        raw_session = pkcs11.lib(env.module).get_token(token_label=label).open()
        for algorithm in algorithms:
            if algorithm not in offered:
                not_offered.append(algorithm)
                continue
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
    return {"module": env.module, "results": results, "not_offered": not_offered,
            "logins": logins}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="length of one round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per loop (median taken)")
    parser.add_argument("--algorithms", default="ecdsa-p256,ecdsa-p384,ed25519,rsa-3072")
    parser.add_argument("--modules", default=",".join(MODULE_ORDER),
                        help="implementations to try, in this order")
    args = parser.parse_args(argv)
    algorithms = args.algorithms.split(",")
    messages = [os.urandom(1024) for _ in range(16)]
    measured: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="bench-sign-") as tmp:
        started = []
        try:
            # Every environment is up before any module is loaded in this process: SoftHSM
            # and tpm2-pkcs11 read their variables at C_Initialize.
            for name in args.modules.split(","):
                try:
                    env, label = _start(name, Path(tmp) / name)
                except Exception as exc:  # noqa: BLE001 (reported: the module is not here)
                    skipped[name] = " ".join(str(exc).split())[:300]
                    continue
                started.append((name, env, label))
                os.environ.update({k: v for k, v in env.env.items()
                                   if k != "CEREMONY_PKCS11_MODULE"})
            for name, env, label in started:
                measured[name] = _bench_module(env, label, algorithms, messages, args)
        finally:
            for _, env, _ in started:
                if hasattr(env, "stop"):
                    env.stop()
    ratios = [r["overhead_ratio"] for m in measured.values() for r in m["results"]]
    ok = bool(ratios) and all(r <= TARGET_RATIO for r in ratios)
    print(json.dumps({
        "message_bytes": 1024, "rounds": args.rounds, "seconds_per_round": args.seconds,
        "modules": measured, "skipped": skipped, "target_ratio": TARGET_RATIO, "ok": ok,
    }, indent=2))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

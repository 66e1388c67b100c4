"""Benchmark of metadata verification against its floor; prints JSON.

Two workloads, built in software first (not timed):
- a root chain of N versions, each root key rotated (root n+1 signed by root n's key and its own);
- a repository whose targets.json has D delegations (certificate keys, as `notary delegation add`
  makes them) and T targets.

For each: the time to verify from bytes (strict reading, canonical bytes, signatures, thresholds,
root certificate rules, delegation rules, the report), against the floor: `json.loads` of the
same bytes plus the same signature verifications done directly with `cryptography` on
pre-loaded keys and pre-computed messages. Memory: tracemalloc peak of one verification, and the
process's maximum RSS. Both sides are timed under the same cyclic-GC setting: "ratio_to_floor"
with the collector off for the whole run, "ratio_to_floor_gc_on" with it on (the reader switches
it off while it parses; the floor's json.loads does not).

Two more for TUF 1.0 (bench/verify_tuf.py): the same root chain and targets sizes, written as
a TUF 1.0 repository folder and verified by `ceremony.tuf.verify.verify_repository`.

    python bench/verify.py [--versions 1000] [--delegations 1000] [--targets 100000]
                           [--only notary|tuf]
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec, ed25519  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature  # noqa: E402

from ceremony.notary.format import (  # noqa: E402
    DelegatedRole,
    Instant,
    Metadata,
    Root,
    Targets,
    key_from_certificate,
    read_metadata,
    verify_repository,
    verify_root_chain,
)
from ceremony.notary.format.encoding import parse_json  # noqa: E402
from tests.metadata.factory import SoftRepo, ec_key, meta_of, notary_certificate  # noqa: E402


def best_of(repeat: int, action: Callable[[], Any]) -> float:
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        action()
        best = min(best, time.perf_counter() - start)
    return best


def best_of_pair(repeat: int, first: Callable[[], Any],
                 second: Callable[[], Any]) -> tuple[float, float]:
    """best_of of each, the runs alternating."""
    best = [float("inf"), float("inf")]
    for _ in range(repeat):
        for side, action in enumerate((first, second)):
            best[side] = min(best[side], best_of(1, action))
    return best[0], best[1]


def peak_memory(action: Callable[[], Any]) -> int:
    gc.collect()
    tracemalloc.start()
    action()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def raw_verify(public_key: Any, method: str, sig: bytes, message: bytes) -> None:
    """One signature check straight through `cryptography`: the floor's unit of work."""
    if method == "ecdsa":
        size = len(sig) // 2
        public_key.verify(encode_dss_signature(int.from_bytes(sig[:size], "big"),
                                               int.from_bytes(sig[size:], "big")),
                          message, ec.ECDSA(hashes.SHA256()))
    else:
        assert isinstance(public_key, ed25519.Ed25519PublicKey)
        public_key.verify(sig, message)


def floor_work(files: list[bytes], checks: list[tuple[Any, str, bytes, bytes]]) -> None:
    for data in files:
        json.loads(data)
    for public_key, method, sig, message in checks:
        raw_verify(public_key, method, sig, message)


def needed_checks(file: Any, keys: dict[str, Any]) -> list[tuple[Any, str, bytes, bytes]]:
    """The signatures verification must check: those by a key of the role(s) involved."""
    return [(keys[sig.keyid].public_key, sig.method, sig.sig, file.signed_bytes)
            for sig in file.signatures if sig.keyid in keys]


# --- workload 1: a long root chain ----------------------------------------------------------------

def build_root_chain(versions: int) -> tuple[SoftRepo, list[bytes]]:
    repo = SoftRepo.create()
    for _ in range(versions - 1):
        repo.rotate_root()
    return repo, [repo.root_history[v] for v in range(1, versions + 1)]


def bench_root_chain(versions: int, repeat: int) -> dict[str, Any]:
    repo, chain = build_root_chain(versions)
    gun = repo.gun
    del repo
    at = Instant.now()

    def ours() -> None:
        files = [read_metadata(data, f"{n}.root.json", Root) for n, data in
                 enumerate(chain, 1)]
        verify_root_chain(files, gun, at)

    parsed = [read_metadata(data, "r", Root) for data in chain]
    checks = []
    for index, file in enumerate(parsed):
        keys = dict(file.signed.role_keys("root"))
        if index:
            keys.update(parsed[index - 1].signed.role_keys("root"))
        checks += needed_checks(file, keys)
    ours()  # warm up, and fail loudly if the chain does not verify
    return {"versions": versions, "bytes": sum(map(len, chain)),
            "signature_verifications": len(checks),
            **measure(ours, lambda: floor_work(chain, checks), repeat)}


# --- workload 2: a big targets file ---------------------------------------------------------------

def build_big_repository(delegations: int, targets: int) -> SoftRepo:
    repo = SoftRepo.create()
    model = repo.targets
    for index in range(delegations):
        cert_key = key_from_certificate(notary_certificate(ec_key(), f"signer-{index}"))
        model.delegations.keys[cert_key.key_id] = cert_key
        model.delegations.roles.append(DelegatedRole(
            f"targets/team-{index:04d}", [cert_key.key_id], 1, [f"team-{index:04d}/"]))
    content = meta_of(b"artifact")
    for index in range(targets):
        model.targets[f"releases/v{index // 100}/artifact-{index:06d}.tar.gz"] = content
    model.version += 1
    repo.sign_targets()
    repo.refresh()
    return repo


def bench_big_targets(delegations: int, targets: int, repeat: int) -> dict[str, Any]:
    repo = build_big_repository(delegations, targets)
    files, gun = repo.repository(), repo.gun
    del repo  # measure with only the bytes alive, as a verifying process would have
    at = Instant.now()

    def ours() -> None:
        report = verify_repository(files, gun, at=at)
        assert report.ok, report.errors

    parsed = {role: read_metadata(data, f"{role}.json") for role, data in files.roles.items()}
    root = parsed["root"].signed
    checks = []
    for role, file in parsed.items():
        checks += needed_checks(file, root.role_keys(role))
    del parsed
    ours()
    data = files.roles["targets"]
    parsed = parse_json(data, "targets.json")
    breakdown = {  # where the time goes, for targets.json alone (cyclic GC off, as in the reader)
        "json_loads": best_of(repeat, without_gc(lambda: json.loads(data))),
        "strict_parse": best_of(repeat, without_gc(lambda: parse_json(data, "targets.json"))),
        "model": best_of(repeat, without_gc(lambda: Metadata.from_dict(
            parsed.value, Targets, columns_of=parsed.columns_of))),
        "sha256_and_sha512": best_of(repeat, lambda: (hashlib.sha256(data).digest(),
                                                      hashlib.sha512(data).digest())),
    }
    return {"delegations": delegations, "targets": targets, "targets_json_bytes": len(data),
            "signature_verifications": len(checks),
            **measure(ours, lambda: floor_work(list(files.roles.values()), checks), repeat),
            "breakdown_seconds": {name: round(value, 4) for name, value in breakdown.items()}}


def without_gc(action: Callable[[], Any]) -> Callable[[], Any]:
    def run() -> None:
        gc.disable()
        try:
            action()
        finally:
            gc.enable()
    return run


def measure(ours: Callable[[], Any], floor: Callable[[], Any], repeat: int) -> dict[str, Any]:
    # Both sides are timed under the same cyclic-GC setting, twice: with the collector on (as a
    # caller runs it; the reader switches it off while it parses, the floor's json.loads pays
    # for it) and with it off for the whole run. "ratio_to_floor" is the GC-off pair, where
    # neither side is charged for collections.
    # The two sides take turns (ours, floor, ours, ...), so that a burst of load from other
    # processes on a shared machine falls on both rather than on all the runs of one.
    ours_s, floor_s = best_of_pair(repeat, ours, floor)
    ours_no_gc_s, floor_no_gc_s = best_of_pair(repeat, without_gc(ours), without_gc(floor))
    return {"ours_seconds": round(ours_s, 4), "floor_seconds": round(floor_s, 4),
            "ours_no_gc_seconds": round(ours_no_gc_s, 4),
            "floor_no_gc_seconds": round(floor_no_gc_s, 4),
            "ratio_to_floor": round(ours_no_gc_s / floor_no_gc_s, 2),
            "ratio_to_floor_gc_on": round(ours_s / floor_s, 2),
            "tracemalloc_peak_mib": round(peak_memory(ours) / 2**20, 1),
            "floor_tracemalloc_peak_mib": round(peak_memory(floor) / 2**20, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=1000)
    parser.add_argument("--delegations", type=int, default=1000)
    parser.add_argument("--targets", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", choices=["notary", "tuf"],
                        help="Run only the Notary v1 or only the TUF 1.0 workloads.")
    args = parser.parse_args()
    result: dict[str, Any] = {"python": sys.version.split()[0], "target_ratio": 2.0}
    if args.only != "tuf":
        result["root_chain"] = bench_root_chain(args.versions, args.repeat)
        result["big_targets"] = bench_big_targets(args.delegations, args.targets, args.repeat)
    if args.only != "notary":
        from verify_tuf import bench_tuf, tuf_breakdown
        result["tuf_root_chain"] = bench_tuf(args.versions, 1, args.repeat, measure)
        result["tuf_big_targets"] = bench_tuf(
            1, args.targets, args.repeat, measure,
            breakdown=lambda folder, repeat: tuf_breakdown(
                folder, repeat, lambda n, action: best_of(n, without_gc(action))))
    result["max_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

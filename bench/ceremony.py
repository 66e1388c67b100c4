"""Bulk ceremonies over many GUNs on SoftHSM, against the raw PKCS#11 floor.

    python bench/ceremony.py [--guns 500]
    python bench/ceremony.py --sizes 1,500,10000     # each size in its own process, + targets

In a throwaway folder (deleted afterwards): SoftHSM tokens `root-a` and `targets`, and a
workspace. The bench plays the Notary server itself (no network): it makes synthetic ed25519
server keys, runs the real `init` ceremony for all GUNs in one request, then signs each
repository's snapshot and timestamp with those server keys, as a server would, and hands the
result over as a `rotate-targets` request -- the bulk case of one compromised targets key shared
by every repository. It times the whole `rotate targets --all` ceremony as the CLI runs it
(request checks and verification of every repository, key generation, review, signing,
response, one workspace transaction, transcript), counts logins and signatures, and compares
with the floor: the same number of raw python-pkcs11 ECDSA signatures (one session, SHA-256
computed the same way) over messages of the same size. Then one `signer add` on one GUN of
that workspace (a one-repository ceremony on a workspace holding all of them). Reports peak
RSS of the process, bundle sizes and the review's line count. Prints JSON.

With --sizes, each size runs in a child process (so peak RSS is per size) and the report adds
the scale targets: rotation at 500 <= 3x floor + 2 s; per-GUN init and rotation cost at the
largest size within 1.5x of 500; peak RSS <= 1 GiB; signer add on the largest workspace within
1.5x of the same on a workspace of one; and the review's line count at each size.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


class _ServerKey:
    """The bench's stand-in for a Notary server's ed25519 key (a Signer)."""

    def __init__(self) -> None:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519
        self._private = ed25519.Ed25519PrivateKey.generate()
        raw = self._private.public_key().public_bytes(serialization.Encoding.Raw,
                                                      serialization.PublicFormat.Raw)
        self.body = json.dumps({"keytype": "ed25519", "keyval": {
            "public": base64.b64encode(raw).decode(), "private": None}}).encode()

    @property
    def public_key(self):  # noqa: ANN201 - the Signer protocol
        return self._private.public_key()

    method = "eddsa"

    def sign(self, message: bytes) -> bytes:
        return self._private.sign(message)


def _served(gun: str, files: dict[str, bytes], ts: _ServerKey, snap: _ServerKey) -> dict:
    """snapshot.json and timestamp.json as the server would make them for `files`."""
    from ceremony.notary.ceremonies.build import expiry, file_meta
    from ceremony.notary.format import Snapshot, Timestamp, read_metadata, sign_metadata
    from ceremony.notary.format.model import Root
    root = read_metadata(files["root"], "root.json", Root).signed
    snapshot = Snapshot(1, expiry(3 * 365 * 86400 * _SECOND),
                        {role: file_meta(files[role]) for role in ("root", "targets")})
    snapshot_bytes = sign_metadata(snapshot, [snap], keys=root.role_keys("snapshot"))
    timestamp = Timestamp(1, expiry(14 * 86400 * _SECOND),
                          {"snapshot": file_meta(snapshot_bytes)})
    timestamp_bytes = sign_metadata(timestamp, [ts], keys=root.role_keys("timestamp"))
    return {**files, "snapshot": snapshot_bytes, "timestamp": timestamp_bytes}


_SECOND = __import__("datetime").timedelta(seconds=1)


def _phases(transcript: Path) -> dict[str, float]:
    """Seconds between transcript entries: where the ceremony's time went."""
    import datetime as dt
    entries = [json.loads(line) for line in transcript.read_text().splitlines()]
    at = {}
    for e in entries:
        at.setdefault(e["kind"], dt.datetime.strptime(e["time"], "%Y-%m-%dT%H:%M:%S.%fZ"))
    marks = [("checks (verify every repository)", "input", "checked"),
             ("tokens, key generation, build, review", "checked", "review"),
             ("signing", "confirmation", "signed"),
             ("workspace changes staged, response written", "signed", "output"),
             ("workspace commit", "output", "workspace")]
    return {name: round((at[b] - at[a]).total_seconds(), 3) for name, a, b in marks
            if a in at and b in at}


def _signer_add(tmp: Path, options, console, rotated, keys) -> tuple[float, float]:  # noqa: ANN001
    """One `signer add` on the first GUN of the workspace, as the CLI runs it: wall and CPU
    seconds (on a shared disk, wall time is mostly fsync waits of other people's writes)."""
    from cryptography.hazmat.primitives.asymmetric import ec

    from ceremony.notary.ceremonies.delegations import DelegationCeremony
    from ceremony.notary.ceremonies.runner import perform
    from ceremony.notary.format.keys import key_from_public_key
    from ceremony.workspace import Workspace
    from transfer.bundle import RequestBundle, RequestEntry, utc_now, write_bundle
    entry = rotated.entries[0]
    files = _served(entry.gun, {f.role: f.data for f in entry.files}, *keys[entry.gun])
    request = tmp / "signer.req"
    write_bundle(request, RequestBundle("https://notary.example.com", (RequestEntry(
        entry.gun, "signer-add", fetched_at=utc_now(), metadata=files,
        root_history=tuple(Workspace.open(tmp / "ws").trusted_roots(entry.gun)),
        server_keys={"timestamp": keys[entry.gun][0].body}),)))
    alice = key_from_public_key(ec.generate_private_key(ec.SECP256R1()).public_key())
    import gc
    gc.collect()
    gc.freeze()  # the bench's own objects (the 10,000-GUN bundles it keeps) are not the CLI's:
    try:  # without this the ceremony's closing collection walks them, 80 ms at 10,000 GUNs
        started, cpu = time.perf_counter(), time.process_time()
        result = perform(DelegationCeremony("signer-add", gun=entry.gun, name="alice",
                                            targets_token="targets", keys=[alice]),
                         options(request, tmp / "signer.resp"), console)
        elapsed = time.perf_counter() - started, time.process_time() - cpu
    finally:
        gc.unfreeze()
    assert result["complete"], result
    return elapsed


def _reset_peak_rss() -> None:
    """Start a new peak-RSS measurement (Linux: clear_refs 5 resets VmHWM), so the peak of a
    ceremony is not the bench's own request building before it."""
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")


def _peak_rss_mib() -> float:
    """Peak resident memory since the last reset (VmHWM), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError("no VmHWM in /proc/self/status")


def _scale(sizes: list[int]) -> dict:
    """Each size in a child process; then the targets of the scale issue."""
    import subprocess
    runs = {}
    for n in sizes:
        out = subprocess.run([sys.executable, __file__, "--guns", str(n)], check=True,
                             capture_output=True, text=True).stdout
        runs[n] = json.loads(out)
        print(f"{n} GUNs: rotation {runs[n]['rotation']['wall_s']} s", file=sys.stderr)
    report: dict = {"runs": {str(n): r for n, r in runs.items()}, "targets": {}}
    t = report["targets"]
    if 500 in runs:
        r = runs[500]
        limit = 3 * r["floor"]["wall_s"] + 2
        t["rotation_500"] = {"wall_s": r["rotation"]["wall_s"], "limit_s": round(limit, 3),
                             "met": r["rotation"]["wall_s"] <= limit}
    big = max(sizes)
    if 500 in runs and big > 500:
        for what in ("init", "rotation"):
            small = runs[500][what]["per_gun_ms"]
            large = runs[big][what]["per_gun_ms"]
            t[f"{what}_per_gun_{big}_vs_500"] = {"ratio": round(large / small, 2),
                                                 "limit": 1.5, "met": large / small <= 1.5}
    t[f"peak_rss_{big}"] = {"mib": runs[big]["peak_rss_mib"], "limit_mib": 1024,
                            "met": runs[big]["peak_rss_mib"] <= 1024}
    if 1 in runs and big > 1:
        for unit in ("wall_s", "cpu_s"):
            ratio = runs[big]["signer_add"][unit] / runs[1]["signer_add"][unit]
            t[f"signer_add_{big}_vs_1_{unit.removesuffix('_s')}"] = {
                "ratio": round(ratio, 2), "limit": 1.5, "met": ratio <= 1.5}
    t[f"review_lines_{big}"] = runs[big]["rotation"]["review_lines"]
    # the condensed review's length at each size: flat when the change is the same everywhere
    t["review_lines_by_size"] = {str(n): {"init": r["init"]["review_lines"],
                                          "rotation": r["rotation"]["review_lines"]}
                                 for n, r in runs.items()}
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--guns", type=int, default=500, help="repositories in the request")
    parser.add_argument("--sizes", help="comma-separated sizes, each run in its own process, "
                        "with the scale targets evaluated (e.g. 1,500,10000)")
    parser.add_argument("--profile", metavar="FILE",
                        help="write a cProfile of the rotation ceremony alone to FILE "
                        "(pstats format; times under the profiler are not comparable)")
    args = parser.parse_args(argv)
    if args.sizes:
        print(json.dumps(_scale(sorted({int(n) for n in args.sizes.split(",")})), indent=2))
        return 0
    with tempfile.TemporaryDirectory(prefix="bench-ceremony-") as tmp_name:
        tmp = Path(tmp_name)
        from softhsm.env import TokenSpec, create_env
        env = create_env(tmp / "softhsm", [TokenSpec("root-a"), TokenSpec("targets")])
        os.environ.update(env.env)  # before the PKCS#11 module is loaded in this process

        from ceremony.notary.ceremonies.init import InitCeremony
        from ceremony.notary.ceremonies.rotate import RotateTargets
        from ceremony.notary.ceremonies.runner import Console, Options, perform
        from transfer.bundle import (
            RequestBundle,
            RequestEntry,
            read_bundle,
            utc_now,
            write_bundle,
        )

        guns = [f"registry.example.com/team-{i // 50:02d}/app-{i:04d}" for i in range(args.guns)]
        keys = {g: (_ServerKey(), _ServerKey()) for g in guns}
        pins = [f"{label}={env.pin_source(label)}" for label in ("root-a", "targets")]
        review_lines = [0]

        def show(text: str) -> None:
            review_lines[0] += text.count("\n") + 1

        console = Console(show=show, warn=lambda _m: None, ask=lambda _p: None)

        def options(request: Path, out: Path) -> Options:
            return Options(request=str(request), out=str(out), workspace=str(tmp / "ws"),
                           yes=True, allow_network=True, pin_sources=pins,
                           participants=["bench"])

        init_req = tmp / "init.req"
        write_bundle(init_req, RequestBundle("https://notary.example.com", tuple(
            RequestEntry(g, "init", fetched_at=utc_now(),
                         server_keys={"timestamp": keys[g][0].body, "snapshot": keys[g][1].body})
            for g in guns)))
        _reset_peak_rss()
        started, cpu = time.perf_counter(), time.process_time()
        init = perform(InitCeremony(root_tokens=["root-a"], targets_token="targets"),
                       options(init_req, tmp / "init.resp"), console)
        init_s, init_cpu_s = time.perf_counter() - started, time.process_time() - cpu
        init_phases = _phases(Path(init["transcript"]))
        init_review_lines = review_lines[0]
        init_rss = _peak_rss_mib()

        response = read_bundle(tmp / "init.resp", kind="response")
        entries = []
        for e in response.entries:
            files = _served(e.gun, {f.role: f.data for f in e.files}, *keys[e.gun])
            entries.append(RequestEntry(e.gun, "rotate-targets", fetched_at=utc_now(),
                                        metadata=files, root_history=(files["root"],),
                                        server_keys={"timestamp": keys[e.gun][0].body}))
        rotate_req = tmp / "rotate.req"
        write_bundle(rotate_req, RequestBundle("https://notary.example.com", tuple(entries)))
        del response, entries  # the bench's own copies, not the ceremony's

        review_lines[0] = 0
        _reset_peak_rss()
        started, cpu = time.perf_counter(), time.process_time()
        profiler = None
        if args.profile:
            import cProfile
            profiler = cProfile.Profile()
            profiler.enable()
        rotation = perform(RotateTargets(all_guns=True, targets_token="targets",
                                         root_tokens=["root-a"], label="targets-new",
                                         reason="bench: compromise"),
                           options(rotate_req, tmp / "rotate.resp"), console)
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(args.profile)
        rotation_s, rotation_cpu_s = time.perf_counter() - started, time.process_time() - cpu
        phases = _phases(Path(rotation["transcript"]))
        rotation_rss = _peak_rss_mib()
        rotated = read_bundle(tmp / "rotate.resp", kind="response")
        sizes = [len(json.loads(f.data)["signed"].__repr__()) for f in
                 rotated.entries[0].files]
        message_bytes = max(sizes)
        signer_add_s, signer_add_cpu_s = _signer_add(tmp, options, console, rotated, keys)
        bundle_bytes = {name: (tmp / name).stat().st_size
                        for name in ("init.req", "init.resp", "rotate.req", "rotate.resp")}

        # the floor: as many raw PKCS#11 signatures, one session, same mechanism and hashing
        import pkcs11
        from pkcs11 import Mechanism, ObjectClass
        count = rotation["signatures"]
        lib = pkcs11.lib(env.module)
        with lib.get_token(token_label="targets").open(user_pin=env.pin("targets")) as session:
            key = session.get_key(object_class=ObjectClass.PRIVATE_KEY, label="targets-new")
            messages = [os.urandom(message_bytes) for _ in range(16)]
            started = time.perf_counter()
            for i in range(count):
                key.sign(hashlib.sha256(messages[i % 16]).digest(), mechanism=Mechanism.ECDSA)
            floor_s = time.perf_counter() - started

    print(json.dumps({
        "guns": args.guns,
        "init": {"wall_s": round(init_s, 3), "cpu_s": round(init_cpu_s, 3),
                 "per_gun_ms": round(1000 * init_s / args.guns, 2),
                 "logins": init["logins"], "signatures": init["signatures"],
                 "review_lines": init_review_lines, "phases_s": init_phases},
        "rotation": {
            "wall_s": round(rotation_s, 3), "cpu_s": round(rotation_cpu_s, 3),
            "per_gun_ms": round(1000 * rotation_s / args.guns, 2),
            "logins": rotation["logins"], "logins_by_token": rotation["logins_by_token"],
            "signatures": rotation["signatures"], "complete": rotation["complete"],
            "review_lines": review_lines[0], "phases_s": phases},
        "floor": {"raw_pkcs11_signatures": count, "wall_s": round(floor_s, 3),
                  "message_bytes": message_bytes},
        "ratio_to_floor": round(rotation_s / floor_s, 1) if floor_s else None,
        "signer_add": {"wall_s": round(signer_add_s, 3), "cpu_s": round(signer_add_cpu_s, 3),
                       "workspace_guns": args.guns},
        "bundle_bytes": bundle_bytes,
        "peak_rss_mib": max(init_rss, rotation_rss),
        "peak_rss_mib_by_ceremony": {"init": init_rss, "rotation": rotation_rss},
        "note": "rotation wall time includes verifying every repository of the request, the "
                "review, the response and one workspace transaction; the floor is signing only",
    }, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Signing 1,000 descriptors in one `ceremony notation sign-descriptors` run vs the floor.

    python bench/notation.py [--count 1000] [--envelope jws|cose] [--algorithm ecdsa-p256]
                             [--ceremony]

Makes a throwaway SoftHSM environment (deleted afterwards): a root CA key and a signing key on
two tokens, the root CA and the signing certificate (both through the CLI). Then
- floor: `count` raw CKM_ECDSA (or RSA-PSS) signatures over SHA-256 digests, straight on the
  python-pkcs11 key object of the signing key, in this process;
- ceremony: `ceremony notation sign-descriptors` on `count` descriptors, as a subprocess,
  wall time from start to exit (interpreter start, reading, signing, writing every envelope).
Prints JSON with both times, the logins the command reports (one per token is the target) and
whether wall <= 3 x floor + 2 s. Exits 1 when the target is missed. A benchmark, run by hand.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    full = dict(os.environ, **env, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-m", "ceremony", *args, "--allow-network"],
                          env=full, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"bench: ceremony {' '.join(args[:3])} failed: {proc.stderr.strip()}")
    return proc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--envelope", choices=["jws", "cose"], default="jws")
    parser.add_argument("--algorithm", default="ecdsa-p256")
    parser.add_argument("--ceremony", action="store_true",
                        help="Through the ceremony (--request/--out in a workspace, --yes) "
                             "instead of the compatibility path (--descriptors/--out-dir).")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-notation-") as tmp:
        from softhsm.env import TokenSpec, create_env
        folder = Path(tmp)
        hsm_env = create_env(folder / "softhsm", [TokenSpec("ca"), TokenSpec("signer")])
        os.environ.update(hsm_env.env)
        env = hsm_env.env
        pin_ca, pin_signer = hsm_env.pin_source("ca"), hsm_env.pin_source("signer")
        cli(env, "key", "generate", "--token", "pkcs11:token=ca", "--label", "root",
            "--algorithm", "ecdsa-p384", "--pin-source", pin_ca)
        cli(env, "key", "generate", "--token", "pkcs11:token=signer", "--label", "sign",
            "--algorithm", args.algorithm, "--pin-source", pin_signer,
            "--workspace", str(folder / "ws"))  # makes the workspace the ceremony runs in
        cli(env, "notation", "ca", "init", "--ca-dir", str(folder / "ca"), "--token",
            "pkcs11:token=ca", "--label", "root", "--subject", "C=US, ST=WA, O=B, CN=Root",
            "--pin-source", pin_ca)
        cli(env, "notation", "csr", "--token", "pkcs11:token=signer", "--label", "sign",
            "--subject", "C=US, ST=WA, O=B, CN=signer", "--out", str(folder / "s.csr"),
            "--pin-source", pin_signer)
        cli(env, "notation", "ca", "issue", "--ca-dir", str(folder / "ca"), "--csr",
            str(folder / "s.csr"), "--out", str(folder / "chain.pem"), "--pin-source", pin_ca)
        artifacts = [{"reference": f"registry.example/app:{n}", "descriptor": {
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": "sha256:" + hashlib.sha256(str(n).encode()).hexdigest(), "size": 500 + n}}
            for n in range(args.count)]
        (folder / "req.json").write_text(json.dumps({"version": 1, "artifacts": artifacts}))

        from hsm.session import TokenPool
        with TokenPool(pin_source=pin_signer) as pool:
            # the floor is the bare PKCS#11 key object, below hsm's checks (a measurement only)
            raw = pool.open("pkcs11:token=signer").signer("sign")._key
            digests = [hashlib.sha256(str(n).encode()).digest() for n in range(args.count)]
            from pkcs11 import MGF, Mechanism
            start = time.perf_counter()
            for digest in digests:
                if args.algorithm.startswith("ecdsa"):
                    raw.sign(digest, mechanism=Mechanism.ECDSA)
                else:
                    raw.sign(digest, mechanism=Mechanism.RSA_PKCS_PSS,
                             mechanism_param=(Mechanism.SHA256, MGF.SHA256, 32))
            floor = time.perf_counter() - start

        if args.ceremony:  # the ceremony: request bundle in, frame, transcript, response out
            from ceremony.notation.bundles import read_signatures, sign_request
            from ceremony.notation.payload import Descriptor
            from transfer.systembundle import read_system_bundle, write_system_bundle
            write_system_bundle(folder / "req.bundle", sign_request(
                [(a["reference"], Descriptor.from_dict(a["descriptor"])) for a in artifacts]))
            start = time.perf_counter()
            proc = cli(env, "notation", "sign-descriptors", "--request",
                       str(folder / "req.bundle"), "--out", str(folder / "resp.bundle"),
                       "--workspace", str(folder / "ws"), "--yes", "--token",
                       "pkcs11:token=signer", "--label", "sign", "--chain",
                       str(folder / "chain.pem"), "--envelope", args.envelope, "--pin-source",
                       pin_signer, "--json")
            wall = time.perf_counter() - start
            written = len(read_signatures(read_system_bundle(
                folder / "resp.bundle", "notation", "response").content))
        else:
            start = time.perf_counter()
            proc = cli(env, "notation", "sign-descriptors", "--descriptors",
                       str(folder / "req.json"), "--token", "pkcs11:token=signer", "--label",
                       "sign", "--chain", str(folder / "chain.pem"), "--envelope",
                       args.envelope, "--out-dir", str(folder / "sigs"), "--pin-source",
                       pin_signer, "--json")
            wall = time.perf_counter() - start
            from ceremony.notation.sign_cli import read_signatures as read_folder
            written = len(read_folder(folder / "sigs"))
        summary = json.loads(proc.stdout)

    target = 3 * floor + 2.0
    result = {"count": args.count, "envelope": args.envelope, "algorithm": args.algorithm,
              "path": "ceremony" if args.ceremony else "compatibility",
              "floor_seconds": round(floor, 3), "wall_seconds": round(wall, 3),
              "target_seconds": round(target, 3), "ratio_to_floor": round(wall / floor, 2),
              "logins": summary["logins"], "envelopes_written": written,
              "met": wall <= target and summary["logins"] == 1 and written == args.count}
    print(json.dumps(result, indent=2))
    return 0 if result["met"] else 1


if __name__ == "__main__":
    sys.exit(main())

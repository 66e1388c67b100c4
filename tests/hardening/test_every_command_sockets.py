"""The notation and TUF commands open no socket, and their PINs go nowhere: each one run for
real (real SoftHSM tokens, a real CA, python-tuf's repository), on the offline machine
(AIRGAPPED), under the audit hook of tests/hardening/audit_hook.py (see test_no_sockets.py): the
first socket created, connected, bound or name looked up ends the process with status 99.

The PINs are given as env: and file: sources, distinctive per token; afterwards no PIN (plain,
hex, base64 at any alignment) is in any argv the hook saw, any stdout/stderr, nor any file the
commands wrote (workspace, transcripts, bundles, certificates, signed metadata).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from softhsm.env import TokenSpec, create_env
from tests.conftest import AIRGAPPED, ROOT, run_cli
from tests.hardening.test_lifecycle_secrets import encodings
from tests.hardening.test_no_sockets import records

PINS = {"ca-root": "Pin-CaRoot-5a1f07", "ca-inter": "Pin-CaInter-9be2c4",
        "signer": "Pin-Signer-31d8aa", "tuf-a": "Pin-TufA-e4c610"}


class Hooked:
    """The offline machine with the hook in every process; PINs from env: (ca-root, tuf-a) and
    file: (the others) sources."""

    def __init__(self, base: Path):
        self.base = base
        hook = base / "hook"
        hook.mkdir()
        shutil.copy(Path(__file__).with_name("audit_hook.py"), hook / "sitecustomize.py")
        self.report = base / "report.jsonl"
        self.hsm = create_env(base / "hsm", [TokenSpec(label, pin=pin)
                                             for label, pin in PINS.items()])
        (base / "pins").mkdir()
        self.sources: dict[str, str] = {}
        self.env = {**self.hsm.env, "PYTHONPATH": f"{hook}:{ROOT}",
                    "NO_SOCKET_REPORT": str(self.report)}
        for n, (label, pin) in enumerate(PINS.items()):
            if n % 2 == 0:
                self.env[f"HARDENING_PIN_{n}"] = pin
                self.sources[label] = f"env:HARDENING_PIN_{n}"
            else:
                (base / "pins" / label).write_text(pin + "\n")
                self.sources[label] = f"file:{base / 'pins' / label}"
        self.outputs: list[str] = []
        self.commands: list[str] = []

    def pin(self, label: str) -> tuple[str, str]:
        return ("--pin-source", self.sources[label])

    def ok(self, *args: str) -> str:
        r = run_cli(*args, env=self.env, wrapper=AIRGAPPED, cwd=self.base)
        self.outputs.append(r.output)
        assert r.returncode == 0, (args, r.output)
        self.commands.append(" ".join(a for a in args[:3] if not a.startswith("-")))
        return r.stdout

    def check(self, expected: int) -> list[dict]:
        """The hook was in every process to its end; no socket; no network module."""
        rows = records(self.report)
        armed = {r["pid"] for r in rows if r.get("armed")}
        exits = [r for r in rows if r.get("exit")]
        assert len(armed) == len(exits) == expected, rows
        assert [r for r in rows if "socket_event" in r] == []
        assert [r for r in exits if r["network_modules"]] == []
        return exits

    def assert_no_pin(self, exits: list[dict], folders: list[Path]) -> None:
        hits = []
        for label, pin in PINS.items():
            forms = encodings(pin)
            for text in [*self.outputs, *(json.dumps(r["argv"]) for r in exits)]:
                hits += [f"{label} in output/argv" for f in forms if f in text.encode()]
            for folder in folders:
                for path in sorted(folder.rglob("*")):
                    if path.is_file() and not path.is_symlink():
                        data = path.read_bytes()
                        hits += [f"{label} in {path}" for f in forms if f in data]
        assert not hits, hits


def test_notation_commands_open_no_socket(tmp_path_factory):
    from ceremony.notation import bundles
    from ceremony.notation.bundles import sign_request
    from ceremony.notation.payload import Descriptor
    from transfer.systembundle import read_system_bundle, write_system_bundle
    h = Hooked(tmp_path_factory.mktemp("notation-sockets"))
    base, ws = h.base, str(h.base / "ws")
    out = base / "out"
    out.mkdir()
    for label, key in (("ca-root", "root"), ("signer", "release")):
        h.ok("key", "generate", "--token", label, "--label", key, "--algorithm", "ecdsa-p256",
             *h.pin(label))
    h.ok("notation", "ca", "init", "--workspace", ws, "--token", "ca-root", "--label", "root",
         "--subject", "C=US, ST=WA, O=Example, CN=Hooked Root", "--yes", *h.pin("ca-root"),
         "--out", str(out / "root.crt"))
    h.ok("notation", "csr", "--token", "signer", "--label", "release", "--subject",
         "C=US, ST=WA, O=Example, CN=hooked signer", "--out", str(out / "release.csr"),
         *h.pin("signer"))
    h.ok("notation", "request", "csr", "--csr", str(out / "release.csr"), "--out",
         str(out / "csr.req"))
    h.ok("notation", "ca", "issue", "--workspace", ws, "--request", str(out / "csr.req"),
         "--out", str(out / "issued.resp"), "--yes", *h.pin("ca-root"))
    h.ok("notation", "unpack", "--response", str(out / "issued.resp"), "--out-dir",
         str(out / "certs"))
    h.ok("notation", "ca", "intermediate", "--workspace", ws, "--token", "ca-inter",
         "--label", "inter", "--algorithm", "ecdsa-p256", "--subject",
         "C=US, ST=WA, O=Example, CN=Hooked Issuing CA", "--yes",
         "--pin-source", f"ca-root={h.sources['ca-root']}",
         "--pin-source", f"ca-inter={h.sources['ca-inter']}")
    from cryptography import x509
    leaf = x509.load_pem_x509_certificates((out / "certs" / "release.chain.pem").read_bytes())[0]
    h.ok("notation", "ca", "revoke", "--workspace", ws, "--serial", f"{leaf.serial_number:x}",
         "--out", str(out / "revoke.resp"), "--yes", *h.pin("ca-root"))
    h.ok("notation", "ca", "crl", "--workspace", ws, "--out", str(out / "crl.resp"), "--yes",
         *h.pin("ca-root"))
    h.ok("notation", "ca", "export", "--workspace", ws, "--out-dir", str(out / "public"))
    h.ok("notation", "ca", "show", "--workspace", ws, "--json")
    # A fresh certificate for the signing key (the first is revoked), then a signature.
    h.ok("notation", "ca", "issue", "--workspace", ws, "--request", str(out / "csr.req"),
         "--out", str(out / "issued2.resp"), "--yes", *h.pin("ca-root"))
    desc = Descriptor("application/vnd.oci.image.manifest.v1+json", "sha256:" + "cd" * 32, 512)
    write_system_bundle(out / "sign.req", sign_request([("localhost:5000/app:1", desc)]))
    h.ok("notation", "sign-descriptors", "--workspace", ws, "--request", str(out / "sign.req"),
         "--out", str(out / "sign.resp"), "--token", "signer", "--label", "release", "--yes",
         *h.pin("signer"))
    ((entry, envelope),) = bundles.read_signatures(
        read_system_bundle(out / "sign.resp", "notation", "response").content)
    (out / "sig.jws").write_bytes(envelope)
    (out / "descriptor.json").write_text(json.dumps(entry["descriptor"]))
    text = h.ok("notation", "verify", "--envelope", str(out / "sig.jws"), "--root",
                str(out / "root.crt"), "--descriptor", str(out / "descriptor.json"))
    assert text.strip(), "verify said nothing"
    h.ok("notation", "trust-store", "--root", str(out / "root.crt"), "--config-dir",
         str(out / "notation-config"), "--scope", "localhost:5000/app")

    exits = h.check(16)
    assert set(h.commands) >= {
        "notation ca init", "notation csr", "notation request csr", "notation ca issue",
        "notation unpack", "notation ca intermediate", "notation ca revoke", "notation ca crl",
        "notation ca export", "notation ca show", "notation sign-descriptors",
        "notation verify", "notation trust-store"}
    h.assert_no_pin(exits, [base / "ws", out])


def test_tuf_commands_open_no_socket(tmp_path_factory):
    from tests.tuf.pytuf_repo import PyTufRepository, token_key
    h = Hooked(tmp_path_factory.mktemp("tuf-sockets"))
    base = h.base
    h.ok("key", "generate", "--token", "tuf-a", "--label", "tuf-root", "--algorithm",
         "ecdsa-p256", *h.pin("tuf-a"))
    key = json.loads(h.ok("tuf", "key", "--token", "tuf-a", "--label", "tuf-root",
                          *h.pin("tuf-a"), "--json"))
    repo = PyTufRepository.create(base / "repo")
    old = repo.signers["root"][0].public_key.keyid

    def to_token(root) -> None:
        root.revoke_key(old, "root")
        root.add_key(token_key(key), "root")
    (base / "proposed-2.root.json").write_bytes(repo.propose_root(to_token))
    h.ok("tuf", "sign", str(base / "proposed-2.root.json"), "--trusted",
         str(repo.metadata_dir / "1.root.json"), "--out", str(base / "signed-2.root.json"),
         "--token", "tuf-a", "--yes", *h.pin("tuf-a"))
    repo.store("root", (base / "signed-2.root.json").read_bytes())
    repo.signers["root"] = []
    repo.publish()
    h.ok("tuf", "verify", str(repo.metadata_dir))
    exits = h.check(4)
    assert [r["argv"][1:3] for r in exits][1:] == [["tuf", "key"], ["tuf", "sign"],
                                                   ["tuf", "verify"]]
    h.assert_no_pin(exits, [base / "repo", base / "signed-2.root.json"])

"""The notation and TUF commands open no socket, and their PINs go nowhere: each one run for
real (real SoftHSM tokens, a real CA, python-tuf's repository), on the offline machine
(AIRGAPPED), under the audit hook of tests/hardening/audit_hook.py (see test_no_sockets.py): the
first socket created, connected, bound or name looked up ends the process with status 99.

The PINs are given as env: and file: sources, distinctive per token; afterwards no PIN (plain,
hex, base64 at any alignment) is in any argv the hook saw, any stdout/stderr, nor any file the
commands wrote (workspace, transcripts, bundles, certificates, signed metadata).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from softhsm.env import TokenSpec, create_env
from softhsm.notary_server import PASSPHRASE
from tests.ceremonies.sites import Site, fetch, init_repo, notary_server, published, root_ids
from tests.conftest import AIRGAPPED, ROOT, CliResult, run_cli
from tests.hardening.commands import CLASSES, HOOKED_RUNS
from tests.hardening.test_lifecycle_secrets import encodings
from tests.hardening.test_no_sockets import records

PINS = {"ca-root": "Pin-CaRoot-5a1f07", "ca-inter": "Pin-CaInter-9be2c4",
        "signer": "Pin-Signer-31d8aa", "tuf-a": "Pin-TufA-e4c610"}
PINS_NOTARY = {"root-a": "Pin-NRootA-0d9e21", "root-b": "Pin-NRootB-6f3a70",
               "targets": "Pin-NTgts-a81c5e", "root-c": "Pin-NRootC-2b7d94"}


def seen_commands(exits: list[dict]) -> set[str]:
    """The leaf commands (words as in CLASSES) the hooked processes ran, from their argv."""
    seen = set()
    for row in exits:
        words = row["argv"][1:]
        for n in range(min(3, len(words)), 0, -1):
            if " ".join(words[:n]) in CLASSES:
                seen.add(" ".join(words[:n]))
                break
    return seen


def assert_covers_its_hooked_runs(test: str, exits: list[dict]) -> None:
    """Every command HOOKED_RUNS says this test runs under the hook, it did run."""
    claimed = {name for name, where in HOOKED_RUNS.items() if where.endswith(f"::{test}")}
    assert claimed and claimed <= seen_commands(exits), claimed - seen_commands(exits)


class Hooked:
    """The offline machine with the hook in every process; PINs from env: (ca-root, tuf-a) and
    file: (the others) sources."""

    def __init__(self, base: Path, pins: dict[str, str] | None = None):
        self.base = base
        self.pins = pins or PINS
        hook = base / "hook"
        hook.mkdir()
        shutil.copy(Path(__file__).with_name("audit_hook.py"), hook / "sitecustomize.py")
        self.report = base / "report.jsonl"
        self.hsm = create_env(base / "hsm", [TokenSpec(label, pin=pin)
                                             for label, pin in self.pins.items()])
        (base / "pins").mkdir()
        self.sources: dict[str, str] = {}
        self.env = {**self.hsm.env, "PYTHONPATH": f"{hook}:{ROOT}",
                    "NO_SOCKET_REPORT": str(self.report)}
        for n, (label, pin) in enumerate(self.pins.items()):
            if n % 2 == 0:
                self.env[f"HARDENING_PIN_{n}"] = pin
                self.sources[label] = f"env:HARDENING_PIN_{n}"
            else:
                (base / "pins" / label).write_text(pin + "\n")
                self.sources[label] = f"file:{base / 'pins' / label}"
        self.outputs: list[str] = []

    def pin(self, label: str) -> tuple[str, str]:
        return ("--pin-source", self.sources[label])

    def ok(self, *args: str) -> str:
        r = run_cli(*args, env=self.env, wrapper=AIRGAPPED, cwd=self.base)
        self.outputs.append(r.output)
        assert r.returncode == 0, (args, r.output)
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

    def assert_no_pin(self, exits: list[dict]) -> None:
        """Everything under the base folder but the token store, the PIN files themselves and
        the hook: workspace, transcripts, bundles, certificates, metadata, the hook's report."""
        files = [p for p in sorted(self.base.rglob("*")) if p.is_file() and not p.is_symlink()
                 and p.relative_to(self.base).parts[0] not in ("hsm", "pins", "hook")]
        assert len(files) > 5 and self.report in files
        hits = []
        for label, pin in self.pins.items():
            forms = encodings(pin)
            for text in [*self.outputs, *(json.dumps(r["argv"]) for r in exits)]:
                hits += [f"{label} in output/argv" for f in forms if f in text.encode()]
            for path in files:
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
    # `verify` on a whole response bundle (its Notary v1 form runs in test_no_sockets.py)
    assert "1 of 1 signature(s) verified" in h.ok("verify", str(out / "sign.resp"), "--root-ca",
                                                  str(out / "root.crt"))
    h.ok("notation", "trust-store", "--root", str(out / "root.crt"), "--config-dir",
         str(out / "notation-config"), "--scope", "localhost:5000/app")

    exits = h.check(17)
    assert_covers_its_hooked_runs("test_notation_commands_open_no_socket", exits)
    assert list((base / "ws" / "transcripts").glob("*.jsonl"))
    h.assert_no_pin(exits)


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
    assert_covers_its_hooked_runs("test_tuf_commands_open_no_socket", exits)
    h.assert_no_pin(exits)


class HookedSite(Site):
    """A Notary offline site (tests/ceremonies/sites.py) whose every command runs air-gapped
    with the hook in; the outputs are kept for the PIN search."""

    def __init__(self, env, folder: Path, hook_env: dict[str, str], outputs: list[str]):
        super().__init__(env, folder)
        self.hook_env = hook_env
        self.outputs = outputs

    def run(self, *args: str, input: str | None = None) -> CliResult:
        r = run_cli(*args, env={**self.env.env, **self.hook_env,
                                "CEREMONY_WORKSPACE": str(self.workspace)},
                    wrapper=AIRGAPPED, input=input)
        self.outputs.append(r.output)
        return r


@pytest.mark.notary
def test_notary_ceremonies_open_no_socket(tmp_path_factory):
    """The Notary v1 commands test_no_sockets.py does not run, each under the hook: signer
    remove, delegation add/remove, rotate root, renew, pins, pin, adopt import, a co-signed
    rotation (sign, merge) and a script (run). Fetches and publishes run unhooked (online)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    base = tmp_path_factory.mktemp("notary-sockets")
    hook = base / "hook"
    hook.mkdir()
    shutil.copy(Path(__file__).with_name("audit_hook.py"), hook / "sitecustomize.py")
    report = base / "report.jsonl"
    hook_env = {"PYTHONPATH": f"{hook}:{ROOT}", "NO_SOCKET_REPORT": str(report),
                "ADOPT_PASS": PASSPHRASE}
    outputs: list[str] = []
    env_a = create_env(base / "hsm-a", [TokenSpec(label, pin=PINS_NOTARY[label])
                                         for label in ("root-a", "root-b", "targets")])
    env_b = create_env(base / "hsm-b", [TokenSpec("root-c", pin=PINS_NOTARY["root-c"])])
    a = HookedSite(env_a, base / "a", hook_env, outputs)
    b = HookedSite(env_b, base / "b", hook_env, outputs)
    c = HookedSite(env_b, base / "c", hook_env, outputs)
    out = base / "out"
    out.mkdir()
    gun = "example.com/hardening/every"
    (out / "alice.pub").write_bytes(ec.generate_private_key(ec.SECP256R1()).public_key()
                                    .public_bytes(serialization.Encoding.PEM,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo))
    expected: list[str] = []

    def step(site: HookedSite, operation: str | None, *args: str) -> Path:
        """Fetch (online, unhooked), run ARGS on the site (hooked), publish (unhooked)."""
        req = fetch(notary, gun, out / f"{len(expected)}.req", operation=operation)
        resp = out / f"{len(expected)}.resp"
        site.ok(*args, "--request", str(req), "--out", str(resp), "--yes")
        expected.append(args[0])
        published(notary, resp)
        return resp

    for notary in notary_server(tmp_path_factory):
        init_repo(a, notary, gun, out, "root-a")
        expected.append("init")
        step(a, "signer-add", "signer", "add", gun, "alice", "--key", str(out / "alice.pub"),
             "--targets-token", "targets", *a.pins("targets"))
        step(a, "signer-remove", "signer", "remove", gun, "alice", "--targets-token",
             "targets", *a.pins("targets"))
        step(a, "delegation-add", "delegation", "add", gun, "targets/releases", "--key",
             str(out / "alice.pub"), "--all-paths", "--targets-token", "targets",
             *a.pins("targets"))
        step(a, "delegation-remove", "delegation", "remove", gun, "targets/releases",
             "--targets-token", "targets", *a.pins("targets"))
        resp = step(a, "rotate-root", "rotate", "root", gun, "--root-token", "root-a",
                    "--add-token", "root-b", *a.pins("root-a", "root-b"))
        step(a, "renew", "renew", gun, "--role", "targets", "--targets-token", "targets",
             *a.pins("targets"))
        a.ok("pins", gun, "--out", str(out / "pins"))
        expected.append("pins")
        ids = root_ids(resp, gun)
        # Site B: a root key and certificate, the repository pinned; site C adopts it.
        for args in (("key", "generate", "--token", "root-c", "--label", "root"),
                     ("key", "cert", "--token", "root-c", "--label", "root", "--gun", gun,
                      "--out", str(out / "root-c.pem"))):
            b.ok(*args, "--pin-source", env_b.pin_source("root-c"))
            expected.append("key")
        req = fetch(notary, gun, out / "pin.req", operation="pin")
        b.ok("pin", gun, "--request", str(req), "--root-cert-id", ids[0])
        c.ok("adopt", "import", gun, "--request", str(req), "--root-cert-id", ids[0])
        expected += ["pin", "adopt"]
        # A co-signed rotation: a partial at A, signed at B, merged at A.
        req = fetch(notary, gun, out / "co.req", operation="rotate-root")
        a.ok("rotate", "root", gun, "--request", str(req), "--out", str(out / "partial.resp"),
             "--root-token", "root-a", "--root-token", "root-b", "--add-cert",
             str(out / "root-c.pem"), "--root-threshold", "3", *a.pins("root-a", "root-b"),
             "--yes", "--partial")
        b.ok("sign", str(out / "partial.resp"), "--token", "root-c", "--out",
             str(out / "signed.resp"), *b.pins("root-c"), "--yes")
        assert a.ok("merge", str(out / "partial.resp"), str(out / "signed.resp"), "--out",
                    str(out / "merged.resp"))["complete"]
        expected += ["rotate", "sign", "merge"]
        published(notary, out / "merged.resp")
        # A script: the request sent on as a copy, in the workspace's run frame.
        script = out / "send.yaml"
        script.write_text(
            "format: notary-ceremony-script/1\n"
            f"ceremony: {{name: Send, purpose: testing, guns: [{gun}]}}\n"
            "participants: [{name: Alice, role: administrator}]\n"
            "inputs:\n  req: {kind: request, path: co.req, sha256: "
            f"{hashlib.sha256((out / 'co.req').read_bytes()).hexdigest()}}}\n"
            "steps: [{id: send, do: transfer-send, bundle: req, copy: copy.bundle}]\n")
        a.ok("run", str(script), "--yes", "--out-dir", str(out / "run"))
        expected.append("run")
        # adopt: a repository the real notary client made, its root key file's passphrase
        # from an env: source, onto site A's tokens.
        from tests.adopt.realrepo import make_repository
        made = make_repository(notary, base / "made", f"{gun}-adopted", "berlin")
        req = fetch(notary, made.gun, out / "adopt.req", operation="adopt")
        a.ok("adopt", "repository", made.gun, "--request", str(req), "--out",
             str(out / "adopt.resp"), "--root-key-file", str(made.key_files("root")[0]),
             "--root-passphrase-source", "env:ADOPT_PASS", "--root-token", "root-a",
             "--targets-token", "targets", "--targets-key-file",
             str(made.key_files("targets")[0]), "--targets-passphrase-source",
             "env:ADOPT_PASS", *a.pins("root-a", "targets"), "--yes")
        expected.append("adopt")
        published(notary, out / "adopt.resp")

    rows = records(report)
    armed = {r["pid"] for r in rows if r.get("armed")}
    exits = [r for r in rows if r.get("exit")]
    assert len(armed) == len(exits) == len(expected), rows
    assert [r["argv"][1] for r in exits] == expected
    assert_covers_its_hooked_runs("test_notary_ceremonies_open_no_socket", exits)
    assert [r for r in rows if "socket_event" in r] == []
    assert [r for r in exits if r["network_modules"]] == []
    secrets = {**PINS_NOTARY, "the root key file's passphrase": PASSPHRASE}
    hits = [f"{label} in {where}" for label, pin in secrets.items()
            for form in encodings(pin)
            for where, text in [*((f"output {n}", o.encode()) for n, o in enumerate(outputs)),
                                *((f"argv {r['argv']}", json.dumps(r["argv"]).encode())
                                  for r in exits)]
            if form in text]
    files = [p for folder in (a.workspace, b.workspace, c.workspace, out)
             for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink()]
    assert len(files) > 30 and any("transcripts" in p.parts for p in files)
    hits += [f"{label} in {path}" for path in files for label, pin in secrets.items()
             for form in encodings(pin) if form in path.read_bytes()]
    assert not hits, hits


PINS_TUF = {"root-a": "Pin-TRootA-73c2e8", "root-b": "Pin-TRootB-1d94fa",
            "targets": "Pin-TTgts-c05b36"}


def test_tuf_ceremonies_open_no_socket(tmp_path_factory):
    """The TUF ceremonies, request to response on SoftHSM, every process hooked: the online
    machine's file-only half (`tuf request`, `apply`, `request-sign`, `response-file`) as well
    as the offline ceremonies (init, rotate-root, rotate-key, delegation add, renew, delegation
    remove, sign-request). The online service's snapshot/timestamp keys are python-tuf's, in
    this process (tests/tuf/ceremony_world.py), as an online service's are."""
    from tests.tuf.ceremony_world import OnlineService
    from tests.tuf.pytuf_repo import PyTufRepository, new_signer, token_key
    h = Hooked(tmp_path_factory.mktemp("tuf-ceremony-sockets"), PINS_TUF)
    base, ws = h.base, str(h.base / "ws")
    service = OnlineService(base / "repo")
    pins = [arg for label in PINS_TUF
            for arg in ("--pin-source", f"{label}={h.sources[label]}")]
    snap = service.public_pem(service.signers["snapshot"][0], "snapshot")
    ts = service.public_pem(service.signers["timestamp"][0], "timestamp")
    hello = base / "hello.txt"
    hello.write_bytes(b"hello from the hooked ceremonies\n")

    def step(name: str, operation: str, command: list[str], request: tuple[str, ...],
             offline: tuple[str, ...]) -> None:
        req, resp = str(base / f"{name}.req"), str(base / f"{name}.resp")
        h.ok("tuf", "request", "--repo", str(service.metadata_dir), "--name", "demo",
             "--operation", operation, "--out", req, *request)
        h.ok("tuf", *command, "--workspace", ws, "--request", req, "--out", resp, "--yes",
             *pins, *offline)
        written = json.loads(h.ok("tuf", "apply", "--response", resp, "--repo",
                                  str(service.metadata_dir), "--request", req, "--json"))
        for file in written["written"]:
            if file != "root.json":
                service.store(file.split(".", 1)[1][:-5],
                              (service.metadata_dir / file).read_bytes())
        service.publish()

    step("init", "init", ["init"],
         ("--online-key", f"snapshot={snap}", "--online-key", f"timestamp={ts}", "--target",
          f"files/hello.txt={hello}"),
         ("--root-token", "root-a", "--root-threshold", "1", "--targets-token", "targets"))
    step("rotate-root", "rotate-root", ["rotate-root"], (),
         ("--token", "root-a", "--root-token", "root-b"))
    new_ts = new_signer("ed25519")
    step("rotate-key", "rotate-key", ["rotate-key"],
         ("--role", "timestamp", "--online-key",
          f"timestamp={service.public_pem(new_ts, 'timestamp-2')}"), ("--token", "root-a"))
    service.signers["timestamp"] = [new_ts]
    releases = new_signer("p256")
    step("delegation-add", "delegation-add", ["delegation", "add"],
         ("--role", "releases", "--path", "releases/*", "--delegate-key",
          str(service.public_pem(releases, "releases"))), ("--token", "targets"))
    service.signers["releases"] = [releases]
    with service.edit_targets("releases"):
        pass
    step("renew", "renew", ["renew"], ("--renew-role", "root", "--renew-role", "targets"),
         ("--token", "root-a", "--token", "targets", "--root-expires", "400d",
          "--targets-expires", "120d"))
    step("delegation-remove", "delegation-remove", ["delegation", "remove"],
         ("--role", "releases"), ("--token", "targets", "--targets-expires", "150d"))

    # Metadata made elsewhere (python-tuf), first contact: its root moves to root-b's key.
    key = json.loads(h.ok("tuf", "key", "--token", "root-b", "--label", "tuf-root", "--json"))
    other = PyTufRepository.create(base / "other")
    first = hashlib.sha256((other.metadata_dir / "1.root.json").read_bytes()).hexdigest()
    old = other.signers["root"][0].public_key.keyid

    def to_token(root) -> None:
        root.revoke_key(old, "root")
        root.add_key(token_key(key), "root")
    (base / "proposed-2.root.json").write_bytes(other.propose_root(to_token))
    h.ok("tuf", "request-sign", "--repo", str(other.metadata_dir), "--name", "other",
         "--proposed", str(base / "proposed-2.root.json"), "--out", str(base / "sign.req"))
    h.ok("tuf", "sign-request", "--workspace", ws, "--request", str(base / "sign.req"),
         "--out", str(base / "sign.resp"), "--token", "root-b", "--trust-root-sha256", first,
         "--yes", *pins)
    h.ok("tuf", "response-file", "--response", str(base / "sign.resp"), "--request",
         str(base / "sign.req"), "--out", str(base / "signed-2.root.json"))
    other.store("root", (base / "signed-2.root.json").read_bytes())

    exits = h.check(6 * 3 + 4)
    assert [" ".join(r["argv"][2:4]) for r in exits][:3] == ["request --repo", "init --workspace",
                                                           "apply --response"]
    assert_covers_its_hooked_runs("test_tuf_ceremonies_open_no_socket", exits)
    assert list((base / "ws" / "transcripts").glob("*.jsonl"))
    h.assert_no_pin(exits)

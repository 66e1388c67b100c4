"""docs/first-ceremony.md, followed step by step through the real CLI.

Every marked block of the page runs as written (separate commands, not `ceremony run`): two
SoftHSM tokens made the documented way, keys generated and the root certificate stored on the
token before the ceremony, the lab Notary service (notary-server with notary-signer, ECDSA
server keys) started by the documented helper, online fetch -> offline init (air-gapped) ->
publish, `ceremony pins`, the real `notary` client pinned to exactly what it wrote, `docker
trust inspect` with a pre-seeded trust cache, a signer added and a delegate publishing, a
targets rotation both clients follow, a root renewal. After each block the test checks what
the page says should be true; a block the test does not know, or a known block the page lost,
fails the test, so the page cannot rot.
"""

from __future__ import annotations

import base64
import json
import re
import ssl
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from softhsm import lab_server
from tests.firstceremony.doc import DOC, Output, Room, Step, doc_steps
from transfer.bundle import read_bundle

pytestmark = pytest.mark.notary

GUN = "example.com/acme/app"
PINS_HEADER = f"Pin these (distribute to every verifier of {GUN}):"
HEX64 = r"[0-9a-f]{64}"


class Walk:
    """What the walk through the page learned so far, for the checks of later steps."""

    def __init__(self, room: Room):
        self.room = room
        self.path = room.folder
        self.cert_id = ""  # the cert key ID `key cert` printed before the ceremony
        self.targets_key_id = ""
        self.old_cert_id = ""

    def server_get(self, path: str) -> bytes:
        ctx = ssl.create_default_context(cafile=self.room.var("SERVER_CA"))
        with urllib.request.urlopen(self.room.var("SERVER_URL") + path, context=ctx,
                                    timeout=10) as resp:
            return resp.read()

    def response(self, name: str) -> dict[str, bytes]:
        entry = read_bundle(self.path / name, kind="response").entry(GUN)
        assert entry.complete
        return {f.role: f.data for f in entry.files}

    def signed(self, name: str, role: str) -> dict:
        return json.loads(self.response(name)[role])["signed"]


def _published(walk: Walk, response: str) -> None:
    for role, data in walk.response(response).items():
        assert walk.server_get(f"/v2/{GUN}/_trust/tuf/{role}.json") == data, role


def check_names(walk: Walk, out: Output) -> None:
    assert walk.room.var("GUN") == GUN


def check_tokens(walk: Walk, out: Output) -> None:
    assert "token 'root-a'" in out.stdout and "token 'targets'" in out.stdout
    conf = walk.room.var("SOFTHSM2_CONF")
    assert conf.startswith(str(walk.path)), "SoftHSM must use its own configuration"
    for label in ("root-a", "targets"):
        pin_file = walk.path / "tokens" / "pins" / f"{label}.pin"
        assert pin_file.stat().st_mode & 0o077 == 0
        assert pin_file.name in walk.room.var(
            "ROOT_TOKEN" if label == "root-a" else "TARGETS_TOKEN")


def check_lab_server(walk: Walk, out: Output) -> None:
    assert walk.room.var("SERVER_URL") == f"https://localhost:{lab_server.DEFAULT_PORT}"
    assert walk.room.var("SERVER_CA") == str(walk.path / "lab-server" / "tls" / "ca.pem")
    assert "stop it with:" in out.stderr and "--stop" in out.stderr
    state = json.loads((walk.path / "lab-server" / lab_server.STATE).read_text())
    assert state["trust_service"] == "signer"
    names = sorted(Path(p["config"]).name for p in state["processes"])
    assert names == ["server.json", "signer.json"]
    # the signer's passphrase alias reached it through the environment, not argv
    for p in state["processes"]:
        argv = Path(f"/proc/{p['pid']}/cmdline").read_bytes()
        assert b"NOTARY_SIGNER" not in argv and b"passphrase" not in argv.lower()


def check_keys(walk: Walk, out: Output) -> None:
    assert out.stdout.count("custody OK") == 2
    found = re.findall(rf"cert key ID \([^)]*trust pinning\): ({HEX64})", out.stdout)
    assert len(found) == 1, out.stdout
    walk.cert_id = found[0]
    assert "stored on the token" in out.stdout


def check_fetch_init(walk: Walk, out: Output) -> None:
    entry = read_bundle(walk.path / "init.request", kind="request").entry(GUN)
    assert not entry.exists
    for role in ("timestamp", "snapshot"):  # notary-signer's keys, as on Docker Hub
        assert json.loads(entry.server_keys[role])["keytype"] == "ecdsa", role


def check_init(walk: Walk, out: Output) -> None:
    root = walk.signed("init.response", "root")
    assert root["version"] == 1
    # init used the certificate stored on the token: the ID distributed before is the one
    assert root["roles"]["root"]["keyids"] == [walk.cert_id]
    assert PINS_HEADER in out.text, out.text
    assert walk.cert_id in out.text.split(PINS_HEADER, 1)[1]
    (walk.targets_key_id,) = root["roles"]["targets"]["keyids"]


def check_publish_init(walk: Walk, out: Output) -> None:
    _published(walk, "init.response")


def check_pins(walk: Walk, out: Output) -> None:
    pins = walk.path / "pins"
    config = json.loads((pins / "notary-client-config.json").read_text())
    assert config == {"trust_pinning": {"certs": {GUN: [walk.cert_id]}}}
    published_root = walk.server_get(f"/v2/{GUN}/_trust/tuf/root.json")
    assert (pins / "root.json").read_bytes() == published_root
    root = json.loads(published_root)["signed"]
    cert = x509.load_pem_x509_certificate(
        base64.b64decode(root["keys"][walk.cert_id]["keyval"]["public"]))
    spki = cert.public_key().public_bytes(serialization.Encoding.PEM,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
    assert (pins / "connaisseur-root.pub.pem").read_bytes().strip() == spki.strip()
    assert PINS_HEADER in out.text and walk.cert_id in out.text.split(PINS_HEADER, 1)[1]


def check_notary_client(walk: Walk, out: Output) -> None:
    assert "No targets present in this repository" in out.text
    config = json.loads((walk.path / "verifier" / "notary.json").read_text())
    assert config["trust_pinning"] == {"certs": {GUN: [walk.cert_id]}}
    # the pin is what made it trust: the same client pinned to another ID refuses
    wrong = dict(config, trust_dir=str(walk.path / "wrong-trust"),
                 trust_pinning={"certs": {GUN: ["0" * 64]}})
    (walk.path / "wrong.json").write_text(json.dumps(wrong))
    refused = walk.room.run(Step("wrong-pin", "verifier",
                                 'notary -c wrong.json list "$GUN" || echo "exit $?"'))
    assert "exit 1" in refused.stdout and "trust_pinning" in refused.text, refused.text


def _docker_keys(text: str) -> dict[str, str]:
    return dict(re.findall(rf"(Repository Key|Root Key):\s+({HEX64})", text))


def check_docker(walk: Walk, out: Output) -> None:
    assert f"No signatures for {GUN}" in out.stdout
    assert _docker_keys(out.stdout) == {"Root Key": walk.cert_id,
                                        "Repository Key": walk.targets_key_id}


def check_delegate_key(walk: Walk, out: Output) -> None:
    assert (walk.path / "alice" / "alice.pub").read_text().startswith("-----BEGIN PUBLIC KEY")


def check_fetch_signer(walk: Walk, out: Output) -> None:
    entry = read_bundle(walk.path / "signer.request", kind="request").entry(GUN)
    assert entry.operation == "signer-add" and entry.exists


def check_signer_add(walk: Walk, out: Output) -> None:
    targets = walk.signed("signer.response", "targets")
    assert targets["version"] == 2
    names = sorted(r["name"] for r in targets["delegations"]["roles"])
    assert names == ["targets/alice", "targets/releases"]


def check_publish_signer(walk: Walk, out: Output) -> None:
    _published(walk, "signer.response")


def check_delegate_publish(walk: Walk, out: Output) -> None:
    assert "Successfully published changes" in out.text


def _lists_release(out: Output) -> None:
    assert re.search(r"^v1\.0\s+[0-9a-f]{64}\s+12\s+targets/(alice|releases)$", out.stdout,
                     re.M), out.stdout


def check_inspect_signer(walk: Walk, out: Output) -> None:
    _lists_release(out)
    assert re.search(rf"^v1\.0\s+{HEX64}\s+alice\s*$", out.stdout, re.M), out.stdout
    assert re.search(r"^alice\s+[0-9a-f]{12}\s*$", out.stdout, re.M), out.stdout


def check_fetch_rotate(walk: Walk, out: Output) -> None:
    entry = read_bundle(walk.path / "rotate.request", kind="request").entry(GUN)
    assert entry.operation == "rotate-targets"


def check_rotate(walk: Walk, out: Output) -> None:
    root = walk.signed("rotate.response", "root")
    assert root["version"] == 2 and root["roles"]["root"]["keyids"] == [walk.cert_id]
    (new_key,) = root["roles"]["targets"]["keyids"]
    assert new_key != walk.targets_key_id
    walk.targets_key_id = new_key


def check_publish_rotate(walk: Walk, out: Output) -> None:
    _published(walk, "rotate.response")


def check_after_rotate(walk: Walk, out: Output) -> None:
    _lists_release(out)  # the notary client followed root v2 from its cache
    assert _docker_keys(out.stdout) == {"Root Key": walk.cert_id,
                                        "Repository Key": walk.targets_key_id}


def check_fetch_renew(walk: Walk, out: Output) -> None:
    entry = read_bundle(walk.path / "renew.request", kind="request").entry(GUN)
    assert entry.operation == "renew"


def check_renew(walk: Walk, out: Output) -> None:
    first = walk.signed("init.response", "root")
    before, after = walk.signed("rotate.response", "root"), walk.signed("renew.response", "root")
    # Expiries have whole seconds: the rotation just before may fall in the renewal's second,
    # so the renewal is compared with it loosely and with the first root (many steps earlier)
    # strictly.
    assert after["version"] == 3 and after["expires"] >= before["expires"]
    assert after["expires"] > first["expires"]
    (new_id,) = after["roles"]["root"]["keyids"]
    assert new_id != walk.cert_id  # --reissue-certs: a new certificate, a new ID to pin
    walk.old_cert_id, walk.cert_id = walk.cert_id, new_id


def check_publish_renew(walk: Walk, out: Output) -> None:
    _published(walk, "renew.response")


def check_pins_renew(walk: Walk, out: Output) -> None:
    config = json.loads((walk.path / "pins" / "notary-client-config.json").read_text())
    assert config == {"trust_pinning": {"certs": {GUN: [walk.cert_id]}}}
    assert (walk.path / "pins" / "root.json").read_bytes() == \
        walk.server_get(f"/v2/{GUN}/_trust/tuf/root.json")
    assert walk.cert_id in out.text.split(PINS_HEADER, 1)[1]


def check_after_renew(walk: Walk, out: Output) -> None:
    # the cached client (pinned to the old ID) and the new verifier both list the release
    rows = re.findall(rf"^v1\.0\s+{HEX64}\s+12\s+targets/(?:alice|releases)$", out.stdout, re.M)
    assert len(rows) == 2, out.stdout
    assert _docker_keys(out.stdout) == {"Root Key": walk.cert_id,
                                        "Repository Key": walk.targets_key_id}
    cached = walk.path / "verifier" / "trust" / "tuf" / GUN / "metadata" / "root.json"
    assert json.loads(cached.read_bytes())["signed"]["version"] == 3
    # a fresh client pinned to the old ID refuses: the pins really had to be redistributed
    config = json.loads((walk.path / "verifier" / "notary.json").read_text())
    stale = dict(config, trust_dir=str(walk.path / "stale-trust"))
    (walk.path / "stale.json").write_text(json.dumps(stale))
    refused = walk.room.run(Step("stale-pin", "verifier",
                                 'notary -c stale.json list "$GUN" || echo "exit $?"'))
    assert "exit 1" in refused.stdout and "trust_pinning" in refused.text, refused.text


def check_lab_stop(walk: Walk, out: Output) -> None:
    assert not (walk.path / "lab-server" / lab_server.STATE).exists()
    assert "stopped" in out.stderr


CHECKS: dict[str, Callable[[Walk, Output], None]] = {
    name[len("check_"):].replace("_", "-"): fn
    for name, fn in dict(globals()).items() if name.startswith("check_")}
# what a person types at the step's prompts (confirmations, the delegate's passphrase)
INPUTS = {"init": "yes\n", "signer-add": "yes\n", "rotate": "yes\n", "renew": "yes\n",
          "delegate-publish": "alice-rehearsal-passphrase\n"}


@pytest.fixture
def room(tmp_path: Path) -> Iterator[Room]:
    room = Room(tmp_path / "room")
    yield room
    if (room.folder / "lab-server" / lab_server.STATE).exists():  # the page's stop never ran
        lab_server.stop(room.folder / "lab-server")


def test_the_page_marks_every_step_the_test_checks():
    steps = doc_steps()
    assert [s.name for s in steps] == list(CHECKS), "docs/first-ceremony.md and CHECKS differ"
    assert all(s.machine in ("any", "online", "offline", "verifier", "delegate") for s in steps)
    assert not any("--yes" in s.code or "--pin " in s.code for s in steps)


def test_first_ceremony_as_documented(room: Room):
    walk = Walk(room)
    for step in doc_steps():
        out = room.run(step, input=INPUTS.get(step.name, ""))
        CHECKS[step.name](walk, out)
    # no token PIN in anything any step printed
    pins = [(room.folder / "tokens" / "pins" / f"{label}.pin").read_text().strip()
            for label in ("root-a", "targets")]
    for out in room.outputs:
        assert not any(pin in out.text for pin in pins), out.step


def test_every_ceremony_command_on_the_page_exists_with_its_options():
    """Also the blocks the walk does not run (hardware tokens, an existing server): each
    `ceremony ...` command line names a real command and only options it has."""
    from tests.conftest import run_cli
    text = DOC.read_text()
    blocks = re.findall(r"```sh\n(.*?)```", text, re.S)
    commands = []
    for block in blocks:
        for line in block.replace("\\\n", " ").splitlines():
            line = line.strip()
            if line.startswith("ceremony "):
                commands.append(line.split("#")[0].split())
    assert len(commands) >= 15
    helps: dict[tuple[str, ...], str] = {}
    for words in commands:
        path = tuple(w for w in words[1:3] if re.fullmatch(r"[a-z]+", w))
        if path not in helps:
            r = run_cli(*path, "--help")
            assert r.returncode == 0 and "Commands:" not in r.stdout, (words, r.output)
            helps[path] = r.stdout
        for option in (w.split("=")[0] for w in words if w.startswith("--")):
            assert option in helps[path], (words, option)

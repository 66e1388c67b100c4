"""Attacks the ceremonies must stop (TUF threat model), on real requests from the real
notary-server, with real SoftHSM tokens, offline commands in `unshare --net`.

Already covered elsewhere and not repeated here: a tampered root and a forged root history, a
targets rollback below a version signed here, a swapped server key, an unknown root
(tests/ceremonies/test_refusals.py); the verifier's counting rules (tests/metadata/test_verify.py).
Here: root rollback, freeze (the request replayed after its timestamp expired, the offline
clock moved with libfaketime), mix-and-match, threshold cheating with one compromised root key
(duplicated signatures, a signature under another key's ID, one key under two IDs), and a
targets key offered as a root key (and a root key as a targets key). Each refusal: one line,
exit 1, no response, the workspace unchanged, the refusal in the transcript (which verifies).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import libfaketime
import pytest

from softhsm.notary_server import NotaryServer
from tests.ceremonies.conftest import TOKENS, Offline, fetch, publish
from tests.ceremonies.test_refusals import refused, resealed
from tests.conftest import ROOT
from transfer.bundle import read_bundle

pytestmark = pytest.mark.notary


class Machine(Offline):
    """The offline machine; `clock` shifts its clock (libfaketime, e.g. '+20d')."""

    clock: str | None = None

    def run(self, *args, input=None, timeout=300):
        if self.clock is None:
            return super().run(*args, input=input, timeout=timeout)
        _, preload = libfaketime.get_reload_information()
        saved = {k: os.environ.get(k) for k in (*preload, "FAKETIME")}
        os.environ.update(preload, FAKETIME=self.clock)
        try:
            return super().run(*args, input=input, timeout=timeout)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with NotaryServer(tmp_path_factory.mktemp("notary") / "server") as s:
        yield s


@pytest.fixture(scope="module")
def machine(softhsm_factory, tmp_path_factory) -> Machine:
    return Machine(softhsm_factory("hsm", TOKENS), tmp_path_factory.mktemp("offline"))


def init(o: Machine, server, gun: str, tmp: Path, *roots: str, threshold: int = 1,
         extra: tuple[str, ...] = ()) -> Path:
    req = fetch(server, gun, out=tmp / "init.req")
    resp = tmp / "init.resp"
    args = ["init", "--request", str(req), "--out", str(resp), "--targets-token", "targets",
            "--root-threshold", str(threshold), *o.pins(), "--yes", *extra]
    for r in roots or ("root-a",):
        args += ["--root-token", r]
    o.ok(*args)
    publish(server, resp)
    return resp


def transcript_verifies(o: Machine) -> None:
    r = o.run("transcript", "verify", str(o.transcripts()[-1]))
    assert r.returncode == 0, r.output


def renew_targets(o: Machine, gun: str, req: Path) -> list[str]:
    return ["renew", gun, "--role", "targets", "--request", str(req), "--targets-token",
            "targets", *o.pins(), "--yes"]


def test_root_rollback(server, machine, tmp_path):
    """A request carrying root v1 after this workspace trusts v2."""
    o, gun = machine, "example.com/attack/root-rollback"
    init(o, server, gun, tmp_path)
    old = fetch(server, gun, out=tmp_path / "old.req", operation="renew")
    req = fetch(server, gun, out=tmp_path / "rot.req", operation="rotate-root")
    o.ok("rotate", "root", gun, "--request", str(req), "--out", str(tmp_path / "rot.resp"),
         "--root-token", "root-a", "--add-token", "root-b", *o.pins(), "--yes")
    publish(server, tmp_path / "rot.resp")
    refused(o, renew_targets(o, gun, old), tmp_path / "resp", "older than")
    transcript_verifies(o)


def test_freeze_replayed_request_after_expiry(server, softhsm_factory, tmp_path):
    """The online machine hands over a genuine request, but 20 days late: the server's
    timestamp (14 days) has expired. The offline clock is moved with libfaketime (a machine
    of its own: its transcript is named 20 days ahead and would sort after later ones)."""
    o, gun = Machine(softhsm_factory("hsm", TOKENS), tmp_path), "example.com/attack/freeze"
    init(o, server, gun, tmp_path)
    req = fetch(server, gun, out=tmp_path / "req", operation="renew")
    o.clock = "+20d"
    try:
        err = refused(o, renew_targets(o, gun, req), tmp_path / "resp", "expired")
    finally:
        o.clock = None
    assert "timestamp" in err
    transcript_verifies(o)
    # the same request, on time, is accepted
    o.ok(*renew_targets(o, gun, req), "--out", str(tmp_path / "ok.resp"))


def test_mix_and_match(server, machine, tmp_path):
    """targets v2 (published) served with the snapshot and timestamp of v1."""
    o, gun = machine, "example.com/attack/mix"
    init(o, server, gun, tmp_path)
    old = read_bundle(fetch(server, gun, out=tmp_path / "old.req", operation="renew"),
                      kind="request").entries[0]
    o.ok(*renew_targets(o, gun, tmp_path / "old.req"), "--out", str(tmp_path / "r.resp"))
    publish(server, tmp_path / "r.resp")
    req = fetch(server, gun, out=tmp_path / "new.req", operation="renew")
    entry = read_bundle(req, kind="request").entries[0]
    mixed = {**entry.metadata, "snapshot": old.metadata["snapshot"],
             "timestamp": old.metadata["timestamp"]}
    bad = resealed(req, tmp_path / "bad.req", metadata=mixed)
    refused(o, renew_targets(o, gun, bad), tmp_path / "resp", "does not verify")
    transcript_verifies(o)


# --- threshold cheating with one compromised root key of a 2-of-2 root ----------------------

SIGNER = r"""
import json, sys
from hsm.session import TokenPool
from hsm.tokensigner import TokenSigner
with TokenPool(pin_source=sys.argv[2]) as pool:
    tok = pool.open(sys.argv[1])
    sig = tok.signer("root").sign(sys.stdin.buffer.read())
sys.stdout.write(sig.hex())
"""


def token_sign(o: Machine, label: str, message: bytes) -> bytes:
    """What an attacker holding token `label` (one root key) can sign."""
    env = {**os.environ, **o.env.env, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", SIGNER, label, o.env.pin_source(label)],
                         input=message, env=env, capture_output=True, check=True)
    return bytes.fromhex(out.stdout.decode())


def forged_root(o: Machine, v1: bytes, edit, sigs) -> bytes:
    """Root v2 from v1 with `edit` applied to its signed part, signed by root-a as `sigs` says:
    a list of key IDs to put root-a's one signature under."""
    from ceremony.notary.format import read_metadata
    from ceremony.notary.format.model import Root
    from ceremony.notary.format.serialization import signed_bytes
    root = read_metadata(v1, "root.json", Root).signed
    root.version = 2
    edit(root)
    message = signed_bytes(root)
    sig = base64.b64encode(token_sign(o, "root-a", message)).decode()
    doc = {"signed": root.to_dict(), "signatures": [
        {"keyid": kid, "method": "ecdsa", "sig": sig} for kid in sigs]}
    return json.dumps(doc, separators=(",", ":")).encode()


def test_threshold_cheating_with_one_root_key(server, machine, tmp_path):
    o, gun = machine, "example.com/attack/threshold"
    resp = init(o, server, gun, tmp_path, "root-a", "root-b", threshold=2)
    req = fetch(server, gun, out=tmp_path / "req", operation="renew")
    entry = read_bundle(req, kind="request").entries[0]
    v1 = entry.metadata["root"]
    ids = json.loads(v1)["signed"]["roles"]["root"]["keyids"]
    from ceremony.notary.format import read_metadata
    from ceremony.notary.format.keys import key_from_public_key
    from ceremony.notary.format.model import Root
    root1 = read_metadata(v1, "root.json", Root).signed
    a_id = cert_id_on(o, gun, "root-a")
    (b_id,) = [kid for kid in ids if kid != a_id]
    a_plain = key_from_public_key(root1.keys[a_id].public_key)

    def only_a(root):
        root.roles["root"].keyids = [a_id]
        root.roles["root"].threshold = 1
        del root.keys[b_id]

    def a_twice(root):  # one key under two IDs: its certificate and its plain key object
        root.keys[a_plain.key_id] = a_plain
        root.roles["root"].keyids = [a_id, a_plain.key_id]
        root.roles["root"].threshold = 2
        del root.keys[b_id]

    def b_is_a(root):  # b's ID now names a's key: a keyid that does not match its key
        root.keys[b_id] = root.keys[a_id]

    attacks = {
        "duplicated signature": (only_a, [a_id, a_id]),
        "signature under another key's ID": (only_a, [a_id, b_id]),
        "one key under two IDs": (a_twice, [a_id, a_plain.key_id, a_id]),
        "a keyid that does not match its key": (b_is_a, [a_id, b_id]),
    }
    for n, (name, (edit, sigs)) in enumerate(attacks.items()):
        v2 = forged_root(o, v1, edit, sigs)
        bad = resealed(req, tmp_path / f"bad{n}.req", metadata={**entry.metadata, "root": v2},
                       root_history=(v1, v2))
        err = refused(o, renew_targets(o, gun, bad), tmp_path / "resp", "root")
        assert "threshold" in err or "does not verify" in err or "chain" in err, (name, err)
        transcript_verifies(o)
    assert resp.exists()


def cert_id_on(o: Machine, gun: str, token: str) -> str:
    """The root certificate key ID init made for `gun` on `token` (from its transcript)."""
    for path in o.transcripts():
        for line in path.read_text().splitlines():
            entry = json.loads(line)
            for c in entry["data"].get("certificates", []) if entry["kind"] == \
                    "certificates" else []:
                if c["gun"] == gun and c["token"] == token:
                    return c["cert_key_id"]
    raise AssertionError(f"no certificate for {gun} on {token}")


# --- a targets key offered as a root key -----------------------------------------------------

def test_targets_key_is_never_a_root_key(server, machine, tmp_path):
    o, gun = machine, "example.com/attack/roles"
    init(o, server, gun, tmp_path)
    req = fetch(server, gun, out=tmp_path / "rot.req", operation="rotate-root")
    cert = tmp_path / "targets-as-root.pem"
    r = o.run("key", "cert", "--token", "targets", "--label", "targets", "--gun", gun, "--out",
              str(cert), "--pin-source", o.env.pin_source("targets"))
    assert r.returncode == 0, r.output
    rot = ["rotate", "root", gun, "--request", str(req), "--root-token", "root-a", *o.pins(),
           "--yes"]
    refused(o, [*rot, "--add-cert", str(cert)], tmp_path / "resp", "never made a root key")
    refused(o, [*rot, "--add-token", "targets", "--root-label", "targets"], tmp_path / "resp",
            "never made a root key")
    # a root key offered as the new targets key
    req2 = fetch(server, gun, out=tmp_path / "rt.req", operation="rotate-targets")
    refused(o, ["rotate", "targets", gun, "--request", str(req2), "--targets-token", "root-a",
                "--label", "root", "--root-token", "root-a", *o.pins(), "--yes"],
            tmp_path / "resp", "never made a targets key")
    # init: the same token key for root and targets, and another repository's targets key
    new = fetch(server, "example.com/attack/roles-2", out=tmp_path / "new.req")
    refused(o, ["init", "--request", str(new), "--root-token", "targets", "--root-label",
                "targets", "--targets-token", "targets", *o.pins(), "--yes"],
            tmp_path / "resp", "the targets key would be the root key")
    refused(o, ["init", "--request", str(new), "--root-token", "targets", "--root-label",
                "targets", "--targets-token", "spare", *o.pins(), "--yes"],
            tmp_path / "resp", "never made a root key")
    transcript_verifies(o)


def test_request_entries_are_what_the_attacks_changed(tmp_path):
    """Control for `resealed`: the digest is recomputed, so refusals above come from the
    content, not from a broken bundle."""
    from tests.bundle.helpers import sample_request
    from transfer.bundle import write_bundle
    path = tmp_path / "r.req"
    bundle = sample_request()
    write_bundle(path, bundle)
    entry = bundle.entries[0]
    out = resealed(path, tmp_path / "r2.req", metadata={**entry.metadata, "root": b"{}"})
    again = read_bundle(out, kind="request")
    assert again.entries[0].metadata["root"] == b"{}"
    assert replace(again.entries[0], metadata=entry.metadata) == entry

"""Every notation runbook script rehearsed (`ceremony run --dry-run`): throwaway SoftHSM tokens,
workspace and outputs, stand-ins for the inputs another site makes, the rehearsal's own root CA
(rehearsal.setup), signatures verified offline against it; nothing real written."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding

from ceremony.scripts.schema import read_script
from softhsm.env import load_env
from tests.runbooks.conftest import RUNBOOKS, ceremony, fill_digest, final_digest, script_copy

NOTATION_SCRIPTS = sorted(p.name for p in RUNBOOKS.glob("notation-*.yaml"))


def some_certificate() -> bytes:
    """A certificate from elsewhere (not issued by any rehearsal CA)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name.from_rfc4514_string("CN=lost laptop,O=Example,ST=WA,C=US")
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(Encoding.PEM)


def test_four_notation_scripts():
    assert NOTATION_SCRIPTS == ["notation-issue.yaml", "notation-revoke.yaml",
                                "notation-root-ca.yaml", "notation-sign.yaml"]


@pytest.mark.parametrize("name", NOTATION_SCRIPTS)
def test_notation_script_rehearses(name, tmp_path):
    room = tmp_path / "room"
    script_path = script_copy(name, room)
    if name == "notation-revoke.yaml":  # the certificate is brought to the rehearsal too
        cert = some_certificate()
        (room / "revoked.chain.pem").write_bytes(cert)
        fill_digest(script_path, hashlib.sha256(cert).hexdigest())
    script = read_script(script_path)
    folder = tmp_path / "rehearsal"
    r = ceremony("run", str(script_path), "--dry-run", "--yes", "--rehearsal-dir", str(folder))
    assert r.returncode == 0, r.output[-3000:]
    out = r.stdout
    assert f"{script.name}: completed" in out and "Traceback" not in r.output
    for step in (*script.rehearsal.setup, *script.steps):
        assert f"] {step.id}: " in out, step.id
    assert "review words" in out
    if name == "notation-sign.yaml":
        assert out.count("rehearsal: VERIFIED registry.example.com/app:rehearsal-") == 2
    if name == "notation-issue.yaml":
        assert "a stand-in request (one CSR from a throwaway software key)" in out
    if name == "notation-revoke.yaml":
        assert "revoking what it issued instead" in out
    transcript = next((folder / "workspace" / "transcripts").glob("*-run-*.jsonl"))
    v = ceremony("transcript", "verify", str(transcript), "--expect", final_digest(out))
    assert v.returncode == 0, v.output
    entries = [json.loads(line) for line in transcript.read_text().splitlines()]
    assert entries[0]["data"]["dry_run"] is True
    assert entries[-1]["data"]["outcome"] == "completed"
    # nothing real written: every output in the rehearsal folder
    for step in script.steps:
        for rel in step.spec.paths_written(step.params):
            assert not (room / rel).exists(), rel
            assert (folder / "outputs" / rel).exists(), rel
    env = load_env(folder / "softhsm")
    for label in env.labels:
        pin = env.pin(label)
        assert pin not in r.output
        for path in folder.rglob("*"):
            if path.is_file() and "softhsm" not in path.parts:
                assert pin.encode() not in path.read_bytes(), path

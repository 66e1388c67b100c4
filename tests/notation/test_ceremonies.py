"""The CA ceremonies in the session frame, their state in the workspace's notation section:
review with digest words, typed confirmation or --yes, transcript, refusals recorded and
nothing written before the confirmation, request and response bundles, export of the public
files. Real SoftHSM tokens; every offline command in the AIRGAPPED wrapper."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding

from ceremony.transcript import verify_transcript
from tests.conftest import run_cli

ROOT_SUBJECT = "C=US, ST=WA, O=Example, CN=Workspace Notation Root"


def entries(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def transcripts(ws: Path, name: str) -> list[Path]:
    return sorted((ws / "transcripts").glob(f"*{name}*.jsonl"))


@pytest.fixture(scope="module")
def ca(offline, tmp_path_factory):
    """A workspace with root CA 'root' (P-256 key on ca-root) and a token signing key's CSR."""
    folder = tmp_path_factory.mktemp("ws-ca")
    ws = folder / "ws"
    o = offline
    o.ok("key", "generate", "--token", "pkcs11:token=ca-root", "--label", "ws-root",
         "--algorithm", "ecdsa-p256", "--pin-source", o.pin("ca-root"))
    o.ok("key", "generate", "--token", "pkcs11:token=signer", "--label", "ws-sign",
         "--algorithm", "ecdsa-p256", "--pin-source", o.pin("signer"))
    r = o.ok("notation", "ca", "init", "--workspace", str(ws), "--token",
             "pkcs11:token=ca-root", "--label", "ws-root", "--subject", ROOT_SUBJECT, "--yes",
             "--participant", "Alice", "--pin-source", o.pin("ca-root"), "--out",
             str(folder / "root.crt"), "--json")
    o.ok("notation", "csr", "--token", "pkcs11:token=signer", "--label", "ws-sign",
         "--subject", "C=US, ST=WA, O=Example, CN=ws signer", "--out",
         str(folder / "release.csr"), "--pin-source", o.pin("signer"))
    return {"ws": ws, "folder": folder, "init": json.loads(r.stdout)}


def test_init_reviewed_recorded_and_kept_in_workspace(offline, ca):
    r, ws = ca["init"], ca["ws"]
    assert r["ca"] == "root" and r["certificate"]["subject"].startswith("CN=Workspace")
    (path,) = transcripts(ws, "notation-ca-init")
    log = entries(path)
    kinds = [e["kind"] for e in log]
    assert kinds.index("airgap") < kinds.index("review") < kinds.index("confirmation")
    review = next(e for e in log if e["kind"] == "review")["data"]
    assert review["text_sha256"] == r["review_sha256"] and len(review["words"].split()) >= 4
    assert log[-1]["kind"] == "end" and log[-1]["data"]["outcome"] == "completed"
    check = verify_transcript(path)
    assert check.closed and check.final_digest == r["transcript_sha256"]
    cert = x509.load_pem_x509_certificate((ca["folder"] / "root.crt").read_bytes())
    assert cert.subject.rfc4514_string() == r["certificate"]["subject"]
    show = offline.ok("notation", "ca", "show", "--workspace", str(ws), "--json")
    assert json.loads(show.stdout)["label"] == "ws-root"
    # the state is in the workspace's notation section, not in a loose folder
    assert list((ws / "state").glob("gen-*/systems/notation/files/ca/root/ca.json"))


def test_init_refused_without_confirmation_nothing_written(offline, ca, tmp_path):
    ws = ca["ws"]
    before = sorted(p.name for p in (ws / "state").iterdir())
    r = offline.run("notation", "ca", "init", "--workspace", str(ws), "--ca", "second",
                    "--token", "pkcs11:token=ca-root", "--label", "ws-root", "--subject",
                    ROOT_SUBJECT, "--pin-source", offline.pin("ca-root"), "--out",
                    str(tmp_path / "x.crt"), input="no\n")
    assert r.returncode == 1, r.output
    assert r.stderr.strip().splitlines()[-1].startswith("error: not confirmed")
    assert "review sha256" in r.output and "review words" in r.output
    assert not (tmp_path / "x.crt").exists()
    assert sorted(p.name for p in (ws / "state").iterdir()) == before
    log = entries(transcripts(ws, "notation-ca-init")[-1])
    assert log[-1]["data"]["outcome"] == "refused"
    # an existing --out is refused before anything else, naming --force
    (tmp_path / "taken.crt").write_text("keep")
    r = offline.run("notation", "ca", "init", "--workspace", str(ws), "--ca", "third",
                    "--token", "pkcs11:token=ca-root", "--label", "ws-root", "--subject",
                    ROOT_SUBJECT, "--yes", "--pin-source", offline.pin("ca-root"), "--out",
                    str(tmp_path / "taken.crt"))
    assert r.returncode == 1 and "--force" in r.stderr
    assert (tmp_path / "taken.crt").read_text() == "keep"
    # the same name twice is refused
    r = offline.run("notation", "ca", "init", "--workspace", str(ws), "--token",
                    "pkcs11:token=ca-root", "--label", "ws-root", "--subject", ROOT_SUBJECT,
                    "--yes", "--pin-source", offline.pin("ca-root"))
    assert r.returncode == 1 and "already has a notation CA named 'root'" in r.stderr


def test_issue_from_request_bundle_then_revoke(offline, ca, tmp_path):
    ws, folder = ca["ws"], ca["folder"]
    req = tmp_path / "csr.req"
    r = run_cli("notation", "request", "csr", "--csr", str(folder / "release.csr"), "--out",
                str(req))
    assert r.returncode == 0, r.output
    digest = re.search(r"bundle sha256 ([0-9a-f]{64})", r.stdout).group(1)
    resp = tmp_path / "issued.resp"
    r = offline.run("notation", "ca", "issue", "--workspace", str(ws), "--request", str(req),
                    "--out", str(resp), "--pin-source", offline.pin("ca-root"), input="yes\n")
    assert r.returncode == 0, r.output
    # the review: request digest, subject, key fingerprint in hex and words, the chain
    assert f"bundle sha256 {digest}" in r.stdout
    assert "CN=ws signer" in r.stdout and "key words:" in r.stdout
    assert "key sha256:" in r.stdout and "chain:" in r.stdout
    out = run_cli("notation", "unpack", "--response", str(resp), "--out-dir",
                  str(tmp_path / "certs"))
    assert out.returncode == 0, out.output
    chain = x509.load_pem_x509_certificates(
        (tmp_path / "certs" / "release.chain.pem").read_bytes())
    assert len(chain) == 2
    assert chain[1].subject.rfc4514_string().startswith("CN=Workspace Notation Root")
    body = json.loads(resp.read_text())
    assert body["system"] == "notation" and body["kind"] == "response"
    assert body["content"]["request_sha256"] == digest
    serial = f"{chain[0].serial_number:x}"
    # revoke it: a response bundle carrying the CRL
    crl_resp = tmp_path / "crl.resp"
    r = offline.run("notation", "ca", "revoke", "--workspace", str(ws), "--serial", serial,
                    "--out", str(crl_resp), "--yes", "--pin-source", offline.pin("ca-root"),
                    "--json")
    assert r.returncode == 0, r.output
    assert serial in json.loads(r.stdout)["revoked"]
    assert run_cli("notation", "unpack", "--response", str(crl_resp), "--out-dir",
                   str(tmp_path / "crl")).returncode == 0
    crl = x509.load_der_x509_crl((tmp_path / "crl" / "crl.der").read_bytes())
    assert crl.get_revoked_certificate_by_serial_number(chain[0].serial_number) is not None
    # export: the public files for verifiers, the newest CRL among them
    r = offline.ok("notation", "ca", "export", "--workspace", str(ws), "--out-dir",
                   str(tmp_path / "public"))
    assert (tmp_path / "public" / "crl.der").read_bytes() == crl.public_bytes(Encoding.DER)
    # an unknown serial is refused, recorded, nothing written
    r = offline.run("notation", "ca", "revoke", "--workspace", str(ws), "--serial", "abc123",
                    "--out", str(tmp_path / "no.resp"), "--yes", "--pin-source",
                    offline.pin("ca-root"))
    assert r.returncode == 1 and "was not issued by CA 'root'" in r.stderr
    assert not (tmp_path / "no.resp").exists()


def test_hostile_csr_in_request_refused_naming_rule(offline, ca, tmp_path):
    from cryptography.hazmat.primitives.asymmetric import rsa

    from ceremony.notation.bundles import csr_request
    from transfer.systembundle import write_system_bundle
    key = rsa.generate_private_key(65537, 1024)
    csr = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name.from_rfc4514_string("CN=weak,O=Example,ST=WA,C=US")).sign(key, hashes.SHA256())
    req = tmp_path / "weak.req"
    write_system_bundle(req, csr_request([("weak", csr)]))
    r = offline.run("notation", "ca", "issue", "--workspace", str(ca["ws"]), "--request",
                    str(req), "--out", str(tmp_path / "weak.resp"), "--yes", "--pin-source",
                    offline.pin("ca-root"))
    assert r.returncode == 1, r.output
    assert "CSR 'weak'" in r.stderr and "2048, 3072 or 4096" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "weak.resp").exists()
    log = entries(transcripts(ca["ws"], "notation-ca-issue")[-1])
    assert log[-1]["data"]["outcome"] == "refused"


def test_intermediate_on_another_token_issues_and_signs(offline, ca, tmp_path):
    """root (ca-root) -> intermediate generated on ca-inter in the ceremony -> a signing
    certificate for the token key; sign-descriptors finds that chain in the workspace and the
    tool's verify accepts the envelope with only the root pinned."""
    from ceremony.notation.payload import Descriptor
    from ceremony.notation.verify import verify
    ws, folder = ca["ws"], ca["folder"]
    r = offline.run("notation", "ca", "intermediate", "--workspace", str(ws), "--token",
                    "pkcs11:token=ca-inter", "--label", "ws-inter", "--algorithm", "rsa-3072",
                    "--subject", "C=US, ST=WA, O=Example, CN=Workspace Issuing CA", "--yes",
                    "--pin-source", f"ca-root={offline.pin('ca-root')}", "--pin-source",
                    f"ca-inter={offline.pin('ca-inter')}", "--json")
    assert r.returncode == 0, r.output
    assert json.loads(r.stdout)["ca"] == "issuing"
    assert "issuer certificate words:" in r.stderr
    req = tmp_path / "csr.req"
    assert run_cli("notation", "request", "csr", "--csr", str(folder / "release.csr"), "--out",
                   str(req)).returncode == 0
    r = offline.run("notation", "ca", "issue", "--workspace", str(ws), "--ca", "issuing",
                    "--request", str(req), "--out", str(tmp_path / "inter.resp"), "--yes",
                    "--pin-source", offline.pin("ca-inter"))
    assert r.returncode == 0, r.output
    assert run_cli("notation", "unpack", "--response", str(tmp_path / "inter.resp"),
                   "--out-dir", str(tmp_path / "certs")).returncode == 0
    chain = x509.load_pem_x509_certificates(
        (tmp_path / "certs" / "release.chain.pem").read_bytes())
    assert [c.subject.rfc4514_string().split(",")[0] for c in chain] == [
        "CN=ws signer", "CN=Workspace Issuing CA", "CN=Workspace Notation Root"]
    from ceremony.notation.bundles import sign_request
    from transfer.systembundle import write_system_bundle
    desc = Descriptor("application/vnd.oci.image.manifest.v1+json", "sha256:" + "ab" * 32, 512)
    write_system_bundle(tmp_path / "sign.req", sign_request([("localhost:5000/app:1", desc)]))
    r = offline.run("notation", "sign-descriptors", "--workspace", str(ws), "--request",
                    str(tmp_path / "sign.req"), "--out", str(tmp_path / "sign.resp"),
                    "--token", "pkcs11:token=signer", "--label", "ws-sign", "--yes",
                    "--pin-source", offline.pin("signer"))
    assert r.returncode == 0, r.output
    assert "CN=Workspace Issuing CA" in r.stdout  # the chain in the review
    from ceremony.notation import bundles
    from transfer.systembundle import read_system_bundle
    ((entry, envelope),) = bundles.read_signatures(
        read_system_bundle(tmp_path / "sign.resp", "notation", "response").content)
    root = chain[-1]
    result = verify(envelope, [root], expected=desc)
    assert result.signer.startswith("CN=ws signer")
    assert entry["thumbprints"] == [c.fingerprint(hashes.SHA256()).hex() for c in chain]


def test_ctrl_c_at_the_confirmation_is_recorded_interrupted(offline, ca, tmp_path):
    """Ctrl-C at the prompt: transcript closed "interrupted", no CRL response written, the
    CRL number unchanged. (Run with --allow-network, recorded: a signal cannot reach the
    process through the network-namespace wrapper.)"""
    import os
    import signal
    import subprocess
    import sys

    from tests.conftest import ROOT as REPO
    ws = ca["ws"]
    before = json.loads(offline.ok("notation", "ca", "show", "--workspace", str(ws),
                                   "--json").stdout)["crl_number"]
    env = dict(os.environ, **offline.env.env, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-m", "ceremony", "notation", "ca", "crl",
                             "--workspace", str(ws), "--out", str(tmp_path / "crl.resp"),
                             "--pin-source", offline.pin("ca-root"), "--allow-network"],
                            env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    seen = b""
    while b"Type yes" not in seen:
        chunk = proc.stderr.read1(4096)
        assert chunk, seen.decode(errors="replace")
        seen += chunk
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert not (tmp_path / "crl.resp").exists()
    log = entries(transcripts(ws, "notation-ca-crl")[-1])
    assert log[-1]["data"]["outcome"] == "interrupted"
    after = json.loads(offline.ok("notation", "ca", "show", "--workspace", str(ws),
                                  "--json").stdout)["crl_number"]
    assert after == before


def test_hostile_bundles_refused_in_one_line(tmp_path):
    """Unknown fields, a Notary v1 bundle where a notation one is expected, file names that
    would escape the folder or collide: one line each, nothing written."""
    from ceremony.notation import bundles
    from transfer.systembundle import SystemBundle, write_system_bundle
    resp = SystemBundle(system="notation", kind="response", content={
        "type": "issued", "ca": "root", "request_sha256": "", "transcript_sha256": "",
        "certificates": [{"name": "a/../../b", "serial": "1", "chain": "x"}]})
    write_system_bundle(tmp_path / "bad.resp", resp)
    r = run_cli("notation", "unpack", "--response", str(tmp_path / "bad.resp"), "--out-dir",
                str(tmp_path / "out"))
    assert r.returncode == 1 and "no PEM certificate chain" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path / "out").exists()
    extra = SystemBundle(system="notation", kind="request", content={
        "type": "sign", "artifacts": [], "surprise": 1})
    write_system_bundle(tmp_path / "extra.req", extra)
    from ceremony.notation.errors import NotationError
    with pytest.raises(NotationError, match="unknown field 'surprise'"):
        bundles.read_sign_request(bundles.read(tmp_path / "extra.req", "request",
                                               "sign").content)
    r = run_cli("notation", "attach", "--response", str(tmp_path / "extra.req"))
    assert r.returncode == 1 and "expected a notation response bundle" in r.stderr, r.output

"""The four notation runbooks' scripts, executed with `ceremony run` on SoftHSM tokens named as
in the scripts, in a fresh network namespace, one workspace: root CA -> certificates from a
CSR request -> images signed for the REAL docker-registry, which the REAL `notation verify`
accepts -> revocation, after which it refuses them (its CRL fetched from the CRL distribution
point the certificate names, served on 127.0.0.1)."""

from __future__ import annotations

import hashlib
import json
import re
import shutil

from cryptography import x509

from tests.conftest import run_cli
from tests.notation.conftest import CRLServer, Notation, push_image
from tests.runbooks.conftest import Site, fill_digest, final_digest, script_copy

SIGNER = "C=US, ST=WA, O=Example, CN=release"


def bundle_digest(output: str) -> str:
    match = re.search(r"bundle sha256 ([0-9a-f]{64})", output)
    assert match, output
    return match.group(1)


def unpack(response, folder) -> None:
    r = run_cli("notation", "unpack", "--response", str(response), "--out-dir", str(folder),
                "--force")
    assert r.returncode == 0, r.output


def test_notation_runbooks_end_to_end(softhsm_factory, registry, tmp_path):
    site = Site(softhsm_factory("notation-runbooks", ["notation-root", "notation-signer"]),
                tmp_path)
    room = tmp_path / "room"
    published = tmp_path / "published"  # the online machine's CRL distribution point
    crl_server = CRLServer(published)
    try:
        # 08: the root CA (its key generated in the ceremony), its first CRL, public files
        script = script_copy("notation-root-ca.yaml", room)
        r = site.run(script)
        assert r.returncode == 0, r.output
        assert "review words" in r.stdout and final_digest(r.stdout)
        public = room / "notation-public"
        root = x509.load_pem_x509_certificate((public / "root.crt").read_bytes())
        assert root.subject.rfc4514_string().startswith("CN=Example Notation Root CA")
        unpack(room / "to-online" / "notation-root-crl.response", published)

        # 09: a signing key on notation-signer; its CSR packed online; certificates issued
        assert site.cli("key", "generate", "--token", "pkcs11:token=notation-signer",
                        "--label", "release", "--algorithm", "ecdsa-p256", "--pin-source",
                        site.env.pin_source("notation-signer")).returncode == 0
        r = site.cli("notation", "csr", "--token", "pkcs11:token=notation-signer", "--label",
                     "release", "--subject", SIGNER, "--out", str(tmp_path / "release.csr"),
                     "--pin-source", site.env.pin_source("notation-signer"))
        assert r.returncode == 0, r.output
        r = run_cli("notation", "request", "csr", "--csr", str(tmp_path / "release.csr"),
                    "--out", str(room / "csr.request"))
        assert r.returncode == 0, r.output
        script = script_copy("notation-issue.yaml", room)
        fill_digest(script, bundle_digest(r.stdout))
        # the administrator's edit: verifiers here can fetch the CRL (a local server)
        text = script.read_text().replace("    valid-for: 1y\n", "    valid-for: 1y\n"
                                          f"    crl-url: {crl_server.url}/crl.der\n")
        script.write_text(text)
        r = site.run(script)
        assert r.returncode == 0, r.output
        assert "CN=release" in r.stdout and "key words:" in r.stdout
        unpack(room / "to-online" / "certificates.response", tmp_path / "certs")
        chain_file = tmp_path / "certs" / "release.chain.pem"
        assert len(x509.load_pem_x509_certificates(chain_file.read_bytes())) == 2

        # 10: images resolved online, signed by the script, attached from the QR frames
        descs = [push_image(registry, "runbook", tag, f"runbook {tag}".encode())
                 for tag in ("1.0", "1.1")]
        r = run_cli("notation", "resolve", f"{registry}/runbook:1.0", f"{registry}/runbook:1.1",
                    "--out", str(room / "sign.request"))
        assert r.returncode == 0, r.output
        script = script_copy("notation-sign.yaml", room)
        fill_digest(script, bundle_digest(r.stdout))
        r = site.run(script)
        assert r.returncode == 0, r.output
        for d in descs:
            assert d["digest"] in r.stdout
        received = tmp_path / "online" / "signatures.response"
        received.parent.mkdir()
        r = run_cli("transfer", "receive", "--images",
                    str(room / "to-online" / "signatures-frames"), "--out", str(received))
        assert r.returncode == 0, r.output
        r = run_cli("notation", "attach", "--response", str(received))
        assert r.returncode == 0, r.output
        n = Notation(tmp_path / "notation")
        r = run_cli("notation", "trust-store", "--root", str(public / "root.crt"),
                    "--config-dir", str(n.config), "--scope", "*", "--identity", SIGNER)
        assert r.returncode == 0, r.output
        for d in descs:
            r = n.run("verify", f"{registry}/runbook@{d['digest']}", cache="before")
            assert r.returncode == 0, r.output

        # 11: revocation; the new CRL published; notation refuses the signatures now
        shutil.copy(chain_file, room / "revoked.chain.pem")
        script = script_copy("notation-revoke.yaml", room)
        fill_digest(script, hashlib.sha256(chain_file.read_bytes()).hexdigest())
        r = site.run(script)
        assert r.returncode == 0, r.output
        leaf = x509.load_pem_x509_certificates(chain_file.read_bytes())[0]
        assert f"{leaf.serial_number:x}" in r.stdout
        unpack(room / "to-online" / "revocation.response", published)
        for d in descs:
            r = n.run("verify", "-d", f"{registry}/runbook@{d['digest']}", cache="after")
            assert r.returncode != 0
            # notation's reason is in its debug log (-d); its one-line error is generic
            assert 'with subject "CN=release,O=Example,ST=WA,C=US" is revoked' in r.output, \
                r.output
        crl = x509.load_der_x509_crl(
            (room / "notation-public-after-revocation" / "crl.der").read_bytes())
        assert crl.get_revoked_certificate_by_serial_number(leaf.serial_number) is not None
        # every step recorded in one transcript per run; no PIN anywhere
        runs = sorted((site.workspace / "transcripts").glob("*-run-*.jsonl"))
        assert len(runs) == 4
        for path in runs:
            kinds = [json.loads(line)["kind"] for line in path.read_text().splitlines()]
            assert kinds[-1] == "end" and "review" in kinds and "confirmation" in kinds
        for secret in site.secrets():
            for path in [*room.rglob("*"), *site.workspace.rglob("*")]:
                if path.is_file():
                    assert secret.encode() not in path.read_bytes(), path
    finally:
        crl_server.close()

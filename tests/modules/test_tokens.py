"""Tokens, keys, custody, refusals, signing and root certificates on every module (`case`)."""

from __future__ import annotations

import json
import os

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding

from ceremony.notary.format.keys import key_from_certificate
from hsm.tokensigner import verify_signature
from tests.modules.conftest import CUSTODY_EXTRAS, Case, error_line, unique

# One worker runs every module test (openCryptoki is system-wide; see conftest).
pytestmark = pytest.mark.xdist_group("pkcs11-modules")



def test_token_list_and_keys_through_the_cli(case: Case) -> None:
    r = case.cli("token", "list", "--json")
    assert r.returncode == 0, r.output
    modules = json.loads(r.stdout)["modules"]
    assert [m["path"] for m in modules] == [case.module]
    labels = {s["token"]["label"] for s in modules[0]["slots"] if s["token"]}
    assert {case.root, case.targets} <= labels
    label = unique("listed")
    with case.pool() as pool:
        made = pool.open(f"pkcs11:token={case.root}").generate_key(label, case.supported[0])
    r = case.cli("token", "keys", f"pkcs11:token={case.root}", "--pin-source",
                 case.env.pin_source(case.root), "--json")
    assert r.returncode == 0, r.output
    keys = {k["label"]: k for k in json.loads(r.stdout)["keys"]}
    assert keys[label]["id"] == made.id.hex()
    assert keys[label]["algorithm"] == case.supported[0]
    assert keys[label]["custody"]["problems"] == CUSTODY_EXTRAS[case.name]


def test_the_token_reports_what_it_can_do(case: Case) -> None:
    with case.pool() as pool:
        assert pool.open(f"pkcs11:token={case.root}").algorithms() == case.supported


def test_every_supported_algorithm_generates_signs_and_proves_custody(case: Case) -> None:
    with case.pool() as pool:
        token = pool.open(f"pkcs11:token={case.root}")
        for algorithm in case.supported:
            label = unique(algorithm)
            info = token.generate_key(label, algorithm)
            assert info.algorithm == algorithm and info.has_private and info.has_public
            custody = info.custody
            assert custody is not None
            # born on the token, never readable outside it: what every module must give
            assert (custody.local, custody.never_extractable, custody.always_sensitive,
                    custody.sensitive, custody.extractable) == (True, True, True, True, False)
            # what a module adds beyond signing is reported, not hidden
            assert custody.problems == CUSTODY_EXTRAS[case.name], (algorithm, custody)
            assert custody.ok == (not CUSTODY_EXTRAS[case.name])
            signer = token.signer(label)
            message = b"canonical signed bytes " + os.urandom(8)
            signature = signer.sign(message)
            assert verify_signature(signer.public_key, signer.method, message, signature)
            assert not verify_signature(signer.public_key, signer.method, message + b"x",
                                        signature)


def test_missing_algorithms_are_refused_before_the_pin_is_read(case: Case) -> None:
    # SoftHSM offers all of them (nothing to refuse there); the others lack some.
    assert bool(case.unsupported) == (case.name != "softhsm")
    for algorithm in case.unsupported:
        # The PIN source names a variable that is not set: the refusal must come first.
        r = case.cli("key", "generate", "--token", f"pkcs11:token={case.root}", "--label",
                     unique("refused"), "--algorithm", algorithm, "--pin-source",
                     "env:NO_SUCH_PIN_VARIABLE")
        line = error_line(r)
        assert f"cannot make {algorithm} keys" in line and "CKM_" in line, line
        assert os.path.basename(case.module) in line, line
        assert "NO_SUCH_PIN_VARIABLE" not in line


def test_root_certificate_is_signed_by_the_token(case: Case, tmp_path) -> None:
    """Issued and stored by `key cert --store-on-token` in a process of its own, as a user
    runs it (in one process where openCryptoki's library was loaded first, tpm2-pkcs11's
    C_CreateObject fails: both export `object_create`; see docs/hsm.md)."""
    gun = "example.com/modules"
    label = unique("root")
    with case.pool() as pool:
        info = pool.open(f"pkcs11:token={case.root}").generate_key(label, case.root_algorithm)
    out = tmp_path / "root.crt"
    r = case.cli("key", "cert", "--token", f"pkcs11:token={case.root}", "--label", label,
                 "--gun", gun, "--out", str(out), "--store-on-token",
                 "--pin-source", case.env.pin_source(case.root))
    assert r.returncode == 0, r.output
    cert = x509.load_pem_x509_certificate(out.read_bytes())
    assert cert.public_key() == info.public_key
    assert cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == gun
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    public = cert.public_key()
    if isinstance(public, ec.EllipticCurvePublicKey):
        public.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(hashes.SHA256()))
    else:
        public.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(),
                      hashes.SHA256())
    r = case.cli("token", "keys", f"pkcs11:token={case.root}", "--json",
                 "--pin-source", case.env.pin_source(case.root))
    assert r.returncode == 0, r.output
    (stored,) = [k for k in json.loads(r.stdout)["keys"] if k["label"] == label]
    assert stored["certificate"] is not None and stored["certificate"]["subject_cn"] == gun
    assert stored["certificate"]["cert_key_id"] == key_from_certificate(cert).key_id


def test_module_found_by_path_and_by_module_path_in_the_uri(case: Case) -> None:
    unset = {"CEREMONY_PKCS11_MODULE": ""}
    r = case.cli("token", "list", "--module", case.module, "--json", env=unset)
    assert r.returncode == 0, r.output
    assert json.loads(r.stdout)["modules"][0]["path"] == case.module
    uri = f"pkcs11:token={case.targets}?module-path={case.module}"
    r = case.cli("token", "keys", uri, "--pin-source", case.env.pin_source(case.targets),
                 "--json", env=unset)
    assert r.returncode == 0, r.output
    assert json.loads(r.stdout)["token"]["module"] == case.module


def test_key_generate_through_the_cli_reports_the_token_s_custody_answers(case: Case) -> None:
    label = unique("cli")
    r = case.cli("key", "generate", "--token", f"pkcs11:token={case.targets}", "--label", label,
                 "--algorithm", case.supported[-1], "--pin-source",
                 case.env.pin_source(case.targets), "--json")
    assert r.returncode == 0, r.output
    data = json.loads(r.stdout)
    key = data["key"]
    assert key["label"] == label and key["algorithm"] == case.supported[-1]
    custody = key["custody"]
    assert custody["local"] and custody["never_extractable"] and custody["always_sensitive"]
    assert custody["problems"] == CUSTODY_EXTRAS[case.name]
    assert case.env.pin(case.targets) not in r.output

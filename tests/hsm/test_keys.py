"""Key generation on SoftHSM: attributes, custody evidence, listing, refusals.

Checked twice: by what hsm/ reads back, and independently by OpenSC's pkcs11-tool."""

from __future__ import annotations

import subprocess

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from ceremony.notary.format.keys import key_from_public_key
from hsm.errors import AlgorithmError, HSMError, KeyExistsError, KeyNotFoundError
from hsm.pubkey import public_key_der
from hsm.session import TokenPool
from tests.hsm.conftest import ALL_ALGORITHMS, pkcs11_tool_objects


@pytest.mark.parametrize("algorithm", ALL_ALGORITHMS)
def test_custody_evidence(keyring, algorithm):
    _, _, keys = keyring
    info = keys[algorithm]
    c = info.custody
    assert c is not None and c.ok, c
    assert (c.local, c.never_extractable, c.always_sensitive, c.sensitive) == (True,) * 4
    assert (c.extractable, c.decrypt, c.unwrap, c.derive) == (False,) * 4
    assert c.sign and c.token and c.private
    assert info.algorithm == algorithm and info.has_private and info.has_public
    assert len(info.id) == 16
    expected_type = {"ecdsa-p256": ec.EllipticCurvePublicKey,
                     "ecdsa-p384": ec.EllipticCurvePublicKey,
                     "rsa-3072": rsa.RSAPublicKey, "rsa-4096": rsa.RSAPublicKey,
                     "ed25519": ed25519.Ed25519PublicKey}[algorithm]
    assert isinstance(info.public_key, expected_type)
    if algorithm.startswith("rsa"):
        assert info.public_key.key_size == int(algorithm[4:])
        assert info.public_key.public_numbers().e == 65537


def test_pkcs11_tool_sees_the_keys(keyring, softhsm_env):
    _, _, keys = keyring
    objects = pkcs11_tool_objects(softhsm_env, "root-a")
    for algorithm, info in keys.items():
        mine = [o for o in objects if o.get("label") == f"k-{algorithm}"]
        private = [o for o in mine if o["kind"] == "Private Key Object"]
        public = [o for o in mine if o["kind"] == "Public Key Object"]
        assert len(private) == 1 and len(public) == 1, mine
        assert private[0]["ID"] == public[0]["ID"] == info.id.hex()
        access = [a.strip() for a in private[0]["Access"].split(",")]
        assert set(access) >= {"sensitive", "always sensitive", "never extractable", "local"}
        assert "extractable" not in access  # only "never extractable"
        assert private[0]["Usage"] == "sign"
        assert public[0]["Usage"] == "verify"
        kind = {"ecdsa": "EC", "rsa-": "RSA", "ed255": "EC_EDWARDS"}
        assert private[0]["detail"].startswith(next(v for k, v in kind.items()
                                                    if algorithm.startswith(k)))


@pytest.mark.parametrize("algorithm", ["ecdsa-p256", "rsa-3072", "ed25519"])
def test_exported_public_key_matches_pkcs11_tool(keyring, softhsm_env, tmp_path, algorithm):
    _, token, keys = keyring
    out = tmp_path / "pub.der"
    subprocess.run(["pkcs11-tool", "--module", softhsm_env.module, "--token-label", "root-a",
                    "--read-object", "--type", "pubkey", "--label", f"k-{algorithm}",
                    "--output-file", str(out)],
                   env={**softhsm_env.env}, capture_output=True, check=True, timeout=60)
    data = out.read_bytes()
    theirs = (serialization.load_pem_public_key(data) if data.startswith(b"-----")
              else serialization.load_der_public_key(data))
    assert public_key_der(theirs) == public_key_der(token.public_key(f"k-{algorithm}").public_key)


def test_keys_listing(keyring):
    _, token, keys = keyring
    listed = {k.label: k for k in token.keys()}
    for algorithm, info in keys.items():
        got = listed[f"k-{algorithm}"]
        assert got.id == info.id and got.algorithm == algorithm
        assert got.custody == info.custody
        assert key_from_public_key(got.public_key) == key_from_public_key(info.public_key)
        data = got.to_json()
        # hsm/ reports the key without Notary's formats; its PEM is the same Notary key.
        assert not {"keytype", "key_id"} & data.keys()
        pem_key = serialization.load_pem_public_key(data["public_key_pem"].encode())
        assert key_from_public_key(pem_key).key_id == key_from_public_key(info.public_key).key_id
        assert data["custody"]["ok"] is True
        assert data["uri"].startswith("pkcs11:token=root-a;")


def test_duplicate_label_and_id_are_refused(keyring):
    _, token, keys = keyring
    before = len(token.keys())
    with pytest.raises(KeyExistsError, match="already has a key labelled 'k-ecdsa-p256'"):
        token.generate_key("k-ecdsa-p256", "ed25519")
    with pytest.raises(KeyExistsError, match="already has an object with id"):
        token.generate_key("fresh-label", "ecdsa-p256", key_id=keys["ed25519"].id)
    assert len(token.keys()) == before


def test_unsupported_algorithm(keyring):
    _, token, _ = keyring
    with pytest.raises(AlgorithmError, match="unsupported algorithm 'dsa-2048'"):
        token.generate_key("x", "dsa-2048")


def test_bad_labels_are_refused(keyring):
    _, token, _ = keyring
    for label in ("", " padded", "line\nbreak"):
        with pytest.raises(HSMError, match="key label"):
            token.generate_key(label)


def test_missing_key_lists_present_ones(keyring):
    _, token, _ = keyring
    with pytest.raises(KeyNotFoundError) as exc:
        token.signer("nope")
    assert "has no private key with label 'nope'" in str(exc.value)
    assert "'k-ed25519'" in str(exc.value)


def test_uri_object_selects_the_key(softhsm_env, keyring):
    _, _, keys = keyring
    with TokenPool(pin_source=softhsm_env.pin_source("root-a")) as pool:
        tok = pool.open("pkcs11:token=root-a;object=k-ecdsa-p384")
        assert tok.signer().algorithm == "ecdsa-p384"
        by_id = pool.open("pkcs11:token=root-a;id=" + "".join(
            f"%{b:02x}" for b in keys["ed25519"].id))
        assert by_id.signer().label == "k-ed25519"
        with pytest.raises(KeyNotFoundError, match="disagree"):
            tok.signer("k-ed25519")


def test_public_export_needs_no_login(softhsm_env):
    with TokenPool(pin_source=softhsm_env.pin_source("root-b")) as pool:
        made = pool.open("root-b").generate_key("export-me", "ecdsa-p256")
    # That pool logged out. This one's PIN source is unusable: a login attempt would fail.
    with TokenPool(pin_source="env:NO_SUCH_PIN_VARIABLE") as pool:
        info = pool.open("root-b").public_key("export-me")
        assert info.public_key == made.public_key and pool.logins == 0
        assert info.custody is None  # private objects are invisible without login


def test_pin_source_precedence(softhsm_env, monkeypatch):
    """open(pin_source=) beats the pool default, which beats the URI's pin-source."""
    monkeypatch.setenv("GOOD_SPARE_PIN", softhsm_env.pin("spare"))
    uri = "pkcs11:token=spare?pin-source=env:NO_SUCH_PIN_VARIABLE"
    with TokenPool(pin_source="env:GOOD_SPARE_PIN") as pool:
        pool.open(uri).login()
        assert pool.logins == 1
    with TokenPool() as pool:
        pool.open(uri, pin_source="env:GOOD_SPARE_PIN").login()
        assert pool.logins == 1
    with TokenPool() as pool, pytest.raises(HSMError, match="NO_SUCH_PIN_VARIABLE"):
        pool.open(uri).login()
    with TokenPool(pin_source="env:GOOD_SPARE_PIN") as pool, \
            pytest.raises(KeyNotFoundError, match="type=secret-key"):
        pool.open("pkcs11:token=spare;type=secret-key").signer("x")

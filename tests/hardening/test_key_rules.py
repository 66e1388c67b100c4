"""Keys that can never work, and PINs that must never reach a token (issue 12).

Keys: Notary's verifiers (notaryproject/notary tuf/signed/verifiers.go) read ECDSA keys with
Go's x509 package (NIST P-224/256/384/521 only) and refuse RSA under 2048 bits; a signer or
delegation key outside those rules could never sign anything a client accepts, so it is refused
where it enters, with the rule named, before any token or transcript.

PINs: a PIN file is read by the bounded reader (a 1.2 GB sparse file, a FIFO, a device are
refused unread), and a PIN whose length is outside the token's ulMinPinLen..ulMaxPinLen is
refused BEFORE C_Login: the token's flags show no failed login afterwards.
"""

from __future__ import annotations

import json
import os

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.conftest import AIRGAPPED
from tests.hardening.bounded import Watch, assert_refused, fifo, run_measured, sparse
from tests.hardening.catalogue import GUN


def pem(key) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


REFUSED = {
    "secp256k1": (lambda: ec.generate_private_key(ec.SECP256K1()), "curve secp256k1"),
    "brainpoolP256r1": (lambda: ec.generate_private_key(ec.BrainpoolP256R1()),
                        "curve brainpoolP256r1"),
    "rsa-1024": (lambda: rsa.generate_private_key(65537, 1024), "RSA-1024"),
    "rsa-2047": (lambda: rsa.generate_private_key(65537, 2047), "minRSAKeySizeBit"),
}
ACCEPTED = {
    "p256": lambda: ec.generate_private_key(ec.SECP256R1()),
    "p384": lambda: ec.generate_private_key(ec.SECP384R1()),
    "rsa-2048": lambda: rsa.generate_private_key(65537, 2048),
}


@pytest.fixture(scope="module")
def request_bytes(tmp_path_factory, softhsm_factory) -> bytes:
    from tests.hardening.catalogue import make_inputs
    hsm = softhsm_factory("key-rules", ["root-a"])
    return make_inputs(tmp_path_factory.mktemp("inputs"), hsm.env, hsm.root,
                       hsm.pin_source("root-a")).request


def key_ceremony(work, request_bytes, command: list[str], key_pem: bytes) -> list[str]:
    from ceremony.workspace import Workspace
    Workspace.open(work / "ws", create=True)
    (work / "request.bundle").write_bytes(request_bytes)
    (work / "key.pem").write_bytes(key_pem)
    return [*command, "--key", str(work / "key.pem"), "--targets-token", "targets",
            "--request", str(work / "request.bundle"), "--out", str(work / "out.bundle"),
            "--workspace", str(work / "ws"), "--yes"]


COMMANDS = {"signer add": ["signer", "add", GUN, "alice"],
            "delegation add": ["delegation", "add", GUN, "targets/qa", "--all-paths"]}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("key", REFUSED)
def test_keys_notary_can_never_verify_are_refused(key, command, request_bytes, tmp_path):
    make, rule = REFUSED[key]
    args = key_ceremony(tmp_path, request_bytes, COMMANDS[command], pem(make()))
    assert_refused(args, rule, "never verify", watch=Watch([tmp_path]), wrapper=AIRGAPPED)


@pytest.mark.parametrize("key", ACCEPTED)
def test_keys_notary_verifies_pass_the_rule(key, request_bytes, tmp_path):
    """Control: these keys get past the key rule (the ceremony then stops later, at the token
    that is not in this environment -- anything but the rule)."""
    args = key_ceremony(tmp_path, request_bytes, COMMANDS["signer add"], pem(ACCEPTED[key]()))
    r = run_measured(args, wrapper=AIRGAPPED)
    assert "never verify" not in r.stderr and "internal error" not in r.stderr, r.stderr


# --- PINs -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def pin_token(softhsm_factory):
    return softhsm_factory("pin-rules", ["pins"])


def token_flags(hsm) -> list[str]:
    r = run_measured(["token", "list", "--json"], env=hsm.env)
    found = json.loads(r.stdout)
    text = json.dumps(found)
    assert "pins" in text
    return sorted(f for f in ("count-low", "COUNT_LOW", "final-try", "locked") if f in text)


@pytest.mark.parametrize("case", ["sparse-1.2GB", "fifo", "device", "too-long", "too-short"])
def test_pin_sources_refused_before_login(case, pin_token, tmp_path):
    hsm = pin_token
    path = tmp_path / "pin"
    if case == "sparse-1.2GB":
        sparse(path, 1_200_000_000)
    elif case == "fifo":
        fifo(path)
    elif case == "device":
        path = "/dev/zero"
    else:
        path.write_text(("7" * 300 if case == "too-long" else "123") + "\n")
        os.chmod(path, 0o600)
    needle = {"sparse-1.2GB": "larger than the limit", "fifo": "FIFO",
              "device": "character device", "too-long": "no login was tried",
              "too-short": "no login was tried"}[case]
    before = token_flags(hsm)
    assert_refused(["token", "keys", "pins", "--pin-source", f"file:{path}"], needle,
                   watch=Watch([tmp_path], [(hsm, "pins")]), env=hsm.env)
    assert token_flags(hsm) == before  # no failed login counted (SoftHSM: COUNT_LOW)


def test_control_a_wrong_pin_of_a_valid_length_is_counted(softhsm_factory, tmp_path):
    """The flag check above can fail: a PIN that does reach C_Login (wrong, right length) is
    counted by SoftHSM and shows in the flags."""
    hsm = softhsm_factory("pin-control", ["pins"])
    path = tmp_path / "pin"
    path.write_text("99999999\n")
    os.chmod(path, 0o600)
    assert token_flags(hsm) == []
    assert_refused(["token", "keys", "pins", "--pin-source", f"file:{path}"],
                   "CKR_PIN_INCORRECT", env=hsm.env)
    assert token_flags(hsm) == ["count-low"]


@pytest.mark.parametrize("key", ["secp256k1", "rsa-1024"])
def test_root_certificates_notary_can_never_verify(key, tmp_path):
    """`rotate root --add-cert`'s reader (called directly: a CLI case needs a repository this
    workspace trusts) refuses a root certificate whose key breaks a verifier rule."""
    from cryptography.hazmat.primitives.serialization import Encoding

    from ceremony.ceremonies.errors import CeremonyRefused
    from ceremony.notary.ceremonies.rootkeys import read_root_certificate
    from tests.metadata.factory import notary_certificate
    make, rule = REFUSED[key]
    path = tmp_path / "root.crt"
    path.write_bytes(notary_certificate(make(), GUN).public_bytes(Encoding.PEM))
    with pytest.raises(CeremonyRefused) as err:
        read_root_certificate(str(path), [GUN])
    assert rule in str(err.value) or "2048" in str(err.value), str(err.value)

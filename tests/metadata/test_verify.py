"""Verification rules, one by one, on repositories built and signed in software (factory.py)."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import tempfile
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from ceremony.errors import (
    DelegationError,
    ExpiredError,
    MixAndMatchError,
    RollbackError,
    RootCertificateError,
    RootChainError,
    SignatureThresholdError,
    SigningError,
    TrustPinningError,
)
from ceremony.notary.format import (
    Instant,
    Key,
    Role,
    Signature,
    Snapshot,
    Targets,
    Timestamp,
    key_from_certificate,
    key_from_public_key,
    read_metadata,
    sign_metadata,
    verify_repository,
    write_metadata,
)
from ceremony.notary.format.certs import check_root_key
from ceremony.notary.format.repository_check import parse_at
from ceremony.notary.format.verify import signature_problem
from tests.metadata.factory import YEAR, SoftRepo, ec_key, meta_of, notary_certificate
from tests.metadata.software_signer import SoftwareSigner


def verify(repo: SoftRepo, **kwargs):
    return verify_repository(repo.repository(), repo.gun, **kwargs)


def errors(report) -> list[tuple[type, str]]:
    return [(type(e), str(e)) for e in report.errors]


def only_error(report, kind: type) -> str:
    assert [type(e) for e in report.errors] == [kind], errors(report)
    return str(report.errors[0])


# --- signatures -----------------------------------------------------------------------------------

MESSAGE = b'{"_type":"Targets"}'


@pytest.mark.parametrize(("private", "method"), [
    (ec.generate_private_key(ec.SECP256R1()), "ecdsa"),
    (ec.generate_private_key(ec.SECP384R1()), "ecdsa"),
    (ec.generate_private_key(ec.SECP521R1()), "ecdsa"),
    (rsa.generate_private_key(65537, 2048), "rsapss"),
    (rsa.generate_private_key(65537, 3072), "rsapkcs1v15"),
    (ed25519.Ed25519PrivateKey.generate(), "eddsa")])
def test_each_method_verifies_and_detects_a_flipped_bit(private, method):
    key = key_from_public_key(private.public_key())
    signature = SoftwareSigner(private, method).sign(MESSAGE)
    assert signature_problem(key, method, signature, MESSAGE) is None
    assert "does not verify" in signature_problem(key, method, signature, MESSAGE + b" ")
    flipped = bytes([signature[0] ^ 0x80]) + signature[1:]
    assert signature_problem(key, method, flipped, MESSAGE) is not None


def test_ecdsa_is_raw_r_s_not_der():
    private = ec.generate_private_key(ec.SECP256R1())
    key = key_from_public_key(private.public_key())
    der = private.sign(MESSAGE, ec.ECDSA(hashes.SHA256()))
    assert signature_problem(key, "ecdsa", der, MESSAGE) == (
        f"ecdsa signature is {len(der)} bytes; Notary expects raw r||s of 64 bytes")


def test_rsa_rules():
    small = rsa.generate_private_key(65537, 1024)
    key = key_from_public_key(small.public_key())
    sig = SoftwareSigner(small).sign(MESSAGE)
    assert signature_problem(key, "rsapss", sig, MESSAGE) == \
        "RSA key has 1024 bits; Notary requires 2048"
    private = rsa.generate_private_key(65537, 2048)
    key = key_from_public_key(private.public_key())
    other_salt = private.sign(MESSAGE, padding.PSS(padding.MGF1(hashes.SHA256()), 64),
                              hashes.SHA256())
    assert "does not verify" in signature_problem(key, "rsapss", other_salt, MESSAGE)
    pkcs1 = SoftwareSigner(private, "rsapkcs1v15").sign(MESSAGE)
    assert "does not verify" in signature_problem(key, "rsapss", pkcs1, MESSAGE)


def test_method_must_suit_the_key():
    ed = ed25519.Ed25519PrivateKey.generate()
    key = key_from_public_key(ed.public_key())
    assert signature_problem(key, "ecdsa", ed.sign(MESSAGE), MESSAGE) == \
        "method ecdsa cannot be used with a ed25519 key"
    assert signature_problem(key, "pycrypto-pkcs#1 pss", b"", MESSAGE) == \
        "signature method 'pycrypto-pkcs#1 pss' is not supported"


# --- thresholds -----------------------------------------------------------------------------------

def test_a_clean_repository_verifies():
    repo = SoftRepo.create()
    repo.add_delegation("targets/releases")
    repo.add_target("targets/releases", "app.tar")
    repo.add_target("targets", "top")
    repo.refresh()
    report = verify(repo, root_cert_ids=repo.root_cert_ids())
    assert report.ok, errors(report)
    assert report.warnings == []
    assert report.targets_count == 2
    assert [r.name for r in report.roles] == ["root", "timestamp", "snapshot", "targets",
                                              "targets/releases"]
    json.dumps(report.to_dict())


def test_a_duplicated_signature_counts_once():
    repo = SoftRepo.create(root_count=2, root_threshold=2)
    root = read_metadata(repo.files["root"], "root.json").metadata
    first = root.signatures[0]
    root.signatures = [first, Signature(first.keyid, first.method, first.sig)]
    repo.files["root"] = repo.root_history[1] = write_metadata(root)
    message = only_error(verify(repo), SignatureThresholdError)
    assert "1 of threshold 2 valid signatures from distinct root keys" in message
    assert f"signature by {first.keyid}: duplicate signature, counted once" in message


def test_two_key_ids_for_one_public_key_count_once():
    repo = SoftRepo.create()
    second = ec_key()
    as_cert = key_from_certificate(notary_certificate(second, "t"))
    as_plain = key_from_public_key(second.public_key())
    targets = repo.targets
    for key in (as_cert, as_plain):
        targets.delegations.keys[key.key_id] = key
    from ceremony.notary.format import DelegatedRole
    targets.delegations.roles.append(DelegatedRole("targets/two", [as_cert.key_id,
                                                                   as_plain.key_id], 2, [""]))
    targets.version += 1
    repo.sign_targets()
    repo.delegation_keys["targets/two"] = [second]
    repo.delegated["targets/two"] = Targets(1, repo.now + YEAR)
    repo.sign_delegation("targets/two")  # one private key, two signatures
    repo.refresh()
    report = verify(repo)
    message = only_error(report, SignatureThresholdError)
    assert message.startswith("targets/two.json: 1 of threshold 2 valid signatures")
    assert "same public key as" in message
    assert any("needs 2 signatures but lists 1 distinct key(s)" in w for w in report.warnings)


def test_a_key_listed_under_a_wrong_id_is_ignored_and_reported():
    repo = SoftRepo.create()
    root = repo.root
    real = root.roles["timestamp"].keyids[0]
    real_key = root.keys[real]
    other = key_from_public_key(ed25519.Ed25519PrivateKey.generate().public_key())
    root.keys[real] = other  # the ID no longer hashes to its key
    root.version += 1
    repo.sign_root()
    root.keys[real] = real_key  # sign the timestamp with the real key, under its real ID
    repo.refresh()
    root.keys[real] = other
    report = verify(repo)
    message = only_error(report, SignatureThresholdError)
    assert message.startswith("timestamp.json: 0 of threshold 1")
    assert f"the key listed under this ID really has ID {other.key_id}" in message


def test_signatures_by_strangers_are_ignored_and_reported():
    repo = SoftRepo.create()
    data = sign_metadata(read_metadata(repo.files["timestamp"], "t").signed,
                         [SoftwareSigner(repo.timestamp_key)],
                         keys=repo.root.role_keys("timestamp"),
                         existing=[Signature("ab" * 32, "ecdsa", b"\x01" * 64)])
    repo.files["timestamp"] = data
    report = verify(repo)
    assert report.ok, errors(report)
    sigs = {s.key_id: s for s in report.role("timestamp").signatures}
    assert sigs["ab" * 32].status == "ignored"
    assert sigs["ab" * 32].detail == "not a key of timestamp"


# --- root certificates ----------------------------------------------------------------------------

def root_with_certificate(make, *, gun: str = "example.com/factory"):
    """A repository whose root key certificate is made by `make(private_key)`."""
    repo = SoftRepo.create(gun=gun)
    private = ec_key()
    old = repo.root.role_keys("root")
    key = key_from_certificate(make(private))
    for keyid in old:
        del repo.root.keys[keyid]
    repo.root.keys[key.key_id] = key
    repo.root.roles["root"] = Role([key.key_id], 1)
    repo.root_keys = [private]
    repo.root_history.clear()
    repo.sign_root()
    repo.refresh()
    return repo, key


def test_root_certificate_cn_must_be_the_gun():
    repo, key = root_with_certificate(lambda k: notary_certificate(k, "someone.else/app"))
    message = only_error(verify(repo), SignatureThresholdError)
    assert f"certificate CN 'someone.else/app' does not match the GUN '{repo.gun}'" in message
    repo, _ = root_with_certificate(lambda k: notary_certificate(k, "example.com/*"))
    assert verify(repo).ok


def test_root_certificate_must_not_be_a_ca():
    repo, _ = root_with_certificate(lambda k: notary_certificate(k, "example.com/factory",
                                                                 ca=True))
    assert "first certificate is a CA (CA:TRUE)" in only_error(verify(repo),
                                                               SignatureThresholdError)


def test_root_certificate_validity():
    now = dt.datetime.now(dt.UTC)
    repo, key = root_with_certificate(lambda k: notary_certificate(
        k, "example.com/factory", not_before=now - dt.timedelta(days=30), days=10))
    message = only_error(verify(repo), RootCertificateError)
    assert message.startswith("root.json: root version 1 cannot be trusted: root key ")
    assert "certificate expired on" in message
    repo, _ = root_with_certificate(lambda k: notary_certificate(
        k, "example.com/factory", not_before=now + dt.timedelta(hours=20)))
    assert verify(repo).ok  # one day of leeway
    repo, _ = root_with_certificate(lambda k: notary_certificate(
        k, "example.com/factory", not_before=now + dt.timedelta(days=2)))
    assert "is not valid before" in only_error(verify(repo), RootCertificateError)
    repo, key = root_with_certificate(lambda k: notary_certificate(
        k, "example.com/factory", days=100))
    report = verify(repo, root_cert_ids=[key.key_id])
    assert report.ok
    assert any("expires on" in w and "within 6 months" in w for w in report.warnings)


def openssl_sha1_certificate(private, common_name: str) -> x509.Certificate:
    """cryptography refuses to sign with SHA-1; the openssl CLI still does (like old tools)."""
    with tempfile.TemporaryDirectory() as folder:
        key_path = Path(folder) / "key.pem"
        key_path.write_bytes(private.private_bytes(serialization.Encoding.PEM,
                                                   serialization.PrivateFormat.PKCS8,
                                                   serialization.NoEncryption()))
        subject = "/CN=" + common_name.replace("/", "\\/")
        pem = subprocess.run(["openssl", "req", "-x509", "-new", "-key", str(key_path), "-sha1",
                              "-subj", subject, "-days", "30", "-addext",
                              "basicConstraints=critical,CA:FALSE"],
                             capture_output=True, check=True).stdout
    return x509.load_pem_x509_certificate(pem)


def test_root_certificate_algorithms():
    repo, _ = root_with_certificate(lambda k: openssl_sha1_certificate(k, "example.com/factory"))
    assert repo.root.keys[repo.root_cert_ids()[0]].certificates[0].signature_hash_algorithm.name \
        == "sha1"
    assert "certificate is signed with SHA-1, which Notary refuses" in only_error(
        verify(repo), SignatureThresholdError)
    small = rsa.generate_private_key(65537, 1024)
    key = key_from_certificate(notary_certificate(small, repo.gun))
    verdict = check_root_key(key.key_id, key, repo.gun, dt.datetime.now(dt.UTC))
    assert "certificate holds a 1024-bit RSA key; Notary requires 2048 bits" in verdict.problems
    mislabelled = Key("rsa-x509", key_from_certificate(notary_certificate(ec_key(), repo.gun))
                      .public)
    verdict = check_root_key(mislabelled.key_id, mislabelled, repo.gun, dt.datetime.now(dt.UTC))
    assert verdict.problems == ["a rsa-x509 key holds an ECDSA key"]


def test_plain_root_keys_are_refused():
    repo = SoftRepo.create()
    private = ec_key()
    key = key_from_public_key(private.public_key())
    repo.root.keys = {k: v for k, v in repo.root.keys.items()
                      if k not in repo.root.roles["root"].keyids} | {key.key_id: key}
    repo.root.roles["root"] = Role([key.key_id], 1)
    repo.root_keys = [private]
    repo.root_history.clear()
    repo.sign_root()
    repo.refresh()
    assert "is a plain ecdsa key; Notary root keys must be certificates" in only_error(
        verify(repo), SignatureThresholdError)


# --- root chain -----------------------------------------------------------------------------------

def test_root_rotation_needs_old_and_new_signatures():
    repo = SoftRepo.create()
    first_ids = repo.root_cert_ids()
    repo.rotate_root()
    repo.refresh()
    report = verify(repo, root_cert_ids=first_ids)
    assert report.ok, errors(report)
    assert [r.version for r in report.root_chain] == [1, 2]
    assert any("rejects the current root" in w for w in report.warnings)

    repo = SoftRepo.create()
    repo.rotate_root(sign_with_old=False)
    repo.refresh()
    message = only_error(verify(repo), RootChainError)
    assert message.startswith("root.json: root version 2 is not signed by the threshold of "
                              "the root keys of version 1: 0 of threshold 1")

    repo = SoftRepo.create()
    repo.rotate_root(sign_with_new=False)
    repo.refresh()
    assert "root version 2 is not signed by its own root keys" in only_error(
        verify(repo), SignatureThresholdError)


def test_threshold_two_rotation_needs_two_old_signatures():
    repo = SoftRepo.create(root_count=2, root_threshold=2)
    old = repo.root_keys
    repo.rotate_root(sign_with_old=False)
    repo.sign_root(signers=[*repo.root_keys, old[0]],
                   extra_keys={key.key_id: key for key in
                               (key_from_certificate(notary_certificate(k, repo.gun))
                                for k in old)})
    repo.refresh()
    report = verify(repo)
    assert [type(e) for e in report.errors] == [RootChainError], errors(report)


def test_root_history_must_be_consecutive_and_consistent():
    repo = SoftRepo.create()
    for _ in range(3):
        repo.root.version += 1
        repo.sign_root()
    repo.refresh()
    assert verify(repo).ok
    files = repo.repository()
    del files.root_history[2]
    report = verify_repository(files, repo.gun)
    assert str(report.errors[0]) == "2.root.json: root history is missing version(s) 2"
    files = repo.repository()
    files.root_history[3] = files.root_history[2]
    assert str(verify_repository(files, repo.gun).errors[0]) == \
        "3.root.json: holds root version 2"
    files = repo.repository()
    files.roles["root"] = files.root_history[2]
    report = verify_repository(files, repo.gun)
    assert str(report.errors[0]) == "root.json: root.json is version 2, older than 4.root.json"
    assert isinstance(report.errors[0], RollbackError)
    files = repo.repository()
    root = read_metadata(files.roles["root"], "root.json").signed
    root.expires = root.expires + dt.timedelta(seconds=1)
    files.roles["root"] = sign_metadata(root, repo.signers(repo.root_keys))
    assert str(verify_repository(files, repo.gun).errors[0]) == \
        "root.json: root.json differs from 4.root.json though both are root version 4"


def test_intermediate_roots_may_have_expired():
    repo = SoftRepo.create()
    repo.root.expires = Instant.now() - dt.timedelta(days=1)
    repo.root_history.clear()
    repo.sign_root()
    repo.root.version += 1
    repo.root.expires = Instant.now() + YEAR
    repo.sign_root()
    repo.refresh()
    assert verify(repo).ok
    files = repo.repository()
    files.roles["root"] = files.root_history[1]
    del files.root_history[2]
    message = only_error(verify_repository(files, repo.gun), ExpiredError)
    assert message.startswith("root.json: root expired on")


def test_trusted_root_anchors_the_chain():
    repo = SoftRepo.create()
    trusted = repo.files["root"]
    repo.rotate_root()
    repo.rotate_root()
    repo.refresh()
    files = repo.repository()
    del files.root_history[1]
    report = verify_repository(files, repo.gun, trusted_root=trusted)
    assert report.ok and report.trust == "trusted-root", errors(report)
    assert [r.version for r in report.root_chain] == [1, 2, 3]
    del files.root_history[2]
    report = verify_repository(files, repo.gun, trusted_root=trusted)
    assert str(report.errors[0]) == ("root.json: the root history starts at version 3; version "
                                     "2 is needed to continue from the trusted root version 1")
    newer = SoftRepo.create()
    newer.root.version = 9
    newer.sign_root()
    report = verify_repository(repo.repository(), repo.gun, trusted_root=newer.files["root"])
    assert isinstance(report.errors[0], RollbackError)


def test_pins_that_match_nothing():
    repo = SoftRepo.create()
    message = only_error(verify(repo, root_cert_ids=["cd" * 32]), TrustPinningError)
    assert message.startswith("root.json: no usable root certificate matches the pinned IDs")


def test_pinning_counts_pinned_certificates_only():
    repo = SoftRepo.create(root_count=2, root_threshold=2)
    report = verify(repo, root_cert_ids=repo.root_cert_ids()[:1])
    message = only_error(report, SignatureThresholdError)
    assert "not a pinned root certificate ID" in message
    assert verify(repo, root_cert_ids=repo.root_cert_ids()).ok


# --- freeze, rollback, mix-and-match --------------------------------------------------------------

def test_expiry_uses_the_given_clock():
    repo = SoftRepo.create()
    later = repo.now + dt.timedelta(days=15)
    assert only_error(verify(repo, at=later), ExpiredError).startswith(
        "timestamp.json: timestamp expired on")
    assert verify(repo, at=repo.now + dt.timedelta(days=13)).ok
    assert parse_at("2030-01-01") == Instant.parse("2030-01-01T00:00:00Z")
    assert parse_at("2030-01-01T02:00:00+02:00") == Instant.parse("2030-01-01T00:00:00Z")


def test_rollback_against_trusted_versions():
    repo = SoftRepo.create()
    report = verify(repo, trusted_versions={"snapshot": repo.snapshot_version + 1})
    assert only_error(report, RollbackError) == (
        f"snapshot.json: snapshot is version {repo.snapshot_version}, older than the trusted "
        f"version {repo.snapshot_version + 1}")
    repo.add_delegation("targets/a")
    repo.refresh()
    report = verify(repo, trusted_versions={"targets/a": 3})
    assert "targets/a is version 1, older than the trusted version 3" in only_error(
        report, RollbackError)


def test_mix_and_match():
    repo = SoftRepo.create()
    old_targets = repo.files["targets"]
    repo.add_target("targets", "new")
    repo.refresh()
    files = repo.repository()
    files.roles["targets"] = old_targets
    message = only_error(verify_repository(files, repo.gun), MixAndMatchError)
    assert message.startswith("targets.json: sha256 ")
    assert "listed in snapshot.json" in message
    # same hashes, other length: caught too
    snapshot = read_metadata(repo.files["snapshot"], "s", Snapshot).signed
    snapshot.meta["targets"].length += 1
    repo.files["snapshot"] = sign_metadata(snapshot, [SoftwareSigner(repo.snapshot_key)],
                                           keys=repo.root.role_keys("snapshot"))
    timestamp = read_metadata(repo.files["timestamp"], "t", Timestamp).signed
    timestamp.meta["snapshot"] = meta_of(repo.files["snapshot"])
    repo.files["timestamp"] = sign_metadata(timestamp, [SoftwareSigner(repo.timestamp_key)],
                                            keys=repo.root.role_keys("timestamp"))
    message = only_error(verify(repo), MixAndMatchError)
    assert message.startswith("targets.json: length ")


# --- delegations ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "why"), [
    ("targets/Releases", "only a-z, 0-9"),
    ("targets/a b", "only a-z, 0-9"),
    ("releases", "start with targets/"),
    ("targets/a/b", "only targets/a may delegate it, not targets"),
    ("targets/a//b", "clean paths"),
    ("targets/a/", "clean paths"),
    ("targets/" + "a" * 250, "under 256 characters")])
def test_delegation_names(name, why):
    repo = SoftRepo.create()
    from ceremony.notary.format import DelegatedRole
    repo.modify("targets", lambda t: t.delegations.roles.append(DelegatedRole(name, [], 1,
                                                                               [""])))
    repo.refresh()
    message = only_error(verify(repo), DelegationError)
    assert message.startswith(f"targets.json: delegation {name!r}: ")
    assert why in message


def test_delegation_paths_and_nesting():
    repo = SoftRepo.create()
    repo.add_delegation("targets/releases", paths=["app/", "lib/"])
    repo.add_delegation("targets/releases/qa", paths=["app/qa/", "other/"])
    repo.add_target("targets/releases", "app/1.0")
    repo.add_target("targets/releases", "elsewhere/x")
    repo.add_target("targets/releases/qa", "app/qa/build-7")
    repo.add_target("targets/releases/qa", "other/y")
    repo.refresh()
    report = verify(repo)
    assert report.ok, errors(report)
    assert report.role("targets/releases").targets == 1
    assert report.role("targets/releases/qa").targets == 1
    assert report.targets_count == 2
    assert report.role("targets/releases/qa").parent == "targets/releases"
    warnings = "\n".join(report.warnings)
    assert "targets/releases/qa path 'other/' is outside the paths of targets/releases" in \
        warnings
    assert "target 'elsewhere/x' is outside the paths of targets/releases" in warnings
    assert "target 'other/y' is outside the paths of targets/releases/qa" in warnings


def test_delegation_signatures_and_files():
    repo = SoftRepo.create()
    repo.add_delegation("targets/releases", key_count=2, threshold=2)
    repo.delegation_keys["targets/releases"] = repo.delegation_keys["targets/releases"][:1]
    repo.add_target("targets/releases", "x")
    repo.refresh()
    message = only_error(verify(repo), SignatureThresholdError)
    assert message.startswith("targets/releases.json: 1 of threshold 2 valid signatures from "
                              "distinct targets/releases keys")
    repo = SoftRepo.create()
    repo.add_delegation("targets/releases")
    repo.refresh()
    files = repo.repository()
    del files.roles["targets/releases"]
    report = verify_repository(files, repo.gun)
    assert report.ok
    assert "targets/releases: listed in snapshot.json but targets/releases.json is not here; " \
           "not verified" in report.warnings
    repo = SoftRepo.create()
    repo.add_delegation("targets/late")
    report = verify(repo)  # snapshot not refreshed: the file is not listed yet
    assert "targets/late.json: not listed in snapshot.json, so clients never load it" in \
        report.warnings
    files = repo.repository()
    files.roles["targets/orphan"] = files.roles["targets/late"]
    assert any(w.startswith("targets/orphan.json: no role delegates targets/orphan")
               for w in verify_repository(files, repo.gun).warnings)


# --- signing --------------------------------------------------------------------------------------

def test_signing_checks_signers_and_existing_signatures():
    repo = SoftRepo.create()
    targets = read_metadata(repo.files["targets"], "t", Targets)
    with pytest.raises(SigningError, match="the signer's key is not one of the keys"):
        sign_metadata(targets.signed, [SoftwareSigner(ec_key())],
                      keys=repo.root.role_keys("targets"))
    with pytest.raises(SigningError, match="keys are required"):
        sign_metadata(targets.signed, [SoftwareSigner(repo.targets_key)])

    class Broken(SoftwareSigner):
        def sign(self, message: bytes) -> bytes:
            return super().sign(message + b"!")

    with pytest.raises(SigningError, match="came back invalid: signature does not verify"):
        sign_metadata(targets.signed, [Broken(repo.targets_key)],
                      keys=repo.root.role_keys("targets"))
    targets.signed.version += 1
    with pytest.raises(SigningError, match="is not over this content"):
        sign_metadata(targets.signed, [], keys=repo.root.role_keys("targets"),
                      existing=targets.signatures)


def test_co_signing_collects_signatures():
    repo = SoftRepo.create(root_count=2, root_threshold=2)
    root = repo.root
    root.version += 1
    first = sign_metadata(root, [SoftwareSigner(repo.root_keys[0])])
    partial = read_metadata(first, "root.json")
    assert len(partial.signatures) == 1
    both = sign_metadata(partial.signed, [SoftwareSigner(repo.root_keys[1])],
                         existing=partial.signatures)
    again = sign_metadata(root, repo.signers(repo.root_keys))
    assert read_metadata(both, "r").signed_bytes == read_metadata(again, "r").signed_bytes
    assert len(read_metadata(both, "r").signatures) == 2
    repo.files["root"] = repo.root_history[2] = both
    repo.refresh()
    assert verify(repo).ok


def test_rsa_and_ed25519_signers_produce_valid_files():
    repo = SoftRepo.create()
    for private, method in ((rsa.generate_private_key(65537, 2048), "rsapss"),
                            (rsa.generate_private_key(65537, 2048), "rsapkcs1v15"),
                            (ed25519.Ed25519PrivateKey.generate(), "eddsa")):
        key = key_from_public_key(private.public_key())
        repo.root.keys[key.key_id] = key
        repo.root.roles["targets"] = Role([key.key_id], 1)
        repo.root.version += 1
        repo.sign_root()
        repo.targets_key = private
        repo.targets.version += 1
        repo.files["targets"] = sign_metadata(repo.targets, [SoftwareSigner(private, method)],
                                              keys=repo.root.role_keys("targets"))
        repo.refresh()
        report = verify(repo)
        assert report.ok, errors(report)
        assert report.role("targets").signatures[0].method == method


def test_keys_report_both_ids():
    repo = SoftRepo.create()
    report = verify(repo)
    (root_key,) = report.role("root").keys
    key = repo.root.keys[root_key.key_id]
    assert root_key.canonical_key_id == key_from_public_key(
        repo.root_keys[0].public_key()).key_id
    assert root_key.common_name == repo.gun
    assert isinstance(key, Key)
    assert key.public_key.public_bytes(serialization.Encoding.DER,
                                       serialization.PublicFormat.SubjectPublicKeyInfo)

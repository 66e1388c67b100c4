"""The ceremony core in process: review completeness, thresholds, co-signing state, merging,
PIN sources and delegation edits. Signatures come from real SoftHSM tokens."""

from __future__ import annotations

import datetime as dt
import secrets

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from ceremony.ceremonies.errors import CeremonyRefused
from ceremony.ceremonies.tokens import CeremonyTokens, PinSources
from ceremony.notary.ceremonies.build import (
    RELEASES,
    add_delegation,
    add_signer,
    new_root,
    new_targets,
    next_root,
    remove_delegation,
    remove_signer,
    replace_role_keys,
)
from ceremony.notary.ceremonies.partialstate import PartialState
from ceremony.notary.ceremonies.review import diff, render_changes, review_files
from ceremony.notary.ceremonies.signing import (
    FileToSign,
    SignerSet,
    merge_files,
    missing_signatures,
    sign_files,
    thresholds_for,
)
from ceremony.notary.format import FileMeta, Instant, key_from_certificate, key_from_public_key
from ceremony.notary.format.model import ROOT, TARGETS, Signature
from ceremony.notary.format.serialization import signed_bytes
from ceremony.secrets import contains_secret
from hsm.errors import PinError

GUN = "example.com/core"
LATER = Instant.from_datetime(dt.datetime(2035, 1, 1, tzinfo=dt.UTC))


def plain_key():
    return key_from_public_key(ec.generate_private_key(ec.SECP256R1()).public_key())


@pytest.fixture
def tokens(softhsm_env):
    labels = ["root-a", "root-b", "targets"]
    with CeremonyTokens(pin_sources=[f"{lb}={softhsm_env.pin_source(lb)}"
                                     for lb in labels]) as t:
        yield t


def root_keys(tokens, gun=GUN, n=2):
    """Root certificates for GUN on root-a and root-b, made by the tokens (fresh labels)."""
    out = []
    for label in ("root-a", "root-b")[:n]:
        tok = tokens.open(label, "root")
        info, _ = tokens.generate_or_reuse(tok, f"root-{secrets.token_hex(4)}", "ecdsa-p256")
        cert = tok.certificate(info.label, gun, key_id=info.id)
        out.append(key_from_certificate(cert.certificate))
    return out


def a_root(keys, threshold):
    return new_root(root_keys=keys, root_threshold=threshold, targets_key=plain_key(),
                    snapshot_key=plain_key(), timestamp_key=plain_key(), expires=LATER)


# --- review ---

def test_every_change_in_the_signed_bytes_appears_in_the_review():
    base = a_root([plain_key()], 1)
    targets = new_targets(LATER)
    add_delegation(targets, "targets/qa", [plain_key()], paths=["qa/"])
    targets.targets["app"] = FileMeta(3, {"sha256": b"\x01" * 32})
    mutations = {
        "version": lambda r, t: setattr(r, "version", 9),
        "expires": lambda r, t: setattr(r, "expires", LATER + dt.timedelta(seconds=1)),
        "consistent_snapshot": lambda r, t: setattr(r, "consistent_snapshot", True),
        "roles.root.threshold": lambda r, t: setattr(r.roles[ROOT], "threshold", 2),
        "roles.targets.keyids": lambda r, t: replace_role_keys(r, TARGETS, [plain_key()], 1),
        "delegations.roles[targets/qa].paths": lambda r, t: t.delegations.roles[0].paths.append(
            "qa2/"),
        "delegations.roles[targets/qa].threshold": lambda r, t: setattr(
            t.delegations.roles[0], "threshold", 2),
        "targets.app": lambda r, t: setattr(t.targets["app"], "length", 4),
        "targets.other": lambda r, t: t.targets.__setitem__("other", FileMeta(1, {})),
        "delegations.keys": lambda r, t: t.delegations.keys.__setitem__(
            "ab" * 32, key_from_public_key(ed25519.Ed25519PrivateKey.generate().public_key())),
    }
    for path, mutate in mutations.items():
        root, tgt = next_root(base, LATER), new_targets(LATER)
        root.version = base.version
        tgt = type(targets).from_dict(targets.to_dict())
        mutate(root, tgt)
        for old, new in ((base, root), (targets, tgt)):
            changes = diff(old.to_dict(), new.to_dict())
            assert bool(changes) == (signed_bytes(old) != signed_bytes(new)), path
        changed = diff(base.to_dict(), root.to_dict()) + diff(targets.to_dict(), tgt.to_dict())
        text = "\n".join(render_changes(changed))
        assert changed and path.split("[")[0].split(".")[0] in text, (path, text)
    # a key object's content is shown by its key IDs and type, never hidden
    root = a_root([plain_key()], 1)
    lines = render_changes(diff({}, root.to_dict()))
    for kid in root.keys:
        assert any(kid in line and "ecdsa key" in line for line in lines)


def test_review_shows_digest_words_thresholds_and_who_signs(tokens):
    keys = root_keys(tokens)
    root = a_root(keys, 2)
    f = FileToSign(GUN, ROOT, root, thresholds_for(ROOT, root))
    signers = tokens.locate(keys)
    review = review_files("REVIEW", [f], {(GUN, ROOT): None}, signers)
    assert f.digest in review.text and "root v1 (its own root keys): 2 of 2" in review.text
    assert review.text.count("WILL SIGN: token 'root-") == 2
    assert f"canonical key ID {keys[0].canonical_key_id}" in review.text


# --- thresholds and signing ---

def test_rotation_needs_old_and_new_thresholds_and_a_shared_key_counts_for_both(tokens):
    a, b = root_keys(tokens)
    old = a_root([a], 1)
    new = next_root(old, LATER)
    replace_role_keys(new, ROOT, [a, b], 2)
    f = FileToSign(GUN, ROOT, new, thresholds_for(ROOT, new, previous_root=old))
    assert [t.threshold for t in f.thresholds] == [1, 2]
    only_a = tokens.locate([a])
    result = sign_files([f], only_a)
    assert result.operations == 1 and not f.complete
    unmet = f.unmet()
    assert len(unmet) == 1 and unmet[0][0].threshold == 2  # old threshold met by a already
    missing = missing_signatures([f])
    assert [m["key_id"] for m in missing] == [b.key_id]
    sign_files([f], tokens.locate([a, b]))
    assert f.complete and len(f.signatures) == 2


def test_co_signing_at_two_sites_through_the_partial_state_and_merge(tokens):
    a, b = root_keys(tokens)
    old = a_root([a, b], 1)
    new = next_root(old, LATER)  # same keys, threshold 2: both must sign
    new.roles[ROOT].threshold = 2
    old_bytes = _signed_file(old, tokens, [a])
    trusted = {1: old_bytes}

    def fresh():
        return FileToSign(GUN, ROOT, new, thresholds_for(ROOT, new, previous_root=old))

    site_a, site_b = fresh(), fresh()
    sign_files([site_a], tokens.locate([a]))
    sign_files([site_b], tokens.locate([b]))
    assert not site_a.complete and not site_b.complete
    state = PartialState.of([site_a], ceremony="test", previous_root=old_bytes).to_dict()
    # decoding and encoding mirror each other: a state read back is written byte for byte
    assert PartialState.from_dict(GUN, state).to_dict() == state
    assert list(state) == ["format", "version", "ceremony", "previous_root", "files",
                           "previous_files", "on_complete", "origin", "claims"]
    restored, previous = PartialState.from_dict(GUN, state).restore(GUN, trusted)
    assert previous.version == 1 and restored[0].digest == site_a.digest
    sign_files(restored, tokens.locate([b]))
    assert restored[0].complete
    merged = merge_files([site_a], [site_b])
    assert merged[0].complete and merged[0].message == site_a.message
    # a state that starts from a root this site does not trust, or that lies, is refused
    with pytest.raises(CeremonyRefused, match="does not trust"):
        PartialState.from_dict(GUN, state).restore(GUN, {1: b"{}"})
    bad = dict(state)
    bad["files"] = [dict(state["files"][0], thresholds=[])]
    with pytest.raises(CeremonyRefused, match="thresholds"):
        PartialState.from_dict(GUN, bad).restore(GUN, trusted)
    other = next_root(old, LATER + dt.timedelta(days=1))
    with pytest.raises(CeremonyRefused, match="different content"):
        merge_files([site_a], [FileToSign(GUN, ROOT, other, site_a.thresholds)])
    with pytest.raises(CeremonyRefused, match="does not verify"):
        site_a.add_signature(Signature(b.key_id, "ecdsa", b"\x00" * 64))


def _signed_file(root, tokens, keys) -> bytes:
    f = FileToSign(GUN, ROOT, root, thresholds_for(ROOT, root))
    sign_files([f], tokens.locate(keys))
    return f.data


def test_signer_set_finds_keys_by_public_key_whatever_the_key_object(tokens):
    (a,) = root_keys(tokens, n=1)
    signers = tokens.locate([a])
    assert len(signers) == 1 and signers.find(a) is not None
    plain = key_from_public_key(a.public_key)  # same key, plain key object
    assert signers.find(plain) is not None
    assert SignerSet().find(a) is None


# --- PIN sources ---

def test_pin_sources_per_token_and_default(tmp_path):
    p = PinSources(["root-a=env:ROOT_A", "file:/run/pins/any.pin"])
    assert p.for_token("root-a", None) == "env:ROOT_A"
    assert p.for_token("targets", "env:X") == "file:/run/pins/any.pin"
    assert PinSources([]).for_token("t", "env:URI") == "env:URI"
    assert PinSources([]).for_token("t", None) == "prompt"
    with pytest.raises(PinError):
        PinSources(["env:A", "env:B"])
    with pytest.raises(PinError) as exc:
        PinSources(["root-a=123456"])
    assert "123456" not in str(exc.value)


def test_pins_read_from_sources_are_registered_as_secrets(tokens, softhsm_env):
    tokens.open("targets", "targets")
    assert contains_secret(f"x {softhsm_env.pin('targets')} y")


# --- delegation edits ---

def test_signer_add_and_remove_follow_docker_trust():
    t = new_targets(LATER)
    k1, k2 = plain_key(), plain_key()
    add_signer(t, "alice", [k1])
    add_signer(t, "bob", [k2])
    d = t.delegations
    assert d.role("targets/alice").keyids == [k1.key_id]
    assert d.role("targets/alice").paths == [""] and d.role(RELEASES).paths == [""]
    assert d.role(RELEASES).keyids == [k1.key_id, k2.key_id]
    remove_signer(t, "alice")
    assert d.role("targets/alice") is None and d.role(RELEASES).keyids == [k2.key_id]
    assert k1.key_id not in d.keys
    notes = remove_signer(t, "bob")
    assert d.roles == [] and d.keys == {} and any("removed too" in n for n in notes)
    for bad in ("releases", "Alice", "-x", "a/b", ""):
        with pytest.raises(CeremonyRefused):
            add_signer(t, bad, [k1])
    with pytest.raises(CeremonyRefused, match="no signer"):
        remove_signer(t, "carol")


def test_delegation_add_and_remove_rules():
    t = new_targets(LATER)
    k1, k2 = plain_key(), plain_key()
    with pytest.raises(CeremonyRefused, match="needs paths"):
        add_delegation(t, "targets/qa", [k1])
    with pytest.raises(CeremonyRefused, match="impossible"):
        add_delegation(t, "targets/qa", [k1], paths=["qa/"], threshold=2)
    with pytest.raises(CeremonyRefused, match="targets/"):
        add_delegation(t, "targets/qa/nested", [k1], paths=["qa/"])
    add_delegation(t, "targets/qa", [k1, k2], paths=["qa/"], threshold=2)
    with pytest.raises(CeremonyRefused, match="threshold 2"):
        remove_delegation(t, "targets/qa", key_ids=[k1.key_id])
    add_delegation(t, "targets/qa", [], threshold=1)
    remove_delegation(t, "targets/qa", key_ids=[k1.key_id], paths=["qa/"])
    role = t.delegations.role("targets/qa")
    assert role.keyids == [k2.key_id] and role.paths == [] and list(t.delegations.keys) == [
        k2.key_id]
    remove_delegation(t, "targets/qa")
    assert t.delegations.roles == []

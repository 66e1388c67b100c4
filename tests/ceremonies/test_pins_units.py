"""`ceremony.notary.pins` in process: the pin set of a root, its JSON and its human block (the
contract shared with the documentation and the first-ceremony test). Certificates are made by
hsm/x509.py over software keys here; the CLI tests use real tokens."""

from __future__ import annotations

import datetime as dt

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ceremony.notary.ceremonies.build import new_root
from ceremony.notary.format.keys import key_from_certificate, key_from_public_key
from ceremony.notary.format.model import Instant
from ceremony.notary.pins import PinSet, pin_set
from hsm.x509 import issue_root_certificate

GUN = "example.com/pins"
LATER = Instant.from_datetime(dt.datetime(2030, 1, 1, tzinfo=dt.UTC))


def root_cert():
    private = ec.generate_private_key(ec.SECP256R1())
    cert = issue_root_certificate(private.public_key(), GUN,
                                  lambda tbs: private.sign(tbs, ec.ECDSA(hashes.SHA256())))
    return private, key_from_certificate(cert)


def plain():
    return key_from_public_key(ec.generate_private_key(ec.SECP256R1()).public_key())


def a_root(keys, threshold=1):
    return new_root(root_keys=keys, root_threshold=threshold, targets_key=plain(),
                    snapshot_key=plain(), timestamp_key=plain(), expires=LATER)


def test_pin_set_json_and_block():
    (pa, a), (pb, b) = root_cert(), root_cert()
    root = a_root([a, b], 2)
    pins = pin_set(GUN, root)
    assert pins.root_cert_ids == tuple(root.roles["root"].keyids)
    assert set(pins.root_cert_ids) == {a.key_id, b.key_id}
    assert pins.trust_pinning() == {"certs": {GUN: list(pins.root_cert_ids)}}
    spki = {k.public_key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo).decode()
            for k in (pa, pb)}
    assert set(pins.root_public_keys_pem) == spki
    data = pins.to_json()
    assert data == {"gun": GUN, "root_cert_ids": list(pins.root_cert_ids),
                    "trust_pinning": pins.trust_pinning(),
                    "root_public_keys_pem": list(pins.root_public_keys_pem),
                    "changed": False, "previous_root_cert_ids": []}
    block = pins.render()
    assert block[0] == f"Pin these (distribute to every verifier of {GUN}):"
    assert all(any(kid in line for line in block) for kid in pins.root_cert_ids)
    assert not any("WARNING" in line for line in block)
    assert PinSet.from_json(data) == (pins, None)


def test_a_changed_pin_set_warns_fresh_clients():
    _, a = root_cert()
    _, c = root_cert()
    before, after = pin_set(GUN, a_root([a])), pin_set(GUN, a_root([c]))
    data = after.to_json(before)
    assert data["changed"] is True and data["previous_root_cert_ids"] == [a.key_id]
    text = "\n".join(after.render(before))
    assert "WARNING" in text and a.key_id in text and "FRESH clients" in text
    restored, previous = PinSet.from_json(data)
    assert restored == after and previous is not None
    assert previous.root_cert_ids == (a.key_id,)
    # the same IDs again (a renewal that re-issues nothing): no warning
    assert not after.changed_from(after)

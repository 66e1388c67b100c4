"""Envelopes and offline verification: every Notary Project key spec round-trips through
JWS and COSE, and the verifier refuses each kind of bad envelope with a named reason.

Keys here are software keys (`SoftwareKey`): these tests are about byte formats and
verification rules; token keys are exercised in test_interop.py against the real notation.
"""

from __future__ import annotations

import base64
import datetime as dt
import json

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding

from ceremony.notation import certs, cose, jws
from ceremony.notation.crl import make_crl
from ceremony.notation.errors import NotationError
from ceremony.notation.keyspec import SoftwareKey
from ceremony.notation.payload import Descriptor
from ceremony.notation.verify import verify

TARGET = Descriptor("application/vnd.oci.image.manifest.v1+json", "sha256:" + "ab" * 32, 528)
KEYS = {
    "P-256": lambda: ec.generate_private_key(ec.SECP256R1()),
    "P-384": lambda: ec.generate_private_key(ec.SECP384R1()),
    "P-521": lambda: ec.generate_private_key(ec.SECP521R1()),
    "RSA 2048": lambda: rsa.generate_private_key(65537, 2048),
    "RSA 3072": lambda: rsa.generate_private_key(65537, 3072),
}


def make_pki(leaf_key=None, *, intermediate=False):
    from cryptography import x509
    root_key = SoftwareKey(ec.generate_private_key(ec.SECP384R1()))
    root = certs.root_ca(root_key, certs.parse_subject("C=US, ST=WA, O=T, CN=Root"))
    issuer_key, chain = root_key, [root]
    if intermediate:
        inter_key = SoftwareKey(ec.generate_private_key(ec.SECP256R1()))
        inter = certs.intermediate_ca(root_key, root, inter_key.public_key,
                                      certs.parse_subject("C=US, ST=WA, O=T, CN=Inter"))
        issuer_key, chain = inter_key, [inter, root]
    leaf = SoftwareKey(leaf_key or ec.generate_private_key(ec.SECP256R1()))
    csr = x509.CertificateSigningRequestBuilder().subject_name(
        certs.parse_subject("C=US, ST=WA, O=T, CN=leaf")).sign(
        leaf._key, leaf.spec.hash)
    issued = certs.signing_certificate(issuer_key, chain, csr)
    return root, root_key, issued, leaf


def der_chain(issued):
    return [c.public_bytes(Encoding.DER) for c in issued.chain]


@pytest.mark.parametrize("fmt", [jws, cose], ids=["jws", "cose"])
@pytest.mark.parametrize("kind", sorted(KEYS))
def test_every_key_spec_round_trips(fmt, kind):
    root, _, issued, leaf = make_pki(KEYS[kind]())
    env = fmt.sign(TARGET, leaf, der_chain(issued), signing_time=certs.now())
    result = verify(env, [root], expected=TARGET)
    assert result.content.alg == leaf.spec.jws_alg
    assert result.content.target == TARGET


@pytest.mark.parametrize("fmt", [jws, cose], ids=["jws", "cose"])
def test_intermediate_chain(fmt):
    root, _, issued, leaf = make_pki(intermediate=True)
    assert len(issued.chain) == 3
    env = fmt.sign(TARGET, leaf, der_chain(issued), signing_time=certs.now())
    verify(env, [root], expected=TARGET)
    # without the intermediate the chain is broken
    env = fmt.sign(TARGET, leaf, [der_chain(issued)[0], der_chain(issued)[2]],
                   signing_time=certs.now())
    with pytest.raises(NotationError, match="chain is broken"):
        verify(env, [root])


@pytest.mark.parametrize("fmt", [jws, cose], ids=["jws", "cose"])
def test_refusals(fmt):
    root, root_key, issued, leaf = make_pki()
    other_root, *_ = make_pki()
    env = fmt.sign(TARGET, leaf, der_chain(issued), signing_time=certs.now())
    with pytest.raises(NotationError, match="not a pinned root"):
        verify(env, [other_root])
    other = Descriptor(TARGET.media_type, "sha256:" + "cd" * 32, TARGET.size)
    with pytest.raises(NotationError, match="not for sha256:cdcd"):
        verify(env, [root], expected=other)
    soon = fmt.sign(TARGET, leaf, der_chain(issued), signing_time=certs.now(),
                    expiry=certs.now() + dt.timedelta(minutes=1))
    verify(soon, [root])
    with pytest.raises(NotationError, match="expired"):
        verify(soon, [root], at=certs.now() + dt.timedelta(minutes=2))
    crl = make_crl(root_key, root, {issued.certificate.serial_number: certs.now()}, 1,
                   dt.timedelta(days=1))
    with pytest.raises(NotationError, match="was revoked"):
        verify(env, [root], crls=[crl])
    stale = make_crl(root_key, root, {}, 2, dt.timedelta(seconds=1))
    with pytest.raises(NotationError, match="out of date"):
        verify(env, [root], crls=[stale], at=certs.now() + dt.timedelta(minutes=1))
    with pytest.raises(NotationError, match="was not valid now"):
        verify(env, [root], at=certs.now() + dt.timedelta(days=400))


def _jws_with_header(leaf, issued, extra: dict, crit_extra: list[str]) -> bytes:
    protected = {"alg": leaf.spec.jws_alg, "crit": ["io.cncf.notary.signingScheme",
                                                    *crit_extra],
                 "cty": "application/vnd.cncf.notary.payload.v1+json",
                 "io.cncf.notary.signingScheme": "notary.x509",
                 "io.cncf.notary.signingTime": jws.rfc3339(certs.now()), **extra}
    prot = jws.b64url(json.dumps(protected).encode())
    pay = jws.b64url(json.dumps({"targetArtifact": TARGET.to_dict()}).encode())
    sig = leaf.sign_envelope(f"{prot}.{pay}".encode())
    return json.dumps({"payload": pay, "protected": prot, "signature": jws.b64url(sig),
                       "header": {"x5c": [base64.b64encode(d).decode()
                                          for d in der_chain(issued)]}}).encode()


def _cose_with_header(leaf, issued, extra: dict, crit_extra: list[str]) -> bytes:
    protected = {1: leaf.spec.cose_alg, 2: ["io.cncf.notary.signingScheme", *crit_extra],
                 3: "application/vnd.cncf.notary.payload.v1+json",
                 "io.cncf.notary.signingScheme": "notary.x509",
                 "io.cncf.notary.signingTime": cbor2.CBORTag(1, int(certs.now().timestamp())),
                 **extra}
    prot = cbor2.dumps(protected, canonical=True)
    payload = json.dumps({"targetArtifact": TARGET.to_dict()}).encode()
    sig = leaf.sign_envelope(cose.sig_structure(prot, payload))
    return cbor2.dumps(cbor2.CBORTag(18, [prot, {33: der_chain(issued)}, payload, sig]))


@pytest.mark.parametrize("build", [_jws_with_header, _cose_with_header], ids=["jws", "cose"])
def test_extra_critical_header_refused_but_plain_extra_accepted(build):
    root, _, issued, leaf = make_pki()
    ok = build(leaf, issued, {"com.example.note": "hello"}, [])
    verify(ok, [root], expected=TARGET)
    bad = build(leaf, issued, {"com.example.policy": "x"}, ["com.example.policy"])
    with pytest.raises(NotationError, match="critical header"):
        verify(bad, [root])


@pytest.mark.parametrize("fmt", [jws, cose], ids=["jws", "cose"])
def test_tampering_detected(fmt):
    root, _, issued, leaf = make_pki()
    env = fmt.sign(TARGET, leaf, der_chain(issued), signing_time=certs.now())
    if fmt is jws:
        data = json.loads(env)
        payload = json.loads(base64.urlsafe_b64decode(data["payload"] + "=="))
        payload["targetArtifact"]["size"] += 1
        data["payload"] = jws.b64url(json.dumps(payload).encode())
        bad = json.dumps(data).encode()
    else:
        msg = cbor2.loads(env)
        prot, unprot, payload, sig = msg.value
        payload = payload.replace(b'"size":528', b'"size":529')
        bad = cbor2.dumps(cbor2.CBORTag(18, [prot, dict(unprot), payload, sig]))
    with pytest.raises(NotationError, match="altered"):
        verify(bad, [root])


def test_alg_must_match_the_key():
    root, _, issued, leaf = make_pki(ec.generate_private_key(ec.SECP384R1()))
    env = _jws_with_header(leaf, issued, {}, [])
    data = json.loads(env)
    prot = json.loads(base64.urlsafe_b64decode(data["protected"] + "=="))
    prot["alg"] = "ES256"
    data["protected"] = jws.b64url(json.dumps(prot).encode())
    with pytest.raises(NotationError, match="says ES256"):
        verify(json.dumps(data).encode(), [root])


@pytest.mark.parametrize("fmt", [jws, cose], ids=["jws", "cose"])
def test_chain_shape_refusals(fmt):
    root, _, issued, leaf = make_pki()
    chain = der_chain(issued)
    alone = fmt.sign(TARGET, leaf, chain[:1], signing_time=certs.now())
    with pytest.raises(NotationError, match="only the signing certificate"):
        verify(alone, [root])
    twice = fmt.sign(TARGET, leaf, [*chain, chain[-1]], signing_time=certs.now())
    with pytest.raises(NotationError, match="self-signed but not the last"):
        verify(twice, [root])

"""Every notation JSON document is read through the tool's one strict reader
(groundfloor.strictjson): hostile envelopes, payloads, files and registry answers are refused
with one line naming the field, while what other implementations legitimately write (UTF-8
annotations, RFC 3339 times with nine fraction digits, OCI descriptor properties) is accepted.

Envelopes here are signed correctly over their bytes, so each refusal is the reader's, not a
signature check's. Keys are software keys (byte formats, not tokens: see test_interop.py)."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path

import cbor2
import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from ceremony.notation import certs, cose, jws
from ceremony.notation.castate import CAState
from ceremony.notation.errors import NotationError
from ceremony.notation.payload import Descriptor
from ceremony.notation.sign_cli import read_descriptors, read_signatures
from ceremony.notation.strict import parse_utf8
from ceremony.notation.verify import verify
from tests.conftest import AIRGAPPED, run_cli
from tests.notation.test_envelopes import TARGET, der_chain, make_pki

DIGEST = TARGET.digest
GOOD_PAYLOAD = json.dumps({"targetArtifact": TARGET.to_dict()}).encode()


@pytest.fixture(scope="module")
def pki():
    root, _, issued, leaf = make_pki()
    return root, issued, leaf


def _protected(leaf, **changes) -> dict:
    out = {"alg": leaf.spec.jws_alg, "crit": ["io.cncf.notary.signingScheme"],
           "cty": "application/vnd.cncf.notary.payload.v1+json",
           "io.cncf.notary.signingScheme": "notary.x509",
           "io.cncf.notary.signingTime": jws.rfc3339(certs.now())}
    out.update(changes)
    return out


def signed_jws(pki, protected: bytes | dict | None = None, payload: bytes = GOOD_PAYLOAD,
               header: dict | None = None, **top) -> bytes:
    """A flattened JWS over exactly these protected and payload bytes, correctly signed."""
    _, issued, leaf = pki
    if protected is None or isinstance(protected, dict):
        protected = json.dumps(protected or _protected(leaf)).encode()
    prot, pay = jws.b64url(protected), jws.b64url(payload)
    sig = leaf.sign_envelope(f"{prot}.{pay}".encode())
    if header is None:
        header = {"x5c": [base64.b64encode(d).decode() for d in der_chain(issued)]}
    return json.dumps({"payload": pay, "protected": prot, "header": header,
                       "signature": jws.b64url(sig), **top}).encode()


def refused(raw: bytes, pki, match: str) -> str:
    with pytest.raises(NotationError, match=match) as info:
        verify(raw, [pki[0]])
    message = str(info.value)
    assert "\n" not in message
    return message


# --- the envelope and its headers ---------------------------------------------------------

def test_a_correct_envelope_verifies(pki):
    assert verify(signed_jws(pki), [pki[0]], expected=TARGET).content.target == TARGET


@pytest.mark.parametrize(("protected", "match"), [
    (b'{"alg":"ES256","alg":"PS256"}', "duplicate key 'alg'"),
    (b'{"alg":NaN}', "NaN is not a JSON number"),
    (b'{"alg":"ES256"', "not valid JSON"),
    (b"\xff\xfe{}", "not UTF-8"),
    (b"[1, 2]", "expected a map of headers"),
])
def test_hostile_protected_header_bytes(pki, protected, match):
    msg = refused(signed_jws(pki, protected), pki, match)
    assert msg.startswith("JWS protected header")


def test_protected_header_field_types(pki):
    leaf = pki[2]
    refused(signed_jws(pki, _protected(leaf, crit="io.cncf.notary.signingScheme")), pki,
            "crit must be a non-empty array")
    refused(signed_jws(pki, _protected(leaf, crit=[])), pki, "crit must be a non-empty array")
    refused(signed_jws(pki, _protected(leaf, crit=[["io.cncf.notary.signingScheme"]])), pki,
            "crit must be a non-empty array")
    refused(signed_jws(pki, _protected(leaf, alg=["ES256"])), pki,
            "is not a Notary Project algorithm")
    refused(signed_jws(pki, _protected(leaf, cty=1)), pki, "content type must be")


@pytest.mark.parametrize("when", [
    "2026-12-04 21:00:00Z",          # a space: Python reads it, RFC 3339 and Go do not
    "2026-12-04T21:00:00",           # no offset
    "2026-12-04t21:00:00z",          # lower case: Go's RFC 3339 parser refuses it
    "2026-12-04",
    "2026-13-04T21:00:00Z",          # the right form, not a date
    1796418000,                      # epoch seconds are COSE's form, not JWS's
])
def test_signing_time_must_be_rfc3339(pki, when):
    refused(signed_jws(pki, _protected(pki[2], **{"io.cncf.notary.signingTime": when})), pki,
            "io.cncf.notary.signingTime")


def test_signing_time_with_nine_fraction_digits_and_an_offset_is_accepted(pki):
    """Go's time.Time marshals RFC 3339 with nanoseconds; any offset is allowed."""
    now = certs.now()
    text = now.astimezone(dt.timezone(dt.timedelta(hours=-5))).strftime(
        "%Y-%m-%dT%H:%M:%S") + ".123456789-05:00"
    got = verify(signed_jws(pki, _protected(pki[2], **{"io.cncf.notary.signingTime": text})),
                 [pki[0]])
    assert got.content.signing_time.microsecond == 123456
    assert abs((got.content.signing_time - now).total_seconds()) < 2


def test_envelope_shape(pki):
    refused(signed_jws(pki, extra="x"), pki, "JWS envelope: unknown field 'extra'")
    raw = json.loads(signed_jws(pki))
    del raw["header"]
    refused(json.dumps(raw).encode(), pki, "JWS envelope: missing field 'header'")
    refused(signed_jws(pki).replace(b'{"payload"', b'{"payload":"x","payload"'), pki,
            "duplicate key 'payload'")
    refused(b'{"payload":' + b"[" * 100_000, pki, "nested too deeply")


def test_unprotected_header(pki):
    x5c = [base64.b64encode(d).decode() for d in der_chain(pki[1])]
    refused(signed_jws(pki, header={"x5c": x5c, "io.cncf.notary.signingAgent": 7}), pki,
            "io.cncf.notary.signingAgent: expected a string")
    refused(signed_jws(pki, header={"x5c": x5c, "kid": "k"}), pki, "unknown member")
    refused(signed_jws(pki, header={"x5c": ["*" + x5c[0][1:]] + x5c[1:]}), pki,
            r"JWS x5c\[0\]: not valid base64")
    refused(signed_jws(pki, header={"x5c": [1]}), pki, r"JWS x5c\[0\]: expected a string")
    refused(signed_jws(pki, header={"x5c": x5c * 6}), pki, "more than 10")


# --- the payload --------------------------------------------------------------------------

def _payload(**descriptor) -> bytes:
    return json.dumps({"targetArtifact": {**TARGET.to_dict(), **descriptor}}).encode()


@pytest.mark.parametrize(("payload", "match"), [
    (_payload().replace(b'"size": 528', b'"size": 528.0'), "fraction or exponent"),
    (_payload().replace(b'"size": 528', b'"size": 5.28e2'), "fraction or exponent"),
    (_payload().replace(b'"size": 528', b'"size": NaN'), "NaN is not a JSON number"),
    (_payload().replace(b'"size": 528', b'"size": 1' + b"0" * 30), "too large"),
    (_payload(size="528"), r"payload.targetArtifact.size: expected an integer"),
    (_payload(size=True), r"payload.targetArtifact.size: expected an integer"),
    (_payload(size=-1), "must be at least 0"),
    (_payload(digest="sha256:ABC"), "payload.targetArtifact.digest"),
    (_payload(annotations={"a": 1}), r"payload.targetArtifact.annotations.a"),
    (_payload(surprise=1), "unknown field 'surprise'"),
    (_payload().replace(b'"size"', b'"mediaType": "x", "size"'), "duplicate key 'mediaType'"),
    (b'{"targetArtifact": {}, "other": 1}', "unknown field 'other'"),
    (b'{"targetArtifact": null}', "expected an object, got null"),
    (b'\xc3\x28', "not UTF-8"),
])
def test_hostile_payloads(pki, payload, match):
    refused(signed_jws(pki, payload=payload), pki, match)


def test_payload_as_other_implementations_write_it(pki):
    """UTF-8 annotations (the spec's annotation rules allow any text) and the OCI descriptor's
    optional properties are read, not refused."""
    payload = json.dumps({"targetArtifact": {
        **TARGET.to_dict(), "artifactType": "application/vnd.example+json",
        "annotations": {"org.example.note": "signé à Zürich ✓"}}},
        ensure_ascii=False).encode("utf-8")
    content = verify(signed_jws(pki, payload=payload), [pki[0]], expected=TARGET).content
    assert content.target.annotations == {"org.example.note": "signé à Zürich ✓"}


def test_cose_headers(pki):
    _, issued, leaf = pki

    def cose_env(changes: dict | None = None):
        protected = {1: leaf.spec.cose_alg, 2: ["io.cncf.notary.signingScheme"],
                     3: "application/vnd.cncf.notary.payload.v1+json",
                     "io.cncf.notary.signingScheme": "notary.x509",
                     "io.cncf.notary.signingTime": cbor2.CBORTag(
                         1, int(certs.now().timestamp()))}
        protected.update(changes or {})
        prot = cbor2.dumps(protected)
        sig = leaf.sign_envelope(cose.sig_structure(prot, GOOD_PAYLOAD))
        return cbor2.dumps(cbor2.CBORTag(18, [prot, {33: der_chain(issued)}, GOOD_PAYLOAD, sig]))

    verify(cose_env(), [pki[0]], expected=TARGET)
    refused(cose_env({"io.cncf.notary.signingTime": jws.rfc3339(certs.now())}), pki,
            "must be a tag 1")
    refused(cose_env({2: "io.cncf.notary.signingScheme"}), pki, "crit must be")
    refused(cose_env({1: True}), pki, "not a Notary Project algorithm")


def test_parse_cost_is_bounded_before_parsing():
    with pytest.raises(NotationError, match="refused before parsing"):
        parse_utf8(b"[" + b"[]," * 1_200_000 + b"[]]", "payload")


# --- the tool's files and the CLI ---------------------------------------------------------

def test_descriptors_file(tmp_path):
    path = tmp_path / "req.json"
    item = {"reference": "localhost:5000/app:v1", "descriptor": TARGET.to_dict()}
    path.write_text(json.dumps({"version": 1, "artifacts": [item]}))
    assert read_descriptors(path) == [("localhost:5000/app:v1", TARGET)]
    for text, match in [
        ('{"version": 1, "version": 1, "artifacts": []}', "duplicate key 'version'"),
        ('{"version": 1.0, "artifacts": []}', "fraction or exponent"),
        ('{"version": 1, "artifacts": [], "more": 1}', "unknown field 'more'"),
        ('{"version": 1, "artifacts": [{"reference": 1, "descriptor": {}}]}',
         r"artifacts\[0\].reference: expected a string"),
        ('{"version": 1, "artifacts": []}', "lists no artifacts"),
        ('{"version": 1, "artifacts": [{"reference": "r", "descriptor": {"mediaType": "m", '
         '"digest": "sha256:ab", "size": 1}}]}', r"artifacts\[0\].descriptor.digest"),
    ]:
        path.write_text(text)
        with pytest.raises(NotationError, match=match):
            read_descriptors(path)


def test_signatures_folder(tmp_path):
    entry = {"reference": "localhost:5000/app:v1", "descriptor": TARGET.to_dict(),
             "envelope": base64.b64encode(b"{}").decode(), "mediaType": "application/jose+json",
             "thumbprints": ["aa"], "signingTime": "2026-01-01T00:00:00+00:00"}
    (tmp_path / "signatures.json").write_text(json.dumps({"version": 1, "signatures": [entry]}))
    assert read_signatures(tmp_path)[0][1] == b"{}"
    for change, match in [({"envelope": "e30"}, r"signatures\[0\].envelope: not valid base64"),
                          ({"mediaType": "text/plain"}, "is not one of application/cose"),
                          ({"thumbprints": "aa"}, "expected an array of strings"),
                          ({"descriptor": {**TARGET.to_dict(), "size": "1"}}, "size")]:
        (tmp_path / "signatures.json").write_text(json.dumps(
            {"version": 1, "signatures": [{**entry, **change}]}))
        with pytest.raises(NotationError, match=match):
            read_signatures(tmp_path)


def test_attach_refuses_a_hostile_signatures_file_before_any_network(tmp_path):
    """`attach` reads the whole file before it opens a socket: inside the air-gap wrapper a
    hostile file is refused with its own line, not with `cannot be reached`."""
    (tmp_path / "signatures.json").write_text(
        '{"version": 1, "signatures": [], "signatures": []}')
    r = run_cli("notation", "attach", "--signatures", str(tmp_path), wrapper=AIRGAPPED)
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1, r.output
    assert "duplicate key 'signatures'" in r.stderr


def _ca_folder(tmp_path: Path, pki) -> Path:
    root = pki[0]
    folder = tmp_path / "ca"
    folder.mkdir()
    CAState(folder, "pkcs11:token=ca", "ca", [root]).save()
    return folder


@pytest.mark.parametrize(("change", "match"), [
    (lambda d: {**d, "crl_number": 1.5}, "fraction or exponent"),
    (lambda d: {**d, "crl_number": "1"}, "ca.json.crl_number: expected an integer"),
    (lambda d: {**d, "issued": {"XY": {"subject": "CN=a", "not_after": "x"}}},
     "ca.json.issued.XY"),
    (lambda d: {**d, "revoked": {"ab": "yesterday"}}, "is not a date and time"),
    (lambda d: {**d, "extra": 1}, "unknown field 'extra'"),
    (lambda d: {k: v for k, v in d.items() if k != "label"}, "missing field 'label'"),
])
def test_ca_state_read_strictly(tmp_path, pki, change, match):
    folder = _ca_folder(tmp_path, pki)
    assert CAState.load(folder).label == "ca"
    data = json.loads((folder / "ca.json").read_text())
    (folder / "ca.json").write_text(json.dumps(change(data)))
    with pytest.raises(NotationError, match=match) as info:
        CAState.load(folder)
    assert "is not a CA folder" in str(info.value)


def test_verify_refuses_a_hostile_descriptor_file(tmp_path, pki):
    root, issued, leaf = pki
    (tmp_path / "root.pem").write_bytes(root.public_bytes(Encoding.PEM))
    (tmp_path / "sig.jws").write_bytes(jws.sign(TARGET, leaf, der_chain(issued),
                                                signing_time=certs.now()))
    good = json.dumps(TARGET.to_dict())
    for text, code, needle in [
        (good, 0, ""),
        (good.replace('"size": 528', '"size": 528, "size": 529'), 1, "duplicate key 'size'"),
        (good.replace("528", "528.0"), 1, "fraction or exponent"),
    ]:
        (tmp_path / "desc.json").write_text(text)
        r = run_cli("verify", str(tmp_path / "sig.jws"), "--root-ca", str(tmp_path / "root.pem"),
                    "--descriptor", str(tmp_path / "desc.json"), wrapper=AIRGAPPED)
        assert r.returncode == code, r.output
        if code:
            assert r.stderr.startswith("error: ") and needle in r.stderr, r.stderr
            assert len(r.stderr.strip().splitlines()) == 1


def test_descriptor_reader_mirrors_to_dict():
    for desc in (TARGET, Descriptor(TARGET.media_type, TARGET.digest, 0, {"k": "v"})):
        assert Descriptor.from_dict(desc.to_dict()) == desc
        assert Descriptor.from_payload(desc.payload()) == desc

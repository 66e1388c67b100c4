"""Properties over every parser: random and mutated inputs only ever raise the layer's typed error.

One row per parser in PROPERTIES: a hypothesis strategy making inputs (mostly mutations of good
inputs, so the deeper checks are reached, not only the first byte), and a check that runs the
parser, lets the typed error through as a pass, and asserts what must hold when the input is
accepted (round trips, bounds). Anything else -- a KeyError, an OverflowError, a RecursionError,
an accepted input that breaks its own invariant -- is a failure.

Mutations that must reach past integrity checks re-seal what they change: bundles get a valid
digest, frames a valid CRC, transcripts a valid hash chain, metadata a valid signature by the
role's own key. tests/hardening/test_properties.py runs each row briefly; bench/fuzz.py runs the
same rows for longer.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

# A JSON token that json.dumps cannot write: placed as a marker string, swapped in afterwards.
_RAW = "\x00raw:"
NASTY_RAW = ["1e400", "-0", "1.5", "NaN", "Infinity", "-Infinity", "9" * 5000, "1" * 25,
             "[" * 3000 + "]" * 3000, "{" + '"a":{' * 1500 + "}" * 1501, "true", "null",
             '"\\ud800"', '"\\u0000"', '"a\\u202eb"', '"\\u0435"']
NASTY_TEXT = ["", ".", "..", "../../etc", "/abs", "targets/../root", "targets/", "root/",
              "A" * 300, "\u202e", "\u0435", "\ufeff", "\x00", "a\nb", "é", "𝄞", "%00", "\\",
              "targets/r\u0435leases", "timestamp", "root", "targets", "snapshot", "ecdsa",
              "ecdsa-x509", "rsa", "ed25519", "rsa-x509", "0" * 64, "2030-01-01T00:00:00Z",
              "2030-01-01T00:00:00.0Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"]


def json_values(max_leaves: int = 6) -> st.SearchStrategy[Any]:
    leaves = (st.none() | st.booleans() | st.integers(-(2**64), 2**64)
              | st.sampled_from([0, 1, -1, 2**53, 2**53 + 1, 2**63, -(2**63)])
              | st.text(max_size=12) | st.sampled_from(NASTY_TEXT)
              | st.sampled_from(NASTY_RAW).map(lambda raw: _RAW + raw))
    return st.recursive(leaves, lambda inner: st.lists(inner, max_size=3)
                        | st.dictionaries(st.text(max_size=6) | st.sampled_from(NASTY_TEXT),
                                          inner, max_size=3), max_leaves=max_leaves)


def dumps(obj: Any, **kw: Any) -> bytes:
    """json.dumps, then the raw markers replaced by their tokens."""
    text = json.dumps(obj, **kw)
    return re.sub(r'"\\u0000raw:((?:[^"\\]|\\.)*)"',
                  lambda m: json.loads(f'"{m.group(1)}"'), text).encode("utf-8", "replace")


def _paths(obj: Any, path: tuple = ()) -> list[tuple]:
    out = [path]
    if isinstance(obj, dict):
        for key, value in obj.items():
            out += _paths(value, (*path, key))
    elif isinstance(obj, list):
        for n, value in enumerate(obj):
            out += _paths(value, (*path, n))
    return out


@st.composite
def json_mutation(draw: st.DrawFn, obj: Any) -> Any:
    """A copy of `obj` with 1-3 edits at random places: replace, delete, add, wrap, retype."""
    obj = json.loads(json.dumps(obj))
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(obj)
        path = draw(st.sampled_from(paths))
        op = draw(st.sampled_from(["replace", "replace", "delete", "add", "wrap", "retype"]))
        if not path:
            if op == "add" and isinstance(obj, dict):
                obj[draw(st.text(max_size=8) | st.sampled_from(NASTY_TEXT))] = draw(json_values())
            continue
        parent = obj
        for key in path[:-1]:
            parent = parent[key]
        last = path[-1]
        value = parent[last]
        if op == "replace":
            parent[last] = draw(json_values())
        elif op == "delete":
            del parent[last]
        elif op == "add" and isinstance(value, dict):
            value[draw(st.text(max_size=8) | st.sampled_from(NASTY_TEXT))] = draw(json_values())
        elif op == "add" and isinstance(value, list):
            value.append(draw(json_values()) if not value or draw(st.booleans())
                         else json.loads(json.dumps(value[0])))
        elif op == "wrap":
            parent[last] = draw(st.sampled_from([[value], {"x": value}]))
        elif op == "retype":
            parent[last] = draw(st.sampled_from([str(value), [], {}, None, True, 0, -1, 2**70]))
    return obj


@st.composite
def byte_mutation(draw: st.DrawFn, data: bytes) -> bytes:
    """1-4 byte-level edits: bit flips, cuts, insertions, duplications, truncation."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "delete", "insert", "duplicate", "truncate"]))
        if not out:
            out += draw(st.binary(min_size=1, max_size=8))
            continue
        at = draw(st.integers(0, len(out) - 1))
        if op == "flip":
            out[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "delete":
            del out[at:at + draw(st.integers(1, 16))]
        elif op == "insert":
            out[at:at] = draw(st.binary(min_size=1, max_size=16)
                              | st.sampled_from([b"\x00", b"\xff", b'"', b"\\", b"{", b"]",
                                                 b"\xe2\x80\xae", b"\n", b"1e999"]))
        elif op == "duplicate":
            out[at:at] = out[at:at + draw(st.integers(1, 64))]
        else:
            del out[at:]
    return bytes(out)


# --- good inputs ----------------------------------------------------------------------------------

@dataclass
class Seeds:
    request: bytes
    response: bytes
    partial: bytes
    repo: Any  # tests.metadata.factory.SoftRepo
    metadata: dict[str, bytes]  # file name -> bytes
    keys: dict[str, tuple[str, Any]]  # file name -> (key ID, private key) that signs it
    transcript: bytes
    certificate_pem: bytes
    frames: list[str]
    png: bytes


@functools.cache
def seeds() -> Seeds:
    from cryptography.hazmat.primitives.serialization import Encoding

    from ceremony.transcript import Transcript
    from tests.bundle.helpers import sample_request, sample_response
    from tests.metadata.factory import SoftRepo, notary_certificate
    from transfer.qr.encoder import plan_series
    from transfer.qr.render import matrix_image, png_bytes, qr_matrix, symbol_for

    repo = SoftRepo.create("example.com/fuzz/app")
    repo.add_delegation("targets/releases", certificates=False)
    repo.add_target("targets/releases", "app.tar.gz")
    repo.refresh()
    metadata = {f"{role}.json": data for role, data in repo.files.items()}
    metadata.update({f"{n}.root.json": data for n, data in repo.root_history.items()})
    keys = {f"{role}.json": (next(iter(repo.root.role_keys(role))), key) for role, key in (
        ("targets", repo.targets_key), ("snapshot", repo.snapshot_key),
        ("timestamp", repo.timestamp_key))}
    keys["root.json"] = (repo.root.roles["root"].keyids[0], repo.root_keys[0])
    keys["1.root.json"] = keys["root.json"]
    releases = repo.targets.delegations.role("targets/releases")
    keys["targets/releases.json"] = (releases.keyids[0], repo.delegation_keys[
        "targets/releases"][0])

    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "t.jsonl"
        with Transcript.create(log, ceremony="fuzz", participants=["A"]) as t:
            for n in range(4):
                t.append("note", {"i": n, "text": "x" * n})
        transcript = log.read_bytes()
    bundle = sample_request(n_guns=2).to_bytes()
    series = plan_series(bundle, 200)
    frames = series.frames(3)
    png = png_bytes(matrix_image(qr_matrix(frames[0], symbol_for(series.key)), 3))
    cert = notary_certificate(repo.root_keys[0], "example.com/fuzz/app").public_bytes(
        Encoding.PEM)
    return Seeds(request=bundle, response=sample_response().to_bytes(),
                 partial=sample_response(partial=True).to_bytes(), repo=repo,
                 metadata=metadata, keys=keys, transcript=transcript, certificate_pem=cert,
                 frames=frames, png=png)


# --- the properties -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Property:
    name: str  # the parser, as reports name it
    strategy: Callable[[], st.SearchStrategy[Any]]
    check: Callable[[Any], None]
    examples: int  # per test run; bench/fuzz.py runs many more


# bundles ------------------------------------------------------------------------------------------

def bundle_inputs() -> st.SearchStrategy[bytes]:
    from tests.bundle.helpers import seal

    s = seeds()
    good = [s.request, s.response, s.partial]
    resealed = st.sampled_from(good).flatmap(
        lambda data: json_mutation(json.loads(data))).map(
        lambda obj: seal(obj) if isinstance(obj, dict) else dumps(obj))
    raw = st.sampled_from(good).flatmap(byte_mutation)
    return st.one_of(resealed, resealed, raw, st.binary(max_size=300))


def check_bundle(data: bytes) -> None:
    from transfer.bundle import BundleError, parse_bundle
    try:
        bundle = parse_bundle(data)
    except BundleError:
        return
    assert bundle.to_bytes() in (data, data + b"\n"), "accepted bundle does not round-trip"


# QR frames ----------------------------------------------------------------------------------------

def _reframe(text: str) -> str:
    from transfer.qr.frames import crc_text
    body = text.rpartition(":")[0] if text.count(":") >= 6 else text
    return f"{body}:{crc_text(body)}" if body.isascii() else text


@st.composite
def _frame_field_edit(draw: st.DrawFn, frame: str) -> str:
    parts = frame.rpartition(":")[0].split(":")
    n = draw(st.integers(0, len(parts) - 1))
    parts[n] = draw(st.sampled_from(["", "0", "00", "1", "-1", "9" * 12, "99999999", "A" * 9,
                                     "NCQR2", "1/0", "0/1", "2/1", "10000000/1", parts[n] + "A",
                                     parts[n][:-1], parts[n].lower(), "\u0131", "=="])
                    | st.text(alphabet="0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ/:$%*+-. ",
                              max_size=20))
    return ":".join(parts)


def frame_inputs() -> st.SearchStrategy[str]:
    frames = seeds().frames
    edited = st.sampled_from(frames).flatmap(_frame_field_edit)
    return st.one_of(edited.map(_reframe), edited,
                     st.sampled_from(frames).flatmap(lambda f: byte_mutation(f.encode())).map(
                         lambda b: b.decode("utf-8", "replace")).map(
                         lambda t: _reframe(t) if t.count(":") >= 6 else t),
                     st.text(max_size=80),
                     st.text(alphabet="NCQR1:0123456789ABCDEF/", max_size=80))


def check_frame(text: str) -> None:
    from transfer.qr.errors import FrameError
    from transfer.qr.frames import format_frame, normalize, parse_frame
    try:
        frame = parse_frame(text)
    except FrameError:
        return
    assert format_frame(frame.key, frame.index, frame.payload) == normalize(text), \
        "accepted frame is not in canonical form"


def receiver_inputs() -> st.SearchStrategy[list[str]]:
    frames = seeds().frames
    return st.lists(st.one_of(st.sampled_from(frames), frame_inputs()), min_size=1,
                    max_size=len(frames) + 6)


def check_receiver(texts: list[str]) -> None:
    from transfer.errors import TransferError
    from transfer.qr.receiver import Receiver
    receiver = Receiver()
    try:
        for text in texts:
            receiver.add(text)
        result = receiver.result()
    except TransferError:
        return
    # Whatever completes is exactly the bundle that was framed: nothing else passes the digest.
    assert result.data == seeds().request, "receiver produced bytes that were never sent"


# metadata -----------------------------------------------------------------------------------------

def _resigned(name: str, obj: Any) -> bytes:
    """`obj` as a file whose signature by the role's own key is valid over its signed part."""
    from ceremony.notary.format.encoding import EncodingError, b64encode, canonical_json, envelope
    from tests.metadata.software_signer import SoftwareSigner

    if not isinstance(obj, dict) or "signed" not in obj:
        return dumps(obj)
    try:
        message = canonical_json(obj["signed"])
    except (EncodingError, TypeError, ValueError):
        return dumps(obj)
    keyid, private = seeds().keys[name]
    signer = SoftwareSigner(private)
    return envelope(message, [(keyid, signer.method, b64encode(signer.sign(message)))])


def metadata_inputs() -> st.SearchStrategy[tuple[str, bytes]]:
    files = seeds().metadata

    def mutate(name: str) -> st.SearchStrategy[tuple[str, bytes]]:
        data = files[name]
        obj = json.loads(data)
        signed = json_mutation(obj["signed"]).map(
            lambda signed: _resigned(name, {**obj, "signed": signed}))
        whole = json_mutation(obj).map(dumps)
        return st.one_of(signed, signed, whole, byte_mutation(data)).map(lambda b: (name, b))
    return st.sampled_from(sorted(files)).flatmap(mutate)


def check_metadata(item: tuple[str, bytes]) -> None:
    from ceremony.errors import MetadataFormatError
    from ceremony.notary.format import read_metadata, write_metadata
    name, data = item
    try:
        file = read_metadata(data, name)
    except MetadataFormatError:
        return
    # An accepted file re-encodes; if it was Go-exact, to exactly the same bytes.
    out = write_metadata(file.metadata)
    assert not file.go_exact or out == data, "Go-exact file does not re-encode to itself"


def check_verify(item: tuple[str, bytes]) -> None:
    """verify_repository never raises for bad metadata, and its report always renders."""
    from ceremony.errors import CeremonyError
    from ceremony.notary.format import RepositoryFiles, verify_repository

    name, data = item
    files = dict(seeds().metadata)
    files[name] = data
    repo = RepositoryFiles(source="fuzz")
    for file, content in files.items():
        stem = file.removesuffix(".json")
        if stem.endswith(".root"):
            repo.root_history[int(stem.split(".")[0])] = content
        else:
            repo.roles[stem] = content
    try:
        report = verify_repository(repo, "example.com/fuzz/app")
    except CeremonyError as exc:  # allowed, but the contract is to report, not raise
        raise AssertionError(f"verify_repository raised {type(exc).__name__}: {exc}") from None
    json.dumps(report.to_dict())  # what `ceremony verify --json` prints


# PKCS#11 URIs -------------------------------------------------------------------------------------

GOOD_URIS = ["pkcs11:token=root-a;object=root;type=private",
             "pkcs11:token=my%20token;serial=d2b335b06f3d348f;id=%59%17?module-path=/usr/lib/"
             "softhsm/libsofthsm2.so&pin-source=file:/run/pins/root-a.pin",
             "pkcs11:slot-id=5;object=r;x-vendor=1", "root-a"]


def uri_inputs() -> st.SearchStrategy[str]:
    alphabet = st.sampled_from(list("pkcs11:token=object;?&%0aF/-x") + ["%00", "%zz", "%e2%80",
                                                                         "pin-value=1", "\u00b2"])
    return st.one_of(
        st.sampled_from(GOOD_URIS).flatmap(lambda u: byte_mutation(u.encode())).map(
            lambda b: b.decode("utf-8", "replace")),
        st.lists(alphabet, max_size=30).map("".join),
        st.text(max_size=60))


def check_uri(text: str) -> None:
    from hsm.errors import URIError
    from hsm.uri import format_uri, parse_uri
    try:
        uri = parse_uri(text)
    except URIError:
        return
    assert "pin-value" not in {k.lower() for k in uri.vendor}
    assert parse_uri(format_uri(uri)) == uri, "accepted URI does not round-trip"


# GUNs and roles -----------------------------------------------------------------------------------

def name_inputs() -> st.SearchStrategy[str]:
    parts = st.sampled_from(["example.com", "docker.io", "a", "..", ".", "", "A", "-a", "a-",
                             "\u0435", "\u202e", "localhost:5000", ":1", "targets", "releases",
                             "x" * 70, "a_b", "a.b", "%2e", "\\", "\x00", " "])
    return st.one_of(st.lists(parts, min_size=1, max_size=6).map("/".join),
                     st.text(max_size=40), st.sampled_from(NASTY_TEXT))


def check_gun(text: str) -> None:
    from groundfloor.names import InvalidName, gun_dirname, gun_from_dirname, validate_gun
    try:
        validate_gun(text)
    except InvalidName:
        return
    folder = gun_dirname(text)
    assert text.isascii() and text == text.lower() and len(text) <= 255
    assert "/" not in folder and folder not in (".", "..") and "\x00" not in folder
    assert gun_from_dirname(folder) == text, "GUN folder name is not reversible"


def check_role(text: str) -> None:
    from groundfloor.names import InvalidName, role_relpath, validate_role
    try:
        validate_role(text)
    except InvalidName:
        return
    path = role_relpath(text)
    parts = path.split("/")
    assert not path.startswith("/") and ".." not in parts and "." not in parts and "" not in parts
    assert text.isascii()


# durations and dates ------------------------------------------------------------------------------

def duration_inputs() -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(st.sampled_from(["", "-", "0", "00", "1", "10", "36500", "36501", "9" * 30,
                                   "\u00b2", "\u0661\u0660", "1.5", " 1", "0x1"]),
                  st.sampled_from(["", "y", "Y", "d", "w", "h", "m", "s", "yy", " "])).map(
            "".join),
        st.text(max_size=12))


def check_duration(text: str) -> None:
    from hsm.errors import HSMError
    from hsm.x509 import MAX_VALIDITY, parse_validity
    try:
        value = parse_validity(text)
    except HSMError:
        return
    assert dt.timedelta(0) < value <= MAX_VALIDITY


def date_inputs() -> st.SearchStrategy[str]:
    return st.one_of(
        st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31),
                     timezones=st.none() | st.timezones()).map(lambda d: d.isoformat()),
        st.tuples(st.sampled_from(["0001", "9999", "2030", "10000", "-001", "\u0662\u0660"]),
                  st.sampled_from(["-01-01", "-13-01", "-02-30", ""]),
                  st.sampled_from(["", "T00:00:00", "T23:59:59.999999", "T24:00:00"]),
                  st.sampled_from(["", "Z", "+14:00", "-14:00", "+23:59", "+25:00", "z"])
                  ).map("".join),
        st.text(max_size=30))


def check_date(text: str) -> None:
    from ceremony.errors import MetadataFormatError
    from ceremony.notary.format.repository_check import parse_at
    try:
        instant = parse_at(text)
    except MetadataFormatError:
        return
    str(instant)  # the report prints it


def check_time(text: str) -> None:
    """Notary's own time format: ValueError is this function's documented error."""
    from ceremony.notary.format.encoding import format_time, parse_time_offset
    try:
        ns, offset = parse_time_offset(text)
    except ValueError:
        return
    assert format_time(ns, offset) == text, "accepted time does not re-encode to itself"


def time_inputs() -> st.SearchStrategy[str]:
    return st.one_of(date_inputs(), st.sampled_from(NASTY_TEXT),
                     st.integers(-(2**70), 2**70).map(lambda n: str(n)),
                     st.sampled_from(["2030-01-01T00:00:00Z"]).flatmap(
                         lambda t: byte_mutation(t.encode())).map(
                         lambda b: b.decode("utf-8", "replace")))


# transcripts --------------------------------------------------------------------------------------

def _rechain(rows: list[Any]) -> bytes:
    """Serialise transcript entries canonically with a valid hash chain."""
    prev = "0" * 64
    out = []
    for row in rows:
        if isinstance(row, dict):
            row = {**row, "prev": prev} if "prev" in row else row
        line = dumps(row, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
        out.append(line)
        prev = hashlib.sha256(line).hexdigest()
    return b"\n".join(out) + b"\n"


def transcript_inputs() -> st.SearchStrategy[bytes]:
    data = seeds().transcript
    rows = [json.loads(line) for line in data.splitlines()]

    @st.composite
    def lines(draw: st.DrawFn) -> bytes:
        out = [json.loads(json.dumps(r)) for r in rows]
        op = draw(st.sampled_from(["edit", "edit", "delete", "swap", "duplicate"]))
        n = draw(st.integers(0, len(out) - 1))
        if op == "edit":
            out[n] = draw(json_mutation(out[n]))
        elif op == "delete":
            del out[n]
        elif op == "swap":
            m = draw(st.integers(0, len(out) - 1))
            out[n], out[m] = out[m], out[n]
        else:
            out.insert(n, out[n])
        return _rechain(out)
    return st.one_of(lines(), lines(), byte_mutation(data), st.binary(max_size=200))


def check_transcript(data: bytes) -> None:
    from ceremony.transcript import TranscriptTampered, parse_entries
    try:
        entries, torn = parse_entries(data)
    except TranscriptTampered:
        return
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
    assert b"".join(e.line + b"\n" for e in entries) + torn == data


# PEM keys and certificates ------------------------------------------------------------------------

def _pem(label: bytes, der: bytes) -> bytes:
    text = base64.b64encode(der)
    body = b"\n".join(text[k:k + 64] for k in range(0, len(text), 64))
    return b"-----BEGIN " + label + b"-----\n" + body + b"\n-----END " + label + b"-----\n"


def pem_inputs() -> st.SearchStrategy[tuple[str, bytes]]:
    pem = seeds().certificate_pem
    der = base64.b64decode(b"".join(pem.splitlines()[1:-1]))
    mutated_der = byte_mutation(der).map(lambda d: _pem(b"CERTIFICATE", d))
    return st.tuples(
        st.sampled_from(["ecdsa-x509", "rsa-x509", "ecdsa", "rsa", "ed25519"]),
        st.one_of(mutated_der, mutated_der, byte_mutation(pem), st.just(pem),
                  st.binary(max_size=64),
                  st.sampled_from([b"CERTIFICATE", b"PRIVATE KEY", b"PUBLIC KEY"]).flatmap(
                      lambda label: st.binary(max_size=200).map(lambda d: _pem(label, d)))))


def check_pem(item: tuple[str, bytes]) -> None:
    """A key object from metadata: everything the verifier and the report read from it."""
    import datetime as _dt

    from ceremony.errors import MetadataFormatError
    from ceremony.notary.format import Key
    from ceremony.notary.format.certs import check_root_key
    from ceremony.notary.format.report import KeyReport
    keytype, public = item
    try:
        key = Key.from_dict({"keytype": keytype, "keyval": {
            "private": None, "public": base64.b64encode(public).decode()}})
        key.key_id  # noqa: B018
        KeyReport.of(key.key_id, key)
        check_root_key(key.key_id, key, "example.com/fuzz/app", _dt.datetime.now(_dt.UTC))
        key.public_key  # noqa: B018
        key.canonical_key_id  # noqa: B018
    except MetadataFormatError:
        return


def check_inventory_pem(item: tuple[str, bytes]) -> None:
    """The workspace inventory's PEM checks (public key and certificate of a key record)."""
    from ceremony.inventory import InventoryError, KeyRecord
    _, pem = item
    text = pem.decode("latin-1")
    for public, cert in ((text, ""), (seeds().certificate_pem.decode(), text)):
        try:
            KeyRecord(key_id="a" * 64, canonical_id="b" * 64, role="root",
                      algorithm="ecdsa-p256", token_serial="1", token_label="t", key_label="k",
                      pkcs11_id="01", public_key_pem=public, cert_pem=cert)
        except InventoryError:
            pass


# PIN sources, --trusted-version -------------------------------------------------------------------

def check_pin_source(text: str) -> None:
    from hsm.errors import PinError
    from hsm.pin import parse_pin_source
    try:
        source = parse_pin_source(text)
    except PinError as exc:
        # What the message says for a neutral refused value: words of its own, not the input.
        template = _pin_source_message("zq9xv7wk")
        if len(text) >= 4 and not text.startswith(("env:", "file:")) and text not in template:
            assert text not in str(exc), "a refused pin source is echoed (it may be the PIN)"
        return
    assert source.kind in ("prompt", "env", "file")


@functools.cache
def _pin_source_message(text: str) -> str:
    from hsm.errors import PinError
    from hsm.pin import parse_pin_source
    try:
        parse_pin_source(text)
    except PinError as exc:
        return str(exc)
    return ""


def check_trusted_version(text: str) -> None:
    from ceremony.cli.verify import _trusted_versions
    from ceremony.errors import MetadataFormatError
    try:
        versions = _trusted_versions((text,))
    except MetadataFormatError:
        return
    assert all(isinstance(v, int) and v >= 0 for v in versions.values())


# images (what `transfer receive --images` decodes) ------------------------------------------------

def image_inputs() -> st.SearchStrategy[bytes]:
    return st.one_of(byte_mutation(seeds().png), st.binary(max_size=100),
                     st.just(seeds().png[:60]))


def check_image(data: bytes) -> None:
    """A broken image file is a noted capture error, never an exception."""
    from transfer.qr.capture import iter_images
    fd, name = tempfile.mkstemp(suffix=".png")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        for capture in iter_images([name]):
            assert capture.texts or capture.error
    finally:
        os.unlink(name)


# workspace state files ----------------------------------------------------------------------------

def workspace_inputs() -> st.SearchStrategy[tuple[str, bytes]]:
    index = {"gun": "example.com/fuzz/app",
             "roots": {"1": hashlib.sha256(b"r1").hexdigest()},
             "signed": {"targets": {"version": 1, "sha256": hashlib.sha256(b"t1").hexdigest(),
                                    "time": "2030-01-01T00:00:00Z"}}}
    inventory = {"1": {"serial": "1", "label": "root-a", "manufacturer": "", "model": "",
                       "added": ""}}  # the tokens bucket of the inventory
    return st.one_of(
        json_mutation(index).map(lambda o: ("repo.json", dumps(o))),
        json_mutation(inventory).map(lambda o: ("inventory.json", dumps(o))),
        st.tuples(st.sampled_from(["repo.json", "inventory.json"]),
                  byte_mutation(json.dumps(index).encode())))


def check_workspace(item: tuple[str, bytes]) -> None:
    """A damaged state file is reported as damage (WorkspaceError), never a crash."""
    from ceremony.inventory import TokenRecord
    from ceremony.workspace import Workspace, WorkspaceError
    name, data = item
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace.open(Path(tmp) / "ws", create=True)
        ws.add_trusted_root("example.com/fuzz/app", 1, b"r1")
        ws.record_signed("example.com/fuzz/app", "targets", 1, b"t1")
        ws.add_token(TokenRecord(serial="1", label="root-a"))  # generation 3
        target = (ws.repo_folder("example.com/fuzz/app") / "repo.json" if name == "repo.json"
                  else ws.path / "inventory" / "tokens" / "all" / "00000003.json")
        target.unlink(missing_ok=True)  # hard-linked into older generations: replace it
        target.write_bytes(data)
        fresh = Workspace.open(ws.path)
        try:
            fresh.trusted_roots("example.com/fuzz/app")
            fresh.last_signed("example.com/fuzz/app", "targets")
            fresh.tokens()
            fresh.keys(include_retired=True)
            fresh.guns()
        except WorkspaceError:
            return


PROPERTIES: list[Property] = [
    Property("bundle", bundle_inputs, check_bundle, 200),
    Property("qr-frame", frame_inputs, check_frame, 300),
    Property("qr-receiver", receiver_inputs, check_receiver, 100),
    Property("metadata-reader", metadata_inputs, check_metadata, 200),
    Property("metadata-verifier", metadata_inputs, check_verify, 60),
    Property("pkcs11-uri", uri_inputs, check_uri, 300),
    Property("gun", name_inputs, check_gun, 300),
    Property("role", name_inputs, check_role, 300),
    Property("duration", duration_inputs, check_duration, 200),
    Property("date", date_inputs, check_date, 200),
    Property("notary-time", time_inputs, check_time, 200),
    Property("transcript", transcript_inputs, check_transcript, 200),
    Property("pem-key", pem_inputs, check_pem, 150),
    Property("inventory-pem", pem_inputs, check_inventory_pem, 100),
    Property("pin-source", lambda: st.text(max_size=30) | st.sampled_from(
        ["env:", "env:1A", "file:", "file://host/x", "file:///x", "prompt", "/x", "12345678"]),
        check_pin_source, 200),
    Property("trusted-version", lambda: st.text(max_size=30) | st.sampled_from(
        ["root=1", "=1", "root=", "targets/../root=1", "root=\u00b2", "root=" + "9" * 20]),
        check_trusted_version, 200),
    Property("image", image_inputs, check_image, 60),
    Property("workspace-state", workspace_inputs, check_workspace, 40),
]

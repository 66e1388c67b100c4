"""Bad input for Notary v1 outside a ceremony: metadata and the PEM keys inside it (read by
`verify`), and the GUNs, role names, durations and dates given on the command line (`verify`,
`key cert`)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path

from tests.hardening.cases.rows import GUN, Case, Inputs, Invocation, deep, flip, write


def repository(change: Callable[[Inputs], dict[str, bytes | None]], *extra: str,
               gun: str = GUN) -> Callable[[Inputs, Path], Invocation]:
    """A folder of Notary files (as downloaded) verified by `ceremony verify`; `change` maps
    file names to new bytes (None removes the file)."""
    def run(i: Inputs, work: Path) -> Invocation:
        files: dict[str, bytes | None] = dict(i.repository)
        files.update(change(i))
        for name, data in files.items():
            if data is not None:
                write(work / "repo", name, data)
        return Invocation(("verify", str(work / "repo"), "--gun", gun, *extra))
    return run


def cert(*args: str) -> Callable[[Inputs, Path], Invocation]:
    """`key cert` for key 'root' on token root-a, with the arguments given (GUN, validity)."""
    def run(i: Inputs, work: Path) -> Invocation:
        base = {"--gun": GUN, "--valid-for": "10y"}
        base.update(dict(zip(args[::2], args[1::2], strict=True)))
        flat = [x for pair in base.items() for x in pair]
        return Invocation(("key", "cert", "--token", "root-a", "--label", "root", *flat,
                           "--out", str(work / "root.crt"), "--pin-source", i.pin_source),
                          hsm=True)
    return run


def verify_args(*args: str) -> Callable[[Inputs, Path], Invocation]:
    """`ceremony verify` on the good repository with the arguments given (GUN, --at, roles)."""
    def run(i: Inputs, work: Path) -> Invocation:
        for name, data in i.repository.items():
            write(work / "repo", name, data)
        base = {"--gun": GUN}
        base.update(dict(zip(args[::2], args[1::2], strict=True)))
        flat = [x for pair in base.items() for x in pair]
        return Invocation(("verify", str(work / "repo"), *flat))
    return run


def with_json(name: str, edit: Callable[[dict], None]) -> Callable[[Inputs], dict[str, bytes]]:
    """Re-serialise one metadata file after editing its JSON (signatures then fail, which is
    fine: the reader must refuse the file before it gets that far, or name the signature)."""
    def run(i: Inputs) -> dict[str, bytes]:
        obj = json.loads(i.repository[name])
        edit(obj)
        return {name: json.dumps(obj).encode()}
    return run


def text_edit(name: str, old: bytes, new: bytes) -> Callable[[Inputs], dict[str, bytes]]:
    def run(i: Inputs) -> dict[str, bytes]:
        data = i.repository[name]
        assert old in data, (name, old)
        return {name: data.replace(old, new, 1)}
    return run


def role_version(role: str) -> Callable[[Inputs, Path], Invocation]:
    return verify_args("--trusted-version", f"{role}=1")


def bad_delegation(name: str) -> Callable[[Inputs], dict[str, bytes]]:
    def run(i: Inputs) -> dict[str, bytes]:
        return i.bad_repositories[name]
    return run


def pem_in_root(public: bytes, keytype: str | None = None
                ) -> Callable[[Inputs], dict[str, bytes]]:
    """root.json (and 1.root.json) whose root key carries `public` (a PEM)."""
    def run(i: Inputs) -> dict[str, bytes]:
        obj = json.loads(i.repository["root.json"])
        key_ids = obj["signed"]["roles"]["root"]["keyids"]
        key = obj["signed"]["keys"][key_ids[0]]
        key["keyval"]["public"] = base64.b64encode(public).decode()
        if keytype:
            key["keytype"] = keytype
        data = json.dumps(obj, separators=(",", ":")).encode()
        return {"root.json": data, "1.root.json": data}
    return run


def _pem(label: str, body: bytes) -> bytes:
    text = base64.b64encode(body).decode()
    rows = "\n".join(text[k:k + 64] for k in range(0, len(text), 64))
    return f"-----BEGIN {label}-----\n{rows}\n-----END {label}-----\n".encode()


def root_pem_of(root_json: bytes) -> bytes:
    obj = json.loads(root_json)
    key = obj["signed"]["keys"][obj["signed"]["roles"]["root"]["keyids"][0]]
    return base64.b64decode(key["keyval"]["public"])


def root_pem(i: Inputs) -> bytes:
    return root_pem_of(i.repository["root.json"])


def pem_edit(change: Callable[[bytes], bytes], keytype: str | None = None
             ) -> Callable[[Inputs], dict[str, bytes]]:
    def run(i: Inputs) -> dict[str, bytes]:
        return pem_in_root(change(root_pem(i)), keytype)(i)
    return run


def _der_of(pem: bytes) -> bytes:
    body = b"".join(pem.split(b"\n")[1:-2])
    return base64.b64decode(body)


def _rsa_cert_pem() -> bytes:
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import Encoding

    from tests.metadata.factory import notary_certificate
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return notary_certificate(key, GUN).public_bytes(Encoding.PEM)


def _ed25519_cert_pem() -> bytes:
    from cryptography.hazmat.primitives.asymmetric import ed25519
    from cryptography.hazmat.primitives.serialization import Encoding

    from tests.metadata.factory import notary_certificate
    return notary_certificate(ed25519.Ed25519PrivateKey.generate(), GUN).public_bytes(
        Encoding.PEM)


def _big_metadata(work: Path) -> None:
    with open(work / "repo" / "targets.json", "r+b") as fh:
        fh.truncate(100 * 1024 * 1024 + 1)


def oversized_targets(i: Inputs, work: Path) -> Invocation:
    inv = repository(lambda i: {})(i, work)
    _big_metadata(work)
    return inv


# --- the rows ------------------------------------------------------------------------------------

C = Case

METADATA: list[Case] = [
    # Notary metadata read by `ceremony verify`
    C("metadata-truncated", "metadata",
      repository(lambda i: {"root.json": i.repository["root.json"][:200]}),
      "root.json: invalid JSON"),
    C("metadata-empty-file", "metadata", repository(lambda i: {"timestamp.json": b""}),
      "timestamp.json: invalid JSON"),
    C("metadata-bit-flipped-signature", "metadata",
      repository(lambda i: {"timestamp.json": i.repository["timestamp.json"].replace(
          b'"sig":"', b'"sig":"AAAA', 1)}), "timestamp"),
    C("metadata-bit-flipped-content", "metadata",
      repository(text_edit("targets.json", b'"version":', b'"version":9')),
      "targets"),
    C("metadata-duplicate-key", "metadata",
      repository(text_edit("snapshot.json", b'"version":', b'"version":1,"version":')),
      "duplicate key \"version\""),
    C("metadata-float", "metadata",
      repository(with_json("timestamp.json", lambda o: o["signed"].__setitem__("version", 1.5))),
      "is not an integer"),
    C("metadata-nan", "metadata",
      repository(text_edit("targets.json", b'"version":', b'"x":NaN,"version":')),
      "NaN is not valid"),
    C("metadata-wrong-type-field", "metadata",
      repository(with_json("snapshot.json", lambda o: o["signed"].__setitem__("version", "2"))),
      "snapshot.json: signed.version"),
    C("metadata-_type-is-a-list", "metadata",
      repository(with_json("root.json", lambda o: o["signed"].__setitem__("_type", []))),
      "root.json: signed._type: expected a string, got an array"),
    C("metadata-wrong-_type", "metadata",
      repository(with_json("targets.json", lambda o: o["signed"].__setitem__("_type", "Root"))),
      "targets.json"),
    C("metadata-float-then-syntax-error", "metadata",
      repository(text_edit("timestamp.json", b'"_type":"Timestamp"',
                           b'"_type":1e999"Timestamp"')),
      "timestamp.json: invalid JSON at line 1 column"),
    C("metadata-deeply-nested", "metadata",
      repository(lambda i: {"targets.json": b'{"signed":' + deep(100_000) + b"}"}),
      "nested too deeply"),
    C("metadata-huge-integer", "metadata",
      repository(text_edit("snapshot.json", b'"version":', b'"version":' + b"9" * 5000)),
      "snapshot.json: invalid JSON: a number has thousands of digits"),
    C("metadata-not-utf8", "metadata",
      repository(lambda i: {"targets.json": b"\xff\xfe" + i.repository["targets.json"]}),
      "not valid UTF-8"),
    C("metadata-byte-order-mark", "metadata",
      repository(lambda i: {"root.json": b"\xef\xbb\xbf" + i.repository["root.json"]}),
      "root.json: invalid JSON"),
    C("metadata-control-character", "metadata",
      repository(text_edit("targets/releases.json", b'"targets":{"',
                           b'"targets":{"a\\u0000b":{"hashes":{},"length":1},"')),
      "control character"),
    C("metadata-oversized", "metadata", oversized_targets, "larger than 104857600 bytes"),
    C("metadata-no-root", "metadata",
      repository(lambda i: {n: None for n in i.repository if "root" in n}),
      "no Notary metadata"),
    C("metadata-delegation-traversal", "metadata",
      repository(bad_delegation("targets/../../etc")), "targets/../../etc"),
    C("metadata-delegation-homoglyph", "metadata",
      repository(bad_delegation("targets/r\u0435leases")), "'targets/r\\u0435leases'"),
    C("metadata-delegation-rtl", "metadata",
      repository(bad_delegation("targets/\u202esesaeler")), "'targets/\\u202esesaeler'"),
    C("metadata-delegation-uppercase", "metadata",
      repository(bad_delegation("targets/Releases")), "targets/Releases"),
]

PEMS: list[Case] = [
    # PEM certificates inside root.json keys (what `verify` loads)
    C("pem-garbage-base64", "pem",
      repository(pem_in_root(b"-----BEGIN CERTIFICATE-----\nnot base64 at all!\n"
                             b"-----END CERTIFICATE-----\n")), "unreadable certificate"),
    C("pem-private-key-block", "pem",
      repository(pem_in_root(_pem("PRIVATE KEY", b"\x30\x03\x02\x01\x00"))),
      "unexpected PEM block 'PRIVATE KEY'"),
    C("pem-truncated", "pem", repository(pem_edit(lambda p: p[: len(p) // 2])),
      "holds no PEM certificate"),
    C("pem-der-not-pem", "pem", repository(pem_edit(_der_of)), "holds no PEM certificate"),
    C("pem-empty", "pem", repository(pem_in_root(b"")), "holds no PEM certificate"),
    C("pem-bit-flipped", "pem", repository(pem_edit(lambda p: _pem("CERTIFICATE",
                                                                   flip(_der_of(p), 0.1, 3)))),
      "root"),
    C("pem-bad-public-key-in-cert", "pem",
      repository(pem_edit(lambda p: _pem("CERTIFICATE", _der_of(p).replace(
          bytes.fromhex("034200 04"), bytes.fromhex("034200 05"), 1)))),
      "unreadable certificate"),
    # Two wordings: the metadata layer on main checks the key type against the certificate
    # ("holds an RSA key"); before that, the re-derived key ID or key type names it.
    C("pem-rsa-cert-as-ecdsa", "pem", repository(pem_edit(lambda p: _rsa_cert_pem())),
      ("a ecdsa-x509 key holds an RSA key", "Notary derives key ID")),
    C("pem-ed25519-cert", "pem", repository(pem_edit(lambda p: _ed25519_cert_pem())),
      ("a ecdsa-x509 key holds an Ed25519 key",
       "Notary certificates hold ECDSA or RSA keys only")),
    C("pem-huge-block", "pem",
      repository(pem_in_root(_pem("CERTIFICATE", b"\x30\x82\xff\xff" + b"A" * 600_000))),
      "unreadable certificate"),
    C("pem-in-plain-ecdsa-key", "pem", repository(bad_delegation("targets key as PEM")),
      "unreadable ecdsa public key"),
]

NAMES: list[Case] = [
    # GUNs and role names (command-line arguments that become paths or certificate names)
    C("gun-traversal", "name", verify_args("--gun", "../../etc"), "'.' or '..' component"),
    C("gun-absolute", "name", verify_args("--gun", "/etc/passwd"), "empty path component"),
    C("gun-trailing-slash", "name", verify_args("--gun", GUN + "/"), "empty path component"),
    C("gun-rtl-override", "name", verify_args("--gun", "example.com/\u202eppa"),
      "non-ASCII characters"),
    C("gun-dot-component", "name", verify_args("--gun", "example.com/./app"),
      "'.' or '..' component"),
    C("gun-backslash", "name", verify_args("--gun", "example.com\\app"),
      "invalid first component"),
    C("gun-empty", "name", verify_args("--gun", ""), "GUN is empty"),
    C("gun-uppercase-cert", "name", cert("--gun", "Example.com/App"), "must be lowercase"),
    C("gun-overlong-cert", "name", cert("--gun", "example.com/" + "a" * 300),
      "at most 255"),
    C("gun-homoglyph-cert", "name", cert("--gun", "exampl\u0435.com/app"),
      "GUN 'exampl\\u0435.com/app' contains non-ASCII characters"),
    C("gun-empty-component-cert", "name", cert("--gun", "example.com//app"),
      "empty path component"),
    C("gun-control-character-cert", "name", cert("--gun", "example.com/a\tb"),
      "invalid component"),
    C("role-traversal", "name", role_version("targets/../root"), "not of the form"),
    C("role-uppercase", "name", role_version("targets/Releases"), "not of the form"),
    C("role-homoglyph", "name", role_version("targets/r\u0435leases"),
      "delegation name 'targets/r\\u0435leases' is not of the form"),
    C("role-unknown", "name", role_version("admin"), "unknown role 'admin'"),
    C("role-absolute", "name", role_version("/root"), "unknown role '/root'"),
    C("role-overlong", "name", role_version("targets/" + "a" * 300), "at most 255"),
]

DURATIONS: list[Case] = [
    # durations (`key cert --valid-for`)
    C("duration-zero", "duration", cert("--valid-for", "0y"), "invalid validity '0y'"),
    C("duration-negative", "duration", cert("--valid-for", "-1y"), "invalid validity '-1y'"),
    C("duration-fraction", "duration", cert("--valid-for", "1.5y"), "invalid validity"),
    C("duration-empty", "duration", cert("--valid-for", ""), "invalid validity ''"),
    C("duration-no-number", "duration", cert("--valid-for", "y"), "invalid validity 'y'"),
    C("duration-no-unit", "duration", cert("--valid-for", "10"), "invalid validity '10'"),
    C("duration-unknown-unit", "duration", cert("--valid-for", "10s"), "invalid validity"),
    C("duration-overflow", "duration", cert("--valid-for", "99999999999999999999y"),
      "at most 100 years"),
    C("duration-absurd", "duration", cert("--valid-for", "1000y"), "at most 100 years"),
    C("duration-superscript-digit", "duration", cert("--valid-for", "\u00b2y"),
      "invalid validity"),
    C("duration-arabic-digits", "duration", cert("--valid-for", "\u0661\u0660y"),
      "invalid validity"),
    C("duration-two-units", "duration", cert("--valid-for", "10y10d"), "invalid validity"),
]

DATES: list[Case] = [
    # dates (`verify --at`)
    C("date-words", "date", verify_args("--at", "yesterday"), "not an ISO 8601"),
    C("date-empty", "date", verify_args("--at", ""), "not an ISO 8601"),
    C("date-month-13", "date", verify_args("--at", "2030-13-01"), "not an ISO 8601"),
    C("date-hour-25", "date", verify_args("--at", "2030-01-01T25:00:00"), "not an ISO 8601"),
    C("date-five-digit-year", "date", verify_args("--at", "99999-01-01"), "not an ISO 8601"),
    C("date-negative-year", "date", verify_args("--at", "-2030-01-01"), "not an ISO 8601"),
    C("date-overflow-before-year-1", "date",
      verify_args("--at", "0001-01-01T00:00:00+14:00"), "outside the years 1 to 9999"),
    C("date-overflow-after-9999", "date",
      verify_args("--at", "9999-12-31T23:59:59-14:00"), "outside the years 1 to 9999"),
    C("date-bad-offset", "date", verify_args("--at", "2030-01-01T00:00:00+25:00"),
      "not an ISO 8601"),
    C("date-arabic-digits", "date", verify_args("--at", "\u0662\u0660\u0663\u0660-01-01"),
      "not an ISO 8601"),
]

"""The bad-input catalogue: one row per case, driven through the real CLI in a subprocess.

Each row has a case id, the input kind, how to make the input, and text the error line must
contain (so it names the problem, not some later failure). Every case is checked the same way
(`run_case`): exit status 1 (or 2 for a usage error), no traceback and no internal error,
exactly one `error: ...` line on stderr and it is the last one (commands that show progress may
print `note:`/`received` lines before it), and a full listing of the case folder -- inputs,
would-be outputs, the SoftHSM token store -- identical before and after: nothing written or
changed, not even a temp file made and removed.

Used by tests/hardening/test_bad_input.py and bench/robustness.py.
"""

from __future__ import annotations

import base64
import json
import os
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import qrcode

from groundfloor.limits import MAX_BUNDLE_BYTES
from tests.bundle.helpers import as_obj, sample_request, sample_response, seal
from tests.conftest import CliResult
from tests.hardening.bounded import RSS_LIMIT, Measured, run_measured
from tests.hardening.snapshot import Listing, differences, tree
from transfer.qr.encoder import build_message, plan_series, series_from_message
from transfer.qr.frames import crc_text
from transfer.qr.render import matrix_image, png_bytes, qr_matrix, symbol_for

GUN = "example.com/hardening/app"
PUBLISH = ("--server", "https://127.0.0.1:9")  # parsing fails first: no connection is made


@dataclass
class Inputs:
    """Good inputs that the cases break, made once (see make_inputs)."""

    request: bytes
    response: bytes
    bundle_for_qr: bytes
    repository: dict[str, bytes]  # file name (roles, N.root.json) -> bytes, validly signed
    bad_repositories: dict[str, dict[str, bytes]]  # validly signed, with something bad inside
    transcript: bytes
    hsm_env: dict[str, str]
    hsm_root: Path
    pin_source: str
    public_pem: bytes = b""  # a good signer key (EC P-256, public)
    private_pem: bytes = b""  # its private half: what must never be accepted


@dataclass(frozen=True)
class Invocation:
    args: tuple[str, ...]
    stdin: bytes = b""
    hsm: bool = False  # needs the SoftHSM environment
    wrapper: tuple[str, ...] = ()  # a command prefix (AIRGAPPED for the ceremonies)
    # A ceremony that refuses its --request has already started its transcript: the one
    # change allowed is that transcript (in this workspace), which must record the refusal
    # and verify (see _allowed_transcript).
    transcript_in: Path | None = None


@dataclass(frozen=True)
class Case:
    id: str
    kind: str
    make: Callable[[Inputs, Path], Invocation] = field(repr=False)
    expect: str | tuple[str, ...]  # the error line contains this (or one of these)

    def __str__(self) -> str:
        return self.id


# --- input kinds: how a broken input reaches its command ----------------------------------------

def _write(work: Path, name: str, data: bytes) -> Path:
    path = work / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def bundle(make: Callable[[Inputs], bytes]) -> Callable[[Inputs, Path], Invocation]:
    """A response bundle read by `online publish` (the reader in main today)."""
    def run(i: Inputs, work: Path) -> Invocation:
        path = _write(work, "response.bundle", make(i))
        return Invocation(("online", "publish", str(path), *PUBLISH))
    return run


def sparse_bundle(i: Inputs, work: Path) -> Invocation:
    path = work / "huge.bundle"
    with open(path, "wb") as fh:
        fh.truncate(MAX_BUNDLE_BYTES + 1)
    return Invocation(("online", "publish", str(path), *PUBLISH))


def lines(make: Callable[[Inputs], bytes], *extra: str) -> Callable[[Inputs, Path], Invocation]:
    """Scanner lines typed into `transfer receive --stdin`."""
    def run(i: Inputs, work: Path) -> Invocation:
        return Invocation(("transfer", "receive", "--stdin", "--out", str(work / "out.bundle"),
                           *extra), stdin=make(i))
    return run


def images(make: Callable[[Inputs, Path], list[str]]) -> Callable[[Inputs, Path], Invocation]:
    """Image files read by `transfer receive --images`."""
    def run(i: Inputs, work: Path) -> Invocation:
        return Invocation(("transfer", "receive", "--images", *make(i, work), "--out",
                           str(work / "out.bundle")))
    return run


def repository(change: Callable[[Inputs], dict[str, bytes | None]], *extra: str,
               gun: str = GUN) -> Callable[[Inputs, Path], Invocation]:
    """A folder of Notary files (as downloaded) verified by `ceremony verify`; `change` maps
    file names to new bytes (None removes the file)."""
    def run(i: Inputs, work: Path) -> Invocation:
        files: dict[str, bytes | None] = dict(i.repository)
        files.update(change(i))
        for name, data in files.items():
            if data is not None:
                _write(work / "repo", name, data)
        return Invocation(("verify", str(work / "repo"), "--gun", gun, *extra))
    return run


def transcript(make: Callable[[Inputs], bytes], *extra: str
               ) -> Callable[[Inputs, Path], Invocation]:
    def run(i: Inputs, work: Path) -> Invocation:
        path = _write(work, "ceremony.jsonl", make(i))
        return Invocation(("transcript", "verify", str(path), *extra))
    return run


def uri(text: str, *, pin: bool = True) -> Callable[[Inputs, Path], Invocation]:
    """`token keys URI` with a PIN source that would work: only the URI is wrong (`pin=False`:
    no --pin-source, which would override the URI's)."""
    def run(i: Inputs, work: Path) -> Invocation:
        pin_args = ("--pin-source", i.pin_source) if pin else ()
        return Invocation(("token", "keys", text, *pin_args), hsm=True)
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
            _write(work / "repo", name, data)
        base = {"--gun": GUN}
        base.update(dict(zip(args[::2], args[1::2], strict=True)))
        flat = [x for pair in base.items() for x in pair]
        return Invocation(("verify", str(work / "repo"), *flat))
    return run


def ceremony(*args: str, request: Callable[[Inputs], bytes] | None = None
             ) -> Callable[[Inputs, Path], Invocation]:
    """A key ceremony (`init`, `signer add`, `delegation add`, `renew` ...) run as on the
    offline machine (loopback only), on an empty workspace made beforehand in the case folder,
    with the request given (`request`: a broken one; else the good sample request, with the
    error expected from the arguments, before any transcript is started)."""
    def run(i: Inputs, work: Path) -> Invocation:
        from ceremony.workspace import Workspace
        from tests.conftest import AIRGAPPED
        ws = work / "workspace"
        Workspace.open(ws, create=True)
        req = _write(work, "request.bundle", request(i) if request else i.request)
        key = _write(work, "signer.pub", i.public_pem)
        flat = tuple(key if a == "{KEY}" else a for a in args)
        return Invocation((*flat, "--request", str(req), "--out", str(work / "out.bundle"),
                           "--workspace", str(ws), "--yes"), wrapper=AIRGAPPED,
                          transcript_in=ws / "transcripts" if request else None)
    return run


def signer_key(make: Callable[[Inputs, Path], bytes]) -> Callable[[Inputs, Path], Invocation]:
    """`signer add --key PEM` with a broken PEM (the request is good)."""
    def run(i: Inputs, work: Path) -> Invocation:
        inv = ceremony("signer", "add", GUN, "alice", "--key", str(work / "bad.pem"),
                       "--targets-token", "targets")(i, work)
        _write(work, "bad.pem", make(i, work))
        return inv
    return run


def foreign_public(kind: str) -> Callable[[Inputs, Path], bytes]:
    """A public key of a type Notary has no key type for (DSA, Ed448)."""
    def run(i: Inputs, work: Path) -> bytes:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import dsa, ed448
        key = (dsa.generate_private_key(1024) if kind == "dsa"
               else ed448.Ed448PrivateKey.generate())
        return key.public_key().public_bytes(serialization.Encoding.PEM,
                                             serialization.PublicFormat.SubjectPublicKeyInfo)
    return run


def signer(name: str) -> Callable[[Inputs, Path], Invocation]:
    return ceremony("signer", "add", GUN, name, "--key", "{KEY}", "--targets-token", "targets")


def delegation(role: str) -> Callable[[Inputs, Path], Invocation]:
    return ceremony("delegation", "add", GUN, role, "--key", "{KEY}", "--all-paths",
                    "--targets-token", "targets")


def renew(*args: str) -> Callable[[Inputs, Path], Invocation]:
    return ceremony("renew", GUN, *args)


def init_request(make: Callable[[Inputs], bytes]) -> Callable[[Inputs, Path], Invocation]:
    return ceremony("init", "--root-token", "root-a", "--targets-token", "targets",
                    request=make)


# --- how good inputs are broken ----------------------------------------------------------------

def flip(data: bytes, where: float, bit: int = 0) -> bytes:
    out = bytearray(data)
    out[int(len(out) * where)] ^= 1 << bit
    return bytes(out)


def resealed(make: Callable[[dict], None]) -> Callable[[Inputs, Path], Invocation]:
    """Edit the response object, then re-seal it with a valid digest: only the content is bad."""
    def run(i: Inputs) -> bytes:
        obj = as_obj(i.response)
        make(obj)
        return seal(obj)
    return bundle(run)


def _repo0(obj: dict) -> dict:
    return obj["content"]["repositories"][0]


def _set(path: list, value: object) -> Callable[[dict], None]:
    def run(obj: dict) -> None:
        target = obj
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
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


def frames(i: Inputs, frame_bytes: int = 300) -> list[str]:
    return plan_series(i.bundle_for_qr, frame_bytes).frames(0)


def reframed(text: str) -> str:
    """A frame body with a correct checksum: gets past the CRC, so deeper checks are tested."""
    body = text.rpartition(":")[0] if text.count(":") == 6 else text
    return f"{body}:{crc_text(body)}"


def with_field(frame: str, index: int, value: str) -> str:
    parts = frame.rpartition(":")[0].split(":")
    parts[index] = value
    return reframed(":".join(parts))


def forged(message_of: Callable[[bytes], tuple[bytes, bytes, int]], frame_bytes: int = 200
           ) -> Callable[[Inputs], bytes]:
    """Frames of a hand-built message: (digest, message, declared size) from the bundle."""
    def run(i: Inputs) -> bytes:
        digest, message, size = message_of(i.bundle_for_qr)
        series = series_from_message(digest, message, size, frame_bytes)
        return "\n".join(series.frames(0)).encode() + b"\n"
    return run


def bomb(data: bytes) -> tuple[bytes, bytes, int]:
    payload = b"\0" * (4 * 1024 * 1024)
    digest = build_message(payload)[0]
    return digest, digest + zlib.compress(payload, 9), 1000  # declares 1000 bytes


def truncated_zlib(data: bytes) -> tuple[bytes, bytes, int]:
    digest, message = build_message(data)
    return digest, message[:-8], len(data)


def padded_frames(i: Inputs) -> bytes:
    """Frames whose message padding (the bytes after MSGLEN) is not zero, checksums valid."""
    digest, message = build_message(i.bundle_for_qr)
    size = next(fb for fb in range(100, 1000)  # a frame size that leaves padding
                if (n := -(-len(message) // fb)) * -(-len(message) // n) > len(message))
    series = series_from_message(digest, message, len(i.bundle_for_qr), size)
    texts = series.frames(0)
    parts = texts[-1].rpartition(":")[0].split(":")
    payload = base64.b32decode(parts[5] + "=" * (-len(parts[5]) % 8))
    parts[5] = base64.b32encode(payload[:-1] + b"\x01").decode().rstrip("=")
    texts[-1] = reframed(":".join(parts))
    return "\n".join(texts).encode() + b"\n"


def qr_png(text: str | bytes, path: Path) -> str:
    code = qrcode.QRCode(border=4)
    code.add_data(text)
    code.make(fit=True)
    code.make_image().save(path)
    return str(path)


def frame_pngs(texts: list[str], work: Path) -> list[str]:
    out = []
    for n, text in enumerate(texts, 1):
        from transfer.qr.frames import parse_frame
        symbol = symbol_for(parse_frame(text).key)
        out.append(str(_write(work, f"f{n:03d}.png", png_bytes(matrix_image(
            qr_matrix(text, symbol), 6)))))
    return out


def png_bomb(work: Path) -> list[str]:
    """A tiny PNG declaring 65535 x 65535 pixels: Pillow's decompression-bomb guard."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(
            ">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", 65535, 65535, 1, 0, 0, 0, 0)
    data = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\0" * 1024)) + chunk(b"IEND", b""))
    return [str(_write(work, "bomb.png", data))]


def truncated_png(i: Inputs, work: Path) -> list[str]:
    (path,) = frame_pngs(frames(i, 700)[:1], work)
    data = Path(path).read_bytes()
    Path(path).write_bytes(data[:len(data) // 2])
    return [path]


def broken_png(i: Inputs, work: Path) -> list[str]:
    """A frame PNG with 8 bytes inserted inside its image data: Pillow says SyntaxError."""
    (path,) = frame_pngs(frames(i, 700)[:1], work)
    data = Path(path).read_bytes()
    Path(path).write_bytes(data[:len(data) // 2] + bytes(8) + data[len(data) // 2:])
    return [path]


def transcript_lines(i: Inputs) -> list[bytes]:
    return i.transcript.split(b"\n")[:-1]


def transcript_edit(n: int, old: bytes, new: bytes) -> Callable[[Inputs], bytes]:
    def run(i: Inputs) -> bytes:
        rows = transcript_lines(i)
        assert old in rows[n], (rows[n], old)
        rows[n] = rows[n].replace(old, new, 1)
        return b"\n".join(rows) + b"\n"
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


def deep(n: int) -> bytes:
    return b"[" * n + b"]" * n


# --- the catalogue ------------------------------------------------------------------------------

C = Case
CATALOGUE: list[Case] = [
    # request/response bundles (`online publish` parses before any connection)
    C("bundle-empty", "bundle", bundle(lambda i: b""), "is empty"),
    C("bundle-truncated", "bundle", bundle(lambda i: i.response[: len(i.response) // 2]),
      "truncated"),
    C("bundle-bit-flipped", "bundle", bundle(lambda i: flip(i.response, 0.7, 1)),
      "digest mismatch"),
    C("bundle-oversized", "bundle", sparse_bundle, "larger than the limit"),
    C("bundle-deeply-nested", "bundle", bundle(lambda i: deep(100_000)), "nested too deeply"),
    C("bundle-duplicate-key", "bundle",
      bundle(lambda i: i.response.replace(b'{"content":', b'{"kind":"request","content":', 1)),
      "duplicate key 'kind'"),
    C("bundle-version-as-string", "bundle", resealed(_set(["version"], "1")),
      "unsupported bundle version '1'"),
    C("bundle-float", "bundle",
      bundle(lambda i: i.response.replace(b'"request_sha256":', b'"n":1.5,"request_sha256":', 1)),
      "fraction or exponent"),
    C("bundle-integer-too-large", "bundle",
      bundle(lambda i: i.response.replace(b'"version":1', b'"version":1' + b"0" * 30, 1)),
      "too large"),
    C("bundle-non-ascii", "bundle",
      bundle(lambda i: i.response.replace(b'"tool":"', b'"tool":"\xc3\xa9', 1)),
      "non-ASCII byte"),
    C("bundle-binary-garbage", "bundle", bundle(lambda i: os.urandom(64) + b"\xff"),
      "non-ASCII byte"),
    C("bundle-pretty-printed", "bundle",
      bundle(lambda i: json.dumps(as_obj(i.response), indent=1, sort_keys=True).encode()),
      "not in canonical form"),
    C("bundle-unknown-field", "bundle", resealed(_set(["content", "extra"], 1)),
      "unknown field 'extra'"),
    C("bundle-files-wrong-type", "bundle",
      resealed(lambda o: _repo0(o).__setitem__("files", {"role": "root"})), "expected an array"),
    C("bundle-gun-traversal", "bundle",
      resealed(lambda o: _repo0(o).__setitem__("gun", "../../etc/cron.d")),
      "'.' or '..' component"),
    C("bundle-gun-absolute", "bundle",
      resealed(lambda o: _repo0(o).__setitem__("gun", "/etc/passwd")), "empty path component"),
    C("bundle-gun-rtl-override", "bundle",
      resealed(lambda o: _repo0(o).__setitem__("gun", "example.com/\u202eppa")),
      "non-ASCII characters"),
    C("bundle-gun-homoglyph", "bundle",
      resealed(lambda o: _repo0(o).__setitem__("gun", "examp\u04cfe.com/app")),
      "GUN 'examp\\u04cfe.com/app' contains non-ASCII characters"),
    C("bundle-gun-uppercase", "bundle",
      resealed(lambda o: _repo0(o).__setitem__("gun", "Example.com/App")), "must be lowercase"),
    C("bundle-role-traversal", "bundle",
      resealed(lambda o: _repo0(o)["files"][2].__setitem__("role", "targets/../../root")),
      "not of the form targets/NAME"),
    C("bundle-timestamp-role", "bundle",
      resealed(lambda o: _repo0(o)["files"][2].__setitem__("role", "timestamp")),
      "timestamp is made by the server"),
    C("bundle-base64-not-canonical", "bundle",
      resealed(lambda o: _repo0(o)["files"][1].__setitem__("data", "eR==")),
      "base64 is not in canonical form"),
    C("bundle-request-not-response", "bundle", bundle(lambda i: i.request),
      "expected a response bundle"),

    # QR frames typed by a scanner (`transfer receive --stdin`)
    C("lines-garbage", "qr-lines", lines(lambda i: b"hello world\nscanner test 123\n"),
      "no ceremony transfer frames received (2 foreign)"),
    C("lines-empty", "qr-lines", lines(lambda i: b""), "no ceremony transfer frames received"),
    C("lines-truncated-frame", "qr-lines",
      lines(lambda i: frames(i)[0][:120].encode() + b"\n"), "frame checksum mismatch"),
    C("lines-wrong-crc", "qr-lines",
      lines(lambda i: (frames(i)[0][:-8] + "00000000\n").encode()), "frame checksum mismatch"),
    C("lines-other-version", "qr-lines",
      lines(lambda i: (reframed(frames(i)[0].replace("NCQR1", "NCQR2", 1)) + "\n").encode()),
      "frame format NCQR2 is not supported"),
    C("lines-decompression-bomb", "qr-lines", lines(forged(bomb, 1500)),
      "inflates past its declared size of 1000 bytes"),
    C("lines-declared-size-over-cap", "qr-lines",
      lines(lambda i: (with_field(frames(i)[0], 4, str(16 * 1024 * 1024 + 1)) + "\n").encode()),
      "over the 16 MiB limit"),
    C("lines-over-max-size", "qr-lines",
      lines(lambda i: "\n".join(frames(i)).encode(), "--max-size", "100"),
      "over the 100-byte limit"),
    C("lines-lying-message-length", "qr-lines",
      lines(lambda i: (with_field(frames(i)[0], 3, "99999999") + "\n").encode()),
      "message length does not match"),
    C("lines-tampered-payload", "qr-lines",
      lines(lambda i: "\n".join(
          [with_field(f, 5, "B" + f.split(":")[5][1:]) if n == 1 else f
           for n, f in enumerate(frames(i))]).encode()),
      "nothing written"),
    C("lines-missing-frames", "qr-lines",
      lines(lambda i: "\n".join(frames(i, 100)[:1] + frames(i, 100)[3:]).encode()),
      "still misses 2 of"),
    C("lines-bad-base32", "qr-lines",
      lines(lambda i: (with_field(frames(i)[0], 5, "A1" + frames(i)[0].split(":")[5][2:])
                       + "\n").encode()), "malformed frame: bad field"),
    C("lines-non-canonical-base32", "qr-lines",
      lines(lambda i: (with_field(frames(i)[0], 5, frames(i)[0].split(":")[5] + "A")
                       + "\n").encode()), "malformed frame"),
    C("lines-index-zero", "qr-lines",
      lines(lambda i: (with_field(frames(i)[0], 2, "0/" + frames(i)[0].split(":")[2]
                                  .split("/")[1]) + "\n").encode()),
      "index or count out of range"),
    C("lines-huge-numbers", "qr-lines",
      lines(lambda i: (with_field(frames(i)[0], 2, "1/99999999999999999999") + "\n").encode()),
      "malformed frame: bad field"),
    C("lines-non-ascii-bytes", "qr-lines",
      lines(lambda i: b"NCQR1:\xff\xfe:ABCDEF01\nNCQR1:\xc3\xa9:ABCDEF01\n"),
      "non-ASCII characters"),
    C("lines-lookalike-letters", "qr-lines",
      lines(lambda i: (frames(i)[0].lower().replace("ncqr1", "ncqr\u0131", 1) + "\n")
            .encode()), "no ceremony transfer frames received (1 foreign)"),
    C("lines-nul-bytes", "qr-lines", lines(lambda i: b"NCQR1:\0\0\0\0:ABCDEF01\n"),
      "frame checksum mismatch"),
    C("lines-one-huge-line", "qr-lines", lines(lambda i: b"NCQR1:" + b"A" * 4_000_000 + b"\n"),
      "frame checksum mismatch"),
    C("lines-padding-not-zero", "qr-lines", lines(padded_frames), "padding is not zero"),
    C("lines-truncated-zlib", "qr-lines", lines(forged(truncated_zlib)),
      "truncated or over-long zlib stream"),

    # QR codes in images (`transfer receive --images`)
    C("images-not-an-image", "qr-images",
      images(lambda i, w: [str(_write(w, "photo.png", b"this is not a PNG"))]),
      "no ceremony transfer frames received"),
    C("images-empty-file", "qr-images",
      images(lambda i, w: [str(_write(w, "photo.jpg", b""))]),
      "no ceremony transfer frames received"),
    C("images-truncated-png", "qr-images", images(truncated_png),
      "no ceremony transfer frames received"),
    C("images-broken-png-chunk", "qr-images", images(broken_png),
      "no ceremony transfer frames received"),
    C("images-decompression-bomb", "qr-images", images(lambda i, w: png_bomb(w)),
      "no ceremony transfer frames received"),
    C("images-foreign-qr", "qr-images",
      images(lambda i, w: [qr_png("https://example.com/not-a-frame", w / "url.png")]),
      "no ceremony transfer frames received (1 foreign)"),
    C("images-non-ascii-frame", "qr-images",
      images(lambda i, w: [qr_png("NCQR1:\u00e9\u00e9:ABCDEF01".encode(), w / "u.png")]),
      "non-ASCII characters"),
    C("images-lying-size", "qr-images",
      images(lambda i, w: frame_pngs(series_from_message(*bomb(b"")[:2], 1000, 1500)
                                     .frames(0), w)),
      "inflates past its declared size"),
    C("images-empty-folder", "qr-images",
      images(lambda i, w: [str((w / "photos").mkdir() or w / "photos")]),
      "holds no image files"),
    C("images-missing-path", "qr-images", images(lambda i, w: [str(w / "nope")]),
      "no such file or folder"),

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

    # transcripts (`ceremony transcript verify`)
    C("transcript-empty", "transcript", transcript(lambda i: b""), "is empty"),
    C("transcript-truncated", "transcript", transcript(lambda i: i.transcript[:-30]),
      "torn entry"),
    C("transcript-bit-flipped", "transcript",
      transcript(lambda i: i.transcript.replace(b'"i":1', b'"i":3', 1)), "chain broken"),
    C("transcript-duplicate-key", "transcript",
      transcript(transcript_edit(1, b'{"data":', b'{"kind":"x","data":')), "duplicate key"),
    C("transcript-nan", "transcript", transcript(transcript_edit(1, b'"i":0', b'"i":NaN')),
      "NaN is not a JSON number"),
    C("transcript-infinite-number", "transcript",
      transcript(transcript_edit(1, b'"i":0', b'"i":1e400')), "out of range"),
    C("transcript-deeply-nested", "transcript",
      transcript(transcript_edit(1, b'"i":0', b'"i":' + deep(100_000))),
      "line 2 is not a valid entry"),
    C("transcript-huge-integer", "transcript",
      transcript(transcript_edit(1, b'"i":0', b'"i":' + b"7" * 5000)),
      "line 2 is not a valid entry"),
    C("transcript-non-ascii", "transcript",
      transcript(transcript_edit(1, b'"i":0', b'"i":"\xc3\xa9"')), "non-ASCII bytes"),
    C("transcript-entry-deleted", "transcript",
      transcript(lambda i: b"\n".join(
          transcript_lines(i)[:2] + transcript_lines(i)[3:]) + b"\n"),
      "entry seq 3 is missing"),
    C("transcript-seq-as-string", "transcript",
      transcript(transcript_edit(1, b'"seq":2', b'"seq":"2"')),
      "line 2, field seq: expected an integer, got a string"),
    C("transcript-binary-garbage", "transcript", transcript(lambda i: b"\x00\x01\xfe\n"),
      "line 1 is not a valid entry"),
    C("transcript-wrong-expected-digest", "transcript",
      transcript(lambda i: i.transcript, "--expect", "zz" * 32), "does not match"),
    C("transcript-is-a-directory", "transcript",
      lambda i, w: Invocation(("transcript", "verify", str((w / "d").mkdir() or w / "d"))),
      "is a directory"),

    # PKCS#11 URIs (`ceremony token keys URI`)
    C("uri-malformed", "uri", uri("token=root-a;object=root"), "must start with 'pkcs11:'"),
    C("uri-pin-value", "uri", uri("pkcs11:token=root-a?pin-value=31337-secret"),
      "'pin-value' refused"),
    C("uri-unknown-attribute", "uri", uri("pkcs11:token=root-a;objekt=root"),
      "unknown path attribute 'objekt'"),
    C("uri-bad-percent-encoding", "uri", uri("pkcs11:token=root%2"), "bad percent-encoding"),
    C("uri-percent-non-hex", "uri", uri("pkcs11:object=%zzroot"), "bad percent-encoding"),
    C("uri-nul-byte", "uri", uri("pkcs11:token=root-a%00x"), "no token matches"),
    C("uri-not-utf8", "uri", uri("pkcs11:token=%ff%fe"), "is not UTF-8"),
    C("uri-repeated-attribute", "uri", uri("pkcs11:token=root-a;token=root-b"), "given twice"),
    C("uri-empty-value", "uri", uri("pkcs11:token="), "'token' is empty"),
    C("uri-bad-type", "uri", uri("pkcs11:token=root-a;type=secret"), "type='secret'"),
    C("uri-unicode-digit-slot", "uri", uri("pkcs11:slot-id=\u00b2"),
      "slot-id must be a decimal number"),
    C("uri-fragment", "uri", uri("pkcs11:token=root-a#x"), "fragments"),
    C("uri-module-name", "uri", uri("pkcs11:token=root-a?module-name=softhsm2"),
      "module-name is not supported"),
    C("uri-rtl-label", "uri", uri("root\u202ea-"), "no token matches"),
    C("uri-pin-source-is-a-pin", "uri",
      uri("pkcs11:token=root-a?pin-source=31337-secret", pin=False), "unsupported pin-source"),
    C("uri-stray-separator", "uri", uri("pkcs11:token=root-a;;object=root"),
      "empty attribute"),
    C("uri-path-attribute-in-query", "uri", uri("pkcs11:token=root-a?object=root"),
      "it belongs in the path"),

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
    # the key ceremonies' inputs (offline, loopback only, on an empty workspace)
    C("request-truncated", "bundle", init_request(lambda i: i.request[: len(i.request) // 2]),
      "request.bundle: bundle is truncated"),
    C("request-bit-flipped", "bundle",  # one bit of the fetch time: '5' -> '4'
      init_request(lambda i: i.request.replace(b"03:04:05Z", b"03:04:04Z", 1)),
      "digest mismatch"),
    C("request-is-a-response", "bundle", init_request(lambda i: i.response),
      "expected a request bundle, got a response bundle"),
    C("request-empty", "bundle", init_request(lambda i: b""), "is empty"),
    C("signer-key-garbage", "pem", signer_key(lambda i, w: b"garbage\n"),
      "holds no PEM public key or certificate"),
    C("signer-key-private", "pem", signer_key(lambda i, w: i.private_pem),
      "holds a PRIVATE key; give the public key or certificate only"),
    C("signer-key-dsa", "pem",
      signer_key(foreign_public("dsa")),
      "Notary has no key type for DSAPublicKey"),
    C("signer-key-ed448", "pem", signer_key(foreign_public("ed448")),
      "Notary has no key type for Ed448PublicKey"),
    C("signer-key-truncated", "pem",
      signer_key(lambda i, w: i.public_pem[: len(i.public_pem) // 2]),
      "its PEM public key is damaged or truncated"),
    C("signer-name-releases", "name", signer("releases"),
      "'releases' is reserved for the role every signer shares"),
    C("signer-name-uppercase", "name", signer("Alice"), "signer name 'Alice' is not valid"),
    C("signer-name-traversal", "name", signer("../x"), "signer name '../x' is not valid"),
    C("signer-name-homoglyph", "name", signer("\u0430lice"),
      "signer name '\\u0430lice' is not valid"),
    C("signer-name-newline", "name", signer("alice\n"), "signer name 'alice\\n' is not valid"),
    C("delegation-traversal", "name", delegation("targets/../x"),
      "delegation 'targets/../x': delegation names use only"),
    C("delegation-root", "name", delegation("root"),
      "delegation 'root': delegation names start with targets/"),
    C("delegation-too-long", "name", delegation("targets/" + "a" * 300),
      "delegation names are under 256 characters"),
    C("renew-expires-negative", "duration", renew("--role", "targets", "--expires=-1d",
                                                  "--targets-token", "targets"),
      "--expires '-1d': use a whole number with a unit"),
    C("renew-expires-zero", "duration", renew("--role", "targets", "--expires", "0d",
                                              "--targets-token", "targets"),
      "--expires '0d': use a whole number with a unit"),
    C("renew-expires-absurd", "duration", renew("--role", "targets", "--expires", "99999y",
                                                "--targets-token", "targets"),
      "--expires '99999y' is more than 100 years"),
    C("renew-expires-garbage", "duration", renew("--role", "targets", "--expires", "garbage",
                                                 "--targets-token", "targets"),
      "--expires 'garbage': use a whole number with a unit"),
    C("renew-reissue-within-negative", "duration",
      renew("--role", "root", "--reissue-within=-1d", "--root-token", "root-a"),
      "--reissue-within '-1d': use a whole number with a unit"),
    C("renew-reissue-within-garbage", "duration",
      renew("--role", "root", "--reissue-within", "soon", "--root-token", "root-a"),
      "--reissue-within 'soon': use a whole number with a unit"),
    C("renew-reissue-within-absurd", "duration",
      renew("--role", "root", "--reissue-within", "1000y", "--root-token", "root-a"),
      "--reissue-within '1000y' is more than 100 years"),
]

# Input kinds, in the order reports list them.
KINDS = ["bundle", "qr-lines", "qr-images", "metadata", "pem", "transcript", "uri", "name",
         "duration", "date"]
# Commands that show progress on stderr before their one error line.
PROGRESS_LINES = ("note: ", "received ", "warning: ")
PROGRESS_KINDS = ("qr-lines", "qr-images")


# --- making the good inputs ----------------------------------------------------------------------

def make_inputs(folder: Path, hsm_env: dict[str, str], hsm_root: Path, pin_source: str
                ) -> Inputs:
    """Good inputs for every kind; `folder` is scratch space for the transcript."""
    from cryptography.hazmat.primitives.asymmetric import ec

    from ceremony.notary.format import DelegatedRole, Key, Role, Targets, key_from_public_key
    from ceremony.transcript import Transcript
    from tests.metadata.factory import SoftRepo

    repo = SoftRepo.create(GUN)
    repo.add_delegation("targets/releases")
    repo.add_target("targets/releases", "app-1.0.tar.gz")
    repo.refresh()
    files = {f"{role}.json": data for role, data in repo.files.items()}
    files.update({f"{n}.root.json": data for n, data in repo.root_history.items()})

    def files_of(variant: SoftRepo) -> dict[str, bytes]:
        out = {f"{role}.json": data for role, data in variant.files.items()}
        out.update({f"{n}.root.json": d for n, d in variant.root_history.items()})
        # the good repository's delegation file does not belong to a variant
        out.update({other: None for other in files if other not in out})  # type: ignore
        return out

    bad: dict[str, dict[str, bytes]] = {}
    # A plain targets key whose public part is a PEM certificate, not DER, listed under its
    # own (right) ID in a re-signed root; targets.json carries a signature naming it.
    variant = SoftRepo.create(GUN)
    (old_id,) = variant.root.role_keys("targets")
    pem_key = Key("ecdsa", root_pem_of(variant.files["root"]))
    del variant.root.keys[old_id]
    variant.root.keys[pem_key.key_id] = pem_key
    variant.root.roles["targets"] = Role([pem_key.key_id], 1)
    variant.sign_root()
    targets_obj = json.loads(variant.files["targets"])
    targets_obj["signatures"] = [{"keyid": pem_key.key_id, "method": "ecdsa",
                                  "sig": base64.b64encode(bytes(64)).decode()}]
    variant.files["targets"] = json.dumps(targets_obj, separators=(",", ":")).encode()
    variant.refresh()
    bad["targets key as PEM"] = files_of(variant)
    for name in ("targets/../../etc", "targets/r\u0435leases", "targets/\u202esesaeler",
                 "targets/Releases"):
        variant = SoftRepo.create(GUN)
        key = key_from_public_key(ec.generate_private_key(ec.SECP256R1()).public_key())

        def delegate(t: Targets, n: str = name, k: Key = key) -> None:
            t.delegations.keys[k.key_id] = k
            t.delegations.roles.append(DelegatedRole(n, [k.key_id], 1, [""]))
        variant.modify("targets", delegate)
        variant.refresh()
        bad[name] = files_of(variant)

    log = folder / "good.jsonl"
    with Transcript.create(log, ceremony="hardening", participants=["A", "B"]) as t:
        for n in range(3):
            t.append("note", {"i": n})
    from cryptography.hazmat.primitives import serialization
    signer_private = ec.generate_private_key(ec.SECP256R1())
    public_pem = signer_private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    private_pem = signer_private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())
    return Inputs(request=sample_request().to_bytes(), response=sample_response().to_bytes(),
                  bundle_for_qr=sample_request(n_guns=3).to_bytes(), repository=files,
                  bad_repositories=bad, transcript=log.read_bytes(), hsm_env=hsm_env,
                  hsm_root=hsm_root, pin_source=pin_source, public_pem=public_pem,
                  private_pem=private_pem)


# --- running one case ---------------------------------------------------------------------------

@dataclass
class Outcome:
    case: Case
    result: Measured
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def run_ceremony(args: tuple[str, ...], *, stdin: bytes, env: dict[str, str], cwd: Path,
                 timeout: float = 120, wrapper: tuple[str, ...] = ()) -> Measured:
    """`python -m ceremony ARGS` with bytes on stdin (scanners type anything), its peak RSS
    and time measured (tests/hardening/bounded.py)."""
    return run_measured(args, env=env, stdin=stdin, cwd=cwd, timeout=timeout, wrapper=wrapper)


def check(case: Case, r: CliResult | Measured, changed: list[str]) -> list[str]:
    problems = []
    if isinstance(r, Measured) and r.timed_out:
        problems.append("no answer within the time limit (a hang)")
    if isinstance(r, Measured) and not 0 < r.peak_rss < RSS_LIMIT:
        problems.append(f"peak RSS {r.peak_rss >> 20} MiB (limit {RSS_LIMIT >> 20} MiB)")
    if r.returncode not in (1, 2):
        problems.append(f"exit status {r.returncode} (expected 1, or 2 for a usage error)")
    if "Traceback" in r.output or "internal error" in r.output:
        problems.append("traceback or internal error")
    rows = r.stderr.splitlines()
    errors = [row for row in rows if row.startswith("error: ")]
    if len(errors) != 1 or not rows or rows[-1] != errors[0]:
        problems.append(f"not exactly one final 'error:' line on stderr: {r.stderr[-500:]!r}")
    else:
        allowed = PROGRESS_LINES if case.kind in PROGRESS_KINDS else ()
        stray = [row for row in rows[:-1] if not row.startswith(allowed) or not allowed]
        if stray:
            problems.append(f"other lines on stderr: {stray[:3]!r}")
        needles = (case.expect,) if isinstance(case.expect, str) else case.expect
        if not any(needle in errors[0] for needle in needles):
            problems.append(f"error does not name the problem ({case.expect!r}): "
                            f"{errors[0][:300]!r}")
        if len(errors[0]) > 2000:
            problems.append(f"error line is {len(errors[0])} characters long")
    if changed:
        problems.append(f"files written or changed: {changed[:5]}")
    return problems


# SoftHSM touches the mtime of these in its token store whenever a process looks at a token
# (`token list` does too): its own bookkeeping, compared by content only.
SOFTHSM_BOOKKEEPING = ("generation", "token.lock")


def _listing(path: Path, hsm: bool) -> Listing:
    found = tree(path)
    if hsm:
        for rel, (kind, mode, size, _, digest) in list(found.items()):
            if rel.rsplit("/", 1)[-1] in SOFTHSM_BOOKKEEPING:
                found[rel] = (kind, mode, size, 0, digest)
    return found


def run_case(case: Case, inputs: Inputs, work: Path) -> Outcome:
    """Make the case's input in `work` (empty), run it, and check everything (see module doc)."""
    invocation = case.make(inputs, work)
    watched = [(work, False)] + ([(inputs.hsm_root, True)] if invocation.hsm else [])
    before = [_listing(path, hsm) for path, hsm in watched]
    result = run_ceremony(invocation.args, stdin=invocation.stdin,
                          env=inputs.hsm_env if invocation.hsm else {}, cwd=work,
                          wrapper=invocation.wrapper)
    changed = [d for b, (path, hsm) in zip(before, watched, strict=True)
               for d in differences(b, _listing(path, hsm))]
    problems = []
    if invocation.transcript_in is not None:
        changed, problems = _allowed_transcript(case, invocation.transcript_in, work, changed)
    return Outcome(case, result, check(case, result, changed) + problems)


def _allowed_transcript(case: Case, folder: Path, work: Path, changed: list[str]
                        ) -> tuple[list[str], list[str]]:
    """The one change a refused --request may make: ONE new transcript in the workspace's
    transcripts folder (and so that folder's mtime), which verifies, ends `refused`, and
    records the refusal naming the problem. Everything else is still a change."""
    rel = folder.relative_to(work).as_posix()
    made = [d for d in changed if d.startswith(f"created {rel}/") and d.endswith(".jsonl")
            and "/" not in d[len(f"created {rel}/"):]]
    rest = [d for d in changed if d not in made and not d.startswith(f"changed {rel}: ")
            and not d.startswith((f"created {rel}/ANCHORS", f"changed {rel}/ANCHORS"))]
    if len(made) != 1:
        return changed, [f"expected exactly one new transcript recording the refusal, "
                         f"found {len(made)}"]
    path = work / made[0][len("created "):]
    r = run_ceremony(("transcript", "verify", str(path)), stdin=b"", env={}, cwd=work)
    problems = [] if r.returncode == 0 else [f"the refusal's transcript does not verify: "
                                             f"{r.stderr.strip()[:300]}"]
    entries = [json.loads(line) for line in path.read_text().splitlines()]
    needles = (case.expect,) if isinstance(case.expect, str) else case.expect
    refusals = [e for e in entries if e["kind"] == "refusal"]
    if not refusals or not any(n in refusals[-1]["data"].get("reason", "") for n in needles):
        problems.append("the transcript does not record the refusal naming the problem")
    if entries[-1]["kind"] != "end" or entries[-1]["data"].get("outcome") != "refused":
        problems.append(f"the transcript does not end 'refused': {entries[-1]}")
    return rest, problems


def counts_by_kind(cases: list[Case] = CATALOGUE) -> dict[str, int]:
    return {kind: sum(1 for c in cases if c.kind == kind) for kind in KINDS}



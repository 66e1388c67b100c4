"""Bad input for the Notary key ceremonies (`init`, `signer add`, `delegation add`, `renew`),
run as on the offline machine (loopback only) on an empty workspace."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.hardening.cases.rows import GUN, Case, Inputs, Invocation, write


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
        req = write(work, "request.bundle", request(i) if request else i.request)
        key = write(work, "signer.pub", i.public_pem)
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
        write(work, "bad.pem", make(i, work))
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


# --- the rows ------------------------------------------------------------------------------------

C = Case

CEREMONIES: list[Case] = [
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

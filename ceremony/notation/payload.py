"""The signed payload: the descriptor of the target artifact (signature-specification.md,
"Payload"), and the signed attributes both envelope formats carry."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from ceremony.notation.errors import EnvelopeError

PAYLOAD_CONTENT_TYPE = "application/vnd.cncf.notary.payload.v1+json"
SIGNING_SCHEME = "notary.x509"
SIGNING_AGENT = "notary-ceremony"
JWS_MEDIA_TYPE = "application/jose+json"
COSE_MEDIA_TYPE = "application/cose"
ENVELOPE_TYPES = (JWS_MEDIA_TYPE, COSE_MEDIA_TYPE)
# Protected header names both envelope formats use (signature-specification.md).
SCHEME = "io.cncf.notary.signingScheme"
SIGNING_TIME = "io.cncf.notary.signingTime"
EXPIRY = "io.cncf.notary.expiry"
AUTHENTIC_TIME = "io.cncf.notary.authenticSigningTime"


def check_critical(fmt: str, protected: Mapping[Any, Any], crit: Collection[Any],
                   known: Collection[Any]) -> None:
    """The rules JWS and COSE share for critical headers: the signing scheme (and the expiry
    when present) must be critical, no critical header may be one this verifier cannot check
    or one that is absent, and the signing time must be there."""
    must = {SCHEME} | ({EXPIRY} if EXPIRY in protected else set())
    if not must <= set(crit):
        raise EnvelopeError(f"{fmt} headers {sorted(must - set(crit))} must be marked critical")
    unknown = [c for c in crit if c not in known or c not in protected]
    if unknown:
        raise EnvelopeError(f"{fmt} critical header(s) {unknown} are unknown or missing: "
                            "refusing a signature with requirements this verifier cannot check")
    if SIGNING_TIME not in protected:
        raise EnvelopeError(f"{fmt}: io.cncf.notary.signingTime is missing")

_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$|^sha384:[0-9a-f]{96}$|^sha512:[0-9a-f]{128}$")


@dataclass(frozen=True)
class Descriptor:
    """An OCI descriptor: what a signature is about."""

    media_type: str
    digest: str
    size: int
    annotations: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.media_type, str) or not self.media_type:
            raise EnvelopeError("descriptor: mediaType must be a non-empty string")
        if not isinstance(self.digest, str) or not _DIGEST.match(self.digest):
            raise EnvelopeError(f"descriptor: digest {self.digest!r} is not "
                                "sha256:<64 lowercase hex> (or sha384/sha512)")
        if type(self.size) is not int or self.size < 0:
            raise EnvelopeError("descriptor: size must be a non-negative integer")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"mediaType": self.media_type, "digest": self.digest,
                               "size": self.size}
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        return out

    @classmethod
    def from_dict(cls, data: Any) -> Descriptor:
        if not isinstance(data, dict):
            raise EnvelopeError("descriptor: not a JSON object")
        ann = data.get("annotations") or {}
        if not isinstance(ann, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                for k, v in ann.items()):
            raise EnvelopeError("descriptor: annotations must map strings to strings")
        return cls(data.get("mediaType"), data.get("digest"), data.get("size"),  # type: ignore
                   dict(ann))

    def same_artifact(self, other: Descriptor) -> bool:
        """What notation compares: media type, digest and size."""
        return (self.media_type, self.digest, self.size) == (other.media_type, other.digest,
                                                             other.size)


def payload_bytes(target: Descriptor) -> bytes:
    return json.dumps({"targetArtifact": target.to_dict()}, separators=(",", ":")).encode()


def strict_json(raw: bytes, what: str) -> Any:
    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [k for k, _ in pairs]
        if len(keys) != len(set(keys)):
            raise EnvelopeError(f"{what}: duplicate key in JSON")
        return dict(pairs)
    try:
        return json.loads(raw.decode("utf-8"), object_pairs_hook=no_duplicates)
    except (UnicodeDecodeError, ValueError) as exc:
        if isinstance(exc, EnvelopeError):
            raise
        raise EnvelopeError(f"{what}: not valid JSON ({exc})") from None


def parse_payload(raw: bytes) -> Descriptor:
    data = strict_json(raw, "payload")
    if not isinstance(data, dict) or "targetArtifact" not in data:
        raise EnvelopeError("payload: no targetArtifact")
    return Descriptor.from_dict(data["targetArtifact"])


@dataclass(frozen=True)
class SignedContent:
    """What a parsed envelope says, before anything is trusted."""

    media_type: str
    target: Descriptor
    signing_time: dt.datetime
    expiry: dt.datetime | None
    chain_der: list[bytes]
    alg: str             # JWS alg name (COSE algorithms are mapped to the same names)
    signed_message: bytes
    signature: bytes
    signing_agent: str | None

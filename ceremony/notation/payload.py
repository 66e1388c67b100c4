"""The signed payload: the descriptor of the target artifact (signature-specification.md,
"Payload"), read strictly, and the names of the signed attributes both envelope formats carry
(headers.py writes and reads them)."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from ceremony.notation.errors import EnvelopeError
from ceremony.notation.strict import ENVELOPE, parse_utf8

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
AGENT = "io.cncf.notary.signingAgent"  # unprotected, both formats
TIMESTAMP = "io.cncf.notary.timestampSignature"  # unprotected, both formats

_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$|^sha384:[0-9a-f]{96}$|^sha512:[0-9a-f]{128}$")
# An OCI descriptor's properties (image-spec descriptor.md); the payload's may carry any of them
# (signature-specification.md: mediaType, digest and size required, annotations and
# artifactType allowed), a property outside the OCI descriptor is refused.
_DESCRIPTOR = ("mediaType", "digest", "size")
_DESCRIPTOR_OPTIONAL = ("annotations", "artifactType", "urls", "data", "platform")
MAX_MEDIA_TYPE = 255  # RFC 6838: 127 characters each side of the '/'


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
    def from_dict(cls, data: Any, where: str = "descriptor") -> Descriptor:
        """A descriptor read strictly (`where` names it in a refusal)."""
        d = ENVELOPE.fields(data, where, _DESCRIPTOR, _DESCRIPTOR_OPTIONAL)
        at = partial(ENVELOPE.join, where)
        ENVELOPE.string(d["mediaType"], at("mediaType"), max_len=MAX_MEDIA_TYPE)
        ENVELOPE.string(d["digest"], at("digest"), pattern=_DIGEST,
                        like="sha256:<64 lowercase hex> (or sha384/sha512)")
        ENVELOPE.integer(d["size"], at("size"), minimum=0)
        annotations = ENVELOPE.mapping(d.get("annotations", {}), at("annotations"))
        for key, value in annotations.items():
            ENVELOPE.string(value, ENVELOPE.join(at("annotations"), key))
        if "artifactType" in d:
            ENVELOPE.string(d["artifactType"], at("artifactType"), max_len=MAX_MEDIA_TYPE)
        if "urls" in d:
            ENVELOPE.strings(d["urls"], at("urls"))
        if "data" in d:
            ENVELOPE.string(d["data"], at("data"))
        if "platform" in d:
            ENVELOPE.mapping(d["platform"], at("platform"))
        return cls(d["mediaType"], d["digest"], d["size"], dict(annotations))

    def payload(self) -> bytes:
        """The payload that signs this descriptor: `{"targetArtifact": descriptor}`, compact."""
        return json.dumps({"targetArtifact": self.to_dict()}, separators=(",", ":")).encode()

    @classmethod
    def from_payload(cls, raw: bytes) -> Descriptor:
        """The descriptor a payload signs (UTF-8 JSON, as any implementation writes it), read
        strictly."""
        data = ENVELOPE.fields(parse_utf8(raw, "payload"), "payload", ("targetArtifact",))
        return cls.from_dict(data["targetArtifact"], "payload.targetArtifact")

    def same_artifact(self, other: Descriptor) -> bool:
        """What notation compares: media type, digest and size."""
        return (self.media_type, self.digest, self.size) == (other.media_type, other.digest,
                                                             other.size)


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

"""ONLINE ONLY: an OCI registry (distribution spec v1.1) for the Notary Project side.

- `resolve`: a reference (host/repo:tag or host/repo@sha256:...) -> the manifest's descriptor;
  the manifest bytes are read with a size bound and checked against the digest.
- `attach`: push a signature envelope as a signature manifest (artifactType
  application/vnd.cncf.notary.signature, empty config, one layer, `subject`, the chain
  thumbprint annotation) and make it discoverable: through the referrers API when the
  registry has one (it indexes manifests with a `subject` itself), otherwise through the
  referrers tag schema, an image index tagged `sha256-<hex>` that keeps every existing entry.

Never imported by offline code. Plain HTTP for loopback hosts only (tests, local mirrors);
anything else is HTTPS.

A registry is not trusted to be well behaved: every answer is read with a bound (a larger
one is refused without reading it all), a body shorter or longer than announced is refused,
redirects are followed only within the registry (same scheme, host and port), and a
referrers list or index is refused above MAX_REFERRERS entries or when it is not a list of
descriptors.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from ceremony.notation.errors import RegistryError
from ceremony.notation.payload import MAX_MEDIA_TYPE, Descriptor
from ceremony.notation.strict import REGISTRY, parse_utf8
from groundfloor.limits import MAX_MANIFEST_BYTES

SIGNATURE_ARTIFACT_TYPE = "application/vnd.cncf.notary.signature"
EMPTY_MEDIA_TYPE = "application/vnd.oci.empty.v1+json"
EMPTY_BLOB = b"{}"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST_TYPES = (OCI_MANIFEST, OCI_INDEX,
                  "application/vnd.docker.distribution.manifest.v2+json",
                  "application/vnd.docker.distribution.manifest.list.v2+json")
THUMBPRINT = "io.cncf.notary.x509chain.thumbprint#S256"
_REF = re.compile(r"^(?P<host>[A-Za-z0-9.-]+(?::[0-9]+)?)/(?P<repo>[a-z0-9]+(?:[._/-][a-z0-9]+)*)"
                  r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9._-]{0,127}))?"
                  r"(?:@(?P<digest>sha256:[0-9a-f]{64}))?$")
LOOPBACK = ("localhost", "127.0.0.1", "[::1]")
# Referrers of one artifact we accept in one answer (API or tag schema index). notation
# itself stops after 100 signatures by default (--max-signatures); thousands of entries are
# a registry flooding its clients, and an index that large could not be pushed back anyway.
MAX_REFERRERS = 1000
MAX_REDIRECTS = 5


class _SameRegistryRedirects(urllib.request.HTTPRedirectHandler):
    """Follow a redirect only to the same scheme://host:port; refuse one elsewhere (a
    registry must not send its client to another server, e.g. a metadata endpoint)."""

    max_redirections = MAX_REDIRECTS

    def __init__(self, base: str, host: str) -> None:
        self.base, self.host = base, host

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any,
                         newurl: str) -> Any:
        target = urllib.parse.urlsplit(urllib.parse.urljoin(req.full_url, newurl))
        if f"{target.scheme}://{target.netloc}" != self.base:
            raise RegistryError(f"registry {self.host} redirected {code} to "
                                f"{target.scheme}://{target.netloc}: refusing to follow a "
                                "redirect to another server")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _entries(data: bytes, what: str) -> list[dict[str, Any]]:
    """The `manifests` of an image index (referrers answer or tag schema index), checked."""
    index = REGISTRY.mapping(parse_utf8(data, what, RegistryError), what, "a JSON image index")
    entries = index.get("manifests") or []   # null: none yet (olareg)
    if not isinstance(entries, list) or not all(isinstance(e, dict) and
                                                isinstance(e.get("digest"), str)
                                                for e in entries):
        raise RegistryError(f"{what} holds something other than descriptors: refusing it")
    if len(entries) > MAX_REFERRERS:
        raise RegistryError(f"{what} lists {len(entries)} referrers (limit {MAX_REFERRERS}): "
                            "refusing it; ask the registry's operator to remove stale "
                            "signatures")
    return entries


@dataclass(frozen=True)
class Reference:
    host: str
    repo: str
    tag: str | None
    digest: str | None

    @classmethod
    def parse(cls, text: str) -> Reference:
        m = _REF.match(text or "")
        if not m or not (m["tag"] or m["digest"]):
            raise RegistryError(f"invalid reference {text!r}: write host/repository:tag or "
                                "host/repository@sha256:<hex>")
        return cls(m["host"], m["repo"], m["tag"], m["digest"])

    @property
    def ref(self) -> str:
        return self.digest or self.tag or ""

    def __str__(self) -> str:
        tail = (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")
        return f"{self.host}/{self.repo}{tail}"


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Registry:
    def __init__(self, host: str, *, timeout: float = 30.0) -> None:
        self.host = host
        scheme = "http" if host.split(":")[0] in LOOPBACK or host.startswith("[::1]") else "https"
        self.base = f"{scheme}://{host}"
        self.timeout = timeout
        self._opener = urllib.request.build_opener(_SameRegistryRedirects(self.base, host))

    def _request(self, method: str, path: str, *, body: bytes | None = None,
                 headers: dict[str, str] | None = None, limit: int = MAX_MANIFEST_BYTES
                 ) -> tuple[int, dict[str, str], bytes]:
        req = urllib.request.Request(self.base + path, data=body, method=method,
                                     headers=headers or {})
        try:
            resp = self._opener.open(req, timeout=self.timeout)
        except urllib.error.HTTPError as exc:
            resp = exc
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            raise RegistryError(f"registry {self.host} cannot be reached ({exc}): check the "
                                "address and that it is running") from None
        with resp:
            length = resp.headers.get("Content-Length")
            if method == "HEAD":   # the length of a HEAD answer is the object's, not a body
                return resp.status, {k.lower(): v for k, v in resp.headers.items()}, b""
            if length is not None and (not length.isdigit() or int(length) > limit):
                raise RegistryError(f"registry {self.host} announces a {length}-byte answer for "
                                    f"{path} (limit {limit}): refusing it")
            try:
                data = resp.read(limit + 1)
            except (OSError, http.client.HTTPException) as exc:
                # IncompleteRead: fewer bytes than its Content-Length announced
                raise RegistryError(f"registry {self.host} broke off its answer for {path} "
                                    f"({type(exc).__name__}): refusing it") from None
            if len(data) > limit:
                raise RegistryError(f"registry {self.host} sent more than {limit} bytes for "
                                    f"{path}: refusing it")
            if length is not None and len(data) != int(length):
                raise RegistryError(f"registry {self.host} announced {length} bytes for {path} "
                                    f"but sent {len(data)}: refusing it")
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, data

    # --- reading ---------------------------------------------------------------------------

    def manifest(self, repo: str, ref: str) -> tuple[Descriptor, bytes] | None:
        """(descriptor, bytes) of a manifest, or None when the registry has none (404)."""
        status, headers, data = self._request(
            "GET", f"/v2/{repo}/manifests/{ref}", headers={"Accept": ", ".join(MANIFEST_TYPES)})
        if status == 404:
            return None
        if status != 200:
            raise RegistryError(f"registry {self.host} answered {status} for manifest "
                                f"{repo}:{ref}")
        digest = sha256_digest(data)
        if ref.startswith("sha256:") and digest != ref:
            raise RegistryError(f"the manifest of {repo}@{ref} has digest {digest}: the "
                                "registry sent other bytes than asked; refusing it")
        announced = headers.get("docker-content-digest")
        if announced and announced != digest:
            raise RegistryError(f"registry {self.host} says {repo}:{ref} is {announced} but "
                                f"its bytes hash to {digest}; refusing it")
        media_type = headers.get("content-type", "").split(";")[0].strip()
        what = f"the manifest of {repo}:{ref}"
        body_type = REGISTRY.mapping(parse_utf8(data, what, RegistryError), what,
                                     "a JSON manifest").get("mediaType")
        if body_type is not None:
            REGISTRY.string(body_type, f"{what}: mediaType", max_len=MAX_MEDIA_TYPE)
        if body_type and body_type != media_type:
            if media_type not in MANIFEST_TYPES:
                media_type = body_type
            else:
                raise RegistryError(f"the manifest of {repo}:{ref} says {body_type} but the "
                                    f"registry serves it as {media_type}; refusing it")
        if media_type not in MANIFEST_TYPES:
            raise RegistryError(f"{repo}:{ref} has media type {media_type!r}, not a manifest")
        return Descriptor(media_type, digest, len(data)), data

    def resolve(self, reference: Reference) -> Descriptor:
        found = self.manifest(reference.repo, reference.ref)
        if found is None:
            raise RegistryError(f"{reference} is not in the registry: check the name and tag")
        return found[0]

    def blob(self, repo: str, desc: Descriptor) -> bytes:
        status, _, data = self._request("GET", f"/v2/{repo}/blobs/{desc.digest}",
                                        limit=desc.size)
        if status != 200 or len(data) != desc.size or sha256_digest(data) != desc.digest:
            raise RegistryError(f"blob {desc.digest} of {repo}: status {status}, {len(data)} "
                                "bytes that do not match its descriptor; refusing it")
        return data

    def referrers_api(self, repo: str, digest: str) -> list[dict[str, Any]] | None:
        """Referrers from the OCI 1.1 API, or None when the registry has no such API."""
        status, headers, data = self._request("GET", f"/v2/{repo}/referrers/{digest}")
        if status == 404 or not headers.get("content-type", "").startswith(OCI_INDEX):
            return None
        if status != 200:
            raise RegistryError(f"registry {self.host} answered {status} for referrers")
        return _entries(data, f"the referrers of {repo}@{digest} from {self.host}")

    def referrers(self, repo: str, digest: str) -> list[dict[str, Any]]:
        found = self.referrers_api(repo, digest)
        if found is not None:
            return found
        index = self.manifest(repo, tag_schema_tag(digest))
        return _entries(index[1], f"the referrers index {repo}:{tag_schema_tag(digest)}") \
            if index else []

    # --- writing ---------------------------------------------------------------------------

    def push_blob(self, repo: str, data: bytes) -> str:
        digest = sha256_digest(data)
        status, _, _ = self._request("HEAD", f"/v2/{repo}/blobs/{digest}")
        if status == 200:
            return digest
        status, headers, _ = self._request("POST", f"/v2/{repo}/blobs/uploads/", body=b"")
        location = headers.get("location")
        if status != 202 or not location:
            raise RegistryError(f"registry {self.host} refused a blob upload ({status})")
        if location.startswith(("http://", "https://")):
            location = "/" + location.split("/", 3)[3]
        sep = "&" if "?" in location else "?"
        status, _, _ = self._request("PUT", f"{location}{sep}digest={digest}", body=data,
                                     headers={"Content-Type": "application/octet-stream"})
        if status != 201:
            raise RegistryError(f"registry {self.host} refused blob {digest} ({status})")
        return digest

    def push_manifest(self, repo: str, ref: str, data: bytes, media_type: str) -> Descriptor:
        status, _, body = self._request("PUT", f"/v2/{repo}/manifests/{ref}", body=data,
                                        headers={"Content-Type": media_type})
        if status != 201:
            raise RegistryError(f"registry {self.host} refused manifest {repo}:{ref} "
                                f"({status}: {body[:200]!r})")
        return Descriptor(media_type, sha256_digest(data), len(data))


def tag_schema_tag(digest: str) -> str:
    algorithm, hexpart = digest.split(":", 1)
    return f"{algorithm}-{hexpart}"


def signature_manifest(subject: Descriptor, envelope: bytes, envelope_type: str,
                       thumbprints: list[str]) -> bytes:
    manifest = {
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "artifactType": SIGNATURE_ARTIFACT_TYPE,
        "config": {"mediaType": EMPTY_MEDIA_TYPE, "digest": sha256_digest(EMPTY_BLOB),
                   "size": len(EMPTY_BLOB)},
        "layers": [{"mediaType": envelope_type, "digest": sha256_digest(envelope),
                    "size": len(envelope)}],
        "subject": subject.to_dict(),
        "annotations": {THUMBPRINT: json.dumps(thumbprints, separators=(",", ":"))},
    }
    return json.dumps(manifest, separators=(",", ":")).encode()


def attach(registry: Registry, repo: str, subject: Descriptor, envelope: bytes,
           envelope_type: str, thumbprints: list[str]) -> Descriptor:
    """Push the signature manifest and make it discoverable; returns its descriptor. What the
    registry says (referrers API or not, the existing tag schema index) is read and checked
    before anything is pushed, so a refused answer leaves nothing written."""
    has_api = registry.referrers_api(repo, subject.digest) is not None
    tag = tag_schema_tag(subject.digest)
    entries: list[dict[str, Any]] = []
    if not has_api:
        existing = registry.manifest(repo, tag)
        entries = _entries(existing[1], f"the referrers index {repo}:{tag}") if existing else []
        if len(entries) >= MAX_REFERRERS:
            raise RegistryError(f"the referrers index {repo}:{tag} is full ({len(entries)} "
                                f"entries, limit {MAX_REFERRERS}): nothing attached")
    registry.push_blob(repo, EMPTY_BLOB)
    registry.push_blob(repo, envelope)
    data = signature_manifest(subject, envelope, envelope_type, thumbprints)
    desc = registry.push_manifest(repo, sha256_digest(data), data, OCI_MANIFEST)
    if has_api:
        return desc        # the registry indexes `subject` itself
    if not any(e.get("digest") == desc.digest for e in entries):
        entries.append({"mediaType": OCI_MANIFEST, "digest": desc.digest, "size": desc.size,
                        "artifactType": SIGNATURE_ARTIFACT_TYPE,
                        "annotations": {THUMBPRINT: json.dumps(thumbprints,
                                                               separators=(",", ":"))}})
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}
    registry.push_manifest(repo, tag, json.dumps(index, separators=(",", ":")).encode(),
                           OCI_INDEX)
    return desc

"""Hostile registries, through the CLI (`ceremony notation resolve` / `attach`): each fault
is refused with one `error:` line and nothing is written (no --out file, no PUT or POST).

FakeHostileRegistry is a FAKE, named as such: the real registries (docker-registry, olareg,
ggcr) cannot be made to send short bodies, endless bodies, redirects to another server,
floods of referrers or broken indexes. Faults the real ones can show (a descriptor whose
size no longer matches the registry's manifest) are tested against olareg at the end."""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import threading

import pytest

from ceremony.notation.registry import MAX_REFERRERS, OCI_INDEX, OCI_MANIFEST
from tests.conftest import run_cli
from tests.notation.conftest import push_image

GOOD = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                   "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                              "digest": "sha256:" + "1" * 64, "size": 2},
                   "layers": []}).encode()
GOOD_DIGEST = "sha256:" + hashlib.sha256(GOOD).hexdigest()
ENDLESS_TOTAL = 1 << 30      # what the endless fault would send if it were read to the end


def _flood(n: int) -> bytes:
    return json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": OCI_MANIFEST, "digest": f"sha256:{i:064x}", "size": 500,
         "artifactType": "application/vnd.cncf.notary.signature"} for i in range(n)]}).encode()


class FakeHostileRegistry(http.server.BaseHTTPRequestHandler):
    """FAKE registry: the repository name picks the fault. Records every request."""

    protocol_version = "HTTP/1.1"
    requests: list[tuple[str, str]] = []
    endless_sent = 0
    elsewhere = ""          # base URL of another server (for the redirect fault)

    def log_message(self, *args):
        pass

    def _send(self, status: int, body: bytes = b"", ctype: str = "application/json",
              extra: dict | None = None, length: int | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _manifest(self) -> None:
        self._send(200, GOOD, OCI_MANIFEST, {"Docker-Content-Digest": GOOD_DIGEST})

    def do_HEAD(self):
        self.requests.append(("HEAD", self.path))
        self._send(404)

    def do_POST(self):
        self.requests.append(("POST", self.path))
        self._send(202, extra={"Location": f"/v2/{self.path.split('/')[2]}/blobs/uploads/1"})

    def do_PUT(self):
        self.requests.append(("PUT", self.path))
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self._send(201)

    def do_GET(self):  # noqa: C901  (one branch per fault)
        self.requests.append(("GET", self.path))
        parts = self.path.split("/")
        repo, kind = parts[2], parts[3]
        if kind == "referrers":
            if repo == "floodapi":
                return self._send(200, _flood(5000), OCI_INDEX)
            if repo == "badindex":
                return self._send(200, b'{"manifests": "everything"}', OCI_INDEX)
            if repo == "dupindex":  # which list would a client believe? neither
                return self._send(200, b'{"manifests": [], "manifests": []}', OCI_INDEX)
            return self._send(404, b'{"errors":[]}')
        if kind == "manifests" and parts[4].startswith("sha256-"):
            if repo == "floodtag":
                return self._send(200, _flood(MAX_REFERRERS), OCI_INDEX)
            return self._send(404, b'{"errors":[]}')
        if repo == "shortbody":
            self._send(200, GOOD[:10], OCI_MANIFEST, length=len(GOOD))
            self.close_connection = True
            return None
        if repo == "redirectaway":
            return self._send(302, extra={"Location": f"{self.elsewhere}/v2/good/manifests/"
                                                      f"{GOOD_DIGEST}"})
        if repo == "redirecthome":
            return self._send(307, extra={"Location": f"/v2/good/manifests/{GOOD_DIGEST}"})
        if repo == "endless":
            self.send_response(200)
            self.send_header("Content-Type", OCI_MANIFEST)
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            chunk = b" " * 65536
            try:
                while FakeHostileRegistry.endless_sent < ENDLESS_TOTAL:
                    self.wfile.write(chunk)
                    FakeHostileRegistry.endless_sent += len(chunk)
            except OSError:
                pass            # the client hung up: what we want
            return None
        return self._manifest()


class Elsewhere(http.server.BaseHTTPRequestHandler):
    """The server a hostile redirect points at: it must never be asked anything."""

    asked: list[str] = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.asked.append(self.path)
        self.send_response(200)
        self.end_headers()


@pytest.fixture(scope="module")
def hostile():
    servers = [http.server.ThreadingHTTPServer(("127.0.0.1", 0), h)
               for h in (FakeHostileRegistry, Elsewhere)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    FakeHostileRegistry.elsewhere = f"http://127.0.0.1:{servers[1].server_address[1]}"
    yield f"127.0.0.1:{servers[0].server_address[1]}"
    for server in servers:
        server.shutdown()


def _writes() -> list[tuple[str, str]]:
    return [r for r in FakeHostileRegistry.requests if r[0] in ("PUT", "POST")]


def _one_line(r) -> str:
    assert r.returncode == 1, r.output
    assert r.stderr.startswith("error: ") and len(r.stderr.strip().splitlines()) == 1, r.stderr
    return r.stderr


@pytest.mark.parametrize(("repo", "reason"), [
    ("shortbody", "bytes for /v2/shortbody/manifests/v1 but sent 10"),
    ("redirectaway", "refusing to follow a redirect to another server"),
    ("endless", "sent more than"),
])
def test_resolve_refuses(hostile, tmp_path, repo, reason):
    out = tmp_path / "req.json"
    err = _one_line(run_cli("notation", "resolve", f"{hostile}/{repo}:v1", "--out", str(out)))
    assert reason in err
    assert not out.exists()
    assert Elsewhere.asked == []
    if repo == "endless":     # bounded: it stopped long before the end of the body
        assert FakeHostileRegistry.endless_sent < 64 * 1024 * 1024


def test_redirect_within_the_registry_followed(hostile, tmp_path):
    r = run_cli("notation", "resolve", f"{hostile}/redirecthome@{GOOD_DIGEST}", "--out",
                str(tmp_path / "req.json"))
    assert r.returncode == 0, r.output
    content = json.loads((tmp_path / "req.json").read_text())["content"]
    assert content["artifacts"][0]["descriptor"]["digest"] == GOOD_DIGEST


def _signatures(folder, host: str, repo: str, size: int = len(GOOD)):
    folder.mkdir()
    entry = {"reference": f"{host}/{repo}:v1", "descriptor": {
        "mediaType": OCI_MANIFEST, "digest": GOOD_DIGEST, "size": size},
        "envelope": base64.b64encode(b'{"not":"checked online"}').decode(),
        "mediaType": "application/jose+json", "thumbprints": ["aa"],
        "signingTime": "2026-01-01T00:00:00+00:00"}
    (folder / "signatures.json").write_text(json.dumps({"version": 1, "signatures": [entry]}))
    return folder


@pytest.mark.parametrize(("repo", "reason"), [
    ("floodapi", "lists 5000 referrers (limit 1000)"),
    ("floodtag", "is full (1000 entries"),
    ("badindex", "holds something other than descriptors"),
    ("dupindex", "duplicate key 'manifests'"),
])
def test_attach_refuses_before_writing(hostile, tmp_path, repo, reason):
    before = len(_writes())
    err = _one_line(run_cli("notation", "attach", "--signatures",
                            str(_signatures(tmp_path / "sigs", hostile, repo))))
    assert reason in err
    assert _writes()[before:] == []


def test_attach_to_a_well_behaved_fake_writes(hostile, tmp_path):
    """The same fake without a fault does get the blobs, manifest and tag index: the
    refusals above are the faults', not the fake's."""
    before = len(_writes())
    r = run_cli("notation", "attach", "--signatures",
                str(_signatures(tmp_path / "sigs", hostile, "good")))
    assert r.returncode == 0, r.output
    puts = [p for m, p in _writes()[before:] if m == "PUT"]
    assert any(f"/manifests/sha256-{GOOD_DIGEST[7:]}" in p for p in puts), puts


def test_descriptor_size_differs_from_the_registry(olareg_registry, tmp_path):
    """REAL registry: a signed descriptor whose size is not the manifest's is refused and
    nothing is attached."""
    desc = push_image(olareg_registry, "sized", "v1", b"sized")
    sigs = tmp_path / "sigs"
    sigs.mkdir()
    entry = {"reference": f"{olareg_registry}/sized:v1",
             "descriptor": dict(desc, size=desc["size"] + 1),
             "envelope": base64.b64encode(b"{}").decode(), "mediaType": "application/jose+json",
             "thumbprints": ["aa"], "signingTime": "2026-01-01T00:00:00+00:00"}
    (sigs / "signatures.json").write_text(json.dumps({"version": 1, "signatures": [entry]}))
    err = _one_line(run_cli("notation", "attach", "--signatures", str(sigs)))
    assert "no longer the signed manifest" in err
    from ceremony.notation.registry import Registry
    assert Registry(olareg_registry).referrers_api("sized", desc["digest"]) == []

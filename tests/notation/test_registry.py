"""The online side: resolving references and attaching signatures, against the REAL
docker-registry, and against a deliberately faulty registry (a fake: the real one cannot be
made to send bytes that do not match their digest, lie about sizes or send huge bodies)."""

from __future__ import annotations

import hashlib
import http.server
import json
import threading

import pytest

from ceremony.notation.registry import Registry, attach, tag_schema_tag
from tests.conftest import run_cli
from tests.notation.conftest import push_image

GOOD = json.dumps({"schemaVersion": 2,
                   "mediaType": "application/vnd.oci.image.manifest.v1+json"}).encode()
GOOD_DIGEST = "sha256:" + hashlib.sha256(GOOD).hexdigest()


class FaultyRegistry(http.server.BaseHTTPRequestHandler):
    """Fake registry with one fault per repository name."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        repo = self.path.split("/")[2]
        body, headers = GOOD, {"Content-Type": "application/vnd.oci.image.manifest.v1+json",
                               "Docker-Content-Digest": GOOD_DIGEST}
        if repo == "wrongbytes":
            body = GOOD + b" "
            headers.pop("Docker-Content-Digest")
        elif repo == "wrongheader":
            headers["Docker-Content-Digest"] = "sha256:" + "0" * 64
        elif repo == "hugelength":
            headers["Content-Length"] = str(1 << 40)
            self.send_response(200)
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            return
        elif repo == "hugebody":
            self.send_response(200)
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            try:
                for _ in range(5 * 1024):
                    self.wfile.write(b" " * 1024)
            except OSError:
                pass
            return
        self.send_response(200)
        headers["Content-Length"] = str(len(body))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def faulty():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FaultyRegistry)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_faulty_registry_answers_refused(faulty, tmp_path):
    ok = run_cli("notation", "resolve", f"{faulty}/good@{GOOD_DIGEST}", "--out",
                 str(tmp_path / "ok.json"))
    assert ok.returncode == 0, ok.output
    cases = {"wrongbytes": "other bytes than asked", "wrongheader": "bytes hash to",
             "hugelength": "refusing it", "hugebody": "more than"}
    for repo, reason in cases.items():
        out = tmp_path / f"{repo}.json"
        r = run_cli("notation", "resolve", f"{faulty}/{repo}@{GOOD_DIGEST}", "--out", str(out))
        assert r.returncode == 1, (repo, r.output)
        assert r.stderr.startswith("error: ") and len(r.stderr.strip().splitlines()) == 1
        assert reason in r.stderr, (repo, r.stderr)
        assert not out.exists()


def test_bad_references_refused(tmp_path):
    for ref in ("no-repo", "host/Repo:tag", "host/repo", "host/repo@sha256:abc"):
        r = run_cli("notation", "resolve", ref, "--out", str(tmp_path / "x.json"))
        assert r.returncode == 1 and "invalid reference" in r.stderr, r.output


def test_attach_keeps_existing_entries(registry):
    subject = push_image(registry, "keep", "v1", b"keep")
    reg = Registry(registry)
    from ceremony.notation.payload import Descriptor
    desc = Descriptor.from_dict(subject)
    first = attach(reg, "keep", desc, b'{"fake":"envelope 1"}', "application/jose+json", ["aa"])
    second = attach(reg, "keep", desc, b"\xd2envelope 2", "application/cose", ["bb"])
    again = attach(reg, "keep", desc, b'{"fake":"envelope 1"}', "application/jose+json", ["aa"])
    assert again == first
    index = reg.manifest("keep", tag_schema_tag(desc.digest))
    assert index is not None
    digests = [e["digest"] for e in json.loads(index[1])["manifests"]]
    assert digests == [first.digest, second.digest]
    manifest = json.loads(reg.manifest("keep", first.digest)[1])
    assert manifest["artifactType"] == "application/vnd.cncf.notary.signature"
    assert manifest["subject"] == subject
    assert manifest["config"]["mediaType"] == "application/vnd.oci.empty.v1+json"
    assert json.loads(manifest["annotations"]["io.cncf.notary.x509chain.thumbprint#S256"]) == [
        "aa"]

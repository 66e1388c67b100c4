"""The test_interop world against a REAL registry WITH the OCI 1.1 referrers API: olareg
(fixture `olareg_registry`). `ceremony notation attach` uses the API (no `sha256-<hex>` tag
is written), the real `notation` lists and verifies the tool's JWS and COSE signatures and
its own `notation sign` signature on one image, and signatures attached later keep the
earlier ones."""

from __future__ import annotations

import json

import pytest

from ceremony.notation.registry import Registry
from tests.notation import test_interop
from tests.notation.test_interop import LOCAL_SIGNER, TOKEN_SIGNER, notation_for, sign_with_tool

SIGNATURE = "application/vnd.cncf.notary.signature"
world = test_interop.world   # the same module-scoped world, on this module's `registry`


@pytest.fixture(scope="module")
def registry(olareg_registry):
    """`world` and `sign_with_tool` use this registry instead of docker-registry."""
    return olareg_registry


def tags(host: str, repo: str) -> list[str]:
    status, _, data = Registry(host)._request("GET", f"/v2/{repo}/tags/list")
    assert status == 200, data
    return sorted(json.loads(data).get("tags") or [])


def test_attach_uses_referrers_api_and_notation_verifies_all(world, offline, tmp_path):
    host = world["registry"]
    ref = sign_with_tool(world, offline, "multi", "v1", "jws", tmp_path / "jws")
    repo, digest = ref.split("/", 1)[1].split("@")
    reg = Registry(host)
    first = reg.referrers_api(repo, digest)
    assert first is not None and len(first) == 1
    assert tags(host, repo) == ["v1"]          # no sha256-<hex> tag schema index
    # a second signature by the tool (COSE), attached later
    assert sign_with_tool(world, offline, "multi", "v1", "cose", tmp_path / "cose") == ref
    assert tags(host, repo) == ["v1"]
    # and a third by `notation sign` (a local key the tool's CA certified); notation 1.3
    # writes the tag schema unless told to use the API
    n = notation_for(world, tmp_path, [LOCAL_SIGNER, TOKEN_SIGNER])
    r = n.run("sign", "--signature-format", "jws", "--force-referrers-tag=false", ref)
    assert r.returncode == 0, r.output
    assert tags(host, repo) == ["v1"]
    after = reg.referrers_api(repo, digest)
    assert after is not None and len(after) == 3
    assert {e["digest"] for e in first} < {e["digest"] for e in after}    # none lost
    assert {e["artifactType"] for e in after} == {SIGNATURE}
    envelopes = set()
    for entry in after:
        found = reg.manifest(repo, entry["digest"])
        assert found is not None
        manifest = json.loads(found[1])
        assert manifest["subject"]["digest"] == digest
        envelopes.add(manifest["layers"][0]["mediaType"])
    assert envelopes == {"application/jose+json", "application/cose"}
    r = n.run("ls", ref)
    assert r.returncode == 0, r.output
    for entry in after:
        assert entry["digest"] in r.stdout, r.stdout
    r = n.run("verify", ref)
    assert r.returncode == 0, r.output
    assert "Successfully verified" in r.output
    # each identity alone: notation finds and accepts the tool's and its own signatures
    for identity in (TOKEN_SIGNER, LOCAL_SIGNER):
        one = notation_for(world, tmp_path / identity[-9:].replace(" ", "-"), [identity])
        r = one.run("verify", ref)
        assert r.returncode == 0, (identity, r.output)

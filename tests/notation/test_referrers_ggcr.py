"""go-containerregistry's pkg/registry (v0.22.1, `registry.WithReferrersSupport(true)`;
fixture `ggcr_registry`), the first candidate for a registry WITH the referrers API.

What works: `ceremony notation attach` finds the API and uses it (no `sha256-<hex>` tag), and
a later signature keeps the earlier one. What does not, because of ggcr itself (so olareg is
the registry of test_referrers_olareg):
- its referrers answer gives each entry the manifest's *config* media type as artifactType
  (pkg/registry/manifest.go handleReferrers), not the manifest's `artifactType`, so a
  signature in the OCI 1.1 form (artifactType + empty config) is listed as
  `application/vnd.oci.empty.v1+json` and notation, filtering for
  `application/vnd.cncf.notary.signature`, sees none of them;
- it sends no `OCI-Subject` header on a manifest push, so notation (oras-go 2.5) concludes
  there is no referrers API and writes the tag schema even with --force-referrers-tag=false.
These assertions document the peer and fail once ggcr is fixed (then switch the tests over).
"""

from __future__ import annotations

import pytest

from ceremony.notation.registry import Registry, tag_schema_tag
from tests.notation import test_interop
from tests.notation.test_interop import LOCAL_SIGNER, TOKEN_SIGNER, notation_for, sign_with_tool
from tests.notation.test_referrers_olareg import tags

SIGNATURE = "application/vnd.cncf.notary.signature"
world = test_interop.world   # the same module-scoped world, on this module's `registry`


@pytest.fixture(scope="module")
def registry(ggcr_registry):
    """`world` and `sign_with_tool` use this registry instead of docker-registry."""
    return ggcr_registry


def test_attach_uses_ggcr_referrers_api_and_keeps_signatures(world, offline, tmp_path):
    host = world["registry"]
    ref = sign_with_tool(world, offline, "multi", "v1", "jws", tmp_path / "jws")
    repo, digest = ref.split("/", 1)[1].split("@")
    reg = Registry(host)
    first = reg.referrers_api(repo, digest)
    assert first is not None and len(first) == 1
    assert sign_with_tool(world, offline, "multi", "v1", "cose", tmp_path / "cose") == ref
    assert tags(host, repo) == ["v1"]          # the API, no tag schema index
    after = reg.referrers_api(repo, digest)
    assert after is not None and len(after) == 2
    assert {e["digest"] for e in first} < {e["digest"] for e in after}
    # ggcr's limitation 1: artifactType taken from the config, so notation sees nothing
    assert {e["artifactType"] for e in after} == {"application/vnd.oci.empty.v1+json"}
    n = notation_for(world, tmp_path, [LOCAL_SIGNER, TOKEN_SIGNER])
    r = n.run("verify", ref)
    assert r.returncode == 1
    assert "no signature is associated with" in r.output, r.output
    # ggcr's limitation 2: no OCI-Subject header, notation writes the tag schema anyway
    r = n.run("sign", "--signature-format", "jws", "--force-referrers-tag=false", ref)
    assert r.returncode == 0, r.output
    assert tags(host, repo) == sorted([tag_schema_tag(digest), "v1"])
    listed = reg.referrers_api(repo, digest)
    assert listed is not None and len(listed) == 3
    # notation's own manifest has the older form (config media type = the signature type)
    assert [e["artifactType"] for e in listed].count(SIGNATURE) == 1
    r = n.run("verify", ref)
    assert r.returncode == 0, r.output

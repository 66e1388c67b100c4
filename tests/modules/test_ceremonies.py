"""Whole ceremonies on each module, checked by the real notary-server and client: init,
signer add (the delegate publishes with the real client), targets-key rotation; and one
ceremony with its root key on openCryptoki and its targets key on a TPM."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.ceremonies.conftest import (
    Offline,
    client,
    fetch,
    publish,
    response_file,
    root_cert_ids,
)
from tests.ceremonies.sites import notary_server
from tests.ceremonies.test_lifecycle import delegate_key
from tests.modules.conftest import Case, Environments, unique

# One worker runs every module test (openCryptoki is system-wide; see conftest).
pytestmark = [pytest.mark.notary, pytest.mark.xdist_group("pkcs11-modules")]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    yield from notary_server(tmp_path_factory)


class Tokens:
    """What `Offline` needs of a token environment, over one or several modules."""

    def __init__(self, variables: dict[str, str], pins: dict[str, Any]) -> None:
        self.env = variables
        self._pins = pins  # label -> the environment holding its PIN file
        self.labels = list(pins)

    def pin_source(self, label: str) -> str:
        return self._pins[label].pin_source(label)

    def pin(self, label: str) -> str:
        return self._pins[label].pin(label)


def lifecycle(server, o: Offline, tmp: Path, gun: str, *, root: str, targets: str,
              root_algorithm: str, targets_algorithm: str) -> None:
    """init -> publish -> pinned client; signer add -> delegate publishes; rotate targets."""
    req = fetch(server, gun, out=tmp / "init.req")
    resp = tmp / "init.resp"
    labels = {"root": unique("root"), "targets": unique("targets")}
    result = o.ok("init", "--request", str(req), "--out", str(resp), "--root-token", root,
                  "--targets-token", targets, "--root-label", labels["root"],
                  "--targets-label", labels["targets"], "--algorithm", root_algorithm,
                  "--targets-algorithm", targets_algorithm, *o.pins(), "--yes")
    assert result["complete"], result
    publish(server, resp)
    pins = {gun: root_cert_ids(resp, gun)}
    cached = client(server, tmp / "cached", pins)
    assert "No targets present" in cached.run("list", gun).stdout
    for role in ("root", "targets"):  # the server serves exactly the reviewed bytes
        assert server.get(f"/v2/{gun}/_trust/tuf/{role}.json")[1] == \
            response_file(resp, gun, role)

    key, pub = delegate_key(tmp, "alice")
    req = fetch(server, gun, out=tmp / "signer.req", operation="signer-add")
    resp = tmp / "signer.resp"
    o.ok("signer", "add", gun, "alice", "--key", str(pub), "--request", str(req), "--out",
         str(resp), "--targets-token", targets, *o.pins(), "--yes")
    publish(server, resp)
    delegate = client(server, tmp / "delegate", pins)
    delegate.run("key", "import", str(key), "--role", "targets/releases")
    artefact = tmp / "app.tar"
    artefact.write_bytes(b"release one")
    delegate.run("add", gun, "v1", str(artefact), "--roles", "targets/releases", "--publish")
    assert "v1" in client(server, tmp / "fresh1", pins).run("list", gun).stdout

    req = fetch(server, gun, out=tmp / "rotate.req", operation="rotate-targets")
    resp = tmp / "rotate.resp"
    o.ok("rotate", "targets", gun, "--request", str(req), "--out", str(resp),
         "--targets-token", targets, "--root-token", root, "--label", unique("targets-2"),
         "--algorithm", targets_algorithm, *o.pins(), "--yes")
    publish(server, resp)
    assert "v1" in cached.run("list", gun).stdout
    assert "v1" in client(server, tmp / "fresh2", pins).run("list", gun).stdout
    o.assert_no_pin_anywhere(tmp)


def test_init_signer_add_and_targets_rotation_on_each_module(server, case: Case,
                                                             tmp_path) -> None:
    tokens = Tokens(case.variables(), {case.root: case.env, case.targets: case.env})
    o = Offline(tokens, tmp_path)  # type: ignore[arg-type]
    lifecycle(server, o, tmp_path, f"example.com/{case.name}", root=case.root,
              targets=case.targets, root_algorithm=case.root_algorithm,
              targets_algorithm=case.supported[0])


def test_root_on_opencryptoki_targets_on_a_tpm_in_one_ceremony(server, environments:
                                                               Environments, tmp_path) -> None:
    ock, tpm = environments.get("opencryptoki"), environments.get("tpm2")
    # No default module: each token names its own in the URI (module-path).
    variables = {**tpm.env.variables, "CEREMONY_PKCS11_MODULE": ""}
    tokens = Tokens(variables, {ock.root: ock.env, tpm.targets: tpm.env})
    o = Offline(tokens, tmp_path)  # type: ignore[arg-type]
    lifecycle(server, o, tmp_path, "example.com/two-modules",
              root=f"pkcs11:token={ock.root}?module-path={ock.module}",
              targets=f"pkcs11:token={tpm.targets}?module-path={tpm.module}",
              root_algorithm="rsa-3072", targets_algorithm="ecdsa-p256")
    # the transcript of the rotation names both modules
    tokens_entry = json.dumps(next(e for e in o.last_transcript() if e["kind"] == "tokens"))
    assert ock.module in tokens_entry and tpm.module in tokens_entry, tokens_entry

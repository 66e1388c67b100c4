"""The loopback notary-server/client harness itself works (everything else builds on it)."""

import pytest

from softhsm.notary_server import NotaryClient, NotaryServer

pytestmark = pytest.mark.notary


def test_real_client_publishes_and_lists(tmp_path):
    with NotaryServer(tmp_path / "srv") as server:
        client = NotaryClient(server, tmp_path / "client")
        client.run("init", "example.com/sandbox", "--publish")
        target = tmp_path / "artifact.txt"
        target.write_text("hello")
        client.run("add", "example.com/sandbox", "v1", str(target), "--publish")
        listing = client.run("list", "example.com/sandbox").stdout
        assert "v1" in listing and "targets" in listing
        status, body = server.get("/v2/example.com/sandbox/_trust/tuf/root.json")
        assert status == 200 and b'"_type":"Root"' in body
        status, _ = server.get("/v2/example.com/nothing/_trust/tuf/root.json")
        assert status == 404

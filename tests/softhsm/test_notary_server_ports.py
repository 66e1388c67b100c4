"""notary-signer and notary-server on ports picked as free: another process can take the port
between the pick and the daemon's bind (CI lost that race). The daemon then exits while the
port still answers -- for the other process. A start confirms that its own daemon serves the
port and tries a fresh one when the daemon exited; a port the caller chose is tried once."""

from __future__ import annotations

import json
import socket
import urllib.parse
from collections.abc import Iterator

import pytest

from softhsm import notary_server
from softhsm.notary_server import NotaryServer


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port another process has taken: a listener that answers a connect, as in the race."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


def test_each_daemon_that_loses_its_port_starts_again_on_a_fresh_one(tmp_path, monkeypatch,
                                                                    taken_port):
    # A staged fault (the race cannot be timed from outside): the first port picked for each
    # daemon is one another process already holds; the next picks are really free.
    picks: list[int] = []
    real_free_port = notary_server.free_port

    def racing_free_port() -> int:
        picks.append(taken_port if len(picks) % 2 == 0 else real_free_port())
        return picks[-1]

    monkeypatch.setattr(notary_server, "free_port", racing_free_port)
    with NotaryServer(tmp_path / "srv") as server:
        signer_port = json.loads((tmp_path / "srv" / "signer" / "signer.json").read_text()
                                 )["server"]["grpc_addr"].rpartition(":")[2]
        server_port = urllib.parse.urlsplit(server.url).port
        assert server.signer_process is not None and server.signer_process.poll() is None
        assert len(picks) == 4 and picks[0] == picks[2] == taken_port, picks
        assert int(signer_port) == picks[1] and server_port == picks[3]
        # the server reaches its own signer: asking for a timestamp key makes the signer
        # create one (ECDSA, the signer's key type)
        status, body = server.get("/v2/example.com/ports/app/_trust/tuf/timestamp.key")
        assert status == 200, body[:300]
        assert json.loads(body)["keytype"] == "ecdsa"


def test_a_port_the_caller_chose_is_tried_once(tmp_path, taken_port):
    server = NotaryServer(tmp_path / "srv", trust_service="local", port=taken_port)
    with pytest.raises(RuntimeError, match="notary-server did not start; see .*server.log"):
        server.start()
    assert server.process is not None and server.process.poll() is not None

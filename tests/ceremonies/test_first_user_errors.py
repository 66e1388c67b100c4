"""What a first-time user meets (issue 9, items 3, 7, 9): discoverable operation names, a GUN
typo that creates nothing on the server, errors that say what to do next, one duration grammar,
and a renewal that shortens an expiry only when that is confirmed explicitly. The real
notary-server and real SoftHSM tokens.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys

import pytest

from tests.ceremonies.conftest import fetch, publish
from tests.conftest import ROOT, run_cli
from tests.online.test_online import requests_logged

pytestmark = pytest.mark.notary

OPERATIONS = ("init", "signer-add", "signer-remove", "delegation-add", "delegation-remove",
              "rotate-targets", "rotate-root", "renew", "pin")


def one_line(r, code: int = 1) -> str:
    assert r.returncode == code, r.output
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("error: "), r.stderr
    return r.stderr


def test_operations_are_listed_and_a_gun_typo_creates_no_server_key(server, tmp_path):
    help_text = " ".join(run_cli("online", "fetch", "--help").stdout.split())
    for name in OPERATIONS:
        assert name in help_text, name
    out = tmp_path / "req"
    err = one_line(run_cli("online", "fetch", "example.com/x", "--operation", "signer-ad",
                           "--server", server.url, "--ca", str(server.ca), "--out", str(out)),
                   2)
    assert all(name in err for name in OPERATIONS)
    # a typo in the GUN of a non-init operation: refused before any key is asked for
    typo = "example.com/no-such-repo"
    err = one_line(run_cli("online", "fetch", typo, "--operation", "signer-add", "--server",
                           server.url, "--ca", str(server.ca), "--out", str(out)))
    assert "no trust data" in err and "is the GUN right" in err and not out.exists()
    for key in ("timestamp.key", "snapshot.key"):
        assert requests_logged(server, "GET", f"/v2/{typo}/_trust/tuf/{key}") == 0
    # a URL where the GUN goes says so
    err = one_line(run_cli("online", "fetch", "https://notary.example.com/app", "--server",
                           server.url, "--ca", str(server.ca), "--out", str(out)))
    assert "is a URL" in err and "--server" in err


def test_errors_say_what_to_do_next(server, offline, tmp_path):
    o = offline
    # required options are marked in --help, and a missing one is a usage error (exit 2)
    for command in (["init"], ["signer", "add"], ["renew"], ["rotate", "root"],
                    ["key", "generate"], ["key", "cert"], ["online", "fetch"]):
        help_text = run_cli(*command, "--help").stdout
        assert "[required]" in help_text, command
    assert "Missing option '--request'" in one_line(
        o.run("init", "--out", str(tmp_path / "r"), "--root-token", "root-a",
              "--targets-token", "targets"), 2)
    assert "Missing option '--targets-token'" in one_line(
        o.run("init", "--out", str(tmp_path / "r"), "--root-token", "root-a", "--request",
              str(tmp_path / "q")), 2)
    assert "Missing option '--request'" in one_line(
        o.run("signer", "add", "example.com/a", "alice", "--out", str(tmp_path / "r"),
              "--targets-token", "targets"), 2)
    assert "Missing option '--label'" in one_line(
        o.run("key", "generate", "--token", "root-a"), 2)
    assert "Missing option '--out'" in one_line(
        run_cli("online", "fetch", "example.com/a", "--server", server.url), 2)
    # `token keys` with several tokens and no URI names its own argument, not an option
    err = one_line(o.run("token", "keys", "--pin-source", o.env.pin_source("root-a")))
    assert "ceremony token keys pkcs11:token=" in err and "--token" not in err
    # an online command on the air-gapped machine says it is an online command
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run(["unshare", "--net", sys.executable, "-m", "ceremony", "online",
                           "fetch", "example.com/a", "--server", "https://notary.example.com",
                           "--out", str(tmp_path / "req")], env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 1 and "online machine" in proc.stderr, proc.stderr


def test_a_stale_request_says_fetch_a_fresh_one(server, offline, tmp_path):
    gun = "example.com/stale"
    o = offline
    req = fetch(server, gun, out=tmp_path / "init.req")
    resp = tmp_path / "init.resp"
    o.ok("init", "--request", str(req), "--out", str(resp), "--root-token", "root-a",
         "--targets-token", "targets", *o.pins("root-a", "targets"), "--yes")
    publish(server, resp)
    pem = tmp_path / "alice.pem"
    subprocess.run(f"openssl ecparam -name prime256v1 -genkey -noout | openssl ec -pubout "
                   f"-out {pem}", shell=True, check=True, capture_output=True)
    req = fetch(server, gun, out=tmp_path / "signer.req", operation="signer-add")
    resp = tmp_path / "signer.resp"
    o.ok("signer", "add", gun, "alice", "--key", str(pem), "--request", str(req), "--out",
         str(resp), "--targets-token", "targets", *o.pins("targets"), "--yes")
    publish(server, resp)
    r = o.run("signer", "add", gun, "bob", "--key", str(pem), "--request", str(req), "--out",
              str(tmp_path / "again.resp"), "--targets-token", "targets", *o.pins("targets"),
              "--yes")
    err = one_line(r)
    assert "this request is stale: fetch a fresh one" in err


def test_one_duration_grammar_and_a_shortening_renewal_needs_its_own_confirmation(
        server, offline, tmp_path):
    gun = "example.com/shorter"
    o = offline
    # `key cert` takes what renew takes (6m was refused there before)
    assert o.run("key", "generate", "--token", "root-b", "--label", "root", "--pin-source",
                 o.env.pin_source("root-b")).returncode == 0
    cert = o.ok("key", "cert", "--token", "root-b", "--label", "root", "--gun", gun, "--out",
                str(tmp_path / "b.pem"), "--valid-for", "6m", "--pin-source",
                o.env.pin_source("root-b"))
    start = dt.datetime.fromisoformat(cert["not_before"].replace("Z", "+00:00"))
    end = dt.datetime.fromisoformat(cert["not_after"].replace("Z", "+00:00"))
    assert end - start == dt.timedelta(days=180)
    req = fetch(server, gun, out=tmp_path / "init.req")
    resp = tmp_path / "init.resp"
    assert "6m" in one_line(o.run("init", "--request", str(req), "--out", str(resp),
                                  "--root-token", "root-a", "--targets-token", "targets",
                                  "--targets-expires", "6x", "--yes"))
    o.ok("init", "--request", str(req), "--out", str(resp), "--root-token", "root-a",
         "--targets-token", "targets", "--targets-expires", "6m", *o.pins("root-a", "targets"),
         "--yes")
    publish(server, resp)
    req = fetch(server, gun, out=tmp_path / "renew.req", operation="renew")
    out = tmp_path / "renew.resp"
    args = ["renew", gun, "--role", "root", "--expires", "12h", "--request", str(req), "--out",
            str(out), "--root-token", "root-a", *o.pins("root-a")]
    err = one_line(o.run(*args, "--yes"))
    assert "EARLIER" in err and "--allow-shorter" in err and not out.exists()
    typed = o.run(*args, input="yes\nyes\n")
    assert typed.returncode == 1 and not out.exists()
    assert "WARNING: example.com/shorter root.json expiry moves EARLIER" in typed.stdout
    assert "Type shorten" in typed.stderr
    accepted = o.run(*args, input="shorten\nyes\n")
    assert accepted.returncode == 0, accepted.output
    confirmations = [e["data"] for e in o.last_transcript() if e["kind"] == "confirmation"]
    assert confirmations[0]["answer"] == "shorten" and confirmations[0]["via"] == "typed"
    publish(server, out)
    # a lengthening renewal asks nothing more
    req = fetch(server, gun, out=tmp_path / "renew2.req", operation="renew")
    r = o.run("renew", gun, "--role", "targets", "--expires", "1y", "--request", str(req),
              "--out", str(tmp_path / "t.resp"), "--targets-token", "targets",
              *o.pins("targets"), "--yes", "--json")
    assert r.returncode == 0, r.output
    assert not any("EARLIER" in n for n in json.loads(r.stdout)["repositories"][0]["notes"])

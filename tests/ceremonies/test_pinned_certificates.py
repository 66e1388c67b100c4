"""The root certificate a verifier pinned is the one root.json lists (issue 9, items 1, 2, 6,
18): `init` uses an existing certificate (stored on the token, or `--root-cert FILE`), issues
one only when there is none and stores it only after the confirmation; the "pin these" block
and `ceremony pins` hand out what the real notary client then accepts; default lifetimes agree.
Real SoftHSM tokens, the real notary-server and notary client.
"""

from __future__ import annotations

import json

import pytest
from cryptography import x509

from tests.ceremonies.conftest import client, fetch, publish, response_file, root_cert_ids

pytestmark = pytest.mark.notary


def stored_cert_ids(o, label: str) -> list[str]:
    """Cert key IDs of the certificates stored on token `label` (`token keys --json`)."""
    r = o.run("token", "keys", label, "--pin-source", o.env.pin_source(label), "--json")
    assert r.returncode == 0, r.output
    return [k["certificate"]["cert_key_id"] for k in json.loads(r.stdout)["keys"]
            if k["certificate"]]


def init_args(o, req, resp, *extra: str) -> list[str]:
    return ["init", "--request", str(req), "--out", str(resp), "--root-token", "root-a",
            "--targets-token", "targets", *o.pins("root-a", "targets"), *extra]


def test_init_uses_the_certificate_stored_on_the_token(server, offline, tmp_path):
    gun = "example.com/pinned-first"
    o = offline
    assert o.run("key", "generate", "--token", "root-a", "--label", "root", "--pin-source",
                 o.env.pin_source("root-a")).returncode == 0
    r = o.run("key", "cert", "--token", "root-a", "--label", "root", "--gun", gun, "--out",
              str(tmp_path / "root.crt"), "--store-on-token", "--pin-source",
              o.env.pin_source("root-a"))
    assert r.returncode == 0, r.output
    pinned = next(line.split(": ")[-1] for line in r.stdout.splitlines()
                  if "trust pinning" in line)
    assert "init uses this certificate" in r.stdout
    # a refused review, then a real run: both list the ID distributed before the ceremony
    req = fetch(server, gun, out=tmp_path / "init.req")
    resp = tmp_path / "init.resp"
    refused = o.run(*init_args(o, req, resp), input="no\n")
    assert refused.returncode == 1 and not resp.exists()
    assert pinned in refused.stdout and "stored on the token" in refused.stdout
    result = o.ok(*init_args(o, req, resp, "--yes"))
    assert root_cert_ids(resp, gun) == [pinned]
    assert stored_cert_ids(o, "root-a") == [pinned]
    # item 6: root does not outlive the certificate (capped where needed, said in the review;
    # a certificate issued in init's own second, whole seconds both, needs no cap)
    root = json.loads(response_file(resp, gun, "root"))["signed"]
    cert = x509.load_pem_x509_certificate((tmp_path / "root.crt").read_bytes())
    assert root["expires"] <= f"{cert.not_valid_after_utc:%Y-%m-%dT%H:%M:%SZ}"
    capped = [n for n in result["repositories"][0]["notes"] if "capped" in n]
    assert capped or root["expires"] == f"{cert.not_valid_after_utc:%Y-%m-%dT%H:%M:%SZ}"
    assert all(root["expires"][:10] in n for n in capped)
    publish(server, resp)
    assert "No targets present" in client(server, tmp_path / "c", {gun: [pinned]}).run(
        "list", gun).stdout


def test_init_issues_only_when_there_is_none_and_stores_after_confirmation(server, offline,
                                                                           tmp_path):
    gun = "example.com/pinned-issued"
    o = offline
    req = fetch(server, gun, out=tmp_path / "init.req")
    resp = tmp_path / "init.resp"
    refused = o.run(*init_args(o, req, resp), input="no\n")
    assert refused.returncode == 1, refused.output
    assert "stored on the token once you confirm" in refused.stdout
    assert stored_cert_ids(o, "root-a") == []  # nothing stored before the confirmation
    r = o.run(*init_args(o, req, resp, "--yes"))
    assert r.returncode == 0, r.output
    ids = root_cert_ids(resp, gun)
    assert stored_cert_ids(o, "root-a") == ids  # what `token keys` says is what root lists
    assert "certificates-stored" in [e["kind"] for e in o.last_transcript()]
    # item 2: the "pin these" block, true, after the summary
    lines = r.stdout.splitlines()
    start = lines.index(f"Pin these (distribute to every verifier of {gun}):")
    block = "\n".join(lines[start:])
    assert ids[0] in block and json.dumps({"trust_pinning": {"certs": {gun: ids}}}) in block
    assert "BEGIN PUBLIC KEY" in block and "WARNING" not in block
    # a second run of init on the same token reuses that stored certificate for the same GUN
    # only; item 6: a default targets rotation afterwards has nothing to warn about
    publish(server, resp)
    req = fetch(server, gun, out=tmp_path / "rot.req", operation="rotate-targets")
    rot = o.ok("rotate", "targets", gun, "--request", str(req), "--out",
               str(tmp_path / "rot.resp"), "--targets-token", "targets", "--root-token",
               "root-a", *o.pins("root-a", "targets"), "--yes")
    assert not any("renew it in time" in n for n in rot["repositories"][0]["notes"])
    publish(server, tmp_path / "rot.resp")
    # ... nor a default root renewal (it re-issues nothing and keeps root within the certs)
    req = fetch(server, gun, out=tmp_path / "renew.req", operation="renew")
    ren = o.ok("renew", gun, "--role", "root", "--request", str(req), "--out",
               str(tmp_path / "renew.resp"), "--root-token", "root-a", *o.pins("root-a"),
               "--yes")
    assert not any("WARNING" in n for n in ren["repositories"][0]["notes"]), ren
    assert ren["pins"]["root_cert_ids"] == ids and ren["pins"]["changed"] is False


def test_root_cert_file_is_checked_against_the_token_key(server, offline, tmp_path):
    gun = "example.com/pinned-file"
    o = offline
    for label in ("root-a", "root-b"):
        assert o.run("key", "generate", "--token", label, "--label", "root", "--pin-source",
                     o.env.pin_source(label)).returncode == 0
    certs = {}
    for label in ("root-a", "root-b"):
        certs[label] = tmp_path / f"{label}.crt"
        r = o.run("key", "cert", "--token", label, "--label", "root", "--gun", gun, "--out",
                  str(certs[label]), "--valid-for", "11y", "--pin-source",
                  o.env.pin_source(label), "--json")
        assert r.returncode == 0, r.output
        certs[label + "-id"] = json.loads(r.stdout)["cert_key_id"]
    req = fetch(server, gun, out=tmp_path / "init.req")
    resp = tmp_path / "init.resp"
    # root-b's certificate is not the key on root-a: refused, nothing written
    r = o.run(*init_args(o, req, resp, "--root-cert", str(certs["root-b"]), "--yes"))
    assert r.returncode == 1 and "--root-cert" in r.stderr and "--remote-root-cert" in r.stderr
    assert r.stderr.count("\n") == 1 and not resp.exists()
    # a file with a private key in it is refused
    bad = tmp_path / "bad.pem"
    bad.write_text(certs["root-a"].read_text() + "-----BEGIN PRIVATE KEY-----\nAA==\n"
                   "-----END PRIVATE KEY-----\n")
    r = o.run(*init_args(o, req, resp, "--root-cert", str(bad), "--yes"))
    assert r.returncode == 1 and "PRIVATE" in r.stderr
    # an explicit root lifetime beyond the certificate is refused
    r = o.run(*init_args(o, req, resp, "--root-cert", str(certs["root-a"]), "--root-expires",
                         "12y", "--yes"))
    assert r.returncode == 1 and "--root-expires" in r.stderr
    o.ok(*init_args(o, req, resp, "--root-cert", str(certs["root-a"]), "--yes"))
    assert root_cert_ids(resp, gun) == [certs["root-a-id"]]
    assert stored_cert_ids(o, "root-a") == []  # a given file is not stored behind anyone


def test_pins_command_writes_what_real_clients_pin(server, offline, tmp_path):
    gun = "example.com/pins-files"
    o = offline
    req = fetch(server, gun, out=tmp_path / "init.req")
    resp = tmp_path / "init.resp"
    result = o.ok(*init_args(o, req, resp, "--yes"))
    ids = root_cert_ids(resp, gun)
    pins = result["pins"]
    assert pins["gun"] == gun and pins["root_cert_ids"] == ids
    assert pins["trust_pinning"] == {"certs": {gun: ids}}
    assert pins["changed"] is False and pins["previous_root_cert_ids"] == []
    assert result["repositories"][0]["pins"] == pins
    assert len(pins["root_public_keys_pem"]) == 1
    publish(server, resp)
    out = tmp_path / "pins"
    r = o.run("pins", gun, "--out", str(out), "--json")
    assert r.returncode == 0, r.output
    data = json.loads(r.stdout)
    assert data["root_cert_ids"] == ids and set(data["written"]) == {
        "notary-client-config.json", "connaisseur-root.pub.pem", "root.json"}
    config = json.loads((out / "notary-client-config.json").read_text())
    assert config == {"trust_pinning": {"certs": {gun: ids}}}
    assert (out / "connaisseur-root.pub.pem").read_text() == pins["root_public_keys_pem"][0]
    assert (out / "root.json").read_bytes() == response_file(resp, gun, "root")
    fresh = client(server, tmp_path / "fresh", config["trust_pinning"]["certs"])
    assert "No targets present" in fresh.run("list", gun).stdout
    # existing files are not replaced without --force; an unknown GUN says what to do
    again = o.run("pins", gun, "--out", str(out))
    assert again.returncode == 1 and "--force" in again.stderr
    assert o.run("pins", gun, "--out", str(out), "--force").returncode == 0
    unknown = o.run("pins", "example.com/nothing", "--out", str(tmp_path / "x"))
    assert unknown.returncode == 1 and "trusts no root" in unknown.stderr
    assert not (tmp_path / "x").exists()

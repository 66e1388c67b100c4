"""`ceremony verify` on a whole `sign-descriptors` response bundle, and on several envelope
files in one run, offline (inside the AIRGAPPED wrapper): every envelope against the descriptor
the bundle pairs it with, the pinned root CA and any CRL; one line per envelope, a summary,
exit 0 only if every one verifies, the failing ones named.

The response is made by the real ceremony (resolve on the REAL docker-registry, sign-descriptors
--request with token keys on SoftHSM), attached, and the REAL `notation verify` agrees with the
verdict. Tampered bundles are re-sealed with a valid bundle digest (a hostile or broken
transfer that the bundle's own digest cannot catch), so only the envelope tells."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from ceremony.notation.crl import make_crl
from ceremony.workspace import Workspace
from tests.conftest import run_cli
from tests.notation import test_interop
from tests.notation.conftest import push_image
from tests.notation.test_envelopes import make_pki
from tests.notation.test_interop import TOKEN_SIGNER, notation_for
from transfer.systembundle import SystemBundle, read_system_bundle, write_system_bundle

world = test_interop.world   # the module-scoped world of test_interop: CA, token signer
TAGS = ("v1", "v2", "v3")


def one_line_error(r) -> str:
    assert r.returncode == 1, r.output
    assert r.stderr.startswith("error: ") and len(r.stderr.strip().splitlines()) == 1, r.stderr
    return r.stderr


def sign_response(world, offline, folder: Path, repo: str, tags: tuple[str, ...],
                  envelope: str, chain: Path | None = None) -> tuple[Path, list[dict]]:
    """resolve (online) -> sign-descriptors --request (the ceremony, air-gapped): the
    response bundle and the descriptors of the images, in request order."""
    host = world["registry"]
    folder.mkdir(parents=True, exist_ok=True)
    descs = [push_image(host, repo, tag, f"{repo}:{tag} {envelope}".encode()) for tag in tags]
    r = run_cli("notation", "resolve", *(f"{host}/{repo}:{t}" for t in tags), "--out",
                str(folder / "sign.req"))
    assert r.returncode == 0, r.output
    Workspace.open(folder / "ws", create=True)  # the chain is given: no CA in it
    offline.ok("notation", "sign-descriptors", "--workspace", str(folder / "ws"), "--request",
               str(folder / "sign.req"), "--out", str(folder / "sign.resp"), "--token",
               "pkcs11:token=signer", "--label", "sign", "--chain",
               str(chain or world["folder"] / "signer-chain.pem"), "--envelope", envelope,
               "--yes", "--pin-source", offline.pin("signer"))
    return folder / "sign.resp", descs


@pytest.fixture(scope="module")
def response(world, offline, tmp_path_factory):
    folder = tmp_path_factory.mktemp("response")
    resp, descs = sign_response(world, offline, folder, "bundled", TAGS, "jws")
    return {"resp": resp, "descs": descs, "folder": folder, "root": world["ca"] / "ca.crt",
            "refs": [f"{world['registry']}/bundled:{t}" for t in TAGS]}


def reseal(src: Path, dst: Path, change) -> Path:
    """The bundle with `change(signatures)` applied to its content, sealed again with a valid
    bundle digest: only what is inside can tell."""
    bundle = read_system_bundle(src, "notation", "response")
    content = json.loads(json.dumps(dict(bundle.content)))
    change(content["signatures"])
    write_system_bundle(dst, SystemBundle(system=bundle.system, kind=bundle.kind,
                                          content=content, created=bundle.created,
                                          tool=bundle.tool))
    return dst


def flip_payload_digest(envelope_b64: str) -> str:
    """Another well-formed digest in the signed JWS payload (the signature no longer fits)."""
    data = json.loads(base64.b64decode(envelope_b64))
    payload = base64.urlsafe_b64decode(data["payload"] + "==")
    i = payload.find(b"sha256:") + 10
    payload = payload[:i] + (b"0" if payload[i:i + 1] != b"0" else b"1") + payload[i + 1:]
    data["payload"] = base64.urlsafe_b64encode(payload).decode().rstrip("=")
    return base64.b64encode(json.dumps(data).encode()).decode()


def lines(r) -> list[str]:
    return r.stdout.strip().splitlines()


def test_whole_response_verifies_and_notation_agrees(world, offline, response, tmp_path):
    r = offline.ok("verify", str(response["resp"]), "--root-ca", str(response["root"]))
    out = lines(r)
    assert len(out) == len(TAGS) + 1, r.stdout
    for line, ref, desc in zip(out, response["refs"], response["descs"], strict=False):
        assert line.startswith(f"{ref}  {desc['digest']}  JWS  CN=ceremony signer")
        assert line.endswith("VERIFIED")
    assert out[-1].startswith(f"{len(TAGS)} of {len(TAGS)} signature(s) verified")
    assert "not checked (no --crl)" in out[-1]
    # --json: the same as a list
    r = offline.ok("verify", str(response["resp"]), "--format", "notation", "--root-ca",
                   str(response["root"]), "--json")
    rows = json.loads(r.stdout)
    assert [row["label"] for row in rows] == response["refs"]
    assert all(row["valid"] and row["reason"] is None and row["envelope"] == "JWS"
               for row in rows)
    assert [row["digest"] for row in rows] == [d["digest"] for d in response["descs"]]
    assert [row["artifact_checked"] for row in rows] == [d["digest"] for d in response["descs"]]
    assert all(row["signer"].startswith("CN=ceremony signer") for row in rows)
    assert all(row["chain"][-1].startswith("CN=Example Notation Root") for row in rows)
    # the real notation, given the same pinned root, agrees once the response is attached
    assert run_cli("notation", "attach", "--response", str(response["resp"])).returncode == 0
    n = notation_for(world, tmp_path, [TOKEN_SIGNER])
    for desc in response["descs"]:
        ref = f"{world['registry']}/bundled@{desc['digest']}"
        got = n.run("verify", ref)
        assert got.returncode == 0 and "Successfully verified" in got.output, got.output


def test_tampered_envelope_named_and_refused(world, offline, response, tmp_path):
    """One envelope inside the bundle altered, the bundle re-sealed: that one is named, the
    others still verify, exit 1; the real notation refuses the altered one too."""
    def tamper(sigs):
        sigs[1]["envelope"] = flip_payload_digest(sigs[1]["envelope"])
    bad = reseal(response["resp"], tmp_path / "tampered.resp", tamper)
    r = offline.run("verify", str(bad), "--root-ca", str(response["root"]))
    err = one_line_error(r)
    out = lines(r)
    assert out[0].endswith("VERIFIED") and out[2].endswith("VERIFIED"), r.stdout
    assert out[1].startswith(response["refs"][1]) and "FAILED" in out[1]
    assert "altered" in out[1]
    assert out[-1].startswith("2 of 3 signature(s) verified, 1 FAILED")
    assert f"1 of 3 signature(s) did not verify: {response['refs'][1]}" in err
    assert response["refs"][0] not in err and response["refs"][2] not in err
    rows = json.loads(offline.run("verify", str(bad), "--root-ca", str(response["root"]),
                                  "--json").stdout)
    assert [row["valid"] for row in rows] == [True, False, True]
    assert "altered" in rows[1]["reason"] and rows[1]["signer"].startswith("CN=ceremony")
    # the real notation: attach the altered response to another repository, refused there
    host = world["registry"]
    desc = push_image(host, "tampered", "v1", b"tampered:v1")
    def retarget(sigs):
        sigs[:] = [dict(sigs[1], reference=f"{host}/tampered:v1", descriptor=desc)]
    moved = reseal(bad, tmp_path / "moved.resp", retarget)
    assert run_cli("notation", "attach", "--response", str(moved)).returncode == 0
    n = notation_for(world, tmp_path, [TOKEN_SIGNER])
    got = n.run("verify", f"{host}/tampered@{desc['digest']}")
    assert got.returncode != 0 and "signature verification failed" in got.output, got.output
    err = one_line_error(offline.run("verify", str(moved), "--root-ca", str(response["root"])))
    assert "1 of 1 signature(s) did not verify" in err


def test_each_envelope_checked_against_its_own_descriptor(offline, response, tmp_path):
    """Envelopes swapped between entries (each still a valid signature, of another image),
    thumbprints that are not the chain's, and a digest reference naming another digest."""
    def swap(sigs):
        sigs[0]["envelope"], sigs[2]["envelope"] = sigs[2]["envelope"], sigs[0]["envelope"]
    r = offline.run("verify", str(reseal(response["resp"], tmp_path / "swap.resp", swap)),
                    "--root-ca", str(response["root"]))
    err = one_line_error(r)
    out = lines(r)
    assert "not for" in out[0] and "not for" in out[2] and out[1].endswith("VERIFIED")
    assert "2 of 3 signature(s) did not verify" in err
    d0 = response["descs"][0]["digest"]
    assert f"{response['refs'][0]} ({d0})" in err

    def thumbprints(sigs):
        sigs[0]["thumbprints"] = sigs[0]["thumbprints"][::-1]
    r = offline.run("verify", str(reseal(response["resp"], tmp_path / "thumb.resp",
                                         thumbprints)), "--root-ca", str(response["root"]))
    one_line_error(r)
    assert "thumbprints" in lines(r)[0]

    def by_digest(sigs):
        host_repo = sigs[0]["reference"].rsplit(":", 1)[0]
        sigs[0]["reference"] = f"{host_repo}@{response['descs'][1]['digest']}"
    r = offline.run("verify", str(reseal(response["resp"], tmp_path / "ref.resp", by_digest)),
                    "--root-ca", str(response["root"]))
    one_line_error(r)
    assert "the reference names" in lines(r)[0]


def test_revoked_signer_with_crl(world, offline, tmp_path):
    """A signing certificate of its own (revoking the shared one would break the other tests):
    the response verifies with the CA's CRL before `ca revoke`, every envelope is refused with
    the CRL after it."""
    o, ca = offline, world["ca"]
    chain = tmp_path / "chain.pem"
    o.ok("notation", "ca", "issue", "--ca-dir", str(ca), "--csr",
         str(world["folder"] / "signer.csr"), "--out", str(chain), "--pin-source",
         o.pin("ca-root"))
    resp, _ = sign_response(world, offline, tmp_path / "r", "revoked", ("v1", "v2"), "cose",
                            chain)
    o.ok("notation", "ca", "crl", "--ca-dir", str(ca), "--pin-source", o.pin("ca-root"))
    (tmp_path / "before.crl").write_bytes((ca / "crl.pem").read_bytes())
    r = o.ok("verify", str(resp), "--root-ca", str(ca / "ca.crt"), "--crl",
             str(tmp_path / "before.crl"))
    assert all("  COSE  " in line for line in lines(r)[:2])
    assert lines(r)[-1].startswith("2 of 2 signature(s) verified")
    assert f"checked with {tmp_path / 'before.crl'}" in lines(r)[-1]
    o.ok("notation", "ca", "revoke", "--ca-dir", str(ca), "--cert", str(chain),
         "--pin-source", o.pin("ca-root"))
    r = o.run("verify", str(resp), "--root-ca", str(ca / "ca.crt"), "--crl",
              str(ca / "crl.pem"))
    err = one_line_error(r)
    assert all("FAILED" in line and "was revoked" in line for line in lines(r)[:2]), r.stdout
    assert "2 of 2 signature(s) did not verify" in err
    assert lines(r)[-1].endswith(f"revocation checked with {ca / 'crl.pem'}")
    rows = json.loads(o.run("verify", str(resp), "--root-ca", str(ca / "ca.crt"), "--crl",
                            str(ca / "crl.pem"), "--json").stdout)
    assert [row["valid"] for row in rows] == [False, False]
    # a CRL of another CA: refused rather than reported as checked
    other_root, other_key, _, _ = make_pki()
    foreign = make_crl(other_key, other_root, {}, 1, dt.timedelta(days=1))
    (tmp_path / "foreign.crl").write_bytes(foreign.public_bytes(Encoding.PEM))
    r = o.run("verify", str(resp), "--root-ca", str(ca / "ca.crt"), "--crl",
              str(tmp_path / "foreign.crl"))
    assert "not of a CA in these signatures' chains" in one_line_error(r)
    assert r.stdout == ""  # nothing reported as verified


def test_wrong_root_refuses_every_envelope(offline, response, tmp_path):
    other_root, _, _, _ = make_pki()
    (tmp_path / "other.crt").write_bytes(other_root.public_bytes(Encoding.PEM))
    r = offline.run("verify", str(response["resp"]), "--root-ca", str(tmp_path / "other.crt"))
    err = one_line_error(r)
    assert all("not a pinned root CA" in line for line in lines(r)[:3]), r.stdout
    assert "3 of 3 signature(s) did not verify" in err


def test_several_envelope_files_and_bundles_in_one_run(world, offline, response, tmp_path):
    """Several signatures of one image as files (a JWS and a COSE envelope), with the bundle
    beside them; --artifact applies to the files; a bundle refuses --descriptor/--artifact."""
    sig = json.loads(json.dumps(dict(read_system_bundle(
        response["resp"], "notation", "response").content)))["signatures"][0]
    jws = tmp_path / "one.jws"
    jws.write_bytes(base64.b64decode(sig["envelope"]))
    cose_resp, _ = sign_response(world, offline, tmp_path / "c", "bundled-cose", ("v1",), "cose")
    cose_sig = read_system_bundle(cose_resp, "notation", "response").content["signatures"][0]
    cose = tmp_path / "one.cose"
    cose.write_bytes(base64.b64decode(cose_sig["envelope"]))
    digest = response["descs"][0]["digest"]
    r = offline.ok("verify", str(jws), str(jws), "--root-ca", str(response["root"]),
                   "--artifact", f"{world['registry']}/bundled@{digest}")
    assert [line.split("  ")[:3] for line in lines(r)[:2]] == [[str(jws), digest, "JWS"]] * 2
    assert lines(r)[-1].startswith("2 of 2 signature(s) verified")
    # a COSE envelope of another image: named, the JWS one still verified
    r = offline.run("verify", str(jws), str(cose), "--root-ca", str(response["root"]),
                    "--artifact", digest)
    err = one_line_error(r)
    assert lines(r)[0].endswith("VERIFIED") and "  COSE  " in lines(r)[1]
    assert f"not for {digest}" in lines(r)[1] and str(cose) in err
    # files and bundles together, without --artifact
    r = offline.ok("verify", str(response["resp"]), str(cose_resp), str(cose), "--root-ca",
                   str(response["root"]), "--json")
    rows = json.loads(r.stdout)
    assert [row["envelope"] for row in rows] == ["JWS"] * 3 + ["COSE"] * 2
    assert all(row["valid"] for row in rows) and rows[-1]["artifact_checked"] is None
    # usage errors (exit 2)
    for args, text in (
            ([str(response["resp"]), "--root-ca", str(response["root"]), "--artifact", digest],
             "pairs each signature with its descriptor"),
            ([str(response["resp"])], "needs --root-ca"),
            ([str(jws), str(tmp_path), "--root-ca", str(response["root"])], "is a folder"),
            ([str(tmp_path), str(jws)], "one folder per run")):
        got = offline.run("verify", *args)
        assert got.returncode == 2 and text in got.stderr, (args, got.output)


def test_hostile_bundles_refused_in_one_line(offline, response, tmp_path):
    """Not a notation signatures response: each refused in one line naming the command that
    reads it; a bundle whose digest does not match; nothing printed as verified."""
    from tests.bundle.helpers import sample_request, sample_response
    from transfer.bundle import write_bundle
    root = str(response["root"])
    write_bundle(tmp_path / "notary.resp", sample_response())
    write_bundle(tmp_path / "notary.req", sample_request())
    write_system_bundle(tmp_path / "tuf.resp", SystemBundle(system="tuf", kind="response",
                                                            content={"type": "signed"}))
    req = response["folder"] / "sign.req"
    cases = {tmp_path / "notary.resp": "ceremony online publish",
             tmp_path / "notary.req": "ceremony verify FOLDER --gun GUN",
             tmp_path / "tuf.resp": "ceremony tuf apply",
             req: "ceremony notation sign-descriptors --request"}
    for path, command in cases.items():
        r = offline.run("verify", str(path), "--root-ca", root)
        err = one_line_error(r)
        assert "not a notation signatures response" in err and command in err, err
        assert r.stdout == ""
    # the digest no longer matches: a byte of an envelope changed without re-sealing
    data = bytearray(response["resp"].read_bytes())
    i = data.index(b'"envelope":"') + 20
    data[i] = ord("A") if data[i] != ord("A") else ord("B")
    (tmp_path / "broken.resp").write_bytes(bytes(data))
    err = one_line_error(offline.run("verify", str(tmp_path / "broken.resp"), "--root-ca",
                                     root))
    assert "digest mismatch" in err
    # a response whose content breaks the strict reader (an unknown field)
    def extra(sigs):
        sigs[0]["comment"] = "x"
    err = one_line_error(offline.run("verify", str(reseal(response["resp"], tmp_path /
                                                          "extra.resp", extra)),
                                     "--root-ca", root))
    assert "response.signatures[0]" in err


def test_hostile_reference_shown_escaped(offline, response, tmp_path):
    """A reference carrying terminal escapes and a forged line (the strict reader allows any
    string there): the envelope is refused for its swapped descriptor, and neither the report
    nor the error line carries a raw control character or a second line."""
    def hostile(sigs):
        sigs[0]["reference"] = "evil\x1b[2J\nVERIFIED everything"
        sigs[0]["descriptor"] = sigs[1]["descriptor"]
    r = offline.run("verify", str(reseal(response["resp"], tmp_path / "hostile.resp", hostile)),
                    "--root-ca", str(response["root"]))
    one_line_error(r)
    assert "\x1b" not in r.output
    assert len(lines(r)) == len(TAGS) + 1 and "FAILED" in lines(r)[0], r.stdout

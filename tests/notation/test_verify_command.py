"""`ceremony verify` for Notary Project signatures, offline (inside the AIRGAPPED wrapper):
an envelope file is detected (JWS or COSE) or named with --format notation, verified against
a pinned root CA, the artifact (descriptor or digest / reference), validity at signing time
and now (--at), and CRLs; signatures made by the tool's token keys and by the REAL `notation
sign` are accepted, tampered and foreign ones refused with one line, usage errors exit 2.

Signatures are attached to olareg (the registry with the referrers API) and the
`notation sign` envelope is read back from there, as a verifier would receive it."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from ceremony.notation.crl import make_crl
from ceremony.notation.payload import Descriptor
from ceremony.notation.registry import Registry
from tests.conftest import ROOT
from tests.notation import test_interop
from tests.notation.test_envelopes import _cose_with_header, _jws_with_header, make_pki
from tests.notation.test_interop import LOCAL_SIGNER, notation_for, sign_with_tool

world = test_interop.world   # the module-scoped world of test_interop, on this `registry`
ENVELOPES = {"application/jose+json": "jws", "application/cose": "cose"}


@pytest.fixture(scope="module")
def registry(olareg_registry):
    return olareg_registry


def one_line_error(r) -> str:
    assert r.returncode == 1, r.output
    assert r.stderr.startswith("error: ") and len(r.stderr.strip().splitlines()) == 1, r.stderr
    return r.stderr


def tool_envelope(sigs: Path, out: Path) -> tuple[Path, dict]:
    """The first envelope of a sign-descriptors folder, as a file, and its descriptor."""
    entry = json.loads((sigs / "signatures.json").read_text())["signatures"][0]
    out.write_bytes(base64.b64decode(entry["envelope"]))
    return out, entry["descriptor"]


@pytest.fixture(scope="module")
def signed(world, offline, tmp_path_factory):
    """One image signed three times: the tool's JWS and COSE (token key) and `notation sign`
    (local key, certificate from the tool's CA), each envelope also as a file."""
    folder = tmp_path_factory.mktemp("signed")
    out = {}
    for kind in ("jws", "cose"):
        (folder / kind).mkdir()
        ref = sign_with_tool(world, offline, "verified", "v1", kind, folder / kind)
        out[kind], out["descriptor"] = tool_envelope(folder / kind / "sigs",
                                                     folder / f"tool.{kind}")
    n = notation_for(world, folder / "n", [LOCAL_SIGNER])
    r = n.run("sign", "--signature-format", "cose", "--force-referrers-tag=false", ref)
    assert r.returncode == 0, r.output
    host, rest = ref.split("/", 1)
    repo, digest = rest.split("@")
    reg = Registry(host)
    for entry in reg.referrers(repo, digest):
        manifest = json.loads(reg.manifest(repo, entry["digest"])[1])
        if "org.opencontainers.image.created" in manifest.get("annotations", {}):
            layer = Descriptor.from_dict(manifest["layers"][0])
            out["notation"] = folder / "notation.cose"
            out["notation"].write_bytes(reg.blob(repo, layer))
    assert "notation" in out
    (folder / "descriptor.json").write_text(json.dumps(out["descriptor"]))
    out.update(ref=ref, digest=digest, folder=folder, root=world["ca"] / "ca.crt")
    return out


@pytest.mark.parametrize("which", ["jws", "cose", "notation"])
def test_detected_and_verified(offline, signed, which):
    r = offline.ok("verify", str(signed[which]), "--root-ca", str(signed["root"]),
                   "--artifact", signed["ref"])
    assert "Notary Project signature" in r.stdout and "VERIFIED" in r.stdout
    r = offline.ok("verify", str(signed[which]), "--format", "notation", "--root-ca",
                   str(signed["root"]), "--descriptor",
                   str(signed["folder"] / "descriptor.json"), "--json")
    data = json.loads(r.stdout)
    assert data["valid"] and data["format"] == "notation"
    assert data["artifact"] == signed["descriptor"]
    assert data["artifact_checked"] == signed["digest"]
    assert data["mediaType"] == ("application/jose+json" if which == "jws" else
                                 "application/cose")
    cn = "CN=ci signer" if which == "notation" else "CN=ceremony signer"
    assert data["signer"].startswith(cn)
    assert data["chain"][-1].startswith("CN=Example Notation Root")
    if which == "notation":
        assert data["signing_agent"].startswith("notation-go/")


@pytest.mark.parametrize("which", ["jws", "cose", "notation"])
def test_tampered_refused(offline, signed, tmp_path, which):
    """Another well-formed digest in the signed payload: only the signature can tell."""
    raw = bytearray(signed[which].read_bytes())
    if which == "jws":
        data = json.loads(raw)
        payload = base64.urlsafe_b64decode(data["payload"] + "==")
        i = payload.find(b"sha256:") + 10
        payload = payload[:i] + (b"0" if payload[i:i + 1] != b"0" else b"1") + payload[i + 1:]
        data["payload"] = base64.urlsafe_b64encode(payload).decode().rstrip("=")
        raw = bytearray(json.dumps(data).encode())
    else:
        i = raw.find(b"sha256:") + 10              # inside the payload's digest (CBOR bytes)
        raw[i] = ord("0") if raw[i] != ord("0") else ord("1")
    bad = tmp_path / f"bad.{which}"
    bad.write_bytes(bytes(raw))
    err = one_line_error(offline.run("verify", str(bad), "--root-ca", str(signed["root"])))
    assert "altered" in err, err


def test_wrong_artifact_other_root_and_time_refused(offline, signed, tmp_path):
    env, root = str(signed["jws"]), str(signed["root"])
    other = "sha256:" + "0" * 64
    err = one_line_error(offline.run("verify", env, "--root-ca", root, "--artifact", other))
    assert f"not for {other}" in err
    desc = dict(signed["descriptor"], size=signed["descriptor"]["size"] + 1)
    (tmp_path / "d.json").write_text(json.dumps(desc))
    err = one_line_error(offline.run("verify", env, "--root-ca", root, "--descriptor",
                                     str(tmp_path / "d.json")))
    assert "not for" in err
    other_root, _, _, _ = make_pki()
    (tmp_path / "other.crt").write_bytes(other_root.public_bytes(Encoding.PEM))
    err = one_line_error(offline.run("verify", env, "--root-ca", str(tmp_path / "other.crt")))
    assert "not a pinned root CA" in err
    # validity: before the certificates existed, and long after they expire
    err = one_line_error(offline.run("verify", env, "--root-ca", root, "--at",
                                     "2000-01-01T00:00:00Z"))
    assert "was not valid now" in err
    err = one_line_error(offline.run("verify", env, "--root-ca", root, "--at",
                                     "2999-01-01T00:00:00Z"))
    assert "was not valid now" in err


def test_revocation_by_given_crl(world, offline, signed, tmp_path):
    """A certificate of its own (revoking the shared one would break the other tests): valid
    with the CA's CRL before `ca revoke`, refused with the CRL after it; a CRL of another CA
    is refused rather than silently not checked."""
    o, ca = offline, world["ca"]
    chain = tmp_path / "chain.pem"
    o.ok("notation", "ca", "issue", "--ca-dir", str(ca), "--csr",
         str(world["folder"] / "signer.csr"), "--out", str(chain), "--pin-source",
         o.pin("ca-root"))
    sign_with_tool(world, offline, "revoked", "v1", "cose", tmp_path, chain)
    env, _ = tool_envelope(tmp_path / "sigs", tmp_path / "sig.cose")
    o.ok("notation", "ca", "crl", "--ca-dir", str(ca), "--pin-source", o.pin("ca-root"))
    (tmp_path / "before.crl").write_bytes((ca / "crl.pem").read_bytes())
    r = o.ok("verify", str(env), "--root-ca", str(ca / "ca.crt"), "--crl",
             str(tmp_path / "before.crl"))
    assert "before.crl" in r.stdout
    o.ok("notation", "ca", "revoke", "--ca-dir", str(ca), "--cert", str(chain),
         "--pin-source", o.pin("ca-root"))
    err = one_line_error(o.run("verify", str(env), "--root-ca", str(ca / "ca.crt"), "--crl",
                               str(ca / "crl.pem")))
    assert "was revoked" in err
    # the same signature without a CRL is only reported as not checked for revocation
    r = o.ok("verify", str(env), "--root-ca", str(ca / "ca.crt"))
    assert "not checked (no --crl)" in r.stdout
    # a CRL of another CA
    other_root, other_key, _, _ = make_pki()
    foreign = make_crl(other_key, other_root, {}, 1, dt.timedelta(days=1))
    (tmp_path / "foreign.crl").write_bytes(foreign.public_bytes(Encoding.PEM))
    err = one_line_error(o.run("verify", str(signed["cose"]), "--root-ca", str(ca / "ca.crt"),
                               "--crl", str(tmp_path / "foreign.crl")))
    assert "not of a CA in this signature's chain" in err


@pytest.mark.parametrize("build", [_jws_with_header, _cose_with_header], ids=["jws", "cose"])
def test_hostile_envelopes_refused_in_one_line(offline, tmp_path, build):
    """Extra critical headers, and chains that do not end at the pinned root (software keys:
    these are byte-format faults a real signer does not produce)."""
    root, _, issued, leaf = make_pki(intermediate=True)
    (tmp_path / "root.crt").write_bytes(root.public_bytes(Encoding.PEM))
    ok = tmp_path / "ok.sig"
    ok.write_bytes(build(leaf, issued, {}, []))
    offline.ok("verify", str(ok), "--root-ca", str(tmp_path / "root.crt"))
    crit = tmp_path / "crit.sig"
    crit.write_bytes(build(leaf, issued, {"com.example.policy": "x"}, ["com.example.policy"]))
    err = one_line_error(offline.run("verify", str(crit), "--root-ca",
                                     str(tmp_path / "root.crt")))
    assert "critical header" in err
    # the chain stops at the intermediate: it does not end at the pinned root
    cut = dataclasses.replace(issued, chain=issued.chain[:-1])
    short = tmp_path / "short.sig"
    short.write_bytes(build(leaf, cut, {}, []))
    err = one_line_error(offline.run("verify", str(short), "--root-ca",
                                     str(tmp_path / "root.crt")))
    assert "does not end at a self-signed root" in err
    # a chain to another (self-signed, valid) root than the pinned one
    other_root, _, _, _ = make_pki()
    (tmp_path / "other.crt").write_bytes(other_root.public_bytes(Encoding.PEM))
    err = one_line_error(offline.run("verify", str(ok), "--root-ca",
                                     str(tmp_path / "other.crt")))
    assert "not a pinned root CA" in err


def test_usage_errors(offline, signed, tmp_path):
    env, root = str(signed["jws"]), str(signed["root"])
    for args, text in (
            ([env], "needs --root-ca"),
            ([env, "--root-ca", root, "--gun", "x/y"], "for repository metadata"),
            ([env, "--root-ca", root, "--descriptor", env, "--artifact", signed["digest"]],
             "not both"),
            ([str(tmp_path), "--root-ca", root], "for a Notary Project signature"),
            ([str(tmp_path), "--format", "notation", "--root-ca", root], "is a folder"),
            ([env, "--format", "tuf"], "verified from a folder")):
        r = offline.run("verify", *args)
        assert r.returncode == 2 and text in r.stderr, (args, r.output)
    (tmp_path / "x.txt").write_text("hello")
    r = offline.run("verify", str(tmp_path / "x.txt"), "--root-ca", root)
    assert r.returncode == 2 and "not a Notary Project signature envelope" in r.stderr
    err = one_line_error(offline.run("verify", env, "--root-ca", root, "--artifact", "v1"))
    assert "--artifact" in err


def test_verify_never_loads_the_online_module():
    code = ("import sys\nimport ceremony.cli.verify, ceremony.notation.verify_cli\n"
            "bad = [m for m in sys.modules if m in ('ceremony.notation.registry', "
            "'urllib.request', 'http.client')]\nprint(bad)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"

"""Signing metadata made elsewhere as a ceremony, co-signed across two sites, with REAL SoftHSM
token keys and python-tuf's own repository code:

python-tuf proposes root v2 (the root role moves to three token keys, threshold 2); the online
side puts it into a request bundle; site A (token a only) signs it from the bundle: a PARTIAL
response that says what it lacks and that `apply` refuses; site B (token b) co-signs from A's
partial: complete; `apply` writes it; python-tuf proposes v3, site A (now holding tokens a and
c) signs it alone, after following the repository's root chain in its workspace; python-tuf's
ngclient, go-tuf and tough, trusting root v1, follow both rotations and download a target.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tuf.api.metadata import Metadata

from ceremony.workspace import Workspace
from softhsm.pytest_plugin import softhsm_factory  # noqa: F401
from tests.conftest import CliResult, run_cli
from tests.tuf.conftest import KEY_LABEL, Offline
from tests.tuf.peers import CLIENTS, serve
from tests.tuf.pytuf_repo import PyTufRepository, new_signer, token_key

SITE_TOKENS = {"cs-a": "ecdsa-p256", "cs-b": "ed25519", "cs-c": "rsa-3072"}


@dataclass
class Sites:
    folder: Path
    repo: PyTufRepository
    offline: Offline
    keys: dict[str, dict[str, Any]]
    first_sha: str
    site_a: dict[str, Any]
    site_a_text: str
    site_b: dict[str, Any]
    apply_partial: CliResult
    take_partial: CliResult
    v3: dict[str, Any]

    def ws(self, site: str) -> str:
        return str(self.folder / f"ws-{site}")

    def root(self, version: int) -> bytes:
        return (self.repo.metadata_dir / f"{version}.root.json").read_bytes()


def online(*args: str) -> CliResult:
    return run_cli("tuf", *args)


def sign_args(off: Offline, folder: Path, site: str, request: Path, out: Path,
              *tokens: str, extra: tuple[str, ...] = ()) -> list[str]:
    args = ["tuf", "sign-request", "--request", str(request), "--out", str(out),
            "--workspace", str(folder / f"ws-{site}"), "--participant", f"officer {site}",
            *off.pins(*tokens), *extra]
    for label in tokens:
        args += ["--token", label]
    return args


@pytest.fixture(scope="module")
def sites(softhsm_factory, tmp_path_factory) -> Sites:  # noqa: F811
    env = softhsm_factory("tuf-cosign", list(SITE_TOKENS))
    off = Offline(env)
    for label, algorithm in SITE_TOKENS.items():
        r = off.run("key", "generate", "--token", label, "--label", KEY_LABEL, "--algorithm",
                    algorithm, "--pin-source", env.pin_source(label), "--json")
        assert r.returncode == 0, r.output
    keys = {label: off.ok("tuf", "key", "--token", label, "--label", KEY_LABEL,
                          *off.pins(label)) for label in SITE_TOKENS}
    folder = tmp_path_factory.mktemp("tuf-cosign")
    repo = PyTufRepository.create(folder / "repo")
    first_sha = hashlib.sha256(repo.metadata_dir.joinpath("1.root.json").read_bytes()).hexdigest()
    old_root = repo.signers["root"][0].public_key.keyid

    def to_tokens(root: Any) -> None:
        root.revoke_key(old_root, "root")
        for label in SITE_TOKENS:
            root.add_key(token_key(keys[label]), "root")
        root.roles["root"].threshold = 2
    (folder / "2.root.json").write_bytes(repo.propose_root(to_tokens))
    r = online("request-sign", "--repo", str(repo.metadata_dir), "--name", "demo", "--proposed",
               str(folder / "2.root.json"), "--out", str(folder / "req2.json"))
    assert r.returncode == 0, r.output

    # site A: token a only -> partial (typed confirmation, review on screen)
    a = off.run(*sign_args(off, folder, "a", folder / "req2.json", folder / "resp-a.json",
                           "cs-a", extra=("--trust-root-sha256", first_sha, "--json")),
                input="yes\n")
    assert a.returncode == 0, a.output
    apply_partial = online("apply", "--response", str(folder / "resp-a.json"), "--repo",
                           str(repo.metadata_dir))
    take_partial = online("response-file", "--response", str(folder / "resp-a.json"), "--out",
                          str(folder / "taken.json"))
    # site B: token b, from A's partial -> complete
    b = off.ok(*sign_args(off, folder, "b", folder / "req2.json", folder / "resp-b.json",
                          "cs-b", extra=("--trust-root-sha256", first_sha, "--partial",
                                         str(folder / "resp-a.json"), "--yes")))
    r = online("apply", "--response", str(folder / "resp-b.json"), "--repo",
               str(repo.metadata_dir), "--request", str(folder / "req2.json"))
    assert r.returncode == 0, r.output
    repo.store("root", (repo.metadata_dir / "2.root.json").read_bytes())
    repo.signers["root"] = []  # the root keys live on the tokens only now

    # root v3 (the timestamp key replaced), signed at site A alone with tokens a and c
    new_ts = new_signer("p256")
    old_ts = repo.signers["timestamp"][0].public_key.keyid

    def rotate_timestamp(root: Any) -> None:
        root.revoke_key(old_ts, "timestamp")
        root.add_key(new_ts.public_key, "timestamp")
    (folder / "3.root.json").write_bytes(repo.propose_root(rotate_timestamp))
    r = online("request-sign", "--repo", str(repo.metadata_dir), "--name", "demo", "--proposed",
               str(folder / "3.root.json"), "--out", str(folder / "req3.json"))
    assert r.returncode == 0, r.output
    v3 = off.ok(*sign_args(off, folder, "a", folder / "req3.json", folder / "resp-3.json",
                           "cs-a", "cs-c", extra=("--yes",)))
    r = online("apply", "--response", str(folder / "resp-3.json"), "--repo",
               str(repo.metadata_dir))
    assert r.returncode == 0, r.output
    repo.store("root", (repo.metadata_dir / "3.root.json").read_bytes())
    repo.signers["timestamp"] = [new_ts]
    repo.add_target("targets", "files/cosigned.txt", b"after a root co-signed at two sites\n")
    repo.publish()
    return Sites(folder, repo, off, keys, first_sha, json.loads(a.stdout), a.stderr, b,
                 apply_partial, take_partial, v3)


def test_site_a_reviews_the_change_and_returns_a_partial(sites):
    text, a = sites.site_a_text, sites.site_a
    for label in SITE_TOKENS:
        assert f"+ key {sites.keys[label]['keyid']}" in text
    old = Metadata.from_bytes(sites.root(1)).signed.roles["root"].keyids[0]
    assert f"- key {old}" in text
    assert "role root: threshold 1 -> 2" in text and "version 1 -> 2" in text
    assert "FIRST CONTACT" in text and "first contact with TUF repository 'demo'" in text
    assert "review sha256 " in text and "review words  " in text
    assert f"will sign with key {sites.keys['cs-a']['keyid']} on token 'cs-a'" in text
    assert "still needs a signature of one more of" in text
    assert a["complete"] is False and a["signed_with"] == [sites.keys["cs-a"]["keyid"]]
    assert a["first_contact"] is True and a["pinned_roots"] == [1]
    missing = a["needed"]["own_root"]["missing"]
    assert sorted(missing) == sorted(sites.keys[x]["keyid"] for x in ("cs-b", "cs-c"))
    assert "previous_root" not in a["needed"]  # python-tuf's old key signed the proposal
    for label in SITE_TOKENS:  # no PIN on any screen, nor in the transcripts
        pin = sites.offline.env.pin(label)
        assert all(pin not in text for text in sites.offline.outputs), label
        for ws in ("a", "b"):
            for path in Path(sites.ws(ws)).rglob("*"):
                assert not path.is_file() or pin.encode() not in path.read_bytes(), path


def test_a_partial_response_is_not_publishable_and_says_what_it_lacks(sites):
    for r in (sites.apply_partial, sites.take_partial):
        assert r.returncode == 1 and r.stderr.startswith("error: "), r.output
        assert "partial" in r.stderr.lower()
    assert "own_root: 1 of threshold 2; needs 1 more of" in sites.take_partial.stderr
    assert not (sites.folder / "taken.json").exists()
    assert not (sites.repo.metadata_dir / "2.root.json").exists() or \
        Metadata.from_bytes(sites.root(2)).signatures.__len__() >= 2


def test_site_b_completes_it_and_each_site_records_what_it_signed(sites):
    b = sites.site_b
    assert b["complete"] is True and b["signed_with"] == [sites.keys["cs-b"]["keyid"]]
    assert b["status"]["own_root"]["met"] and b["status"]["previous_root"]["met"]
    signed = {site: {(r["role"], r["version"]): r["keyids"]
                     for r in _records(sites.ws(site))} for site in ("a", "b")}
    assert signed["b"] == {("root", 2): [sites.keys["cs-b"]["keyid"]]}
    assert signed["a"] == {("root", 2): [sites.keys["cs-a"]["keyid"]],
                           ("root", 3): sorted(sites.keys[x]["keyid"] for x in ("cs-a", "cs-c"))}


def _records(ws: str) -> list[dict[str, Any]]:
    from ceremony.tuf.trust import signed_records
    return signed_records(Workspace.open(ws), "demo")


def test_site_a_followed_the_published_chain_before_signing_v3(sites):
    v3 = sites.v3
    assert v3["complete"] and v3["first_contact"] is False
    assert v3["pinned_roots"] == [2] and v3["trusted_root_version"] == 2
    roots = Workspace.open(sites.ws("a")).system_paths("tuf", "demo/roots/")
    assert roots == ["demo/roots/1.root.json", "demo/roots/2.root.json"]


def test_python_tuf_accepts_both_roots(sites):
    roots = [Metadata.from_bytes(sites.root(v)) for v in (1, 2, 3)]
    for old, new in zip(roots, roots[1:], strict=False):
        old.signed.verify_delegate("root", new.signed_bytes, new.signatures)
        new.signed.verify_delegate("root", new.signed_bytes, new.signatures)


@pytest.mark.parametrize("client", sorted(CLIENTS))
def test_clients_follow_the_cosigned_rotation(sites, client, tmp_path):
    with serve(sites.repo.folder) as url:
        result = CLIENTS[client](sites.root(1), url, tmp_path, "files/cosigned.txt")
    assert result.ok, result.error
    assert result.root_version == 3
    assert result.content == b"after a root co-signed at two sites\n"


# --- refusals: nothing written, one line --------------------------------------------------------

def _refused(r: CliResult, out: Path, *needles: str) -> None:
    assert r.returncode == 1, r.output
    errors = [line for line in r.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and r.stderr.strip().splitlines()[-1] == errors[0], r.stderr
    for needle in needles:
        assert needle in r.stderr, r.stderr
    assert not out.exists()


def test_first_contact_needs_the_roots_digest(sites, tmp_path):
    Workspace.open(str(tmp_path / "ws-new"), create=True)
    out = tmp_path / "resp.json"
    r = sites.offline.run(*sign_args(sites.offline, tmp_path, "new", sites.folder / "req2.json",
                                     out, "cs-a", extra=("--yes",)))
    _refused(r, out, "first contact", "--trust-root-sha256")
    r = sites.offline.run(*sign_args(sites.offline, tmp_path, "new", sites.folder / "req2.json",
                                     out, "cs-a", extra=("--yes", "--trust-root-sha256",
                                                         "ab" * 32)))
    _refused(r, out, "no root in the request has SHA-256 abababab")
    assert Workspace.open(str(tmp_path / "ws-new")).system_paths("tuf") == []


def test_a_site_never_signs_a_different_version_of_what_it_signed(sites, tmp_path):
    """Site B signed root v2; a second, different v2 (another expiry) is refused there."""
    md = Metadata.from_bytes((sites.folder / "2.root.json").read_bytes())
    md.signed.expires = md.signed.expires.replace(year=md.signed.expires.year + 1)
    other = tmp_path / "2.root.json"
    other.write_bytes(md.to_bytes())
    v1 = tmp_path / "repo-v1"
    v1.mkdir()
    (v1 / "1.root.json").write_bytes(sites.root(1))
    r = online("request-sign", "--repo", str(v1), "--name", "demo", "--proposed", str(other),
               "--out", str(tmp_path / "req.json"))
    assert r.returncode == 0, r.output
    out = tmp_path / "resp.json"
    r = sites.offline.run(*sign_args(sites.offline, sites.folder, "b", tmp_path / "req.json",
                                     out, "cs-c", extra=("--yes",)))
    _refused(r, out, "already signed a DIFFERENT root v2")


def test_not_confirmed_signs_nothing(sites, tmp_path):
    out = tmp_path / "resp.json"
    r = sites.offline.run(*sign_args(sites.offline, tmp_path, "x", sites.folder / "req2.json",
                                     out, "cs-a", extra=("--trust-root-sha256", sites.first_sha)),
                          input="no\n")
    _refused(r, out, "not confirmed")
    assert Workspace.open(str(tmp_path / "ws-x")).system_paths("tuf") == []


def test_a_partial_of_another_request_is_refused(sites, tmp_path):
    out = tmp_path / "resp.json"
    r = sites.offline.run(*sign_args(sites.offline, sites.folder, "b", sites.folder / "req3.json",
                                     out, "cs-c", extra=("--yes", "--partial",
                                                         str(sites.folder / "resp-a.json"))))
    _refused(r, out, "answers another request")


# --- RSTUF's CLI payload, signed the same way ---------------------------------------------------

def test_rstuf_bootstrap_payload_through_bundles(sites, tmp_path):
    """RSTUF's real CLI makes a bootstrap payload (root v1, threshold 2: its operator's key,
    signed, and token a's); it travels in a sign request, the ceremony adds token a's signature
    (a new repository: nothing to compare against), `response-file` gives the payload back for
    `rstuf admin send bootstrap`, unchanged but for that signature, and python-tuf accepts it."""
    import copy
    import subprocess

    from tests.tuf.test_rstuf_cli import DRIVER, RSTUF_PYTHON, _key_files
    assert RSTUF_PYTHON.exists(), "run scripts/tuf-peers (scripts/bootstrap) first"
    token_pub = tmp_path / "token.pub"
    token_pub.write_text(sites.keys["cs-a"]["key"]["keyval"]["public"])
    admin_pub, admin_key = _key_files(tmp_path, "admin", b"admin-password")
    online_pub, _ = _key_files(tmp_path, "online", None)
    (tmp_path / "admin.password").write_text("admin-password")
    made = subprocess.run([str(RSTUF_PYTHON), str(DRIVER), str(tmp_path), str(admin_pub),
                           str(admin_key), str(tmp_path / "admin.password"), str(token_pub),
                           str(online_pub)], capture_output=True, text=True, timeout=300)
    assert made.returncode == 0, made.stderr[-3000:]
    payload = json.loads((tmp_path / "payload.json").read_bytes())
    r = online("request-sign", "--repo", str(tmp_path / "no-metadata-yet"), "--name", "rstuf",
               "--proposed", str(tmp_path / "payload.json"), "--out", str(tmp_path / "req.json"))
    assert r.returncode == 0, r.output
    Workspace.open(str(tmp_path / "ws"), create=True)
    out = tmp_path / "resp.json"
    r = sites.offline.run("tuf", "sign-request", "--request", str(tmp_path / "req.json"), "--out",
                          str(out), "--workspace", str(tmp_path / "ws"), "--token", "cs-a",
                          *sites.offline.pins("cs-a"), "--yes", "--json")
    assert r.returncode == 0, r.output
    result = json.loads(r.stdout)
    assert result["complete"] and result["rstuf_payload"] == "bootstrap"
    assert "NEW REPOSITORY" in r.stderr and "in an RSTUF bootstrap payload" in r.stderr
    r = online("response-file", "--response", str(out), "--out", str(tmp_path / "signed.json"),
               "--request", str(tmp_path / "req.json"))
    assert r.returncode == 0, r.output
    signed = json.loads((tmp_path / "signed.json").read_bytes())
    assert {k: v for k, v in signed.items() if k != "metadata"} == \
        {k: v for k, v in payload.items() if k != "metadata"}
    assert signed["metadata"]["root"]["signed"] == payload["metadata"]["root"]["signed"]
    md = Metadata.from_dict(copy.deepcopy(signed["metadata"]["root"]))
    check = md.signed.get_root_verification_result(None, md.signed_bytes, md.signatures)
    assert check.verified and len(md.signatures) == 2


# --- signatures only; hostile and mismatched bundles ----------------------------------------------

def _bundle(tmp_path: Path, name: str, bundle: Any) -> Path:
    from transfer.systembundle import write_system_bundle
    path = tmp_path / name
    write_system_bundle(path, bundle)
    return path


def test_signatures_only_across_both_sites(sites, tmp_path):
    """Site A returns only its signatures; site B co-signs from them; the complete response's
    signatures, merged into python-tuf's own copy of the proposal, meet both thresholds."""
    from tuf.api.metadata import Signature
    ws = {s: tmp_path / f"ws-{s}" for s in "ab"}
    a_out, b_out = tmp_path / "a.json", tmp_path / "b.json"
    first = ("--trust-root-sha256", sites.first_sha, "--signatures-only", "--yes", "--json")
    a = sites.offline.ok(*sign_args(sites.offline, tmp_path, "a", sites.folder / "req2.json",
                                    a_out, "cs-a", extra=first[:-1]))
    assert a["file"] == "2.root.signatures.json" and not a["complete"]
    b = sites.offline.ok(*sign_args(sites.offline, tmp_path, "b", sites.folder / "req2.json",
                                    b_out, "cs-c", extra=(*first[:-1], "--partial", str(a_out))))
    assert b["complete"] and ws["b"].is_dir()
    doc_path = tmp_path / "sigs.json"
    r = online("response-file", "--response", str(b_out), "--out", str(doc_path))
    assert r.returncode == 0, r.output
    doc = json.loads(doc_path.read_bytes())
    md = Metadata.from_bytes((sites.folder / "2.root.json").read_bytes())
    assert doc["signed_sha256"] == hashlib.sha256(md.signed_bytes).hexdigest()
    for s in doc["signatures"]:
        md.signatures[s["keyid"]] = Signature(s["keyid"], s["sig"])
    v1 = Metadata.from_bytes(sites.root(1))
    v1.signed.verify_delegate("root", md.signed_bytes, md.signatures)
    md.signed.verify_delegate("root", md.signed_bytes, md.signatures)


def test_a_request_for_another_operation_or_system_is_refused(sites, tmp_path):
    r = online("request", "--repo", str(sites.repo.metadata_dir), "--name", "demo",
               "--operation", "renew", "--renew-role", "root", "--out",
               str(tmp_path / "renew.json"))
    assert r.returncode == 0, r.output
    out = tmp_path / "resp.json"
    r = sites.offline.run(*sign_args(sites.offline, sites.folder, "a", tmp_path / "renew.json",
                                     out, "cs-a", extra=("--yes",)))
    _refused(r, out, "asks for 'renew', not 'sign'")
    (tmp_path / "junk.json").write_text('{"format": "notary-ceremony-bundle"}')
    r = sites.offline.run(*sign_args(sites.offline, sites.folder, "a", tmp_path / "junk.json",
                                     out, "cs-a", extra=("--yes",)))
    _refused(r, out)


def test_a_forged_root_chain_in_the_request_stops_everything(sites, tmp_path):
    """The request claims a root v4 that root v3's keys did not sign: the site that trusts v3
    refuses, pins nothing and signs nothing."""
    from ceremony.tuf.bundles import TufRequest, request_bundle
    from tests.tuf.pytuf_repo import new_signer as signer
    md = Metadata.from_bytes(sites.root(3))
    md.signed.version = 4
    md.signatures.clear()
    md.sign(signer("ed25519"))  # not a key of root v3
    proposal = Metadata.from_bytes(sites.root(3))
    proposal.signed.version = 5
    files = {f"{v}.root.json": sites.root(v) for v in (1, 2, 3)}
    files["4.root.json"] = md.to_bytes()
    req = _bundle(tmp_path, "req.json", request_bundle(TufRequest(
        repository="demo", operation="sign", params={"file": "5.root.json"}, metadata=files,
        proposed={"5.root.json": proposal.to_bytes()})))
    before = Workspace.open(sites.ws("a")).system_paths("tuf", "demo/roots/")
    out = tmp_path / "resp.json"
    r = sites.offline.run(*sign_args(sites.offline, sites.folder, "a", req, out, "cs-a",
                                     extra=("--yes",)))
    _refused(r, out, "root v4 does not follow the trusted v3", "tampered")
    assert Workspace.open(sites.ws("a")).system_paths("tuf", "demo/roots/") == before


def test_a_partial_for_other_bytes_or_a_complete_one_is_refused(sites, tmp_path):
    """A partial response whose file differs in what is signed (another expiry) is refused;
    so is co-signing from a response that is complete already."""
    from ceremony.tuf.bundles import read_response, response_bundle
    resp, _ = read_response(sites.folder / "resp-a.json")
    name = resp.partial.file
    md = Metadata.from_bytes(resp.files[name])
    md.signed.expires = md.signed.expires.replace(year=md.signed.expires.year + 2)
    forged = _bundle(tmp_path, "forged.json", response_bundle(
        dataclasses.replace(resp, files={name: md.to_bytes()})))
    out = tmp_path / "resp.json"
    r = sites.offline.run(*sign_args(sites.offline, sites.folder, "b", sites.folder / "req2.json",
                                     out, "cs-c", extra=("--yes", "--partial", str(forged))))
    _refused(r, out, "differs from the proposed file in what is signed")
    r = sites.offline.run(*sign_args(sites.offline, sites.folder, "b", sites.folder / "req2.json",
                                     out, "cs-c", extra=("--yes", "--partial",
                                                         str(sites.folder / "resp-b.json"))))
    _refused(r, out, "complete already")


def test_a_token_whose_key_signed_already_is_refused_before_the_review(sites, tmp_path):
    """Co-signing from A's partial with A's own token: its key signed already; nothing is left
    for that token to sign, refused before the review, nothing written."""
    out = tmp_path / "resp.json"
    r = sites.offline.run(*sign_args(sites.offline, sites.folder, "b", sites.folder / "req2.json",
                                     out, "cs-a", extra=("--yes", "--partial",
                                                         str(sites.folder / "resp-a.json"))))
    _refused(r, out, "none of the 2 key(s) that may still sign this root")
    assert "review sha256" not in r.output


def test_targets_made_by_python_tuf_signed_from_a_bundle(sites, tmp_path):
    """Not only roots: python-tuf moves its targets role to token b (root v2, signed by its own
    root key), then makes targets v2 with a new target and leaves it unsigned; the offline site
    (first contact, then following root v2 from the request) reviews it against targets v1 and
    signs it with token b; `apply` writes it; python-tuf's client downloads the new target."""
    repo = PyTufRepository.create(tmp_path / "repo")
    first = hashlib.sha256((repo.metadata_dir / "1.root.json").read_bytes()).hexdigest()
    old = repo.signers["targets"][0].public_key.keyid

    def move(root: Any) -> None:
        root.revoke_key(old, "targets")
        root.add_key(token_key(sites.keys["cs-b"]), "targets")
    repo.store("root", repo.propose_root(move))  # complete: python-tuf's root key signs it
    repo.signers["targets"] = []
    repo.add_target("targets", "files/new.txt", b"listed by targets v2, signed on a token\n")
    version = Metadata.from_bytes(repo.stored["targets"]).signed.version
    proposed = tmp_path / f"{version}.targets.json"
    (repo.metadata_dir / proposed.name).rename(proposed)  # not published before signing
    r = online("request-sign", "--repo", str(repo.metadata_dir), "--name", "pytuf",
               "--proposed", str(proposed), "--out", str(tmp_path / "req.json"))
    assert r.returncode == 0, r.output
    out = tmp_path / "resp.json"
    r = sites.offline.run(*sign_args(sites.offline, tmp_path, "t", tmp_path / "req.json", out,
                                     "cs-b", extra=("--trust-root-sha256", first, "--yes",
                                                    "--json")))
    assert r.returncode == 0, r.output
    result = json.loads(r.stdout)
    assert result["complete"] and result["role"] == "targets" and result["pinned_roots"] == [1, 2]
    assert f"TUF targets: version {version - 1} -> {version}" in r.stderr
    assert "+ target files/new.txt" in r.stderr
    assert f"previous targets v{version - 1} verified with root v1's keys" in r.stderr
    r = online("apply", "--response", str(out), "--repo", str(repo.metadata_dir))
    assert r.returncode == 0, r.output
    repo.store("targets", (repo.metadata_dir / proposed.name).read_bytes())
    repo.publish()
    with serve(repo.folder) as url:
        got = CLIENTS["python-tuf"]((repo.metadata_dir / "1.root.json").read_bytes(), url,
                                    tmp_path / "client", "files/new.txt")
    assert got.ok, got.error
    assert got.content == b"listed by targets v2, signed on a token\n"


def test_transfer_shows_what_a_partial_response_lacks(sites, tmp_path):
    """`ceremony transfer send` shows the response's summary: partial, and what it still needs;
    the copy is the same bundle."""
    r = run_cli("transfer", "send", str(sites.folder / "resp-a.json"), "--out",
                str(tmp_path / "copy.json"))
    assert r.returncode == 0, r.output
    assert "PARTIAL (not publishable): own_root: 1 of threshold 2; needs 1 more of" in r.output
    assert (tmp_path / "copy.json").read_bytes() == (sites.folder / "resp-a.json").read_bytes()


@pytest.mark.parametrize("case", ["not-json", "unsatisfiable", "expired", "not-next"])
def test_bad_proposals_in_a_request_are_refused(sites, tmp_path, case):
    """Hostile or broken proposals travel in well-formed bundles: refused with one line before
    any token signs, nothing written, the workspace's records unchanged."""
    from ceremony.tuf.bundles import TufRequest, request_bundle
    md = Metadata.from_bytes(sites.root(3))  # site A trusts v3 now
    md.signed.version = 4
    if case == "unsatisfiable":
        md.signed.roles["root"].threshold = 4  # three root keys
    if case == "expired":
        md.signed.expires = md.signed.expires.replace(year=2020)
    if case == "not-next":
        md.signed.version = 5
    data = b'{"signed": ' if case == "not-json" else md.to_bytes()
    name = f"{md.signed.version}.root.json"
    req = _bundle(tmp_path, "req.json", request_bundle(TufRequest(
        repository="demo", operation="sign", params={"file": name},
        metadata={f"{v}.root.json": sites.root(v) for v in (1, 2, 3)}, proposed={name: data})))
    before = [(r["role"], r["version"], r["keyids"]) for r in _records(sites.ws("a"))]
    out = tmp_path / "resp.json"
    r = sites.offline.run(*sign_args(sites.offline, sites.folder, "a", req, out, "cs-a",
                                     extra=("--yes",)))
    needle = {"not-json": "not JSON", "unsatisfiable": "nobody could ever sign it",
              "expired": "in the past", "not-next": "versions go up by exactly one"}[case]
    _refused(r, out, needle)
    assert "will sign with key" not in r.output
    assert [(x["role"], x["version"], x["keyids"]) for x in _records(sites.ws("a"))] == before

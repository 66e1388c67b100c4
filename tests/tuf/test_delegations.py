"""TUF delegation ceremonies beyond a top-level role with paths: a role trusted for path hash
prefixes, a nested delegation (targets -> team -> deep) added to and removed from the
delegated role's own metadata, and succinct hash bins (TAP 15) under it. After each, the real
python-tuf, go-tuf and tough clients, trusting the first root, fetch from 127.0.0.1."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from tuf.api.metadata import Metadata

from softhsm.pytest_plugin import softhsm_factory  # noqa: F401
from tests.tuf.ceremony_world import TOKENS, OfflineSite, OnlineService
from tests.tuf.peers import CLIENTS, serve
from tests.tuf.pytuf_repo import new_signer
from tests.tuf.test_ceremonies import Story, _clients

HELLO = b"hello\n"
MATCH = "hashed/one.txt"
PREFIX = hashlib.sha256(MATCH.encode()).hexdigest()[:2]
# a path the hashed role lists but is not trusted for: its hash does not start with PREFIX
NO_MATCH = next(p for i in range(100) if not hashlib.sha256(
    (p := f"hashed/other-{i}.txt").encode()).hexdigest().startswith(PREFIX))
DEEP = "nested/deep.txt"
PACKAGE = "nested/pkg.tar"
FIRMWARE = "fw/image.bin"


class DelegationStory(Story):
    def clients(self, name: str, *targets: str) -> None:
        self.service.publish()
        for target in targets:
            self.downloads[f"{name}:{target}"] = _clients(
                self.service, self.root1, self.folder / f"c-{name}-{target.replace('/', '_')}",
                target)


@pytest.fixture(scope="module")
def story(softhsm_factory, tmp_path_factory) -> DelegationStory:  # noqa: F811
    env = softhsm_factory("tufdeleg", list(TOKENS))
    folder = tmp_path_factory.mktemp("tuf-delegations")
    site = OfflineSite(env, folder / "workspace")
    service = OnlineService(folder / "repo")
    st = DelegationStory(site, service, folder)
    snap = service.public_pem(service.signers["snapshot"][0], "snapshot")
    ts = service.public_pem(service.signers["timestamp"][0], "timestamp")
    hello = folder / "hello.txt"
    hello.write_bytes(HELLO)
    st.step("init", "init", ["init"],
            ("--online-key", f"snapshot={snap}", "--online-key", f"timestamp={ts}",
             "--target", f"files/hello.txt={hello}"),
            ("--root-token", "root-a", "--root-threshold", "1", "--targets-token", "targets-1"))
    service.put_target_file("files/hello.txt", HELLO)

    # 1. a role trusted for the paths whose SHA-256 starts with PREFIX (an online key)
    hashed = new_signer("ed25519")
    st.step("hashed", "delegation-add", ["delegation", "add"],
            ("--role", "hashed", "--path-hash-prefix", PREFIX.upper(), "--delegate-key",
             str(service.public_pem(hashed, "hashed"))), ("--token", "targets-1"))
    service.signers["hashed"] = [hashed]
    with service.edit_targets("hashed"):
        pass
    service.add_target("hashed", MATCH, b"matching\n")
    st.clients("hashed", MATCH)
    # hashed lists a path it is not trusted for: no client takes it from there (tough refuses
    # the whole repository); then the service takes it out again
    service.add_target("hashed", NO_MATCH, b"not trusted here\n")
    st.clients("hashed", NO_MATCH)
    with service.edit_targets("hashed") as hashed_targets:
        del hashed_targets.targets[NO_MATCH]

    # 2. team (key made on targets-2, first version signed here) delegates deep (online key)
    st.step("team", "delegation-add", ["delegation", "add"],
            ("--role", "team", "--path", "nested/*"),
            ("--token", "targets-1", "--delegate-token", "targets-2", "--delegate-label",
             "tuf-team"))
    deep = new_signer("p256")
    st.step("deep", "delegation-add", ["delegation", "add"],
            ("--parent", "team", "--role", "deep", "--path", "nested/*", "--delegate-key",
             str(service.public_pem(deep, "deep"))), ("--token", "targets-2"))
    service.signers["deep"] = [deep]
    with service.edit_targets("deep"):
        pass
    service.add_target("deep", DEEP, b"through targets, team and deep\n")
    st.clients("deep", DEEP)

    st.step("deep-remove", "delegation-remove", ["delegation", "remove"],
            ("--parent", "team", "--role", "deep"), ("--token", "targets-2"))
    st.clients("deep-remove", DEEP)

    # 3. team delegates to 8 succinct hash bins (one online key for all)
    bins = new_signer("ed25519")
    st.step("bins", "delegation-add", ["delegation", "add"],
            ("--parent", "team", "--succinct-bins", "3", "--bin-prefix", "bin",
             "--delegate-key", str(service.public_pem(bins, "bins"))), ("--token", "targets-2"))
    team = Metadata.from_bytes(service.stored["team"]).signed
    for name in team.delegations.succinct_roles.get_roles():
        service.signers[name] = [bins]
        with service.edit_targets(name):
            pass
    st.bin_of_package = team.delegations.succinct_roles.get_role_for_target(PACKAGE)
    service.add_target(st.bin_of_package, PACKAGE, b"in its hash bin\n")
    st.clients("bins", PACKAGE)

    # 4. bins whose key is made on a token: their first versions are signed here
    st.step("fw", "delegation-add", ["delegation", "add"], ("--role", "fw", "--path", "fw/*"),
            ("--token", "targets-1", "--delegate-token", "targets-1", "--delegate-label",
             "tuf-fw"))
    st.too_many = site.ceremony(["delegation", "add"], service.request(
        "delegation-add", folder / "too-many.req.json", "--parent", "fw", "--succinct-bins",
        "11", "--bin-prefix", "fwbin"), folder / "too-many.resp.json", "--token", "targets-1",
        "--delegate-token", "targets-2", "--delegate-label", "tuf-fwbins")
    st.step("fw-bins", "delegation-add", ["delegation", "add"],
            ("--parent", "fw", "--succinct-bins", "2", "--bin-prefix", "fwbin"),
            ("--token", "targets-1", "--delegate-token", "targets-2", "--delegate-label",
             "tuf-fwbins"))
    st.clients("fw-bins", FIRMWARE)

    # 5. team's bins are removed again
    st.step("bins-remove", "delegation-remove", ["delegation", "remove"],
            ("--parent", "team", "--bin-prefix", "bin"), ("--token", "targets-2"))
    st.clients("bins-remove", PACKAGE)
    return st


def _got(story: DelegationStory, step: str, target: str, client: str) -> Any:
    return story.downloads[f"{step}:{target}"][client]


@pytest.mark.parametrize("client", ["python-tuf", "tough"])
def test_a_path_hash_prefix_delegation_serves_only_matching_paths(story, client):
    got = _got(story, "hashed", MATCH, client)
    assert got.ok, got.error
    assert got.content == b"matching\n"
    assert not _got(story, "hashed", NO_MATCH, client).ok


def test_go_tuf_2_4_2_matches_path_hash_prefixes_against_base64_not_hex(story):
    """go-tuf v2 up to v2.4.2 (the newest release) compares a path hash prefix with the
    base64 of the path's SHA-256, not its hex as the specification, python-tuf and tough do
    (fixed upstream in theupdateframework/go-tuf pull request 783, not released): it does
    not find a target through such a delegation. When a go-tuf release with the fix is
    built, this fails: move go-tuf into the test above."""
    assert not _got(story, "hashed", NO_MATCH, "go-tuf").ok
    got = _got(story, "hashed", MATCH, "go-tuf")
    assert not got.ok and f"target {MATCH} not found" in got.error, got.error


@pytest.mark.parametrize("client", sorted(CLIENTS))
def test_a_nested_delegation_serves_through_targets_team_deep(story, client):
    got = _got(story, "deep", DEEP, client)
    assert got.ok, got.error
    assert got.content == b"through targets, team and deep\n"
    assert got.root_version == 1


@pytest.mark.parametrize("client", sorted(CLIENTS))
def test_a_removed_nested_delegation_no_longer_serves(story, client):
    assert not _got(story, "deep-remove", DEEP, client).ok


@pytest.mark.parametrize("client", ["go-tuf", "python-tuf"])
def test_a_target_resolves_through_its_succinct_hash_bin(story, client):
    got = _got(story, "bins", PACKAGE, client)
    assert got.ok, got.error
    assert got.content == b"in its hash bin\n"


def test_each_ceremony_signed_the_delegating_role(story):
    files = {step: sorted(f["file"] for f in story.results[step]["files"])
             for step in ("hashed", "team", "deep", "deep-remove", "bins", "fw", "fw-bins",
                          "bins-remove")}
    assert files == {"hashed": ["2.targets.json"], "team": ["1.team.json", "3.targets.json"],
                     "deep": ["2.team.json"], "deep-remove": ["3.team.json"],
                     "bins": ["4.team.json"], "fw": ["1.fw.json", "4.targets.json"],
                     "fw-bins": ["1.fwbin-0.json", "1.fwbin-1.json", "1.fwbin-2.json",
                                 "1.fwbin-3.json", "2.fw.json"],
                     "bins-remove": ["5.team.json"]}
    meta = story.service.metadata_dir
    targets = Metadata.from_bytes((meta / "3.targets.json").read_bytes()).signed
    assert targets.delegations.roles["hashed"].path_hash_prefixes == [PREFIX]
    assert targets.delegations.roles["hashed"].paths is None
    team = Metadata.from_bytes((meta / "4.team.json").read_bytes()).signed
    assert team.delegations.roles is None
    assert team.delegations.succinct_roles.bit_length == 3
    assert team.delegations.succinct_roles.name_prefix == "bin"
    # the team key on targets-2 signed each new team version; the service's snapshot lists it
    team_key = targets.delegations.roles["team"].keyids
    for version in (2, 3, 4):
        md = Metadata.from_bytes((meta / f"{version}.team.json").read_bytes())
        targets.verify_delegate("team", md.signed_bytes, md.signatures)
        assert [s.keyid for s in md.signatures.values()] == team_key
    snapshot = Metadata.from_bytes(story.service.stored["snapshot"]).signed
    assert snapshot.meta["team.json"].version == 5
    assert Metadata.from_bytes((meta / "5.team.json").read_bytes()).signed.delegations is None


def test_bins_made_on_a_token_are_signed_here_and_clients_verify_them(story, tmp_path):
    fw = Metadata.from_bytes((story.service.metadata_dir / "2.fw.json").read_bytes()).signed
    bins = fw.delegations.succinct_roles
    assert (bins.bit_length, bins.name_prefix, bins.threshold) == (2, "fwbin", 1)
    for name in bins.get_roles():
        md = Metadata.from_bytes((story.service.metadata_dir / f"1.{name}.json").read_bytes())
        fw.verify_delegate(name, md.signed_bytes, md.signatures)
        assert md.signed.targets == {} and md.signed.delegations is None
    from tuf.ngclient import Updater
    meta = tmp_path / "meta"
    meta.mkdir()
    with serve(story.service.folder) as url:
        updater = Updater(str(meta), f"{url}/metadata/", str(tmp_path), f"{url}/targets/",
                          bootstrap=story.root1)
        updater.refresh()
        assert updater.get_targetinfo(FIRMWARE) is None  # the bin is verified and empty
    assert (meta / f"{bins.get_role_for_target(FIRMWARE)}.json").is_file()
    # go-tuf follows the same chain to the (empty) bin and reports the target not found
    got = _got(story, "fw-bins", FIRMWARE, "go-tuf")
    assert not got.ok and f"target {FIRMWARE} not found" in got.error, got.error


def test_the_bins_response_summarises_them_in_one_line(story):
    from ceremony.tuf.bundles import read_response
    response, _ = read_response(str(story.folder / "fw-bins.resp.json"))
    assert response.summary[0].startswith("2.fw.json: fw v2, expires ")
    assert response.summary[1].startswith("1.fwbin-0.json .. 1.fwbin-3.json (4 files): new "
                                          "roles v1, expires ")
    assert len(response.summary) == 2


def test_more_bins_than_are_signed_here_is_refused(story):
    r = story.too_many
    assert r.returncode == 1
    assert r.stderr.strip().splitlines()[-1] == (
        "error: 2048 bins would each be signed here (at most 1024): give the bins' keys in "
        "the request (--delegate-key) so the online service signs them, or fewer bits")


@pytest.mark.parametrize("client", ["go-tuf", "python-tuf"])
def test_removed_bins_no_longer_serve(story, client):
    got = _got(story, "bins-remove", PACKAGE, client)
    assert not got.ok and f"{PACKAGE} not found" in got.error, got.error


def test_the_reviews_show_prefixes_parents_and_bins(story):
    text = "\n".join(story.site.outputs)
    assert f"+ delegation 'hashed': threshold 1 of 1 key(s), path hash prefixes {PREFIX}" in text
    assert "2.team.json:" in text and "must be signed by 1 of 1 of the keys 'targets' " \
        "delegates 'team' to" in text
    assert "+ delegation 'deep': threshold 1 of 1 key(s), paths nested/*" in text
    assert "- delegation 'deep'" in text
    assert "+ succinct hash bins: 8 bins 'bin-0' .. 'bin-7' (3 bits of each target path's " \
        "SHA-256), threshold 1 of 1 key(s)" in text
    assert "- succinct hash bins 'bin-*' (8 bins)" in text
    assert "1.fwbin-0.json:\n  and 3 more file(s) with the same signed content and signers: " \
        "1.fwbin-1.json .. 1.fwbin-3.json\n" in text
    for label in TOKENS:
        pin = story.site.env.pin(label)
        assert all(pin not in out for out in story.site.outputs), label


def test_tough_and_succinct_bins(story):
    """tough 0.24 reads no `succinct_roles` (its Delegations needs `roles`): it refuses the
    team metadata that delegates to bins. Recorded so that a tough that reads them shows up
    here (then move tough into the test above)."""
    got = _got(story, "bins", PACKAGE, "tough")
    assert not got.ok and "missing field `roles`" in got.error, got.error


def _request(story: DelegationStory, out: Path, *args: str) -> Any:
    from tests.conftest import run_cli
    return run_cli("tuf", "request", "--repo", str(story.service.metadata_dir), "--name",
                   "demo", "--operation", "delegation-add", "--out", str(out), *args)


@pytest.mark.parametrize(("args", "said"), [
    (("--role", "x", "--path", "a/*", "--path-hash-prefix", "ab"),
     "give --path or --path-hash-prefix, not both"),
    (("--role", "x", "--path-hash-prefix", "xyz"), "'xyz' is not hex"),
    (("--succinct-bins", "0", "--bin-prefix", "b"), "0 is out of 1..32"),
    (("--succinct-bins", "33", "--bin-prefix", "b"), "33 is out of 1..32"),
    (("--succinct-bins", "4", "--bin-prefix", "b", "--path", "a/*"), "take no --path"),
    (("--succinct-bins", "4", "--role", "b"), "names its bins with --bin-prefix, not --role"),
])
def test_the_request_refuses_bad_delegations_in_one_line(story, tmp_path, args, said):
    r = _request(story, tmp_path / "req.json", *args)
    assert r.returncode == 2, r.output
    assert said in r.stderr
    assert not (tmp_path / "req.json").exists()


def _crafted(story: DelegationStory, out: Path, params: dict[str, Any]) -> Path:
    """A request made without the CLI's checks, as a hostile or buggy online side could."""
    from ceremony.tuf.online import make_request, read_public_key
    key = read_public_key(str(story.service.public_pem(new_signer("ed25519"), "crafted")))
    params = {"keys": {key.keyid: key.to_dict()}, **params}
    make_request(story.service.metadata_dir, "demo", "delegation-add", params, {}, {},
                 str(out))
    return out


@pytest.mark.parametrize(("params", "said"), [
    ({"role": "x", "paths": ["a/*"], "path_hash_prefixes": ["ab"]},
     "either paths (--path) or path hash prefixes (--path-hash-prefix), exactly one"),
    ({"role": "x", "path_hash_prefixes": ["AB"]}, "path hash prefix 'AB' is not lowercase hex"),
    ({"bin_prefix": "b", "succinct_bins": 40}, "40 bits is out of 1..32"),
    ({"role": "x", "paths": ["a/*"], "parent": "nosuch"},
     "no role of the request's repository delegates 'nosuch' (--parent)"),
    ({"bin_prefix": "more", "succinct_bins": 2},
     "'targets' already delegates roles: a role delegates either to named roles or to "
     "succinct hash bins"),
    ({"role": "team", "paths": ["a/*"]}, "already has a role 'team'"),
])
def test_the_ceremony_refuses_bad_delegations_in_one_line(story, tmp_path, params, said):
    req = _crafted(story, tmp_path / "req.json", params)
    r = story.site.ceremony(["delegation", "add"], req, tmp_path / "resp.json", "--token",
                            "targets-1")
    assert r.returncode == 1, r.output
    lines = r.stderr.strip().splitlines()
    assert lines[-1].startswith("error: ") and said in lines[-1], r.stderr
    assert not (tmp_path / "resp.json").exists()


def test_a_nested_delegation_needs_the_parents_keys(story, tmp_path):
    # hashed's key is the online service's: no token here can sign hashed's next version
    req = _crafted(story, tmp_path / "req.json",
                   {"role": "x", "paths": ["hashed/x"], "parent": "hashed"})
    r = story.site.ceremony(["delegation", "add"], req, tmp_path / "resp.json", "--token",
                            "targets-1")
    assert r.returncode == 1
    assert "needs 1 signature(s) of the keys 'targets' delegates 'hashed' to" in r.stderr
    assert not (tmp_path / "resp.json").exists()


def test_the_tool_verifies_the_repository_it_helped_make(story):
    r = story.site.run("tuf", "verify", str(story.service.metadata_dir), "--json")
    assert r.returncode == 0, r.output
    roles = json.loads(r.stdout)["roles"]
    assert {f"fwbin-{i}" for i in range(4)} <= set(roles)
    assert roles["team"]["version"] == 5 and roles["fw"]["version"] == 2


def test_a_nested_delegation_runs_as_a_script_step(story, tmp_path):
    """The `tuf-delegation-add` script action answers a nested request (the delegation's
    parent, paths and keys travel in the request; the step names the tokens). The response
    is checked, not applied: the other tests read the repository as the story left it."""
    from ceremony.tuf.bundles import read_response
    from tests.tuf.test_param_tables import _run_script, _script
    key = story.service.public_pem(new_signer("ed25519"), "scripted")
    request = story.service.request(
        "delegation-add", tmp_path / "nested.req", "--parent", "team", "--role", "scripted",
        "--path-hash-prefix", "0", "--path-hash-prefix", "1", "--delegate-key", str(key))
    r = _run_script(story.site.env, story.site, _script(
        story.site.env, tmp_path, request, {"do": "tuf-delegation-add", "tokens": ["targets-2"],
                                            "targets-expires": "120d"}))
    assert r.returncode == 0, r.output[-3000:]
    response, _ = read_response(str(tmp_path / "nested.resp"))
    assert sorted(response.files) == ["6.team.json"]
    md = Metadata.from_bytes(response.files["6.team.json"])
    role = md.signed.delegations.roles["scripted"]
    assert role.path_hash_prefixes == ["0", "1"] and role.paths is None
    targets = Metadata.from_bytes((story.service.metadata_dir / "4.targets.json").read_bytes())
    targets.signed.verify_delegate("team", md.signed_bytes, md.signatures)


def test_a_nested_role_is_renewed_with_its_delegators_keys(story, tmp_path):
    """renew of a bin under fw (targets -> fw -> fwbin-N): its keys are on targets-2. The
    response is checked, not applied."""
    from ceremony.tuf.bundles import read_response
    req = story.service.request("renew", tmp_path / "renew.req", "--renew-role", "fwbin-2")
    r = story.site.ceremony(["renew"], req, tmp_path / "renew.resp", "--token", "targets-2",
                            "--targets-expires", "120d")
    assert r.returncode == 0, r.output
    response, _ = read_response(str(tmp_path / "renew.resp"))
    md = Metadata.from_bytes(response.files["2.fwbin-2.json"])
    fw = Metadata.from_bytes((story.service.metadata_dir / "2.fw.json").read_bytes()).signed
    fw.verify_delegate("fwbin-2", md.signed_bytes, md.signatures)
    assert "must be signed by 1 of 1 of the keys 'fw' delegates 'fwbin-2' to" in r.stderr

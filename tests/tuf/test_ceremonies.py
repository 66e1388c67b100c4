"""The TUF ceremonies end to end on SoftHSM tokens: init, rotate-root, rotate-key (timestamp,
then targets), delegation add, renew, delegation remove. After each, python-tuf, go-tuf and
tough clients that trust the FIRST root download a target from the repository served on
127.0.0.1, following every root rotation; each refuses a root one signature below threshold."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from tuf.api.metadata import Metadata

from ceremony.tuf.state import TufState
from ceremony.workspace import Workspace
from softhsm.pytest_plugin import softhsm_factory  # noqa: F401
from tests.tuf.ceremony_world import TOKENS, OfflineSite, OnlineService
from tests.tuf.peers import CLIENTS, serve
from tests.tuf.pytuf_repo import new_signer

HELLO = b"hello from a repository whose root keys are on tokens\n"
RELEASE = b"release one, signed by the online releases key\n"


def _clients(service: OnlineService, root1: bytes, work: Path, target: str) -> dict[str, Any]:
    out = {}
    with serve(service.folder) as url:
        for name, client in sorted(CLIENTS.items()):
            out[name] = client(root1, url, work / name, target)
    return out


class Story:
    """What the module's ceremonies produced, step by step."""

    def __init__(self, site: OfflineSite, service: OnlineService, folder: Path):
        self.site, self.service, self.folder = site, service, folder
        self.results: dict[str, dict[str, Any]] = {}
        self.downloads: dict[str, dict[str, Any]] = {}
        self.requests: dict[str, Path] = {}
        self.copies: dict[str, Path] = {}
        self.root_c_keyid = ""
        self.gone: dict[str, Any] = {}

    def step(self, name: str, operation: str, command: list[str], request_args: tuple[str, ...],
             offline_args: tuple[str, ...], target: str = "files/hello.txt") -> dict[str, Any]:
        # the folder as it was before this step: a later request made from it is a rollback
        self.copies[name] = shutil.copytree(self.service.metadata_dir,
                                            self.folder / f"before-{name}")
        req = self.service.request(operation, self.folder / f"{name}.req.json", *request_args)
        self.requests[name] = req
        result = self.site.ok(command, req, self.folder / f"{name}.resp.json", *offline_args)
        self.service.apply(self.folder / f"{name}.resp.json", req)
        self.results[name] = result
        return result

    def check(self, name: str, target: str = "files/hello.txt") -> None:
        self.service.publish()
        self.downloads[name] = _clients(self.service, self.root1, self.folder / f"c-{name}",
                                        target)

    @property
    def root1(self) -> bytes:
        return (self.service.metadata_dir / "1.root.json").read_bytes()


@pytest.fixture(scope="module")
def story(softhsm_factory, tmp_path_factory) -> Story:  # noqa: F811
    env = softhsm_factory("tufcer", list(TOKENS))
    folder = tmp_path_factory.mktemp("tuf-ceremonies")
    site = OfflineSite(env, folder / "workspace")
    service = OnlineService(folder / "repo")
    st = Story(site, service, folder)
    snap = service.public_pem(service.signers["snapshot"][0], "snapshot")
    ts = service.public_pem(service.signers["timestamp"][0], "timestamp")
    hello = folder / "hello.txt"
    hello.write_bytes(HELLO)

    st.step("init", "init", ["init"],
            ("--online-key", f"snapshot={snap}", "--online-key", f"timestamp={ts}",
             "--target", f"files/hello.txt={hello}"),
            ("--root-token", "root-a", "--root-token", "root-b", "--root-token", "root-c",
             "--root-threshold", "2", "--targets-token", "targets-1"))
    service.put_target_file("files/hello.txt", HELLO)
    st.check("init")

    # root: root-c's key out, a new key on root-d in, threshold stays 2
    root_keys = Metadata.from_bytes(st.root1).signed.roles["root"].keyids
    st.root_c_keyid = _key_on(st, "root-c")
    assert st.root_c_keyid in root_keys
    st.step("rotate-root", "rotate-root", ["rotate-root"], (),
            ("--token", "root-a", "--token", "root-b", "--root-token", "root-d",
             "--remove-key", st.root_c_keyid[:12]))
    st.check("rotate-root")

    # the online timestamp key is replaced: root v3 lists the new one
    new_ts = new_signer("ed25519")
    st.step("rotate-timestamp", "rotate-key", ["rotate-key"],
            ("--role", "timestamp", "--online-key",
             f"timestamp={service.public_pem(new_ts, 'timestamp-2')}"),
            ("--token", "root-a", "--token", "root-d"))
    service.signers["timestamp"] = [new_ts]
    st.check("rotate-timestamp")

    # the targets key moves to a new token: root v4, targets signed again by the new key
    st.step("rotate-targets", "rotate-key", ["rotate-key"], ("--role", "targets"),
            ("--token", "root-b", "--token", "root-d", "--targets-token", "targets-2",
             "--algorithm", "ed25519"))
    st.check("rotate-targets")

    # a delegation to the online service's releases key; it publishes releases/v1.txt
    releases = new_signer("p256")
    st.step("delegation-add", "delegation-add", ["delegation", "add"],
            ("--role", "releases", "--path", "releases/*", "--delegate-key",
             str(service.public_pem(releases, "releases"))),
            ("--token", "targets-2"))
    service.signers["releases"] = [releases]
    with service.edit_targets("releases"):
        pass
    service.add_target("releases", "releases/v1.txt", RELEASE)
    st.check("delegation-add", "releases/v1.txt")

    st.step("renew", "renew", ["renew"], ("--renew-role", "root", "--renew-role", "targets"),
            ("--token", "root-a", "--token", "root-b", "--token", "targets-2",
             "--root-expires", "400d", "--targets-expires", "120d"))
    st.check("renew", "releases/v1.txt")

    st.step("delegation-remove", "delegation-remove", ["delegation", "remove"],
            ("--role", "releases"), ("--token", "targets-2", "--targets-expires", "150d"))
    st.check("delegation-remove")
    st.gone = _clients(service, st.root1, folder / "c-gone", "releases/v1.txt")

    # a delegation to a key made on a token (the old targets token): its first version is
    # signed here, and renewed here later
    st.step("delegation-add-token", "delegation-add", ["delegation", "add"],
            ("--role", "firmware", "--path", "firmware/*"),
            ("--token", "targets-2", "--delegate-token", "targets-1", "--delegate-label",
             "tuf-firmware", "--targets-expires", "150d"))
    st.check("delegation-add-token")
    st.step("renew-firmware", "renew", ["renew"], ("--renew-role", "firmware"),
            ("--token", "targets-1", "--targets-expires", "160d"))
    st.check("renew-firmware")
    return st


def _key_on(st: Story, label: str) -> str:
    r = st.site.run("tuf", "key", "--token", label, "--label", "tuf-root",
                    *st.site.pins(label), "--json")
    assert r.returncode == 0, r.output
    return str(json.loads(r.stdout)["keyid"])


STEPS = ["init", "rotate-root", "rotate-timestamp", "rotate-targets", "delegation-add", "renew",
         "delegation-remove", "delegation-add-token", "renew-firmware"]
ROOT_AFTER = {"init": 1, "rotate-root": 2, "rotate-timestamp": 3, "rotate-targets": 4,
              "delegation-add": 4, "renew": 5, "delegation-remove": 5,
              "delegation-add-token": 5, "renew-firmware": 5}


@pytest.mark.parametrize("step", STEPS)
@pytest.mark.parametrize("client", sorted(CLIENTS))
def test_clients_trusting_the_first_root_download_after_each_ceremony(story, step, client):
    result = story.downloads[step][client]
    assert result.ok, f"{step}: {result.error}"
    assert result.root_version == ROOT_AFTER[step]
    assert result.content == (RELEASE if step in ("delegation-add", "renew") else HELLO)


@pytest.mark.parametrize("client", sorted(CLIENTS))
def test_a_removed_delegation_no_longer_serves_its_targets(story, client):
    assert not story.gone[client].ok


def test_each_ceremony_signed_what_it_should(story):
    files = {step: {f["file"]: f for f in story.results[step]["files"]} for step in STEPS}
    assert set(files["init"]) == {"1.root.json", "1.targets.json"}
    assert len(files["init"]["1.root.json"]["signed_by"]) == 3   # every new root key
    assert set(files["rotate-root"]) == {"2.root.json"}
    assert set(files["rotate-targets"]) == {"4.root.json", "2.targets.json"}
    assert set(files["delegation-add"]) == {"3.targets.json"}
    assert set(files["renew"]) == {"5.root.json", "4.targets.json"}
    assert set(files["delegation-remove"]) == {"5.targets.json"}
    assert set(files["delegation-add-token"]) == {"6.targets.json", "1.firmware.json"}
    assert set(files["renew-firmware"]) == {"2.firmware.json"}
    root2 = Metadata.from_bytes(story.service.metadata_dir.joinpath("2.root.json").read_bytes())
    assert story.root_c_keyid not in root2.signed.roles["root"].keyids
    assert root2.signed.roles["root"].threshold == 2
    for step in STEPS:
        r = story.results[step]
        assert r["complete"] and r["transcript_sha256"] and len(r["review_sha256"]) == 64
    _no_pin(story)
    text = "\n".join(story.site.outputs)
    assert "+ delegation 'releases': threshold 1 of 1 key(s), paths releases/*" in text
    assert "- delegation 'releases'" in text
    assert "+ delegation 'firmware': threshold 1 of 1 key(s), paths firmware/*" in text


def _no_pin(story: Story) -> None:
    for label in TOKENS:
        pin = story.site.env.pin(label)
        assert all(pin not in text for text in story.site.outputs), label


def test_the_workspace_holds_the_root_history_and_last_versions(story):
    state = TufState.load(Workspace.open(story.site.workspace), "demo")
    assert sorted(state.roots) == [1, 2, 3, 4, 5]
    for version, data in state.roots.items():
        assert data == (story.service.metadata_dir / f"{version}.root.json").read_bytes()
    assert state.last_version("targets") == 6
    assert state.last_version("firmware") == 2


def test_the_token_delegated_role_verifies_for_python_tuf_and_the_tool(story, tmp_path):
    from tuf.ngclient import Updater
    meta = tmp_path / "meta"
    meta.mkdir()
    (meta / "root.json").write_bytes(story.root1)
    with serve(story.service.folder) as url:
        updater = Updater(str(meta), f"{url}/metadata/", str(tmp_path), f"{url}/targets/",
                          bootstrap=story.root1)
        updater.refresh()
        assert updater.get_targetinfo("firmware/none.bin") is None  # firmware v2 verified
    assert (meta / "firmware.json").is_file()
    assert Metadata.from_bytes((meta / "firmware.json").read_bytes()).signed.version == 2
    r = story.site.run("tuf", "verify", str(story.service.metadata_dir), "--json")
    assert r.returncode == 0, r.output
    assert json.loads(r.stdout)["roles"]["firmware"]["version"] == 2


def test_hostile_request_strings_are_shown_escaped(story, tmp_path):
    key = story.service.public_pem(new_signer("ed25519"), "evil")
    req = story.service.request("delegation-add", tmp_path / "req.json", "--role", "evil",
                                "--path", "x/*\x1b[1A\u202egood", "--delegate-key", str(key))
    r = story.site.ceremony(["delegation", "add"], req, tmp_path / "resp.json", "--token",
                            "targets-2", "--targets-expires", "200d", yes=False, input="no\n")
    assert r.returncode == 1 and "not confirmed" in r.stderr
    assert "\x1b" not in r.stderr and "\u202e" not in r.stderr
    assert "paths x/*\\x1b[1A\\u202egood" in r.stderr


def test_the_review_shows_keys_thresholds_and_digest(story, tmp_path):
    # a typed confirmation run that answers "no": the review is shown, nothing is written
    req = story.service.request("rotate-root", tmp_path / "req.json")
    before = Workspace.open(story.site.workspace).system_paths("tuf")
    r = story.site.ceremony(["rotate-root"], req, tmp_path / "resp.json", "--token", "root-a",
                            "--token", "root-b", "--root-threshold", "1",
                            "--root-expires", "500d", yes=False,
                            input="no\n")
    assert r.returncode == 1
    assert "not confirmed" in r.stderr.splitlines()[-1]
    assert "role root: threshold 2 -> 1" in r.stderr
    assert "version 5 -> 6" in r.stderr
    assert "review sha256 " in r.stderr and "review words " in r.stderr
    assert "must be signed by 2 of 3 of root v5's root keys" in r.stderr
    assert not (tmp_path / "resp.json").exists()
    assert Workspace.open(story.site.workspace).system_paths("tuf") == before


@pytest.fixture(scope="module")
def one_signature_short(story, tmp_path_factory) -> Path:
    folder = shutil.copytree(story.service.folder, tmp_path_factory.mktemp("short") / "repo")
    for name in ("2.root.json",):
        path = folder / "metadata" / name
        data = json.loads(path.read_bytes())
        data["signatures"] = data["signatures"][:1]
        path.write_text(json.dumps(data, indent=1, sort_keys=True))
    return folder


@pytest.mark.parametrize("client", sorted(CLIENTS))
def test_client_refuses_a_root_one_signature_below_threshold(story, one_signature_short,
                                                             client, tmp_path):
    with serve(one_signature_short) as url:
        result = CLIENTS[client](story.root1, url, tmp_path, "files/hello.txt")
    assert not result.ok and result.error


def _resealed(path: Path, change) -> Path:
    from transfer.systembundle import SystemBundle, write_system_bundle
    obj = json.loads(path.read_bytes())
    change(obj["content"])
    write_system_bundle(path, SystemBundle(system=obj.get("system", "tuf"), kind=obj["kind"],
                                           content=obj["content"]), overwrite=True)
    return path


def _bad_requests(story: Story, folder: Path) -> dict[str, tuple[Path, list[str], str]]:
    """name -> (request, ceremony command, what the one-line error says)."""
    from transfer.systembundle import SystemBundle, write_system_bundle
    svc = story.service
    fresh = lambda name: svc.request("renew", folder / f"{name}.json")  # noqa: E731
    notation = folder / "notation.json"
    write_system_bundle(notation, SystemBundle(system="notation", kind="request", content={}))
    edited = fresh("edited")
    obj = json.loads(edited.read_bytes())
    obj["content"]["summary"][0] = "TUF renew for repository 'other'"
    edited.write_text(json.dumps(obj, sort_keys=True, separators=(",", ":")))
    rollback = folder / "rollback.json"
    from tests.conftest import run_cli
    r = run_cli("tuf", "request", "--repo", str(story.copies["renew"]), "--name", "demo",
                "--operation", "renew", "--out", str(rollback))
    assert r.returncode == 0, r.output

    def fork(content: dict[str, Any]) -> None:
        from transfer.systembundle import b64, unb64
        root = json.loads(unb64(content["metadata"]["5.root.json"], "root"))
        root["signed"]["expires"] = "2099-01-01T00:00:00Z"
        content["metadata"]["5.root.json"] = b64(json.dumps(root).encode())
    return {
        "wrong system": (notation, ["renew"], "expected a tuf request bundle, got a notation"),
        "edited": (edited, ["renew"], "digest mismatch"),
        "unknown field": (_resealed(fresh("unknown"), lambda c: c.update(note="hi")),
                          ["renew"], "unknown field 'note'"),
        "unknown param": (_resealed(fresh("param"), lambda c: c["params"].update(x=1)),
                          ["renew"], "unknown field 'x'"),
        # a rotation that names a change (the table's rule holds), given a renew request
        "wrong operation": (fresh("op"), ["rotate-root", "--root-threshold", "2"],
                            "this is a TUF renew request"),
        "rollback": (rollback, ["renew"], "has not applied the last response"),
        "forked root": (_resealed(fresh("fork"), fork), ["renew"],
                        "differs from the one this workspace trusts"),
        "unknown repository": (_resealed(fresh("name"), lambda c: c.update(repository="x")),
                               ["renew"], "no history for it"),
    }


def test_bad_requests_are_refused_with_one_line_and_nothing_written(story, tmp_path):
    ws = Workspace.open(story.site.workspace)
    before = {p: ws.system_file("tuf", p) for p in ws.system_paths("tuf")}
    for name, (request, command, message) in _bad_requests(story, tmp_path).items():
        out = tmp_path / f"{name}.resp.json"
        r = story.site.ceremony(command, request, out, "--token", "root-a", "--token",
                                "root-b", "--token", "targets-2")
        assert r.returncode == 1, (name, r.output)
        last = r.stderr.strip().splitlines()[-1]
        assert last.startswith("error: ") and message in last, (name, r.stderr)
        assert not out.exists(), name
        ws = Workspace.open(story.site.workspace)
        assert {p: ws.system_file("tuf", p) for p in ws.system_paths("tuf")} == before, name


def test_an_earlier_expiry_needs_its_own_confirmation(story, tmp_path):
    req = story.service.request("renew", tmp_path / "req.json", "--renew-role", "targets")
    ws = Workspace.open(story.site.workspace)
    before = {p: ws.system_file("tuf", p) for p in ws.system_paths("tuf")}
    r = story.site.ceremony(["renew"], req, tmp_path / "resp.json", "--token", "targets-2",
                            "--targets-expires", "1d")
    assert r.returncode == 1
    last = r.stderr.strip().splitlines()[-1]
    assert "EARLIER than the current one" in last and "--allow-shorter" in last
    assert not (tmp_path / "resp.json").exists()
    ws = Workspace.open(story.site.workspace)
    assert {p: ws.system_file("tuf", p) for p in ws.system_paths("tuf")} == before


def test_apply_refuses_what_does_not_follow(story, tmp_path):
    from tests.conftest import run_cli
    from transfer.systembundle import b64, unb64

    def apply(response: Path, folder: Path, request: Path | None = None):
        args = ["tuf", "apply", "--response", str(response), "--repo", str(folder)]
        return run_cli(*args, *(["--request", str(request)] if request else []))

    init_resp = story.folder / "init.resp.json"
    # the response of another request
    r = apply(init_resp, tmp_path / "a", story.requests["renew"])
    assert r.returncode == 1 and "answers another request" in r.stderr
    # a published version is never replaced by other bytes
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "1.targets.json").write_text("{}")
    r = apply(init_resp, tmp_path / "b")
    assert r.returncode == 1 and "exists with other bytes" in r.stderr
    assert not (tmp_path / "b" / "1.root.json").exists()   # nothing written
    # root 2 one signature short of root 1's threshold
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "1.root.json").write_bytes(story.root1)
    short = shutil.copy(story.folder / "rotate-root.resp.json", tmp_path / "short.json")

    def drop(content: dict[str, Any]) -> None:
        root = json.loads(unb64(content["files"]["2.root.json"], "root"))
        root["signatures"] = root["signatures"][:1]
        content["files"]["2.root.json"] = b64(json.dumps(root).encode())
    r = apply(_resealed(Path(short), drop), folder)
    assert r.returncode == 1 and "does not follow the folder's root" in r.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["1.root.json"]


def test_transcripts_verify_and_hold_no_pin(story):
    from tests.conftest import run_cli
    transcripts = sorted((story.site.workspace / "transcripts").glob("*tuf*.jsonl"))
    assert len(transcripts) >= len(STEPS)
    for path in transcripts[:2]:
        r = run_cli("transcript", "verify", str(path))
        assert r.returncode == 0, r.output
    kinds = {json.loads(line)["kind"] for line in transcripts[0].read_text().splitlines()}
    assert {"review", "confirmation", "custody", "output", "airgap"} <= kinds
    pins = [story.site.env.pin(label) for label in TOKENS]
    for path in story.site.workspace.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not any(pin.encode() in data for pin in pins), path


def test_a_repository_without_consistent_snapshots_gets_plain_names(story, tmp_path):
    from tests.conftest import run_cli
    snap = story.service.public_pem(new_signer("ed25519"), "plain-snapshot")
    ts = story.service.public_pem(new_signer("ed25519"), "plain-timestamp")
    req = tmp_path / "req.json"
    r = run_cli("tuf", "request", "--repo", str(tmp_path / "meta"), "--name", "plain",
                "--operation", "init", "--online-key", f"snapshot={snap}", "--online-key",
                f"timestamp={ts}", "--no-consistent-snapshot", "--out", str(req))
    assert r.returncode == 0, r.output
    story.site.ok(["init"], req, tmp_path / "resp.json", "--root-token", "root-c",
                  "--targets-token", "targets-1", "--key-label", "plain-root",
                  "--targets-label", "plain-targets")
    r = run_cli("tuf", "apply", "--response", str(tmp_path / "resp.json"), "--repo",
                str(tmp_path / "meta"), "--json")
    assert r.returncode == 0, r.output
    assert json.loads(r.stdout)["written"] == ["1.root.json", "1.targets.json", "root.json",
                                                "targets.json"]
    root = json.loads((tmp_path / "meta" / "root.json").read_bytes())["signed"]
    assert root["consistent_snapshot"] is False

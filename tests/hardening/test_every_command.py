"""The ground rules, for EVERY command: the table of tests/hardening/commands.py against the real
click tree, then each class's promise checked command by command.

- Every leaf command is classified (a new command fails here, named, until it is), and the
  table names no command that is gone.
- An offline-key command offers --allow-network; a command with --out/--out-dir offers --force.
- Every offline-key command, run in a network namespace with an interface up (VETH_UP), is
  refused with one `error:` line naming the interface, exit 1, nothing written in its folder,
  the SoftHSM token store and the tokens' objects unchanged, and its PIN source never read
  (a `file:` source that does not exist: reading it would have been the error instead).
- Every command with an output, given an output that exists and no --force, is refused with
  one line naming --force, the output untouched and nothing else written.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import click
import pytest
import yaml

from tests.conftest import AIRGAPPED
from tests.hardening.bounded import Watch, assert_refused
from tests.hardening.commands import (
    ANYWHERE,
    BAD_ARGS,
    CLASSES,
    EXISTING_IN_OUT_DIR,
    HOOKED_RUNS,
    INPUT_FILES,
    NO_FORCE,
    OFFLINE_KEY,
    ONLINE,
    OUTPUT_ARGS,
    REFUSAL_ARGS,
    leaf_commands,
    option_names,
)
from tests.hardening.test_airgap_commands import VETH_UP

GUN = "example.com/app"  # the GUN of the sample request bundle


# --- the table against the real CLI ---------------------------------------------------------

def test_every_command_is_classified():
    missing = sorted(set(leaf_commands()) - set(CLASSES))
    assert not missing, (
        "commands not classified (add them to CLASSES in tests/hardening/commands.py, see its "
        f"docstring): {', '.join(missing)}")


# A command family as a branch adds one (a lazy group of ceremony.cli.COMMANDS).
_NEW_FAMILY = click.Group("tuf-next", commands=[click.Command("rotate", callback=lambda: None)])


def test_a_new_command_is_named_until_classified(monkeypatch):
    """The control: the walk finds a new family through the CLI's lazy command table, and the
    check names its command."""
    import ceremony.cli
    monkeypatch.setitem(ceremony.cli.COMMANDS, "tuf-next",
                        "tests.hardening.test_every_command:_NEW_FAMILY")
    with pytest.raises(AssertionError, match=r"not classified .*: tuf-next rotate\n"):
        test_every_command_is_classified()


def test_the_table_names_only_commands_that_exist():
    real = set(leaf_commands())
    for table in (CLASSES, REFUSAL_ARGS, OUTPUT_ARGS, HOOKED_RUNS):
        assert not sorted(set(table) - real), sorted(set(table) - real)
    assert set(CLASSES.values()) <= {ONLINE, OFFLINE_KEY, "offline", ANYWHERE}


def test_every_class_has_its_checks_listed():
    commands = leaf_commands()
    problems = []
    for name, cmd in sorted(commands.items()):
        cls, opts = CLASSES.get(name), option_names(cmd)
        if cls == OFFLINE_KEY:
            if "--allow-network" not in opts:
                problems.append(f"{name}: offline-key without --allow-network")
            if name not in REFUSAL_ARGS:
                problems.append(f"{name}: offline-key with no REFUSAL_ARGS")
        if opts & {"--out", "--out-dir"}:
            if "--force" not in opts and name not in NO_FORCE:
                problems.append(f"{name}: an output without --force")
            if name not in OUTPUT_ARGS:
                problems.append(f"{name}: an output with no OUTPUT_ARGS")
        if cls not in (ONLINE, None) and name not in HOOKED_RUNS:
            problems.append(f"{name}: {cls} but never run under the socket audit hook")
    assert not problems, "\n".join(problems)


def test_allow_network_help_promises_a_transcript_only_where_one_is_kept():
    """--allow-network's help may say it is "recorded in the transcript" only for a command
    that keeps one (a ceremony of the workspace frame, given --workspace); `tuf sign` and
    `notation csr` keep none, and say what they do instead: print a warning."""
    wrong = []
    for name, cmd in sorted(leaf_commands().items()):
        opts = option_names(cmd)
        helps = [p.help or "" for p in cmd.params if "--allow-network" in getattr(p, "opts", ())]
        if helps and "--workspace" not in opts and "recorded in the transcript" in helps[0]:
            wrong.append(f"{name}: {helps[0]}")
        if helps and "--workspace" not in opts:
            assert "warning" in helps[0], (name, helps[0])
    assert not wrong, wrong


def test_hooked_runs_name_tests_that_exist():
    here = Path(__file__).parent
    for name, where in HOOKED_RUNS.items():
        module, test = where.split("::")
        assert f"def {test}(" in (here / module).read_text(), (name, where)


# --- the inputs every recipe draws on -------------------------------------------------------

@pytest.fixture(scope="module")
def site(tmp_path_factory, softhsm_factory):
    """Tokens root-a (key 'root') and targets, and one good input of every kind."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from ceremony.notation.bundles import csr_request, sign_request
    from ceremony.notation.payload import Descriptor
    from tests.bundle.helpers import sample_request, sample_response
    from tests.conftest import run_cli
    from tests.tuf.pytuf_repo import PyTufRepository
    from transfer.systembundle import write_system_bundle

    hsm = softhsm_factory("every-command", ["root-a", "targets"])
    r = run_cli("key", "generate", "--token", "root-a", "--label", "root", "--pin-source",
                hsm.pin_source("root-a"), env=hsm.env, wrapper=AIRGAPPED)
    assert r.returncode == 0, r.output
    base = tmp_path_factory.mktemp("every-command-inputs")
    key = ec.generate_private_key(ec.SECP256R1())
    (base / "signer.pub").write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    (base / "request.bundle").write_bytes(sample_request().to_bytes())
    (base / "response.bundle").write_bytes(sample_response().to_bytes())
    name = x509.Name.from_rfc4514_string("CN=signer,O=Example,ST=WA,C=US")
    csr = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())
    (base / "signer.csr").write_bytes(csr.public_bytes(serialization.Encoding.PEM))
    write_system_bundle(base / "csr.req", csr_request([("signer", csr)]))
    desc = Descriptor("application/vnd.oci.image.manifest.v1+json", "sha256:" + "ab" * 32, 512)
    write_system_bundle(base / "sign.req", sign_request([("localhost:5000/app:1", desc)]))
    # A notation root CA in the workspace (on root-a's key), a certificate issued by it and the
    # CA's public files: the inputs of the notation commands that read them.
    def ok(*args: str) -> None:
        r = run_cli(*args, env=hsm.env, wrapper=AIRGAPPED)
        assert r.returncode == 0, (args, r.output)
    ok("notation", "ca", "init", "--workspace", str(base / "ws"), "--token", "root-a",
       "--label", "root", "--subject", "C=US, ST=WA, O=Example, CN=Every Command Root",
       "--yes", "--pin-source", hsm.pin_source("root-a"))
    ok("notation", "ca", "issue", "--workspace", str(base / "ws"), "--request",
       str(base / "csr.req"), "--out", str(base / "issued.resp"), "--yes", "--pin-source",
       hsm.pin_source("root-a"))
    ok("notation", "ca", "export", "--workspace", str(base / "ws"), "--out-dir",
       str(base / "public"))
    repo = PyTufRepository.create(base / "tuf")
    shutil.copy(repo.metadata_dir / "1.root.json", base / "1.root.json")
    tuf_inputs(hsm, base, repo)
    doc = {"format": "notary-ceremony-script/1",
           "ceremony": {"name": "Send", "purpose": "testing"},
           "participants": [{"name": "Alice", "role": "administrator"}],
           "inputs": {"req": {"kind": "request", "path": "request.bundle"}},
           "steps": [{"id": "send", "do": "transfer-send", "bundle": "req",
                      "copy": "x.bundle"}]}
    import hashlib
    doc["inputs"]["req"]["sha256"] = hashlib.sha256(
        (base / "request.bundle").read_bytes()).hexdigest()
    (base / "script.yaml").write_text(yaml.safe_dump(json.loads(json.dumps(doc)),
                                                     sort_keys=False))
    return hsm, base


# TUF requests, as `ceremony tuf request` makes them, one per ceremony: placeholder ->
# (operation, the request's arguments). `tinit` is a new repository's (`fresh`); the others
# are of repository `demo`, made by a real `tuf init` in the workspace (so that each ceremony
# gets as far as the token login), its `releases` role delegated. Its root and targets keys are
# both on root-a: token `targets` stays empty, as the notation recipes expect.
TUF_REQUESTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "tinit": ("init", ()),
    "troot": ("rotate-root", ()),
    "tkey": ("rotate-key", ("--role", "targets")),
    "tdeladd": ("delegation-add", ("--role", "nightly", "--path", "nightly/*",
                                   "--delegate-key", "signer.pub")),
    "tdelrm": ("delegation-remove", ("--role", "releases")),
    "trenew": ("renew", ("--renew-role", "root")),
}


def tuf_inputs(hsm, base: Path, repo) -> None:
    """The TUF inputs: python-tuf's metadata folder (tufmeta), a request per ceremony (the
    online service's, kept under tuf/, after a real init), and a real "sign" request (tsreq)
    answered on root-a's key in the workspace (tresp)."""
    from tests.conftest import run_cli
    from tests.tuf.ceremony_world import OnlineService
    from tests.tuf.pytuf_repo import token_key

    def ok(*args: str, **kw) -> str:
        r = run_cli(*args, env=hsm.env, cwd=base, **kw)
        assert r.returncode == 0, (args, r.output)
        return r.stdout
    shutil.copytree(repo.metadata_dir, base / "tufmeta")
    service = OnlineService(base / "tuf" / "online")
    online_keys = tuple(arg for role in ("snapshot", "timestamp") for arg in (
        "--online-key", f"{role}={service.public_pem(service.signers[role][0], role)}"))
    (base / "tuf" / "empty").mkdir()
    ok("tuf", "request", "--repo", str(base / "tuf" / "empty"), "--name", "fresh",
       "--operation", "init", "--out", str(base / "tinit.req"), *online_keys)
    init = service.request("init", base / "tuf" / "init.req", *online_keys)
    ok("tuf", "init", "--workspace", str(base / "ws"), "--request", str(init), "--out",
       str(base / "tuf" / "init.resp"), "--root-token", "root-a", "--targets-token", "root-a",
       "--yes", "--pin-source", hsm.pin_source("root-a"), wrapper=AIRGAPPED)
    service.apply(base / "tuf" / "init.resp", init)
    service.publish()
    delegated = service.request("delegation-add", base / "tuf" / "releases.req", "--role",
                                "releases", "--path", "releases/*", "--delegate-key",
                                str(base / "signer.pub"))
    ok("tuf", "delegation", "add", "--workspace", str(base / "ws"), "--request",
       str(delegated), "--out", str(base / "tuf" / "releases.resp"), "--token", "root-a",
       "--yes", "--pin-source", hsm.pin_source("root-a"), wrapper=AIRGAPPED)
    service.apply(base / "tuf" / "releases.resp", delegated)
    service.publish()
    for placeholder, (operation, extra) in TUF_REQUESTS.items():
        if operation != "init":
            service.request(operation, base / f"{placeholder}.req",
                            *(str(base / a) if a.endswith(".pub") else a for a in extra))
    key = json.loads(ok("tuf", "key", "--token", "root-a", "--label", "root", "--json",
                        wrapper=AIRGAPPED))
    old = repo.signers["root"][0].public_key.keyid

    def to_token(root) -> None:
        root.revoke_key(old, "root")
        root.add_key(token_key(key), "root")
    (base / "proposed-2.root.json").write_bytes(repo.propose_root(to_token))
    ok("tuf", "request-sign", "--repo", str(base / "tufmeta"), "--name", "other", "--proposed",
       str(base / "proposed-2.root.json"), "--out", str(base / "tsreq.req"))
    import hashlib
    first = hashlib.sha256((base / "1.root.json").read_bytes()).hexdigest()
    ok("tuf", "sign-request", "--workspace", str(base / "ws"), "--request",
       str(base / "tsreq.req"), "--out", str(base / "tresp.resp"), "--token", "root-a",
       "--trust-root-sha256", first, "--yes", "--pin-source", hsm.pin_source("root-a"),
       wrapper=AIRGAPPED)


def fill(args: tuple[str, ...], values: dict[str, str]) -> list[str]:
    return [a.format(**values) if "{" in a else a for a in args]


def case_folder(site, tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A copy of the inputs in a folder of the case's own (the whole folder is watched)."""
    from ceremony.workspace import Workspace
    hsm, base = site
    work = tmp_path / "case"
    # (the repositories under base/tuf stay out; the workspace's own tuf/ state goes along)
    shutil.copytree(base, work, symlinks=True,
                    ignore=lambda folder, names: ["tuf"] if Path(folder) == base else [])
    (work / "script.yaml").write_text((base / "script.yaml").read_text())
    Workspace.open(work / "ws", create=True)
    (work / "outdir").mkdir()
    values = {"gun": GUN, "req": str(work / "request.bundle"),
              "resp": str(work / "response.bundle"), "pub": str(work / "signer.pub"),
              "ws": str(work / "ws"), "out": str(work / "out.file"),
              "outdir": str(work / "outdir"), "nreq": str(work / "csr.req"),
              "sreq": str(work / "sign.req"), "csr": str(work / "signer.csr"),
              "script": str(work / "script.yaml"), "root1": str(work / "1.root.json"),
              "nresp": str(work / "issued.resp"), "cacert": str(work / "public" / "ca.crt"),
              "tufmeta": str(work / "tufmeta"), "tsreq": str(work / "tsreq.req"),
              "tresp": str(work / "tresp.resp"), "troot2": str(work / "proposed-2.root.json"),
              **{p: str(work / f"{p}.req") for p in TUF_REQUESTS}}
    return work, values


# --- offline-key commands refuse a network, before any token or PIN -------------------------

@pytest.mark.parametrize("name", sorted(REFUSAL_ARGS))
def test_offline_key_command_refuses_a_network(site, tmp_path, name):
    hsm, _ = site
    work, values = case_folder(site, tmp_path)
    # Never read: the PIN file does not exist, so reading it would be the error instead.
    values["pin"] = f"file:{work / 'never-read.pin'}"
    watch = Watch([work, hsm.root], [(hsm, "root-a"), (hsm, "targets")])
    r = assert_refused(fill(REFUSAL_ARGS[name], values), "not air-gapped",
                       "interface veth0 is up", "--allow-network", watch=watch, env=hsm.env,
                       wrapper=VETH_UP, allow=refusal_recorded(work, "not air-gapped"))
    assert not (work / "out.file").exists(), r.stderr


@pytest.mark.parametrize("name", sorted(REFUSAL_ARGS))
def test_allow_network_goes_past_the_check_with_a_warning(site, tmp_path, name):
    """The same run with --allow-network: past the network check (it then stops at the PIN
    file that does not exist, or the sample inputs), having said what is up."""
    from tests.conftest import run_cli
    hsm, _ = site
    work, values = case_folder(site, tmp_path)
    values["pin"] = f"file:{work / 'never-read.pin'}"
    r = run_cli(*fill(REFUSAL_ARGS[name], values), "--allow-network", env=hsm.env,
                wrapper=VETH_UP)
    assert "Traceback" not in r.output, r.output
    warnings = [line for line in r.stderr.splitlines() if line.startswith("warning: ")]
    assert any("not air-gapped (interface veth0 is up" in w for w in warnings), r.stderr
    errors = [line for line in r.stderr.splitlines() if line.startswith("error: ")]
    assert not any("not air-gapped" in e for e in errors), r.stderr


def refusal_recorded(work: Path, reason: str) -> Callable[[list[str]], list[str]]:
    """The one change a ceremony's refusal may make (as tests/hardening/catalogue.py allows
    for a refused request): at most ONE new transcript in the workspace, which verifies, ends
    `refused` and records the reason, and its line in ANCHORS. Anything else is a change."""
    def allow(changed: list[str]) -> list[str]:
        from ceremony.transcript import verify_transcript
        rel = "ws/transcripts"
        made = [d[len("created "):] for d in changed
                if d.startswith(f"created {rel}/") and d.endswith(".jsonl")]
        rest = [d for d in changed if d not in (f"created {rel}", f"created {rel}/ANCHORS")
                and not d.startswith((f"changed {rel}: ", "changed ws: ", f"created {rel}/",
                                      f"changed {rel}/ANCHORS: "))]
        rest += [d for d in changed if d.startswith(f"created {rel}/")
                 and d != f"created {rel}/ANCHORS" and not d.endswith(".jsonl")]
        assert len(made) <= 1, made
        for transcript in made:
            verify_transcript(work / transcript)
            entries = [json.loads(line) for line in (work / transcript).read_text().splitlines()]
            refusals = [e for e in entries if e["kind"] == "refusal"]
            assert refusals and reason in refusals[-1]["data"].get("reason", ""), entries[-2:]
            assert entries[-1]["kind"] == "end", entries[-1]
            assert entries[-1]["data"].get("outcome") == "refused", entries[-1]
        return rest
    return allow


# --- outputs are not overwritten without --force ----------------------------------------------

@pytest.mark.parametrize("name", sorted(OUTPUT_ARGS))
def test_existing_output_is_refused_without_force(site, tmp_path, name):
    hsm, _ = site
    work, values = case_folder(site, tmp_path)
    values["pin"] = hsm.pin_source("root-a")
    (work / "out.file").write_bytes(b"precious\n")
    if name in EXISTING_IN_OUT_DIR:
        (work / "outdir" / EXISTING_IN_OUT_DIR[name]).write_bytes(b"precious\n")
    watch = Watch([work, hsm.root], [(hsm, "root-a"), (hsm, "targets")])
    wrapper = () if CLASSES[name] == ONLINE else AIRGAPPED
    needle = "already exists" if name in NO_FORCE else "--force"
    assert_refused(fill(OUTPUT_ARGS[name], values), needle, watch=watch, env=hsm.env,
                   wrapper=wrapper, exits=(1, 2))


# --- bad input writes nothing ------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(OUTPUT_ARGS))
def test_bad_input_writes_nothing(site, tmp_path, name):
    hsm, _ = site
    work, values = case_folder(site, tmp_path)
    values["pin"] = hsm.pin_source("root-a")
    for key in INPUT_FILES:
        values[key] = str(work / f"bad-{key}")
        (work / f"bad-{key}").write_bytes(b"this is not what you think it is\n")
    args = BAD_ARGS.get(name, OUTPUT_ARGS[name])
    assert name in BAD_ARGS or any(f"{{{key}}}" in args for key in INPUT_FILES), \
        f"{name}: no input file to break: give it BAD_ARGS"
    watch = Watch([work, hsm.root], [(hsm, "root-a"), (hsm, "targets")])
    wrapper = () if CLASSES[name] == ONLINE else AIRGAPPED
    assert_refused(fill(args, values), watch=watch, env=hsm.env, wrapper=wrapper,
                   exits=(1, 2), stdin=b"junk line\n", progress=name == "transfer receive",
                   allow=refusal_recorded(work, ""))
    assert not (work / "out.file").exists()


# --- tuf apply: no --out (it writes into the metadata folder), the same promise -------------

@pytest.mark.parametrize("case", ["garbage response", "another request's response"])
def test_tuf_apply_bad_input_changes_no_metadata(site, tmp_path, case):
    """`tuf apply` given a response that is not one, or one that does not answer --request:
    one line, and the metadata folder (and everything else in the case) unchanged."""
    hsm, _ = site
    work, values = case_folder(site, tmp_path)
    if case == "garbage response":
        (work / "tresp.resp").write_bytes(b"this is not what you think it is\n")
    args = ("tuf", "apply", "--response", "{tresp}", "--repo", "{tufmeta}", "--request",
            "{troot}" if case == "another request's response" else "{tsreq}")
    needle = "answers another request" if case == "another request's response" else ""
    assert_refused(fill(args, values), needle, watch=Watch([work]), env=hsm.env)

"""Side effects before refusal, writes in the wrong place (issue 12).

Output destinations are checked BEFORE anything irreversible (a key generated on a token): an
`init` whose --out folder is missing or read-only (a real read-only bind mount, in a private
mount namespace) leaves the tokens' objects exactly as they were. An --out inside the workspace
is refused even with --force. A script's output name that goes through a symbolic link out of
the outputs folder is refused. An explicit --workspace that does not exist is an error for
`status`. Every case: one line, exit 1, bounded memory and time, nothing written.
"""

from __future__ import annotations

import hashlib
import json

import pytest
import yaml

from tests.conftest import AIRGAPPED
from tests.hardening.bounded import Watch, assert_refused
from tests.hardening.catalogue import GUN


@pytest.fixture(scope="module")
def site(tmp_path_factory, softhsm_factory):
    """Tokens root-a and targets (real SoftHSM) and a good request for GUN."""
    from tests.hardening.catalogue import make_inputs
    hsm = softhsm_factory("outputs", ["root-a", "targets"])
    inputs = make_inputs(tmp_path_factory.mktemp("inputs"), hsm.env, hsm.root,
                         hsm.pin_source("root-a"))
    return hsm, inputs


def init_args(hsm, work, out: str) -> list[str]:
    return ["init", GUN, "--root-token", "root-a", "--targets-token", "targets",
            "--request", str(work / "request.bundle"), "--out", out,
            "--workspace", str(work / "ws"), "--yes",
            "--pin-source", f"root-a={hsm.pin_source('root-a')}",
            "--pin-source", f"targets={hsm.pin_source('targets')}"]


def prepare(site, tmp_path):
    hsm, inputs = site
    work = tmp_path / "case"
    work.mkdir()
    (work / "request.bundle").write_bytes(inputs.request)
    return hsm, work, Watch([work, hsm.root], [(hsm, "root-a"), (hsm, "targets")])


def test_missing_out_folder_generates_no_key(site, tmp_path):
    hsm, work, watch = prepare(site, tmp_path)
    assert_refused(init_args(hsm, work, str(work / "missing" / "out.bundle")),
                   "does not exist", "nothing was done", watch=watch, env=hsm.env,
                   wrapper=AIRGAPPED)


def read_only(folder) -> tuple[str, ...]:
    """AIRGAPPED plus `folder` bind-mounted read-only, in the command's own mount namespace."""
    return ("unshare", "--net", "--mount", "sh", "-c",
            "mount -t sysfs sysfs /sys && ip link set lo up && "
            f"mount --bind '{folder}' '{folder}' && mount -o remount,bind,ro '{folder}' && "
            'exec "$0" "$@"')


def test_read_only_out_folder_generates_no_key(site, tmp_path):
    hsm, work, watch = prepare(site, tmp_path)
    (work / "ro").mkdir()
    assert_refused(init_args(hsm, work, str(work / "ro" / "out.bundle")), "read-only",
                   watch=watch, env=hsm.env, wrapper=read_only(work / "ro"))


@pytest.mark.parametrize("target", ["workspace.json", "state/x.bundle", "."])
def test_out_inside_the_workspace_is_refused_even_with_force(site, tmp_path, target):
    from ceremony.workspace import Workspace
    hsm, work, watch = prepare(site, tmp_path)
    Workspace.open(work / "ws", create=True)
    out = str(work / "ws" / target)
    assert_refused([*init_args(hsm, work, out), "--force"],
                   "inside the workspace" if target != "." else "folder",
                   watch=watch, env=hsm.env, wrapper=AIRGAPPED)


@pytest.mark.parametrize("command", ["init", "key cert"])
def test_out_inside_the_token_store_is_refused_even_with_force(site, tmp_path, command):
    """SoftHSM keeps each token as a folder of object files: an output there (with --force)
    could replace a token's objects. Refused before the token is asked anything."""
    hsm, work, watch = prepare(site, tmp_path)
    out = str(hsm.token_dir / "out.file")
    args = ([*init_args(hsm, work, out), "--force"] if command == "init" else
            ["key", "cert", "--token", "pkcs11:token=root-a", "--label", "root", "--gun", GUN,
             "--out", out, "--force", "--pin-source", hsm.pin_source("root-a")])
    assert_refused(args, "inside the SoftHSM token store", watch=watch, env=hsm.env,
                   wrapper=AIRGAPPED)


def test_status_with_a_missing_explicit_workspace(site, tmp_path):
    hsm, work, watch = prepare(site, tmp_path)
    (work / "resp.bundle").write_bytes(site[1].response)
    assert_refused(["status", str(work / "resp.bundle"), "--workspace", str(work / "nope")],
                   "not a ceremony workspace", watch=watch)


def script_sending(work, copy_to: str, request: bytes, sha256: str | None = None) -> str:
    doc = {"format": "notary-ceremony-script/1",
           "ceremony": {"name": "Send", "purpose": "testing", "guns": [GUN]},
           "participants": [{"name": "Alice", "role": "administrator"}],
           "inputs": {"req": {"kind": "request", "path": "app.request",
                              "sha256": sha256 or hashlib.sha256(request).hexdigest()}},
           "steps": [{"id": "send", "do": "transfer-send", "bundle": "req", "copy": copy_to}]}
    (work / "app.request").write_bytes(request)
    (work / "s.yaml").write_text(yaml.safe_dump(json.loads(json.dumps(doc)), sort_keys=False))
    return str(work / "s.yaml")


def test_script_output_through_a_symlink_is_refused(site, tmp_path):
    from ceremony.workspace import Workspace
    hsm, work, watch = prepare(site, tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    Workspace.open(work / "ws", create=True)
    (work / "out").mkdir()
    (work / "out" / "link").symlink_to(outside)
    script = script_sending(work, "link/x.bundle", site[1].request)
    before = sorted(outside.iterdir())
    assert_refused(["run", script, "--yes", "--workspace", str(work / "ws"), "--out-dir",
                    str(work / "out")], "outside the outputs folder",
                   watch=Watch([outside]), wrapper=AIRGAPPED, allow=None)
    assert sorted(outside.iterdir()) == before


def test_script_input_with_the_wrong_digest_is_not_parsed(tmp_path):
    """A 100 MB input whose digest is not the expected one: refused from its digest alone,
    never parsed (a parse would hold the text and its string: several times its size)."""
    work = tmp_path / "case"
    work.mkdir()
    big = b'"' + b"a" * (100 << 20) + b'"'
    script = script_sending(work, "x.bundle", big, sha256="ab" * 32)
    r = assert_refused(["run", script, "--yes", "--workspace", str(work / "ws")],
                       "refusing to go on", watch=Watch([work]), wrapper=AIRGAPPED)
    assert r.peak_rss < (100 << 20) + (120 << 20), r.peak_rss >> 20


def test_a_5000_digit_number_in_a_script(tmp_path):
    work = tmp_path / "case"
    work.mkdir()
    (work / "s.yaml").write_text("format: notary-ceremony-script/1\nceremony:\n  name: x\n"
                                 f"  version: {'9' * 5000}\n")
    assert_refused(["run", str(work / "s.yaml"), "--yes", "--workspace", str(work / "ws")],
                   "a number 5000 characters long", watch=Watch([work]))


@pytest.mark.parametrize("command", ["transfer send", "transfer receive"])
def test_writing_into_a_read_only_folder_is_one_line(command, site, tmp_path):
    """atomic_write makes its temp file inside its error handling: a read-only folder (a real
    read-only bind mount) is one error line, not a traceback, and nothing is left."""
    work = tmp_path / "case"
    (work / "ro").mkdir(parents=True)
    (work / "r.bundle").write_bytes(site[1].response)
    out = str(work / "ro" / "out.bundle")
    if command == "transfer send":
        args = ["transfer", "send", str(work / "r.bundle"), "--out", out]
        stdin = None
    else:
        from transfer.qr.encoder import plan_series
        series = plan_series(site[1].response, 700)
        args = ["transfer", "receive", "--stdin", "--out", out]
        stdin = "".join(line + "\n" for line in series.frames(2)).encode()
    assert_refused(args, "Read-only file system", watch=Watch([work]), stdin=stdin,
                   wrapper=read_only(work / "ro"), progress=True)

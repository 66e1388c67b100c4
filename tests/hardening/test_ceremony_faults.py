"""Faults during a real ceremony (real notary-server, real SoftHSM, `unshare --net`).

- A token pulled between the review and the signing: really -- the token's folder is moved out
  of the SoftHSM token store while the ceremony waits for its confirmation (SoftHSM then fails
  the next operation on that token's objects, as a reader would). No fake.
- Wrong PINs, again and again (SoftHSM never locks): each one reported, nothing written; the
  CKF_USER_PIN_COUNT_LOW flag SoftHSM sets after a failure is reported in the error and as a
  warning at the next successful login. CKF_USER_PIN_FINAL_TRY / lock-out are not reachable
  with SoftHSM (tests/hsm covers their messages).
- SIGKILL at the fault points of a whole `rotate targets` (groundfloor/faults.py), enumerated by
  tracing one run: every point from the response write to the end (response, transcript, the
  workspace commit), and the first point of each name before it. After each kill: the response
  is absent or whole, the workspace is the old state or the new one, every transcript verifies
  (open ones with --allow-open), and running the ceremony again completes or refuses with one
  line.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ceremony.workspace import Workspace
from softhsm.notary_server import NotaryServer
from tests.ceremonies.conftest import TOKENS, Offline, fetch, publish
from tests.conftest import ROOT, CliResult
from transfer.bundle import read_bundle

pytestmark = pytest.mark.notary


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with NotaryServer(tmp_path_factory.mktemp("notary") / "server") as s:
        yield s


def make_repo(softhsm_factory, server, tmp: Path, gun: str) -> Offline:
    o = Offline(softhsm_factory("hsm", TOKENS), tmp)
    req = fetch(server, gun, out=tmp / "init.req")
    o.ok("init", "--request", str(req), "--out", str(tmp / "init.resp"), "--root-token",
         "root-a", "--targets-token", "targets", *o.pins(), "--yes")
    publish(server, tmp / "init.resp")
    return o


def rotate(o: Offline, gun: str, req: Path, out: Path, *extra: str) -> list[str]:
    return ["rotate", "targets", gun, "--request", str(req), "--out", str(out),
            "--targets-token", "targets", "--root-token", "root-a", *extra]


def one_error(r: CliResult, *needles: str) -> str:
    assert r.returncode == 1, r.output
    assert "Traceback" not in r.output
    errors = [line for line in r.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and r.stderr.rstrip().endswith(errors[0]), r.stderr
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


def verify_all(o: Offline) -> list[dict]:
    """Every transcript verifies (open ones too); returns the last one's entries."""
    for path in o.transcripts():
        if path.stat().st_size == 0:
            # killed while creating it, before its first entry: no chain yet, nothing recorded
            # (Transcript.create restarts such a file); the workspace is checked by the caller
            continue
        r = o.run("transcript", "verify", str(path), "--allow-open")
        assert r.returncode == 0, (path, r.output)
    return o.last_transcript()


def token_folder(o: Offline, label: str) -> Path:
    for folder in (o.env.root / "tokens").iterdir():
        if label.encode() in (folder / "token.object").read_bytes():
            return folder
    raise AssertionError(label)


def test_token_removed_between_review_and_signing(softhsm_factory, server, tmp_path):
    gun = "example.com/fault/pulled"
    o = make_repo(softhsm_factory, server, tmp_path, gun)
    req = fetch(server, gun, out=tmp_path / "req", operation="rotate-targets")
    before, known = o.state(), len(o.transcripts())
    env = dict(os.environ, PYTHONPATH=str(ROOT), CEREMONY_WORKSPACE=str(o.workspace),
               **o.env.env)
    out = tmp_path / "resp"
    proc = subprocess.Popen(["unshare", "--net", sys.executable, "-m", "ceremony",
                             *rotate(o, gun, req, out, *o.pins())], env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    folder = token_folder(o, "targets")
    away = tmp_path / "pulled-token"
    try:
        deadline = time.monotonic() + 60
        while not (len(o.transcripts()) > known and any(
                '"kind":"review"' in line for line in o.transcripts()[-1].read_text()
                .splitlines())):
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.05)
        shutil.move(folder, away)  # the token is pulled
        stdout, stderr = proc.communicate("yes\n", timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    err = one_error(CliResult(proc.returncode, stdout, stderr.split("Type yes to sign: ")[-1]),
                    "token 'targets' was removed", "reinsert the token and run again")
    assert not out.exists() and o.state() == before
    entries = verify_all(o)
    assert entries[-1]["data"]["outcome"] == "failed"
    assert any(e["kind"] == "error" and "removed" in json.dumps(e["data"]) for e in entries)
    assert not any(e["kind"] == "signed" for e in entries), err
    shutil.move(away, folder)  # reinserted: the ceremony runs again and completes
    o.ok(*rotate(o, gun, req, out, *o.pins(), "--yes"))
    publish(server, out)


def test_wrong_pins_each_reported_nothing_written(softhsm_factory, server, tmp_path):
    gun = "example.com/fault/pin"
    o = make_repo(softhsm_factory, server, tmp_path, gun)
    req = fetch(server, gun, out=tmp_path / "req", operation="rotate-targets")
    wrong = tmp_path / "wrong.pin"
    wrong.write_text("not-the-pin-4711\n")
    wrong.chmod(0o600)
    before = o.state()
    pins = ["--pin-source", f"targets=file:{wrong}", "--pin-source",
            f"root-a={o.env.pin_source('root-a')}", "--yes"]
    for attempt in range(3):
        r = o.run(*rotate(o, gun, req, tmp_path / "resp", *pins))
        err = one_error(r, "wrong PIN for token 'targets'", "check the PIN and run again")
        assert "not-the-pin-4711" not in r.output
        if attempt:
            assert "CKF_USER_PIN_COUNT_LOW" in err
        assert not (tmp_path / "resp").exists() and o.state() == before
        entries = verify_all(o)
        assert entries[-1]["data"]["outcome"] in ("failed", "refused")
        assert not any(e["kind"] == "signed" for e in entries)
    for path in o.transcripts():
        assert b"not-the-pin-4711" not in path.read_bytes()
    r = o.run(*rotate(o, gun, req, tmp_path / "resp", *o.pins(), "--yes"))
    assert r.returncode == 0, r.output
    assert "reported at least one wrong PIN since its last successful login" in r.stderr


def test_sigkill_at_every_fault_point_of_a_ceremony(softhsm_factory, server, tmp_path):
    gun = "example.com/fault/kill"
    o = make_repo(softhsm_factory, server, tmp_path, gun)
    req = fetch(server, gun, out=tmp_path / "req", operation="rotate-targets")
    saved_ws, saved_tokens = tmp_path / "saved-ws", tmp_path / "saved-tokens"
    shutil.copytree(o.workspace, saved_ws, symlinks=True)
    shutil.copytree(o.env.root / "tokens", saved_tokens)
    old = committed(o)

    def restore() -> None:
        shutil.rmtree(o.workspace)
        shutil.copytree(saved_ws, o.workspace, symlinks=True)
        shutil.rmtree(o.env.root / "tokens")
        shutil.copytree(saved_tokens, o.env.root / "tokens")

    def run(out: Path, env: dict[str, str], *extra: str) -> CliResult:
        full = dict(os.environ, PYTHONPATH=str(ROOT), CEREMONY_WORKSPACE=str(o.workspace),
                    **o.env.env, **env)
        full.pop("CEREMONY_DEBUG", None)
        p = subprocess.run(["unshare", "--net", sys.executable, "-m", "ceremony",
                            *rotate(o, gun, req, out, *o.pins(), "--yes", *extra)],
                           env=full, capture_output=True, text=True, timeout=300)
        return CliResult(p.returncode, p.stdout, p.stderr)

    trace = tmp_path / "trace"
    out = tmp_path / "full.resp"
    assert run(out, {"CEREMONY_FAULT_TRACE": str(trace)}).returncode == 0
    new = committed(o)
    names = trace.read_text().split()
    first_write = names.index("atomic_write.before_rename")
    chosen = sorted({names.index(n) for n in names[:first_write]}
                    | set(range(first_write, len(names))))
    assert len(chosen) >= 15, names
    print("fault points:", len(names), "killed at:", [names[i] for i in chosen])
    outcomes: dict[str, int] = {}
    for index in chosen:
        restore()
        out = tmp_path / f"kill-{index}.resp"
        r = run(out, {"CEREMONY_FAULT_INJECT": str(index + 1)})
        point = f"{index + 1}:{names[index]}"
        assert r.returncode == -9, (point, r.output)
        if out.exists():  # whole, never torn
            read_bundle(out, kind="response")
        state = committed(o)
        # the generation `current` names is the old one, byte for byte, or a new one with the
        # files of a completed run (their content has this run's times and signatures)
        assert state == old or (state[0] != old[0] and set(state[1]) == set(new[1])), point
        verify_all(o)
        again = run(out, {})
        if again.returncode == 0:
            outcomes["completed"] = outcomes.get("completed", 0) + 1
            read_bundle(out, kind="response")
        else:
            err = one_error(again)
            assert "refusing to overwrite existing file" in err and "--force" in err, (point, err)
            outcomes[err[:60]] = outcomes.get(err[:60], 0) + 1
        verify_all(o)
    print("after the kills, running again:", outcomes)
    assert all(k == "completed" or "existing file" in k for k in outcomes), outcomes


def committed(o: Offline) -> tuple[str, dict[str, bytes]]:
    """The workspace generation `current` points to, and its files (a generation a killed
    commit left half built, that `current` does not name, is not state: the next commit
    replaces it)."""
    gen = os.readlink(o.workspace / "current")
    folder = o.workspace / gen
    files = {p.relative_to(folder).as_posix(): p.read_bytes()
             for p in sorted(folder.rglob("*")) if p.is_file()}
    ws = Workspace.open(o.workspace)  # each repository's snapshot in force in that generation
    for gun in ws.guns():
        snap = ws.repo_folder(gun)
        files.update({f"repos/{gun}/{p.relative_to(snap).as_posix()}": p.read_bytes()
                      for p in sorted(snap.rglob("*")) if p.is_file()})
    return gen, files

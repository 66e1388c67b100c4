"""Throwaway SoftHSM environments: where they live, what they create, what they refuse."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest

from softhsm.env import SoftHSMError, TokenSpec, create_env, load_env
from tests.conftest import ROOT


def _show_slots(env) -> str:
    return subprocess.run(["softhsm2-util", "--show-slots"], env={**os.environ, **env.env},
                          capture_output=True, text=True, check=True).stdout


def test_create_env(tmp_path):
    env = create_env(tmp_path / "hsm", [TokenSpec("alpha", pin="alpha-pin-1", so_pin="so-1"),
                                        TokenSpec("beta")])
    conf = env.conf.read_text()
    assert f"directories.tokendir = {tmp_path / 'hsm' / 'tokens'}" in conf
    assert env.env == {"SOFTHSM2_CONF": str(env.conf), "CEREMONY_PKCS11_MODULE": env.module}
    slots = _show_slots(env)
    assert "Label:            alpha" in slots and "Label:            beta" in slots
    assert env.pin("alpha") == "alpha-pin-1"
    assert env.so_pin_file("alpha").read_text() == "so-1\n"
    assert len(env.pin("beta")) >= 12 and env.pin("beta") != env.pin("alpha")
    for label in ("alpha", "beta"):
        for path in (env.pin_file(label), env.so_pin_file(label)):
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(env.pin_dir.stat().st_mode) == 0o700
    # Token files live under the folder; nothing else was touched.
    assert len(list(env.token_dir.iterdir())) == 2
    reopened = load_env(tmp_path / "hsm")
    assert reopened.labels == ["alpha", "beta"] and reopened.module == env.module
    reopened.add_tokens([TokenSpec("gamma")])
    assert "Label:            gamma" in _show_slots(reopened)
    with pytest.raises(SoftHSMError, match="already exists"):
        reopened.add_tokens([TokenSpec("gamma")])


def test_refusals(tmp_path):
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "file").write_text("x")
    with pytest.raises(SoftHSMError, match="not empty"):
        create_env(tmp_path / "used")
    with pytest.raises(SoftHSMError, match="invalid token label"):
        create_env(tmp_path / "new", [TokenSpec("x" * 33)])
    with pytest.raises(SoftHSMError, match="not a SoftHSM environment"):
        load_env(tmp_path)


def test_inittoken_refuses_other_modules_and_the_system_store():
    request = {"module": "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so",
               "tokens": [{"label": "x", "pin": "123456", "so_pin": "654321"}]}
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SOFTHSM2_CONF": "/nonexistent.conf"}
    r = subprocess.run([sys.executable, "-m", "softhsm.inittoken"], input=json.dumps(request),
                       env=env, capture_output=True, text=True)
    assert r.returncode == 1 and "only SoftHSM" in r.stderr and "123456" not in r.stderr
    request["module"] = "/usr/lib/softhsm/libsofthsm2.so"
    env.pop("SOFTHSM2_CONF")
    r = subprocess.run([sys.executable, "-m", "softhsm.inittoken"], input=json.dumps(request),
                       env=env, capture_output=True, text=True)
    assert r.returncode == 1 and "SOFTHSM2_CONF" in r.stderr and "123456" not in r.stderr


def test_python_m_softhsm(tmp_path):
    folder = tmp_path / "reh"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, "-m", "softhsm", "create", str(folder), "--token",
                        "root-a", "--token", "targets"], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        f"export SOFTHSM2_CONF={folder / 'softhsm2.conf'}",
        f"export CEREMONY_PKCS11_MODULE={load_env(folder).module}"]
    made = load_env(folder)
    for label in ("root-a", "targets"):
        assert made.pin(label) not in r.stdout + r.stderr
        assert str(made.pin_file(label)) in r.stderr
    r = subprocess.run([sys.executable, "-m", "softhsm", "env", str(folder), "--json"], env=env,
                       capture_output=True, text=True, check=True)
    data = json.loads(r.stdout)
    assert [t["label"] for t in data["tokens"]] == ["root-a", "targets"]
    r = subprocess.run([sys.executable, "-m", "softhsm", "create", str(folder)], env=env,
                       capture_output=True, text=True)
    assert r.returncode == 1 and r.stderr.startswith("error: ") and "not empty" in r.stderr

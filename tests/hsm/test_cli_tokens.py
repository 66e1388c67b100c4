"""The `ceremony token` / `ceremony key` commands, run as a user runs them (subprocesses)."""

from __future__ import annotations

import hashlib
import json
import os
import pty
import select
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT
from tests.hsm.conftest import assert_one_line_error, pkcs11_tool_objects

GUN = "example.com/cli/app"
# key generate/cert refuse a machine with a network up (this one has one): they run with
# offline=True, in a network namespace with only loopback, as on an air-gapped machine.


@pytest.fixture(scope="module")
def root_key(ceremony, cli_env):
    """An ecdsa-p256 key 'root' on token 'root-a', made through the CLI once per module."""
    r = ceremony("key", "generate", "--token", "pkcs11:token=root-a", "--label", "root",
                 "--pin-source", cli_env.pin_source("root-a"), "--json", offline=True)
    assert r.returncode == 0, r.output
    return json.loads(r.stdout)


def _secret_free(cli_env, *results):
    pins = [cli_env.pin(label) for label in cli_env.labels]
    for r in results:
        for pin in pins:
            assert pin not in r.output


def test_token_list(ceremony, cli_env):
    r = ceremony("token", "list")
    assert r.returncode == 0 and r.stderr == ""
    assert "token 'root-a'" in r.stdout and "token 'targets'" in r.stdout
    data = json.loads(ceremony("token", "list", "--json").stdout)
    (module,) = data["modules"]
    assert module["path"] == cli_env.module
    tokens = {s["token"]["label"]: s["token"] for s in module["slots"] if s["token"]}
    assert set(tokens) == {"root-a", "targets", "pins"}
    t = tokens["root-a"]
    assert set(t) == {"label", "serial", "manufacturer", "model", "slot_id",
                      "slot_description", "module", "flags", "uri"}
    assert "user-pin-initialized" in t["flags"] and t["manufacturer"] == "SoftHSM project"
    assert any(s["token"] is None and s["note"] == "token not initialised"
               for s in module["slots"])


def test_generate_and_list(ceremony, cli_env, root_key, monkeypatch):
    key = root_key["key"]
    assert root_key["token"]["label"] == "root-a"
    assert key["label"] == "root" and key["algorithm"] == "ecdsa-p256"
    assert key["method"] == "ecdsa" and key["keytype"] == "ecdsa"
    assert key["custody"]["ok"] is True and key["custody"]["problems"] == []
    for flag in ("local", "never_extractable", "always_sensitive", "sensitive", "sign"):
        assert key["custody"][flag] is True
    for flag in ("extractable", "decrypt", "unwrap", "derive"):
        assert key["custody"][flag] is False
    # token keys, PIN from the environment this time
    r = ceremony("token", "keys", "pkcs11:token=root-a", "--pin-source", "env:ROOT_A_PIN",
                 "--json", env={"ROOT_A_PIN": cli_env.pin("root-a")})
    assert r.returncode == 0, r.output
    listed = {k["label"]: k for k in json.loads(r.stdout)["keys"]}
    assert listed["root"]["key_id"] == key["key_id"] and listed["root"]["id"] == key["id"]
    human = ceremony("token", "keys", "root-a", "--pin-source", cli_env.pin_source("root-a"))
    assert "'root' ecdsa-p256" in human.stdout and "custody OK" in human.stdout
    assert key["key_id"] in human.stdout
    # and independently
    objects = pkcs11_tool_objects(cli_env, "root-a")
    private = next(o for o in objects if o["kind"] == "Private Key Object"
                   and o.get("label") == "root")
    assert private["ID"] == key["id"] and "never extractable" in private["Access"]
    _secret_free(cli_env, r, human)


def test_generate_ed25519_with_id(ceremony, cli_env):
    r = ceremony("key", "generate", "--token", "targets", "--label", "targets",
                 "--algorithm", "ed25519", "--id", "c0ffee01",
                 "--pin-source", cli_env.pin_source("targets"), offline=True)
    assert r.returncode == 0, r.output
    assert "generated ed25519 key 'targets' on token 'targets'" in r.stdout
    assert "id c0ffee01" in r.stdout and "custody OK" in r.stdout
    dup = ceremony("key", "generate", "--token", "targets", "--label", "other", "--id",
                   "c0ffee01", "--pin-source", cli_env.pin_source("targets"), offline=True)
    assert_one_line_error(dup, "already has an object with id c0ffee01")


def test_export(ceremony, cli_env, root_key, tmp_path):
    key = root_key["key"]
    # No --pin-source and no terminal: export reads public objects without logging in.
    r = ceremony("key", "export", "--token", "root-a", "--label", "root")
    assert r.returncode == 0, r.output
    assert r.stdout == key["public_key_pem"]
    out = tmp_path / "root.json"
    r = ceremony("key", "export", "--token", "root-a", "--label", "root", "--format", "notary",
                 "--out", str(out))
    assert r.returncode == 0 and key["key_id"] in r.stdout
    assert hashlib.sha256(out.read_bytes()).hexdigest() == key["key_id"]
    obj = json.loads(out.read_bytes())
    assert obj == {"keytype": "ecdsa", "keyval": {"private": None,
                                                  "public": obj["keyval"]["public"]}}
    again = ceremony("key", "export", "--token", "root-a", "--label", "root", "--out", str(out))
    assert_one_line_error(again, "refusing to overwrite", "--force")
    forced = ceremony("key", "export", "--token", "root-a", "--label", "root", "--out",
                      str(out), "--force", "--json")
    assert forced.returncode == 0
    data = json.loads(forced.stdout)
    assert data["format"] == "pem" and data["out"] == str(out) and data["content"] is None
    assert data["notary_key"]["keytype"] == "ecdsa" and data["key"]["key_id"] == key["key_id"]
    assert out.read_text() == key["public_key_pem"]


def test_cert(ceremony, cli_env, root_key, tmp_path):
    out = tmp_path / "root.crt"
    args = ["key", "cert", "--token", "pkcs11:token=root-a;object=root", "--gun", GUN,
            "--out", str(out), "--pin-source", cli_env.pin_source("root-a")]
    r = ceremony(*args, "--json", offline=True)
    assert r.returncode == 0, r.output
    data = json.loads(r.stdout)
    assert set(data) == {"token", "label", "id", "gun", "out", "serial", "not_before",
                         "not_after", "signature_algorithm", "sha256_fingerprint", "cert_keytype",
                         "cert_key_id", "canonical_keytype", "canonical_key_id", "notary_key",
                         "stored_on_token", "replaced_cert_key_ids", "transcript",
                         "transcript_sha256", "transcript_words"}
    assert data["label"] == "root" and data["gun"] == GUN
    assert data["cert_keytype"] == "ecdsa-x509" and data["canonical_keytype"] == "ecdsa"
    assert data["canonical_key_id"] == root_key["key"]["key_id"]
    assert data["signature_algorithm"] == "ecdsa-with-SHA256"
    verify = subprocess.run(["openssl", "verify", "-CAfile", str(out), "-check_ss_sig",
                             str(out)], capture_output=True, text=True)
    assert verify.returncode == 0, verify.stderr
    text = subprocess.run(["openssl", "x509", "-in", str(out), "-noout", "-text"],
                          capture_output=True, text=True, check=True).stdout
    assert f"CN = {GUN}" in text and "CA:FALSE" in text and "Code Signing" in text
    assert_one_line_error(ceremony(*args, offline=True), "refusing to overwrite")
    # Re-issue for the same key: new certificate, same canonical key ID.
    r = ceremony(*args, "--force", "--valid-for", "365d", "--store-on-token", offline=True)
    assert r.returncode == 0, r.output
    assert "cert key ID (ecdsa-x509; root.json, trust pinning): " in r.stdout
    assert root_key["key"]["key_id"] in r.stdout and data["cert_key_id"] not in r.stdout
    assert "stored on the token" in r.stdout
    _secret_free(cli_env, r)


@pytest.mark.parametrize("args, needles", [
    (["token", "keys", "pkcs11:token=nope"],
     ["no token matches pkcs11:token=nope", "tokens present:", "'root-a'", "'targets'"]),
    (["token", "keys", "pkcs11:token=root-a;objekt=x"], ["unknown path attribute 'objekt'"]),
    (["token", "keys", "pkcs11:token=root%2"], ["malformed PKCS#11 URI", "percent-encoding"]),
    (["token", "keys", "pkcs11:token=root-a?pin-value=12345678"],
     ["'pin-value' refused"]),
    (["key", "generate", "--token", "root-a", "--label", "x", "--algorithm", "dsa-1024"],
     ["unsupported algorithm 'dsa-1024'", "ecdsa-p256"]),
    (["key", "generate", "--token", "root-a"], ["Missing option '--label'"]),
    (["key", "generate", "--label", "x"], ["Missing option '--token'"]),
    (["key", "generate", "--token", "root-a", "--label", "x", "--id", "zz"],
     ["--id must be hexadecimal"]),
    (["key", "export", "--token", "root-a", "--label", "root", "--format", "der"],
     ["unknown --format 'der'"]),
    (["key", "cert", "--token", "root-a", "--label", "root", "--out", "x.pem"],
     ["Missing option '--gun'"]),
    (["key", "cert", "--token", "root-a", "--label", "root", "--gun", "g", "--out", "x.pem",
      "--valid-for", "ten years"], ["--valid-for: invalid validity 'ten years'", "6m"]),
    (["token", "keys", "root-a"], ["no terminal to ask for the PIN of token 'root-a'"]),
    (["token", "keys", "root-a", "--pin-source", "12345678"], ["unsupported pin-source"]),
])
def test_errors_are_one_line(ceremony, args, needles, tmp_path):
    line = assert_one_line_error(ceremony(*args, cwd=tmp_path), *needles)
    assert "12345678" not in line


def test_duplicate_label(ceremony, cli_env, root_key):
    r = ceremony("key", "generate", "--token", "root-a", "--label", "root", "--pin-source",
                 cli_env.pin_source("root-a"), offline=True)
    assert_one_line_error(r, "token 'root-a' already has a key labelled 'root'",
                          "nothing was generated")


def test_missing_key_and_ed25519_root_cert(ceremony, cli_env, tmp_path):
    src = cli_env.pin_source("targets")
    r = ceremony("key", "cert", "--token", "targets", "--label", "nope", "--gun", GUN,
                 "--out", str(tmp_path / "c.pem"), "--pin-source", src, offline=True)
    assert_one_line_error(r, "token 'targets' has no private key with label 'nope'",
                          "keys present:")
    ceremony("key", "generate", "--token", "targets", "--label", "ed", "--algorithm",
             "ed25519", "--pin-source", src, offline=True)
    r = ceremony("key", "cert", "--token", "targets", "--label", "ed", "--gun", GUN,
                 "--out", str(tmp_path / "c.pem"), "--pin-source", src, offline=True)
    assert_one_line_error(r, "ECDSA or RSA keys only")
    assert not (tmp_path / "c.pem").exists()


def test_wrong_pin_then_warning(ceremony, cli_env):
    wrong = "not-the-pin-4711"
    r = ceremony("token", "keys", "pins", "--pin-source", "env:PINS_PIN",
                 env={"PINS_PIN": wrong})
    assert_one_line_error(r, "wrong PIN for token 'pins' (CKR_PIN_INCORRECT)")
    assert wrong not in r.output
    # SoftHSM keeps CKF_USER_PIN_COUNT_LOW; the next good login says someone got it wrong.
    r = ceremony("token", "keys", "pins", "--pin-source", cli_env.pin_source("pins"))
    assert r.returncode == 0, r.output
    assert r.stderr.startswith("warning: token 'pins' reported at least one wrong PIN")
    _secret_free(cli_env, r)


def test_pin_never_on_the_command_line(ceremony):
    r = ceremony("key", "generate", "--token", "root-a", "--label", "x", "--pin", "12345678")
    assert r.returncode != 0 and "No such option '--pin'" in r.output
    assert "Traceback" not in r.output and "12345678" not in r.output


def test_pin_prompt_does_not_echo(cli_env):
    """Default pin source: a prompt on the controlling terminal, without echo."""
    pin = cli_env.pin("pins")
    env = {**os.environ, **cli_env.env, "PYTHONPATH": str(ROOT)}
    pid, fd = pty.fork()
    if pid == 0:  # child: its controlling terminal is the pty
        os.execve(sys.executable, [sys.executable, "-m", "ceremony", "token", "keys", "pins"],
                  env)
    seen = b""
    deadline = time.monotonic() + 60
    sent = False
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 1)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
        if not sent and b"PIN for token 'pins': " in seen:
            os.write(fd, pin.encode() + b"\n")
            sent = True
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    text = seen.decode(errors="replace")
    assert sent, text
    assert os.waitstatus_to_exitcode(status) == 0, text
    assert "token 'pins'" in text and pin not in text

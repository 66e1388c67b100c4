"""PIN sources: parsing, reading, and never showing a PIN."""

from __future__ import annotations

import os
import pickle

import pytest

from hsm.errors import PinError
from hsm.pin import Pin, PinSource, parse_pin_source, read_pin


@pytest.mark.parametrize("text, expected", [
    (None, PinSource("prompt")),
    ("", PinSource("prompt")),
    ("prompt", PinSource("prompt")),
    ("env:ROOT_PIN", PinSource("env", "ROOT_PIN")),
    ("file:/run/pins/root.pin", PinSource("file", "/run/pins/root.pin")),
    ("file:///run/pins/root%20a.pin", PinSource("file", "/run/pins/root a.pin")),
    ("file://localhost/run/p", PinSource("file", "/run/p")),
    ("./pins/root.pin", PinSource("file", "./pins/root.pin")),
    ("/abs/root.pin", PinSource("file", "/abs/root.pin")),
])
def test_parse(text, expected):
    assert parse_pin_source(text) == expected


@pytest.mark.parametrize("text", ["123456", "pin:123456", "value:123456", "env:", "env:1X",
                                  "file:", "file://otherhost/x", "https://x/pin"])
def test_refused_sources_do_not_echo_their_value(text):
    with pytest.raises(PinError) as exc:
        parse_pin_source(text)
    assert "123456" not in str(exc.value)


def test_env_source(monkeypatch):
    monkeypatch.setenv("TEST_PIN_VAR", "s3cr3t-value")
    pin = read_pin(PinSource("env", "TEST_PIN_VAR"), "root-a")
    assert pin.reveal() == "s3cr3t-value"
    monkeypatch.delenv("TEST_PIN_VAR")
    with pytest.raises(PinError, match="TEST_PIN_VAR .* is not set"):
        read_pin(PinSource("env", "TEST_PIN_VAR"), "root-a")


def test_file_source(tmp_path):
    path = tmp_path / "p.pin"
    for content, expected in [("1234\n", "1234"), ("1234\r\n", "1234"), ("1234", "1234"),
                              (" sp ace \n", " sp ace ")]:
        path.write_text(content)
        path.chmod(0o600)
        warnings: list[str] = []
        assert read_pin(PinSource("file", str(path)), "t", warn=warnings.append).reveal() \
            == expected
        assert warnings == []


def test_file_source_problems(tmp_path):
    path = tmp_path / "p.pin"
    with pytest.raises(PinError, match="does not exist"):
        read_pin(PinSource("file", str(path)), "t")
    path.write_text("1234\n5678\n")
    with pytest.raises(PinError, match="more than one line") as exc:
        read_pin(PinSource("file", str(path)), "t")
    assert "1234" not in str(exc.value)
    path.write_text("\n")
    with pytest.raises(PinError, match="empty PIN"):
        read_pin(PinSource("file", str(path)), "t")
    with pytest.raises(PinError, match="not a regular file"):
        read_pin(PinSource("file", str(tmp_path)), "t")


def test_loose_pin_file_permissions_warn(tmp_path):
    path = tmp_path / "p.pin"
    path.write_text("9999\n")
    os.chmod(path, 0o644)
    warnings: list[str] = []
    read_pin(PinSource("file", str(path)), "t", warn=warnings.append)
    assert len(warnings) == 1 and "chmod 600" in warnings[0] and "9999" not in warnings[0]


def test_prompt_callback_is_used():
    seen = []
    pin = read_pin(PinSource("prompt"), "root-a", prompt=lambda label: seen.append(label) or "77")
    assert seen == ["root-a"] and pin.reveal() == "77"


def test_pin_never_prints_itself():
    pin = Pin("topsecret")
    assert "topsecret" not in repr(pin) and "topsecret" not in str(pin)
    assert "topsecret" not in f"{pin!r} {pin}"
    with pytest.raises(TypeError):
        pickle.dumps(pin)

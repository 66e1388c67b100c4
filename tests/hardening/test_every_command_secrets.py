"""A wrong PIN, from an env: or a file: source, for the token and key commands: the command
fails at the login (one `error:` line, no traceback) and the PIN it was given appears nowhere:
not in its output, not in the error's text, not in any file it left (a transcript included).
The right PIN's side is proved by test_every_command_sockets.py and test_lifecycle_secrets.py."""

from __future__ import annotations

import pytest

from tests.conftest import AIRGAPPED, run_cli
from tests.hardening.commands import REFUSAL_ARGS
from tests.hardening.test_every_command import case_folder, fill, site  # noqa: F401
from tests.hardening.test_lifecycle_secrets import encodings

WRONG = "Wrong-Pin-7c1d3e90"
# The commands whose recipe (REFUSAL_ARGS) reaches the token login with the inputs made here;
# the Notary ceremonies stop at their sample request first (their PINs: the lifecycle test).
PIN_COMMANDS = {
    **{name: REFUSAL_ARGS[name] for name in (
        "key generate", "key cert", "notation csr", "notation ca intermediate",
        "notation ca issue", "notation ca crl", "tuf init", "tuf rotate-root", "tuf rotate-key",
        "tuf delegation add", "tuf delegation remove", "tuf renew", "tuf sign-request",
        "tuf sign")},
    "token keys": ("token", "keys", "root-a", "--pin-source", "{pin}"),
    # (`tuf key` reads a public object without logging in: its PIN source is not used.)
}


@pytest.mark.parametrize("source", ["env", "file"])
@pytest.mark.parametrize("name", sorted(PIN_COMMANDS))
def test_a_wrong_pin_is_never_shown_nor_written(site, tmp_path, name, source):  # noqa: F811
    hsm, _ = site
    work, values = case_folder(site, tmp_path)
    env = dict(hsm.env)
    if source == "env":
        env["HARDENING_WRONG_PIN"] = WRONG
        values["pin"] = "env:HARDENING_WRONG_PIN"
    else:
        (tmp_path / "wrong.pin").write_text(WRONG + "\n")
        values["pin"] = f"file:{tmp_path / 'wrong.pin'}"
    r = run_cli(*fill(PIN_COMMANDS[name], values), env=env, wrapper=AIRGAPPED)
    assert r.returncode != 0, r.output
    assert "Traceback" not in r.output and "internal error" not in r.output, r.output
    errors = [line for line in r.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "wrong PIN for token" in errors[0], r.stderr
    forms = encodings(WRONG)
    assert not [f for f in forms if f in r.output.encode()], r.output
    left = [p for p in sorted(work.rglob("*")) if p.is_file() and not p.is_symlink()]
    assert not [(p, f) for p in left for f in forms if f in p.read_bytes()]

"""PIN lock-out where the module really locks, through the CLI (message and exit code).

- SoftHSM never locks a user PIN: wrong PINs are refused one by one, the right one still works.
- openCryptoki's software token counts: the 1st and 2nd wrong PIN set COUNT_LOW / FINAL_TRY,
  the 3rd locks the user PIN (CKF_USER_PIN_LOCKED); its security officer unblocks it.
- A TPM 2.0 locks the whole TPM (dictionary-attack lockout) after its maximum tries, without
  any token flag; every token on that TPM then refuses even the right PIN.
"""

from __future__ import annotations

import pytest

from tests.conftest import AIRGAPPED, run_cli
from tests.modules.conftest import Case, Environments, error_line

# One worker runs every module test (openCryptoki is system-wide; see conftest).
pytestmark = pytest.mark.xdist_group("pkcs11-modules")


WRONG = {"WRONG_PIN": "Wr0ngPin"}


def keys(env_vars: dict[str, str], token: str, pin_source: str):
    return run_cli("token", "keys", f"pkcs11:token={token}", "--pin-source", pin_source,
                   env={**env_vars, **WRONG}, wrapper=AIRGAPPED)


def test_softhsm_never_locks(softhsm_factory) -> None:
    env = softhsm_factory("lockout", ["lock"])
    for _ in range(5):
        line = error_line(keys(env.env, "lock", "env:WRONG_PIN"))
        assert "wrong PIN for token 'lock' (CKR_PIN_INCORRECT)" in line
        assert "LOCK" not in line and "Wr0ngPin" not in line
    assert keys(env.env, "lock", env.pin_source("lock")).returncode == 0


def test_opencryptoki_locks_after_three_wrong_pins_and_the_so_unblocks(
        environments: Environments) -> None:
    from softhsm.opencryptoki import reset_user_pin
    case: Case = environments.get("opencryptoki")
    label, variables = case.root, case.variables()
    first = error_line(keys(variables, label, "env:WRONG_PIN"))
    assert "(CKR_PIN_INCORRECT)" in first and "counts failed attempts" in first
    second = error_line(keys(variables, label, "env:WRONG_PIN"))
    assert "one more wrong PIN will LOCK it" in second
    third = error_line(keys(variables, label, "env:WRONG_PIN"),
                       warning="one more wrong PIN will lock it (CKF_USER_PIN_FINAL_TRY)")
    assert "the PIN is now LOCKED" in third
    # the right PIN is not even tried: the token says it is locked
    locked = error_line(keys(variables, label, case.env.pin_source(label)))
    assert "is locked (CKR_PIN_LOCKED): no attempt was made" in locked
    assert "security officer must unblock it" in locked
    reset_user_pin(case.env, label)
    r = keys(variables, label, case.env.pin_source(label))
    assert r.returncode == 0, r.output


def test_tpm_dictionary_attack_lockout_covers_every_token(tmp_path) -> None:
    from softhsm.tpm import start_tpm_env
    env = start_tpm_env(tmp_path / "tpm", ["tpm-a", "tpm-b"])
    try:
        variables = env.env
        tries = 0
        while True:
            tries += 1
            line = error_line(keys(variables, "tpm-a", "env:WRONG_PIN"))
            if "CKR_PIN_LOCKED" in line:
                break
            assert "wrong PIN for token 'tpm-a' (CKR_PIN_INCORRECT)" in line
            assert tries < 10, "the TPM never locked"
        assert tries == 4  # swtpm's default: 3 failures allowed, the 4th attempt is refused
        assert "dictionary-attack lockout" in line and "tpm2_dictionarylockout" in line
        for label in ("tpm-a", "tpm-b"):  # the right PIN, and another token of the same TPM
            line = error_line(keys(variables, label, env.pin_source(label)))
            assert f"token '{label}' refuses every PIN for now (CKR_PIN_LOCKED)" in line
    finally:
        env.stop()


def test_a_pin_of_impossible_length_costs_no_attempt(environments: Environments) -> None:
    """openCryptoki counts a 12-character PIN as a wrong one (it takes 4-8), so three of them
    would lock it: the tool checks the token's PIN length limits before C_Login."""
    case: Case = environments.get("opencryptoki")
    label, variables = case.root, {**case.variables(), "LONG_PIN": "123456789012"}
    for _ in range(4):
        r = run_cli("token", "keys", f"pkcs11:token={label}", "--pin-source", "env:LONG_PIN",
                    env=variables, wrapper=AIRGAPPED)
        line = error_line(r)
        assert "takes PINs of 4 to 8 characters" in line and "no attempt was counted" in line
        assert "123456789012" not in r.output
    r = keys(variables, label, case.env.pin_source(label))
    assert r.returncode == 0 and "warning" not in r.stderr, r.output  # no failed try counted

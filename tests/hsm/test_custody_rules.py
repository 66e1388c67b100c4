"""Which custody answers refuse a freshly generated key and which are only reported.

Pure data: no module here leaves out a custody attribute or answers one wrongly, so these
answers are written by hand (the real modules' answers are checked in tests/modules)."""

from __future__ import annotations

from hsm.keys import CUSTODY_EXPECTED, Custody


def custody(**changes: bool | None) -> Custody:
    return Custody(**{**CUSTODY_EXPECTED, **changes})


def test_a_sign_only_key_born_on_the_token_has_no_problems() -> None:
    c = custody()
    assert c.ok and c.problems == [] and c.essential_problems == []


def test_a_key_that_could_leave_the_token_is_an_essential_problem() -> None:
    c = custody(extractable=True, local=False)
    assert c.essential_problems == ["local=false", "extractable=true"]
    assert not c.ok


def test_extra_capabilities_are_reported_not_essential() -> None:
    c = custody(decrypt=True)  # what tpm2-pkcs11 makes
    assert c.problems == ["decrypt=true"] and c.essential_problems == [] and not c.ok


def test_an_attribute_the_module_does_not_provide_is_reported_as_unknown() -> None:
    c = custody(always_sensitive=None)
    assert c.problems == ["always_sensitive unknown"] and c.essential_problems == []
    assert not c.ok and "always-sensitive=?" in c.summary()

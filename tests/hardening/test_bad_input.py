"""The bad-input catalogue (tests/hardening/catalogue.py), case by case, through the real CLI.

Every case: one `error:` line naming the problem, exit status 1 (2 for a usage error), no
traceback, and not a byte written or changed in the case folder or the token store.
"""

from __future__ import annotations

import pytest

from tests.hardening.catalogue import CATALOGUE, KINDS, counts_by_kind, make_inputs, run_case


@pytest.fixture(scope="session")
def inputs(tmp_path_factory, softhsm_factory):
    hsm = softhsm_factory("bad-input", ["root-a"])
    return make_inputs(tmp_path_factory.mktemp("inputs"), hsm.env, hsm.root,
                       hsm.pin_source("root-a"))


@pytest.mark.parametrize("case", CATALOGUE, ids=str)
def test_bad_input_is_refused_cleanly(case, inputs, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    outcome = run_case(case, inputs, work)
    assert outcome.ok, (outcome.problems, outcome.result.stderr[-2000:])


def test_the_catalogue_covers_every_kind():
    assert len({c.id for c in CATALOGUE}) == len(CATALOGUE)  # ids are unique
    counts = counts_by_kind()
    assert set(counts) == set(KINDS) and all(counts.values()), counts
    assert len(CATALOGUE) >= 60

"""Counts that say what is true (issue 9, item 15), as the text functions every screen uses.

The end-to-end screens (status, sign, publish, a ceremony's refusal) are checked in
test_cosign.py and test_cosign_refusals.py with real tokens and the real server; here the
rules themselves, case by case.
"""

from __future__ import annotations

from ceremony.notary.ceremonies.partial import count_text, where_text
from ceremony.notary.ceremonies.rootrotate import threshold_change
from transfer.summary import ORIGIN_MERGE, threshold_needs

A, B, C, D = ("a" * 64, "b" * 64, "c" * 64, "d" * 64)


def key(kid, **extra):
    return {"key_id": kid, "canonical_key_id": None, "known_here": bool(extra),
            "claimed": None, **extra}


def test_a_met_threshold_never_reads_as_n_of_fewer():
    t = {"threshold": 2, "have": 3, "met": True, "signed": [key(A), key(B), key(C)],
         "missing": []}
    assert count_text(t) == "met: 3 signatures, 2 needed"
    assert "3 of 2" not in count_text(t)


def test_one_more_signature_from_any_of_the_keys_that_can():
    t = {"threshold": 2, "have": 1, "met": False, "signed": [key(A)],
         "missing": [key(B, token_label="root-b", key_label="root"),
                     key(C, claimed={"token_label": "root-c"}), key(D)]}
    assert count_text(t) == (
        f"1 of 2 signed: 1 more signature from any of: {B} on token 'root-b' key 'root' "
        f"(this site); {C} on token 'root-c' (the originating site says so; not known here); "
        f"{D} (not known here)")


def test_exactly_as_many_keys_as_needed_is_not_any_of():
    t = {"threshold": 2, "have": 0, "met": False, "signed": [], "missing": [key(B), key(C)]}
    assert count_text(t) == f"0 of 2 signed: 2 more signatures from {B} (not known here); " \
                            f"{C} (not known here)"


def test_own_knowledge_wins_over_the_other_sites_claim():
    item = key(B, token_label="root-b", claimed={"token_label": "somewhere-else"})
    assert where_text(item) == f"{B} on token 'root-b' (this site)"


def test_missing_items_group_per_threshold():
    missing = [{"gun": "g", "role": "root", "threshold": "root v3 keys", "needed": 2,
                "have": 1, "key_id": k, "token_label": label}
               for k, label in ((B, "root-b"), (C, None), (D, None))]
    missing += [{"gun": "g", "role": "root", "threshold": "root v4 (its own root keys)",
                 "needed": 2, "have": 1, "key_id": C}]
    assert threshold_needs(missing) == [
        f"root v3 keys: 1 more signature from any of: {B} (token 'root-b'), {C}, {D}",
        f"root v4 (its own root keys): 1 more signature from {C}"]
    assert threshold_needs([{"kind": ORIGIN_MERGE, "text": "merge at A"}]) == ["merge at A"]


def test_an_unchanged_root_threshold_says_so():
    assert threshold_change(2, 3, 2, 3) == "root threshold 2 of 3 (unchanged)"
    assert threshold_change(2, 3, 2, 2) == "root threshold 2 of 3 -> 2 of 2"

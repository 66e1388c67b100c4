import hashlib

import pytest

from groundfloor.words import digest_words, pgp_word_lists


def test_lists_have_256_plus_256_distinct_words():
    even, odd = pgp_word_lists()
    assert len(even) == len(odd) == 256
    assert len({w.lower() for w in even + odd}) == 512
    assert (even[0], even[255], odd[0], odd[255]) == ("aardvark", "Zulu", "adroitness", "Yucatan")


def test_known_vectors():
    # The PGP word list's published example and an independent implementation's test vector.
    assert digest_words(bytes.fromhex("E58294F2E9A22748"), 8) == (
        "topmost Istanbul Pluto vagabond treadmill Pacific brackish dictator")
    assert digest_words(bytes.fromhex("12b4b0057400076fa5c0f5cbf726ac65"), 16) == (
        "atlas politeness ruffled almighty indoors adroitness ahead hemisphere reindeer recipe "
        "vapor revival virus caretaker ribcage glossary")


def test_default_is_six_words_of_the_digest():
    digest = hashlib.sha256(b"bundle").digest()
    words = digest_words(digest).split()
    assert len(words) == 6
    assert words == digest_words(digest, 32).split()[:6]


def test_bad_n_is_refused():
    with pytest.raises(ValueError):
        digest_words(b"\x01\x02", 3)
    with pytest.raises(ValueError):
        digest_words(b"\x01\x02", 0)

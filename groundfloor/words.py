"""Digests a person can read aloud: the PGP word list (even/odd byte positions).

Two people comparing `topmost Istanbul Pluto vagabond` make fewer mistakes than comparing hex:
even-position bytes map to two-syllable words and odd-position bytes to three-syllable words, so
a swapped, dropped or repeated word is audible.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

_LIST_FILE = "pgp_words.txt"


@cache
def pgp_word_lists() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Return (even, odd): 256 words each, indexed by byte value. Checked on load."""
    text = resources.files("groundfloor").joinpath(_LIST_FILE).read_text(encoding="utf-8")
    even: list[str] = []
    odd: list[str] = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        byte_hex, even_word, odd_word = line.split()
        if int(byte_hex, 16) != len(even):
            raise RuntimeError(f"{_LIST_FILE}: entry {byte_hex} out of order")
        even.append(even_word)
        odd.append(odd_word)
    all_words = {w.lower() for w in even + odd}
    if len(even) != 256 or len(odd) != 256 or len(all_words) != 512:
        raise RuntimeError(f"{_LIST_FILE}: need 256 + 256 distinct words")
    return tuple(even), tuple(odd)


def digest_words(digest: bytes, n: int = 6) -> str:
    """Render the first `n` bytes of `digest` as PGP words separated by spaces.

    Byte 0 uses the even (two-syllable) list, byte 1 the odd (three-syllable) list, and so on.
    Six words carry 48 bits: enough for a person to notice a different digest, not a
    replacement for comparing the full hex.
    """
    if n < 1 or n > len(digest):
        raise ValueError(f"n must be between 1 and {len(digest)}, got {n}")
    even, odd = pgp_word_lists()
    return " ".join((odd if i % 2 else even)[b] for i, b in enumerate(digest[:n]))

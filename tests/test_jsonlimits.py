"""groundfloor.jsonlimits.parse_cost counts in pieces: the counts are those of the whole
document, wherever the pieces' edges fall."""

from __future__ import annotations

import random

from groundfloor import jsonlimits
from groundfloor.jsonlimits import parse_cost


def _counted(data: bytes) -> tuple[int, int]:
    return data.count(b"{") + data.count(b"["), data.count(b",") + data.count(b":")


def test_counts_across_piece_edges_are_those_of_the_whole(monkeypatch):
    # small pieces, so that many edges fall inside the documents
    monkeypatch.setattr(jsonlimits, "_CHUNK", 7)
    rng = random.Random(10)
    for _ in range(300):
        data = bytes(rng.choice(b'{[,:]}"ab1 \n\xff') for _ in range(rng.randint(0, 60)))
        containers, separators = _counted(data)
        assert parse_cost(data) == (containers, separators, jsonlimits.CONTAINER_COST *
                                    containers + jsonlimits.VALUE_COST * separators)


def test_a_big_document_is_counted_whole():
    data = b'{"a": [' + b'{"b": 1},' * 1_000_000 + b'{}]}'
    assert parse_cost(data)[:2] == _counted(data) == (1_000_003, 2_000_001)

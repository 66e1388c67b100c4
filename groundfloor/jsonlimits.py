"""What parsing a JSON document may cost, checked on its bytes before json.loads runs.

json.loads builds every object at once: each `[]` or `{}` becomes a Python object of about 60
to 200 bytes, each value after a `,` or `:` one of about 50 to 80. So 100 MB of `[],` -- under
every size cap -- would become 2 GB of lists. The cost of a document is bounded from its bytes
alone, before a single object is built: containers (`[` and `{`) and separators (`,` and `:`)
are counted (those inside strings too: an over-estimate, never an under-estimate), weighted by
what CPython spends on each, and a document whose estimate passes the budget is refused.

The weights are measured (tests/hardening/test_file_kinds.py checks them against real parses):
a Notary targets file with 200,000 targets (38 MB) costs 132 MiB to parse and is estimated at
160 MiB; the budget of 192 MiB admits about 240,000 targets and keeps one parse, with its input
bytes and text, well under 512 MiB.
"""

from __future__ import annotations

from groundfloor.errors import GroundFloorError
from groundfloor.limits import MAX_PARSE_COST

CONTAINER_COST = 100  # bytes a list or dict costs once built (an over-estimate)
VALUE_COST = 80  # bytes a value after a separator costs (str, int, a slot in its container)


_NOT_COUNTED = bytes(sorted(set(range(256)) - set(b"{[,:")))
_CHUNK = 4 << 20


def parse_cost(data: bytes) -> tuple[int, int, int]:
    """(containers, separators, estimated bytes) of parsing `data` as JSON."""
    containers, separators, _ = _marks(data)
    return containers, separators, CONTAINER_COST * containers + VALUE_COST * separators


def _marks(data: bytes) -> tuple[int, int, int]:
    """(containers, separators, colons) of `data`."""
    # One pass keeping only the four counted bytes, then counts over what is left: three
    # times faster on a big file than four passes over all of it, which every read of a
    # 100,000-target file paid. In pieces, so a file of nothing else is not held twice.
    # The colons come with it (a reader proving the absence of duplicate keys counts them,
    # ceremony/tuf/canonical.py), for a count over the few kept bytes, not over all of them.
    containers = separators = colons = 0
    for start in range(0, len(data), _CHUNK):
        marks = data[start:start + _CHUNK].translate(None, _NOT_COUNTED)
        opened = marks.count(b"{") + marks.count(b"[")
        containers += opened
        separators += len(marks) - opened
        colons += marks.count(b":")
    return containers, separators, colons


def check_parse_cost(data: bytes, what: str, *, budget: int = MAX_PARSE_COST,
                     error: type[Exception] = GroundFloorError) -> int:
    """Refuse (with `error`) a document whose parse would cost more than `budget` bytes; the
    number of `:` bytes in `data` (every one, in strings too) if not."""
    containers, separators, colons = _marks(data)
    cost = CONTAINER_COST * containers + VALUE_COST * separators
    if cost > budget:
        raise error(f"{what}: its JSON has {containers} objects and lists and {separators} "
                    f"values, which would take about {cost >> 20} MiB to build, over the limit "
                    f"of {budget >> 20} MiB: refused before parsing (not a file this tool "
                    "writes or Notary serves)")
    return colons

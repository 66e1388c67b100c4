"""Every parser, fed random and mutated input (tests/hardening/properties.py): only the layer's
typed error, and accepted inputs keep their invariants. bench/fuzz.py runs the same for longer.

Parsers that already have such tests elsewhere are covered again here only through mutations
that reach past their integrity checks (re-sealed bundles, re-checksummed frames, re-chained
transcripts, re-signed metadata), which those tests do not make.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from tests.hardening.properties import PROPERTIES, Property


@pytest.mark.parametrize("prop", PROPERTIES, ids=lambda p: p.name)
def test_parser_only_raises_its_typed_error(prop: Property):
    @settings(max_examples=prop.examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(prop.strategy())
    def run(value):
        prop.check(value)

    run()

"""The bad-input catalogue: one row per case, driven through the real CLI in a subprocess.

Each row has a case id, the input kind, how to make the input, and text the error line must
contain (so it names the problem, not some later failure). Every case is checked the same way
(`run_case`): exit status 1 (or 2 for a usage error), no traceback and no internal error,
exactly one `error: ...` line on stderr and it is the last one (commands that show progress may
print `note:`/`received` lines before it), and a full listing of the case folder -- inputs,
would-be outputs, the SoftHSM token store -- identical before and after: nothing written or
changed, not even a temp file made and removed.

The rows live in tests/hardening/cases/, one module per area; this module joins them in the
order reports list them and is the catalogue's one interface. Used by
tests/hardening/test_bad_input.py and bench/robustness.py.
"""

from __future__ import annotations

from tests.hardening.cases import common, notary, notary_ceremonies, transfer
from tests.hardening.cases.inputs import make_inputs
from tests.hardening.cases.rows import GUN, PUBLISH, Case, Inputs, Invocation
from tests.hardening.cases.run import Outcome, run_case

__all__ = ["CATALOGUE", "GUN", "KINDS", "PUBLISH", "Case", "Inputs", "Invocation", "Outcome",
           "counts_by_kind", "make_inputs", "run_case"]

CATALOGUE: list[Case] = [
    *transfer.BUNDLES, *transfer.QR_LINES, *transfer.QR_IMAGES,
    *notary.METADATA, *notary.PEMS,
    *common.TRANSCRIPTS, *common.URIS,
    *notary.NAMES, *notary.DURATIONS, *notary.DATES,
    *notary_ceremonies.CEREMONIES,
]

# Input kinds, in the order reports list them.
KINDS = ["bundle", "qr-lines", "qr-images", "metadata", "pem", "transcript", "uri", "name",
         "duration", "date"]


def counts_by_kind(cases: list[Case] = CATALOGUE) -> dict[str, int]:
    return {kind: sum(1 for c in cases if c.kind == kind) for kind in KINDS}

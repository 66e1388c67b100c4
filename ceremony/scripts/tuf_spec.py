"""The script actions of TUF 1.0 ceremonies: their descriptions (executors in
tuf_steps.py). Merged into `actions_spec.ACTIONS`; a name must not repeat another system's.
"""

from __future__ import annotations

from ceremony.scripts import fields as f
from ceremony.scripts.action import RESPONSE, ActionSpec

ACTIONS: dict[str, ActionSpec] = {
    # -- signing metadata made elsewhere, co-signing across sites (ceremony/tuf/signceremony.py)
    "tuf-sign": ActionSpec(
        "tuf-sign", "sign TUF metadata made elsewhere from a request bundle (with partial: "
        "co-sign another site's partial response)",
        {"request": f.name, "partial": f.name, "tokens": f.listed(f.name, minimum=1),
         "out": lambda v, w: f.path(v, w, relative=True), "signatures-only": f.boolean,
         "trust-root-sha256": f.sha256},
        required=("request", "tokens", "out"),
        refs={"request": ("file",), "partial": ("file", RESPONSE)}, tokens=("tokens",),
        output=RESPONSE, expect=("sha256", "same-as", "complete")),
}

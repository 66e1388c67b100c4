"""The script actions of TUF 1.0 ceremonies: their descriptions (executors in
tuf_steps.py). Merged into `actions_spec.ACTIONS`; a name must not repeat another system's.
"""

from __future__ import annotations

from ceremony.scripts import fields as f
from ceremony.scripts.action import ALGORITHMS, RESPONSE, ActionSpec

# -- TUF ceremonies (init, root rotation, renewal): entries of branch i14a ---------------------
# Their request is a `file` input (a TUF request bundle; its sha256 is the file's, as `ceremony
# tuf request` prints it): the Notary request checks of `ceremony run` do not read it.
_TUF_CEREMONY = {"request": f.name, "out": lambda v, w: f.path(v, w, relative=True),
                 "repository": f.name}
_TUF_EXPIRY = {"root-expires": f.duration, "targets-expires": f.duration,
               "allow-shorter": f.boolean}


def _tuf_ceremony(name: str, summary: str, params: dict[str, f.Reader],
                  required: tuple[str, ...], tokens: tuple[str, ...]) -> ActionSpec:
    return ActionSpec(name, summary, {**_TUF_CEREMONY, **params},
                      required=("request", "out", *required), refs={"request": ("file",)},
                      tokens=tokens, output=RESPONSE, expect=("sha256", "same-as"))


ACTIONS: dict[str, ActionSpec] = {
    "tuf-init": _tuf_ceremony(
        "tuf-init", "a new TUF 1.0 repository: root keys (M of N) and the targets key on "
                    "tokens, root v1 and targets v1; snapshot/timestamp keys from the request",
        {"root-tokens": f.listed(f.name, minimum=1), "root-threshold": f.integer,
         "targets-token": f.name, "key-label": f.key_label, "targets-label": f.key_label,
         "algorithm": f.choice(ALGORITHMS), **_TUF_EXPIRY},
        ("root-tokens", "targets-token"), ("root-tokens", "targets-token")),
    "tuf-rotate-root": _tuf_ceremony(
        "tuf-rotate-root", "TUF root N+1: root keys added on tokens, removed, or a new "
                           "threshold; signed by the old root's threshold and the new",
        {"tokens": f.listed(f.name, minimum=1), "root-tokens": f.listed(f.name),
         "remove-keys": f.listed(lambda v, w: f.text(v, w, limit=64)),
         "root-threshold": f.integer, "key-label": f.key_label,
         "algorithm": f.choice(ALGORITHMS), **_TUF_EXPIRY},
        ("tokens",), ("tokens", "root-tokens")),
    "tuf-renew": _tuf_ceremony(
        "tuf-renew", "TUF root and/or targets again with a new version and expiry (the "
                     "request's roles)",
        {"tokens": f.listed(f.name, minimum=1), **_TUF_EXPIRY}, ("tokens",), ("tokens",)),
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

"""The script actions of Notary v2 (notation) ceremonies: their descriptions (executors in
notation_steps.py). Merged into `actions_spec.ACTIONS`; a name must not repeat another system's.

Each runs the same library function as its command (ceremony/notation/ca_ceremonies.py,
sign_ceremony.py), inside the session frame, recorded as a step of the script's transcript.
Request inputs are notation request bundles (kind `request`, their `bundle sha256` as
`ceremony notation resolve` / `request csr` print it); responses cross with transfer-send.
"""

from __future__ import annotations

from ceremony.ceremonies import params
from ceremony.notation import tables
from ceremony.scripts import fields as f
from ceremony.scripts.action import (
    CERTIFICATE,
    PINS,
    REQUEST,
    RESPONSE,
    ActionSpec,
    table_check,
)
from ceremony.scripts.param_readers import reader

_OUT = {"out": lambda v, w: f.path(v, w, relative=True)}
TABLES = tables.TABLES  # steps.py builds each step's ceremony from its action's table


def _action(table: params.Table, summary: str, output: str, *,
            request: bool = False) -> ActionSpec:
    """A notation ceremony's action, made from its table: the table's parameters (minus the
    command line's own) and the session frame's `out` (and `request` for one answered); its
    rules are the step's check."""
    own = table.script_params()
    frame: dict[str, f.Reader] = {**({"request": f.name} if request else {}), **_OUT}
    refs: dict[str, tuple[str, ...]] = {"request": (REQUEST,)} if request else {}
    refs.update({p.key: p.ref for p in own if p.ref})
    required = tuple(p.key for p in own if p.required or p.script_required)
    return ActionSpec(table.action, summary, {**frame, **{p.key: reader(p) for p in own}},
                      required=(*frame, *required), refs=refs,
                      tokens=tuple(p.key for p in own if p.token), output=output,
                      check=table_check(table))


ACTIONS: dict[str, ActionSpec] = {a.name: a for a in [
    _action(tables.CA_INIT, "notation: a root CA whose key is generated (or reused) on a token, "
            "self-signed, kept in the workspace", CERTIFICATE),
    _action(tables.CSR, "notation: a certificate request for a signing key on a token "
            "(generated there if asked and missing), packed as a request bundle for "
            "notation-ca-issue", REQUEST),
    _action(tables.CA_INTERMEDIATE, "notation: an intermediate CA on another token, issued by a "
            "CA of the workspace", CERTIFICATE),
    _action(tables.CA_ISSUE, "notation: signing certificates for the CSRs of a request bundle, "
            "every rule checked; a response bundle with their chains", RESPONSE, request=True),
    _action(tables.CA_REVOKE, "notation: revoke signing certificates and issue a CRL; a "
            "response bundle carrying it, to publish", RESPONSE),
    _action(tables.CA_CRL, "notation: a fresh CRL (renewal before nextUpdate); a response "
            "bundle carrying it", RESPONSE),
    _action(tables.SIGN, "notation: sign the artifacts of a request bundle with a token key "
            "(JWS or COSE envelopes); a response bundle for `attach --response`", RESPONSE,
            request=True),
    _action(tables.CA_EXPORT, "notation: the CA's public files (ca.crt, chain.pem, root.crt, "
            "newest CRL) for verifiers and people", PINS),
]}

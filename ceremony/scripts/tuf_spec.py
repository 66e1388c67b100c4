"""The script actions of TUF 1.0 ceremonies: their descriptions (executors in tuf_steps.py),
each made from its ceremony's parameter table (ceremony/tuf/tables.py), the one its command is
made from. Merged into `actions_spec.ACTIONS`; a name must not repeat another system's.

Their request is a `file` input (a TUF request bundle; its sha256 is the file's, as `ceremony
tuf request` prints it): the Notary request checks of `ceremony run` do not read it.
"""

from __future__ import annotations

from ceremony.ceremonies import params
from ceremony.scripts import fields as f
from ceremony.scripts.action import RESPONSE, ActionSpec, table_check
from ceremony.scripts.param_readers import reader
from ceremony.tuf import tables

TABLES = tables.TABLES  # tuf_steps.py builds each step's ceremony from its action's table
# The session frame as a script gives it; `repository`: the response must be for it.
_FRAME: dict[str, f.Reader] = {"request": f.name,
                               "out": lambda v, w: f.path(v, w, relative=True)}
_REPOSITORY: dict[str, f.Reader] = {"repository": f.name}


def _action(table: params.Table, summary: str, *, frame: dict[str, f.Reader],
            expect: tuple[str, ...] = ("sha256", "same-as")) -> ActionSpec:
    """A TUF ceremony's action, made from its table: the table's parameters and the frame's;
    its rules are the step's check."""
    own = table.script_params()
    refs: dict[str, tuple[str, ...]] = {"request": ("file",)}
    refs.update({p.key: p.ref for p in own if p.ref})
    required = tuple(p.key for p in own if p.required or p.script_required)
    return ActionSpec(table.action, summary, {**frame, **{p.key: reader(p) for p in own}},
                      required=("request", "out", *required), refs=refs,
                      tokens=tuple(p.key for p in own if p.token), output=RESPONSE,
                      expect=expect, check=table_check(table))


_CEREMONY = {**_FRAME, **_REPOSITORY}

ACTIONS: dict[str, ActionSpec] = {a.name: a for a in [
    _action(tables.INIT, "a new TUF 1.0 repository: root keys (M of N) and the targets key on "
            "tokens, root v1 and targets v1; snapshot/timestamp keys from the request",
            frame=_CEREMONY),
    _action(tables.ROTATE_ROOT, "TUF root N+1: root keys added on tokens, removed, or a new "
            "threshold; signed by the old root's threshold and the new", frame=_CEREMONY),
    _action(tables.ROTATE_KEY, "TUF root N+1 with a new targets key on a token (targets "
            "signed again by it) or the request's online snapshot/timestamp keys",
            frame=_CEREMONY),
    _action(tables.RENEW, "TUF root and/or targets again with a new version and expiry (the "
            "request's roles)", frame=_CEREMONY),
    _action(tables.DELEGATION_ADD, "TUF targets N+1 (or the request's parent role's next "
            "version) delegating the request's role (paths or path hash prefixes) or succinct "
            "hash bins, keys from the request or made on tokens", frame=_CEREMONY),
    _action(tables.DELEGATION_REMOVE, "TUF targets N+1 (or the request's parent role's next "
            "version) without the request's delegated role or hash bins", frame=_CEREMONY),
    # signing metadata made elsewhere, co-signing across sites (ceremony/tuf/signceremony.py)
    _action(tables.SIGN, "sign TUF metadata made elsewhere from a request bundle (with "
            "partial: co-sign another site's partial response)", frame=_FRAME,
            expect=("sha256", "same-as", "complete")),
]}

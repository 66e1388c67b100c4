"""How a ceremony script reads one parameter of a ceremony's table (ceremonies/params.py): the
reader of its kind, the duration grammar or the value's own rule through the very function the
command line uses, a token's or a file's name. Every trust system's actions are made with it
(actions_spec.py, notation_spec.py, tuf_spec.py)."""

from __future__ import annotations

from typing import Any

from ceremony.ceremonies import params
from ceremony.errors import CeremonyError
from ceremony.scripts import fields as f


def _passphrase_source(value: object, where: str) -> str:
    """Where a key file's passphrase comes from (prompt, env:NAME, file:PATH), never itself."""
    from hsm.errors import PinError
    from hsm.pin import parse_pin_source
    text = f.text(value, where, limit=200)
    try:
        parse_pin_source(text)
    except PinError:
        raise f.fail(where, "expected prompt, env:NAME or file:PATH (never the passphrase "
                            "itself; the value is not shown)") from None
    return text


# How a script reads one value of each kind of parameter (ceremonies/params.py).
READERS: dict[str, f.Reader] = {
    params.TEXT: f.text, params.INT: f.integer, params.FLAG: f.boolean, params.GUN: f.gun,
    params.DELEGATION_ROLE: f.delegation_role, params.SIGNER: f.name,
    params.KEY_LABEL: f.key_label, params.KEY_ID: f.sha256,
    params.TOKEN_LABEL: lambda v, w: f.text(v, w, limit=32),
    params.PASSPHRASE_SOURCE: _passphrase_source,
    params.NAME: f.name, params.SUBJECT: lambda v, w: f.text(v, w, limit=400),
    params.SERIAL: lambda v, w: f.text(v, w, limit=64),
    params.URL: lambda v, w: f.text(v, w, limit=400),
    params.KEY_ID_PREFIX: lambda v, w: f.text(v, w, limit=64),
}


def _checked(read: f.Reader, p: params.Param) -> f.Reader:
    """A value read by `read`, then held to its own rule by `p.convert` (what the command line
    runs for the same option); kept as written, refused in the rule's words."""
    def check(value: Any, where: str) -> Any:
        value = read(value, where)
        try:
            p.convert(value, where)
        except CeremonyError as exc:  # its message may name `where`: said once
            raise f.fail(where, " ".join(str(exc).split()).removeprefix(where).strip()) \
                from None
        return value
    return check


def reader(p: params.Param) -> f.Reader:
    """The script reader of parameter `p` (a list of them when `p.multiple`)."""
    if p.token or p.ref:
        one = f.name  # a token's or a file's name in the script
    elif p.kind in params.GRAMMARS:
        one = f.grammar(p.convert)  # the very function the command line uses
    elif p.choices:
        one = f.choice(p.choices)
    elif p.bounds is not None:
        low, high = p.bounds
        one = lambda v, w: f.integer(v, w, minimum=low, maximum=high)  # noqa: E731
    else:
        one = READERS[p.kind]
    if p.check is not None:
        one = _checked(one, p)
    return f.listed(one, minimum=p.minimum) if p.multiple else one

"""What each step action (`do:`) takes: its parameters, references, tokens and output.

The executors live in steps.py; this module only describes, so that a script is validated
completely before anything runs.
"""

from __future__ import annotations

from typing import Any

from ceremony.ceremonies import params
from ceremony.notary.ceremonies import adopt, delegations, init, renew, rootrotate, rotate
from ceremony.scripts import fields as f
from ceremony.scripts import notation_spec, tuf_spec
from ceremony.scripts.action import (
    DENSITIES,
    FRAMES,
    PINS,
    PUBLIC_KEY,
    REPORT,
    REQUEST,
    RESPONSE,
    ActionSpec,
    table_check,
)
from ceremony.scripts.param_readers import reader
from transfer.operations import CEREMONY_OPERATIONS

# --- the Notary v1 ceremonies: each action made from its ceremony's parameter table -----------

_OUT = {"out": lambda v, w: f.path(v, w, relative=True)}
_CEREMONY = {"request": f.name, **_OUT, "partial": f.boolean}
_CEREMONY_EXPECT = ("sha256", "same-as", "complete", "versions")


def _ceremony(table: params.Table, summary: str) -> ActionSpec:
    """A Notary ceremony's action, made from its table: its parameters, and its rules as the
    step's check (a script is refused before anything runs, in the command line's meaning)."""
    own = table.script_params()
    refs: dict[str, tuple[str, ...]] = {"request": (REQUEST,)}
    refs.update({p.key: p.ref for p in own if p.ref})
    required = tuple(p.key for p in own if p.required or p.script_required)
    return ActionSpec(table.action, summary, {**_CEREMONY, **{p.key: reader(p) for p in own}},
                      required=("request", "out", *required), setup_optional=("request", "out"),
                      refs=refs, tokens=tuple(p.key for p in own if p.token), output=RESPONSE,
                      operation=table.action, expect=_CEREMONY_EXPECT,
                      check=table_check(table))


def _check_send(p: dict[str, Any], where: str, setup: bool) -> None:
    if not any(k in p for k in ("png", "svg", "sheet", "text", "copy")):
        raise f.fail(where, "transfer-send needs at least one of png, svg, sheet, text, copy")


def _check_receive(p: dict[str, Any], where: str, setup: bool) -> None:
    if ("images" in p) == ("lines" in p):
        raise f.fail(where, "transfer-receive reads exactly one of images or lines")


# The Notary v1 ceremonies' parameter tables, by action (steps.py builds from them).
TABLES: dict[str, params.Table] = {t.action: t for t in (
    init.PARAMS, *delegations.PARAMS.values(), rotate.PARAMS, rootrotate.PARAMS,
    renew.PARAMS, adopt.PARAMS)}

ACTIONS: dict[str, ActionSpec] = {a.name: a for a in [
    _ceremony(TABLES["init"], "start repositories: root and targets keys on tokens, root.json "
              "and targets.json v1"),
    _ceremony(TABLES["signer-add"], "add a signer (docker trust signer add semantics)"),
    _ceremony(TABLES["signer-remove"], "remove a signer"),
    _ceremony(TABLES["delegation-add"], "create or extend a delegation"),
    _ceremony(TABLES["delegation-remove"], "remove a delegation, or some of its keys or paths"),
    _ceremony(TABLES["rotate-targets"], "replace the targets key (new key on a token, root v+1)"),
    _ceremony(TABLES["rotate-root"], "add, replace or remove root keys (a new, lost or "
              "compromised token); root v+1 signed by the old threshold and the new"),
    _ceremony(TABLES["renew"], "renew root.json or targets.json: new version and expiry; root "
              "certificates near expiry re-issued on their tokens"),
    _ceremony(TABLES["adopt"], "take a repository made by docker trust / notary (software keys) "
              "onto tokens: root v+1 signed by its software root key and the new token keys"),
    ActionSpec("sign", "add the signatures the given tokens can make to a partial response",
               {"response": f.name, "tokens": f.listed(f.name, minimum=1), **_OUT},
               required=("response", "tokens", "out"), refs={"response": (RESPONSE,)},
               tokens=("tokens",), output=RESPONSE, expect=_CEREMONY_EXPECT),
    ActionSpec("merge", "combine two partial signings of the same request",
               {"a": f.name, "b": f.name, **_OUT}, required=("a", "b", "out"),
               refs={"a": (RESPONSE,), "b": (RESPONSE,)}, output=RESPONSE,
               expect=_CEREMONY_EXPECT),
    ActionSpec("verify", "verify a response offline: every signed file, root chain and pins",
               {"bundle": f.name, "guns": f.listed(f.gun, minimum=1),
                "root-cert-ids": f.listed(f.sha256, minimum=1), **_OUT},
               required=("bundle",), refs={"bundle": (RESPONSE,)}, output=REPORT),
    ActionSpec("export-pins", "write root.json, its history and the trust pinning for clients",
               {"guns": f.listed(f.gun, minimum=1), **_OUT}, required=("out",), output=PINS),
    ActionSpec("transfer-send", "send a bundle across the gap: QR frames, sheet, text, copy",
               {"bundle": f.name, "png": _OUT["out"], "svg": _OUT["out"],
                "sheet": _OUT["out"], "text": _OUT["out"], "copy": _OUT["out"],
                "density": f.choice(DENSITIES), "ecc": f.choice(("L", "M", "Q", "H"))},
               required=("bundle",), refs={"bundle": (REQUEST, RESPONSE)}, output=FRAMES,
               machines=("offline", "online"), check=_check_send),
    ActionSpec("transfer-receive", "receive a bundle from QR images or scanner lines",
               {"images": f.name, "lines": f.name, "kind": f.choice((REQUEST, RESPONSE)),
                **_OUT}, required=("kind", "out"), refs={"images": (FRAMES,),
                                                         "lines": (FRAMES,)},
               machines=("offline", "online"), check=_check_receive),
    # --- rehearsal only: the online machine and the people around it -----------------------
    ActionSpec("online-fetch", "online machine: fetch a request from the Notary server",
               {"guns": f.listed(f.gun, minimum=1), "operation": f.choice(
                   CEREMONY_OPERATIONS),
               **_OUT},
               output=REQUEST, online=True, machines=("online",)),
    ActionSpec("online-publish", "online machine: publish a response to the Notary server",
               {"bundle": f.name}, required=("bundle",), refs={"bundle": (RESPONSE,)},
               online=True, machines=("online",), expect=()),
    ActionSpec("client-verify", "a real notary client, pinned to the root certificates, lists "
               "the repository", {"guns": f.listed(f.gun, minimum=1),
                                  "targets": f.listed(f.text)},
               online=True, machines=("online",), expect=()),
    ActionSpec("client-repository", "a repository made by the real notary client with "
               "software keys (as a team has it before adoption), in a timezone",
               {"gun": f.gun, "timezone": f.text}, required=("gun",), online=True,
               machines=("online",), expect=()),
    ActionSpec("delegate-key", "a delegate makes a key pair on their own machine",
               {"name": f.name, **_OUT}, required=("name",), output=PUBLIC_KEY, online=True,
               machines=("online",)),
    ActionSpec("delegate-publish", "a delegate publishes a target with the real notary client",
               {"gun": f.gun, "key": f.name, "target": f.text,
                "role": f.delegation_role}, required=("gun", "key", "target"),
               refs={"key": (PUBLIC_KEY,)}, online=True, machines=("online",), expect=()),
]}

# Each trust system's own actions, described in its own file (the Notary v1 ones above).
for _system in (notation_spec.ACTIONS, tuf_spec.ACTIONS):
    if set(_system) & set(ACTIONS):
        raise RuntimeError(f"script actions declared twice: {sorted(set(_system) & set(ACTIONS))}")
    ACTIONS.update(_system)
TABLES.update(notation_spec.TABLES)  # steps._build makes a notation step's ceremony too

"""`ceremony init`, `signer add|remove`, `delegation add|remove`, `rotate targets`.

Thin: options are turned into a Ceremony (ceremony/ceremonies/) and `perform` runs it. Every
command takes the common options (`ceremony_options`); the review goes to standard output (to
standard error with --json, whose document alone is on standard output); the confirmation is
`yes` typed on standard input, or --yes. See docs/ceremonies.md.
"""

from __future__ import annotations

from typing import Any

import click

from ceremony.cli.common import (
    ceremony_options,
    common_options,
    duration,
    run_ceremony,
    snapshot_token_option,
    targets_token_option,
)
from ceremony.cli.rotateroot import rotate_root
from hsm.keys import DEFAULT_ALGORITHM

# --- init -------------------------------------------------------------------------------------

@click.command()
@click.argument("guns", nargs=-1)
@click.option("--root-token", "root_tokens", multiple=True, metavar="URI", required=True,
              help="Token for a root key (repeat for several tokens).")
@click.option("--root-threshold", type=int, default=1, show_default=True, metavar="M",
              help="Root signatures needed (M of the root tokens).")
@targets_token_option
@snapshot_token_option
@click.option("--root-label", default="root", show_default=True, help="Root key label.")
@click.option("--targets-label", default="targets", show_default=True,
              help="Targets key label.")
@click.option("--snapshot-label", default="snapshot", show_default=True,
              help="Snapshot key label (with --snapshot-token).")
@click.option("--algorithm", default=DEFAULT_ALGORITHM, show_default=True,
              help="Root key algorithm: ecdsa-p256, ecdsa-p384, rsa-3072, rsa-4096.")
@click.option("--targets-algorithm", default=None,
              help="Targets/snapshot key algorithm (default: --algorithm; ed25519 allowed).")
@click.option("--root-cert", "root_certs", multiple=True, metavar="PEM",
              help="Root certificate of the key on a --root-token (e.g. the one whose ID was "
                   "distributed before the ceremony); checked against that key. Default: the "
                   "one stored on the token, else one issued by the token. Repeatable.")
@click.option("--remote-root-cert", "remote_root_certs", multiple=True, metavar="PEM",
              help="Root certificate of a key held at another site (`ceremony key cert` "
                   "there); it co-signs later with `ceremony sign`. Repeatable.")
@click.option("--root-expires", metavar="DURATION",
              help="Root lifetime (default 10y, capped at an existing root certificate's "
                   "expiry).")
@click.option("--targets-expires", metavar="DURATION", help="Targets lifetime (default 3y).")
@click.option("--snapshot-expires", metavar="DURATION", help="Snapshot lifetime (default 3y).")
@ceremony_options
def init(guns: tuple[str, ...], **kw: Any) -> None:
    """Start repositories: root keys (M of N tokens) and a targets key on tokens, root.json v1
    and targets.json v1 for every GUN of the request (or the GUNs named)."""
    from ceremony.ceremonies.init import InitCeremony
    common = common_options(kw)
    ceremony = InitCeremony(
        root_tokens=kw["root_tokens"], targets_token=kw["targets_token"] or "",
        root_threshold=kw["root_threshold"], snapshot_token=kw["snapshot_token"],
        root_label=kw["root_label"], targets_label=kw["targets_label"],
        snapshot_label=kw["snapshot_label"], algorithm=kw["algorithm"],
        targets_algorithm=kw["targets_algorithm"], guns=guns,
        root_expires=duration(kw["root_expires"], "--root-expires"),
        targets_expires=duration(kw["targets_expires"], "--targets-expires"),
        snapshot_expires=duration(kw["snapshot_expires"], "--snapshot-expires"),
        root_certs=kw["root_certs"], remote_root_certs=kw["remote_root_certs"])
    run_ceremony(ceremony, common)


# --- signers and delegations -------------------------------------------------------------------

def _keys(paths: tuple[str, ...]) -> list[Any]:
    from ceremony.ceremonies.build import read_public_key
    return [read_public_key(p) for p in paths]


def _delegation(kind: str, gun: str, name: str, kw: dict[str, Any], **extra: Any) -> None:
    from ceremony.ceremonies.delegations import DelegationCeremony
    common = common_options(kw)
    ceremony = DelegationCeremony(
        kind, gun=gun, name=name, targets_token=kw["targets_token"] or "",
        snapshot_token=kw["snapshot_token"],
        targets_expires=duration(kw["targets_expires"], "--targets-expires"), **extra)
    run_ceremony(ceremony, common)


targets_expires_option = click.option("--targets-expires", metavar="DURATION",
                                      help="Lifetime of the re-signed targets.json "
                                           "(default 3y).")


@click.group()
def signer() -> None:
    """Signers as `docker trust signer` manages them (targets/NAME and targets/releases)."""


@signer.command("add")
@click.argument("gun")
@click.argument("name")
@click.option("--key", "keys", multiple=True, metavar="PEM",
              help="The signer's public key or certificate (PEM); repeatable.")
@targets_token_option
@snapshot_token_option
@targets_expires_option
@ceremony_options
def signer_add(gun: str, name: str, keys: tuple[str, ...], **kw: Any) -> None:
    """Add signer NAME to GUN: its keys go into targets/NAME and targets/releases."""
    _delegation("signer-add", gun, name, kw, keys=_keys(keys))


@signer.command("remove")
@click.argument("gun")
@click.argument("name")
@targets_token_option
@snapshot_token_option
@targets_expires_option
@ceremony_options
def signer_remove(gun: str, name: str, **kw: Any) -> None:
    """Remove signer NAME from GUN: its keys leave targets/releases, targets/NAME goes."""
    _delegation("signer-remove", gun, name, kw)


@click.group()
def delegation() -> None:
    """Delegations of targets.json: keys, paths, threshold."""


@delegation.command("add")
@click.argument("gun")
@click.argument("role")
@click.option("--key", "keys", multiple=True, metavar="PEM",
              help="Public key or certificate (PEM) to add; repeatable.")
@click.option("--path", "paths", multiple=True, metavar="PREFIX",
              help="Path prefix the role may sign; repeatable.")
@click.option("--all-paths", is_flag=True, help='Every path (the "" prefix).')
@click.option("--threshold", type=int, metavar="N", help="Signatures the role needs.")
@targets_token_option
@snapshot_token_option
@targets_expires_option
@ceremony_options
def delegation_add(gun: str, role: str, keys: tuple[str, ...], paths: tuple[str, ...],
                   all_paths: bool, threshold: int | None, **kw: Any) -> None:
    """Create delegation ROLE (targets/NAME) of GUN, or add keys, paths or a threshold."""
    _delegation("delegation-add", gun, role, kw, keys=_keys(keys),
                paths=[*paths, *([""] if all_paths else [])], threshold=threshold)


@delegation.command("remove")
@click.argument("gun")
@click.argument("role")
@click.option("--key", "keys", multiple=True, metavar="PEM",
              help="Remove only this key (PEM); repeatable.")
@click.option("--key-id", "key_ids", multiple=True, metavar="ID",
              help="Remove only the key with this ID; repeatable.")
@click.option("--path", "paths", multiple=True, metavar="PREFIX",
              help="Remove only this path; repeatable.")
@targets_token_option
@snapshot_token_option
@targets_expires_option
@ceremony_options
def delegation_remove(gun: str, role: str, keys: tuple[str, ...], key_ids: tuple[str, ...],
                      paths: tuple[str, ...], **kw: Any) -> None:
    """Remove delegation ROLE of GUN, or only some of its keys or paths."""
    _delegation("delegation-remove", gun, role, kw, keys=_keys(keys), key_ids=list(key_ids),
                paths=list(paths))


# --- rotations ---------------------------------------------------------------------------------

@click.group()
def rotate() -> None:
    """Key rotations."""


@rotate.command("targets")
@click.argument("guns", nargs=-1)
@click.option("--all", "all_guns", is_flag=True, help="Every GUN of the request.")
@targets_token_option
@click.option("--root-token", "root_tokens", multiple=True, metavar="URI",
              help="Token holding a root key (repeat until the root threshold is met).")
@snapshot_token_option
@click.option("--label", metavar="LABEL",
              help="Label of the new targets key (default targets-<UTC time>).")
@click.option("--algorithm", default=DEFAULT_ALGORITHM, show_default=True,
              help="Algorithm of the new targets key.")
@click.option("--reason", default="targets key rotated", show_default=True,
              help="Why the old key is retired (recorded).")
@click.option("--root-expires", metavar="DURATION", help="New root lifetime (default 10y).")
@targets_expires_option
@ceremony_options
def rotate_targets(guns: tuple[str, ...], **kw: Any) -> None:
    """Replace the targets key of GUN(s): new key on the token, root v+1 signed by the root
    threshold, targets re-signed, old key retired."""
    from ceremony.ceremonies.rotate import RotateTargets
    common = common_options(kw)
    ceremony = RotateTargets(
        guns=guns, all_guns=kw["all_guns"], targets_token=kw["targets_token"] or "",
        root_tokens=kw["root_tokens"], snapshot_token=kw["snapshot_token"],
        label=kw["label"], algorithm=kw["algorithm"], reason=kw["reason"],
        root_expires=duration(kw["root_expires"], "--root-expires"),
        targets_expires=duration(kw["targets_expires"], "--targets-expires"))
    run_ceremony(ceremony, common)


rotate.add_command(rotate_root)  # root rotation: its own module

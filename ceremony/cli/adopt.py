"""`ceremony adopt GUN` (take a docker trust / notary repository under token control) and
`ceremony adopt import GUN` (pin its root history first). Thin, like the other ceremony
commands: see ceremony/ceremonies/adopt.py, adoptimport.py and docs/adopt.md."""

from __future__ import annotations

from typing import Any

import click

from ceremony.airgap import allow_network_option
from ceremony.ceremonies.errors import CeremonyRefused
from ceremony.cli.common import (
    ceremony_options,
    common_options,
    console,
    duration,
    emit,
    expiry,
    json_option,
    print_result,
)
from ceremony.metadata.model import Root
from ceremony.pins import pin_set
from hsm.keys import DEFAULT_ALGORITHM


def _show_pins(gun: str, root: Root, previous: Root | None) -> tuple[list[str], dict[str, Any]]:
    """The pins after a ceremony: the human block and its JSON (ceremony.pins)."""
    pins = pin_set(gun, root)
    before = pin_set(gun, previous) if previous is not None else None
    return pins.render(before), pins.to_json(before)


class _DefaultToAdopt(click.Group):
    """`ceremony adopt GUN ...` runs `adopt repository GUN ...`; `adopt import` is its own."""

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args.insert(0, "repository")
        return super().resolve_command(ctx, args)


@click.group(cls=_DefaultToAdopt)
def adopt() -> None:
    """Take an existing docker trust / notary repository under token control."""


@adopt.command("repository")
@click.argument("gun")
@click.option("--root-key-file", "root_key_files", multiple=True, metavar="FILE",
              help="The current root key file from the client's key store "
                   "(~/.docker/trust/private or ~/.notary/private); repeat to meet a root "
                   "threshold above 1.")
@click.option("--root-passphrase-source", metavar="SOURCE",
              help="Passphrase of the root key file: prompt (default, no echo), env:NAME or "
                   "file:PATH. Never the passphrase itself.")
@click.option("--root-token", "root_tokens", multiple=True, metavar="URI",
              help="Token for a new root key (repeat for M of N).")
@click.option("--root-threshold", type=int, default=1, show_default=True, metavar="M",
              help="Root signatures the new root needs (M of the root tokens).")
@click.option("--targets-token", metavar="URI",
              help="Token for the new targets key (targets.json re-signed there).")
@click.option("--keep-targets", is_flag=True,
              help="Keep the current targets key (rotate it onto a token later).")
@click.option("--targets-key-file", metavar="FILE",
              help="The current targets key file, to check it is the key that leaves and to "
                   "list it for destruction (not used to sign).")
@click.option("--targets-passphrase-source", metavar="SOURCE",
              help="Passphrase of the targets key file: prompt, env:NAME or file:PATH.")
@click.option("--root-label", default="root", show_default=True, help="New root key label.")
@click.option("--targets-label", default="targets", show_default=True,
              help="New targets key label.")
@click.option("--algorithm", default=DEFAULT_ALGORITHM, show_default=True,
              help="New root key algorithm: ecdsa-p256, ecdsa-p384, rsa-3072, rsa-4096.")
@click.option("--targets-algorithm", default=None,
              help="New targets key algorithm (default: --algorithm; ed25519 allowed).")
@click.option("--root-expires", metavar="DURATION|DATE", help="New root expiry (default 10y).")
@click.option("--targets-expires", metavar="DURATION", help="Targets lifetime (default 3y).")
@ceremony_options
def adopt_repository(gun: str, **kw: Any) -> None:
    """Root v+1 on tokens for GUN, signed by its current software root key AND the tokens;
    the targets key moved onto a token (or kept); the old keys retired."""
    from ceremony.ceremonies.adopt import AdoptCeremony
    from ceremony.ceremonies.runner import Options, perform
    common = common_options(kw)
    ceremony = AdoptCeremony(
        gun=gun, root_key_files=kw["root_key_files"], root_tokens=kw["root_tokens"],
        root_passphrase=kw["root_passphrase_source"], root_threshold=kw["root_threshold"],
        targets_token=kw["targets_token"], keep_targets=kw["keep_targets"],
        targets_key_file=kw["targets_key_file"],
        targets_passphrase=kw["targets_passphrase_source"], root_label=kw["root_label"],
        targets_label=kw["targets_label"], algorithm=kw["algorithm"],
        targets_algorithm=kw["targets_algorithm"],
        root_expires=expiry(kw["root_expires"], "--root-expires"),
        targets_expires=duration(kw["targets_expires"], "--targets-expires"))
    as_json = common.pop("as_json")
    for flag, name in (("--request REQ", "request"), ("--out RESP", "out")):
        if not common.get(name):
            raise CeremonyRefused(f"missing {flag}")
    try:
        result = perform(ceremony, Options(**common),
                         console(as_json))
    finally:
        ceremony.forget_keys()
    lines: list[str] = []
    if gun in ceremony.roots and result["complete"]:
        previous, root = ceremony.roots[gun]
        lines, result["pins"] = _show_pins(gun, root, previous)
    result["destroy_after_publication"] = [signer.source.path for signer, _ in ceremony.software]
    if ceremony.old_targets is not None:
        result["destroy_after_publication"].append(ceremony.old_targets.path)

    def human(r: dict[str, Any]) -> None:
        print_result(r)
        for line in lines:
            click.echo(line)
        for path in r["destroy_after_publication"]:
            click.echo(f"after publishing, destroy the software key file {path} and its copies")
    emit(result, as_json, human)


@adopt.command("import")
@click.argument("gun")
@click.option("--workspace", metavar="DIR",
              help="Offline workspace (default: $CEREMONY_WORKSPACE).")
@click.option("--request", required=True, metavar="REQ",
              help="A request bundle for GUN from `online fetch` (any operation).")
@click.option("--root-cert-id", "root_cert_ids", multiple=True, metavar="ID",
              help="A root certificate ID you already trust (as in trust_pinning.certs); "
                   "repeatable.")
@click.option("--participant", "participants", multiple=True, metavar="NAME",
              help="A person present (recorded in the transcript); repeatable.")
@allow_network_option
@json_option
def adopt_import(gun: str, workspace: str | None, request: str, root_cert_ids: tuple[str, ...],
                 participants: tuple[str, ...], allow_network: bool, as_json: bool) -> None:
    """Pin GUN's root history in the workspace, verified from a root certificate ID you trust,
    so that ceremonies (e.g. `rotate targets`) can be run for a repository made elsewhere."""
    from ceremony.ceremonies.adoptimport import import_repository
    result = import_repository(request=request, gun=gun, root_cert_ids=root_cert_ids,
                               workspace=workspace, allow_network=allow_network,
                               participants=participants,
                               console=console(as_json))
    result.pop("previous_root")
    lines, result["pins"] = _show_pins(gun, result.pop("root"), None)  # nothing changes here

    def human(r: dict[str, Any]) -> None:
        click.echo(f"{gun}: root versions {r['pinned'][0]}-{r['pinned'][-1]} pinned in "
                   f"{r['workspace']} (request sha256 {r['request_sha256']})")
        for warning in r["warnings"]:
            click.echo(f"  warning: {warning}")
        for line in lines:
            click.echo(line)
        click.echo(f"transcript {r['transcript']}")
    emit(result, as_json, human)

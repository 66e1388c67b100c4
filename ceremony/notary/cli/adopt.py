"""`ceremony adopt GUN` (take a docker trust / notary repository under token control) and
`ceremony adopt import GUN` (pin its root history first). Thin, like the other ceremony
commands: see ceremony/notary/ceremonies/adopt.py, adoptimport.py and docs/adopt.md."""

from __future__ import annotations

from typing import Any

import click

from ceremony.cli.common import (
    build_ceremony,
    ceremony_options,
    common_options,
    console,
    emit,
    json_option,
    perform_ceremony,
    print_result,
    table_options,
    witness_options,
    workspace_option,
)
from ceremony.notary.ceremonies.adopt import PARAMS
from ceremony.notary.format.model import Root
from ceremony.notary.pins import pin_set


def _show_pins(gun: str, root: Root, previous: Root | None) -> tuple[list[str], dict[str, Any]]:
    """The pins after a ceremony: the human block and its JSON (ceremony.notary.pins)."""
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
@table_options(PARAMS)
@ceremony_options
def adopt_repository(**kw: Any) -> None:
    """Root v+1 on tokens for GUN, signed by its current software root key AND the tokens;
    the targets key moved onto a token (or kept); the old keys retired."""
    common = common_options(kw)
    as_json = common["as_json"]
    ceremony = build_ceremony(PARAMS, kw)
    try:
        result = perform_ceremony(ceremony, common)
    finally:
        ceremony.forget_keys()
    gun = ceremony.gun
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
@workspace_option
@click.option("--request", required=True, metavar="REQ",
              help="A request bundle for GUN from `online fetch` (any operation).")
@click.option("--root-cert-id", "root_cert_ids", multiple=True, metavar="ID",
              help="A root certificate ID you already trust (as in trust_pinning.certs); "
                   "repeatable.")
@witness_options
@json_option
def adopt_import(gun: str, workspace: str | None, request: str, root_cert_ids: tuple[str, ...],
                 participants: tuple[str, ...], allow_network: bool, as_json: bool) -> None:
    """Pin GUN's root history in the workspace, verified from a root certificate ID you trust,
    so that ceremonies (e.g. `rotate targets`) can be run for a repository made elsewhere."""
    from ceremony.notary.ceremonies.adoptimport import import_repository
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

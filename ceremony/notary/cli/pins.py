"""`ceremony pins GUN --out DIR`: the files a verifier of GUN needs, from the workspace.

Offline and read-only on the workspace: it reads the newest root this workspace trusts for GUN
and writes the notary client's `trust_pinning` config, the root public key(s) Connaisseur pins
and that root.json (to pre-seed a notary/Docker trust cache). See docs/verify.md.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from ceremony.cli.common import emit, json_option
from ceremony.errors import CeremonyError

CLIENT_CONFIG = "notary-client-config.json"
CONNAISSEUR_PEM = "connaisseur-root.pub.pem"
ROOT_FILE = "root.json"


@click.command()
@click.argument("gun")
@click.option("--workspace", metavar="DIR",
              help="Offline workspace (default: $CEREMONY_WORKSPACE).")
@click.option("--out", metavar="DIR", required=True,
              help="Folder to write the pins into (made if absent).")
@click.option("--force", is_flag=True, help="Replace pin files already in --out.")
@json_option
def pins(gun: str, workspace: str | None, out: str, force: bool, as_json: bool) -> None:
    """Write what verifiers of GUN pin: notary client trust_pinning config, Connaisseur's root
    public key(s) and the trusted root.json (from the workspace's newest trusted root)."""
    from ceremony.notary.format.model import Root
    from ceremony.notary.format.serialization import read_metadata
    from ceremony.notary.pins import pin_set
    from ceremony.workspace import Workspace
    from groundfloor.files import atomic_write, make_dirs
    from groundfloor.names import InvalidName, validate_gun

    try:
        validate_gun(gun)
    except InvalidName as exc:
        raise CeremonyError(f"GUN: {exc}") from None
    folder = Path(out)
    names = (CLIENT_CONFIG, CONNAISSEUR_PEM, ROOT_FILE)
    if folder.exists() and not folder.is_dir():
        raise CeremonyError(f"--out {out} is a file; give a folder")
    existing = [n for n in names if (folder / n).exists()]
    if existing and not force:
        raise CeremonyError(f"refusing to overwrite {', '.join(existing)} in {out} (use --force)")
    ws = Workspace.open(workspace)
    history = ws.trusted_root_history(gun)
    if not history:
        known = ws.guns()
        raise CeremonyError(f"this workspace trusts no root for {gun} (it knows "
                            f"{', '.join(known[:5]) or 'no repository'}); run the ceremony, or "
                            f"`ceremony pin {gun} --request REQ` first")
    versions = sorted(history)
    data = history[versions[-1]]
    current = pin_set(gun, read_metadata(data, ROOT_FILE, Root).signed)
    previous = None
    if len(versions) > 1:
        previous = pin_set(gun, read_metadata(history[versions[-2]], ROOT_FILE, Root).signed)
    contents = {
        CLIENT_CONFIG: (json.dumps({"trust_pinning": current.trust_pinning()}, indent=2,
                                   sort_keys=True) + "\n").encode(),
        CONNAISSEUR_PEM: "".join(current.root_public_keys_pem).encode(),
        ROOT_FILE: data,
    }
    make_dirs(folder)
    written = {}
    for name in names:
        written[name] = str(atomic_write(folder / name, contents[name], overwrite=force))
    result: dict[str, Any] = {**current.to_json(previous), "root_version": versions[-1],
                              "written": written}

    def human(_: dict[str, Any]) -> None:
        for line in current.render(previous):
            click.echo(line)
        click.echo(f"wrote {', '.join(str(folder / n) for n in names)} (root v{versions[-1]})")
    emit(result, as_json, human)

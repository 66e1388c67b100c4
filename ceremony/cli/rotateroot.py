"""`ceremony rotate root`: thin, like the other ceremony commands (see
ceremony/ceremonies/rootrotate.py and docs/ceremonies.md). Registered in the `rotate` group by
ceremony/cli/ceremonies.py."""

from __future__ import annotations

from typing import Any

import click

from ceremony.cli.common import (
    allow_shorter_option,
    ceremony_options,
    common_options,
    duration,
    expiry,
    run_ceremony,
    snapshot_expires_option,
    snapshot_token_option,
)
from hsm.keys import DEFAULT_ALGORITHM


@click.command("root")
@click.argument("guns", nargs=-1)
@click.option("--all", "all_guns", is_flag=True, help="Every GUN of the request.")
@click.option("--root-token", "root_tokens", multiple=True, metavar="URI",
              help="Token holding a current root key, present to sign; repeatable.")
@click.option("--add-token", "add_tokens", multiple=True, metavar="URI",
              help="Token for a new root key (generated, or reused by --root-label), with a "
                   "root certificate CN=GUN made by the token; repeatable.")
@click.option("--add-cert", "add_certs", multiple=True, metavar="PEM",
              help="Root certificate made at another site (`ceremony key cert`); its key "
                   "co-signs later with `ceremony sign`; repeatable.")
@click.option("--remove-key", "remove_keys", multiple=True, metavar="KEYID",
              help="Root key to remove (cert key ID or canonical key ID); repeatable.")
@click.option("--remove-token", "remove_tokens", multiple=True, metavar="LABEL",
              help="Remove every root key the inventory records on token LABEL (lost or "
                   "compromised); repeatable.")
@click.option("--replace", "replace", multiple=True, metavar="OLD=NEW",
              help="Remove token label (or key ID) OLD and add a key on token URI NEW.")
@click.option("--root-threshold", "threshold", type=int, metavar="M",
              help="Root signatures the new root needs (default: unchanged).")
@click.option("--root-label", "label", default="root", show_default=True,
              help="Label of the new root key(s) on the --add-token tokens.")
@click.option("--algorithm", default=DEFAULT_ALGORITHM, show_default=True,
              help="New root key algorithm: ecdsa-p256, ecdsa-p384, rsa-3072, rsa-4096.")
@click.option("--reason", default="root key removed", show_default=True,
              help="Why removed keys are retired (recorded).")
@click.option("--root-expires", metavar="DURATION|DATE",
              help="Expiry of the new root (default 10y).")
@snapshot_token_option
@snapshot_expires_option
@allow_shorter_option
@ceremony_options
def rotate_root(guns: tuple[str, ...], **kw: Any) -> None:
    """Add, replace or remove root keys of GUN(s) and change the root threshold: root v+1
    signed by the old root's threshold AND its own."""
    from ceremony.ceremonies.rootrotate import RotateRoot
    common = common_options(kw)
    ceremony = RotateRoot(
        guns=guns, all_guns=kw["all_guns"], root_tokens=kw["root_tokens"],
        add_tokens=kw["add_tokens"], add_certs=kw["add_certs"], remove_keys=kw["remove_keys"],
        remove_tokens=kw["remove_tokens"], replace=kw["replace"], threshold=kw["threshold"],
        label=kw["label"], algorithm=kw["algorithm"], reason=kw["reason"],
        root_expires=expiry(kw["root_expires"], "--root-expires"),
        snapshot_token=kw["snapshot_token"],
        snapshot_expires=duration(kw["snapshot_expires"], "--snapshot-expires"))
    run_ceremony(ceremony, common)

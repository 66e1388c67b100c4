"""`ceremony renew`: thin, like the other ceremony commands (see ceremony/ceremonies/renew.py
and docs/ceremonies.md)."""

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


@click.command()
@click.argument("guns", nargs=-1)
@click.option("--all", "all_guns", is_flag=True, help="Every GUN of the request.")
@click.option("--role", type=click.Choice(["root", "targets"]), required=True,
              help="The file to renew.")
@click.option("--expires", metavar="DURATION|DATE",
              help="New expiry: 10y, 6m, 90d or 2030-01-31 (default: root 10y, targets 3y).")
@click.option("--root-token", "root_tokens", multiple=True, metavar="URI",
              help="Token holding a root key (--role root); repeatable.")
@click.option("--targets-token", metavar="URI", help="Token holding the targets key.")
@click.option("--reissue-within", default="6m", show_default=True, metavar="DURATION",
              help="Re-issue root certificates expiring within this time (0 for none).")
@click.option("--reissue-certs", is_flag=True, help="Re-issue every root certificate.")
@snapshot_token_option
@snapshot_expires_option
@allow_shorter_option
@ceremony_options
def renew(guns: tuple[str, ...], **kw: Any) -> None:
    """Renew root.json or targets.json of GUN(s): new version and expiry; root certificates
    near expiry re-issued on their tokens."""
    from ceremony.ceremonies.renew import Renew
    from ceremony.ceremonies.rootkeys import parse_duration
    common = common_options(kw)
    ceremony = Renew(
        role=kw["role"], guns=guns, all_guns=kw["all_guns"],
        expires=expiry(kw["expires"], "--expires"), root_tokens=kw["root_tokens"],
        targets_token=kw["targets_token"], snapshot_token=kw["snapshot_token"],
        snapshot_expires=duration(kw["snapshot_expires"], "--snapshot-expires"),
        reissue_within=parse_duration(kw["reissue_within"], "--reissue-within",
                                      allow_zero=True),
        reissue_certs=kw["reissue_certs"])
    run_ceremony(ceremony, common)

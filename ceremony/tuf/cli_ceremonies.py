"""`ceremony tuf init|rotate-root|rotate-key|delegation add|delegation remove|renew`: the TUF
ceremonies (a thin CLI over ceremonies.py): the session frame's options every ceremony takes,
and each ceremony's own from its table (tuf/tables.py), which its script action shares."""

from __future__ import annotations

from typing import Any

import click

from ceremony.ceremonies.params import Table
from ceremony.cli.common import (
    build_ceremony,
    ceremony_options,
    common_options,
    console,
    emit,
    table_options,
)
from ceremony.tuf import tables


def _run(table: Table, kwargs: dict[str, Any]) -> None:
    """The ceremony built from its table (tuf/tables.py), run inside the session frame."""
    from ceremony.ceremonies.errors import CeremonyRefused
    from ceremony.ceremonies.session import Options
    common = common_options(kwargs)
    as_json = common.pop("as_json")
    if common.pop("partial"):
        raise CeremonyRefused("--partial: a TUF ceremony here signs with every key a threshold "
                              "needs; co-signing across sites is `ceremony tuf sign`")
    run = build_ceremony(table, kwargs)
    result = run(Options(**common), console(as_json))
    emit(result, as_json, _print)


def _command(table: Table, f: Any) -> Any:
    """The session frame's options first, then the table's (in the table's order)."""
    return ceremony_options(table_options(table)(f))


def _print(r: dict[str, Any]) -> None:
    click.echo(f"wrote response {r['response']} ({r['operation']} for '{r['repository']}')")
    click.echo(f"  response sha256 {r['response_sha256']}")
    click.echo(f"  response words  {r['response_words']}")
    for f in r["files"]:
        click.echo(f"  {f['file']}: {f['role']} v{f['version']}, expires {f['expires']}, "
                   f"{len(f['signed_by'])} signature(s)")
    click.echo(f"logins: {r['logins']}; token signatures: {r['signatures']}")
    click.echo(f"transcript {r['transcript']}")
    click.echo(f"  final digest {r['transcript_sha256']}")
    click.echo(f"  words        {r['transcript_words']}")


def register(group: click.Group) -> None:
    """Add the ceremonies to the `ceremony tuf` group."""

    def init(**kwargs: Any) -> None:
        """Make a new TUF repository's root v1 (root keys M of N on tokens, the targets key on
        a token, the online snapshot/timestamp keys from the request) and targets v1."""
        _run(tables.INIT, kwargs)

    def rotate_root(**kwargs: Any) -> None:
        """Root N+1 with root keys added (--root-token), removed (--remove-key) or a new
        threshold; signed by the old root's threshold and the new root's."""
        _run(tables.ROTATE_ROOT, kwargs)

    def rotate_key(**kwargs: Any) -> None:
        """Root N+1 with a new targets key (on --targets-token; targets signed again by it)
        or the online snapshot/timestamp keys the request gives."""
        _run(tables.ROTATE_KEY, kwargs)

    def renew(**kwargs: Any) -> None:
        """Root and/or targets again with a new version and expiry (the request's roles)."""
        _run(tables.RENEW, kwargs)

    def delegation_add(**kwargs: Any) -> None:
        """Delegate the request's role (paths or path hash prefixes, keys, threshold) or
        succinct hash bins: targets N+1, or the next version of the request's --parent role
        (a nested delegation), signed by its keys."""
        _run(tables.DELEGATION_ADD, kwargs)

    def delegation_remove(**kwargs: Any) -> None:
        """Remove the request's delegated role (or hash bins) from targets, or from the
        request's --parent role: its next version."""
        _run(tables.DELEGATION_REMOVE, kwargs)

    group.command("init")(_command(tables.INIT, init))
    group.command("rotate-root")(_command(tables.ROTATE_ROOT, rotate_root))
    group.command("rotate-key")(_command(tables.ROTATE_KEY, rotate_key))
    group.command("renew")(_command(tables.RENEW, renew))

    @group.group("delegation")
    def delegation() -> None:
        """Add or remove a delegated targets role or hash bins (the delegating role's next
        version, signed on the token)."""

    delegation.command("add")(_command(tables.DELEGATION_ADD, delegation_add))
    delegation.command("remove")(_command(tables.DELEGATION_REMOVE, delegation_remove))

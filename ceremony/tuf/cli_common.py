"""What more than one file of the TUF commands prints (the commands import it; it imports no
command file, so no circle through ceremony/tuf/cli.py)."""

from __future__ import annotations

from typing import Any

import click

from ceremony.cli.common import emit
from groundfloor.words import digest_words


def show_request(result: dict[str, Any], as_json: bool, what: str, *more: str) -> None:
    """A request bundle written on the online machine: its JSON for scripts, or the file, what
    it asks for and its digest as hex and as words (read aloud on the offline machine)."""
    def human(r: dict[str, Any]) -> None:
        click.echo(f"wrote {r['request']} ({what})")
        click.echo(f"  request sha256 {r['request_sha256']}")
        click.echo(f"  words          {digest_words(bytes.fromhex(r['request_sha256']))}")
        for line in more:
            click.echo(line)
    emit(result, as_json, human)

"""Helpers shared by the CLI modules: JSON output and common options."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import click

from transfer.escaping import shown_data

json_option = click.option("--json", "as_json", is_flag=True,
                           help="Machine-readable output (stable, documented in docs/).")


def emit(data: Any, as_json: bool, human: Callable[[Any], None]) -> None:
    """Print `data` as JSON (sorted, indented) or through the `human` printer."""
    if as_json:
        click.echo(json.dumps(data, indent=2, sort_keys=True))
    else:
        human(shown_data(data))  # every string from input escaped on screen

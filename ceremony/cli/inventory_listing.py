"""`ceremony token keys --workspace DIR`: the workspace's key inventory for people and
auditors, one answer for Notary, TUF and notation keys (no token is opened)."""

from __future__ import annotations

import re
from typing import Any

import click

from ceremony.cli.common import emit
from ceremony.inventory import listing
from ceremony.workspace import Workspace


def show_inventory(workspace: str, uri: str | None, retired: bool, as_json: bool) -> None:
    label = None
    if uri is not None:
        m = re.search(r"(?:^|[:;])token=([^;]+)", uri)
        label = m.group(1) if m else uri
    ws = Workspace.open(workspace)
    data = {"workspace": str(ws.path), "keys": listing(ws, retired=retired, token_label=label)}

    def human(d: dict[str, Any]) -> None:
        click.echo(f"workspace {d['workspace']}: {len(d['keys'])} key(s)")
        for k in d["keys"]:
            state = f"RETIRED {k['retired_at']}: {k['reason']}" if k["retired"] else "active"
            click.echo(f"  [{k['system']}] {k['role']} {k['key_id']} ({k['algorithm']}) on "
                       f"token '{k['token']}' (serial {k['token_serial']}), key "
                       f"'{k['key_label']}'; {state}")
            if k["names"]:
                click.echo(f"    serves: {', '.join(k['names'])}")
            if k.get("last_used"):
                click.echo(f"    first seen {k['added']}, last used {k['last_used']}")
    emit(data, as_json, human)

"""`ceremony tuf sign-request` (offline ceremony: sign metadata made elsewhere from a request
bundle, co-sign from another site's partial response) and its online half `ceremony tuf
request-sign` / `ceremony tuf response-file` (thin CLI over signceremony.py, signonline.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from ceremony.airgap import allow_network_option
from ceremony.cli.common import (
    build_ceremony,
    console,
    emit,
    participant_option,
    table_options,
    workspace_option,
)
from ceremony.tuf import tables


def print_signed(r: dict[str, Any]) -> None:
    state = "complete" if r["complete"] else "PARTIAL (co-signing needed, not publishable)"
    click.echo(f"wrote response {r['response']} ({r['role']} v{r['version']} of "
               f"'{r['repository']}', {state})")
    click.echo(f"  response sha256 {r['response_sha256']}")
    click.echo(f"  response words  {r['response_words']}")
    click.echo(f"  signed here with {len(r['signed_with'])} key(s): "
               + ", ".join(k[:16] for k in r["signed_with"]))
    from ceremony.tuf.signceremony import inventory_lines, needs_lines
    for line in needs_lines(r["needed"]):
        click.echo(f"  still needs {line}")
    for line in inventory_lines(r["inventory"]):
        click.echo(f"  {line}")
    click.echo(f"transcript {r['transcript']}")
    click.echo(f"  final digest {r['transcript_sha256']}")
    click.echo(f"  words        {r['transcript_words']}")


def register(group: click.Group, tuf_errors: Any, json_option: Any) -> None:
    @group.command("sign-request")
    @workspace_option
    @click.option("--request", required=True, metavar="REQ",
                  help="The request bundle (operation sign) from `ceremony tuf request-sign`.")
    @click.option("--out", required=True, metavar="RESP", help="Where to write the response.")
    @table_options(tables.SIGN)
    @click.option("--force", is_flag=True, help="Replace an existing --out file.")
    @click.option("--yes", is_flag=True,
                  help="Confirm without typing yes (recorded in the transcript).")
    @participant_option
    @allow_network_option
    @click.option("--pin-source", "pin_sources", multiple=True, metavar="[LABEL=]SOURCE",
                  help="PIN source for token LABEL, or for every token: prompt, env:NAME, "
                       "file:PATH. Never the PIN itself. Repeatable.")
    @click.option("--module", metavar="PATH", help="PKCS#11 module (.so).")
    @json_option
    @tuf_errors
    def sign_request(workspace: str | None, request: str, out: str, force: bool, yes: bool,
                     participants: tuple[str, ...], allow_network: bool,
                     pin_sources: tuple[str, ...], module: str | None, as_json: bool,
                     **choices: Any) -> None:
        """Sign TUF metadata made elsewhere (python-tuf, RSTUF, tuf-on-ci) from a request
        bundle, as a ceremony: the change against the trusted root is reviewed, confirmed and
        signed on the tokens; the response carries the signed file (or the signatures) and,
        below a threshold, what is still needed (co-sign it elsewhere with --partial)."""
        from ceremony.ceremonies.session import Options
        options = Options(out=out, request=request, workspace=workspace, force=force, yes=yes,
                          participants=participants, allow_network=allow_network,
                          pin_sources=pin_sources, module=module)
        result = build_ceremony(tables.SIGN, choices)(options, console(as_json))
        emit(result, as_json, print_signed)

    @group.command("request-sign")
    @click.option("--repo", "repo", required=True, metavar="DIR",
                  help="The repository's metadata folder (its N.root.json chain travels).")
    @click.option("--name", required=True, help="The repository's name in the workspace.")
    @click.option("--proposed", required=True, metavar="FILE",
                  help="The file to sign: N.ROLE.json made by another tool, or an RSTUF "
                       "payload.")
    @click.option("--out", required=True, metavar="REQ")
    @click.option("--force", is_flag=True, help="Replace an existing --out file.")
    @json_option
    @tuf_errors
    def request_sign(repo: str, name: str, proposed: str, out: str, force: bool,
                     as_json: bool) -> None:
        """Make a "sign" request bundle for metadata made elsewhere (online machine)."""
        from ceremony.tuf.signonline import make_sign_request
        if Path(out).exists() and not force:
            raise click.ClickException(f"{out} exists; choose another --out or pass --force")
        result = make_sign_request(Path(repo), name, proposed, out, force=force)
        from ceremony.tuf.cli_common import show_request
        show_request(result, as_json, f"sign {result['role']} v{result['version']} of '{name}'")

    @group.command("response-file")
    @click.option("--response", required=True, metavar="RESP")
    @click.option("--out", required=True, metavar="FILE")
    @click.option("--request", metavar="REQ",
                  help="The request it answers: the response must name its digest.")
    @click.option("--force", is_flag=True, help="Replace an existing --out file.")
    @json_option
    @tuf_errors
    def response_file(response: str, out: str, request: str | None, force: bool,
                      as_json: bool) -> None:
        """Write the signed file of a complete "sign" response (an RSTUF payload for `rstuf
        admin send bootstrap FILE`, the signatures alone, or a metadata file) to FILE."""
        from ceremony.tuf.bundles import read_request, read_response
        from ceremony.tuf.signonline import response_file as take
        if Path(out).exists() and not force:
            raise click.ClickException(f"{out} exists; choose another --out or pass --force")
        parsed, _ = read_response(response)
        digest = read_request(request)[1].digest_hex if request else None
        result = take(parsed, out, force=force, request_sha256=digest)
        if as_json:
            click.echo(json.dumps(result, indent=2, sort_keys=True))
            return
        click.echo(f"wrote {result['out']} ({result['file']} of '{result['repository']}')")

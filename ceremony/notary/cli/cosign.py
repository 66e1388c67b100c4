"""`ceremony sign`, `status`, `merge`, `pin`: co-signing across keyholders and sites.

Thin: the work is in ceremony/notary/ceremonies/cosign.py, partial.py and pin.py. See
docs/ceremonies.md (co-signing).
"""

from __future__ import annotations

from typing import Any

import click

from ceremony.cli.common import (
    console,
    emit,
    force_option,
    json_option,
    module_option,
    out_option,
    signing_options,
    witness_options,
    workspace_option,
)


def _options(kw: dict[str, Any]) -> Any:
    from ceremony.ceremonies.errors import CeremonyRefused
    from ceremony.notary.ceremonies.cosign import CosignOptions
    if not kw.get("out"):
        raise CeremonyRefused("missing --out RESP")
    return CosignOptions(**{k: kw[k] for k in ("out", "workspace", "force", "yes",
                                               "participants", "allow_network",
                                               "pin_sources", "module") if k in kw})


@click.command()
@click.argument("response", metavar="RESP")
@click.option("--token", "tokens", multiple=True, metavar="URI",
              help="Token holding a key to sign with; repeatable.")
@out_option
@workspace_option
@signing_options
@json_option
def sign(response: str, tokens: tuple[str, ...], as_json: bool, **kw: Any) -> None:
    """Add the signatures the keys on --token can make to the partial response RESP, after
    checking it against this site's workspace and showing the review."""
    from ceremony.notary.ceremonies.cosign import sign_response
    result = sign_response(response, tokens, _options(kw), console(as_json))
    emit(result, as_json, _print_result)


@click.command()
@click.argument("a", metavar="A")
@click.argument("b", metavar="B")
@out_option
@workspace_option
@force_option
@witness_options
@json_option
def merge(a: str, b: str, as_json: bool, **kw: Any) -> None:
    """Combine two partial signings A and B of the same request (same bytes to sign) into one
    response: complete once every threshold is met."""
    from ceremony.notary.ceremonies.cosign import merge_responses
    kw.update(yes=False, pin_sources=(), module=None)
    result = merge_responses(a, b, _options(kw), console(as_json))
    emit(result, as_json, _print_result)


@click.command()
@click.argument("response", metavar="RESP")
@workspace_option
@click.option("--token", "tokens", multiple=True, metavar="URI",
              help="A token of this site: its keys show as this site's (read by public key, "
                   "no PIN where the token shows public keys). Repeatable.")
@module_option
@json_option
def status(response: str, workspace: str | None, tokens: tuple[str, ...], module: str | None,
           as_json: bool) -> None:
    """Who has signed RESP and what is missing, per repository, file and threshold (the old
    root's and the new root's separately), with token labels: this site's own (inventory,
    --token), and the originating site's claims, labelled as such."""
    import os

    from ceremony.notary.ceremonies.partial import response_status
    from ceremony.workspace import ENV, Workspace
    ws = None
    path = workspace or os.environ.get(ENV)
    if workspace is not None or (path and os.path.isdir(path)):  # given explicitly: must be one
        ws = Workspace.open(path, create=False)
    emit(response_status(response, ws, tokens, module), as_json, _print_status)


@click.command()
@click.argument("gun")
@click.option("--request", metavar="REQ", required=True,
              help="A request bundle fetched for GUN (`ceremony online fetch`).")
@click.option("--root-cert-id", "cert_ids", multiple=True, metavar="ID",
              help="Root certificate ID to anchor the trust on (first time); repeatable.")
@workspace_option
@witness_options
@json_option
def pin(gun: str, request: str, cert_ids: tuple[str, ...], workspace: str | None,
        participants: tuple[str, ...], allow_network: bool, as_json: bool) -> None:
    """Trust repository GUN in this workspace: anchored on the root certificate IDs given (as
    Notary's trust pinning), or brought up to date along the root chain."""
    from ceremony.notary.ceremonies.pin import pin_repository
    result = pin_repository(gun, request, cert_ids, workspace=workspace,
                            participants=participants, allow_network=allow_network,
                            console=console(as_json))

    def human(r: dict[str, Any]) -> None:
        versions = r["pinned_versions"]
        click.echo(f"{r['gun']}: trusted root version(s) "
                   f"{', '.join(map(str, versions)) if versions else 'none new'}; newest "
                   f"v{r['root_version']}, threshold {r['root_threshold']}")
        click.echo(f"  root certificate IDs: {', '.join(r['root_cert_ids'])}")
        click.echo(f"  root sha256 {r['root_sha256']}")
        click.echo(f"  root words  {r['root_words']}")
        for text in r["warnings"]:
            click.echo(f"  warning: {text}")
        click.echo(f"transcript {r['transcript']}")
        click.echo(f"  final digest {r['transcript_sha256']}")
        click.echo(f"  words        {r['transcript_words']}")
    emit(result, as_json, human)


def _state(r: dict[str, Any]) -> str:
    if r["complete"]:
        return "complete: publishable"
    if r.get("awaiting_origin_merge"):
        return ("every signature present, NOT publishable yet: the originating site merges it "
                "first (its workspace records the outcome)")
    return "PARTIAL (more signatures needed, not publishable)"


def _print_result(r: dict[str, Any]) -> None:
    state = _state(r)
    click.echo(f"wrote response {r['response']} ({state})")
    click.echo(f"  response sha256 {r['response_sha256']}")
    click.echo(f"  response words  {r['response_words']}")
    _print_repos(r["repositories"])
    if "logins" in r:
        click.echo(f"logins: {r['logins']}; token signatures: {r['signatures']}")
    click.echo(f"transcript {r['transcript']}")
    click.echo(f"  final digest {r['transcript_sha256']}")
    click.echo(f"  words        {r['transcript_words']}")


def _print_status(r: dict[str, Any]) -> None:
    state = _state(r)
    click.echo(f"response {r['response']}: {state}")
    click.echo(f"  answers request {r['request_sha256'] or 'not recorded'}")
    click.echo(f"  response sha256 {r['response_sha256']}")
    click.echo(f"  response words  {r['response_words']}")
    _print_repos(r["repositories"])


def _print_repos(repos: list[dict[str, Any]]) -> None:
    from ceremony.notary.ceremonies.partial import count_text, where_text
    for repo in repos:
        if repo["complete"] and "thresholds" not in (repo["files"] or [{}])[0]:
            files = ", ".join(f"{f['role']} v{f.get('version', '?')} "
                              f"({len(f.get('signatures', []))} signature(s))"
                              for f in repo["files"])
            click.echo(f"{repo['gun']}: complete: {files}")
            continue
        checked = ("checked against this workspace's trusted root"
                   if repo.get("verified_against_workspace") else
                   "NOT checked against a workspace (no trusted root for it here)")
        prev = repo.get("previous_root_version")
        state = "complete" if repo["complete"] else \
            "fully signed, awaiting the originating site's merge" \
            if repo.get("awaiting_origin_merge") else "PARTIAL"
        click.echo(f"{repo['gun']}: {state} (ceremony {repo.get('ceremony')}"
                   + (f", from root v{prev}" if prev else "") + f"; {checked})")
        for line in repo.get("claims", []):
            click.echo(f"  claim: {line} (its word, not verified here)")
        for f in repo["files"]:
            click.echo(f"  {f['role']}.json v{f['version']}: "
                       f"{'complete' if f['complete'] else 'signatures missing'} "
                       f"(sha256 of the bytes to sign {f['signed_sha256']})")
            for t in f["thresholds"]:
                click.echo(f"    {t['name']}: {count_text(t)}")
                for item in t["signed"]:
                    click.echo(f"      signed:  {where_text(item)}")

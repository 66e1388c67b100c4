"""`ceremony notation ca ...`: the CA ceremonies on the command line.

The way: the CA lives in the workspace (`--workspace DIR` or $CEREMONY_WORKSPACE, `--ca NAME`,
default `root`) and every command that signs runs inside the session frame (ca_ceremonies.py):
transcript, lock, air gap, review with its digest in hex and words, `yes` typed or `--yes`.
`ca issue` answers a request bundle (`ceremony notation request csr`); `ca revoke` and `ca crl`
write a response bundle carrying the CRL; `ca export` writes the public files for people and
verifiers; `ca show` lists what the CA issued and revoked.

Compatibility: `--ca-dir DIR` keeps the first round's loose CA folder (ca_dir.py), without
transcript or confirmation; it will go.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ceremony.cli.common import (
    build_ceremony,
    console,
    emit,
    force_option,
    json_option,
    options,
    table_options,
    workspace_option,
)
from ceremony.notation import tables
from ceremony.notation.cli_common import frame_options
from ceremony.notation.cli_common import session_options as _options

F = Callable[..., Any]


def _one_pin_source(pin_sources: tuple[str, ...]) -> str | None:
    if len(pin_sources) > 1:
        raise click.UsageError("--ca-dir takes one --pin-source")
    return pin_sources[0] if pin_sources else None


def _loose(kw: dict[str, Any]) -> tuple[Any, ...]:
    """What a --ca-dir command takes of the frame's options (after its own arguments)."""
    return (_one_pin_source(kw["pin_sources"]), kw["module"], kw["allow_network"], kw["force"],
            kw["as_json"])


def _perform(ceremony: Any, kw: dict[str, Any], out: str | None, request: str | None,
             human: Callable[[dict[str, Any]], Any],
             loose: Callable[[dict[str, Any]], None] | None = None) -> None:
    """The workspace way: the ceremony inside the session frame, its result printed. With
    --ca-dir, `loose` instead: the first round's CA folder, given the ceremony's parameters."""
    if kw["ca_dir"] and loose is not None:
        loose(ceremony.keywords)
        return
    emit(ceremony(_options(kw, out, request), console(kw["as_json"])), kw["as_json"], human)


def _print_cert(d: dict[str, Any]) -> None:
    click.echo(f"  subject: {d['subject']}\n  serial:  {d['serial']}\n  sha256:  {d['sha256']}\n"
               f"  valid:   {d['not_before']} .. {d['not_after']}")


def _print_transcript(r: dict[str, Any]) -> None:
    if "response" in r:
        click.echo(f"wrote response {r['response']}\n  bundle sha256 {r['response_sha256']}\n"
                   f"  bundle words  {r['response_words']}")
    click.echo(f"logins: {r['logins']}")
    click.echo(f"transcript {r['transcript']}\n  final digest {r['transcript_sha256']}\n"
               f"  words        {r['transcript_words']}")


@click.group("ca")
def ca() -> None:
    """A root (or intermediate) CA whose key stays on a token, kept in the workspace."""


def _ceremony(name: str, table: Any, out_help: str, *, out_required: bool = False
              ) -> Callable[[F], F]:
    """A CA ceremony's command: its parameter table, --out FILE, the session frame's options."""
    return options(ca.command(name), table_options(table),
                   click.option("--out", required=out_required, metavar="FILE", help=out_help),
                   frame_options)


@_ceremony("init", tables.CA_INIT, "Also write the root certificate (PEM) here.")
def ca_init(out: str | None, **kw: Any) -> None:
    """Make a self-signed root CA certificate for a key on a token (a ceremony)."""
    from ceremony.notation import ca_dir
    _perform(build_ceremony(tables.CA_INIT, kw), kw, out, None, lambda d: (
        click.echo(f"root CA '{d['ca']}' kept in the workspace"), _print_cert(d["certificate"]),
        _print_transcript(d)), lambda a: ca_dir.init(
        kw["ca_dir"], a["token"], a["label"], a["subject"], a["valid_for"], a["path_length"],
        *_loose(kw)))


@_ceremony("intermediate", tables.CA_INTERMEDIATE, "Also write the new CA's chain (PEM) here.")
def ca_intermediate(out: str | None, **kw: Any) -> None:
    """Issue an intermediate CA (key on another token) from a CA (a ceremony)."""
    if kw["ca_dir"] and not kw["out_dir"]:
        raise click.UsageError("--ca-dir needs --out-dir")
    from ceremony.notation import ca_dir
    _perform(build_ceremony(tables.CA_INTERMEDIATE, kw), kw, out, None, lambda d: (
        click.echo(f"intermediate CA '{d['ca']}' (issued by '{d['parent']}') kept in the "
                   "workspace"), _print_cert(d["certificate"]), _print_transcript(d)),
        lambda a: ca_dir.intermediate(kw["ca_dir"], kw["out_dir"], a["token"], a["label"],
                                      a["subject"], a["valid_for"], *_loose(kw)))


@_ceremony("issue", tables.CA_ISSUE, "Response bundle (with --ca-dir: the chain PEM).",
           out_required=True)
@click.option("--request", metavar="REQ", help="Request bundle from `ceremony notation request "
              "csr`.")
def ca_issue(request: str | None, out: str, **kw: Any) -> None:
    """Issue Notary Project signing certificates for the CSRs of a request (a ceremony)."""
    if kw["ca_dir"] and not kw["csr"]:
        raise click.UsageError("--ca-dir needs --csr FILE")
    if not kw["ca_dir"] and not request:
        raise click.UsageError("give --request REQ (made by `ceremony notation request csr`)")
    from ceremony.notation import ca_dir
    _perform(build_ceremony(tables.CA_ISSUE, kw), kw, out, request, lambda d: (
        [click.echo(f"issued {c['name']}: serial {c['serial']}") for c in d["certificates"]],
        _print_transcript(d)), lambda a: ca_dir.issue(
        kw["ca_dir"], kw["csr"], out, a["valid_for"], a["crl_url"], *_loose(kw)))


@_ceremony("revoke", tables.CA_REVOKE, "Response bundle carrying the new CRL.")
def ca_revoke(out: str | None, **kw: Any) -> None:
    """Revoke certificates this CA issued and issue a new CRL (a ceremony)."""
    cert_paths, serials = kw["certificates"], kw["serials"]
    if kw["ca_dir"] and (len(cert_paths) > 1 or len(serials) > 1):
        raise click.UsageError("--ca-dir revokes one certificate at a time")
    ceremony = build_ceremony(tables.CA_REVOKE, kw)
    if kw["ca_dir"]:
        from ceremony.notation.ca_dir import revoke
        revoke(kw["ca_dir"], cert_paths[0] if cert_paths else None,
               serials[0] if serials else None, ceremony.keywords["valid_for"],
               _one_pin_source(kw["pin_sources"]), kw["module"], kw["allow_network"],
               kw["as_json"])
        return
    _crl(kw, out, ceremony)


@_ceremony("crl", tables.CA_CRL, "Response bundle carrying the new CRL.")
def ca_crl(out: str | None, **kw: Any) -> None:
    """Issue a fresh CRL (renewal before nextUpdate), listing every revoked certificate."""
    ceremony = build_ceremony(tables.CA_CRL, kw)
    if kw["ca_dir"]:
        from ceremony.notation.ca_dir import crl
        crl(kw["ca_dir"], ceremony.keywords["valid_for"], _one_pin_source(kw["pin_sources"]),
            kw["module"], kw["allow_network"], kw["as_json"])
        return
    _crl(kw, out, ceremony)


def _crl(kw: dict[str, Any], out: str | None, ceremony: Any) -> None:
    if not out:
        raise click.UsageError("give --out RESP (the response bundle carrying the CRL)")
    _perform(ceremony, kw, out, None, lambda d: (
        click.echo(f"CRL #{d['crl_number']} of CA '{d['ca']}' (next update "
                   f"{d['next_update']}); revoked: {', '.join(d['revoked']) or 'none'}"),
        _print_transcript(d)))


@ca.command("export")
@workspace_option
@table_options(tables.CA_EXPORT)
@click.option("--out-dir", required=True, metavar="DIR",
              help="Folder for ca.crt, chain.pem, root.crt, crl.pem and crl.der.")
@force_option
@json_option
def ca_export(workspace: str | None, out_dir: str, force: bool, as_json: bool,
              **kw: Any) -> None:
    """Write the CA's public files (certificate, chain, root, newest CRL) for verifiers."""
    from ceremony.notation.files import refuse_existing, write_atomic
    from ceremony.workspace import Workspace
    files = build_ceremony(tables.CA_EXPORT, kw)(Workspace.open(workspace))
    folder = Path(out_dir)
    refuse_existing([folder / n for n in files], force)
    for name, data in files.items():
        write_atomic(folder / name, data)
    emit({"out_dir": out_dir, "files": sorted(files)}, as_json, lambda d: click.echo(
        f"wrote {', '.join(d['files'])} to {d['out_dir']}"))


@ca.command("show")
@workspace_option
@table_options(tables.CA_EXPORT)  # which CA: as `ca export` names it
@json_option
def ca_show(workspace: str | None, as_json: bool, **kw: Any) -> None:
    """What the workspace keeps of a CA: certificate, chain, issued and revoked serials."""
    from ceremony.notation.ca_ceremonies import ca_listing
    from ceremony.workspace import Workspace
    ca_name = build_ceremony(tables.CA_EXPORT, kw).keywords["ca"]
    d = ca_listing(Workspace.open(workspace), ca_name)

    def human(d: dict[str, Any]) -> None:
        click.echo(f"CA '{d['ca']}' on {d['token']} key '{d['label']}'")
        _print_cert(d["certificate"])
        click.echo("  chain:   " + " <- ".join(d["chain"]))
        click.echo(f"  CRL #{d['crl_number']}; issued {len(d['issued'])}, revoked "
                   f"{len(d['revoked'])}")
        for serial, info in sorted(d["issued"].items()):
            mark = " REVOKED" if serial in d["revoked"] else ""
            click.echo(f"    {serial} {info['subject']} until {info['not_after']}{mark}")
    emit(d, as_json, human)

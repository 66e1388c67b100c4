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

from ceremony.airgap import allow_network_option
from ceremony.cli.common import (
    console,
    emit,
    json_option,
    module_option,
    participant_option,
    pin_sources_option,
    workspace_option,
    yes_option,
)
from ceremony.notation.cli_common import validity as _validity

F = Callable[..., Any]

ca_dir_option = click.option("--ca-dir", metavar="DIR",
                             help="Compatibility: a loose CA folder instead of the workspace "
                                  "(no transcript, no confirmation).")
ca_name_option = click.option("--ca", "ca_name", default="root", show_default=True,
                              metavar="NAME", help="The CA in the workspace.")
force_option = click.option("--force", is_flag=True, help="Replace an existing --out file.")


def frame_options(f: F) -> F:
    """What every CA ceremony takes (the session frame's options)."""
    for option in reversed([workspace_option, yes_option, participant_option,
                            pin_sources_option, module_option, allow_network_option,
                            force_option, json_option]):
        f = option(f)
    return f


def _options(kw: dict[str, Any], out: str | None = None, request: str | None = None) -> Any:
    from ceremony.ceremonies.session import Options
    return Options(out=out or "", request=request or "", workspace=kw["workspace"],
                   force=kw["force"], yes=kw["yes"], participants=kw["participants"],
                   allow_network=kw["allow_network"], pin_sources=kw["pin_sources"],
                   module=kw["module"])


def _one_pin_source(pin_sources: tuple[str, ...]) -> str | None:
    if len(pin_sources) > 1:
        raise click.UsageError("--ca-dir takes one --pin-source")
    return pin_sources[0] if pin_sources else None


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


@ca.command("init")
@ca_dir_option
@ca_name_option
@click.option("--token", required=True, metavar="URI", help="Token holding the CA key.")
@click.option("--label", required=True, help="Label of the CA key (ceremony key generate).")
@click.option("--subject", required=True, help="e.g. 'C=US, ST=WA, O=Example, CN=Root CA'.")
@click.option("--valid-for", default="20y", show_default=True)
@click.option("--algorithm", type=click.Choice(["ecdsa-p256", "ecdsa-p384", "ecdsa-p521",
                                                "rsa-3072", "rsa-4096"]),
              help="Generate the key on the token with this algorithm if it has none labelled "
                   "--label (default: the key must exist).")
@click.option("--path-length", default=1, show_default=True, type=click.IntRange(0, 4),
              help="CAs allowed below the root (1: one intermediate).")
@click.option("--out", metavar="FILE", help="Also write the root certificate (PEM) here.")
@frame_options
def ca_init(ca_dir: str | None, ca_name: str, token: str, label: str, subject: str,
            valid_for: str, algorithm: str | None, path_length: int, out: str | None,
            **kw: Any) -> None:
    """Make a self-signed root CA certificate for a key on a token (a ceremony)."""
    validity = _validity(valid_for)
    if ca_dir:
        from ceremony.notation.ca_dir import init
        init(ca_dir, token, label, subject, validity, path_length,
             _one_pin_source(kw["pin_sources"]), kw["module"], kw["allow_network"],
             kw["force"], kw["as_json"])
        return
    from ceremony.notation.ca_ceremonies import ca_init as run
    r = run(_options(kw, out), console(kw["as_json"]), ca=ca_name, token=token, label=label,
            subject=subject, valid_for=validity, path_length=path_length, algorithm=algorithm)
    emit(r, kw["as_json"], lambda d: (click.echo(f"root CA '{d['ca']}' kept in the workspace"),
                                      _print_cert(d["certificate"]), _print_transcript(d)))


@ca.command("intermediate")
@ca_dir_option
@click.option("--out-dir", metavar="DIR", help="Compatibility (--ca-dir): the new CA folder.")
@click.option("--parent", default="root", show_default=True, metavar="NAME",
              help="The issuing CA in the workspace.")
@click.option("--ca", "ca_name", default="issuing", show_default=True, metavar="NAME",
              help="Name of the new CA in the workspace.")
@click.option("--parent-token", metavar="URI", help="Token of the issuing CA's key (default: "
              "the one the workspace names).")
@click.option("--token", required=True, metavar="URI", help="Token holding the new CA key.")
@click.option("--label", required=True, help="Label of the new CA key.")
@click.option("--subject", required=True)
@click.option("--valid-for", default="10y", show_default=True)
@click.option("--algorithm", type=click.Choice(["ecdsa-p256", "ecdsa-p384", "ecdsa-p521",
                                                "rsa-3072", "rsa-4096"]),
              help="Generate the key on the token with this algorithm if it has none labelled "
                   "--label (default: the key must exist).")
@click.option("--out", metavar="FILE", help="Also write the new CA's chain (PEM) here.")
@frame_options
def ca_intermediate(ca_dir: str | None, out_dir: str | None, parent: str, ca_name: str,
                    parent_token: str | None, token: str, label: str, subject: str,
                    valid_for: str, algorithm: str | None, out: str | None,
                    **kw: Any) -> None:
    """Issue an intermediate CA (key on another token) from a CA (a ceremony)."""
    validity = _validity(valid_for)
    if ca_dir:
        if not out_dir:
            raise click.UsageError("--ca-dir needs --out-dir")
        from ceremony.notation.ca_dir import intermediate
        intermediate(ca_dir, out_dir, token, label, subject, validity,
                     _one_pin_source(kw["pin_sources"]), kw["module"], kw["allow_network"],
                     kw["force"], kw["as_json"])
        return
    from ceremony.notation.ca_ceremonies import ca_intermediate as run
    r = run(_options(kw, out), console(kw["as_json"]), parent=parent, ca=ca_name, token=token,
            label=label, subject=subject, valid_for=validity, parent_token=parent_token,
            algorithm=algorithm)
    emit(r, kw["as_json"], lambda d: (
        click.echo(f"intermediate CA '{d['ca']}' (issued by '{d['parent']}') kept in the "
                   "workspace"), _print_cert(d["certificate"]), _print_transcript(d)))


@ca.command("issue")
@ca_dir_option
@click.option("--csr", "csr_path", metavar="FILE",
              help="Compatibility (--ca-dir): one PKCS#10 CSR (PEM/DER).")
@ca_name_option
@click.option("--ca-token", metavar="URI", help="Token of the CA key (default: the one the "
              "workspace names).")
@click.option("--request", metavar="REQ", help="Request bundle from `ceremony notation request "
              "csr`.")
@click.option("--out", required=True, metavar="FILE",
              help="Response bundle (with --ca-dir: the chain PEM).")
@click.option("--valid-for", default="1y", show_default=True)
@click.option("--crl-url", metavar="URL", help="Put this CRL distribution point in the "
              "certificate (only if verifiers can fetch it).")
@frame_options
def ca_issue(ca_dir: str | None, csr_path: str | None, ca_name: str, ca_token: str | None,
             request: str | None, out: str, valid_for: str, crl_url: str | None,
             **kw: Any) -> None:
    """Issue Notary Project signing certificates for the CSRs of a request (a ceremony)."""
    validity = _validity(valid_for)
    if ca_dir:
        if not csr_path:
            raise click.UsageError("--ca-dir needs --csr FILE")
        from ceremony.notation.ca_dir import issue
        issue(ca_dir, csr_path, out, validity, crl_url, _one_pin_source(kw["pin_sources"]),
              kw["module"], kw["allow_network"], kw["force"], kw["as_json"])
        return
    if not request:
        raise click.UsageError("give --request REQ (made by `ceremony notation request csr`)")
    from ceremony.notation.ca_ceremonies import ca_issue as run
    r = run(_options(kw, out, request), console(kw["as_json"]), ca=ca_name, valid_for=validity,
            crl_url=crl_url, ca_token=ca_token)
    emit(r, kw["as_json"], lambda d: (
        [click.echo(f"issued {c['name']}: serial {c['serial']}") for c in d["certificates"]],
        _print_transcript(d)))


def _serials(certs_: tuple[str, ...], serials: tuple[str, ...]) -> list[str]:
    from ceremony.notation.cli_common import load_certs
    out = [f"{load_certs(p)[0].serial_number:x}" for p in certs_]
    return out + [s.lower().removeprefix("0x") for s in serials]


@ca.command("revoke")
@ca_dir_option
@ca_name_option
@click.option("--ca-token", metavar="URI", help="Token of the CA key.")
@click.option("--cert", "cert_paths", multiple=True, metavar="FILE",
              help="A certificate to revoke (repeatable).")
@click.option("--serial", "serials", multiple=True, metavar="HEX",
              help="Or its serial number (hex; repeatable).")
@click.option("--valid-for", default="30d", show_default=True, help="Until the CRL's nextUpdate.")
@click.option("--out", metavar="FILE", help="Response bundle carrying the new CRL.")
@frame_options
def ca_revoke(ca_dir: str | None, ca_name: str, ca_token: str | None,
              cert_paths: tuple[str, ...], serials: tuple[str, ...], valid_for: str,
              out: str | None, **kw: Any) -> None:
    """Revoke certificates this CA issued and issue a new CRL (a ceremony)."""
    validity = _validity(valid_for)
    if ca_dir:
        from ceremony.notation.ca_dir import revoke
        if len(cert_paths) > 1 or len(serials) > 1:
            raise click.UsageError("--ca-dir revokes one certificate at a time")
        revoke(ca_dir, cert_paths[0] if cert_paths else None, serials[0] if serials else None,
               validity, _one_pin_source(kw["pin_sources"]), kw["module"],
               kw["allow_network"], kw["as_json"])
        return
    if not cert_paths and not serials:
        raise click.UsageError("give --cert FILE or --serial HEX")
    _crl(kw, out, ca_name, ca_token, validity, _serials(cert_paths, serials))


@ca.command("crl")
@ca_dir_option
@ca_name_option
@click.option("--ca-token", metavar="URI", help="Token of the CA key.")
@click.option("--valid-for", default="30d", show_default=True, help="Until the CRL's nextUpdate.")
@click.option("--out", metavar="FILE", help="Response bundle carrying the new CRL.")
@frame_options
def ca_crl(ca_dir: str | None, ca_name: str, ca_token: str | None, valid_for: str,
           out: str | None, **kw: Any) -> None:
    """Issue a fresh CRL (renewal before nextUpdate), listing every revoked certificate."""
    validity = _validity(valid_for)
    if ca_dir:
        from ceremony.notation.ca_dir import crl
        crl(ca_dir, validity, _one_pin_source(kw["pin_sources"]), kw["module"],
            kw["allow_network"], kw["as_json"])
        return
    _crl(kw, out, ca_name, ca_token, validity, [])


def _crl(kw: dict[str, Any], out: str | None, ca_name: str, ca_token: str | None,
         validity: Any, serials: list[str]) -> None:
    if not out:
        raise click.UsageError("give --out RESP (the response bundle carrying the CRL)")
    from ceremony.notation.ca_ceremonies import ca_crl as run
    r = run(_options(kw, out), console(kw["as_json"]), ca=ca_name, valid_for=validity,
            revoke=serials, ca_token=ca_token)
    emit(r, kw["as_json"], lambda d: (
        click.echo(f"CRL #{d['crl_number']} of CA '{d['ca']}' (next update "
                   f"{d['next_update']}); revoked: {', '.join(d['revoked']) or 'none'}"),
        _print_transcript(d)))


@ca.command("export")
@workspace_option
@ca_name_option
@click.option("--out-dir", required=True, metavar="DIR",
              help="Folder for ca.crt, chain.pem, root.crt, crl.pem and crl.der.")
@force_option
@json_option
def ca_export(workspace: str | None, ca_name: str, out_dir: str, force: bool,
              as_json: bool) -> None:
    """Write the CA's public files (certificate, chain, root, newest CRL) for verifiers."""
    from ceremony.notation.ca_ceremonies import ca_public_files
    from ceremony.notation.files import refuse_existing, write_atomic
    from ceremony.workspace import Workspace
    files = ca_public_files(Workspace.open(workspace), ca_name)
    folder = Path(out_dir)
    refuse_existing([folder / n for n in files], force)
    for name, data in files.items():
        write_atomic(folder / name, data)
    emit({"out_dir": out_dir, "files": sorted(files)}, as_json, lambda d: click.echo(
        f"wrote {', '.join(d['files'])} to {d['out_dir']}"))


@ca.command("show")
@workspace_option
@ca_name_option
@json_option
def ca_show(workspace: str | None, ca_name: str, as_json: bool) -> None:
    """What the workspace keeps of a CA: certificate, chain, issued and revoked serials."""
    from ceremony.notation.ca_ceremonies import ca_listing
    from ceremony.workspace import Workspace
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

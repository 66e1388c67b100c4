"""`ceremony tuf verify|sign|key`: TUF 1.0 repositories (a thin layer over this package).

The air-gap check (ceremony.airgap) and the tokens and PINs of a run
(ceremony.ceremonies.tokens) are the ones every other ceremony uses; they are called, not
copied. The ceremonies (cli_ceremonies.py) and the online side (cli_online.py) register
themselves on this group at the end of this module.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from ceremony.tuf.errors import TufError

json_option = click.option("--json", "as_json", is_flag=True,
                           help="Machine-readable output (documented in docs/tuf.md).")
pin_option = click.option("--pin-source", "pin_sources", multiple=True,
                          metavar="[LABEL=]SOURCE",
                          help="PIN source for token LABEL, or for every token: prompt, "
                               "env:NAME, file:PATH. Never the PIN itself. Repeatable.")
module_option = click.option("--module", metavar="PATH", help="PKCS#11 module (.so).")


def tuf_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """A TUF error becomes the CLI's one-line `error: ...` and exit 1 (with --json, the
    error's code and message are also printed on stdout for scripts)."""
    @functools.wraps(func)
    def wrapper(*args: Any, **kw: Any) -> Any:
        try:
            return func(*args, **kw)
        except TufError as exc:
            if kw.get("as_json"):
                click.echo(json.dumps({"ok": False, "error": {
                    "code": exc.code, "message": str(exc), "file": exc.file}}, indent=2,
                    sort_keys=True))
            message = str(exc)
            if len(message) > 1500:  # hostile names inside: one readable line
                message = f"{message[:1500]}..."
            raise click.ClickException(message) from None
    return wrapper


@click.group()
def tuf() -> None:
    """TUF 1.0 repositories (python-tuf, RSTUF, tuf-on-ci): verify, sign metadata made
    elsewhere with token keys, show a token key as TUF lists it."""


def _read_file(path: str) -> bytes:
    from ceremony.tuf.files import read_metadata
    try:
        return read_metadata(path)
    except TufError as exc:
        raise click.ClickException(str(exc)) from None


@tuf.command()
@click.argument("metadata_dir", metavar="DIR", type=click.Path(file_okay=False))
@click.option("--trusted-root", metavar="FILE",
              help="The root this machine trusts (default: DIR/1.root.json).")
@click.option("--previous", metavar="DIR",
              help="Metadata trusted before (an earlier copy): versions must not go back.")
@click.option("--targets", "targets_dir", metavar="DIR", type=click.Path(file_okay=False),
              help="Also check the target files in DIR (length and hashes).")
@click.option("--at", "at", metavar="TIME",
              help="Check expiry at this UTC time (YYYY-MM-DDTHH:MM:SSZ) instead of now.")
@json_option
def verify(metadata_dir: str, trusted_root: str | None, previous: str | None,
           targets_dir: str | None, at: str | None, as_json: bool) -> None:
    """Verify the TUF 1.0 metadata in DIR as a client would: the root chain from the trusted
    root (both thresholds at every step), timestamp, snapshot, targets and every delegated
    role (thresholds, versions, lengths, hashes, expiry), rollback against --previous, and
    with --targets the target files."""
    verify_tuf(metadata_dir, trusted_root=trusted_root, previous=previous,
               targets_dir=targets_dir, at=at, as_json=as_json)


@tuf_errors
def verify_tuf(metadata_dir: str, *, trusted_root: str | None = None,
               previous: str | None = None, targets_dir: str | None = None,
               at: str | None = None, as_json: bool = False) -> None:
    """The body of `ceremony tuf verify`, also what `ceremony verify` runs for a TUF 1.0
    folder. A TufError becomes the one-line error (tuf_errors)."""
    from ceremony.tuf.fields import parse_expires
    from ceremony.tuf.verify import Previous, verify_repository
    if not Path(metadata_dir).is_dir():
        raise click.ClickException(f"{metadata_dir} is not a directory: give the folder that "
                                   "holds root.json, timestamp.json, ...")
    try:
        now = parse_expires(at) if at else datetime.now(UTC)
    except TufError:
        raise click.BadParameter(f"'{at}' is not a UTC time like 2030-01-01T00:00:00Z",
                                 param_hint="--at") from None
    report = verify_repository(
        metadata_dir, trusted_root=_read_file(trusted_root) if trusted_root else None, now=now,
        previous=Previous.from_dir(previous) if previous else None,
        targets_dir=targets_dir).to_json()
    if as_json:
        click.echo(json.dumps(report, indent=2, sort_keys=True))
        return
    chain = report["root_chain"]
    click.echo(f"OK {metadata_dir}: root v{chain[0]['version']} -> v{chain[-1]['version']} "
               f"({len(chain)} root(s), each signed by its predecessor's and its own "
               "threshold)")
    for name, role in report["roles"].items():
        click.echo(f"  {name}: v{role['version']}, expires {role['expires']}, "
                   f"{len(role['signed_by'])} of threshold {role['threshold']} signatures")
    click.echo(f"  targets listed: {report['targets']}; consistent snapshots: "
               f"{report['consistent_snapshot']}")
    for text in report["warnings"]:
        click.echo(f"  warning: {text}")


@tuf.command()
@click.option("--token", "token_uri", required=True, metavar="URI",
              help="Token holding the key (PKCS#11 URI or label).")
@click.option("--label", required=True, help="Key label on the token.")
@pin_option
@module_option
@json_option
@tuf_errors
def key(token_uri: str, label: str, pin_sources: tuple[str, ...], module: str | None,
        as_json: bool) -> None:
    """Show a token key as a TUF root lists it (key ID and key object), to put into a root
    that python-tuf, RSTUF or tuf-on-ci prepares. Reads the public key only."""
    from ceremony.ceremonies.tokens import CeremonyTokens
    from ceremony.tuf.keys import key_from_public
    with CeremonyTokens(module=module, pin_sources=pin_sources) as tokens:
        token = tokens.open(token_uri, purpose="tuf key")
        info = token.public_key(label)
        if info.public_key is None:
            raise click.ClickException(f"key '{label}' on token '{token.label}' has no public "
                                       "key this tool can read")
        tuf_key = key_from_public(info.public_key)
    out = {"keyid": tuf_key.keyid, "key": tuf_key.to_dict(), "token": token.label,
           "label": label}
    if as_json:
        click.echo(json.dumps(out, indent=2, sort_keys=True))
    else:
        click.echo(f"keyid {tuf_key.keyid}")
        click.echo(json.dumps(tuf_key.to_dict(), indent=1, sort_keys=True))


def _delegators(values: tuple[str, ...]) -> list[tuple[str, bytes, str]]:
    """--delegator values as (role name, bytes, file): the first is the top-level targets
    unless named; every later one must be named (a file does not say which role it is)."""
    out = []
    for i, value in enumerate(values):
        name, sep, file = value.partition("=")
        if not sep:
            if i:
                raise click.BadParameter(f"'{value}': name the role of every delegator after "
                                         "the first (NAME=FILE)", param_hint="--delegator")
            name, file = "targets", value
        out.append((name, _read_file(file), file))
    return out


@tuf.command()
@click.argument("proposed", metavar="FILE")
@click.option("--trusted", metavar="ROOT",
              help="The trusted root: for a root FILE its previous version, for another role "
                   "the root that lists its keys.")
@click.option("--previous", metavar="FILE",
              help="The previous version of a non-root role, to show what changes.")
@click.option("--role", metavar="NAME",
              help="FILE is delegated targets role NAME (signed with the keys its delegator "
                   "lists).")
@click.option("--delegator", "delegators", multiple=True, metavar="[NAME=]FILE",
              help="With --role: the targets file delegating it, verified from the trusted "
                   "root; for nested delegations repeat from the top-level targets down, "
                   "each after the first as NAME=FILE.")
@click.option("--token", "tokens", multiple=True, required=True, metavar="URI",
              help="Token holding a key to sign with; repeatable.")
@click.option("--out", required=True, metavar="FILE",
              help="Where to write the signed file (or the signatures, --signatures-only).")
@click.option("--signatures-only", is_flag=True,
              help="Write only the new signatures ({keyid, sig} list) for the other tool.")
@click.option("--force", is_flag=True, help="Replace an existing --out file.")
@click.option("--yes", is_flag=True, help="Confirm without typing yes.")
# `tuf sign` keeps no transcript (the ceremony that does is `tuf sign-request`): say so.
@click.option("--allow-network", is_flag=True,
              help="Go on even though the machine has a network up (a warning naming it is "
                   "printed; tuf sign keeps no transcript: use tuf sign-request for a "
                   "recorded ceremony).")
@pin_option
@module_option
@json_option
@tuf_errors
def sign(proposed: str, trusted: str | None, previous: str | None, role: str | None,
         delegators: tuple[str, ...], tokens: tuple[str, ...], out: str,
         signatures_only: bool, force: bool, yes: bool, allow_network: bool,
         pin_sources: tuple[str, ...], module: str | None, as_json: bool) -> None:
    """Sign TUF metadata FILE made elsewhere (python-tuf, RSTUF, tuf-on-ci) with the keys on
    --token that its trusted root lists, after showing what changes."""
    from ceremony.airgap import check_offline
    from ceremony.tuf.signflow import SignRequest, run_sign
    check_offline(allow_network, lambda m: click.echo(f"warning: {m}", err=True))
    if Path(out).exists() and not force:
        raise click.ClickException(f"{out} exists; choose another --out or pass --force")
    request = SignRequest(proposed=_read_file(proposed), proposed_name=proposed,
                          trusted=_read_file(trusted) if trusted else None,
                          previous=_read_file(previous) if previous else None,
                          tokens=tokens, out=out, signatures_only=signatures_only, force=force,
                          pin_sources=pin_sources, module=module, role=role,
                          delegators=_delegators(delegators))

    def show(lines: list[str]) -> None:
        for line in lines:
            click.echo(line, err=as_json)

    def confirm() -> bool:
        if yes:
            return True
        answer = click.prompt("Type yes to sign", default="", show_default=False,
                              err=as_json)
        return bool(answer.strip() == "yes")

    result = run_sign(request, show=show, confirm=confirm)
    if as_json:
        click.echo(json.dumps(result, indent=2, sort_keys=True))
        return
    click.echo(f"wrote {result['out']} ({len(result['signed_with'])} new signature(s))")
    for name, st in result["status"].items():
        state = "met" if st["met"] else f"NOT met ({len(st['valid'])} of {st['threshold']})"
        click.echo(f"  {name} threshold {st['threshold']}: {state}")
    click.echo(f"  signed sha256 {result['signed_sha256']}")
    click.echo(f"  words         {result['signed_words']}")


# The ceremonies' online half (request, apply) and the ceremonies, in their own modules.
from ceremony.tuf.cli_online import register as _register_online  # noqa: E402

_register_online(tuf, tuf_errors, json_option)

from ceremony.tuf.cli_ceremonies import register as _register_ceremonies  # noqa: E402

_register_ceremonies(tuf)

# Signing metadata made elsewhere as a ceremony (bundles, co-signing), and its online half.
from ceremony.tuf.cli_sign import register as _register_sign  # noqa: E402

_register_sign(tuf, tuf_errors, json_option)

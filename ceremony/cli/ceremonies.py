"""`ceremony init`, `signer add|remove`, `delegation add|remove`, `rotate targets`.

Thin: options are turned into a Ceremony (ceremony/ceremonies/) and `perform` runs it. Every
command takes the common options (`ceremony_options`); the review goes to standard output (to
standard error with --json, whose document alone is on standard output); the confirmation is
`yes` typed on standard input, or --yes. See docs/ceremonies.md.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable
from typing import Any

import click

from ceremony.airgap import allow_network_option
from ceremony.ceremonies.errors import CeremonyRefused
from ceremony.cli.common import emit, json_option

F = Callable[..., Any]


def ceremony_options(f: F) -> F:
    """The options every ceremony command takes."""
    options = [
        click.option("--workspace", metavar="DIR",
                     help="Offline workspace (default: $CEREMONY_WORKSPACE)."),
        click.option("--request", metavar="REQ", required=True,
                     help="Request bundle from `online fetch`."),
        click.option("--out", metavar="RESP", required=True,
                     help="Where to write the response bundle."),
        click.option("--force", is_flag=True, help="Replace an existing --out file."),
        click.option("--yes", is_flag=True,
                     help="Confirm without typing yes (recorded in the transcript)."),
        click.option("--participant", "participants", multiple=True, metavar="NAME",
                     help="A person present (recorded in the transcript); repeatable."),
        allow_network_option,
        click.option("--pin-source", "pin_sources", multiple=True, metavar="[LABEL=]SOURCE",
                     help="PIN source for token LABEL, or for every token: prompt, env:NAME, "
                          "file:PATH. Never the PIN itself. Repeatable."),
        click.option("--module", metavar="PATH", help="PKCS#11 module (.so)."),
        click.option("--partial", is_flag=True,
                     help="If the tokens present cannot meet a threshold, write a partial "
                          "response for co-signing instead of refusing."),
        json_option,
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _duration(value: str | None, flag: str) -> dt.timedelta | None:
    if value is None:
        return None
    from ceremony.ceremonies.rootkeys import parse_duration
    return parse_duration(value, flag)


def _echo_review(as_json: bool) -> Callable[[str], None]:
    return lambda text: click.echo(text, err=as_json)


def _warn(message: str) -> None:
    click.echo(f"warning: {message}", err=True)


def _ask(prompt: str) -> str | None:
    stream = sys.stdin
    if stream is None or stream.closed:
        return None
    click.echo(prompt, err=True, nl=False)
    try:
        line = stream.readline(4096)  # an answer is a word: endless stdin is not read
    except (OSError, ValueError):
        return None
    if line == "" or not stream.isatty():  # end the prompt's line when nothing was echoed
        click.echo("", err=True)
    return line or None


def _run(ceremony: Any, common: dict[str, Any]) -> None:
    from ceremony.ceremonies.runner import Console, Options, perform
    as_json = common.pop("as_json")
    for flag, name in (("--request REQ", "request"), ("--out RESP", "out")):
        if not common.get(name):
            raise CeremonyRefused(f"missing {flag}")
    options = Options(**common)
    console = Console(show=_echo_review(as_json), warn=_warn, ask=_ask)
    result = perform(ceremony, options, console)
    emit(result, as_json, _print_result)


def _print_result(r: dict[str, Any]) -> None:
    from transfer.summary import threshold_needs
    state = "complete" if r["complete"] else "PARTIAL (co-signing needed, not publishable)"
    click.echo(f"wrote response {r['response']} ({state})")
    click.echo(f"  response sha256 {r['response_sha256']}")
    click.echo(f"  response words  {r['response_words']}")
    for repo in r["repositories"]:
        files = ", ".join(f"{f['role']} v{f['version']}" for f in repo["files"])
        click.echo(f"  {repo['gun']}: {files}" + ("" if repo["complete"] else "; still needs: "
                                                   + "; ".join(threshold_needs(repo["missing"]))))
    by_token = ", ".join(f"{k}: {v}" for k, v in sorted(r["logins_by_token"].items()))
    click.echo(f"logins: {r['logins']} ({by_token}); token signatures: {r['signatures']}")
    click.echo(f"transcript {r['transcript']}")
    click.echo(f"  final digest {r['transcript_sha256']}")
    click.echo(f"  words        {r['transcript_words']}")
    print_pins(r["repositories"], r["complete"])


def print_pins(repositories: list[dict[str, Any]], complete: bool) -> None:
    """The "pin these" block of every repository whose summary carries pins."""
    from ceremony.pins import PinSet
    for repo in repositories:
        if "pins" not in repo:
            continue
        pins, previous = PinSet.from_json(repo["pins"])
        click.echo("")
        if not complete:
            click.echo("(the root below is PARTIAL: pin it once it is complete and published)")
        for line in pins.render(previous):
            click.echo(line)


def _common(kwargs: dict[str, Any]) -> dict[str, Any]:
    names = ("workspace", "request", "out", "force", "yes", "participants", "allow_network",
             "pin_sources", "module", "partial", "as_json")
    common = {name: kwargs.pop(name) for name in names}
    common["allow_shorter"] = kwargs.pop("allow_shorter", False)  # renew, rotate root
    return common


allow_shorter_option = click.option(
    "--allow-shorter", is_flag=True,
    help="Accept a new expiry EARLIER than the current one (recorded); without it a "
         "shortening must be confirmed by typing shorten, and --yes alone refuses it.")


snapshot_token_option = click.option(
    "--snapshot-token", metavar="URI",
    help="Token holding the snapshot key, when the snapshot is signed offline.")
targets_token_option = click.option("--targets-token", metavar="URI", required=True,
                                    help="Token holding the targets key.")


# --- init -------------------------------------------------------------------------------------

@click.command()
@click.argument("guns", nargs=-1)
@click.option("--root-token", "root_tokens", multiple=True, metavar="URI", required=True,
              help="Token for a root key (repeat for several tokens).")
@click.option("--root-threshold", type=int, default=1, show_default=True, metavar="M",
              help="Root signatures needed (M of the root tokens).")
@targets_token_option
@snapshot_token_option
@click.option("--root-label", default="root", show_default=True, help="Root key label.")
@click.option("--targets-label", default="targets", show_default=True,
              help="Targets key label.")
@click.option("--snapshot-label", default="snapshot", show_default=True,
              help="Snapshot key label (with --snapshot-token).")
@click.option("--algorithm", default="ecdsa-p256", show_default=True,
              help="Root key algorithm: ecdsa-p256, ecdsa-p384, rsa-3072, rsa-4096.")
@click.option("--targets-algorithm", default=None,
              help="Targets/snapshot key algorithm (default: --algorithm; ed25519 allowed).")
@click.option("--root-cert", "root_certs", multiple=True, metavar="PEM",
              help="Root certificate of the key on a --root-token (e.g. the one whose ID was "
                   "distributed before the ceremony); checked against that key. Default: the "
                   "one stored on the token, else one issued by the token. Repeatable.")
@click.option("--remote-root-cert", "remote_root_certs", multiple=True, metavar="PEM",
              help="Root certificate of a key held at another site (`ceremony key cert` "
                   "there); it co-signs later with `ceremony sign`. Repeatable.")
@click.option("--root-expires", metavar="DURATION",
              help="Root lifetime (default 10y, capped at an existing root certificate's "
                   "expiry).")
@click.option("--targets-expires", metavar="DURATION", help="Targets lifetime (default 3y).")
@click.option("--snapshot-expires", metavar="DURATION", help="Snapshot lifetime (default 3y).")
@ceremony_options
def init(guns: tuple[str, ...], **kw: Any) -> None:
    """Start repositories: root keys (M of N tokens) and a targets key on tokens, root.json v1
    and targets.json v1 for every GUN of the request (or the GUNs named)."""
    from ceremony.ceremonies.init import InitCeremony
    common = _common(kw)
    ceremony = InitCeremony(
        root_tokens=kw["root_tokens"], targets_token=kw["targets_token"] or "",
        root_threshold=kw["root_threshold"], snapshot_token=kw["snapshot_token"],
        root_label=kw["root_label"], targets_label=kw["targets_label"],
        snapshot_label=kw["snapshot_label"], algorithm=kw["algorithm"],
        targets_algorithm=kw["targets_algorithm"], guns=guns,
        root_expires=_duration(kw["root_expires"], "--root-expires"),
        targets_expires=_duration(kw["targets_expires"], "--targets-expires"),
        snapshot_expires=_duration(kw["snapshot_expires"], "--snapshot-expires"),
        root_certs=kw["root_certs"], remote_root_certs=kw["remote_root_certs"])
    _run(ceremony, common)


# --- signers and delegations -------------------------------------------------------------------

def _keys(paths: tuple[str, ...]) -> list[Any]:
    from ceremony.ceremonies.build import read_public_key
    return [read_public_key(p) for p in paths]


def _delegation(kind: str, gun: str, name: str, kw: dict[str, Any], **extra: Any) -> None:
    from ceremony.ceremonies.delegations import DelegationCeremony
    common = _common(kw)
    ceremony = DelegationCeremony(
        kind, gun=gun, name=name, targets_token=kw["targets_token"] or "",
        snapshot_token=kw["snapshot_token"],
        targets_expires=_duration(kw["targets_expires"], "--targets-expires"), **extra)
    _run(ceremony, common)


targets_expires_option = click.option("--targets-expires", metavar="DURATION",
                                      help="Lifetime of the re-signed targets.json "
                                           "(default 3y).")


@click.group()
def signer() -> None:
    """Signers as `docker trust signer` manages them (targets/NAME and targets/releases)."""


@signer.command("add")
@click.argument("gun")
@click.argument("name")
@click.option("--key", "keys", multiple=True, metavar="PEM",
              help="The signer's public key or certificate (PEM); repeatable.")
@targets_token_option
@snapshot_token_option
@targets_expires_option
@ceremony_options
def signer_add(gun: str, name: str, keys: tuple[str, ...], **kw: Any) -> None:
    """Add signer NAME to GUN: its keys go into targets/NAME and targets/releases."""
    _delegation("signer-add", gun, name, kw, keys=_keys(keys))


@signer.command("remove")
@click.argument("gun")
@click.argument("name")
@targets_token_option
@snapshot_token_option
@targets_expires_option
@ceremony_options
def signer_remove(gun: str, name: str, **kw: Any) -> None:
    """Remove signer NAME from GUN: its keys leave targets/releases, targets/NAME goes."""
    _delegation("signer-remove", gun, name, kw)


@click.group()
def delegation() -> None:
    """Delegations of targets.json: keys, paths, threshold."""


@delegation.command("add")
@click.argument("gun")
@click.argument("role")
@click.option("--key", "keys", multiple=True, metavar="PEM",
              help="Public key or certificate (PEM) to add; repeatable.")
@click.option("--path", "paths", multiple=True, metavar="PREFIX",
              help="Path prefix the role may sign; repeatable.")
@click.option("--all-paths", is_flag=True, help='Every path (the "" prefix).')
@click.option("--threshold", type=int, metavar="N", help="Signatures the role needs.")
@targets_token_option
@snapshot_token_option
@targets_expires_option
@ceremony_options
def delegation_add(gun: str, role: str, keys: tuple[str, ...], paths: tuple[str, ...],
                   all_paths: bool, threshold: int | None, **kw: Any) -> None:
    """Create delegation ROLE (targets/NAME) of GUN, or add keys, paths or a threshold."""
    _delegation("delegation-add", gun, role, kw, keys=_keys(keys),
                paths=[*paths, *([""] if all_paths else [])], threshold=threshold)


@delegation.command("remove")
@click.argument("gun")
@click.argument("role")
@click.option("--key", "keys", multiple=True, metavar="PEM",
              help="Remove only this key (PEM); repeatable.")
@click.option("--key-id", "key_ids", multiple=True, metavar="ID",
              help="Remove only the key with this ID; repeatable.")
@click.option("--path", "paths", multiple=True, metavar="PREFIX",
              help="Remove only this path; repeatable.")
@targets_token_option
@snapshot_token_option
@targets_expires_option
@ceremony_options
def delegation_remove(gun: str, role: str, keys: tuple[str, ...], key_ids: tuple[str, ...],
                      paths: tuple[str, ...], **kw: Any) -> None:
    """Remove delegation ROLE of GUN, or only some of its keys or paths."""
    _delegation("delegation-remove", gun, role, kw, keys=_keys(keys), key_ids=list(key_ids),
                paths=list(paths))


# --- rotations ---------------------------------------------------------------------------------

@click.group()
def rotate() -> None:
    """Key rotations."""


@rotate.command("targets")
@click.argument("guns", nargs=-1)
@click.option("--all", "all_guns", is_flag=True, help="Every GUN of the request.")
@targets_token_option
@click.option("--root-token", "root_tokens", multiple=True, metavar="URI",
              help="Token holding a root key (repeat until the root threshold is met).")
@snapshot_token_option
@click.option("--label", metavar="LABEL",
              help="Label of the new targets key (default targets-<UTC time>).")
@click.option("--algorithm", default="ecdsa-p256", show_default=True,
              help="Algorithm of the new targets key.")
@click.option("--reason", default="targets key rotated", show_default=True,
              help="Why the old key is retired (recorded).")
@click.option("--root-expires", metavar="DURATION", help="New root lifetime (default 10y).")
@targets_expires_option
@ceremony_options
def rotate_targets(guns: tuple[str, ...], **kw: Any) -> None:
    """Replace the targets key of GUN(s): new key on the token, root v+1 signed by the root
    threshold, targets re-signed, old key retired."""
    from ceremony.ceremonies.rotate import RotateTargets
    common = _common(kw)
    ceremony = RotateTargets(
        guns=guns, all_guns=kw["all_guns"], targets_token=kw["targets_token"] or "",
        root_tokens=kw["root_tokens"], snapshot_token=kw["snapshot_token"],
        label=kw["label"], algorithm=kw["algorithm"], reason=kw["reason"],
        root_expires=_duration(kw["root_expires"], "--root-expires"),
        targets_expires=_duration(kw["targets_expires"], "--targets-expires"))
    _run(ceremony, common)


from ceremony.cli.rotateroot import rotate_root  # noqa: E402  (root rotation: its own module)

rotate.add_command(rotate_root)

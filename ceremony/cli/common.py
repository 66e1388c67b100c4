"""Helpers shared by the CLI modules: JSON output, the options every ceremony command takes,
the console a ceremony talks through (review, warnings, the one prompt reader), running a
ceremony and printing its result. Command modules import from here, never from each other."""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from ceremony.airgap import allow_network_option
from transfer.escaping import shown_data

if TYPE_CHECKING:  # the tables import the ceremonies: only when a command is built
    from ceremony.ceremonies.params import Param, Table

F = Callable[..., Any]

json_option = click.option("--json", "as_json", is_flag=True,
                           help="Machine-readable output (stable, documented in docs/).")


def emit(data: Any, as_json: bool, human: Callable[[Any], None]) -> None:
    """Print `data` as JSON (sorted, indented) or through the `human` printer."""
    if as_json:
        click.echo(json.dumps(data, indent=2, sort_keys=True))
    else:
        human(shown_data(data))  # every string from input escaped on screen


# --- options ----------------------------------------------------------------------------------

workspace_option = click.option("--workspace", metavar="DIR",
                                help="Offline workspace (default: $CEREMONY_WORKSPACE).")
out_option = click.option("--out", metavar="RESP", help="Where to write the response bundle.")
force_option = click.option("--force", is_flag=True, help="Replace an existing --out file.")
yes_option = click.option("--yes", is_flag=True,
                          help="Confirm without typing yes (recorded in the transcript).")
participant_option = click.option("--participant", "participants", multiple=True,
                                  metavar="NAME",
                                  help="A person present (recorded in the transcript); "
                                       "repeatable.")
pin_sources_option = click.option(
    "--pin-source", "pin_sources", multiple=True, metavar="[LABEL=]SOURCE",
    help="PIN source for token LABEL, or for every token: prompt, env:NAME, file:PATH. Never "
         "the PIN itself. Repeatable.")
module_option = click.option("--module", metavar="PATH", help="PKCS#11 module (.so).")


def table_options(table: Table) -> Callable[[F], F]:
    """A ceremony's click arguments and options, made from its parameter table
    (ceremony/ceremonies/params.py), in the table's order."""
    def decorate(f: F) -> F:
        for param in reversed(table.params):
            f = _click_parameter(param)(f)
        return f
    return decorate


def param_option(p: Param) -> Callable[[F], F]:
    """One table parameter as a click argument or option (for commands without a whole table,
    e.g. the TUF ceremonies' --allow-shorter)."""
    return _click_parameter(p)


def _click_parameter(p: Param) -> Callable[[F], F]:
    from ceremony.ceremonies import params
    if p.argument:
        return click.argument(p.dest, nargs=-1 if p.multiple else 1)
    kw: dict[str, Any] = {"help": p.help, "required": p.required, "multiple": p.multiple}
    if p.kind == params.FLAG:
        return click.option(p.option, p.dest, is_flag=True, **kw)
    if p.kind == params.INT:
        kw["type"] = click.IntRange(*p.bounds) if p.bounds else int
    elif p.kind == params.CHOICE:
        kw["type"] = click.Choice(list(p.choices))
    if p.default is not None:
        kw.update(default=p.default, show_default=True)
    return click.option(p.option, p.dest, metavar=p.shown_metavar, **kw)


def options(*decorators: Callable[[F], F]) -> Callable[[F], F]:
    """Several click options as one decorator, shown in the order given."""
    def decorate(f: F) -> F:
        for option in reversed(decorators):
            f = option(f)
        return f
    return decorate


# Who was there and whether a network was allowed: every command that keeps a transcript.
witness_options = options(participant_option, allow_network_option)
# What every command that signs with tokens takes (the ceremonies, `sign`).
signing_options = options(force_option, yes_option, witness_options, pin_sources_option,
                          module_option)

ceremony_options = options(
    workspace_option,
    click.option("--request", metavar="REQ", required=True,
                 help="Request bundle from `online fetch`."),
    click.option("--out", metavar="RESP", required=True,
                 help="Where to write the response bundle."),
    signing_options,
    click.option("--partial", is_flag=True,
                 help="If the tokens present cannot meet a threshold, write a partial "
                      "response for co-signing instead of refusing."),
    json_option,
)
"""The options every ceremony command takes."""


def ceremony_command(table: Table, summary: str, name: str | None = None) -> click.Command:
    """A ceremony's command: its table's arguments and options, the common ones, and a body
    that builds the ceremony from them, performs it and prints the result."""
    def command(**kwargs: Any) -> None:
        run_table(table, kwargs)
    return click.command(name or table.action, help=summary)(
        table_options(table)(ceremony_options(command)))


def common_options(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Take the common options (ceremony_options, --allow-shorter) out of a command's kwargs."""
    names = ("workspace", "request", "out", "force", "yes", "participants", "allow_network",
             "pin_sources", "module", "partial", "as_json")
    common = {name: kwargs.pop(name) for name in names}
    common["allow_shorter"] = kwargs.pop("allow_shorter", False)  # renew, rotate root
    return common


def duration(value: str | None, flag: str) -> dt.timedelta | None:
    """A DURATION option (hsm/duration.py's grammar), None when not given."""
    if value is None:
        return None
    from ceremony.ceremonies.durations import parse_duration
    return parse_duration(value, flag)


def expiry(value: str | None, flag: str) -> Any:
    """An EXPIRY option (hsm/duration.py: a duration from now, or a date)."""
    if value is None:
        return None
    from ceremony.ceremonies.durations import parse_expiry
    return parse_expiry(value, flag)


def build_ceremony(table: Table, kwargs: dict[str, Any], **frame: Any) -> Any:
    """The Ceremony of a command from its table's click values (after `common_options`);
    `frame`: the session's options the table's rules read (`partial`)."""
    from ceremony.ceremonies.params import given
    return table.build({**given(table.params, kwargs), **frame}, cli=True)


# --- the console ------------------------------------------------------------------------------

def echo_review(as_json: bool) -> Callable[[str], None]:
    """Where the review goes: standard output, or standard error with --json."""
    return lambda text: click.echo(text, err=as_json)


def warn(message: str) -> None:
    click.echo(f"warning: {message}", err=True)


def ask(prompt: str) -> str | None:
    """The one prompt reader: the answer typed on standard input (None: nothing to read).
    A piped answer is not echoed, so the prompt's line is ended for it (logs stay readable)."""
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


def console(as_json: bool) -> Any:
    """The Console a ceremony talks through on the command line."""
    from ceremony.ceremonies.session import Console
    return Console(show=echo_review(as_json), warn=warn, ask=ask)


# --- running a ceremony ---------------------------------------------------------------------

def run_table(table: Table, kwargs: dict[str, Any]) -> None:
    """A ceremony command's body: its Ceremony built from its table, performed, printed."""
    common = common_options(kwargs)
    run_ceremony(build_ceremony(table, kwargs, partial=common["partial"]), common)


def perform_ceremony(ceremony: Any, common: dict[str, Any]) -> dict[str, Any]:
    """Perform `ceremony` with the common options (as_json taken out); its result."""
    from ceremony.ceremonies.errors import CeremonyRefused
    from ceremony.ceremonies.session import Options
    from ceremony.notary.ceremonies.runner import perform
    as_json = common.pop("as_json")
    for flag, name in (("--request REQ", "request"), ("--out RESP", "out")):
        if not common.get(name):
            raise CeremonyRefused(f"missing {flag}")
    return perform(ceremony, Options(**common), console(as_json))


def run_ceremony(ceremony: Any, common: dict[str, Any]) -> None:
    """Perform `ceremony` with the common options and print its result."""
    as_json = common["as_json"]
    emit(perform_ceremony(ceremony, common), as_json, print_result)


def print_result(r: dict[str, Any]) -> None:
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
    from ceremony.notary.pins import PinSet
    for repo in repositories:
        if "pins" not in repo:
            continue
        pins, previous = PinSet.from_json(repo["pins"])
        click.echo("")
        if not complete:
            click.echo("(the root below is PARTIAL: pin it once it is complete and published)")
        for line in pins.render(previous):
            click.echo(line)

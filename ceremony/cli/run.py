"""`ceremony run SCRIPT.yaml`: a declarative ceremony (see docs/runbooks.md).

Thin: options go to ceremony.scripts (run.py for a real run, rehearsal.py for --dry-run).
The reviews and step headers go to standard output (standard error with --json, whose
document alone is on standard output).
"""

from __future__ import annotations

import sys
from typing import Any

import click

from ceremony.airgap import allow_network_option
from ceremony.cli.common import ask, echo_review, emit, json_option, warn


def _argv(script: str | None, kw: dict[str, Any]) -> list[str]:
    """This command's own arguments, to re-run it in a network namespace."""
    argv = ["run", *([script] if script else []), "--dry-run"]
    for source in kw["pin_sources"]:
        argv += ["--pin-source", source]
    for flag, name in (("--yes", "yes"), ("--allow-network", "allow_network"),
                       ("--json", "as_json"), ("--resume", "resume"), ("--abandon", "abandon")):
        if kw[name]:
            argv.append(flag)
    for flag, name in (("--workspace", "workspace"), ("--rehearsal-dir", "rehearsal_dir"),
                       ("--module", "module"), ("--out-dir", "out_dir")):
        if kw[name]:
            argv += [flag, kw[name]]
    return argv


@click.command()
@click.argument("script", required=False, type=click.Path(dir_okay=False))
@click.option("--dry-run", is_flag=True,
              help="Rehearse on throwaway SoftHSM tokens, workspace and outputs, with a local "
                   "notary-server playing the online machine. Without SCRIPT: the embedded "
                   "full rehearsal.")
@click.option("--yes", is_flag=True,
              help="Confirm the start and every review without typing yes (recorded).")
@click.option("--workspace", metavar="DIR",
              help="Offline workspace (default: $CEREMONY_WORKSPACE). With --dry-run: a "
                   "throwaway copy of it is the rehearsal's starting point.")
@allow_network_option
@click.option("--resume", is_flag=True,
              help="Resume the interrupted run of SCRIPT: steps recorded as done whose outputs "
                   "still match are skipped.")
@click.option("--abandon", is_flag=True,
              help="Close the interrupted run of SCRIPT (outcome 'abandoned') without doing "
                   "more.")
@click.option("--rehearsal-dir", metavar="DIR",
              help="With --dry-run: an empty or new folder for the rehearsal (default: a new "
                   "temporary folder, kept).")
@click.option("--out-dir", metavar="DIR",
              help="Where outputs are written (default: the script's folder).")
@click.option("--module", metavar="PATH", help="PKCS#11 module (.so); default: the script's.")
@click.option("--pin-source", "pin_sources", multiple=True, metavar="[LABEL=]SOURCE",
              help="PIN source for token LABEL, or for every token, over the script's "
                   "pin-source: prompt, env:NAME, file:PATH. Never the PIN itself. Repeatable.")
@json_option
def run(script: str | None, **kw: Any) -> None:
    """Run the ceremony SCRIPT (YAML): inputs checked, every step through the library, one
    transcript whose final digest is printed as hex and words."""
    from ceremony.notary.ceremonies.runner import Console
    from ceremony.scripts.run import RunOptions, real_run
    as_json = kw.pop("as_json")
    if kw["dry_run"]:
        from ceremony.scripts.rehearsal import run_isolated
        status = run_isolated(_argv(script, {**kw, "as_json": as_json}))
        if status is not None:
            sys.exit(status)
    kw["pin_sources"] = tuple(kw["pin_sources"])
    opts = RunOptions(script=script, **kw)
    console = Console(show=echo_review(as_json), warn=warn, ask=ask)
    if opts.dry_run:
        from ceremony.scripts.rehearsal import dry_run
        result = dry_run(opts, console)
    else:
        result = real_run(opts, console)
    emit(result, as_json, lambda _: None)

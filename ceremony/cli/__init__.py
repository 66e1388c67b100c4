"""The `ceremony` command: a thin click layer over the library.

Subcommands live in their own modules and are imported only when used, so an offline command
never imports the online module (and start-up stays fast).
"""

from __future__ import annotations

import errno
import importlib
import importlib.util
import json
import os
import sys

import click

from ceremony.errors import CeremonyError
from groundfloor.errors import GroundFloorError
from groundfloor.version import __version__
from hsm.errors import HSMError
from transfer.errors import TransferError
from transfer.escaping import shown

# command name -> "module:attribute". Modules that do not exist yet are not listed.
COMMANDS: dict[str, str] = {
    "token": "ceremony.cli.tokens:token",
    "key": "ceremony.cli.tokens:key",
    "verify": "ceremony.cli.verify:verify",
    "transfer": "ceremony.cli.transfer:transfer",
    "online": "ceremony.notary.cli.online:online",
    "transcript": "ceremony.cli.transcript:transcript",
    "init": "ceremony.notary.cli.ceremonies:init",
    "signer": "ceremony.notary.cli.ceremonies:signer",
    "delegation": "ceremony.notary.cli.ceremonies:delegation",
    "rotate": "ceremony.notary.cli.ceremonies:rotate",
    "renew": "ceremony.notary.cli.renew:renew",
    "sign": "ceremony.notary.cli.cosign:sign",
    "status": "ceremony.notary.cli.cosign:status",
    "merge": "ceremony.notary.cli.cosign:merge",
    "pin": "ceremony.notary.cli.cosign:pin",
    "pins": "ceremony.notary.cli.pins:pins",
    "run": "ceremony.cli.run:run",
    "adopt": "ceremony.notary.cli.adopt:adopt",
    "notation": "ceremony.notation.cli:notation",
    "tuf": "ceremony.tuf.cli:tuf",
}

USER_ERRORS = (CeremonyError, HSMError, TransferError, GroundFloorError)
# click >= 8.2 raises this (a UsageError) for a group called without a command.
NO_ARGS_IS_HELP = getattr(click.exceptions, "NoArgsIsHelpError", ())


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        names = [n for n, target in COMMANDS.items()
                 if importlib.util.find_spec(target.split(":")[0]) is not None]
        return sorted(set(names) | set(self.commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        if importlib.util.find_spec(module_name) is None:
            return None
        return getattr(importlib.import_module(module_name), attr)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ceremony")
def cli() -> None:
    """Offline, HSM-backed key ceremonies for Notary v1 / Docker Content Trust."""


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors become one line on stderr and a non-zero exit, never a traceback."""
    try:
        rv = cli.main(args=argv, prog_name="ceremony", standalone_mode=False)
    except click.exceptions.Abort:  # Ctrl-C (click turns KeyboardInterrupt into Abort)
        closed_transcripts(argv)
        click.echo("error: aborted", err=True)
        sys.exit(1)
    except NO_ARGS_IS_HELP as exc:  # `ceremony` or `ceremony key` alone: show the help
        exc.show()
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        # One format for every error, usage errors included: one line, `error: ...`.
        ctx = getattr(exc, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        click.echo(f"error: {one_line(exc.format_message())}{hint}", err=True)
        sys.exit(exc.exit_code)
    except USER_ERRORS as exc:
        closed_transcripts(argv)
        click.echo(f"error: {one_line(str(exc))}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        closed_transcripts(argv)
        click.echo("error: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # a bug: still one line, traceback only on request
        if isinstance(exc, OSError) and exc.errno in OUTPUT_ERRNOS:
            output_failed(exc)
        closed_transcripts(argv)
        if os.environ.get("CEREMONY_DEBUG"):
            raise
        click.echo(f"error: internal error ({type(exc).__name__}): {one_line(str(exc))} "
                   "(set CEREMONY_DEBUG=1 for a traceback)", err=True)
        sys.exit(70)
    try:
        sys.stdout.flush()
    except OSError as exc:
        output_failed(exc)
    sys.exit(rv if isinstance(rv, int) else 0)


def closed_transcripts(argv: list[str] | None) -> None:
    """After a run that failed, was refused or interrupted: the final digest of every
    transcript it closed, on stdout (stderr keeps its one `error:` line), to write into the
    paper log like a completed run's."""
    module = sys.modules.get("ceremony.transcript")
    for closed in getattr(module, "CLOSED", ()):
        if "--json" in (sys.argv[1:] if argv is None else argv):
            click.echo(json.dumps({"transcript": str(closed.path), "outcome": closed.outcome,
                                   "transcript_sha256": closed.final_digest,
                                   "transcript_words": closed.final_words}, sort_keys=True))
            continue
        click.echo(f"transcript {closed.path} ({closed.outcome})")
        click.echo(f"  final digest {closed.final_digest}")
        click.echo(f"  words        {closed.final_words}")


# Writing stdout failed: a full device (ENOSPC, /dev/full), a closed pipe, an I/O error.
OUTPUT_ERRNOS = (errno.ENOSPC, errno.EPIPE, errno.EIO, errno.EFBIG, errno.EDQUOT)


def output_failed(exc: OSError) -> None:
    """One line and exit 1; stdout is pointed at /dev/null first so that the buffered rest
    does not fail again (with a second message) when the interpreter exits."""
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, sys.stdout.fileno())
    os.close(null)
    click.echo(f"error: cannot write the output ({exc.strerror or exc}); free space or give "
               "another destination", err=True)
    sys.exit(1)


def one_line(text: str) -> str:
    """One line for an error message, anything from input in it shown escaped."""
    return shown(" ".join(text.split()))

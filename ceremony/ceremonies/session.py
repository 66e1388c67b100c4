"""The session frame every ceremony, co-signing step, pin and import runs inside, written once.

In this order, whatever runs inside:
1. `--out` must not exist (unless `--force`): checked before anything else.
2. Workspace opened; transcript started (ceremony, participants, the command's choices).
3. Workspace lock taken (one ceremony per workspace at a time), held to the end.
4. Air gap checked; findings and `--allow-network` recorded, and a warning shown when it lets
   the command run with a network up.
5. The body runs: it stages its workspace changes in `session.tx` and calls `session.finish`.
6. The staged changes are committed, recorded ("workspace" entry), the transcript closed with
   the summary; `session.digest` holds its final digest.
Whatever stops the body is recorded and the transcript closed: a refusal (CeremonyRefused,
NetworkPresentError) as "refused", Ctrl-C as "interrupted", anything else as "failed". The
tokens are logged out at the end in every case.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ceremony.airgap import NetworkPresentError, network_warning, require_offline
from ceremony.ceremonies.errors import CeremonyRefused
from ceremony.ceremonies.tokens import CeremonyTokens
from ceremony.transcript import Transcript
from ceremony.workspace import ENV as WORKSPACE_ENV
from ceremony.workspace import Transaction, Workspace
from groundfloor.files import check_output
from groundfloor.words import digest_words
from hsm.stores import token_store_folders


@dataclass(kw_only=True)
class Options:
    """What every ceremony and co-signing command takes (the common options)."""

    out: str = ""  # empty: the command writes no output file (pin, adopt import)
    request: str = ""
    workspace: str | None = None
    force: bool = False
    yes: bool = False
    participants: Sequence[str] = ()
    allow_network: bool = False
    pin_sources: Sequence[str] = ()
    module: str | None = None
    partial: bool = False
    # Accept a new expiry earlier than the current one (scripted runs; interactive runs are
    # asked to type `shorten`).
    allow_shorter: bool = False
    # Makes the run's transcript; called like Transcript.create. `ceremony run` passes one that
    # records the ceremony as a step of the script's single transcript.
    transcript_factory: Callable[..., Transcript] | None = None


@dataclass
class Console:
    """How a ceremony talks to people. `ask` returns None when there is nothing to read."""

    show: Callable[[str], None]
    warn: Callable[[str], None]
    ask: Callable[[str], str | None]


class Session:
    """One open session: workspace, its locked transaction, transcript and tokens."""

    def __init__(self, name: str, options: Options, console: Console, ws: Workspace,
                 transcript: Transcript, tx: Transaction, tokens: CeremonyTokens):
        self.name = name
        self.options = options
        self.console = console
        self.ws = ws
        self.transcript = transcript
        self.tx = tx
        self.tokens = tokens
        self.changes: Mapping[str, Any] | None = None
        self.summary: dict[str, Any] = {}
        self.digest = ""  # the transcript's final digest, once closed

    def finish(self, changes: Mapping[str, Any], **summary: Any) -> None:
        """What the workspace records once committed, and the transcript's closing summary."""
        self.changes = changes
        self.summary = summary

    def confirm(self, question: str) -> None:
        """The one confirmation rule (`confirm` below)."""
        confirm(self.options, self.transcript, self.console, question)

    def confirm_shortening(self, shortened: Sequence[str]) -> None:
        """An earlier expiry's own confirmation (`confirm_shortening` below)."""
        confirm_shortening(self.options, self.transcript, self.console, shortened)

    def transcript_fields(self) -> dict[str, Any]:
        """The closed transcript for a command's JSON summary: path, digest, words."""
        return {"transcript": str(self.transcript.path), "transcript_sha256": self.digest,
                "transcript_words": digest_words(bytes.fromhex(self.digest))}


def confirm(options: Options, transcript: Transcript, console: Console, question: str) -> None:
    """The one confirmation rule of every ceremony: --yes (recorded as such), or the typed
    answer 'yes'; anything else, or nothing to read, refuses before anything is signed."""
    if options.yes:
        transcript.confirmation(question, "yes", via_yes=True)
        return
    answer = console.ask(f"{question} Type yes to sign: ")
    if answer is None:
        raise CeremonyRefused("no confirmation: nothing to read on standard input; type yes "
                              "at the prompt, or pass --yes; nothing was signed")
    transcript.confirmation(question, answer.strip()[:64], via_yes=False)
    if answer.strip() != "yes":
        raise CeremonyRefused("not confirmed (the answer was not 'yes'); nothing was signed")


def confirm_shortening(options: Options, transcript: Transcript, console: Console,
                       shortened: Sequence[str]) -> None:
    """An expiry moved earlier needs its own explicit confirmation: `--allow-shorter`, or
    `shorten` typed; `--yes` alone refuses (a typo such as 12h for 12y must not pass)."""
    if not shortened:
        return
    what = "; ".join(shortened[:3]) + (f"; and {len(shortened) - 3} more"
                                       if len(shortened) > 3 else "")
    question = f"This SHORTENS an expiry ({what})."
    if options.allow_shorter:
        transcript.append("confirmation", {"question": question, "answer": "shorten",
                                           "via": "--allow-shorter"})
        return
    if options.yes:
        raise CeremonyRefused(f"the new expiry is EARLIER than the current one ({what}); give "
                              "a later expiry, or confirm with --allow-shorter; nothing was "
                              "signed")
    answer = console.ask(f"{question} Type shorten to accept it: ")
    transcript.append("confirmation", {"question": question,
                                       "answer": (answer or "").strip()[:64], "via": "typed"})
    if answer is None or answer.strip() != "shorten":
        raise CeremonyRefused("the shorter expiry was not accepted (the answer was not "
                              "'shorten'); nothing was signed")


def record_stop(transcript: Transcript, exc: BaseException) -> None:
    """Record why a command stopped and close its transcript: refused, interrupted or failed."""
    if isinstance(exc, CeremonyRefused | NetworkPresentError):
        transcript.refusal(str(exc), **getattr(exc, "details", {}))
        transcript.close("refused")
        return
    transcript.error(exc)
    transcript.close("interrupted" if isinstance(exc, KeyboardInterrupt) else "failed")


@contextmanager
def session(name: str, options: Options, console: Console, *, data: Mapping[str, Any],
            create_workspace: bool = False) -> Iterator[Session]:
    """The frame (see the module's docstring); `data` goes into the transcript's start."""
    if options.out:
        check_output(options.out, force=options.force,
                     state={"workspace": options.workspace or os.environ.get(WORKSPACE_ENV),
                            **token_store_folders()})
    ws = Workspace.open(options.workspace, create=create_workspace)
    create = options.transcript_factory or Transcript.create
    transcript = create(ws.new_transcript_path(name), ceremony=name,
                        participants=list(options.participants), data=dict(data))
    tokens: CeremonyTokens | None = None
    try:
        with ws.transaction() as tx:
            if options.participants:
                transcript.participants(list(options.participants))
            findings = require_offline(options.allow_network)
            transcript.append("airgap", {"findings": findings,
                                         "allow_network": options.allow_network,
                                         "offline": not findings})
            if findings:  # recorded first: the warning says so
                console.warn(network_warning(findings))
            tokens = CeremonyTokens(module=options.module, pin_sources=options.pin_sources,
                                    on_warning=console.warn)
            current = Session(name, options, console, ws, transcript, tx, tokens)
            yield current
            if current.changes is None:
                raise RuntimeError(f"{name}: the session ended without finish()")
        transcript.append("workspace", dict(current.changes))
        current.digest = transcript.close("completed", **current.summary)
    except BaseException as exc:
        record_stop(transcript, exc)
        raise
    finally:
        if tokens is not None:
            tokens.close()

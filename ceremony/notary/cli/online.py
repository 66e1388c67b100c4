"""`ceremony online fetch|publish`: the online machine's two jobs. Never run offline.

This is the only CLI module that imports ceremony.notary.online (the network code).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from ceremony.notary.online import (
    DEFAULT_JOBS,
    MAX_JOBS,
    SNAPSHOT_KEY_CHOICES,
    OnlineError,
    fetch_request,
    publish_response,
)
from groundfloor.files import read_limited
from groundfloor.limits import MAX_GUNS_FROM_BYTES
from transfer.bundle import BundleError, read_bundle, write_bundle
from transfer.escaping import shown_lines
from transfer.operations import OPERATIONS
from transfer.progress import ProgressBar
from transfer.summary import describe

OPERATION_LIST = ", ".join(OPERATIONS)


server_option = click.option("--server", required=True, metavar="URL",
                             help="Notary server, e.g. https://notary.example.com")
ca_option = click.option("--ca", type=click.Path(exists=True, dir_okay=False), metavar="FILE",
                         help="CA certificate(s) for the server's TLS (default: system store).")
http_option = click.option("--allow-http", is_flag=True,
                           help="Allow a plain-HTTP server URL (labs only).")
timeout_option = click.option("--timeout", type=click.FloatRange(1, 600), default=30.0,
                              show_default=True, help="Seconds per HTTP request.")
jobs_option = click.option("--jobs", type=click.IntRange(1, MAX_JOBS), default=DEFAULT_JOBS,
                           show_default=True,
                           help="Repositories handled at once (one kept-alive connection each).")
progress_option = click.option("--progress/--no-progress", default=None,
                               help="A progress bar on stderr (default: when stderr is a "
                                    "terminal; then the per-repository lines are left out).")


def _bar(what: str, progress: bool | None) -> tuple[ProgressBar, Any]:
    """The bar, and where per-repository messages go (nowhere while a bar is drawn)."""
    bar = ProgressBar(what, enabled=progress)
    return bar, (None if bar.enabled else (lambda m: click.echo(m, err=True)))


@click.group()
def online() -> None:
    """Online machine only: fetch requests from, and publish responses to, a Notary server."""


def _params(pairs: tuple[str, ...], params_json: str | None) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if params_json is not None:
        try:
            loaded = json.loads(params_json)
        except ValueError as exc:
            raise click.BadParameter(f"not JSON: {exc}", param_hint="--params-json") from None
        if not isinstance(loaded, dict):
            raise click.BadParameter("must be a JSON object", param_hint="--params-json")
        params.update(loaded)
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--param")
        params[key] = value
    return params


def _guns(guns: tuple[str, ...], guns_from: str | None) -> list[str]:
    listed = list(guns)
    if guns_from is not None:
        try:
            text = read_limited(guns_from, MAX_GUNS_FROM_BYTES, what="--guns-from list").decode(
                "ascii")
        except UnicodeDecodeError:
            raise click.BadParameter("GUNs are ASCII; the file has other bytes",
                                     param_hint="--guns-from") from None
        listed += [line.strip() for line in text.splitlines()
                   if line.strip() and not line.lstrip().startswith("#")]
    if not listed:
        raise click.UsageError("give at least one GUN (or --guns-from FILE)")
    return listed


@online.command()
@click.argument("guns", nargs=-1)
@click.option("--guns-from", type=click.Path(exists=True, dir_okay=False), metavar="FILE",
              help="Read further GUNs from FILE, one per line (# comments allowed).")
@server_option
@ca_option
@click.option("--out", required=True, type=click.Path(dir_okay=False), metavar="REQUEST",
              help="Where to write the request bundle.")
@click.option("--operation", metavar="NAME",
              help="What is asked (required for an existing repository; default for a new "
                   "one: init); the operations are listed above.")
@click.option("--param", "param_pairs", multiple=True, metavar="KEY=VALUE",
              help="A string parameter of the operation (repeatable).")
@click.option("--params-json", metavar="JSON", help="Operation parameters as a JSON object.")
@click.option("--snapshot-key", type=click.Choice(SNAPSHOT_KEY_CHOICES), default="auto",
              show_default=True,
              help="Fetch snapshot.key: auto = for new repositories only (for an existing one "
                   "each GET creates a pending key on the server).")
@click.option("--force", is_flag=True, help="Overwrite REQUEST if it exists.")
@http_option
@timeout_option
@jobs_option
@progress_option
def fetch(guns: tuple[str, ...], guns_from: str | None, server: str, ca: str | None, out: str,
          operation: str | None, param_pairs: tuple[str, ...], params_json: str | None,
          snapshot_key: str, force: bool, allow_http: bool, timeout: float, jobs: int,
          progress: bool | None) -> None:
    """Download what the server has for each GUN and write a request bundle.

    For an existing repository: its current metadata (root, targets, delegations, snapshot,
    timestamp) fetched consistently by hash, and the full root history 1..N. For a new one:
    nothing but the keys. timestamp.key and (see --snapshot-key) snapshot.key are fetched once
    each: before a repository's first root, every GET of a key creates a new one.
    Interrupted, run the same command again: the repositories already fetched (noted in
    REQUEST.fetched, removed once REQUEST is written) are not fetched again.

    \b
    Operations (--operation NAME) and the offline command that answers each:
      init               ceremony init (the default for a new repository)
      signer-add         ceremony signer add
      signer-remove      ceremony signer remove
      delegation-add     ceremony delegation add
      delegation-remove  ceremony delegation remove
      rotate-targets     ceremony rotate targets
      rotate-root        ceremony rotate root
      renew              ceremony renew
      pin                ceremony pin (a second site comes to trust the repository)
      adopt              ceremony adopt / adopt import (a repository onto tokens)
    """
    if operation is not None and operation not in OPERATIONS:
        raise click.BadParameter(f"unknown operation {operation!r}; use one of: "
                                 f"{OPERATION_LIST}", param_hint="--operation")
    listed = _guns(guns, guns_from)
    params = _params(param_pairs, params_json)
    if Path(out).exists() and not force:
        # Before any request: a GET of a new repository's keys creates keys on the server.
        raise BundleError(f"refusing to overwrite existing file {out} (use --force)")
    bar, messages = _bar("fetch", progress)
    record = Path(f"{out}.fetched")  # an interrupted fetch continues from it; removed below
    try:
        bundle = fetch_request(server, listed, ca=ca, operation=operation, params=params,
                               snapshot_key=snapshot_key, timeout=timeout,
                               allow_http=allow_http, progress=messages, jobs=jobs, on_done=bar,
                               record=record)
    except OnlineError as exc:
        if operation is None and "--operation" in str(exc):
            raise OnlineError(f"{exc} (one of: {', '.join(list(OPERATIONS)[1:])})") from None
        raise _unreachable(exc) from None
    finally:
        bar.finish()
    write_bundle(out, bundle, overwrite=force)
    record.unlink(missing_ok=True)
    click.echo(shown_lines(describe(bundle)))
    click.echo(f"wrote {out}")


def _unreachable(exc: OnlineError) -> OnlineError:
    """A network failure says that `online` commands run on the ONLINE machine."""
    text = str(exc)
    if not text.startswith("cannot reach") or not _no_network():
        return exc
    return OnlineError(f"{text}: this machine has no network; `ceremony online` commands run "
                       "on the online machine (the one that reaches the Notary server), not "
                       "on the air-gapped one")


def _no_network() -> bool:
    from ceremony.airgap import network_findings
    return not network_findings()


@online.command()
@click.argument("response", type=click.Path(dir_okay=False))
@server_option
@ca_option
@click.option("--gun", "only", multiple=True, metavar="GUN",
              help="Publish only this GUN from the response (repeatable).")
@click.option("--record", type=click.Path(dir_okay=False), metavar="FILE",
              help="Where to note each repository published, so a rerun after an "
                   "interruption continues (default: RESPONSE.published).")
@http_option
@timeout_option
@jobs_option
@progress_option
def publish(response: str, server: str, ca: str | None, only: tuple[str, ...],
            record: str | None, allow_http: bool, timeout: float, jobs: int,
            progress: bool | None) -> None:
    """Upload a response bundle's signed files to the server, exactly as signed.

    At the first repository the server refuses, no further one starts, and the server's
    reason is printed. What was published is noted in the record file; run the same command
    again to continue where it stopped.
    """
    bundle = read_bundle(response, kind="response")
    click.echo(shown_lines(describe(bundle)))
    bar, messages = _bar("publish", progress)
    try:
        published = publish_response(server, bundle, ca=ca, guns=only or None,
                                     timeout=timeout, allow_http=allow_http, progress=messages,
                                     jobs=jobs, record=Path(record or f"{response}.published"),
                                     on_done=bar)
    except OnlineError as exc:
        raise _unreachable(exc) from None
    finally:
        bar.finish()
    click.echo(f"published {len(published)} repositor{'y' if len(published) == 1 else 'ies'}")

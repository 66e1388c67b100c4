"""`ceremony transcript verify`: check a transcript's chain and show its final digest."""

from __future__ import annotations

import click

from ceremony.cli.common import emit, json_option
from ceremony.transcript import Verification, verify_transcript


@click.group()
def transcript() -> None:
    """Ceremony transcripts (append-only, hash-chained JSON lines)."""


@transcript.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--allow-open", is_flag=True,
              help="Accept a transcript without an 'end' entry (ceremony in progress).")
@click.option("--expect", metavar="DIGEST",
              help="The final digest recorded at the ceremony (hex, or the words in quotes).")
@click.option("--response", "responses", multiple=True, metavar="RESP",
              help="A response bundle the ceremony wrote (e.g. the copy that crossed the air "
                   "gap): it names the transcript's digest when it was made. Repeatable.")
@json_option
def verify(file: str, allow_open: bool, expect: str | None, responses: tuple[str, ...],
           as_json: bool) -> None:
    """Verify FILE: sequence, hash chain, canonical entries, start and end, no torn tail, and
    its anchors: --expect DIGEST (from the paper log), the ANCHORS record written beside it
    when it was closed, response bundles it wrote.

    Prints the final digest as hex and as words, to compare with the one written down at the
    ceremony. Any tampering (an entry edited, deleted, reordered, or the file cut) is reported
    as one line naming where, with a non-zero exit code. Without any anchor it warns: the
    chain alone cannot show that its end was not rewritten.
    """
    result = verify_transcript(file, allow_open=allow_open, expect=expect,
                               responses=responses)
    start = result.entries[0].data
    data = {"ok": True, "file": file, "entries": len(result.entries),
            "ceremony": start.get("ceremony"), "tool_version": start.get("version"),
            "closed": result.closed, "outcome": result.outcome, "repairs": result.repairs,
            "final_sha256": result.final_digest, "final_words": result.final_words,
            "expected_matched": expect is not None, "anchored_by": list(result.anchored_by)}

    def human(escaped: dict) -> None:  # emit hands over the data with every string escaped
        _print(result, escaped)

    emit(data, as_json, human)
    if not result.anchored_by:
        click.echo(NO_ANCHOR, err=True)


NO_ANCHOR = ("warning: verified WITHOUT an anchor: nothing kept elsewhere was compared (no "
             "ANCHORS record beside it, no response bundle it wrote); the chain alone shows "
             "only that the file is consistent -- whoever can edit it can rewrite its end. "
             "Pass --expect DIGEST with the final digest from the paper log.")


def _print(result: Verification, data: dict) -> None:
    state = f"closed ({data['outcome']})" if result.closed else "OPEN (no end entry yet)"
    click.echo(f"transcript OK: {data['entries']} entries, seq 1..{result.entries[-1].seq}, "
               f"ceremony '{data['ceremony']}', {state}")
    if result.repairs:
        click.echo(f"note: {result.repairs} torn entry fragment(s) were cut off after a crash "
                   "and recorded as repair entries")
    if data["expected_matched"]:
        click.echo("final digest matches the expected one")
    for anchor in result.anchored_by:
        if anchor != "--expect":
            click.echo(f"anchored by {anchor}: matches")
    click.echo(f"final sha256 {result.final_digest}")
    click.echo(f"final words  {result.final_words}")

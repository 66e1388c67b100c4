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
@json_option
def verify(file: str, allow_open: bool, expect: str | None, as_json: bool) -> None:
    """Verify FILE: sequence, hash chain, canonical entries, start and end, no torn tail.

    Prints the final digest as hex and as words, to compare with the one written down at the
    ceremony. Any tampering (an entry edited, deleted, reordered, or the file cut) is reported
    as one line naming where, with a non-zero exit code.
    """
    result = verify_transcript(file, allow_open=allow_open, expect=expect)
    start = result.entries[0].data
    data = {"ok": True, "file": file, "entries": len(result.entries),
            "ceremony": start.get("ceremony"), "tool_version": start.get("version"),
            "closed": result.closed, "outcome": result.outcome, "repairs": result.repairs,
            "final_sha256": result.final_digest, "final_words": result.final_words,
            "expected_matched": expect is not None}

    def human(escaped: dict) -> None:  # emit hands over the data with every string escaped
        _print(result, escaped)

    emit(data, as_json, human)


def _print(result: Verification, data: dict) -> None:
    state = f"closed ({data['outcome']})" if result.closed else "OPEN (no end entry yet)"
    click.echo(f"transcript OK: {data['entries']} entries, seq 1..{result.entries[-1].seq}, "
               f"ceremony '{data['ceremony']}', {state}")
    if result.repairs:
        click.echo(f"note: {result.repairs} torn entry fragment(s) were cut off after a crash "
                   "and recorded as repair entries")
    if data["expected_matched"]:
        click.echo("final digest matches the expected one")
    click.echo(f"final sha256 {result.final_digest}")
    click.echo(f"final words  {result.final_words}")

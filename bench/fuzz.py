"""Fuzz every parser for longer: the properties of tests/hardening/properties.py, many examples.

    python bench/fuzz.py --seconds 600            # a time budget, shared by the parsers
    python bench/fuzz.py --examples 20000         # or a number of examples per parser
    python bench/fuzz.py --parser bundle --parser qr-frame --seconds 60

Prints one JSON object: examples run and seconds spent per parser, and every failure found (the
shrunk input and the exception). Exit status 1 if anything failed. Hypothesis runs without a
deadline and without its example database, in rounds of fresh random examples until the budget
is spent; a parser stops at its first failure (shrunk), the others go on.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402

from tests.hardening.properties import PROPERTIES, Property, seeds  # noqa: E402

ROUND = 500  # most examples per hypothesis run (rounds are sized to fit the time budget)


def fuzz(prop: Property, *, examples: int | None, seconds: float | None) -> dict:
    """Run `prop` for `examples` examples or `seconds` seconds; count and report failures."""
    count = 0
    last: list[object] = [None]

    def check(value: object) -> None:
        nonlocal count
        count += 1
        last[0] = value
        prop.check(value)

    strategy = prop.strategy()
    failures: list[dict] = []
    started = time.monotonic()
    done = 0
    batch = 50  # a first small round measures the speed; later rounds fit the time left
    while not failures:
        elapsed = time.monotonic() - started
        if seconds is not None:
            if elapsed >= seconds:
                break
            if done:
                rate = count / max(elapsed, 1e-3)
                batch = max(10, min(ROUND, int(rate * (seconds - elapsed))))
        else:
            batch = min(ROUND, examples - done)
            if batch <= 0:
                break

        @settings(max_examples=batch, deadline=None, database=None,
                  phases=(Phase.generate, Phase.shrink),
                  suppress_health_check=list(HealthCheck))
        @given(strategy)
        def run(value: object) -> None:
            check(value)

        try:
            run()
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # noqa: BLE001 - any escape is the finding
            # Several distinct failures come as an ExceptionGroup: report each.
            found = exc.exceptions if isinstance(exc, BaseExceptionGroup) else (exc,)
            failures += [_describe(e, last[0]) for e in found]
        done += batch
    return {"examples": count, "seconds": round(time.monotonic() - started, 2),
            "failures": failures}


def _describe(exc: BaseException, last: object) -> dict:
    frames = traceback.extract_tb(exc.__traceback__)
    where = f"{frames[-1].filename}:{frames[-1].lineno} in {frames[-1].name}" if frames else ""
    notes = [n for n in getattr(exc, "__notes__", []) if "example" in n.lower()]
    return {"exception": f"{type(exc).__name__}: {str(exc)[:300]}", "where": where,
            "input": (notes[0] if notes else repr(last))[:2000]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--seconds", type=float, help="total time budget, shared by parsers")
    budget.add_argument("--examples", type=int, help="examples per parser")
    parser.add_argument("--parser", action="append", choices=[p.name for p in PROPERTIES],
                        help="only this parser (repeatable)")
    args = parser.parse_args(argv)
    chosen = [p for p in PROPERTIES if not args.parser or p.name in args.parser]
    if args.seconds is None and args.examples is None:
        args.seconds = 60.0
    per_parser = args.seconds / len(chosen) if args.seconds is not None else None
    started = time.monotonic()
    seeds()  # build the good inputs once, outside the per-parser clocks
    results = {p.name: fuzz(p, examples=args.examples, seconds=per_parser) for p in chosen}
    report = {
        "budget": {"seconds": args.seconds, "examples_per_parser": args.examples},
        "parsers": results,
        "total_examples": sum(r["examples"] for r in results.values()),
        "total_seconds": round(time.monotonic() - started, 2),
        "failures": sum(len(r["failures"]) for r in results.values()),
    }
    print(json.dumps(report, indent=2))
    return 1 if report["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())

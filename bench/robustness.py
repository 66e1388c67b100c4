"""Robustness report: run the bad-input catalogue, the fault injections and the fuzzer, print JSON.

    python bench/robustness.py [--fuzz-seconds 60] [--jobs 2]

- bad input: every case of tests/hardening/catalogue.py through the real CLI, counted per input
  kind, each checked as the test suite checks it (one error line naming the problem, no
  traceback, nothing written or changed);
- faults: the disk-full scenarios of tests/hardening/disk_full.py (real ENOSPC on a tmpfs), and
  SIGKILL at every fault point of a workspace commit and of transcript writing -- the points
  are counted by tracing the same writers the tests kill (imported from them), and the killing
  tests themselves are run;
- ceremonies (part 2): the attack, fault and review-completeness tests of tests/hardening,
  collected by id (`pytest --collect-only -q`) and run; attacks and faults counted per test, and
  the SIGKILLs of a whole `rotate targets` read from what that test prints;
- resources (issue 12): the hostile-resource tests (readers given FIFOs, devices, sparse
  giants, endless stdin; JSON amplification; huge images; fountain floods; terminal spoofing;
  outputs; key rules and PINs), run with every refusal's peak RSS and time recorded;
- cost: the peak RSS (the command's own VmHWM) and the slowest refusal over the catalogue and
  the resource tests (limits: 512 MiB; the time limit of each case is a hang, not a target);
- fuzz: the parser properties of tests/hardening/properties.py for --fuzz-seconds;
- failures: every failure of the above, by name (target: none). Exit status 1 if any.

Needs root (network and mount namespaces), SoftHSM, and the test dependencies.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def bad_input(base: Path, jobs: int) -> dict:
    from softhsm.env import TokenSpec, create_env
    from tests.hardening.catalogue import CATALOGUE, KINDS, make_inputs, run_case

    hsm = create_env(base / "hsm", [TokenSpec("root-a")])
    inputs = make_inputs(base, hsm.env, hsm.root, hsm.pin_source("root-a"))

    def one(case):
        work = base / "cases" / case.id
        work.mkdir(parents=True)
        return run_case(case, inputs, work)

    with ThreadPoolExecutor(jobs) as pool:
        outcomes = list(pool.map(one, CATALOGUE))
    by_kind = {kind: {"tried": 0, "passed": 0} for kind in KINDS}
    for outcome in outcomes:
        by_kind[outcome.case.kind]["tried"] += 1
        by_kind[outcome.case.kind]["passed"] += outcome.ok
    heaviest = max(outcomes, key=lambda o: o.result.peak_rss)
    slowest = max(outcomes, key=lambda o: o.result.seconds)
    return {"cases": len(outcomes), "by_kind": by_kind,
            "peak_rss_mib": round(heaviest.result.peak_rss / 2**20, 1),
            "peak_rss_case": heaviest.case.id,
            "slowest_refusal": {"case": slowest.case.id,
                                "seconds": round(slowest.result.seconds, 2)},
            "failures": [{"case": o.case.id, "problems": o.problems} for o in outcomes
                         if not o.ok]}


def disk_full(base: Path) -> dict:
    from softhsm.env import TokenSpec, create_env
    from tests.conftest import AIRGAPPED, run_cli
    from tests.hardening.disk_full import NEEDS_TOKEN, SCENARIOS, run

    hsm = create_env(base / "hsm", [TokenSpec("root-a")])
    r = run_cli("key", "generate", "--token", "root-a", "--label", "root", "--pin-source",
                hsm.pin_source("root-a"), env=hsm.env, wrapper=AIRGAPPED)
    token_env = {**hsm.env, "DISK_FULL_PIN_SOURCE": hsm.pin_source("root-a")}
    failures = [] if r.returncode == 0 else [{"scenario": "token set-up", "problems": [r.stderr]}]
    for name in sorted(SCENARIOS):
        report = run(name, base, token_env if name in NEEDS_TOKEN else None)
        if report["problems"]:
            failures.append({"scenario": name, "problems": report["problems"]})
    return {"scenarios": len(SCENARIOS), "failures": failures}


def sigkill(base: Path) -> dict:
    """Count the kill points of the writers the SIGKILL tests use, then run those tests."""
    from ceremony.inventory import TokenRecord
    from ceremony.workspace import Workspace
    from tests.bundle.test_workspace import COMMIT, key_record
    from tests.transcript.test_transcript import _run_writer

    # The workspace commit of tests/bundle/test_workspace.py, traced once.
    ws = Workspace.open(base / "ws", create=True)
    old_key, new_key = key_record(), key_record(guns=("example.com/repo-0",))
    with ws.transaction() as tx:
        for i in range(3):
            tx.add_trusted_root(f"example.com/repo-{i}", 1, f"root 1 of {i}".encode())
            tx.record_signed(f"example.com/repo-{i}", "targets", 4, b"t4")
        tx.add_key(old_key)
        tx.add_token(TokenRecord(serial="0001", label="root-a", added="2026-01-01T00:00:00Z"))
    trace = base / "ws.trace"
    subprocess.run([sys.executable, "-c", COMMIT % (old_key.key_id, old_key.key_id),
                    str(base / "ws"), json.dumps(new_key.to_dict())], check=True,
                   env={**os.environ, "PYTHONPATH": str(ROOT),
                        "CEREMONY_FAULT_TRACE": str(trace)}, capture_output=True)
    commit_points = len(trace.read_text().split())
    # The transcript writer of tests/transcript/test_transcript.py, traced once.
    trace = base / "t.trace"
    _run_writer(base / "t.jsonl", {"CEREMONY_FAULT_TRACE": str(trace)})
    transcript_points = len(trace.read_text().split())
    tests = ["tests/bundle/test_workspace.py::"
             "test_sigkill_at_every_commit_step_leaves_old_or_new_state",
             "tests/transcript/test_transcript.py::"
             "test_sigkill_at_every_fault_point_leaves_a_verifiable_transcript",
             "tests/transcript/test_transcript.py::"
             "test_sigkill_in_the_middle_of_a_write_is_repaired"]
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-n", "0", *tests], cwd=ROOT, capture_output=True, text=True)
    return {"workspace_commit_points": commit_points, "transcript_points": transcript_points,
            "torn_writes": 2,  # a half line killed mid-write, and the repair killed mid-way
            "kills": commit_points + transcript_points + 2,
            "failures": [] if proc.returncode == 0 else [{"tests": tests,
                                                          "output": proc.stdout[-2000:]}]}


CEREMONY_TESTS = {"attacks": "tests/hardening/test_ceremony_attacks.py",
                  "faults": "tests/hardening/test_ceremony_faults.py",
                  "review": "tests/hardening/test_review_completeness.py"}


def ceremonies(base: Path, jobs: int) -> dict:
    """Part 2's tests, by id: collected, run once (junit XML for the outcome of each)."""
    import re
    import xml.etree.ElementTree as ET
    pytest = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider"]
    proc = subprocess.run([*pytest, "--collect-only", "-q", *CEREMONY_TESTS.values()],
                          cwd=ROOT, capture_output=True, text=True)
    ids = [line for line in proc.stdout.splitlines() if "::" in line]
    if proc.returncode != 0 or not ids:
        return {"tests": 0, "failures": [{"collect": proc.stdout[-2000:]}]}
    junit = base / "junit.xml"
    proc = subprocess.run([*pytest, "-q", "-rP", "-n", str(jobs), f"--junitxml={junit}", *ids],
                          cwd=ROOT, capture_output=True, text=True)
    outcome: dict[str, str] = {}
    if junit.exists():
        for case in ET.parse(junit).iter("testcase"):
            name = f"{case.get('classname', '').replace('.', '/')}.py::{case.get('name')}"
            bad = case.find("failure") if case.find("failure") is not None else case.find("error")
            outcome[name] = "failed" if bad is not None else (
                "skipped" if case.find("skipped") is not None else "passed")
    by_group = {}
    for group, path in CEREMONY_TESTS.items():
        mine = [i for i in ids if i.startswith(path)]
        by_group[group] = {"tests": len(mine),
                           "passed": sum(outcome.get(i) == "passed" for i in mine),
                           "ids": [i.split("::", 1)[1] for i in mine]}
    killed = re.search(r"fault points: (\d+) killed at: (\[.*?\])", proc.stdout)
    kills = len(killed.group(2).split(",")) if killed else 0
    failures = [{"test": i, "outcome": outcome.get(i, "not run")} for i in ids
                if outcome.get(i) != "passed"]
    if kills == 0:
        failures.append({"test": "sigkill count", "outcome": "no 'killed at' line printed"})
    return {"tests": len(ids), "by_group": by_group,
            "fault_points": int(killed.group(1)) if killed else 0, "sigkills": kills,
            # a token pulled mid-ceremony (1), three wrong PINs in a row (3): by the tests
            "token_pulled": 1, "wrong_pins": 3,
            "injected": kills + 1 + 3,
            "failures": failures, "output": proc.stdout[-2000:] if failures else ""}


RESOURCE_TESTS = ["tests/hardening/test_resources.py", "tests/hardening/test_amplification.py",
                  "tests/hardening/test_terminal.py", "tests/hardening/test_outputs.py",
                  "tests/hardening/test_key_rules.py"]


def resources(base: Path, jobs: int) -> dict:
    """Issue 12's tests, each refusal's peak RSS and time recorded by tests/hardening/bounded.py
    (CEREMONY_HARDENING_MEASURE), failures read from junit XML."""
    import xml.etree.ElementTree as ET

    from tests.hardening.bounded import MEASURE_ENV, RSS_LIMIT
    record, junit = base / "measured.jsonl", base / "junit.xml"
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-p", "no:randomly", "-n", str(jobs), f"--junitxml={junit}",
                           *RESOURCE_TESTS], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, MEASURE_ENV: str(record)})
    runs = [json.loads(line) for line in record.read_text().splitlines()] \
        if record.exists() else []
    tests = failed = 0
    failures = []
    if junit.exists():
        for case in ET.parse(junit).iter("testcase"):
            tests += 1
            if case.find("failure") is not None or case.find("error") is not None:
                failed += 1
                failures.append({"test": f"{case.get('classname')}::{case.get('name')}"})
    if proc.returncode != 0 and not failures:
        failures.append({"tests": RESOURCE_TESTS, "output": proc.stdout[-2000:]})
    heaviest = max(runs, key=lambda r: r["peak_rss"], default=None)
    slowest = max(runs, key=lambda r: r["seconds"], default=None)
    if heaviest and heaviest["peak_rss"] >= RSS_LIMIT:
        failures.append({"test": heaviest["test"], "peak_rss": heaviest["peak_rss"]})
    return {"tests": tests, "passed": tests - failed, "refusals_measured": len(runs),
            "peak_rss_mib": round(heaviest["peak_rss"] / 2**20, 1) if heaviest else None,
            "peak_rss_test": heaviest["test"] if heaviest else None,
            "slowest_refusal": {"test": slowest["test"], "seconds": slowest["seconds"]}
            if slowest else None,
            "failures": failures}


def fuzz(seconds: float) -> dict:
    from bench.fuzz import fuzz as run_fuzz
    from tests.hardening.properties import PROPERTIES, seeds
    seeds()
    per = seconds / len(PROPERTIES)
    results = {p.name: run_fuzz(p, examples=None, seconds=per) for p in PROPERTIES}
    return {"parsers": len(results), "seconds": seconds,
            "iterations": {name: r["examples"] for name, r in results.items()},
            "total_iterations": sum(r["examples"] for r in results.values()),
            "failures": [{"parser": name, **f} for name, r in results.items()
                         for f in r["failures"]]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fuzz-seconds", type=float, default=60.0)
    parser.add_argument("--jobs", type=int, default=2, help="catalogue cases run in parallel")
    args = parser.parse_args(argv)
    started = time.monotonic()
    base = Path(tempfile.mkdtemp(prefix="robustness-"))
    timings: dict[str, float] = {}
    try:
        def timed(name, fn, *a):
            t0 = time.monotonic()
            (base / name).mkdir()
            out = fn(base / name, *a) if name != "fuzz" else fn(*a)
            timings[name] = round(time.monotonic() - t0, 1)
            return out

        report = {"bad_input": timed("bad_input", bad_input, args.jobs),
                  "resources": timed("resources", resources, args.jobs),
                  "faults": {"disk_full": timed("disk_full", disk_full),
                             "sigkill": timed("sigkill", sigkill),
                             "ceremonies": timed("ceremonies", ceremonies, args.jobs)},
                  "fuzz": timed("fuzz", fuzz, args.fuzz_seconds)}
    finally:
        shutil.rmtree(base, ignore_errors=True)
    failures = (report["bad_input"]["failures"] + report["resources"]["failures"]
                + report["faults"]["disk_full"]["failures"]
                + report["faults"]["sigkill"]["failures"]
                + report["faults"]["ceremonies"]["failures"] + report["fuzz"]["failures"])
    report["attacks"] = report["faults"]["ceremonies"]["by_group"].get("attacks", {}).get(
        "tests", 0)
    report["faults"]["injected"] = (report["faults"]["disk_full"]["scenarios"]
                                    + report["faults"]["sigkill"]["kills"]
                                    + report["faults"]["ceremonies"].get("injected", 0))
    cost = [(report["bad_input"]["peak_rss_mib"], report["bad_input"]["peak_rss_case"]),
            (report["resources"]["peak_rss_mib"] or 0, report["resources"]["peak_rss_test"])]
    slow = [(report["bad_input"]["slowest_refusal"]["seconds"],
             report["bad_input"]["slowest_refusal"]["case"])]
    if report["resources"]["slowest_refusal"]:
        slow.append((report["resources"]["slowest_refusal"]["seconds"],
                     report["resources"]["slowest_refusal"]["test"]))
    report["cost"] = {"peak_rss_mib": max(cost)[0], "peak_rss_of": max(cost)[1],
                      "rss_limit_mib": 512, "slowest_refusal_seconds": max(slow)[0],
                      "slowest_refusal_of": max(slow)[1]}
    report["failures"] = failures
    report["seconds"] = {**timings, "total": round(time.monotonic() - started, 1)}
    print(json.dumps(report, indent=2))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

"""Fault injection: die by SIGKILL at named points, so tests can prove crash safety.

Code that writes durable state calls `fault_point("name")` between its steps. Normally that is
a dictionary lookup and nothing else. When the environment variable CEREMONY_FAULT_INJECT is
set (only tests and rehearsals do that), the process kills itself with SIGKILL -- no cleanup, no
flush, exactly like a power cut or `kill -9` -- at:
- `N` (a positive integer): the N-th fault point reached by this process;
- `NAME`: the first fault point called NAME;
- `NAME:N`: the N-th time the fault point NAME is reached.
Writers may also call `armed(NAME)` to do a partial write before `die()` (a torn record).
CEREMONY_FAULT_TRACE=FILE appends the name of every fault point reached to FILE, so a test can
count the points of an operation and then kill it at each one.
"""

from __future__ import annotations

import os
import signal

ENV_INJECT = "CEREMONY_FAULT_INJECT"
ENV_TRACE = "CEREMONY_FAULT_TRACE"

_counts: dict[str, int] = {}
_total = 0


def fault_point(name: str) -> None:
    """Mark a point between two durable steps; see the module docstring."""
    spec = os.environ.get(ENV_INJECT)
    trace = os.environ.get(ENV_TRACE)
    if not spec and not trace:
        return
    global _total
    _total += 1
    _counts[name] = _counts.get(name, 0) + 1
    if trace:
        with open(trace, "a", encoding="utf-8") as fh:
            fh.write(name + "\n")
    if not spec:
        return
    target, _, nth = spec.partition(":")
    if target.isdigit():
        hit = _total == int(target)
    else:
        hit = target == name and _counts[name] == (int(nth) if nth.isdigit() else 1)
    if hit:
        os.kill(os.getpid(), signal.SIGKILL)


def armed(name: str) -> bool:
    """True when CEREMONY_FAULT_INJECT is `NAME[:N]` and this is the N-th call for NAME.

    For points where a writer simulates what a power cut leaves (part of a record on disk)
    before calling die(). Counted apart from fault_point() and never hit by a numeric spec.
    """
    spec = os.environ.get(ENV_INJECT)
    if not spec:
        return False
    target, _, nth = spec.partition(":")
    if target != name:
        return False
    key = "armed:" + name
    _counts[key] = _counts.get(key, 0) + 1
    return _counts[key] == (int(nth) if nth.isdigit() else 1)


def die() -> None:
    """SIGKILL this process now (after an armed() point did its partial write)."""
    os.kill(os.getpid(), signal.SIGKILL)

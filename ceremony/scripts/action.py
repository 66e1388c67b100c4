"""One script action's description (`do:` in a step): its parameters, references, tokens and
output. Every trust system's actions are described with this type; the catalogue of all of them
is `actions_spec.ACTIONS`, their executors `run.EXECUTORS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ceremony.scripts import fields as f

if TYPE_CHECKING:
    from ceremony.ceremonies.params import Table

REQUEST, RESPONSE, PUBLIC_KEY, CERTIFICATE, FRAMES, PINS, REPORT = (
    "request", "response", "public-key", "certificate", "frames", "pins", "report")
ALGORITHMS = ("ecdsa-p256", "ecdsa-p384", "rsa-3072", "rsa-4096", "ed25519")
DENSITIES = ("low", "default", "high")


@dataclass(frozen=True)
class ActionSpec:
    name: str
    summary: str
    params: dict[str, f.Reader]
    required: tuple[str, ...] = ()
    setup_optional: tuple[str, ...] = ()  # optional in rehearsal setup steps
    refs: dict[str, tuple[str, ...]] = field(default_factory=dict)
    tokens: tuple[str, ...] = ()
    output: str | None = None
    operation: str | None = None  # the request operation a ceremony answers
    online: bool = False  # plays the online machine: rehearsals only
    machines: tuple[str, ...] = ("offline",)
    expect: tuple[str, ...] = ("sha256", "same-as")
    check: Callable[[dict[str, Any], str, bool], None] | None = None

    def validate(self, params: dict[str, Any], where: str, setup: bool) -> None:
        if self.check is not None:
            self.check(params, where, setup)

    def guns_of(self, params: dict[str, Any]) -> list[str]:
        return [*params.get("guns", []), *([params["gun"]] if "gun" in params else [])]

    def paths_written(self, params: dict[str, Any]) -> list[str]:
        return [params[k] for k in ("out", "png", "svg", "sheet", "text", "copy")
                if k in params]


def table_check(table: Table) -> Callable[[dict[str, Any], str, bool], None]:
    """A ceremony action's check: the rules between its table's parameters, evaluated by the
    table (`Table.refusal`, the same as the command line's), refused naming the step."""
    def check(params: dict[str, Any], where: str, setup: bool) -> None:
        problem = table.refusal(params, cli=False)
        if problem is not None:
            raise f.fail(where, problem)
    return check

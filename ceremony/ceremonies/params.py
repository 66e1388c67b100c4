"""A ceremony's parameters, declared once: one `Table` per ceremony, beside the ceremony.

From that one table the command line makes its click arguments and options
(`cli/common.table_options`), a ceremony script makes its action's readers, required keys,
token keys and references (`scripts/actions_spec`), and both build the Ceremony through
`Table.build`, so a default, a help text or a duration grammar cannot differ between them.

A parameter is named by its script key (`root-tokens`); its option is `--KEY` unless `flag`
says otherwise (a repeatable option is singular: `--root-token`). Durations and expiries are
read with the tool's one grammar (hsm/duration.py) by the same function on both sides.

The rules BETWEEN parameters (GUNs or --all; a root change names something to change; renew's
role decides its tokens) are data too: a `Rule` names parameters by key, `Table.refusal`
evaluates every rule of a table in one place, and the sentence it gives names options on the
command line (`--all`, `--keep-targets`) and keys in a script (`all: true`, `keep-targets: true`).
`Table.build` refuses with it (command line and script run alike) and a script's validation
(scripts/action.table_check) refuses a step with the same sentence before anything runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ceremony.ceremonies.durations import parse_duration, parse_expiry
from ceremony.ceremonies.errors import CeremonyRefused
from hsm.keys import DEFAULT_ALGORITHM

# What a value is. The readers of a script and the types of click are chosen by it.
TEXT, INT, FLAG, CHOICE = "text", "int", "flag", "choice"
DURATION, EXPIRY, WINDOW = "duration", "expiry", "window"  # hsm/duration.py's grammar
GUN, DELEGATION_ROLE, SIGNER, KEY_LABEL, KEY_ID, TOKEN_LABEL, PASSPHRASE_SOURCE = (
    "gun", "delegation-role", "signer", "key-label", "key-id", "token-label",
    "passphrase-source")
NAME, SUBJECT, SERIAL, URL = "name", "subject", "serial", "url"  # the notation ceremonies'
KEY_ID_PREFIX = "key-id-prefix"  # a TUF key ID or its first characters (tuf/tables.py)
GRAMMAR_METAVARS = {DURATION: "DURATION", EXPIRY: "DURATION|DATE", WINDOW: "DURATION"}
GRAMMARS = tuple(GRAMMAR_METAVARS)
ROOT_ALGORITHMS = ("ecdsa-p256", "ecdsa-p384", "rsa-3072", "rsa-4096")  # Notary v1 root keys
TARGETS_ALGORITHMS = (*ROOT_ALGORITHMS, "ed25519")  # Notary v1 targets keys may be Ed25519
SAME = ""  # Param.arg: the ceremony's keyword is the key with '_' for '-'


@dataclass(frozen=True)
class Param:
    key: str  # the script key; the CLI option is --KEY unless `flag` is given
    help: str = ""
    kind: str = TEXT
    default: Any = None
    flag: str | None = None
    arg: str | None = SAME  # the Ceremony's keyword; None: not the ceremony's (e.g. allow-shorter)
    metavar: str | None = None
    multiple: bool = False
    minimum: int = 0  # a script list's fewest items
    required: bool = False  # on the command line and in a script
    script_required: bool = False  # in a script only (a script must be reproducible)
    argument: bool = False  # a positional argument on the command line
    cli_only: bool = False  # not offered to scripts
    choices: tuple[str, ...] = ()  # CHOICE: both sides; other kinds: a script's allowed values
    token: str = ""  # a token, for this role's key: a URI on the command line, a name in a script
    ref: tuple[str, ...] = ()  # a file: a path on the command line, a reference in a script
    load: Callable[[str], Any] | None = None  # what the ceremony takes of that file
    bounds: tuple[int, int] | None = None  # INT: the least and the most, on both sides
    # A value's own rule (a distinguished name, a serial): `check(value, flag)` returns what the
    # ceremony takes or refuses naming the option or key; a script checks it when it is read.
    check: Callable[[str, str], Any] | None = None

    @property
    def dest(self) -> str:
        """The click parameter's name."""
        return self.key.replace("-", "_")

    @property
    def option(self) -> str:
        return self.flag or f"--{self.key}"

    @property
    def keyword(self) -> str | None:
        return self.dest if self.arg == SAME else self.arg

    def named(self, cli: bool) -> str:
        """How a refusal names this parameter: its option (or argument) on the command line,
        its key in a script (`all: true` for a flag)."""
        if cli:
            return (self.metavar or self.key.upper()) if self.argument else self.option
        return f"{self.key}: true" if self.kind == FLAG else self.key

    @property
    def shown_metavar(self) -> str | None:
        if self.metavar:
            return self.metavar
        return GRAMMAR_METAVARS.get(self.kind) or ("URI" if self.token else None)

    def convert(self, value: Any, flag: str) -> Any:
        """One given value as the ceremony takes it; a duration refused names `flag`."""
        if self.kind == DURATION:
            return parse_duration(value, flag)
        if self.kind == WINDOW:
            return parse_duration(value, flag, allow_zero=True)
        if self.kind == EXPIRY:
            return parse_expiry(value, flag)
        if self.check is not None:
            return self.check(value, flag)
        return self.load(value) if self.load is not None else value

    def value(self, given: Any, flag: str) -> Any:
        """The ceremony's value from what was given (None or empty: not given)."""
        if given is None or (self.multiple and not given):
            if self.default is None:
                return [] if self.multiple else None
            given = self.default
        if self.multiple:
            return [self.convert(item, flag) for item in given]
        return self.convert(given, flag)


def like(param: Param, **changes: Any) -> Param:
    """A shared parameter with this ceremony's own wording or rules."""
    return replace(param, **changes)


# --- rules between parameters ----------------------------------------------------------------

# What a rule asks of the parameters it names (given: not None, false, empty or the default).
ONE_OF = "one of"  # exactly one given
ANY_OF = "any of"  # at least one given
NOT_BOTH = "not both"  # at most one given
NEEDS = "needs"  # every one given (with `when`: only then; `unless` given: not needed)
EXCLUDES = "excludes"  # none given (with `when`: only then)


@dataclass(frozen=True)
class Rule:
    """A rule between a ceremony's parameters, named by key. `when` = (key, value): the rule
    holds only when that parameter has that value (renew's role). `hint` ends the refusal in
    words that name no option, so that it reads the same on the command line and in a script.
    `unless`: a parameter (or the session's `partial`) that, given, lifts the rule."""

    kind: str
    keys: tuple[str, ...]
    when: tuple[str, Any] | None = None
    hint: str = ""
    unless: str = ""


def one_of(*keys: str, hint: str = "") -> Rule:
    return Rule(ONE_OF, keys, hint=hint)


def any_of(*keys: str, hint: str = "") -> Rule:
    return Rule(ANY_OF, keys, hint=hint)


def not_both(*keys: str, hint: str = "") -> Rule:
    return Rule(NOT_BOTH, keys, hint=hint)


def needs(*keys: str, when: tuple[str, Any], hint: str = "", unless: str = "") -> Rule:
    return Rule(NEEDS, keys, when, hint, unless)


def excludes(*keys: str, when: tuple[str, Any], hint: str = "") -> Rule:
    return Rule(EXCLUDES, keys, when, hint)


# The session's options a rule may read besides the table's (they are not the ceremony's, so
# not in its table): `--partial` / `partial: true`, a response for co-signing.
FRAME_PARAMS = {"partial": Param("partial", kind=FLAG, default=False, arg=None)}


def _listed(names: Sequence[str]) -> str:
    """`a`, `a or b`, `a, b or c`."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def _is_given(param: Param, value: Any) -> bool:
    if value is None or value is False or value == param.default:
        return False
    return not (isinstance(value, str | list | tuple) and not value)


@dataclass(frozen=True)
class Table:
    """The parameters of one ceremony, the rules between them, and how it is made from them."""

    action: str  # the script action and the request operation it answers
    make: Callable[..., Any]
    params: tuple[Param, ...]
    rules: tuple[Rule, ...] = ()

    def __post_init__(self) -> None:
        keys = {p.key for p in self.params}
        for rule in self.rules:  # a misspelt key would make a rule that never refuses
            named = {*rule.keys, *([rule.when[0]] if rule.when else [])}
            if rule.unless and rule.unless not in FRAME_PARAMS:
                named.add(rule.unless)
            if named - keys:
                raise ValueError(f"{self.action}: a rule names {sorted(named - keys)}, not a "
                                 "parameter of the table")

    def build(self, values: Mapping[str, Any], *, cli: bool) -> Any:
        """The Ceremony from `values` by key (tokens already URIs, files already paths);
        a refusal names the option (`--root-expires`) or the script key (`root-expires`)."""
        problem = self.refusal(values, cli=cli)
        if problem is not None:
            raise CeremonyRefused(problem)
        kwargs = {p.keyword: p.value(values.get(p.key), p.option if cli else p.key)
                  for p in self.params if p.keyword is not None}
        return self.make(**kwargs)

    def script_params(self) -> tuple[Param, ...]:
        return tuple(p for p in self.params if not p.cli_only)

    def refusal(self, values: Mapping[str, Any], *, cli: bool) -> str | None:
        """The first rule `values` (by key) break, as one sentence in the words of the
        command line (`cli`) or of a script; None when every rule holds. A script offers no
        command-line-only parameter: a rule there is read without them."""
        offered = {**FRAME_PARAMS,
                   **{p.key: p for p in (self.params if cli else self.script_params())}}
        for rule in self.rules:
            params_ = [offered[k] for k in rule.keys if k in offered]
            if not params_ or not _applies(rule, values, offered):
                continue
            given_ = [p for p in params_ if _is_given(p, values.get(p.key))]
            problem = _broken(rule, params_, given_, cli)
            if problem is not None:
                when = "" if rule.when is None else _shown_when(offered[rule.when[0]],
                                                                 rule.when[1], cli)
                lifted = f" or {offered[rule.unless].named(cli)}" if rule.unless in offered else ""
                return f"{when}{problem}{lifted}{f' {rule.hint}' if rule.hint else ''}"
        return None


def _applies(rule: Rule, values: Mapping[str, Any], offered: Mapping[str, Param]) -> bool:
    """Whether `rule` holds for `values`: its `when` is met and its `unless` not given."""
    if rule.unless in offered and _is_given(offered[rule.unless], values.get(rule.unless)):
        return False
    if rule.when is None:
        return True
    key, wanted = rule.when
    if key not in offered:
        return False
    value = values.get(key)
    return (offered[key].default if value is None else value) == wanted


def _shown_when(param: Param, value: Any, cli: bool) -> str:
    """`--role root ` on the command line, `role: root ` in a script (a flag: `--x`/`x: true`)."""
    if param.kind == FLAG:
        return f"{param.named(cli)} "
    return f"{param.option} {value} " if cli else f"{param.key}: {value} "


def _broken(rule: Rule, params_: list[Param], given_: list[Param], cli: bool) -> str | None:
    """What `rule` asks and `given_` (of `params_`) does not do, None when the rule holds."""
    names = [p.named(cli) for p in params_]
    if rule.kind == ONE_OF and not given_ or rule.kind == ANY_OF and not given_:
        return f"give {_listed(names)}"
    if rule.kind in (ONE_OF, NOT_BOTH) and len(given_) > 1:
        shown = [p.named(cli) for p in given_]
        return f"give {_listed(shown)}, not both" if len(shown) == 2 \
            else f"give only one of {_listed(shown)}"
    missing = [p.named(cli) for p in params_ if p not in given_]
    if rule.kind == NEEDS and missing:
        return f"needs {' and '.join(missing)}"
    if rule.kind == EXCLUDES and given_:
        return f"does not take {_listed([p.named(cli) for p in given_])}"
    return None


# --- parameters several ceremonies share (each may reword one with `like`) --------------------

GUNS = Param("guns", "Repositories (GUNs) of the request.", kind=GUN, multiple=True, minimum=1,
             argument=True, metavar="GUN ...")
ONE_GUN = Param("gun", kind=GUN, argument=True, required=True)
ALL_GUNS = Param("all", "Every GUN of the request.", kind=FLAG, default=False, arg="all_guns")
TARGETS_TOKEN = Param("targets-token", "Token holding the targets key.", token="targets")
SNAPSHOT_TOKEN = Param("snapshot-token", "Token holding the snapshot key, when the snapshot is "
                       "signed offline.", token="snapshot")
SNAPSHOT_EXPIRES = Param("snapshot-expires", "Lifetime of an offline snapshot (default 3y).",
                         kind=DURATION)
TARGETS_EXPIRES = Param("targets-expires", "Lifetime of the re-signed targets.json (default 3y).",
                        kind=DURATION)
ROOT_TOKENS = Param("root-tokens", flag="--root-token", token="root", multiple=True, minimum=1)
ROOT_THRESHOLD = Param("root-threshold", "Root signatures needed (M of the root tokens).",
                       kind=INT, default=1, metavar="M")
ROOT_ALGORITHM = Param("algorithm", "Root key algorithm: " + ", ".join(ROOT_ALGORITHMS) + ".",
                       default=DEFAULT_ALGORITHM, choices=ROOT_ALGORITHMS)
TARGETS_ALGORITHM = Param("targets-algorithm", "Targets/snapshot key algorithm (default: "
                          "--algorithm; ed25519 allowed).", choices=TARGETS_ALGORITHMS)
ALLOW_SHORTER = Param(
    "allow-shorter", "Accept a new expiry EARLIER than the current one (recorded); without it a "
    "shortening must be confirmed by typing shorten, and --yes alone refuses it.", kind=FLAG,
    default=False, arg=None)  # an option of the session (runner.Options), not of the ceremony


# The repositories a bulk ceremony changes: named, or every one of the request.
GUNS_OR_ALL = one_of("guns", "all", hint="(the repositories to change, or every one in the "
                     "request)")


def given(params: Sequence[Param], values: Mapping[str, Any]) -> dict[str, Any]:
    """The values by key of the click parameters named after `params` (their dest)."""
    return {p.key: values[p.dest] for p in params if p.dest in values}

"""The parameters of each TUF 1.0 ceremony, declared once (ceremonies/params.py).

From each table the command line makes its options (cli_ceremonies.py, cli_sign.py), a ceremony
script makes its action (scripts/tuf_spec.py, executed by scripts/tuf_steps.py) and both build
the ceremony with `Table.build`. A TUF ceremony is a function of the session's options and
console (ceremonies.perform, signceremony.sign_request); what a table builds is that function
with the offline choices bound (`Choices`, `SignChoices`), called once the session's options
are known.

What stays outside the tables is the session frame (`--out`, `--request`, `--workspace`, PIN
sources, ...), which every command declares and a script step gives as `out`/`request` (and
`repository`, a script's check of the response).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from ceremony.ceremonies import params
from ceremony.ceremonies.session import Console, Options

# Keys a TUF key may be (ceremony/tuf/keys.py reads these public keys; P-521 it does not).
TUF_ALGORITHMS = ("ecdsa-p256", "ecdsa-p384", "rsa-3072", "rsa-4096", "ed25519")
RESPONSE_REF = ("file", "response")  # an input file, or an earlier step's response


def _choices(**given: Any) -> Any:
    """The ceremony's Choices (lists as the tuples it keeps)."""
    from ceremony.tuf.context import Choices
    return Choices(**{k: tuple(v) if isinstance(v, list) else v for k, v in given.items()})


def ceremony(operation: str) -> Callable[..., Any]:
    """A table's `make` for `ceremonies.perform(operation, ...)`: that ceremony with its
    choices bound, a function of the session's options and console."""
    def make(**given: Any) -> Any:
        from ceremony.tuf.ceremonies import perform
        return partial(perform, operation, _choices(**given))
    make.choices = _choices  # type: ignore[attr-defined]  # what the tests compare
    return make


def _sign(choices: Any, options: Options, console: Console) -> dict[str, Any]:
    from ceremony.tuf.signceremony import sign_request
    return sign_request(options, console, choices)


def sign_choices(**given: Any) -> Any:
    from ceremony.tuf.signceremony import SignChoices
    return SignChoices(**{k: tuple(v) if isinstance(v, list) else v for k, v in given.items()})


def sign(**given: Any) -> Any:
    """`sign-request`'s make: signceremony.sign_request with its SignChoices bound."""
    return partial(_sign, sign_choices(**given))


sign.choices = sign_choices  # type: ignore[attr-defined]


# --- parameters several TUF ceremonies share ------------------------------------------------

# A script names the tokens that sign (a script must be reproducible); the command line may
# leave them out when the keys made on --root-token/--targets-token are the ones that sign.
TOKENS = params.Param("tokens", "A token holding a key that signs (current root or targets "
                      "keys); repeatable.", flag="--token", token="signing", multiple=True,
                      minimum=1, script_required=True)
ROOT_TOKENS = params.Param("root-tokens", "A token to make (or reuse) a root key on, labelled "
                           "--key-label; repeatable, one per root key holder.",
                           flag="--root-token", token="root", multiple=True)
ROOT_THRESHOLD = params.Param("root-threshold", "The root role's threshold (init default: a "
                              "majority of the root keys).", kind=params.INT, bounds=(1, 100))
TARGETS_TOKEN = params.Param("targets-token", "The token to make (or reuse) the targets key "
                             "on.", token="targets")
KEY_LABEL = params.Param("key-label", "Label of the root key made on each --root-token.",
                         kind=params.KEY_LABEL, default="tuf-root")
TARGETS_LABEL = params.Param("targets-label", "Label of the targets key on --targets-token.",
                             kind=params.KEY_LABEL, default="tuf-targets")
ALGORITHM = params.Param("algorithm", "Algorithm of keys made on tokens (ecdsa-p256, "
                         "ecdsa-p384, ed25519, rsa-3072, ...).", kind=params.CHOICE,
                         default="ecdsa-p256", choices=TUF_ALGORITHMS)
ROOT_EXPIRES = params.Param("root-expires", "Lifetime of a new root.", kind=params.DURATION,
                            default="1y")
TARGETS_EXPIRES = params.Param("targets-expires", "Lifetime of a new targets.",
                               kind=params.DURATION, default="90d")
REMOVE_KEYS = params.Param("remove-keys", "A root key to remove (its key ID or first 8+ "
                           "characters); repeatable.", flag="--remove-key",
                           kind=params.KEY_ID_PREFIX, metavar="KEYID", multiple=True)
DELEGATE_TOKENS = params.Param("delegate-tokens", "A token to make (or reuse) a key of the "
                               "delegated role (or of all its hash bins) on; repeatable.",
                               flag="--delegate-token", token="delegated", multiple=True)
DELEGATE_LABEL = params.Param("delegate-label", "Label of the key made on each "
                              "--delegate-token.", kind=params.KEY_LABEL,
                              default="tuf-delegated")
ALLOW_SHORTER = params.ALLOW_SHORTER  # the session's option (Options.allow_shorter)

INIT = params.Table("tuf-init", ceremony("init"), (
    params.like(ROOT_TOKENS, minimum=1, script_required=True),
    ROOT_THRESHOLD,
    params.like(TARGETS_TOKEN, script_required=True),
    KEY_LABEL, TARGETS_LABEL, ALGORITHM, ROOT_EXPIRES, TARGETS_EXPIRES,
))

ROTATE_ROOT = params.Table("tuf-rotate-root", ceremony("rotate-root"), (
    TOKENS, ROOT_TOKENS, REMOVE_KEYS, ROOT_THRESHOLD, KEY_LABEL, TARGETS_LABEL, ALGORITHM,
    ROOT_EXPIRES, TARGETS_EXPIRES, ALLOW_SHORTER,
), rules=(  # refused before the request is read; the plan still refuses a threshold unchanged
    params.any_of("root-tokens", "remove-keys", "root-threshold", hint="(a root rotation must "
                  "change root's keys or threshold; to extend its expiry only, renew)"),
))

ROTATE_KEY = params.Table("tuf-rotate-key", ceremony("rotate-key"), (
    TOKENS, TARGETS_TOKEN, KEY_LABEL, TARGETS_LABEL, ALGORITHM, ROOT_EXPIRES, TARGETS_EXPIRES,
    ALLOW_SHORTER,
))

RENEW = params.Table("tuf-renew", ceremony("renew"), (
    TOKENS, ROOT_EXPIRES, TARGETS_EXPIRES, ALLOW_SHORTER,
))

DELEGATION_ADD = params.Table("tuf-delegation-add", ceremony("delegation-add"), (
    TOKENS, DELEGATE_TOKENS, DELEGATE_LABEL, ALGORITHM, TARGETS_EXPIRES, ALLOW_SHORTER,
))

DELEGATION_REMOVE = params.Table("tuf-delegation-remove", ceremony("delegation-remove"), (
    TOKENS, TARGETS_EXPIRES, ALLOW_SHORTER,
))

SIGN = params.Table("tuf-sign", sign, (
    params.like(TOKENS, help="Token holding a key to sign with; repeatable.", required=True,
                script_required=False),
    params.Param("partial", "Co-sign: another site's partial response to the same request.",
                 metavar="RESP", ref=RESPONSE_REF),
    params.Param("signatures-only", "The response carries only the signatures, not the "
                 "signed file.", kind=params.FLAG, default=False),
    params.Param("trust-root-sha256", "First contact only: the SHA-256 of the repository's "
                 "root file you trust (from its owners, out of band); it is pinned in the "
                 "workspace.", kind=params.KEY_ID, metavar="HEX"),
))

TABLES: dict[str, params.Table] = {t.action: t for t in (
    INIT, ROTATE_ROOT, ROTATE_KEY, RENEW, DELEGATION_ADD, DELEGATION_REMOVE, SIGN)}

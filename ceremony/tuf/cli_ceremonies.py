"""`ceremony tuf init|rotate-root|rotate-key|delegation add|delegation remove|renew`: the TUF
ceremonies (a thin CLI over ceremonies.py), with the options every ceremony takes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import click

from ceremony.cli.common import (
    allow_shorter_option,
    ceremony_options,
    common_options,
    console,
    duration,
    emit,
)

token_option = click.option("--token", "tokens", multiple=True, metavar="URI",
                            help="A token holding a key that signs (current root or targets "
                                 "keys); repeatable.")
root_token_option = click.option("--root-token", "root_tokens", multiple=True, metavar="URI",
                                 help="A token to make (or reuse) a root key on, labelled "
                                      "--key-label; repeatable, one per root key holder.")
root_threshold_option = click.option("--root-threshold", type=click.IntRange(1, 100),
                                     help="The root role's threshold (init default: a "
                                          "majority of the root keys).")
targets_token_option = click.option("--targets-token", metavar="URI",
                                    help="The token to make (or reuse) the targets key on.")
labels = [click.option("--key-label", default="tuf-root", show_default=True,
                       help="Label of the root key made on each --root-token."),
          click.option("--targets-label", default="tuf-targets", show_default=True,
                       help="Label of the targets key on --targets-token."),
          click.option("--algorithm", default="ecdsa-p256", show_default=True,
                       help="Algorithm of keys made on tokens (ecdsa-p256, ecdsa-p384, "
                            "ed25519, rsa-3072, ...).")]
expiry_options = [click.option("--root-expires", metavar="DURATION", default="1y",
                               show_default=True, help="Lifetime of a new root."),
                  click.option("--targets-expires", metavar="DURATION", default="90d",
                               show_default=True, help="Lifetime of a new targets.")]


def _apply(options: list[Any], f: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(options):
        f = option(f)
    return f


def _run(operation: str, kwargs: dict[str, Any]) -> None:
    from ceremony.ceremonies.errors import CeremonyRefused
    from ceremony.ceremonies.session import Options
    from ceremony.tuf.ceremonies import perform
    from ceremony.tuf.context import Choices
    common = common_options(kwargs)
    as_json = common.pop("as_json")
    if common.pop("partial"):
        raise CeremonyRefused("--partial: a TUF ceremony here signs with every key a threshold "
                              "needs; co-signing across sites is `ceremony tuf sign`")
    expires = {name: duration(kwargs.pop(name, None), f"--{name.replace('_', '-')}")
               for name in ("root_expires", "targets_expires")}
    choices = Choices(tokens=tuple(kwargs.pop("tokens", ())),
                      root_tokens=tuple(kwargs.pop("root_tokens", ())),
                      remove_keys=tuple(kwargs.pop("remove_keys", ())),
                      root_threshold=kwargs.pop("root_threshold", None),
                      targets_token=kwargs.pop("targets_token", None),
                      key_label=kwargs.pop("key_label", "tuf-root"),
                      targets_label=kwargs.pop("targets_label", "tuf-targets"),
                      algorithm=kwargs.pop("algorithm", "ecdsa-p256"),
                      root_expires=expires["root_expires"] or timedelta(days=365),
                      targets_expires=expires["targets_expires"] or timedelta(days=90),
                      delegate_tokens=tuple(kwargs.pop("delegate_tokens", ())),
                      delegate_label=kwargs.pop("delegate_label", "tuf-delegated"))
    assert not kwargs, kwargs
    result = perform(operation, choices, Options(**common), console(as_json))
    emit(result, as_json, _print)


def _print(r: dict[str, Any]) -> None:
    click.echo(f"wrote response {r['response']} ({r['operation']} for '{r['repository']}')")
    click.echo(f"  response sha256 {r['response_sha256']}")
    click.echo(f"  response words  {r['response_words']}")
    for f in r["files"]:
        click.echo(f"  {f['file']}: {f['role']} v{f['version']}, expires {f['expires']}, "
                   f"{len(f['signed_by'])} signature(s)")
    click.echo(f"logins: {r['logins']}; token signatures: {r['signatures']}")
    click.echo(f"transcript {r['transcript']}")
    click.echo(f"  final digest {r['transcript_sha256']}")
    click.echo(f"  words        {r['transcript_words']}")


def register(group: click.Group) -> None:
    """Add the ceremonies to the `ceremony tuf` group."""

    def init(**kwargs: Any) -> None:
        """Make a new TUF repository's root v1 (root keys M of N on tokens, the targets key on
        a token, the online snapshot/timestamp keys from the request) and targets v1."""
        _run("init", kwargs)

    def rotate_root(**kwargs: Any) -> None:
        """Root N+1 with root keys added (--root-token), removed (--remove-key) or a new
        threshold; signed by the old root's threshold and the new root's."""
        _run("rotate-root", kwargs)

    def rotate_key(**kwargs: Any) -> None:
        """Root N+1 with a new targets key (on --targets-token; targets signed again by it)
        or the online snapshot/timestamp keys the request gives."""
        _run("rotate-key", kwargs)

    def renew(**kwargs: Any) -> None:
        """Root and/or targets again with a new version and expiry (the request's roles)."""
        _run("renew", kwargs)

    def delegation_add(**kwargs: Any) -> None:
        """Delegate the request's role (its paths, keys and threshold): targets N+1."""
        _run("delegation-add", kwargs)

    def delegation_remove(**kwargs: Any) -> None:
        """Remove the request's delegated role from targets: targets N+1."""
        _run("delegation-remove", kwargs)

    remove_key = click.option("--remove-key", "remove_keys", multiple=True, metavar="KEYID",
                              help="A root key to remove (its key ID or first 8+ "
                                   "characters); repeatable.")
    common = [ceremony_options]
    group.command("init")(_apply(common + [root_token_option, root_threshold_option,
                                           targets_token_option, *labels, *expiry_options],
                                 init))
    group.command("rotate-root")(_apply(common + [token_option, root_token_option, remove_key,
                                                  root_threshold_option, *labels,
                                                  *expiry_options, allow_shorter_option],
                                        rotate_root))
    group.command("rotate-key")(_apply(common + [token_option, targets_token_option, *labels,
                                                 *expiry_options, allow_shorter_option],
                                       rotate_key))
    group.command("renew")(_apply(common + [token_option, *expiry_options,
                                            allow_shorter_option], renew))

    @group.group("delegation")
    def delegation() -> None:
        """Add or remove a delegated targets role (targets N+1, signed on the token)."""

    delegate = [click.option("--delegate-token", "delegate_tokens", multiple=True,
                             metavar="URI", help="A token to make (or reuse) a key of the "
                                                 "delegated role on; repeatable."),
                click.option("--delegate-label", default="tuf-delegated", show_default=True,
                             help="Label of the key made on each --delegate-token."),
                labels[2]]
    delegation.command("add")(_apply(common + [token_option, *delegate, expiry_options[1],
                                               allow_shorter_option], delegation_add))
    delegation.command("remove")(_apply(common + [token_option, expiry_options[1],
                                                  allow_shorter_option], delegation_remove))

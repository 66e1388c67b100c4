"""`ceremony tuf request|apply`: the online machine's half of a TUF ceremony (thin CLI over
online.py). These commands sign nothing and need no token."""

from __future__ import annotations

import json
import re
from pathlib import Path

import click

from ceremony.tuf.bundles import ONLINE_ROLES, OPERATIONS


def _role_values(values: tuple[str, ...], flag: str) -> list[tuple[str, str]]:
    out = []
    for value in values:
        role, sep, rest = value.partition("=")
        if not sep or role not in ONLINE_ROLES or not rest:
            raise click.BadParameter(f"'{value}': expected ROLE=VALUE with ROLE one of "
                                     f"{', '.join(ONLINE_ROLES)}", param_hint=flag)
        out.append((role, rest))
    return out


def _delegation_params(role: str | None, paths: tuple[str, ...], prefixes: tuple[str, ...],
                       parent: str | None, bits: int | None, bin_prefix: str | None) -> dict:
    """Where a delegation reaches: paths, path hash prefixes (exactly one of the two kinds, as
    the specification says) or succinct hash bins; and the role that delegates."""
    out: dict = {}
    if paths and prefixes:
        raise click.UsageError("give --path or --path-hash-prefix, not both: a delegated role "
                               "is trusted for paths or for path hash prefixes")
    for prefix in prefixes:
        if not re.fullmatch(r"[0-9a-fA-F]{1,64}", prefix):
            raise click.BadParameter(f"'{prefix}' is not hex (1 to 64 characters of a "
                                     "SHA-256 hex digest)", param_hint="--path-hash-prefix")
    if bits is not None:
        if not 1 <= bits <= 32:
            raise click.BadParameter(f"{bits} is out of 1..32", param_hint="--succinct-bins")
        if paths or prefixes:
            raise click.UsageError("succinct hash bins take no --path or --path-hash-prefix: "
                                   "every target path belongs to exactly one bin")
        if role is not None:
            raise click.UsageError("--succinct-bins names its bins with --bin-prefix, not "
                                   "--role")
        if not bin_prefix:
            raise click.UsageError("--succinct-bins needs --bin-prefix NAME (the bins are "
                                   "NAME-0, NAME-1, ...)")
        out["succinct_bins"] = bits
    if paths:
        out["paths"] = list(paths)
    if prefixes:
        out["path_hash_prefixes"] = [p.lower() for p in prefixes]
    if parent is not None:
        out["parent"] = parent
    if bin_prefix is not None:
        out["bin_prefix"] = bin_prefix
    return out


def register(group: click.Group, tuf_errors, json_option) -> None:  # type: ignore[no-untyped-def]
    @group.command("request")
    @click.option("--repo", "repo", required=True, metavar="DIR",
                  help="The repository's metadata folder (N.root.json, ...); may be empty "
                       "for init.")
    @click.option("--name", required=True, help="The repository's name in the workspace.")
    @click.option("--operation", required=True, type=click.Choice(OPERATIONS))
    @click.option("--online-key", "online_keys", multiple=True, metavar="ROLE=FILE",
                  help="A public key of online role snapshot or timestamp (PEM, or a TUF key "
                       "as JSON); repeatable.")
    @click.option("--online-threshold", "online_thresholds", multiple=True, metavar="ROLE=N",
                  help="An online role's threshold (default 1).")
    @click.option("--role", help="rotate-key, delegation add/remove: the role.")
    @click.option("--path", "paths", multiple=True,
                  help="delegation add: a path pattern the role is trusted for; repeatable.")
    @click.option("--path-hash-prefix", "prefixes", multiple=True, metavar="HEX",
                  help="delegation add: instead of --path, a prefix of the SHA-256 (hex) of "
                       "the target paths the role is trusted for; repeatable.")
    @click.option("--parent", metavar="ROLE",
                  help="delegation add/remove: the role that delegates (default targets; a "
                       "delegated role for a nested delegation).")
    @click.option("--succinct-bins", "bits", type=int, metavar="BITS",
                  help="delegation add: delegate to 2^BITS succinct hash bins (1..32) "
                       "instead of one role.")
    @click.option("--bin-prefix", metavar="NAME",
                  help="delegation add/remove: the succinct hash bins' name prefix (bins "
                       "NAME-0 ..).")
    @click.option("--threshold", type=int, help="delegation add: the role's threshold.")
    @click.option("--terminating", is_flag=True, default=None,
                  help="delegation add: a terminating delegation.")
    @click.option("--delegate-key", "delegate_keys", multiple=True, metavar="FILE",
                  help="delegation add: a public key of the delegated role (PEM or TUF "
                       "JSON); repeatable.")
    @click.option("--renew-role", "renew_roles", multiple=True,
                  help="renew: a role to renew (root, targets or a delegated role the "
                       "tokens sign); repeatable.")
    @click.option("--target", "targets", multiple=True, metavar="NAME=FILE",
                  help="init: a target the first targets lists (length and SHA-256 of FILE).")
    @click.option("--no-consistent-snapshot", "plain", is_flag=True,
                  help="init: a repository without consistent snapshots (clients fetch "
                       "ROLE.json instead of N.ROLE.json).")
    @click.option("--out", required=True, metavar="REQ")
    @click.option("--force", is_flag=True, help="Replace an existing --out file.")
    @json_option
    @tuf_errors
    def request(repo: str, name: str, operation: str, online_keys: tuple[str, ...],
                online_thresholds: tuple[str, ...], role: str | None, paths: tuple[str, ...],
                prefixes: tuple[str, ...], parent: str | None, bits: int | None,
                bin_prefix: str | None, threshold: int | None, terminating: bool | None,
                delegate_keys: tuple[str, ...],
                renew_roles: tuple[str, ...], targets: tuple[str, ...], plain: bool, out: str,
                force: bool, as_json: bool) -> None:
        """Make a TUF request bundle from a repository's metadata folder (online machine)."""
        from ceremony.tuf.online import make_request, read_public_key, target_entry
        if Path(out).exists() and not force:
            raise click.ClickException(f"{out} exists; choose another --out or pass --force")
        online: dict[str, list] = {}
        for r, file in _role_values(online_keys, "--online-key"):
            online.setdefault(r, []).append(read_public_key(file))
        thresholds = {}
        for r, n in _role_values(online_thresholds, "--online-threshold"):
            if not n.isdigit():
                raise click.BadParameter(f"'{n}' is not a number", param_hint="--online-threshold")
            thresholds[r] = int(n)
        params: dict = {}
        if role is not None:
            params["role"] = role
        params.update(_delegation_params(role, paths, prefixes, parent, bits, bin_prefix))
        if threshold is not None:
            params["threshold"] = threshold
        if terminating is not None:
            params["terminating"] = terminating
        if delegate_keys:
            keys = [read_public_key(f) for f in delegate_keys]
            params["keys"] = {k.keyid: k.to_dict() for k in keys}
        if renew_roles:
            params["roles"] = list(renew_roles)
        if plain:
            params["consistent_snapshot"] = False
        if targets:
            entries = {}
            for value in targets:
                target, sep, file = value.partition("=")
                if not sep or not target or not file:
                    raise click.BadParameter(f"'{value}': expected NAME=FILE",
                                             param_hint="--target")
                entries[target] = target_entry(file)
            params["targets"] = entries
        result = make_request(Path(repo), name, operation, params, online, thresholds, out,
                              force)
        from ceremony.tuf.cli_common import show_request
        show_request(result, as_json, f"{operation} for '{name}', {len(result['files'])} "
                     "metadata file(s)",
                     f"  file sha256    {result['file_sha256']} (a script's input digest)")

    @group.command("apply")
    @click.option("--response", required=True, metavar="RESP")
    @click.option("--repo", "repo", required=True, metavar="DIR",
                  help="The repository's metadata folder.")
    @click.option("--request", metavar="REQ",
                  help="The request it answers: the response must name its digest.")
    @json_option
    @tuf_errors
    def apply(response: str, repo: str, request: str | None, as_json: bool) -> None:
        """Write a TUF response's signed files into the metadata folder (online machine); then
        make a new snapshot and timestamp with the online keys."""
        from ceremony.tuf.bundles import read_request, read_response
        from ceremony.tuf.online import apply_response
        parsed, _bundle = read_response(response)
        digest = read_request(request)[1].digest_hex if request else None
        result = apply_response(parsed, Path(repo), request_sha256=digest)
        if as_json:
            click.echo(json.dumps(result, indent=2, sort_keys=True))
            return
        click.echo(f"wrote {', '.join(result['written'])} into {repo}; now sign a new snapshot "
                   "and timestamp with the online keys")

"""`python -m softhsm`: create throwaway SoftHSM environments for rehearsals and demos.

    eval "$(python -m softhsm create rehearsal/softhsm --token root-a --token targets)"

prints `export SOFTHSM2_CONF=...` and `export CEREMONY_PKCS11_MODULE=...` on stdout (for eval)
and, on stderr, where each token's PIN file is. PINs are random and written to files (0600);
they never appear on a command line or in the output.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys

from softhsm.env import SoftHSMError, TokenSpec, create_env, load_env


def _exports(env_vars: dict[str, str]) -> str:
    return "".join(f"export {k}={shlex.quote(v)}\n" for k, v in env_vars.items())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m softhsm",
                                     description="Throwaway SoftHSM environments (never the "
                                                 "system token store).")
    sub = parser.add_subparsers(dest="command", required=True)
    create = sub.add_parser("create", help="create a fresh environment with tokens")
    create.add_argument("folder")
    create.add_argument("--token", action="append", default=[], metavar="LABEL",
                        help="a token to initialise (repeatable)")
    create.add_argument("--module", help="path of libsofthsm2.so (default: well-known places)")
    create.add_argument("--json", action="store_true", help="print a JSON description instead")
    add = sub.add_parser("add", help="add tokens to an existing environment")
    add.add_argument("folder")
    add.add_argument("--token", action="append", default=[], metavar="LABEL", required=True)
    add.add_argument("--json", action="store_true")
    show = sub.add_parser("env", help="print the export lines of an existing environment")
    show.add_argument("folder")
    show.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    try:
        if args.command == "create":
            env = create_env(args.folder, [TokenSpec(label) for label in args.token],
                             module=args.module)
        elif args.command == "add":
            env = load_env(args.folder)
            env.add_tokens([TokenSpec(label) for label in args.token])
        else:
            env = load_env(args.folder)
    except SoftHSMError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"root": str(env.root), "conf": str(env.conf), "module": env.module,
                          "env": env.env,
                          "tokens": [{"label": label, "pin_file": str(env.pin_file(label)),
                                      "so_pin_file": str(env.so_pin_file(label))}
                                     for label in env.labels]}, indent=2, sort_keys=True))
        return 0
    sys.stdout.write(_exports(env.env))
    for label in env.labels:
        print(f"softhsm: token '{label}': PIN in {env.pin_file(label)}, SO PIN in "
              f"{env.so_pin_file(label)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

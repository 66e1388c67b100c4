"""Run in a fresh interpreter by test_offline_imports.py: import every offline module and load
every offline command, then report what got imported and any socket activity, as JSON.

Argument: optional JSON list of extra CLI invocations (argv lists) to run in-process.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys
import traceback

PACKAGES = ("groundfloor", "ceremony", "hsm", "transfer", "softhsm")
# Network code and the loopback test-server harness: online machine / tests only; the
# rehearsal's online side (`ceremony run --dry-run` only).
ONLINE_MODULES = {"ceremony.notary.online", "ceremony.notary.cli.online", "softhsm.notary_server",
                  "softhsm.lab_server", "ceremony.notation.registry",
                  "ceremony.scripts.world"}
ONLINE_COMMANDS = {"online"}
FORBIDDEN = sorted(ONLINE_MODULES | {"urllib.request", "http.client", "ssl", "ftplib",
                                     "smtplib", "socketserver", "requests", "urllib3", "httpx"})
OPTIONAL_DEPENDENCIES = {"cv2"}  # the `video` extra

socket_events: list[str] = []


def audit(event: str, args: tuple) -> None:
    if event.startswith("socket.") and event != "socket.gethostname":
        socket_events.append(event)


def discover() -> list[str]:
    names = []
    for package in PACKAGES:
        mod = importlib.import_module(package)
        names.append(package)
        for info in pkgutil.walk_packages(mod.__path__, prefix=package + "."):
            if info.name.rsplit(".", 1)[-1] != "__main__":  # would run the CLI
                names.append(info.name)
    return sorted(names)


def main() -> None:
    sys.addaudithook(audit)
    report: dict[str, object] = {"modules": [], "commands": [], "errors": []}
    all_modules = discover()
    report["online_modules_found"] = sorted(set(all_modules) & ONLINE_MODULES)
    for name in all_modules:
        if name in ONLINE_MODULES:
            continue
        try:
            importlib.import_module(name)
            report["modules"].append(name)
        except ModuleNotFoundError as exc:
            if exc.name not in OPTIONAL_DEPENDENCIES:
                report["errors"].append(f"{name}: {exc!r}")
        except Exception as exc:
            report["errors"].append(f"{name}: {exc!r}")

    import click

    from ceremony.cli import COMMANDS, cli

    def walk(command: click.Command, path: list[str]) -> None:
        report["commands"].append(" ".join(path))
        try:
            cli.main(args=[*path, "--help"], prog_name="ceremony", standalone_mode=False)
        except Exception:
            report["errors"].append(f"{' '.join(path)} --help: {traceback.format_exc(limit=2)}")
        if isinstance(command, click.Group):
            for sub in command.list_commands(click.Context(command)):
                walk(command.get_command(click.Context(command), sub), [*path, sub])

    ctx = click.Context(cli)
    for name in sorted(COMMANDS):
        if name in ONLINE_COMMANDS:
            continue
        command = cli.get_command(ctx, name)
        if command is not None:
            walk(command, [name])
    for argv in json.loads(sys.argv[1]) if len(sys.argv) > 1 else []:
        try:
            cli.main(args=argv, prog_name="ceremony", standalone_mode=False)
        except SystemExit:
            pass
        except Exception as exc:
            report["errors"].append(f"{argv}: {exc!r}")
        report["commands"].append(" ".join(argv))
    report["forbidden_loaded"] = [m for m in FORBIDDEN if m in sys.modules]
    report["socket_events"] = sorted(set(socket_events))
    sys.stdout.flush()
    print("\nPROBE-REPORT " + json.dumps(report))


if __name__ == "__main__":
    main()

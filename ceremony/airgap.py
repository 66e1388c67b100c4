"""Is this machine offline? Checked before any command that uses a private key on a token.

Reads only per-network-namespace files under /proc/net (no socket is opened to find out):
- an interface other than loopback that is up (IFF_UP in /sys/class/net/<if>/flags, for the
  interfaces /proc/net/dev lists in this namespace);
- a default route (IPv4 in /proc/net/route, IPv6 in /proc/net/ipv6_route).
Either one means the machine can reach a network. The command then refuses unless the operator
passes --allow-network, which the ceremony records in its transcript.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from ceremony.errors import CeremonyError

IFF_UP = 0x1


class NetworkPresentError(CeremonyError):
    """The machine is not air-gapped and the operator did not allow it."""


def _interfaces(proc: Path) -> list[str]:
    try:
        lines = (proc / "net" / "dev").read_text().splitlines()[2:]
    except OSError:
        return []
    return [line.split(":", 1)[0].strip() for line in lines if ":" in line]


def _is_up(sys_root: Path, name: str) -> bool:
    try:
        flags = int((sys_root / "class" / "net" / name / "flags").read_text().strip(), 16)
    except (OSError, ValueError):
        return False
    return bool(flags & IFF_UP)


def _default_routes(proc: Path) -> list[str]:
    found: list[str] = []
    try:
        for line in (proc / "net" / "route").read_text().splitlines()[1:]:
            cols = line.split()
            # Destination 00000000 and mask 00000000: the IPv4 default route.
            if len(cols) >= 8 and cols[1] == "00000000" and cols[7] == "00000000":
                found.append(f"IPv4 default route via {cols[0]}")
    except OSError:
        pass
    try:
        for line in (proc / "net" / "ipv6_route").read_text().splitlines():
            cols = line.split()
            if len(cols) >= 10 and cols[0] == "0" * 32 and cols[1] == "00" and cols[9] != "lo":
                found.append(f"IPv6 default route via {cols[9]}")
    except OSError:
        pass
    return found


def network_findings(proc: str | Path = "/proc", sys_root: str | Path = "/sys") -> list[str]:
    """What makes this machine look online; empty when it is air-gapped."""
    proc, sys_root = Path(proc), Path(sys_root)
    findings = [f"interface {name} is up" for name in _interfaces(proc)
                if name != "lo" and _is_up(sys_root, name)]
    findings += _default_routes(proc)
    return sorted(set(findings))


def require_offline(allow_network: bool) -> list[str]:
    """Refuse to go on if the machine is online, unless allowed; returns the findings so that
    the caller can record them (and the permission) in the transcript."""
    findings = network_findings()
    if findings and not allow_network:
        raise NetworkPresentError(
            "this machine is not air-gapped (" + "; ".join(findings) + "): disconnect it, or "
            "pass --allow-network to go on anyway (recorded in the transcript)")
    return findings


def check_offline(allow_network: bool, warn: Callable[[str], None]) -> list[str]:
    """`require_offline`, and the one warning every command gives when `--allow-network` lets
    it run with a network up (the findings are returned for the transcript)."""
    findings = require_offline(allow_network)
    if findings:
        warn(network_warning(findings))
    return findings


def network_warning(findings: list[str]) -> str:
    """The one warning for a command that goes on with a network up (--allow-network)."""
    return ("the machine is not air-gapped (" + "; ".join(findings) + "); going on because "
            "--allow-network was given (recorded)")


allow_network_option = click.option(
    "--allow-network", is_flag=True,
    help="Go on even though the machine has a network up (recorded in the transcript).")
